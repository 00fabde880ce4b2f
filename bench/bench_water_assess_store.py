"""Annual assessment of 100 sections × one year of automatic-station data, from the store.

The service path (``bishui.water.service.assess``): one aggregating SQL query for the year
(sums and counts per section, parameter and day), a numpy pivot into a section × day × item cube,
daily → monthly → annual means (pH by hydrogen-ion mean), classes, target attainment, rivers,
counties, CWQI and ranks. The baseline, measured in the same run on the same store: a
straightforward per-section loop — one SQL query per section for its year of readings, daily,
monthly and annual means in Python dicts, then ``classify`` per section. A third figure is the
cached path (``assess_cached`` when the fingerprint is unchanged).

Synthetic data: the model city's water-quality generator (``bishui.demo.profiles``) for 100
made-up sections (levels spread over Ⅰ–劣Ⅴ), 4-hourly readings of 7 items for 2026 (≈ 1.5 M
rows). DuckDB always; PostgreSQL too (after ``ANALYZE``) when ``$BISHUI_BENCH_PG`` (default:
the test server ``postgresql://postgres@127.0.0.1:5432/test``) answers, in a throw-away schema.
``--short`` (CI): 4 sections on DuckDB, 2 on PostgreSQL, the same year.

    /work/venv/bin/python bench/bench_water_assess_store.py [--short]
"""

from __future__ import annotations

import datetime as dt
import math
import os
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

try:
    import bishui  # noqa: F401
except ModuleNotFoundError:  # run from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bishui.app import open_store
from bishui.demo import city, history
from bishui.demo.profiles import WaterProfile
from bishui.store import Store
from bishui.water import classify
from bishui.water.service import ServiceRules, assess, assess_cached

PG_URL = os.environ.get("BISHUI_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
YEAR = 2026


def load(store: Store, sections: int) -> int:
    """Register *sections* water sections and write a year of 4-hourly data; rows written."""
    model = city.build()
    rng = np.random.default_rng(11)
    store.upsert(
        "regions",
        [
            {"code": "420800", "name": "荆门市", "kind": "city", "central": False},
            *[
                {"code": f"4208{k:02d}", "name": f"区县{k}", "kind": "county",
                 "parent": "420800", "central": False}
                for k in range(1, 6)
            ],
        ],
    )  # fmt: skip
    sites = []
    for i in range(sections):
        sid = f"B{i:03d}"
        body = "lake" if i % 10 == 9 else "river"
        level = float(rng.uniform(1.0, 5.8))
        model.water[sid] = WaterProfile(level, body, None)
        sites.append(
            {"id": sid, "kind": "water", "name": f"断面{i}", "region": f"4208{i % 5 + 1:02d}",
             "river": f"河{i // 10}", "body": body, "target_class": int(rng.integers(2, 5)),
             "control": "provincial", "assessment": True, "drinking_source": False, "attrs": {}}
        )  # fmt: skip
    store.upsert("sites", sites)
    hours = history.hour_range(dt.datetime(YEAR, 1, 1), dt.datetime(YEAR + 1, 1, 1))
    total = 0
    for chunk in np.array_split(hours, 12):  # month-sized slices, as the history generator
        parts = [history.site_columns(model, s["id"], chunk)[0] for s in sites]
        total += store.write_measurements(
            {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        )
    return total


def baseline(store: Store) -> dict[str, str]:
    """Per-section SQL loop and Python means, then ``classify`` per section."""
    rules = ServiceRules()
    sections = store.query("SELECT id, body FROM sites WHERE kind = 'water' ORDER BY id")
    out = {}
    for s in sections:
        rows = store.query(
            "SELECT parameter, ts, value FROM measurement WHERE site_id = ? AND period = 'hour' "
            "AND origin = 'logger' AND valid AND ts >= ? AND ts < ?",
            [s["id"], dt.datetime(YEAR, 1, 1), dt.datetime(YEAR + 1, 1, 1)],
        )
        days: dict[tuple[str, dt.date], list[float]] = defaultdict(list)
        for r in rows:
            v = r["value"]
            days[(r["parameter"], r["ts"].date())].append(
                10.0**-v if r["parameter"] == "w01001" else v
            )
        months: dict[tuple[str, int], list[float]] = defaultdict(list)
        for (p, d), vals in days.items():
            if len(vals) >= rules.day_min_readings:
                months[(p, d.month)].append(sum(vals) / len(vals))
        year: dict[str, list[float]] = defaultdict(list)
        for (p, _), vals in months.items():
            year[p].append(sum(vals) / len(vals))
        sample = {}
        for p, vals in year.items():
            if len(vals) >= rules.min_samples["year"]:
                m = sum(vals) / len(vals)
                sample[p] = -math.log10(m) if p == "w01001" else m
        out[s["id"]] = classify(sample, s["body"]).label if sample else "insufficient data"
    return out


def measure(store: Store, label: str, sections: int, repeats: int) -> None:
    t0 = time.perf_counter()
    n = load(store, sections)
    if store.dialect == "postgresql":
        # Fresh statistics, as autovacuum would have them in production (otherwise the planner
        # sees an "empty" table and sorts the year on disk).
        store.execute_many([("ANALYZE measurement", ()), ("ANALYZE sites", ())])
    t_load = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a = assess(store, str(YEAR), compare=False)
        times.append(time.perf_counter() - t0)
    base_times = []
    for _ in range(max(1, repeats // 2)):
        t0 = time.perf_counter()
        base = baseline(store)
        base_times.append(time.perf_counter() - t0)
    assess_cached(store, str(YEAR))
    t0 = time.perf_counter()
    assess_cached(store, str(YEAR))
    t_cached = time.perf_counter() - t0
    ours = {s["section"]: s["label"] for s in a.sections}
    agree = sum(ours[k] == v for k, v in base.items())
    best, best_base = min(times), min(base_times)
    print(
        f"{label}: {sections} sections, {n:,} rows loaded in {t_load:.1f} s\n"
        f"  service assess (year, vectorised):   {best:.3f} s  ({n / best / 1e6:.2f} M rows/s)\n"
        f"  baseline per-section SQL + Python:   {best_base:.3f} s\n"
        f"  ratio baseline / service:            {best_base / best:.1f}×\n"
        f"  cached (fingerprint unchanged):      {t_cached:.3f} s\n"
        f"  classes agree with the baseline:     {agree}/{len(base)}"
    )


def main() -> int:
    short = "--short" in sys.argv[1:]
    sections, repeats = (4, 1) if short else (100, 3)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "bench.duckdb")
        try:
            measure(store, "DuckDB", sections, repeats)
        finally:
            store.close()
    try:
        import psycopg

        psycopg.connect(PG_URL, connect_timeout=3).close()
    except Exception:
        print(f"PostgreSQL: not reachable at {PG_URL}; skipped")
        return 0
    pg: Any = open_store(PG_URL, schema=f"bench_{uuid.uuid4().hex[:12]}")
    try:
        # --short: a smaller PostgreSQL load (its upserting bulk load dominates a short run).
        measure(pg, "PostgreSQL", 2 if short else sections, repeats)
    finally:
        pg.drop_schema()
        pg.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
