"""Detection and false-alarm rates of the source checks on the model city's synthetic history.

The scoring is :func:`bishui.sources.evaluate.evaluate`; this harness builds the model city,
generates its history with the ground truth the simulator injected, runs the checks and prints
the table docs/sources.md quotes.

Run: ``python -m bishui.demo.evaluate --days 365`` (a fresh DuckDB file in a temporary
directory).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bishui.sources.evaluate import evaluate


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--end", default="2026-11-22")
    ap.add_argument("--seed", type=int, default=20261122)
    a = ap.parse_args(argv)
    from bishui.demo import city, history
    from bishui.demo.city_permits import load_demo_permits
    from bishui.registry import apply
    from bishui.sources import service
    from bishui.store import open_store

    end = dt.datetime.fromisoformat(a.end)
    start = end - dt.timedelta(days=a.days)
    with tempfile.TemporaryDirectory() as d:
        store = open_store(Path(d) / "eval.duckdb")
        model = city.build(a.seed)
        apply(store, model.registry)
        load_demo_permits(store, model)
        ev_file = Path(d) / "synthetic-events.json"
        history.generate(store, model, start, end, events_file=ev_file)
        t0 = time.perf_counter()
        r = service.run_checks(store, start, end, now=end)
        secs = time.perf_counter() - t0
        rows = evaluate(store, json.loads(ev_file.read_text("utf-8")), start, end)
        store.close()
    print(f"model city seed {a.seed}, {start:%Y-%m-%d} → {end:%Y-%m-%d}: {r.outlets} outlets, "
          f"{len(r.findings)} findings, {r.alerts} alerts, {len(r.tasks)} tasks, "
          f"{secs:.1f} s")  # fmt: skip
    print("| event kind | rule | events | detected | detection | findings | unexplained | "
          "per outlet-day |")  # fmt: skip
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for x in rows:
        det = "—" if x["detection"] is None else f"{x['detection']:.0%}"
        print(f"| {x['kind']} | {x['rule']} | {x['events']} | {x['detected']} | {det} | "
              f"{x['findings']} | {x['unexplained']} | {x['per_outlet_day']:.4f} |")  # fmt: skip
    from collections import Counter

    print("findings by rule:", dict(Counter(f.rule_id for f in r.findings)))
    caps = [f for f in r.findings if f.rule_id == "CAP"]
    for f in caps:
        print("CAP", f.outlet.site_code, f.pollutant, f.measured["level"], f.end.date())


if __name__ == "__main__":
    main()
