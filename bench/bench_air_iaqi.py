"""IAQI throughput and agreement: bishui.air.iaqi against python-aqi and aqi-hub, same run.

    /work/venv/bin/python bench/bench_air_iaqi.py [--short]

Prints values/second (one core; numpy runs these operations single-threaded) for
* bishui exact IAQI (HJ 633-2012 unrounded reading; HJ 633-2026 with GB/T 8170 rounding first),
* python-aqi 0.6.1 ``to_iaqi(..., algo=ALGO_MEP)`` (the HJ 633-2012 table, EPA-style), and
* aqi-hub ``cal_iaqi_cn`` (HJ 633-2026 table),
and the number of disagreements on a shared concentration grid (every 0.1 µg/m³ or 0.1 mg/m³ from
0 to the top breakpoint of each column), each disagreement explained by a named cause whose
emulation reproduces the other library's value. A missing library is reported and skipped.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections import Counter
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bishui.air import iaqi
from bishui.air.tables import iaqi_table

SHORT = "--short" in sys.argv
IAQI = [0, 50, 100, 150, 200, 300, 400, 500]

try:
    import aqi as python_aqi
    import aqi.constants as python_aqi_constants
    from aqi.algos import get_algo
except ImportError:  # pragma: no cover - depends on the environment
    python_aqi = None
try:
    from aqi_hub.aqi_cn import cal_iaqi_cn
except ImportError:  # pragma: no cover
    cal_iaqi_cn = None

# our key → (python-aqi constant name, aqi-hub key)
KEYS = {
    "SO2_24h": ("POLLUTANT_SO2_24H", "SO2_24H"),
    "SO2_1h": ("POLLUTANT_SO2_1H", "SO2_1H"),
    "NO2_24h": ("POLLUTANT_NO2_24H", "NO2_24H"),
    "NO2_1h": ("POLLUTANT_NO2_1H", "NO2_1H"),
    "PM10_24h": ("POLLUTANT_PM10", "PM10_24H"),
    "CO_24h": ("POLLUTANT_CO_24H", "CO_24H"),
    "CO_1h": ("POLLUTANT_CO_1H", "CO_1H"),
    "O3_1h": ("POLLUTANT_O3_1H", "O3_1H"),
    "O3_8h": ("POLLUTANT_O3_8H", "O3_8H"),
    "PM2.5_24h": ("POLLUTANT_PM25", "PM25_24H"),
}


def best_rate(fn, n: int, repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n / best


def bps(edition: str, key: str) -> list[Fraction]:
    return list(iaqi_table(edition)[key].conc)  # type: ignore[arg-type]


def exact(edition: str, key: str, c: Fraction) -> int:
    b = bps(edition, key)
    for i in range(len(b) - 1):
        if b[i] <= c <= b[i + 1]:
            return math.ceil(
                Fraction(IAQI[i + 1] - IAQI[i]) / (b[i + 1] - b[i]) * (c - b[i]) + IAQI[i]
            )
    raise ValueError(c)


def emulate_python_aqi(key: str, c: Fraction) -> tuple[int, str]:
    """python-aqi's documented behaviour: truncate to an integer, EPA-style bands (lower ends
    shifted to previous top + 1, IAQI bands 0-50, 51-100, …), round half to even."""
    b = bps("2012", key)
    ct = Fraction(math.floor(c))
    for i in range(len(b) - 1):
        lo = b[i] if i == 0 else b[i] + 1
        alo = IAQI[i] if i == 0 else IAQI[i] + 1
        if lo <= ct <= b[i + 1]:
            v = Fraction(IAQI[i + 1] - alo) / (b[i + 1] - lo) * (ct - lo) + alo
            value = int(Decimal(v.numerator) / Decimal(v.denominator)).__class__(
                (Decimal(v.numerator) / Decimal(v.denominator)).quantize(
                    Decimal(1), ROUND_HALF_EVEN
                )
            )
            if exact("2012", key, c) != exact("2012", key, ct):
                cause = "concentration truncated to an integer (CO included)"
            elif math.ceil(v) == exact("2012", key, ct) or v == math.floor(v):
                cause = "half-even rounding instead of ceiling (§6.2)"
            else:
                cause = "EPA-style bands (lower breakpoint +1) instead of continuous segments"
            return value, cause
    return -1, "truncated value falls between python-aqi's bands"


def naive_float(edition: str, key: str, c: float, table_key: str | None = None) -> int:
    b = [float(x) for x in bps(edition, table_key or key)]
    for i in range(len(b) - 1):
        if b[i] <= c <= b[i + 1]:
            return math.ceil((IAQI[i + 1] - IAQI[i]) / (b[i + 1] - b[i]) * (c - b[i]) + IAQI[i])
    return -1


def grid(key: str, edition: str) -> np.ndarray:
    top = float(bps(edition, key)[-1])
    step = 1.0 if SHORT and not key.startswith("CO") else 0.1
    n = round(top / step)
    return np.round(np.arange(n + 1) * step, 1)


def main() -> int:
    print(
        f"bench_air_iaqi {'--short' if SHORT else '(full)'}  python {sys.version.split()[0]}"
        f"  numpy {np.__version__}"
    )
    n = 1_000_000 if SHORT else 10_000_000
    rep = 2 if SHORT else 5
    rng = np.random.default_rng(0)
    data = {
        "PM2.5 floats": ("PM2.5_24h", rng.uniform(0, 500, n)),
        "PM2.5 integers": ("PM2.5_24h", rng.integers(0, 501, n).astype(float)),
        "CO 0.1 mg/m³": ("CO_1h", np.round(rng.uniform(0, 150, n), 1)),
    }
    rates = {}
    for label, (key, x) in data.items():
        for ed in ("2012", "2026"):
            r = best_rate(lambda key=key, x=x, ed=ed: iaqi(key, x, ed), n, rep)
            rates[(label, ed)] = r
            print(f"  bishui iaqi {ed} {label:15s} {r / 1e6:8.1f} M values/s (exact)")
    ours = rates[("PM2.5 floats", "2012")]

    m = 20_000 if SHORT else 200_000
    xs = [str(v) for v in np.round(rng.uniform(0, 500, m), 1)]
    if python_aqi is not None:
        algo = python_aqi.ALGO_MEP
        pm = python_aqi.POLLUTANT_PM25
        r_api = best_rate(lambda: [python_aqi.to_iaqi(pm, s, algo=algo) for s in xs], m, 2)
        obj = get_algo(algo)
        r_obj = best_rate(lambda: [obj.iaqi(pm, s) for s in xs], m, 2)
        print(f"  python-aqi to_iaqi (public API)   {r_api / 1e6:8.3f} M values/s")
        print(f"  python-aqi AQI().iaqi (reused)    {r_obj / 1e6:8.3f} M values/s")
        print(
            f"  → bishui / python-aqi: {ours / r_api:,.0f}× (public API), "
            f"{ours / r_obj:,.0f}× (reused object)  [goal ≥ 25×]"
        )
    else:
        print("  python-aqi: not installed — skipped")
    if cal_iaqi_cn is not None:
        fx = [float(s) for s in xs]
        r_hub = best_rate(lambda: [cal_iaqi_cn("PM25_24H", v) for v in fx], m, 2)
        print(f"  aqi-hub cal_iaqi_cn               {r_hub / 1e6:8.3f} M values/s")
        print(f"  → bishui / aqi-hub: {rates[('PM2.5 floats', '2026')] / r_hub:,.0f}×")
    else:
        print("  aqi-hub: not installed — skipped (pip install aqi-hub)")
    print(
        f"  goal ≥ 10 M exact IAQI/s: {'met' if ours >= 10e6 else 'NOT met'} ({ours / 1e6:.1f} M/s)"
    )

    print(
        "disagreements on the shared grid (0.1 steps from 0 to each column's top"
        + ("; µg/m³ on integers in --short" if SHORT else "")
        + ")"
    )
    if python_aqi is not None:
        obj = get_algo(python_aqi.ALGO_MEP)
        total = 0
        causes: Counter[str] = Counter()
        unexplained = 0
        points = 0
        for key, (pconst, _) in KEYS.items():
            g = grid(key, "2012")
            mine = iaqi(key, g, "2012").value
            points += g.size
            diff = 0
            for c, v in zip(g.tolist(), mine.tolist(), strict=True):
                s = repr(c)
                try:
                    theirs = int(obj.iaqi(getattr(python_aqi_constants, pconst), s))
                except Exception as exc:
                    diff += 1
                    causes[f"python-aqi raised {type(exc).__name__}"] += 1
                    continue
                if theirs != v:
                    diff += 1
                    emu, cause = emulate_python_aqi(key, Fraction(s))
                    if emu == theirs:
                        causes[cause] += 1
                    else:
                        unexplained += 1
            total += diff
            print(f"  python-aqi vs HJ 633-2012 {key:10s} {diff:6d} of {g.size:6d}")
        print(f"  python-aqi total: {total} of {points} differ; causes:")
        for cause, k in causes.most_common():
            print(f"    {k:6d}  {cause}")
        print(f"    {unexplained:6d}  unexplained")
    if cal_iaqi_cn is not None:
        total = 0
        points = 0
        causes = Counter()
        unexplained = 0
        rounded_total = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for key, (_, hub) in KEYS.items():
                g = grid(key, "2026")
                mine = iaqi(key, g, "2026", round_first=False).value
                mine_r = iaqi(key, g, "2026").value
                points += g.size
                diff = 0
                for c, v, vr in zip(g.tolist(), mine.tolist(), mine_r.tolist(), strict=True):
                    theirs = cal_iaqi_cn(hub, c)
                    rounded_total += theirs != vr
                    if theirs == v:
                        continue
                    diff += 1
                    if key == "SO2_24h" and theirs == naive_float("2026", key, c, "SO2_1h"):
                        causes["SO2 24h computed with the SO2 1h breakpoints"] += 1
                    elif theirs == v + 1 and theirs == naive_float("2026", key, c):
                        causes["float arithmetic before ceil (exact value is an integer)"] += 1
                    else:
                        unexplained += 1
                total += diff
                print(f"  aqi-hub vs HJ 633-2026 {key:10s} {diff:6d} of {g.size:6d}")
        print(f"  aqi-hub total: {total} of {points} differ (same unrounded reading); causes:")
        for cause, k in causes.most_common():
            print(f"    {k:6d}  {cause}")
        print(f"    {unexplained:6d}  unexplained")
        print(
            f"  with HJ 633-2026 §4.2.2 rounding first (bishui default for 2026): "
            f"{rounded_total} of {points} differ — aqi-hub does not round the concentration"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
