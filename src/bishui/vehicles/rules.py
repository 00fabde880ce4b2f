"""Anti-fraud rules over inspection records, each returning findings with their evidence.

Rule ids and sources (notes §A3b; tags as there):

* ``CLONE`` — identical process curves across different vehicles (rule 1, [V]); the search is
  :mod:`bishui.vehicles.clones`.
* ``PASS_RATE`` — a station's pass rate far above its peers' (rules 3–4, [V]: Zhangzhou 99 %).
  The score is the binomial z of the station's rate against the pooled rate of the others.
* ``FAST_RETEST`` — fail then pass too fast for a repair (rules 2 and 8, [V]: brokers wait
  ~20 min; the minimum repair time is a parameter [M]).
* ``RATED_POWER`` — the rated power on the report differs from the registry, or one model
  carries different rated powers (rule 5, [V]: 339 kW → 120 kW).
* ``OBD_SHARED`` — one OBD CAL ID + CVN on vehicles of different models (rules 6–7, [V]).
* ``HOURS`` — a test outside the station's opening hours (the sources give no threshold: the
  station's registered hours are data, notes §A3b note [U]).
* ``OXYGEN`` — O₂ too high during measurement (probe not seated; rule 18 and the note [U]:
  the threshold is a parameter [M]).
* ``REGULAR`` — too-regular signals: an emission channel that is constant or repeats exactly
  (the platform's own reading of "too-regular", [M]).
* ``OBD_CLEARED`` — the OBD cheat box (rule 17, [V]): the emission-related trouble codes were
  cleared just before the test — distance since the codes were cleared below
  ``obd_clear_max_km`` or warm-up cycles since then below ``obd_clear_max_warmups`` (both
  thresholds [M], docs/vehicles.md); ``high`` when a readiness monitor is also not complete
  (cleared and not yet re-checked: the cheat box's signature), else ``medium``.
* ``VERDICT`` — the recomputed verdict (:mod:`bishui.vehicles.verdict`) differs from the
  station's claim (rules 12–15, [S]/[V]).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bishui.vehicles import clones
from bishui.vehicles.limits import limits_for
from bishui.vehicles.model import EMISSION_CHANNELS, Finding, Inspection, Station, Vehicle
from bishui.vehicles.verdict import Params, recompute

RULES: dict[str, tuple[str, str]] = {
    "CLONE": ("曲线雷同（不同车辆）", "notes §A3b rule 1 [V]"),
    "PASS_RATE": ("合格率远高于同行", "notes §A3b rules 3-4 [V]"),
    "FAST_RETEST": ("不合格后复检间隔过短", "notes §A3b rules 2, 8 [V]; interval [M]"),
    "RATED_POWER": ("额定功率与登记不符", "notes §A3b rule 5 [V]"),
    "OBD_SHARED": ("不同车型OBD标定号相同", "notes §A3b rules 6-7 [V]"),
    "HOURS": ("营业时间外检测", "notes §A3b note [U]; hours are station data"),
    "OXYGEN": ("氧含量过高", "notes §A3b rule 18 [V]; threshold [M]"),
    "REGULAR": ("信号过于规则", "platform rule [M]"),
    "VERDICT": ("复核结论与站点结论不一致", "notes §A3b rules 12-15 [S]/[V]"),
    "OBD_CLEARED": ("检测前清除OBD故障码", "notes §A3b rule 17 [V]; thresholds [M]"),
    "BB_MISSING": ("黑匣子数据缺失", "notes §A3 black box [V]; share [M]"),
    "BB_CLOCK": ("时钟偏移", "notes §A3 black box [V]; tolerance [M]"),
    "BB_EDITED": ("曲线被修改", "notes §A3 black box [V]; tolerance [M]"),
    "BB_EQUIPMENT": ("设备被替换", "notes §A3 black box [V]"),
    "GAS_FAIL": ("标气检查不合格", "notes §A3 tolerances [S]"),
    "GAS_MISSING": ("检测前未做日常自检", "notes §A3b rule 16 [V]"),
    "PATROL": ("巡查车比对偏离", "notes §A3 comparison [S]; rule 11 [V]"),
    "SEAL_BREAK": ("电子铅封被破坏", "notes §A3b rule 20 [V]; channel [M]"),
    "PROBE_MOVED": ("采样探头姿态变化", "notes §A3b rule 18 [V]; threshold [M]"),
    "SELFCHECK_FAIL": (
        "设备自检不合格后检测",
        "notes §A3 items [V]; coast-down 7 % [S]",
    ),
    "SELFCHECK_MISSING": ("检测前未做设备自检", "notes §A3 daily items [V]; rule 16 [V]"),
    "OLD_DIESEL": ("老旧柴油车通过量异常", "notes §A3b rule 9 [V]; thresholds [M]"),
}


@dataclass(frozen=True)
class RuleParams:
    pass_rate_z: float = 3.0  # [M] binomial z above the peers
    pass_rate_min_tests: int = 50  # [M] a station needs this many tests to be judged
    min_repair_minutes: int = 30  # [M] brokers wait ~20 min (CCTV, notes §A3b rule 8)
    rated_power_rel_tol: float = 0.05  # [M]
    oxygen_max_pct: float = 5.0  # [M] mean O₂ in the measuring part
    regular_std: float = 1e-9  # [M] an emission channel with no variation at all
    old_diesel_max_stage: int = 3  # [M] 国三及以下: an old diesel vehicle (oldvehicles.py)
    old_diesel_z: float = 3.0  # [M] binomial z above both the station's history and its peers
    old_diesel_min_passes: int = 5  # [M] old-diesel passes in the day before it is judged
    old_diesel_history_days: int = 28  # [M] the station's own history looked back on
    old_diesel_min_history: int = 50  # [M] history tests below which only the peers count
    #: [M] OBD_CLEARED: codes cleared fewer than this many km before the test (a motorist's
    #: guide: 50–100 km after clearing for the monitors to become ready [S], docs/vehicles.md)
    obd_clear_max_km: int = 50
    obd_clear_max_warmups: int = 3  # [M] … or fewer than this many warm-up cycles before it


def _f(rule: str, sev: str, insp: Inspection, ev: Mapping[str, object]) -> Finding:
    return Finding(rule, sev, insp.station, insp.id, dict(ev), insp.start)


def clone_findings(
    tests: Sequence[Inspection], p: clones.CloneParams | None = None
) -> list[Finding]:
    """CLONE: every clone pair among *tests*, per method, found by the LSH search."""
    p = p or clones.CloneParams()
    out: list[Finding] = []
    by_method: dict[str, list[Inspection]] = {}
    for t in tests:
        by_method.setdefault(t.method, []).append(t)
    for method, group in by_method.items():
        chans = EMISSION_CHANNELS[method]
        fp = clones.fingerprints([[t.curve[c] for c in chans] for t in group], p.width)
        ii, jj, cos = clones.search(fp, [t.vin for t in group], p)
        for i, j, c in zip(ii.tolist(), jj.tolist(), cos.tolist(), strict=True):
            a, b = group[i], group[j]
            later = b if b.start >= a.start else a
            other = a if later is b else b
            out.append(
                _f(
                    "CLONE",
                    "high",
                    later,
                    {
                        "other": other.id,
                        "other_station": other.station,
                        "vins": [a.vin, b.vin],
                        "cosine": round(c, 4),
                        "method": method,
                    },
                )
            )
    return out


def pass_rate_findings(
    tests: Sequence[Inspection], at: dt.datetime, p: RuleParams | None = None
) -> list[Finding]:
    """PASS_RATE: binomial z of each station's initial-test pass rate against the others'."""
    p = p or RuleParams()
    st = np.array([t.station for t in tests if t.nature == "initial"])
    ok = np.array([t.claimed_result == 1 for t in tests if t.nature == "initial"])
    if st.size == 0:
        return []
    names, inv = np.unique(st, return_inverse=True)
    n = np.bincount(inv, minlength=names.size)
    k = np.bincount(inv, weights=ok, minlength=names.size)
    rest_n, rest_k = n.sum() - n, k.sum() - k
    p0 = np.divide(rest_k, rest_n, out=np.zeros(names.size), where=rest_n > 0)
    se = np.sqrt(np.maximum(p0 * (1 - p0), 1e-12) / np.maximum(n, 1))
    z = (k / np.maximum(n, 1) - p0) / se
    out = []
    for s, nn, kk, pp, zz in zip(
        names.tolist(), n.tolist(), k.tolist(), p0.tolist(), z.tolist(), strict=True
    ):
        if nn >= p.pass_rate_min_tests and zz > p.pass_rate_z:
            out.append(
                Finding(
                    "PASS_RATE",
                    "medium",
                    s,
                    s,
                    {
                        "tests": nn,
                        "passed": int(kk),
                        "rate": round(kk / nn, 4),
                        "peer_rate": round(pp, 4),
                        "z": round(zz, 2),
                    },
                    at,
                )
            )
    return out


def fast_retest_findings(tests: Sequence[Inspection], p: RuleParams | None = None) -> list[Finding]:
    """FAST_RETEST: a pass following a fail of the same vehicle within the repair time."""
    p = p or RuleParams()
    out = []
    last_fail: dict[str, Inspection] = {}
    for t in sorted(tests, key=lambda t: t.start):
        prev = last_fail.get(t.vin)
        if t.claimed_result == 0:
            last_fail[t.vin] = t
        elif t.claimed_result == 1 and prev is not None:
            gap = (t.start - prev.end).total_seconds() / 60
            if gap < p.min_repair_minutes:
                out.append(
                    _f(
                        "FAST_RETEST",
                        "medium",
                        t,
                        {
                            "failed": prev.id,
                            "failed_station": prev.station,
                            "minutes": round(gap, 1),
                            "minimum": p.min_repair_minutes,
                        },
                    )
                )
            last_fail.pop(t.vin, None)
    return out


def obd_cleared_findings(tests: Sequence[Inspection], p: RuleParams | None = None) -> list[Finding]:
    """OBD_CLEARED (notes §A3b rule 17): the trouble codes cleared just before the test, from
    the OBD check's distance and warm-ups since the codes were cleared; vectorised over the
    tests (a counter not reported never fires)."""
    p = p or RuleParams()
    have = [t for t in tests if t.obd is not None]
    if not have:
        return []
    nan = float("nan")
    km = np.array([nan if t.obd is None or t.obd.distance_since_clear_km is None
                   else t.obd.distance_since_clear_km for t in have])  # fmt: skip
    wu = np.array([nan if t.obd is None or t.obd.warmups_since_clear is None
                   else t.obd.warmups_since_clear for t in have])  # fmt: skip
    incomplete = np.array([len(t.obd.incomplete) if t.obd else 0 for t in have])
    with np.errstate(invalid="ignore"):
        fire = (km < p.obd_clear_max_km) | (wu < p.obd_clear_max_warmups)
    out = []
    for i in np.nonzero(fire)[0].tolist():
        t = have[i]
        assert t.obd is not None
        ev: dict[str, object] = {
            "distance_since_clear_km": t.obd.distance_since_clear_km,
            "warmups_since_clear": t.obd.warmups_since_clear,
            "max_km": p.obd_clear_max_km,
            "max_warmups": p.obd_clear_max_warmups,
            "incomplete_monitors": t.obd.incomplete,
            "mil_on": t.obd.mil_on,
            "dtc_count": t.obd.dtc_count,
        }
        out.append(_f("OBD_CLEARED", "high" if incomplete[i] else "medium", t, ev))
    return out


def registry_findings(
    tests: Sequence[Inspection], vehicles: Mapping[str, Vehicle], p: RuleParams | None = None
) -> list[Finding]:
    """RATED_POWER and OBD_SHARED against the vehicle registry."""
    p = p or RuleParams()
    out = []
    obd: dict[tuple[str, str], set[str]] = {}
    for t in tests:
        v = vehicles.get(t.vin)
        known = v is not None and t.rated_power_kw is not None and v.rated_power_kw > 0
        rel = (
            abs(t.rated_power_kw - v.rated_power_kw) / v.rated_power_kw
            if known and v is not None and t.rated_power_kw is not None
            else 0.0
        )
        if rel > p.rated_power_rel_tol and v is not None:
            ev: dict[str, object] = {"reported_kw": t.rated_power_kw}
            ev["registry_kw"] = v.rated_power_kw
            out.append(_f("RATED_POWER", "high", t, ev))
        if t.obd_cal_id and t.obd_cvn:
            model = v.model if v is not None else t.vehicle_model
            obd.setdefault((t.obd_cal_id, t.obd_cvn), set()).add(model)
    # one model, different rated powers on its reports (the Zhangzhou case): a report whose
    # power is off the model's most reported power
    flagged = {f.subject for f in out}
    by_model: dict[str, list[float]] = {}
    for t in tests:
        if t.vehicle_model and t.rated_power_kw is not None:
            by_model.setdefault(t.vehicle_model, []).append(t.rated_power_kw)
    modal = {
        m: max(set(ps), key=lambda x: (ps.count(x), -x))
        for m, ps in by_model.items()
        if len(set(ps)) > 1
    }
    for t in tests:
        mode = modal.get(t.vehicle_model)
        rp = t.rated_power_kw
        off = mode is not None and rp is not None and abs(rp - mode) > p.rated_power_rel_tol * mode
        if off and t.id not in flagged:
            ev = {"model": t.vehicle_model, "reported_kw": rp, "model_kw": mode}
            out.append(_f("RATED_POWER", "high", t, ev))
    for t in tests:
        models = obd.get((t.obd_cal_id, t.obd_cvn), set())
        if len(models) > 1:
            out.append(
                _f(
                    "OBD_SHARED",
                    "high",
                    t,
                    {"cal_id": t.obd_cal_id, "cvn": t.obd_cvn, "models": sorted(models)},
                )
            )
    return out


def record_findings(
    t: Inspection,
    station: Station | None,
    region: str,
    p: RuleParams | None = None,
    vp: Params | None = None,
) -> list[Finding]:
    """HOURS, OXYGEN, REGULAR and VERDICT for one inspection."""
    p = p or RuleParams()
    out = []
    if station is not None and not (
        station.opens <= t.start.time()
        and t.end.time() <= station.closes
        and t.end.date() == t.start.date()
    ):
        out.append(
            _f(
                "HOURS",
                "medium",
                t,
                {
                    "start": t.start.isoformat(),
                    "end": t.end.isoformat(),
                    "opens": station.opens.isoformat(),
                    "closes": station.closes.isoformat(),
                },
            )
        )
    o2 = t.curve.get("o2")
    if o2 is not None and o2.size and float(np.nanmean(o2)) > p.oxygen_max_pct:
        out.append(
            _f(
                "OXYGEN",
                "medium",
                t,
                {"o2_mean_pct": round(float(np.nanmean(o2)), 2), "max": p.oxygen_max_pct},
            )
        )
    flat = [
        c
        for c in EMISSION_CHANNELS[t.method]
        if c in t.curve and float(np.nanstd(t.curve[c])) <= p.regular_std
    ]
    if flat:
        out.append(_f("REGULAR", "medium", t, {"constant_channels": flat}))
    lim = limits_for(t.method, "*", region, t.start.date())
    v = recompute(t.method, t.curve, lim, t.rated_power_kw, vp)
    if v.result != t.claimed_result and t.claimed_result in (0, 1, 3):
        out.append(
            _f(
                "VERDICT",
                "high" if t.claimed_result == 1 else "low",
                t,
                {
                    "claimed": t.claimed_result,
                    "recomputed": v.result,
                    "reasons": [list(r) for r in v.reasons],
                    "limits_version": lim.version,
                    "values": {k: round(x, 4) for k, x in v.values.items() if np.isfinite(x)},
                },
            )
        )
    return out


def old_diesel_findings(
    stations: Sequence[str],
    days: Sequence[dt.date],
    old_diesel: Sequence[bool],
    passed: Sequence[bool],
    first: dt.date,
    p: RuleParams | None = None,
) -> list[Finding]:
    """OLD_DIESEL (notes §A3b rule 9: a spike of old diesel trucks tested with a high pass rate
    on a line → inspect the sampling line): a station-day on or after *first* whose share of
    old-diesel passes among its tests is far above both its own history (the days before, back
    to ``old_diesel_history_days``; add-one smoothed) and its peers' share that day — binomial
    z > ``old_diesel_z`` against each, with at least ``old_diesel_min_passes`` such passes.
    A station with fewer than ``old_diesel_min_history`` tests of history is judged against its
    peers alone. One row per test (parallel sequences); vectorised over a station × day grid."""
    p = p or RuleParams()
    if not stations:
        return []
    st_names, si = np.unique(np.asarray(stations), return_inverse=True)
    day_names, di = np.unique(np.asarray([d.toordinal() for d in days]), return_inverse=True)
    hit = np.asarray(old_diesel, dtype=bool) & np.asarray(passed, dtype=bool)
    shape = (st_names.size, day_names.size)
    n = np.zeros(shape)
    k = np.zeros(shape)
    np.add.at(n, (si, di), 1.0)
    np.add.at(k, (si, di), hit.astype(float))
    # history: the days before, within the window (cumulative sums along the days)
    cn = np.concatenate([np.zeros((shape[0], 1)), np.cumsum(n, axis=1)], axis=1)
    ck = np.concatenate([np.zeros((shape[0], 1)), np.cumsum(k, axis=1)], axis=1)
    start = np.searchsorted(day_names, day_names - p.old_diesel_history_days, side="left")
    idx = np.arange(shape[1])
    hn = cn[:, idx] - cn[:, start]
    hk = ck[:, idx] - ck[:, start]
    h_rate = (hk + 1.0) / (hn + 2.0)
    # peers: the other stations the same day
    pn = n.sum(axis=0, keepdims=True) - n
    pk = k.sum(axis=0, keepdims=True) - k
    p_rate = (pk + 1.0) / (pn + 2.0)
    share = np.divide(k, n, out=np.zeros(shape), where=n > 0)

    def z(rate: np.ndarray) -> np.ndarray:
        return (k - n * rate) / np.sqrt(np.maximum(n * rate * (1 - rate), 1e-12))

    zh, zp = z(h_rate), z(p_rate)
    enough_history = hn >= p.old_diesel_min_history
    fire = (
        (n > 0)
        & (k >= p.old_diesel_min_passes)
        & (zp > p.old_diesel_z)
        & (~enough_history | (zh > p.old_diesel_z))
        & (day_names[None, :] >= first.toordinal())
    )
    out = []
    for a, b in zip(*np.nonzero(fire), strict=True):
        code, day = str(st_names[a]), dt.date.fromordinal(int(day_names[b]))
        ev = {
            "day": day.isoformat(),
            "tests": int(n[a, b]),
            "old_diesel_passes": int(k[a, b]),
            "share": round(float(share[a, b]), 4),
            "history_tests": int(hn[a, b]),
            "history_share": round(float(hk[a, b] / hn[a, b]), 4) if hn[a, b] else None,
            "peer_share": round(float(pk[a, b] / pn[a, b]), 4) if pn[a, b] else None,
            "z_history": round(float(zh[a, b]), 2) if enough_history[a, b] else None,
            "z_peers": round(float(zp[a, b]), 2),
        }
        at = dt.datetime.combine(day, dt.time(23, 59))
        out.append(Finding("OLD_DIESEL", "medium", code, f"{code}:{day}:old_diesel", ev, at))
    return out
