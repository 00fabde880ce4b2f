"""Annual assessment from hourly arrays: the pure core on stations × 8760 hours.

    /work/venv/bin/python bench/bench_air_assess.py [--short]

Times :func:`bishui.air.assess_hourly` (daily means with validity, MDA8, daily AQI with the
edition per day, good-days ratio, HJ 663 statistics and compliance) on 100 stations × one year
of synthetic hourly data (6 pollutants, 3 % missing), against a named baseline in the same run:
the same core called one station at a time (what a per-station loop in the service would cost).
The store query is not included (the service's benchmark adds it).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bishui.air import assess_hourly

SHORT = "--short" in sys.argv


def main() -> int:
    stations = 10 if SHORT else 100
    hours = 365 * 24
    rng = np.random.default_rng(1)
    scale = {"SO2": 3, "NO2": 6, "PM10": 12, "PM2.5": 7, "CO": 0.2, "O3": 15}
    hourly = {p: np.round(rng.gamma(4.0, s, (stations, hours)), 1) for p, s in scale.items()}
    for v in hourly.values():
        v[rng.random(v.shape) < 0.03] = np.nan
    start = dt.date(2025, 1, 1)

    t = time.perf_counter()
    r = assess_hourly(hourly, start)
    vec = time.perf_counter() - t

    t = time.perf_counter()
    for i in range(stations):
        assess_hourly({p: v[i] for p, v in hourly.items()}, start)
    loop = time.perf_counter() - t

    n = stations * hours * len(scale)
    print(f"bench_air_assess {'--short' if SHORT else '(full)'}: {stations} stations × {hours} h")
    rate = n / vec / 1e6
    print(f"  bishui assess_hourly, all stations at once: {vec:6.3f} s  ({rate:.1f} M values/s)")
    print(f"  baseline, one station at a time:             {loop:6.3f} s  → {loop / vec:.1f}×")
    print(f"  goal (core share of the 2 s store goal): {'met' if vec < 2 else 'NOT met'}")
    print(
        f"  e.g. station 0 PM2.5: mean {r.pollutants['PM2.5'].mean[0]:.1f}, "
        f"p95 {r.pollutants['PM2.5'].percentile[0]:.1f}, {r.pollutants['PM2.5'].status[0]}; "
        f"good days {r.good_days.ratio[0]} %"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
