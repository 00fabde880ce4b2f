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
The loader generates each monthly slice of the history once (``site_columns``, numpy, the
values ``generate`` writes) and writes it N times — copy *k* with every site id suffixed
``~k``, values unchanged: PostgreSQL by binary ``COPY`` built with numpy into the partitioned
``measurement`` (the series layout formed once after the load by migration 4's own statement,
then ``VACUUM (ANALYZE)``), DuckDB by ``INSERT … SELECT`` from the registered arrays. Load
time and size (PostgreSQL: every table of the schema with its indexes; DuckDB: the file) are
printed; the PostgreSQL schema is dropped at the end.

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
from urllib.parse import parse_qs

PG_URL = os.environ.get("BISHUI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
START = dt.datetime(2025, 1, 1)


_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01, PostgreSQL's binary timestamp epoch, in µs


def model_slices(days: int) -> tuple[Any, list[Any]]:
    """The model city and its history's monthly slices, as ``generate`` cuts them."""
    import numpy as np

    from bishui.demo.city import build
    from bishui.demo.history import hour_range

    hours = hour_range(START, START + dt.timedelta(days=days))
    return build(), np.array_split(hours, max(1, round(len(hours) / (30 * 24))))


def slice_columns(model: Any, chunk: Any) -> dict[str, Any]:
    """Every site's values of one slice: exactly what ``generate`` writes for it."""
    import numpy as np

    from bishui.demo.history import site_columns

    batch = [site_columns(model, s.id, chunk)[0] for s in model.registry.sites]
    return {k: np.concatenate([b[k] for b in batch]) for k in batch[0]}


def copy_binary(cols: dict[str, Any]) -> bytes:
    """Measurement columns as PostgreSQL's binary ``COPY`` stream (header, one tuple a row,
    trailer), built column by column with numpy: no Python object per row. Text columns are
    coded to their distinct values and scattered as byte matrices; NaN, -1 and NaT are NULL
    (as ``_pg_value`` writes them)."""
    import numpy as np

    from bishui.store.base import MEASUREMENT_COLUMNS

    n = len(cols["site_id"])
    fields: list[tuple[Any, Any]] = []  # (bytes (n, width) uint8, length (n,) int64; -1 NULL)
    for c in MEASUREMENT_COLUMNS:
        v = cols[c]
        if c in ("value", "vmin", "vmax", "cou"):
            f = np.asarray(v, dtype=np.float64)
            fields.append((f.astype(">f8").view(np.uint8).reshape(n, 8),
                           np.where(np.isnan(f), -1, 8)))  # fmt: skip
        elif c == "n_valid":
            i = np.asarray(v, dtype=np.int64)
            fields.append((i.astype(">i4").view(np.uint8).reshape(n, 4), np.where(i < 0, -1, 4)))
        elif c in ("ts", "received_at"):
            t = np.asarray(v, dtype="datetime64[us]")
            us = t.astype(np.int64) - _PG_EPOCH_US
            fields.append((us.astype(">i8").view(np.uint8).reshape(n, 8),
                           np.where(np.isnat(t), -1, 8)))  # fmt: skip
        elif c == "valid":
            fields.append((np.asarray(v, dtype=np.uint8).reshape(n, 1), np.full(n, 1)))
        else:
            uniq, inv = np.unique(np.asarray(v, dtype=object).astype(str), return_inverse=True)
            enc = [u.encode() for u in uniq.tolist()]
            width = max(1, max(len(e) for e in enc))
            table = np.zeros((len(enc), width), np.uint8)
            for j, e in enumerate(enc):
                table[j, : len(e)] = np.frombuffer(e, np.uint8)
            fields.append((table[inv], np.array([len(e) for e in enc])[inv]))
    row = 2 + sum(4 + np.maximum(length, 0) for _, length in fields)
    start = np.zeros(n, np.int64)
    np.cumsum(row[:-1], out=start[1:])
    head = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
    buf = np.zeros(len(head) + int(row.sum()) + 2, np.uint8)
    buf[: len(head)] = np.frombuffer(head, np.uint8)
    pos = start + len(head)
    buf[pos + 1] = len(fields)  # the field count, int16 big-endian (< 256)
    pos = pos + 2
    for data, length in fields:
        lb = length.astype(">i4").view(np.uint8).reshape(n, 4)
        buf[pos[:, None] + np.arange(4)] = lb
        width = data.shape[1]
        at = pos[:, None] + 4 + np.arange(width)
        keep = np.arange(width) < length[:, None]
        buf[at[keep]] = data[keep]
        pos = pos + 4 + np.maximum(length, 0)
    buf[-2:] = 255  # trailer: -1
    return buf.tobytes()


def copies(cols: dict[str, Any], k: int) -> dict[str, Any]:
    """Copy *k* of a slice (k ≥ 1: every site id suffixed ``~k``, values unchanged)."""
    import numpy as np

    if k == 0:
        return cols
    uniq, inv = np.unique(cols["site_id"].astype(str), return_inverse=True)
    return {**cols, "site_id": np.array([f"{u}~{k}" for u in uniq], dtype=object)[inv]}


def bench_connection(url: str, autocommit: bool = False) -> Any:
    """A psycopg connection of the bench's own to the store's schema (``…?schema=NAME``):
    binary ``COPY`` and ``VACUUM`` are not on the store's public interface."""
    import psycopg

    base, _, query = url.partition("?")
    schema = parse_qs(query)["schema"][0]
    return psycopg.connect(base, options=f"-c search_path={schema}", autocommit=autocommit)


def load(url: str, days: int, scale: int = 1) -> dict[str, Any]:
    """The model city's sites (and their ``~k`` copies) and history in a fresh store: every
    slice generated once with numpy, written as *scale* copies — PostgreSQL by binary ``COPY``
    into the partitioned ``measurement`` (its triggers form the series layout), DuckDB by one
    ``INSERT … SELECT`` from the registered arrays. Returns counts and seconds."""
    from bishui.registry import apply
    from bishui.store import open_store
    from bishui.store.base import MEASUREMENT_COLUMNS
    from bishui.store.schema import statements

    store = open_store(url)
    out: dict[str, Any] = {"values": 0, "generate_s": 0.0, "write_s": 0.0}
    try:
        t0 = time.perf_counter()
        model, slices = model_slices(days)
        apply(store, model.registry)
        for k in range(1, scale):
            store.execute(
                "INSERT INTO sites (id, kind, name, region, lon, lat, enterprise, outlet, "
                "river, body, target_class, control, drinking_source, assessment, attrs) "
                "SELECT id || ?, kind, name || ?, region, lon, lat, enterprise, outlet, river, "
                "body, target_class, control, drinking_source, assessment, attrs FROM sites "
                "WHERE id NOT LIKE '%~%'",
                [f"~{k}", f"~{k}"],
            )
        pg = store.dialect == "postgresql"
        names = ", ".join(MEASUREMENT_COLUMNS)
        if pg:
            store.ensure_partitions(START, START + dt.timedelta(days=days))  # type: ignore[attr-defined]
            # a bulk load: the series layout is formed once after it (below) instead of by
            # the insert trigger statement by statement — the same rows (migration 4's own
            # statement for the values already stored), half the load's time
            store.execute("ALTER TABLE measurement DISABLE TRIGGER measurement_day_insert")
        else:
            from bishui.store.duckdb_backend import _SELECT

            select = ", ".join(_SELECT.get(c, c) for c in MEASUREMENT_COLUMNS)
            # the slices' landing table: the measurement columns, NaN kept until the INSERT
            store.execute(f"CREATE TABLE bench_slice AS SELECT {names} FROM measurement LIMIT 0")
        out["registry_s"] = time.perf_counter() - t0
        for chunk in slices:
            t = time.perf_counter()
            base = slice_columns(model, chunk)
            out["generate_s"] += time.perf_counter() - t
            for k in range(scale):
                t = time.perf_counter()
                cols = copies(base, k)
                if pg:  # one transaction a slice and copy, on the bench's own connection
                    data = copy_binary(cols)
                    with (
                        bench_connection(url) as con,
                        con.cursor() as cur,
                        cur.copy(f"COPY measurement ({names}) FROM STDIN (FORMAT BINARY)") as cp,
                    ):
                        for i in range(0, len(data), 1 << 24):
                            cp.write(memoryview(data)[i : i + (1 << 24)])
                else:  # the arrays through the public transaction, NaN → NULL in SQL
                    with store.transaction() as tx:
                        tx.insert_columns("bench_slice", cols)
                        tx.execute(
                            f"INSERT INTO measurement ({names}) SELECT {select} FROM bench_slice"
                        )
                        tx.execute("DELETE FROM bench_slice")
                out["write_s"] += time.perf_counter() - t
                out["values"] += len(cols["site_id"])
        t = time.perf_counter()
        if pg:
            store.execute(statements("postgresql", 4)[-1])
            store.execute("ALTER TABLE measurement ENABLE TRIGGER measurement_day_insert")
        out["layout_s"] = time.perf_counter() - t
        t = time.perf_counter()
        if pg:
            # what autovacuum would have done to a year of data: statistics and the visibility
            # map; and the partitioned parent, which autovacuum never analyses
            with bench_connection(url, autocommit=True) as con:  # VACUUM: no transaction
                con.execute("VACUUM (ANALYZE) measurement")
                con.execute("VACUUM (ANALYZE) measurement_day")
            out["size_bytes"] = int(store.query(
                "SELECT SUM(pg_total_relation_size(oid)) AS b FROM pg_class "
                "WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r'"
            )[0]["b"])  # fmt: skip
        else:
            store.execute("DROP TABLE bench_slice")
            store.execute("CHECKPOINT")
            out["size_bytes"] = Path(url.removeprefix("duckdb:///")).stat().st_size
        out["finish_s"] = time.perf_counter() - t
    finally:
        store.close()
    return out


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
    ap.add_argument(
        "--short", action="store_true", help="CI's quick form: 7 days, two copies, one repeat"
    )
    ap.add_argument("--child", nargs=2, metavar=("URL", "TREE"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.short:
        a.days, a.repeat, a.rounds, a.scale = 7, 1, 1, 2  # two copies: the copy path too
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
                got = load(url, a.days, a.scale)
                print(
                    f"{backend}: loaded {got['values']:,} values in "
                    f"{time.perf_counter() - t:.1f} s (registry {got['registry_s']:.1f} s, "
                    f"generating {got['generate_s']:.1f} s, writing {got['write_s']:.1f} s, "
                    f"series layout {got['layout_s']:.1f} s, "
                    f"{'VACUUM ANALYZE' if backend == 'postgresql' else 'CHECKPOINT'} "
                    f"{got['finish_s']:.1f} s); size {got['size_bytes'] / 2**20:,.0f} MiB",
                    flush=True,
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
