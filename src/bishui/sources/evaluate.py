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

Run on the model city: ``python -m bishui.demo.evaluate --days 365`` (the demo's harness; a
fresh DuckDB file in a temporary directory; prints the table docs/sources.md quotes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
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
