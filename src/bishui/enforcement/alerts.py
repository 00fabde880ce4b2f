"""Findings become alerts; alerts open tasks.

An alert is one finding as the bureau sees it, deduplicated by the finding's key (the same
event found by two runs is one alert). Alerts of the same site and day can be grouped into one
task (:func:`open_task`). Alert states: ``new`` → ``tasked`` | ``dismissed``.

An alert's subject is an outlet (from a finding) or a drinking-water source
(``subject_kind="water_source"``, routed by :mod:`bishui.enforcement.water`: ``site_code`` is
the water site, ``uscc`` and ``outlet_id`` are empty).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bishui.enforcement.audit import AuditLog
from bishui.enforcement.intake import AlertIn, AlertProducer, coerce
from bishui.enforcement.policy import Policy
from bishui.enforcement.tasks import ENTERPRISE_KINDS, OUTLET, Actor, Task, new_task
from bishui.errors import ConflictError, InputError

SEVERITY_ORDER = {"info": 0, "low": 1, "medium": 2, "high": 3}


class AlertState(StrEnum):
    NEW = "new"
    TASKED = "tasked"
    DISMISSED = "dismissed"


@dataclass(frozen=True)
class Alert:
    id: str  # the finding key
    rule_id: str
    severity: str
    site_code: str
    outlet_id: str
    pollutant: str
    start: dt.datetime
    end: dt.datetime
    uscc: str
    created: dt.datetime
    finding: Mapping[str, Any]
    state: AlertState = AlertState.NEW
    task_id: str = ""
    subject_kind: str = OUTLET

    @property
    def subject(self) -> str:
        return f"alert:{self.id}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the API."""
        return {
            "id": self.id, "rule_id": self.rule_id, "severity": self.severity,
            "site_code": self.site_code, "outlet_id": self.outlet_id, "pollutant": self.pollutant,
            "start": self.start.isoformat(), "end": self.end.isoformat(), "uscc": self.uscc,
            "created": self.created.isoformat(), "state": str(self.state),
            "task_id": self.task_id, "finding": dict(self.finding),
            "subject_kind": self.subject_kind,
        }  # fmt: skip


def alerts_from_findings(
    findings: Iterable[AlertIn | AlertProducer], known: Iterable[str], now: dt.datetime,
    log: AuditLog, actor: Actor, min_severity: str = "low",
) -> list[Alert]:  # fmt: skip
    """New alerts for the handed-in alerts (:class:`~bishui.enforcement.intake.AlertIn`, or
    producers of one such as a source-check finding) whose key is not in *known* and whose
    severity is at least *min_severity*."""
    seen = set(known)
    floor = SEVERITY_ORDER[min_severity]
    out = []
    for f in map(coerce, findings):
        if f.key in seen or SEVERITY_ORDER.get(f.severity, 0) < floor:
            continue
        seen.add(f.key)
        a = Alert(f.key, f.rule_id, f.severity, f.site_code, f.outlet_id, f.pollutant, f.start,
                  f.end, f.uscc, now, f.evidence, subject_kind=f.subject_kind)  # fmt: skip
        log.append(now, actor.id, actor.role, a.subject, "create", "", a.state,
                   {"rule_id": a.rule_id, "severity": a.severity, "site_code": a.site_code,
                    "outlet_id": a.outlet_id, "pollutant": a.pollutant})  # fmt: skip
        out.append(a)
    return out


def open_task(
    task_id: str, alerts: Iterable[Alert], now: dt.datetime, policy: Policy, log: AuditLog,
    actor: Actor, title: str = "",
) -> tuple[Task, list[Alert]]:  # fmt: skip
    """One task for *alerts* of one site (its severity is the highest of theirs)."""
    items = list(alerts)
    if not items:
        raise InputError("alerts", "at least one alert", [])
    sites = {(a.subject_kind, a.site_code) for a in items}
    if len(sites) != 1:
        raise InputError("alerts", "alerts of one site per task", sorted(sites))
    for a in items:
        if a.state is not AlertState.NEW:
            raise ConflictError(f"alert {a.id}: already {a.state}")
    severity = max((a.severity for a in items), key=lambda s: SEVERITY_ORDER[s])
    rules = sorted({a.rule_id for a in items})
    article = next(
        (policy.rule_articles[r] for r in rules if r in policy.rule_articles),
        policy.subject_articles.get(items[0].subject_kind, ""),
    )
    task = new_task(task_id, [a.id for a in items], items[0].uscc, items[0].site_code, severity,
                    title or f"{items[0].site_code}: {', '.join(rules)}", now, policy, log, actor,
                    suggested_article=article, subject_kind=items[0].subject_kind)  # fmt: skip
    tasked = []
    for a in items:
        log.append(now, actor.id, actor.role, a.subject, "task", a.state, AlertState.TASKED,
                   {"task_id": task_id})  # fmt: skip
        tasked.append(dataclasses.replace(a, state=AlertState.TASKED, task_id=task_id))
    return task, tasked


def dismiss(alert: Alert, reason: str, now: dt.datetime, log: AuditLog, actor: Actor) -> Alert:
    """Dismiss a new alert without a task (reason required)."""
    if alert.state is not AlertState.NEW:
        raise ConflictError(f"alert {alert.id}: dismiss from {alert.state} refused")
    if not reason.strip():
        raise InputError("reason", "a dismissal states its reason", reason)
    log.append(now, actor.id, actor.role, alert.subject, "dismiss", alert.state,
               AlertState.DISMISSED, {"reason": reason})  # fmt: skip
    return dataclasses.replace(alert, state=AlertState.DISMISSED)


def visible_to(actor: Actor, alerts: Iterable[Alert]) -> list[Alert]:
    """Alerts an actor may see: an enterprise sees its own outlets' only."""
    if actor.role == "enterprise":
        mine = actor.uscc
        return [a for a in alerts if a.subject_kind in ENTERPRISE_KINDS and mine and a.uscc == mine]
    return list(alerts)
