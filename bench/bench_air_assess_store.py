"""Annual assessment of many air stations read from the store (issue 4, benchmarks).

Loads N synthetic stations × one year of hourly values of the six pollutants into a fresh
store (DuckDB; PostgreSQL too when one answers at ``$BISHUI_TEST_PG`` or 127.0.0.1:5432/test),
then times, in the same run:

* ``service``  — :func:`bishui.air.service.assessment` for the year: one query returning integer
  indexes, one numpy scatter, the vectorised core (stations, counties, the city);
* ``baseline`` — the same figures read the plain way: one ``Store.series`` query per station
  and pollutant (N × 6 queries), then the same core.

    /work/venv/bin/python bench/bench_air_assess_store.py            # 100 stations, 2025
    /work/venv/bin/python bench/bench_air_assess_store.py --short    # 4 stations, 1 month (CI)

Loading the store is not timed. The figures printed are the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bishui.air import assess_hourly
from bishui.air.service import assessment
from bishui.air.store_io import CODES, hourly_cube
from bishui.app import open_store
from bishui.store import Store

PG_URL = os.environ.get("BISHUI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
SCALE = {"SO2": 3.0, "NO2": 7.0, "PM10": 15.0, "PM2.5": 9.0, "CO": 0.2, "O3": 18.0}


def load(store: Store, stations: int, start: dt.date, days: int) -> int:
    regions = [f"4208{c:02d}" for c in (2, 4, 22, 81, 82)]
    store.upsert(
        "regions", [{"code": "420800", "name": "模拟市", "kind": "city", "central": False}]
    )
    store.upsert(
        "regions",
        [
            {"code": r, "name": r, "kind": "county", "parent": "420800", "central": False}
            for r in regions
        ],
    )
    ids = [f"B{i:03d}" for i in range(stations)]
    store.upsert(
        "sites",
        [
            {
                "id": s,
                "kind": "air",
                "name": s,
                "region": regions[i % len(regions)],
                "assessment": i % 2 == 0,
                "drinking_source": False,
            }
            for i, s in enumerate(ids)
        ],
    )
    rng = np.random.default_rng(1)
    hours = days * 24
    t0 = np.datetime64(start, "h")
    total = 0
    for chunk in np.array_split(np.arange(stations), max(1, stations // 10)):
        parts: dict[str, list[np.ndarray]] = {}
        for i in chunk:
            for pol, code in CODES.items():
                v = np.round(rng.gamma(4.0, SCALE[pol], hours), 1 if pol == "CO" else 0)
                keep = rng.random(hours) > 0.02  # 2 % of hours missing
                n = int(keep.sum())
                cols = {
                    "site_id": np.full(n, ids[i], dtype=object),
                    "parameter": np.full(n, code, dtype=object),
                    "period": np.full(n, "hour", dtype=object),
                    "ts": (t0 + np.arange(hours)[keep]).astype("datetime64[us]"),
                    "origin": np.full(n, "logger", dtype=object),
                    "value": v[keep],
                    "vmin": np.full(n, np.nan),
                    "vmax": np.full(n, np.nan),
                    "cou": np.full(n, np.nan),
                    "flag": np.full(n, "N", dtype=object),
                    "valid": np.ones(n, bool),
                    "n_valid": np.full(n, -1, np.int32),
                    "source": np.full(n, "bench", dtype=object),
                    "received_at": (t0 + np.arange(hours)[keep]).astype("datetime64[us]"),
                }
                for k, a in cols.items():
                    parts.setdefault(k, []).append(a)
        total += store.write_measurements({k: np.concatenate(v) for k, v in parts.items()})
    return total


def baseline(store: Store, start: dt.date, days: int) -> Any:
    """One Store.series query per station and pollutant, then the same core."""
    ids = [r["id"] for r in store.query("SELECT id FROM sites WHERE kind = 'air' ORDER BY id")]
    t0 = dt.datetime.combine(start, dt.time())
    t1 = t0 + dt.timedelta(days=days)
    hourly = {p: np.full((len(ids), days * 24), np.nan) for p in CODES}
    for i, sid in enumerate(ids):
        for pol, code in CODES.items():
            s = store.series(sid, code, "hour", t0, t1, origin="logger")
            if len(s["ts"]):
                h = ((s["ts"] - np.datetime64(t0, "us")) // np.timedelta64(1, "h")).astype(int)
                hourly[pol][i, h] = np.where(s["valid"].astype(bool), s["value"], np.nan)
    return assess_hourly(hourly, start)


def best(fn: Any, repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def run(store: Store, stations: int, start: dt.date, days: int, repeat: int, period: str) -> None:
    if store.count("sites") != stations:  # a kept PostgreSQL schema is loaded once
        t = time.perf_counter()
        n = load(store, stations, start, days)
        print(f"  loaded {n:,} hourly values in {time.perf_counter() - t:.1f} s (not timed)")
    today = start + dt.timedelta(days=days)
    ids = [f"B{i:03d}" for i in range(stations)]
    t0 = dt.datetime.combine(start, dt.time())
    tr, _ = best(lambda: hourly_cube(store, ids, t0, 24 * days), repeat)
    ts, rows = best(lambda: assessment(store, period, today=today), repeat)
    tb, base = best(lambda: baseline(store, start, days), max(1, repeat // 2))
    stn = [r for r in rows if r.scope == "station"]
    # Same station figures both ways (the service also gives counties and the city).
    pm = np.array([r.pollutants["PM2.5"]["mean"] for r in stn], dtype=float)
    assert np.allclose(pm, np.round(base.pollutants["PM2.5"].mean, 3), equal_nan=True)
    print(f"  service : {ts:7.3f} s  ({len(rows)} rows: {len(stn)} stations, counties, city)")
    print(f"    of which reading the hourly cube: {tr:.3f} s")
    print(f"  baseline: {tb:7.3f} s  (per-station Store.series queries)  → {tb / ts:5.1f}× faster")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--short", action="store_true", help="4 stations, one month (CI)")
    ap.add_argument("--stations", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    ap.add_argument("--pg-only", action="store_true", help="skip DuckDB")
    ap.add_argument("--pg-schema", help="keep the PostgreSQL data in this schema (reused)")
    a = ap.parse_args()
    if a.short:
        stations, start, days, period, repeat = 4, dt.date(2025, 7, 1), 31, "2025-07", 1
    else:
        stations, start, days, period = a.stations, dt.date(2025, 1, 1), 365, "2025"
        repeat = a.repeat
    print(f"air assessment from the store: {stations} stations × {days} days ({period})")
    if not a.pg_only:
        with tempfile.TemporaryDirectory() as tmp:
            print("DuckDB")
            store = open_store(Path(tmp) / "bench.duckdb")
            try:
                run(store, stations, start, days, repeat, period)
            finally:
                store.close()
    if a.no_pg:
        return
    try:
        import psycopg

        psycopg.connect(PG_URL, connect_timeout=3).close()
    except Exception as exc:
        print(f"PostgreSQL: not reachable at {PG_URL} ({type(exc).__name__}); skipped")
        return
    print("PostgreSQL")
    store = open_store(PG_URL, schema=a.pg_schema or f"bench_{uuid.uuid4().hex[:12]}")
    try:
        run(store, stations, start, days, repeat, period)
    finally:
        if not a.pg_schema:
            store.drop_schema()  # type: ignore[attr-defined]
        store.close()


if __name__ == "__main__":
    main()
