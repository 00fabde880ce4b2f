"""Benchmark: the service reads of a city-year on PostgreSQL against DuckDB, old code against new.

Loads the model city's history (``bishui.demo.history.generate``: every site's hourly values of
one year) once into a DuckDB file and a PostgreSQL schema (not timed), then times, on each
backend and for each code tree given (``--tree``, e.g. today's tree and an older checkout), in
one child process per (backend, tree) so each tree imports its own ``bishui``:

* ``city_year`` — every hourly value of the city for the year: the read model
  (``bishui.readings.select``) where the tree has it, else ``Store.query_columns`` (the rows
  path the services' reads were measured by before issue 15);
* ``air_year`` — the annual air assessment (``bishui.air.service.assessment``);
* ``water_year`` — the annual water assessment (``bishui.water.service.assess``, no
  previous-year comparison);
* ``sources_year`` — the source checks' hourly grids of every outlet (``load_grids``);
* ``latest`` — ``bishui.readings.latest`` of ten sites, one call each (the site API's newest
  values: no time bound, so every partition of the site's history is looked at).

``--scale N`` loads N copies of the model city (sites ``ID~k``; issue 21: "10× that size").

Each figure is the best of ``--repeat`` runs in each of ``--rounds`` child runs (the rounds
alternate trees and backends). The PostgreSQL/DuckDB ratio of each read is the
goal's measure (issue 15: within 3×).

    .venv/bin/python bench/bench_readings.py --tree . --tree /tmp/old15 [--days 365] [--rounds 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

PG_URL = os.environ.get("BISHUI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
START = dt.datetime(2025, 1, 1)


def load(url: str, days: int, scale: int = 1) -> int:
    from bishui.demo.city import build
    from bishui.demo.history import generate
    from bishui.registry import apply
    from bishui.store import open_store

    store = open_store(url)
    try:
        model = build()
        apply(store, model.registry)
        stats = generate(store, model, START, START + dt.timedelta(days=days))
        n = int(stats["values"])
        # --scale N: N − 1 copies of every site and its series, under ids ending "~k" (in the
        # database: one INSERT … SELECT each; on PostgreSQL the series layout's triggers form
        # the copies' days as for any bulk load)
        cols = ", ".join(
            ("site_id || ?" if c == "site_id" else c)
            for c in ("site_id", "parameter", "period", "ts", "origin", "value", "vmin", "vmax",
                      "cou", "flag", "valid", "n_valid", "source", "received_at")
        )  # fmt: skip
        for k in range(1, scale):
            with store.transaction() as tx:
                tx.execute(
                    f"INSERT INTO measurement ({cols.replace('site_id || ?', 'site_id')}) "
                    f"SELECT {cols} FROM measurement WHERE site_id NOT LIKE '%~%'",
                    [f"~{k}"],
                )
                tx.execute(
                    "INSERT INTO sites (id, kind, name, region, lon, lat, enterprise, outlet, "
                    "river, body, target_class, control, drinking_source, assessment, attrs) "
                    "SELECT id || ?, kind, name || ?, region, lon, lat, enterprise, outlet, river, "
                    "body, target_class, control, drinking_source, assessment, attrs FROM sites "
                    "WHERE id NOT LIKE '%~%'",
                    [f"~{k}", f"~{k}"],
                )
            n += int(stats["values"])
        if store.dialect == "postgresql":
            store.execute("ANALYZE measurement")
            store.execute("ANALYZE measurement_day")
    finally:
        store.close()
    return n


def child(url: str, tree: str, days: int, repeat: int) -> dict[str, Any]:
    sys.path.insert(0, str(Path(tree).resolve() / "src"))
    import bishui
    from bishui.air.service import assessment
    from bishui.sources.store_data import load_grids
    from bishui.store import open_store
    from bishui.water.service import assess

    try:
        from bishui import readings
    except ImportError:
        readings = None  # type: ignore[assignment]
    store = open_store(url, migrate=False)
    end = START + dt.timedelta(days=days)
    year = str(START.year)
    sites = [r["id"] for r in store.query("SELECT id FROM sites ORDER BY id")]
    outlets = [
        r["id"] for r in store.query("SELECT id FROM sites WHERE kind LIKE 'source%' ORDER BY id")
    ]

    def city_year() -> int:
        if readings is not None:
            return len(readings.select(store, sites, None, START, end))
        c = store.query_columns(
            "SELECT site_id, parameter, ts, value, valid FROM measurement "
            "WHERE period = 'hour' AND ts >= ? AND ts < ?",
            [START, end],
        )
        return len(c["site_id"])

    reads = {
        "city_year": city_year,
        "air_year": lambda: len(assessment(store, year, today=end.date())),
        "water_year": lambda: len(assess(store, year, compare=False).sections),
        "sources_year": lambda: len(load_grids(store, outlets, "hour", START, days).values),
        # the site API's newest hourly values (GET /api/v1/sites/{id}/latest: one site, no
        # time bound), for ten sites one after another
        "latest": lambda: (
            sum(len(readings.latest(store, [s])) for s in sites[:10]) if readings is not None else 0
        ),
    }
    out: dict[str, Any] = {"bishui": str(Path(bishui.__file__).parent)}
    try:
        for name, fn in reads.items():
            best, n = float("inf"), None
            for _ in range(repeat):
                t = time.perf_counter()
                n = fn()
                best = min(best, time.perf_counter() - t)
            out[name] = best
            out[name + "_n"] = n
    finally:
        store.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", action="append", help="a checkout whose src/ to time (repeatable)")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--scale", type=int, default=1, help="copies of the model city (10: 10×)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=1, help="child runs per tree and backend")
    ap.add_argument("--short", action="store_true", help="CI's quick form: 7 days, one repeat")
    ap.add_argument("--child", nargs=2, metavar=("URL", "TREE"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.short:
        a.days, a.repeat, a.rounds, a.scale = 7, 1, 1, min(a.scale, 2)
    if a.child:
        print(json.dumps(child(a.child[0], a.child[1], a.days, a.repeat)))
        return 0
    trees = a.tree or [str(Path(__file__).resolve().parents[1])]
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    with tempfile.TemporaryDirectory() as tmp:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        urls = {"duckdb": f"duckdb:///{tmp}/r.duckdb", "postgresql": f"{PG_URL}?schema={schema}"}
        try:
            for backend, url in urls.items():
                t = time.perf_counter()
                n = load(url, a.days, a.scale)
                print(
                    f"{backend}: loaded {n:,} values in {time.perf_counter() - t:.0f} s (not timed)"
                )
            names = ("city_year", "air_year", "water_year", "sources_year", "latest")
            results: dict[tuple[str, str], dict[str, Any]] = {}
            # Rounds alternate the trees and backends, so a load that comes and goes on a
            # shared machine falls on each of them; each figure is the best over the rounds.
            for _ in range(a.rounds):
                for tree in trees:
                    for backend, url in urls.items():
                        p = subprocess.run(
                            [sys.executable, __file__, "--child", url, tree, "--days",
                             str(a.days), "--repeat", str(a.repeat)],
                            capture_output=True, text=True, check=True,
                        )  # fmt: skip
                        got = json.loads(p.stdout.strip().splitlines()[-1])
                        best = results.setdefault((tree, backend), got)
                        for name in names:
                            best[name] = min(best[name], got[name])
            print(f"{'tree':<28} {'read':<13} {'DuckDB':>9} {'PostgreSQL':>11} {'PG/DuckDB':>9}")
            for tree in trees:
                for name in names:
                    d, p_ = results[(tree, "duckdb")][name], results[(tree, "postgresql")][name]
                    print(f"{tree:<28} {name:<13} {d:8.3f}s {p_:10.3f}s {p_ / d:8.1f}×")
            if len(trees) == 2:
                new, old = trees
                for backend in urls:
                    for name in names:
                        o, n_ = results[(old, backend)][name], results[(new, backend)][name]
                        line = f"old/new {backend:<10} {name:<12} {o:8.3f}s → {n_:8.3f}s"
                        print(f"{line}  {o / n_:5.1f}×")
        finally:
            from bishui.store import open_store

            s = open_store(PG_URL, schema=schema, migrate=False)
            s.drop_schema()  # type: ignore[attr-defined]
            s.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
