"""Benchmark: the exact-at-the-boundary kernels against the float kernels they replaced.

    /work/venv/bin/python bench/bench_exact.py [--short]

Each figure that issue 12 made exact is timed twice in the same run on the same data: the float
kernel as it was before (written out below, the previous code of bishui) and the public function
now. The inputs are realistic — decimal readings (1–3 decimals, the scaled-integer path) and
unrounded means (the float path with the exact recheck near decision points). Best of
``REPEAT`` runs each; the ratio new/old is the figure to compare (goal: ≤ 2).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bishui.air.assessment import percentile
from bishui.air.compliance import exceedance_multiple
from bishui.air.ranking import change_rate
from bishui.air.rounding import round_gbt8170
from bishui.sources import averaging, quantity
from bishui.sources.conversion import reference_o2
from bishui.water.classes import classify_batch
from bishui.water.tables import ASSESSMENT_CODES

SHORT = "--short" in sys.argv
REPEAT = 3


# --- the float kernels as they were (the previous code) ------------------------------------


def old_percentile(values: np.ndarray, p: float) -> np.ndarray:
    x = np.sort(values, axis=-1)
    n = (~np.isnan(x)).sum(axis=-1)
    k = 1.0 + (n - 1) * (p / 100.0)
    s = np.floor(k).astype(np.int64)
    lo = np.clip(s - 1, 0, x.shape[-1] - 1)
    hi = np.clip(np.minimum(s, n - 1), 0, x.shape[-1] - 1)
    x_lo = np.take_along_axis(x, lo[..., None], axis=-1)[..., 0]
    x_hi = np.take_along_axis(x, hi[..., None], axis=-1)[..., 0]
    return np.where(n > 0, x_lo + (x_hi - x_lo) * (k - s), np.nan)


def old_multiple(c: np.ndarray, s: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        b = round_gbt8170((c - s) / s, 2)
    return np.where(c > s, b, np.nan)


def old_change_rate(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return round_gbt8170(np.where(b > 0, (a - b) / b * 100.0, np.nan), 2)


def old_reference_o2(c: np.ndarray, o: np.ndarray, ref: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(o < 21.0, (21.0 - ref) / (21.0 - o), np.nan)
        return np.where(np.isnan(ref), c, c * factor)


def old_daily(h: np.ndarray, min_h: int, w: np.ndarray) -> np.ndarray:
    o, nh = h.shape
    ok = ~np.isnan(h) & ~np.isnan(w) & (w > 0)
    w = np.where(ok, w, 0.0)
    num = (np.where(ok, h, 0.0) * w).reshape(o, nh // 24, 24).sum(axis=2)
    den = w.reshape(o, nh // 24, 24).sum(axis=2)
    n = ok.reshape(o, nh // 24, 24).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= min_h, num / den, np.nan)


def old_daily_mass(c: np.ndarray, q: np.ndarray) -> np.ndarray:
    t = c * q * 1e-3 / 1000.0
    r, n = t.shape
    return np.nansum(t.reshape(r, n // 24, 24), axis=2)


def old_cap_days(daily_t: np.ndarray, cap: float) -> np.ndarray:
    cum = np.cumsum(np.nan_to_num(daily_t))
    return np.searchsorted(cum, np.array([0.8, 0.9, 1.0]) * cap, side="left")


# --- timing --------------------------------------------------------------------------------


def best(f: Callable[[], object]) -> float:
    out = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        f()
        out.append(time.perf_counter() - t0)
    return min(out)


def main() -> int:
    rng = np.random.default_rng(20261207)
    scale = 0.02 if SHORT else 1.0
    n_st = max(int(2000 * scale), 4)
    daily_dec = np.round(rng.gamma(4.0, 12.0, size=(n_st, 365)), 0)  # rounded daily values
    daily_raw = rng.gamma(4.0, 12.0, size=(n_st, 365))  # unrounded means
    n = max(int(2_000_000 * scale), 1000)
    co = np.round(rng.uniform(0.1, 20.0, n), 1)
    idx_now = np.round(rng.uniform(1.0, 8.0, n), 2)
    idx_before = np.round(rng.uniform(1.0, 8.0, n), 2)
    outlets = max(int(400 * scale), 4)
    hours = 365 * 24
    dust = np.round(rng.uniform(5.0, 40.0, (outlets, hours)), 1)
    o2 = np.round(rng.uniform(3.0, 12.0, (outlets, hours)), 1)
    ref = np.full((outlets, hours), 6.0)
    dust_raw = rng.uniform(5.0, 40.0, (outlets, hours))
    o2_raw = rng.uniform(3.0, 12.0, (outlets, hours))
    cod = np.round(rng.uniform(20.0, 60.0, (outlets, hours)), 1)
    flow = np.round(rng.uniform(10.0, 900.0, (outlets, hours)), 2)
    cod_raw = rng.uniform(20.0, 60.0, (outlets, hours))
    flow_raw = rng.uniform(10.0, 900.0, (outlets, hours))
    samples = max(int(200_000 * scale), 100)
    water = np.round(rng.gamma(2.0, 0.5, size=(samples, len(ASSESSMENT_CODES))), 3)
    water[:, list(ASSESSMENT_CODES).index("w01001")] = np.round(rng.uniform(6, 9, samples), 2)
    caps_t = np.round(rng.uniform(0.1, 0.5, (max(int(3000 * scale), 10), 365)), 6)

    rows: list[tuple[str, float, float]] = []

    def pair(name: str, old: Callable[[], object], new: Callable[[], object]) -> None:
        rows.append((name, best(old), best(new)))

    pair(
        f"HJ 663 percentile p95, {n_st} × 365 rounded daily values",
        lambda: old_percentile(daily_dec, 95),
        lambda: percentile(daily_dec, 95),
    )
    pair(
        f"HJ 663 percentile p95, {n_st} × 365 unrounded daily means",
        lambda: old_percentile(daily_raw, 95),
        lambda: percentile(daily_raw, 95),
    )
    pair(
        f"超标倍数 (CO, limit 4), {n:,} values",
        lambda: old_multiple(co, 4.0),
        lambda: exceedance_multiple(co, 4.0),
    )
    pair(
        f"composite-index change rate, {n:,} pairs",
        lambda: old_change_rate(idx_now, idx_before),
        lambda: change_rate(idx_now, idx_before),
    )
    pair(
        f"reference-O2 conversion, {outlets} × 8760 h, 1-dp readings",
        lambda: old_reference_o2(dust, o2, ref),
        lambda: reference_o2(dust, o2, ref),
    )
    pair(
        f"reference-O2 conversion, {outlets} × 8760 h, unrounded means",
        lambda: old_reference_o2(dust_raw, o2_raw, ref),
        lambda: reference_o2(dust_raw, o2_raw, ref),
    )
    pair(
        f"flow-weighted daily mean, {outlets} × 8760 h, decimal readings",
        lambda: old_daily(cod, 16, flow),
        lambda: averaging.daily(cod, 16, flow),
    )
    pair(
        f"flow-weighted daily mean, {outlets} × 8760 h, unrounded means",
        lambda: old_daily(cod_raw, 16, flow_raw),
        lambda: averaging.daily(cod_raw, 16, flow_raw),
    )
    pair(
        f"daily mass, {outlets} × 8760 h, decimal readings",
        lambda: old_daily_mass(cod, flow),
        lambda: quantity.daily_mass(cod, flow, "air"),
    )
    pair(
        f"daily mass, {outlets} × 8760 h, unrounded means",
        lambda: old_daily_mass(cod_raw, flow_raw),
        lambda: quantity.daily_mass(cod_raw, flow_raw, "air"),
    )
    pair(f"cap levels, {len(caps_t)} site-years",
         lambda: [old_cap_days(d, 60.0) for d in caps_t],
         lambda: [quantity.cap_status(d, dt.date(2026, 1, 1), Decimal(60), (0.8, 0.9, 1.0))
                  for d in caps_t])  # fmt: skip
    old_classify = _old_classify()
    pair(
        f"water classify_batch, {samples:,} samples × 21 items",
        lambda: old_classify(water),
        lambda: classify_batch(water, ASSESSMENT_CODES),
    )

    print("| kernel | before (float) | now (exact) | ratio now/before |")
    print("| --- | ---: | ---: | ---: |")
    worst = 0.0
    for name, a, b in rows:
        worst = max(worst, b / a)
        print(f"| {name} | {a * 1000:.1f} ms | {b * 1000:.1f} ms | {b / a:.2f}× |")
    print(f"worst ratio: {worst:.2f}×")
    return 0


def _old_classify() -> Callable[[np.ndarray], object]:
    """classify_batch with the multiple as it was (float, rounded to 12 places)."""
    from bishui import exact
    from bishui.water import classes

    def old_multiple_12(c: np.ndarray, s: object) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.round((c - s) / s, 12))

    def run(x: np.ndarray) -> object:
        saved = exact.multiple
        classes.exact.multiple = old_multiple_12  # type: ignore[assignment]
        try:
            return classify_batch(x, ASSESSMENT_CODES)
        finally:
            classes.exact.multiple = saved

    return run


if __name__ == "__main__":
    sys.exit(main())
