"""Benchmark: a large numeric read — ``Store.query_arrays`` against the row path, both backends.

The read is the source checks' grid read (``sources.store_data.load_grids``): minute data of
``--outlets`` flue-gas outlets × ``--days`` days × 3 channels, with the text columns coded as
small integers in the SQL. Two ways, in the same run, on the same store:

* **query_arrays** — DuckDB's numpy result; PostgreSQL's binary ``COPY`` parsed by numpy at
  once (``postgres_backend._parse_binary_copy``);
* **baseline, rows** — ``Store.query_columns`` on the same SQL: on PostgreSQL, psycopg rows
  (one Python tuple per row) turned into arrays, which is what the checks did before.

The data are generated in the database by one portable ``INSERT … SELECT`` from
``generate_series`` (not timed). PostgreSQL runs where it answers (``BISHUI_PG_URL``, default
the local test database, in a throw-away schema).

    /work/venv/bin/python bench/bench_store_arrays.py [--short] [--outlets N] [--days D]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bishui.app import open_store
from bishui.errors import StorageError
from bishui.store import Store

START = dt.datetime(2026, 1, 1)
CODES = ("a21026", "a19001", "a00000")
TYPES = {"row_i": "i2", "code_i": "i2", "ts": "ts", "value": "f8", "flag_i": "i2"}


def fill(store: Store, outlets: int, days: int) -> int:
    minutes = days * 1440
    for o in range(outlets):
        store.execute(
            "INSERT INTO measurement (site_id, parameter, period, ts, origin, value, flag, valid, "
            "source, received_at) SELECT ?, p.code, 'min', "
            "CAST(? AS TIMESTAMP) + g.i * INTERVAL '1 minute', 'logger', "
            "CASE WHEN g.i % 977 = 0 THEN NULL ELSE 50 + 10 * sin(g.i / 229.0) + ? END, "
            "CASE WHEN g.i % 1440 BETWEEN 120 AND 129 THEN 'C' ELSE 'N' END, true, 'bench', "
            "CAST(? AS TIMESTAMP) "
            "FROM generate_series(0, ?) AS g(i) "
            "CROSS JOIN (VALUES ('a21026'), ('a19001'), ('a00000')) AS p(code)",
            [f"B{o:05d}-DA001", START, o, START, minutes - 1],
        )
    return outlets * minutes * len(CODES)


def grid_sql(outlets: int) -> tuple[str, list[Any]]:
    ids = [f"B{o:05d}-DA001" for o in range(outlets)]
    site_case = " ".join(f"WHEN ? THEN {i}" for i in range(outlets))
    code_case = " ".join(f"WHEN ? THEN {i}" for i in range(len(CODES)))
    marks = ", ".join("?" for _ in ids)
    sql = (
        f"SELECT CAST(CASE site_id {site_case} END AS SMALLINT) AS row_i, "
        f"CAST(CASE parameter {code_case} END AS SMALLINT) AS code_i, ts, value, "
        "CAST(CASE flag WHEN 'N' THEN 0 WHEN 'C' THEN 5 ELSE 8 END AS SMALLINT) AS flag_i "
        f"FROM measurement WHERE period = 'min' AND site_id IN ({marks}) AND ts >= ? AND ts < ?"
    )
    return sql, [*ids, *CODES, *ids]


def best(fn: Any, runs: int) -> tuple[Any, float]:
    t_best, out = math.inf, None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t)
    return out, t_best


def measure(name: str, store: Store, outlets: int, days: int, runs: int) -> None:
    t = time.perf_counter()
    n = fill(store, outlets, days)
    built = time.perf_counter() - t
    sql, params = grid_sql(outlets)
    params = [*params, START, START + dt.timedelta(days=days)]
    fast, t_fast = best(lambda: store.query_arrays(sql, params, TYPES), runs)
    rows, t_rows = best(lambda: store.query_columns(sql, params), runs)
    assert len(fast["value"]) == len(rows["value"]) == n, (len(fast["value"]), n)
    assert sorted(fast["ts"].tolist()) == sorted(rows["ts"].tolist())
    print(f"{name:10s} {n:>11,} rows (built in {built:5.1f} s): query_arrays {t_fast:7.2f} s "
          f"({n / t_fast / 1e6:5.2f} M rows/s) | baseline rows {t_rows:7.2f} s "
          f"({n / t_rows / 1e6:5.2f} M rows/s) → ×{t_rows / t_fast:.1f}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true", help="2 outlets × 2 days (CI)")
    ap.add_argument("--outlets", type=int, default=8)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    outlets, days, runs = (2, 2, 1) if a.short else (a.outlets, a.days, a.runs)
    print(f"grid read: {outlets} outlets × {days} days of minutes × {len(CODES)} channels, "
          f"best of {runs}")  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        store = open_store(Path(d) / "bench.duckdb")
        try:
            measure("duckdb", store, outlets, days, runs)
        finally:
            store.close()
    url = os.environ.get("BISHUI_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        pg = open_store(f"{url}?schema=bench_arrays_{os.getpid()}")
    except StorageError as e:
        print(f"postgresql skipped: {e}")
        return
    try:
        measure("postgresql", pg, outlets, days, runs)
    finally:
        pg.drop_schema()  # type: ignore[attr-defined]
        pg.close()


if __name__ == "__main__":
    main()
