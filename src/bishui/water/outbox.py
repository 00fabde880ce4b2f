"""The drinking-water source alerts handed to enforcement (监察监测联动).

The supervision stores its alerts in ``water_alerts`` (:func:`bishui.water.supervision.run_alerts`);
this module is that table's outbox: :class:`WaterOutbox` states the alerts not routed yet
(``state = 'new'``) as enforcement's intake contract, :class:`~bishui.enforcement.intake.AlertIn`
(``subject_kind = 'water_source'``: the water site and its region, no enterprise), and marks
each ``routed`` with the id of the enforcement alert it became. Enforcement reads and marks
the outbox inside the one transaction in which it raises the alerts and tasks
(:func:`bishui.enforcement.water.route_alerts`), so a re-run routes nothing twice, and it never
reads this package's tables itself.

Which kinds are handed in, how old and how many at once, and at which severity (an
exceedance's 超标倍数 band) is enforcement's routing file
(:class:`~bishui.enforcement.water.WaterRouting`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from bishui.enforcement import notify
from bishui.enforcement.intake import WATER_SOURCE, AlertIn
from bishui.enforcement.policy import Policy
from bishui.enforcement.water import RouteReport, WaterRouting, load_routing, route_alerts
from bishui.store import Store, Transaction

_COLS = ("id", "source", "kind", "parameter", "ts", "value", "limit_value", "target_class",
         "evidence", "last_seen", "name", "region")  # fmt: skip
_SQL = """
SELECT a.id, a.source, a.kind, a.parameter, a.ts, a.value, a.limit_value, a.target_class,
       a.evidence, a.last_seen, s.name, s.region
FROM water_alerts a JOIN sites s ON s.id = a.source
WHERE a.state = 'new' AND a.last_seen >= ? AND a.kind IN ({kinds})
ORDER BY a.ts, a.id
LIMIT ?
"""


def _end(kind: str, ev: Mapping[str, Any], ts: dt.datetime, last_seen: dt.datetime) -> dt.datetime:
    """The end of the alert's episode when routed: its last exceeding reading, the gap's end;
    an open gap runs to when it was last seen; a trend is an instant."""
    end = ev.get("until") or ev.get("to")
    if end:
        try:
            return max(ts, dt.datetime.fromisoformat(str(end)))
        except ValueError:
            pass
    return max(ts, last_seen) if kind == "gap" else ts


def alert_in(r: Mapping[str, Any], routing: WaterRouting) -> AlertIn:
    """One ``water_alerts`` row (joined with its site's name and region) as an
    :class:`~bishui.enforcement.intake.AlertIn`. Its key is the water alert's (24 hex digits;
    findings' keys have 20, so the two never collide); the evidence stored with the enforcement
    alert is the water alert as it was routed."""
    ev = json.loads(r["evidence"]) if r["evidence"] else {}
    peak = ev.get("peak", r["value"])
    finding = {
        "water_alert": r["id"], "kind": r["kind"], "parameter": r["parameter"],
        "value": r["value"], "limit": r["limit_value"], "target_class": r["target_class"],
        "source_name": r["name"], "evidence": ev, "routing_version": routing.version,
    }  # fmt: skip
    return AlertIn(
        key=r["id"], rule_id=f"water.{r['kind']}",
        severity=routing.severity(r["kind"], r["limit_value"], peak), site_code=r["source"],
        pollutant=r["parameter"], start=r["ts"], end=_end(r["kind"], ev, r["ts"], r["last_seen"]),
        evidence=finding, subject_kind=WATER_SOURCE, region=r["region"], subject_name=r["name"],
    )  # fmt: skip


class WaterOutbox:
    """``water_alerts`` as an :class:`~bishui.enforcement.intake.Outbox`."""

    def __init__(self, routing: WaterRouting) -> None:
        self.routing = routing

    def pending(self, tx: Transaction, now: dt.datetime) -> Sequence[AlertIn]:
        kinds = [k for k, r in self.routing.kinds.items() if r.route]
        if not kinds:
            return []
        since = now - dt.timedelta(days=self.routing.max_age_days)
        sql = _SQL.format(kinds=", ".join("?" for _ in kinds))
        rows = tx.fetch(sql, [since, *kinds, self.routing.batch])
        return [alert_in(dict(zip(_COLS, r, strict=True)), self.routing) for r in rows]

    def mark(self, tx: Transaction, routed: Mapping[str, str]) -> None:
        if not routed:
            return
        ids = list(routed)
        marks = ", ".join("?" for _ in ids)
        tx.execute(
            f"UPDATE water_alerts SET state = 'routed', alert_id = id "  # noqa: S608
            f"WHERE state = 'new' AND id IN ({marks})",
            ids,
        )
        merged = [[target, w] for w, target in routed.items() if target != w]
        if merged:  # a continuation is routed to the alert it continued
            tx.execute_many("UPDATE water_alerts SET alert_id = ? WHERE id = ?", merged)


def route(
    store: Store,
    *,
    now: dt.datetime | None = None,
    routing: WaterRouting | None = None,
    policy: Policy | None = None,
    auto_assign: bool = True,
    sender: notify.Sender | None = None,
) -> RouteReport:
    """Route the open, unrouted ``water_alerts`` into enforcement alerts and tasks (idempotent;
    one transaction — :func:`bishui.enforcement.water.route_alerts`)."""
    routing = routing or load_routing()
    return route_alerts(store, WaterOutbox(routing), now=now, routing=routing, policy=policy,
                        auto_assign=auto_assign, sender=sender)  # fmt: skip


def refresh(store: Store, now: dt.datetime) -> None:
    """Runtime hook (registered by ``bishui.app.REFRESH``, after the water supervision's):
    route the source alerts it has just stored, so a new exceedance has its task within a
    minute."""
    route(store, now=now, sender=notify.LoggingSender())
