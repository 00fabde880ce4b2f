"""Benchmark: ``readings.latest(…, "min")`` on PostgreSQL's monthly minute partitions, the
bounded steps (now) against the one unbounded query (before), in the same run.

Loads minute values (``--sites`` sites × three codes × ``--months`` months from January 2025,
one value a minute or every ``--step`` minutes, synthetic) by binary ``COPY`` into a fresh
PostgreSQL schema (dropped at the end), plus one code of the first site that stopped 40 days
before the end (a series older than the window: the third step's case). Then times, best of
``--repeat``, for the first site (with the stale code) and the second (none): the unbounded
query — the read model's ``latest`` before issue 21 (the sites' whole minute history) — and
``readings.latest``; the two answers must be equal.

    PYTHONPATH=src .venv/bin/python bench/bench_latest_minutes.py [--sites 10 --months 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_readings import PG_URL, copy_binary
from bishui import readings
from bishui.store import Store, open_store
from bishui.store.base import MEASUREMENT_COLUMNS

START = dt.datetime(2025, 1, 1)
CODES = ("a21026", "a21004", "a34004")


def unbounded(store: Store, site: str) -> list[dict[str, Any]]:
    """``readings.latest`` as it was: one query over every stored time of the period."""
    rank = readings.origin_rank_sql("m.origin")
    rows = store.query(
        "SELECT m.site_id, m.parameter, m.ts, m.value, m.flag, m.valid, "
        f"{rank} AS rank FROM measurement m "
        "JOIN (SELECT site_id, parameter, MAX(ts) AS ts FROM measurement "
        "WHERE period = ? AND site_id IN (?) GROUP BY site_id, parameter) last "
        "ON m.site_id = last.site_id AND m.parameter = last.parameter AND m.ts = last.ts "
        "WHERE m.period = ? ORDER BY m.site_id, m.parameter, rank",
        ["min", site, "min"],
    )
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        r.pop("rank")
        seen.setdefault((r["site_id"], r["parameter"]), r)
    return list(seen.values())


def load(store: Store, schema: str, sites: int, months: int, step: int = 1) -> int:
    end = dt.datetime(START.year + months // 12, START.month + months % 12, 1)
    minutes = np.arange(np.datetime64(START, "m"), np.datetime64(end, "m"), step).astype(
        "datetime64[us]"
    )
    store.ensure_partitions(START, end)
    names = ", ".join(MEASUREMENT_COLUMNS)
    n = 0
    rng = np.random.default_rng(21)
    for s in range(sites):
        for c in CODES:
            ts = minutes
            if s == 0 and c == "a21004":  # stopped 40 days before the end
                ts = ts[ts < np.datetime64(end - dt.timedelta(days=40), "us")]
            k = len(ts)
            cols = {
                "site_id": np.full(k, f"M{s:03d}", dtype=object),
                "parameter": np.full(k, c, dtype=object),
                "period": np.full(k, "min", dtype=object),
                "ts": ts,
                "origin": np.full(k, "logger", dtype=object),
                "value": rng.gamma(2.0, 10.0, k).round(1),
                "vmin": np.full(k, np.nan),
                "vmax": np.full(k, np.nan),
                "cou": np.full(k, np.nan),
                "flag": np.full(k, "N", dtype=object),
                "valid": np.ones(k, bool),
                "n_valid": np.full(k, -1, np.int32),
                "source": np.full(k, "synthetic", dtype=object),
                "received_at": ts + np.timedelta64(1, "m"),
            }
            sql = f"COPY measurement ({names}) FROM STDIN (FORMAT BINARY)"
            # binary COPY is not on the store's interface: the bench's own connection
            with psycopg.connect(PG_URL, options=f"-c search_path={schema}") as con, \
                    con.cursor() as cur, cur.copy(sql) as cp:  # fmt: skip
                cp.write(copy_binary(cols))
            n += k
    store.execute("ANALYZE measurement")
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=10)
    ap.add_argument("--months", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--step", type=int, default=1, help="minutes between values")
    ap.add_argument(
        "--short", action="store_true", help="CI's quick form: 2 sites, 2 months, every 10 min"
    )
    a = ap.parse_args()
    if a.short:
        a.sites, a.months, a.step, a.repeat = 2, 2, 10, 1
    try:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        store = open_store(PG_URL, schema=schema)
    except Exception as exc:
        print(f"PostgreSQL does not answer at {PG_URL}: skipped ({exc})")
        return 0
    try:
        t = time.perf_counter()
        n = load(store, schema, a.sites, a.months, a.step)
        print(f"loaded {n:,} minute values in {time.perf_counter() - t:.1f} s (not timed)")
        print(f"{'site':<6} {'unbounded (before)':>19} {'bounded steps (now)':>20} {'ratio':>6}")
        for site in ("M000", "M001"):
            best: dict[str, float] = {}
            got: dict[str, Any] = {}
            for _ in range(a.repeat):
                for name in ("before", "now"):
                    t = time.perf_counter()
                    got[name] = (
                        unbounded(store, site)
                        if name == "before"
                        else readings.latest(store, [site], "min")
                    )
                    best[name] = min(best.get(name, float("inf")), time.perf_counter() - t)
            if got["before"] != got["now"]:
                raise SystemExit(f"{site}: the answers differ")
            b, w = best["before"], best["now"]
            print(f"{site:<6} {b:18.3f}s {w:19.3f}s {b / w:5.0f}×")
    finally:
        store.drop_schema()  # type: ignore[attr-defined]
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
