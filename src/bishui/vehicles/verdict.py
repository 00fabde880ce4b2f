"""Validity and pass/fail recomputed from the per-second curves, whatever the station claims.

Station software ships switches that skip the CO+CO₂, oil-temperature, speed and valid-data
checks (notes §A1, FuncSwitch.h, [V]); the platform therefore re-evaluates them itself:

* phase order and durations (GB 18285-2018 Appendix A for two-speed idle; the phase codes are
  the Jiangsu interface's ``idle_type`` 0–4, notes §A1);
* the λ window at high idle (1.00 ± 0.05, [S]);
* dilution: CO+CO₂ below a minimum means the probe was out or the line leaks (6 % [S]);
* the ASM speed tolerance and oil temperature (80 °C [S]);
* the VMAS speed-trace deviation (cumulative > 15 s or one > 5 s, vendor default [S]);
* lug-down: k at the 100/90/80 % points, NOx, measured maximum wheel power against a share of
  the rated power (40 % or 50 %, [U]);
* free acceleration: the mean of the last three accelerations ([S]).

Every threshold not fixed by a verified text is a field of :class:`Params` with its tag;
docs/vehicles.md lists them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from bishui.vehicles.limits import Limits
from bishui.vehicles.model import ASM, FREE_ACCEL, LUG_DOWN, TSI, VMAS, FloatArray

#: TSI phase codes (Jiangsu ``idle_type``, notes §A1).
TSI_PHASES = (0, 1, 2, 3, 4)
ASM_PHASES = (1, 2)  # 1 = ASM5025 (25 km/h), 2 = ASM2540 (40 km/h)
ASM_SPEED = {1: 25.0, 2: 40.0}  # the modes' names (5025 → 25 km/h, 2540 → 40 km/h)
LUG_PHASES = (100, 90, 80)  # % of VelMaxHP, in this order


@dataclass(frozen=True)
class Params:
    """Thresholds of the recomputation; the tag says how sure each is (docs/vehicles.md)."""

    dilution_min_pct: float = 6.0  # [S] COCO2Min=6 (ASM/VMAS); applied to TSI as [M]
    asm_speed_tol_kmh: float = 2.0  # [M] not in the notes
    asm_oil_min_c: float = 80.0  # [S] ASMParams.ini
    vmas_speed_tol_kmh: float = 2.0  # [M] not in the notes
    vmas_total_over_s: int = 15  # [S] VMASParams.ini MTTotalOverTime/ATTotalOverTime
    vmas_once_over_s: int = 5  # [S] VMASParams.ini OnceOverTime
    min_measure_s: Mapping[str, int] = field(
        default_factory=lambda: {TSI: 30, ASM: 10, LUG_DOWN: 5, VMAS: 150, FREE_ACCEL: 3}
    )  # [M] shortest measuring phase / test; GB 18285 Appendix A durations [U]
    lug_power_share: float = 0.5  # [U] 40 % or 50 % of rated power (notes §A2)
    rpm_flat_std: float = 1.0  # [M] an rpm series this flat means the tachometer check is off


PARAM_TAGS = {
    "dilution_min_pct": "S",
    "asm_speed_tol_kmh": "M",
    "asm_oil_min_c": "S",
    "vmas_speed_tol_kmh": "M",
    "vmas_total_over_s": "S",
    "vmas_once_over_s": "S",
    "min_measure_s": "M",
    "lug_power_share": "U",
    "rpm_flat_std": "M",
}


@dataclass(frozen=True)
class Verdict:
    """The platform's result: 1 pass, 0 fail, 3 invalid; values and the reasons."""

    result: int
    values: dict[str, float]
    reasons: tuple[tuple[str, str], ...]

    @property
    def valid(self) -> bool:
        return self.result != 3


