"""Benchmark: what PostgreSQL's series layout (core migration 4) costs the writes of hourly values.

In a fresh PostgreSQL schema, with the model city's registry: ``--days`` of its hourly history
written by ``bishui.demo.history.generate`` (monthly slices: every day new to the store), the
same days written again (a re-delivery: every row updated, every day re-formed), then one more
day written hour by hour (24 statements, as hourly data arrive: each appends to stored days).
Run it with the tree to measure first on ``PYTHONPATH`` to compare code trees in one session:

    PYTHONPATH=/tmp/old/src .venv/bin/python bench/bench_series_writes.py --days 10
    .venv/bin/python bench/bench_series_writes.py --days 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
import uuid

import numpy as np

from bishui.demo.city import build
from bishui.demo.history import generate, hour_range, site_columns
from bishui.registry import apply
from bishui.store import open_store

PG_URL = os.environ.get("BISHUI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
START = dt.datetime(2025, 1, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--short", action="store_true", help="one day (CI: the script keeps working)")
    a = ap.parse_args()
    if a.short:
        a.days = 1
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    store = open_store(f"{PG_URL}?schema={schema}")
    try:
        model = build()
        apply(store, model.registry)
        end = START + dt.timedelta(days=a.days)
        t = time.perf_counter()
        n = generate(store, model, START, end)["values"]
        fresh = time.perf_counter() - t
        t = time.perf_counter()
        generate(store, model, START, end)
        again = time.perf_counter() - t
        parts = [site_columns(model, s.id, hour_range(end, end + dt.timedelta(days=1)))[0]
                 for s in model.registry.sites]  # fmt: skip
        cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        hour = (cols["ts"] - np.datetime64(end, "us")) // np.timedelta64(1, "h")
        t = time.perf_counter()
        m = sum(store.write_measurements({k: v[hour == h] for k, v in cols.items()})
                for h in range(24))  # fmt: skip
        hourly = time.perf_counter() - t
        print(
            f"{n:,} values: new days {fresh:.2f} s ({n / fresh:,.0f}/s); re-delivered "
            f"{again:.2f} s ({n / again:,.0f}/s); one more day hour by hour ({m:,} values, "
            f"24 statements) {hourly:.2f} s"
        )
    finally:
        store.drop_schema()  # type: ignore[attr-defined]
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
