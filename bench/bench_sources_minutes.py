"""Benchmark: the source checks over a year of **minute** data for 1,000 outlets, from the store.

This is issue 6's benchmark. The data are those of ``bench_sources_checks.py`` (the pure-core
benchmark): ``sources.synthetic.clean`` blocks of 20 flue-gas outlets × 365 days of SO2, O2 and
flow minutes with HJ 212 flags (a daily 10-minute calibration, flag C), one injected exceedance
and one flat line per block, every outlet with a permit (SO2 200 mg/m³ at 6 % O2, GB 13223-2011
Table 1; 150 t/a) — here written to a fresh DuckDB store first, as the loggers would have
delivered them: 1,000 × 525,600 minutes × 3 channels = 1,576,800,000 measurement rows.

Measured, in one run, on the same store:

* **bishui checks** — the service's own path (:func:`bishui.sources.service._run_block` per
  block of ``--block`` outlets, each one SQL read laid onto grids, then every rule: HOUR, O2REF,
  EXC hour and day, DAY, MASS, NOPERMIT, FLAT, STUCK, ZFLOW, ZCONC, DILUTE, CALSHARE, GAPX,
  RANGE; TWIN pooled at the end), nothing stored: wall time, rows/s, the process's peak RSS
  and the peak Python/numpy allocation of one block (tracemalloc, a separate untimed pass);
* **bishui run_checks** (``--run-checks``): the whole service run, findings and daily masses
  stored, CAP from the stored masses;
* **baseline, per-row** — the straightforward implementation, on ``--baseline-outlets``
  outlets of the same store (a full year each): the rows read outlet by outlet in time order
  (``Store.query``), laid into per-minute lists by a Python loop, then the per-row core subset
  of ``bench_sources_checks.per_row`` (hourly means with the 45-minute rule, O2 conversion,
  hourly exceedance events, hourly mass, flat-line runs). Set against the vectorised path doing
  the same subset on the same outlets (read with ``load_grids``); the results are asserted
  equal, and the per-row time is scaled linearly to ``--outlets``.

Every injected episode must be found (asserted). The store is built by SQL from numpy blocks
(one ``INSERT … SELECT`` per block, text columns made in SQL) — building is timed apart.

    /work/venv/bin/python bench/bench_sources_minutes.py [--short] [--outlets N] [--days D]
        [--db PATH [--build | --build-only]]   # an existing --db is reused unless --build
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import math
import re
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sources_checks import LIMIT, REF_O2, make_permits, per_row
from bishui.app import open_store
from bishui.sources import averaging, conversion, exceedance, fraud, quantity, service, synthetic
from bishui.sources import flags as fl
from bishui.sources.permit_store import load_permits, record_permits
from bishui.sources.rules import load_ruleset
from bishui.sources.store_data import load_grids, outlet_sites
from bishui.store import Store

START = dt.datetime(2026, 1, 1)
CHUNK = 20  # outlets per generated block, as in bench_sources_checks.py
CODES = ("a21026", "a19001", "a00000")  # SO2, O2, flow


def site_id(i: int) -> str:
    return f"B{i:05d}-DA001"


def episodes(b: synthetic.Block) -> None:
    """The episodes of bench_sources_checks.py, per block (row 0: exceedance, flat line)."""
    synthetic.inject_exceedance(b, 0, 1440 + 600, 180, 400.0)
    synthetic.inject_flatline(b, 0, 3 * 1440, 90, 70.0)


def build(store: Store, n: int, days: int) -> int:
    """Registry, permits and minute data for *n* outlets; returns the rows written."""
    permits, _ = make_permits(n)
    store.upsert("regions", [{"code": "420800", "name": "荆门市", "kind": "city",
                              "central": False}])  # fmt: skip
    store.upsert("enterprises", [{"uscc": p.uscc, "name": p.enterprise, "industry": "bench",
                                  "region": "420800", "key_unit": True}
                                 for p in permits])  # fmt: skip
    store.upsert("sites", [{"id": site_id(i), "kind": "source_gas", "name": site_id(i),
                            "region": "420800", "enterprise": p.uscc, "outlet": "DA001",
                            "drinking_source": False, "assessment": False}
                           for i, p in enumerate(permits)])  # fmt: skip
    # One logger per outlet: flow registered in m³/h (as the synthetic data are), SO2 with
    # the analyser's range so RANGE has something to judge against.
    store.upsert("devices", [{"mn": f"BENCH{i:09d}", "site_id": site_id(i), "pw": "123456",
                              "st": "31", "edition": "2017", "crc_policy": "strict",
                              "active": True} for i in range(n)])  # fmt: skip
    store.upsert("device_parameters",
                 [{"mn": f"BENCH{i:09d}", "parameter": c, "unit": u, "range_min": 0.0,
                   "range_max": r} for i in range(n)
                  for c, u, r in (("a21026", "mg/m3", 2000.0), ("a19001", "%", 25.0),
                                  ("a00000", "m³/h", 2e6))])  # fmt: skip
    record_permits(store, permits)
    rows = 0
    chars = np.array(list(fl.FLAG_CHARS))
    for c0 in range(0, n, CHUNK):
        k = min(CHUNK, n - c0)
        b = synthetic.clean(k, days, seed=c0, level=80.0)
        episodes(b)
        vals = np.stack([b.conc, b.o2, b.flow])  # (code, outlet, minute)
        flgs = np.stack([b.conc_flags, b.o2_flags, b.flow_flags])
        code_i, row_i, minute = (a.ravel() for a in np.indices(vals.shape, dtype=np.int32))
        keep = flgs.ravel() != fl.MISSING  # no record where nothing came
        # Sorted by outlet, then channel, then time: the order a store fills in, which keeps
        # each row group to one or two outlets (DuckDB's zone maps then skip the others).
        order = np.lexsort((minute[keep], code_i[keep], row_i[keep]))
        batch = {
            "row_i": (row_i[keep][order] + c0).astype(np.int32),
            "code_i": code_i[keep][order],
            "minute": minute[keep][order].astype(np.int64),
            "value": vals.ravel()[keep][order],
            "flag": chars[flgs.ravel()[keep][order]].astype(object),
        }
        del vals, flgs, code_i, row_i, minute, keep, order
        t0 = np.datetime64(START, "us").astype(np.int64)
        # Bench loader, through the public store API: the block's numpy columns into a
        # staging table in bulk (Transaction.insert_columns), then one statement makes the
        # text columns in SQL (31 M Python strings a block would not fit in memory).
        with store.transaction() as tx:
            tx.execute(
                "CREATE TEMP TABLE bench_stage (row_i INTEGER, code_i INTEGER, minute BIGINT, "
                "value DOUBLE, flag VARCHAR)"
            )
            tx.insert_columns("bench_stage", batch)
            tx.execute(
                "INSERT INTO measurement (site_id, parameter, period, ts, origin, value, "
                "flag, valid, source, received_at) SELECT "
                "printf('B%05d-DA001', row_i), "
                "(['a21026', 'a19001', 'a00000'])[code_i + 1], 'min', "
                "make_timestamp(? + minute * 60000000), 'logger', "
                "NULLIF(value, 'NaN'::DOUBLE), flag, flag = 'N', 'bench', "
                "make_timestamp(? + minute * 60000000) "
                "FROM bench_stage",
                [int(t0), int(t0)],
            )
            tx.execute("DROP TABLE bench_stage")
        rows += len(batch["value"])
        del batch, b
        if c0 // CHUNK % 10 == 9:
            print(f"  … {c0 + k} outlets stored, {rows:,} rows", flush=True)
    return rows


def checks(store: Store, days: int, block: int, limit: int | None = None) -> list[Any]:
    """The read and every rule of :func:`service.run_checks` on minutes, nothing stored."""
    rules = load_ruleset()
    opts = service.CheckOptions(raise_alerts=False, block_outlets_min=block)
    permits = load_permits(store)
    sites = outlet_sites(store, permits)[:limit]
    pool = service._Pool()
    found: list[Any] = []
    for i in range(0, len(sites), block):
        found += service._run_block(store, rules, permits, sites[i : i + block], "min", START,
                                    days, opts, pool)  # fmt: skip
    for (_, pol), items in pool.twins.items():
        found += fraud.check_twins(rules, [r for r, _ in items], pol, START,
                                   np.stack([x for _, x in items]))  # fmt: skip
    return found


def baseline_rows(store: Store, sid: str, days: int) -> list[list[Any]]:
    """The straightforward read: an outlet's rows in time order, laid into per-minute lists."""
    m = days * 1440
    conc, o2, flow = [math.nan] * m, [math.nan] * m, [math.nan] * m
    cf, of, qf = [fl.MISSING] * m, [fl.MISSING] * m, [fl.MISSING] * m
    slots = {"a21026": (conc, cf), "a19001": (o2, of), "a00000": (flow, qf)}
    rows = store.query(
        "SELECT parameter, ts, value, flag FROM measurement WHERE site_id = ? AND period = 'min' "
        "AND ts >= ? AND ts < ? ORDER BY ts, parameter",
        [sid, START, START + dt.timedelta(days=days)],
    )
    for r in rows:
        k = int((r["ts"] - START).total_seconds()) // 60
        vs, fs = slots[r["parameter"]]
        vs[k] = math.nan if r["value"] is None else r["value"]
        fs[k] = fl.FLAG_CHARS.index(r["flag"]) if r["flag"] else fl.MISSING
    return [[conc], [cf], [o2], [of], [flow], [qf]]