def _runs(mask: np.ndarray) -> np.ndarray:
    """Lengths of the runs of True in *mask*."""
    m = np.concatenate(([False], mask.astype(bool), [False]))
    d = np.diff(m.astype(np.int8))
    return np.flatnonzero(d == -1) - np.flatnonzero(d == 1)


def phase_order_ok(phase: FloatArray, order: tuple[int, ...]) -> bool:
    """The phases appear in *order* (a prefix-free, non-repeating sequence of blocks)."""
    if phase.size == 0:
        return False
    change = np.flatnonzero(np.diff(phase)) + 1
    blocks = phase[np.concatenate(([0], change))].astype(int).tolist()
    return blocks == list(order)


def _mean(c: Mapping[str, FloatArray], name: str, mask: np.ndarray) -> float:
    """The mean with a correctly rounded sum (fsum) and one division: thirty readings of 0.6
    average to 0.6, not 0.6000000000000001, so a value at the limit is judged at the limit."""
    v = c[name][mask]
    return math.fsum(v.tolist()) / v.size if v.size else float("nan")


def _dilution(c: Mapping[str, FloatArray], mask: np.ndarray, p: Params) -> list[tuple[str, str]]:
    s = c["co"][mask] + c["co2"][mask]
    if s.size and float(s.min()) < p.dilution_min_pct:
        low = int((s < p.dilution_min_pct).sum())
        return [("dilution", f"CO+CO2 < {p.dilution_min_pct} % in {low} s (min {s.min():.2f} %)")]
    return []


def _flat_rpm(c: Mapping[str, FloatArray], p: Params) -> list[tuple[str, str]]:
    rpm = c.get("rpm")
    if rpm is None or rpm.size == 0 or not np.isfinite(rpm).all():
        return [("rpm_missing", "no engine speed series")]
    if float(rpm.std()) < p.rpm_flat_std:
        return [("rpm_flat", f"engine speed constant at {rpm.mean():.0f} r/min")]
    return []


def _judge(values: dict[str, float], limits: Limits, pairs: Mapping[str, str]) -> list[str]:
    """Items over their limit (full-value comparison, GB/T 8170-2008 §4.3: at the limit passes)."""
    return [v for v, lim in pairs.items() if values[v] > limits.values[lim]]


def recompute(
    method: str,
    c: Mapping[str, FloatArray],
    limits: Limits,
    rated_power_kw: float | None = None,
    p: Params | None = None,
) -> Verdict:
    """The verdict of one test from its curve *c* (channels of :data:`model.CHANNELS`)."""
    p = p or Params()
    fn = {TSI: _tsi, ASM: _asm, VMAS: _vmas, LUG_DOWN: _lug, FREE_ACCEL: _free}[method]
    invalid: list[tuple[str, str]] = []
    values: dict[str, float] = {}
    over = fn(c, limits, p, invalid, values, rated_power_kw)
    if invalid:
        return Verdict(3, values, tuple(invalid))
    return Verdict(0 if over else 1, values, tuple(("over_limit", o) for o in over))


def _tsi(c, limits, p, invalid, values, _rp) -> list[str]:
    ph = c["phase"]
    if not phase_order_ok(ph, TSI_PHASES):
        invalid.append(("phase_order", "phases not 0→1→2→3→4"))
    for code, name in ((2, "high_idle"), (4, "idle")):
        m = ph == code
        if int(m.sum()) < p.min_measure_s[TSI]:
            invalid.append(("duration", f"{name} measured {int(m.sum())} s"))
        values[f"{name}_co"] = _mean(c, "co", m)
        values[f"{name}_hc"] = _mean(c, "hc", m)
    hi = ph == 2
    values["lambda"] = _mean(c, "lam", hi)
    invalid += _dilution(c, (ph == 2) | (ph == 4), p)
    invalid += _flat_rpm(c, p)
    over = _judge(
        values, limits, {k: k for k in ("idle_co", "idle_hc", "high_idle_co", "high_idle_hc")}
    )
    lam = values["lambda"]
    if not (limits.values["lambda_low"] <= lam <= limits.values["lambda_high"]):
        over.append("lambda")
    return over


