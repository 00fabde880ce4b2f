"""A year of compensation from the store: inputs from the data, statements, ledger.

    /work/venv/bin/python bench/bench_compensation_run.py [--short]

Loads the model city's air stations and water sections with synthetic hourly history (a year;
``--short``: one month) into a fresh DuckDB file, then times:

- ``inputs``: :func:`bishui.compensation.store_inputs.period_inputs` for every period of every
  agreement in the range (SQL read + air and water cores + evidence digests);
- ``run``: :func:`bishui.compensation.service.run` (the above, plus compute, store, post);
- ``rerun``: the same run again (every statement unchanged);

against a named baseline measured in the same run: **raw read**, the bare SQL read of the same
hourly rows (``query_columns`` of every point's sites and period), i.e. the floor any service
built on the store pays. The ratios are the figures to compare.
"""

from __future__ import annotations

import copy
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bishui.app import open_store
from bishui.compensation import service
from bishui.compensation.period import Period
from bishui.compensation.store_inputs import period_inputs
from bishui.demo import city, history
from bishui.registry import Registry, apply

SHORT = "--short" in sys.argv


def main() -> int:
    period = Period.parse("2026-07" if SHORT else "2026")
    start = dt.datetime.combine(period.start, dt.time())
    end = dt.datetime.combine(period.end, dt.time()) + dt.timedelta(days=1)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(str(Path(tmp) / "bench.duckdb"))
        model = city.build()
        sub = copy.copy(model)
        sub.registry = Registry(
            regions=list(model.registry.regions),
            sites=[s for s in model.registry.sites if s.kind in ("air", "water")],
        )
        apply(store, sub.registry)
        t = time.perf_counter()
        n = history.generate(store, sub, start, end)["values"]
        load = time.perf_counter() - t
        agreements = service.sync_agreements(store, by="bench")
        jobs: dict[Period, list] = {}  # type: ignore[type-arg]
        for a in agreements.values():
            for p in Period.in_year(a.period_kind, period.year):
                if p.within(period):
                    jobs.setdefault(p, []).append(a)

        t = time.perf_counter()
        rows = 0
        for p, ags in jobs.items():
            for a in ags:
                sites = list(a.point.ids)
                marks = ", ".join("?" for _ in sites)
                c = store.query_columns(
                    "SELECT site_id, parameter, ts, value, valid, flag, origin, source "
                    f"FROM measurement WHERE period = 'hour' AND site_id IN ({marks}) "
                    "AND ts >= ? AND ts < ?",
                    [
                        *sites,
                        dt.datetime.combine(p.start, dt.time()),
                        dt.datetime.combine(p.end, dt.time()) + dt.timedelta(days=1),
                    ],
                )
                rows += len(c.get("site_id", ()))
        raw = time.perf_counter() - t

        t = time.perf_counter()
        for p, ags in jobs.items():
            period_inputs(store, ags, p)
        inputs = time.perf_counter() - t

        t = time.perf_counter()
        items = service.run(store, period, agreements=agreements, by="bench")
        run = time.perf_counter() - t
        t = time.perf_counter()
        again = service.run(store, period, agreements=agreements, by="bench")
        rerun = time.perf_counter() - t
        assert {i.action for i in again} == {"unchanged"}
        store.close()
    print(
        f"period {period}: {n:,} hourly values loaded in {load:.1f} s; "
        f"{len(items)} statements; {rows:,} rows read per pass"
    )
    print(f"baseline raw read      {raw:7.3f} s")
    print(f"inputs (read + cores)  {inputs:7.3f} s  ({inputs / raw:.1f}× raw read)")
    print(f"run (inputs + store)   {run:7.3f} s  ({run / raw:.1f}× raw read)")
    print(f"rerun (unchanged)      {rerun:7.3f} s  ({rerun / raw:.1f}× raw read)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