def vectorised_subset(store: Store, ids: list[str], days: int) -> tuple[int, float, int]:
    """The per-row subset, vectorised, from the store (as bench_sources_checks.py)."""
    g = load_grids(store, ids, "min", START, days, {(s, "a00000"): "m³/h" for s in ids})
    c, cf = g.values["a21026"], g.flags["a21026"]
    hc = averaging.hourly(c, cf)
    ho = averaging.hourly(g.values["a19001"], g.flags["a19001"])
    hq = averaging.hourly(g.values["a00000"], g.flags["a00000"])
    conv = conversion.reference_o2(hc.mean, ho.mean, REF_O2)
    ev = exceedance.events(conv, np.full(conv.shape, LIMIT))
    mass = float(np.nansum(quantity.hourly_mass_t(hc.mean, hq.mean, "air")))
    flats = len(fraud.flatline(c, cf, load_ruleset()["FLAT"])[0])
    return len(ev.row), mass, flats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true", help="8 outlets × 7 days (CI)")
    ap.add_argument("--outlets", type=int, default=1000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--block", type=int, default=service.CheckOptions().block_outlets_min)
    ap.add_argument("--baseline-outlets", type=int, default=5)
    ap.add_argument("--run-checks", action="store_true", help="also time service.run_checks")
    ap.add_argument("--db", type=Path, help="DuckDB file (default: a temporary one)")
    ap.add_argument("--build", action="store_true", help="build --db even if it exists")
    ap.add_argument("--build-only", action="store_true", help="build --db, measure nothing")
    ap.add_argument("--duckdb-memory", help="DuckDB memory_limit, e.g. 1GB (default: DuckDB's)")
    a = ap.parse_args()
    n, days = (8, 7) if a.short else (a.outlets, a.days)
    k_base = 1 if a.short else min(a.baseline_outlets, n)
    with tempfile.TemporaryDirectory() as tmp:
        path = a.db or Path(tmp) / "bench.duckdb"
        fresh = a.build or not path.exists()
        if fresh and path.exists():
            path.unlink()
        store = open_store(path)
        if a.duckdb_memory:  # DuckDB caches the file's blocks up to its limit (80 % of RAM)
            if not re.fullmatch(r"\d+(\.\d+)?\s?[KMGT]i?B", a.duckdb_memory):
                ap.error(f"--duckdb-memory: a size like 1GB, not {a.duckdb_memory!r}")
            store.execute(f"SET memory_limit = '{a.duckdb_memory}'")  # checked just above
        if fresh:
            t = time.perf_counter()
            rows = build(store, n, days)
            print(f"store: {n} outlets × {days} days of minutes × 3 channels = {rows:,} rows, "
                  f"built in {time.perf_counter() - t:.0f} s ({path})")  # fmt: skip
        else:
            rows = store.query("SELECT COUNT(*) AS n FROM measurement")[0]["n"]
            print(f"store: {path}, {rows:,} rows (reused)")
        if a.build_only:
            store.close()
            return

        t = time.perf_counter()
        found = checks(store, days, a.block)
        t_chk = time.perf_counter() - t
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        by_rule = collections.Counter(f.rule_id for f in found)
        # Every injected episode is found: row 0 of each block.
        heads = {p.site_code for p in make_permits(n)[0][::CHUNK]}
        for rule in ("EXC", "FLAT"):
            hit = {f.outlet.site_code for f in found if f.rule_id == rule}
            assert heads <= hit, f"{rule} missed {sorted(heads - hit)[:3]}"

        tracemalloc.start()
        checks(store, days, a.block, limit=a.block)
        peak_block = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()

        t_run = math.nan
        if a.run_checks or a.short:
            opts = service.CheckOptions(raise_alerts=False, block_outlets_min=a.block)
            t = time.perf_counter()
            end = START + dt.timedelta(days=days)
            report = service.run_checks(store, START, end, options=opts, now=end)
            t_run = time.perf_counter() - t
            by_run = collections.Counter(f.rule_id for f in report.findings)
            print(f"run_checks: {len(report.findings)} findings "
                  f"({', '.join(f'{r} {c}' for r, c in sorted(by_run.items()))})")  # fmt: skip

        # Baseline and the same subset vectorised, on the first k outlets (best of 2 / 3 runs).
        ids = [site_id(i) for i in range(k_base)]
        t_row = math.inf
        for _ in range(2):
            t = time.perf_counter()
            base = [0, 0.0, 0]
            for sid in ids:
                ev, mass, flats = per_row(*baseline_rows(store, sid, days))
                base = [base[0] + ev, base[1] + mass, base[2] + flats]
            t_row = min(t_row, time.perf_counter() - t)
        t_vec = math.inf
        for _ in range(3):
            t = time.perf_counter()
            vec = vectorised_subset(store, ids, days)
            t_vec = min(t_vec, time.perf_counter() - t)
        assert base[0] == vec[0] and base[2] == vec[2], (base, vec)
        assert math.isclose(base[1], vec[1], rel_tol=1e-9), (base, vec)
        store.close()

    scale = n / k_base
    counts = ", ".join(f"{r} {c}" for r, c in sorted(by_rule.items()))
    print(f"bishui checks, read + all rules : {t_chk:8.1f} s  {rows / t_chk / 1e6:5.2f} M rows/s"
          f"  peak RSS {rss:,.0f} MiB, one block's allocations {peak_block:,.0f} MiB")  # fmt: skip
    print(f"  findings {len(found)}: {counts}")
    if not math.isnan(t_run):
        print(f"bishui run_checks, stored + CAP : {t_run:8.1f} s")
    print(f"subset on {k_base} outlet(s) × {days} days: per-row {t_row:.2f} s, vectorised "
          f"{t_vec:.2f} s ({t_row / t_vec:.1f}×); results equal")  # fmt: skip
    print(f"per-row subset scaled to {n} outlets: about {t_row * scale:,.0f} s "
          f"= {t_row * scale / t_chk:.1f}× bishui's all-rules time")  # fmt: skip


if __name__ == "__main__":
    main()
