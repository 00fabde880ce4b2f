"""Detection and false-alarm rates of the checks on the model city's synthetic history.

The simulator (:mod:`bishui.demo.profiles`) records what it injected as ground truth
(``synthetic-events.json`` from :func:`bishui.demo.history.generate`). Each rule is scored
against the event kind it is meant to find:

==========================  =======  ===========================================================
event kind                  rule     a hit: a stored finding of the rule at that outlet (and
                                     pollutant, where the event names one) overlapping the span
==========================  =======  ===========================================================
``exceedance``              EXC
``fraud_under_limit``       STUCK    cement kiln held just under its limit
``fraud_dilution``          DILUTE   chemical plant blowing in air: O2 up, concentration down
``fraud_zero_flow``         ZFLOW    livestock farm reporting zero flow
``flatline``                FLAT     on pollutant channels (flow/O2 channels are not judged)
``maintenance``             CALSHARE a day with more than 3 h flagged M
==========================  =======  ===========================================================

A finding of a rule that overlaps no event of its kind is an *unexplained* finding; per
outlet-day it is the false-alarm rate. For EXC this counts real exceedances in the data that
the simulator did not label (its background noise crosses the limit at high-load outlets,
see docs/sources.md), so it is reported as such, not as the rule's error.

Run: ``python -m bishui.sources.evaluate --days 365`` (a fresh DuckDB file in a temporary
directory; prints the table docs/sources.md quotes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bishui.store import Store

#: event kind → (rule, whether the event's parameter must match the finding's pollutant)
MATCH = {
    "exceedance@source_gas": ("EXC", True),
    "exceedance@source_water": ("EXC", True),
    "fraud_under_limit": ("STUCK", True),
    "fraud_dilution": ("DILUTE", False),
    "fraud_zero_flow": ("ZFLOW", False),
    "flatline": ("FLAT", True),
    "maintenance": ("CALSHARE", False),
    # rules the simulator injects nothing for: every finding is unexplained
    "-": ("GAPX", False),
    "--": ("ZCONC", False),
    "---": ("RANGE", False),
    "----": ("TWIN", False),
    "-----": ("NOPERMIT", False),
}


def score(
    findings: Sequence[dict[str, Any]],
    events: Sequence[dict[str, Any]],
    start: dt.datetime,
    end: dt.datetime,
    outlet_days: int,
    pollutant_sites: dict[str, set[str]],
    site_kinds: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One row per event kind: events, detected, detection rate, unexplained findings and the
    unexplained (false-alarm) rate per outlet-day.

    *findings* are stored rows (``rule_id``, ``site_id``, ``pollutant``, ``start_ts``,
    ``end_ts``); *events* the ground truth; *pollutant_sites* maps a site to the pollutant
    channels the checks judge there (an event on another channel is not counted).
    """
    out = []
    kinds = site_kinds or {}
    for label, (rule, by_pollutant) in MATCH.items():
        kind, _, site_kind = label.partition("@")
        evs = [
            e for e in events
            if e["kind"] == kind and e["site_id"] in pollutant_sites
            and (not site_kind or kinds.get(e["site_id"]) == site_kind)
            and (not by_pollutant or e["parameter"] in pollutant_sites[e["site_id"]])
            and np.datetime64(e["end"]) > np.datetime64(start)
            and np.datetime64(e["start"]) < np.datetime64(end)
        ]  # fmt: skip
        fs = [f for f in findings if f["rule_id"] == rule
              and (not site_kind or kinds.get(f["site_id"]) == site_kind)]  # fmt: skip

        def overlaps(
            f: dict[str, Any], e: dict[str, Any], by_pollutant: bool = by_pollutant
        ) -> bool:
            return bool(
                f["site_id"] == e["site_id"]
                and (not by_pollutant or f["pollutant"] == e["parameter"])
                and np.datetime64(f["start_ts"]) < np.datetime64(e["end"])
                and np.datetime64(e["start"]) < np.datetime64(f["end_ts"])
            )

        detected = sum(1 for e in evs if any(overlaps(f, e) for f in fs))
        unexplained = sum(1 for f in fs if not any(overlaps(f, e) for e in evs))
        out.append({
            "kind": label if kind.strip("-") else "(none injected)", "rule": rule,
            "events": len(evs), "detected": detected,
            "detection": detected / len(evs) if evs else None, "findings": len(fs),
            "unexplained": unexplained, "per_outlet_day": unexplained / max(outlet_days, 1),
        })  # fmt: skip
    return out


def evaluate(
    store: Store, events: Sequence[dict[str, Any]], start: dt.datetime, end: dt.datetime
) -> list[dict[str, Any]]:
    """Score the findings stored for ``[start, end)`` against *events*."""
    rows = store.query(
        "SELECT rule_id, site_id, pollutant, start_ts, end_ts FROM source_finding "
        "WHERE start_ts < ? AND end_ts > ?",
        [end, start],
    )
    chans = store.query(
        "SELECT DISTINCT m.site_id, m.parameter FROM measurement m "
        "JOIN sites s ON s.id = m.site_id WHERE s.kind IN ('source_gas', 'source_water') "
        "AND m.period = 'hour' AND m.ts >= ? AND m.ts < ?",
        [start, end],
    )
    from bishui.sources import pollutants

    judged: dict[str, set[str]] = {}
    for c in chans:
        try:
            if pollutants.get(c["parameter"]).role == "pollutant":
                judged.setdefault(c["site_id"], set()).add(c["parameter"])
        except ValueError:
            continue
    days = (end - start).days
    kinds = {r["id"]: r["kind"] for r in store.query("SELECT id, kind FROM sites")}
    return score(rows, events, start, end, days * len(judged), judged, kinds)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--end", default="2026-11-22")
    ap.add_argument("--seed", type=int, default=20261122)
    a = ap.parse_args(argv)
    from bishui.demo import city, history
    from bishui.registry import apply
    from bishui.sources import service
    from bishui.sources.citydemo import load_demo_permits
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