def _asm(c, limits, p, invalid, values, _rp) -> list[str]:
    ph = c["phase"]
    if not phase_order_ok(ph, ASM_PHASES):
        invalid.append(("phase_order", "phases not ASM5025→ASM2540"))
    for code, name in ((1, "asm5025"), (2, "asm2540")):
        m = ph == code
        if int(m.sum()) < p.min_measure_s[ASM]:
            invalid.append(("duration", f"{name} measured {int(m.sum())} s"))
        dev = np.abs(c["speed"][m] - ASM_SPEED[code])
        if dev.size and float(dev.max()) > p.asm_speed_tol_kmh:
            invalid.append(("speed", f"{name} speed off by up to {dev.max():.1f} km/h"))
        for g in ("co", "hc", "no"):
            values[f"{name}_{g}"] = _mean(c, g, m)
    oil = c.get("oil")
    if oil is None or not oil.size or float(np.nanmax(oil)) < p.asm_oil_min_c:
        invalid.append(("oil_temp", f"oil below {p.asm_oil_min_c} °C"))
    invalid += _dilution(c, ph > 0, p)
    invalid += _flat_rpm(c, p)
    return _judge(values, limits, {k: k for k in values})


def _vmas(c, limits, p, invalid, values, _rp) -> list[str]:
    off = np.abs(c["speed"] - c["target"]) > p.vmas_speed_tol_kmh
    runs = _runs(off)
    total, once = int(off.sum()), int(runs.max()) if runs.size else 0
    values["trace_over_total_s"], values["trace_over_once_s"] = float(total), float(once)
    if total > p.vmas_total_over_s or once > p.vmas_once_over_s:
        invalid.append(("speed_trace", f"off the trace {total} s in all, {once} s at once"))
    if c["speed"].size < p.min_measure_s[VMAS]:
        invalid.append(("duration", f"test {c['speed'].size} s"))
    km = float(c["speed"].sum()) / 3600.0
    for g, ch in (("co", "co_gs"), ("hc", "hc_gs"), ("nox", "nox_gs")):
        values[g] = float(c[ch].sum()) / km if km > 0 else float("nan")
    invalid += _dilution(c, c["speed"] > 0, p)
    invalid += _flat_rpm(c, p)
    return _judge(values, limits, {k: k for k in ("co", "hc", "nox")})


def _lug(c, limits, p, invalid, values, rated) -> list[str]:
    ph = c["phase"]
    if not phase_order_ok(ph[ph > 0], LUG_PHASES):
        invalid.append(("phase_order", "points not 100 %→90 %→80 %"))
    ks = []
    for code in LUG_PHASES:
        m = ph == code
        if int(m.sum()) < p.min_measure_s[LUG_DOWN]:
            invalid.append(("duration", f"{code} % point measured {int(m.sum())} s"))
        ks.append(_mean(c, "k", m))
    values["k"] = float(np.nanmax(ks)) if not all(np.isnan(ks)) else float("nan")
    values["nox"] = _mean(c, "nox", ph == 80)
    values["max_power"] = float(c["power"].max()) if c["power"].size else float("nan")
    invalid += _flat_rpm(c, p)
    over = _judge(values, limits, {"k": "k", "nox": "nox"})
    if rated and values["max_power"] < p.lug_power_share * rated:
        over.append("max_power")
    return over


def _free(c, limits, p, invalid, values, _rp) -> list[str]:
    ph = c["phase"].astype(int)
    strokes = np.unique(ph[ph > 0])
    if strokes.size < 3:
        invalid.append(("duration", f"{strokes.size} accelerations"))
        values["k"] = float("nan")
        return []
    peaks = np.array([c["k"][ph == s].max() for s in strokes[-3:]])
    values["k"] = float(peaks.mean())
    return _judge(values, limits, {"k": "k"})
