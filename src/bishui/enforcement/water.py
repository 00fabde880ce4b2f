"""Drinking-water source alerts into the enforcement loop (监察监测联动).

The water engine stores its source alerts in its own table and hands them in through an
:class:`~bishui.enforcement.intake.Outbox` (:class:`bishui.water.outbox.WaterOutbox`): the
pending alerts as :class:`~bishui.enforcement.intake.AlertIn` values
(``subject_kind = 'water_source'``: the water site and its region, no enterprise).
:func:`route_alerts` raises one enforcement alert for each, opens inspection tasks per
:data:`~bishui.enforcement.tasks.WATER_SOURCE` rules and tells the outbox which enforcement
alert each water alert became — all in one transaction, so a re-run routes nothing twice, and
a water alert that keeps being seen stays one alert. Enforcement reads none of the water
package's tables.

Which kinds become alerts and tasks, and at which severity, is the routing file
(``data/water_routing_2026.11-1.toml``, :class:`WaterRouting`): by default an exceedance opens
a task, a trend or a gap raises an alert only. The enforcement alert's id is the water alert's
key (24 hex digits; findings' keys have 20, so the two never collide). The water side states
each alert's severity from this file (:meth:`WaterRouting.severity`, the 超标倍数 bands).

Episodes: a water alert whose source, kind and parameter already have a **live** enforcement
alert (not dismissed, its task — if any — not closed) that ended at most ``merge_hours``
before it continues that alert instead of raising another: the water alert is marked routed
with that alert's id, the alert's end moves on, and the log records a ``merge`` event. The
water engine raises a trend each time its condition starts again, so a source hovering near a
limit would otherwise fill the inbox with one alert per crossing; this keeps one alert per
episode, as the outlet findings' event merging does.

Tasks: one per source and run; while a source has a live (not closed) water task, the new
alerts that would open a task join it instead (the alert's ``task`` event names it, with
``joined``): the inspection of a source is one piece of work however many episodes its
readings show. The task is auto-assigned to the region's inspection team, as outlet tasks are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bishui.enforcement import alerts as al
from bishui.enforcement import delivery, intake, notify
from bishui.enforcement import service as svc
from bishui.enforcement import tasks as tk
from bishui.enforcement.policy import read_toml
from bishui.errors import ConfigError
from bishui.store import Store, Transaction

DEFAULT_FILE = "water_routing_2026.11-1.toml"
KINDS = ("exceedance", "trend", "gap")
KIND_ZH = {"exceedance": "超标", "trend": "趋势预警", "gap": "数据缺失"}


@dataclass(frozen=True)
class KindRule:
    """How one alert kind is routed (see the routing file)."""

    route: bool
    task: bool
    severity: str
    multiple: tuple[tuple[float, str], ...] = ()  # (threshold, severity), ascending


@dataclass(frozen=True)
class WaterRouting:
    version: str
    max_age_days: float
    batch: int
    merge_hours: float = 72.0
    kinds: Mapping[str, KindRule] = field(default_factory=dict)

    def severity(self, kind: str, limit: float | None, peak: float | None) -> str:
        """The enforcement severity of a water alert.

        An exceedance of an upper limit takes the band of its 超标倍数 (peak / limit − 1,
        环办〔2011〕22号); DO (a minimum) and pH (a range) have none and take the kind's
        ``severity``, as does every other kind.
        """
        rule = self.kinds[kind]
        if rule.multiple and limit is not None and limit > 0 and peak is not None and peak > limit:
            m = peak / limit - 1.0
            chosen = rule.severity
            for threshold, sev in rule.multiple:
                if m >= threshold:
                    chosen = sev
            return chosen
        return rule.severity


def parse_routing(doc: Mapping[str, Any]) -> WaterRouting:
    """A :class:`WaterRouting` from its TOML document (refused whole if anything is off)."""
    try:
        version = str(doc["meta"]["version"])
        r = doc["routing"]
        max_age, batch = float(r["max_age_days"]), int(r["batch"])
        merge = float(r.get("merge_hours", 72.0))
        kinds: dict[str, KindRule] = {}
        for kind in KINDS:
            k = doc["kinds"][kind]
            bands = sorted((float(t), str(s)) for t, s in dict(k.get("multiple", {})).items())
            kinds[kind] = KindRule(bool(k["route"]), bool(k["task"]), str(k["severity"]),
                                   tuple(bands))  # fmt: skip
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError("water_routing", f"malformed routing document: {e!r}", None) from None
    unknown = sorted(set(doc["kinds"]) - set(KINDS))
    if unknown:
        raise ConfigError("kinds", "one of " + ", ".join(KINDS), unknown)
    if not 0 < max_age <= 366:
        raise ConfigError("routing.max_age_days", "0 < days ≤ 366", max_age)
    if not 1 <= batch <= 100_000:
        raise ConfigError("routing.batch", "1 ≤ batch ≤ 100000", batch)
    if not 0 <= merge <= 24 * 366:
        raise ConfigError("routing.merge_hours", "0 ≤ hours ≤ 8784 (0: never merge)", merge)
    for kind, rule in kinds.items():
        for sev in (rule.severity, *(s for _, s in rule.multiple)):
            if sev not in al.SEVERITY_ORDER:
                raise ConfigError(f"kinds.{kind}.severity", "info, low, medium or high", sev)
        if any(t < 0 for t, _ in rule.multiple):
            raise ConfigError(f"kinds.{kind}.multiple", "thresholds ≥ 0", list(rule.multiple))
        if rule.task and not rule.route:
            raise ConfigError(f"kinds.{kind}.task", "a kind that is not routed opens no task", True)
    return WaterRouting(version, max_age, batch, merge_hours=merge, kinds=kinds)


def load_routing(path: str | Path | None = None) -> WaterRouting:
    """The packaged routing file, or a bureau's own."""
    return parse_routing(read_toml("water_routing", DEFAULT_FILE, path))


@dataclass(frozen=True)
class RouteReport:
    """What one :func:`route` run did: the alerts raised, tasks opened, alerts that joined a
    live task, water alerts marked routed (with an alert raised by an earlier run), and water
    alerts that continued a live alert (``merged``)."""

    alerts: list[al.Alert]
    tasks: list[tk.Task]
    joined: int
    routed: int
    merged: int = 0


def _title(name: str, source: str, items: list[al.Alert]) -> str:
    def parameter_name(code: str) -> str:
        return intake.label(tk.WATER_SOURCE, code)  # the water package's names

    what = sorted(
        {f"{KIND_ZH.get(_kind(a.rule_id), _kind(a.rule_id))} "
         f"{parameter_name(a.pollutant) if a.pollutant != '*' else '全部项目'}" for a in items}
    )  # fmt: skip
    return f"{name}（{source}）饮用水水源地预警：{'、'.join(what)}"


def route_alerts(
    store: Store,
    outbox: intake.Outbox,
    *,
    now: dt.datetime | None = None,
    routing: WaterRouting | None = None,
    policy: svc.PolicyArg = None,
    auto_assign: bool = True,
    sender: notify.Sender | None = None,
) -> RouteReport:
    """Enforcement's intake of drinking-water source alerts: the *outbox*'s pending
    :class:`~bishui.enforcement.intake.AlertIn` values (``subject_kind = 'water_source'``,
    ``rule_id = 'water.<kind>'``, keyed by the water alert's id) become enforcement alerts and
    tasks, and the outbox is told which alert each entered as (idempotent).

    Everything — reading the outbox, audit events, alert and task snapshots, notifications and
    the outbox's marks — happens in one transaction under the store's write lock, so two runs
    cannot route one alert twice. Notifications are sent after it commits.
    """
    routing = routing or load_routing()
    at = svc._now(now)
    policy = svc.policy_for_new(policy, at)  # new tasks: the version in force now
    if not any(r.route for r in routing.kinds.values()):
        return RouteReport([], [], 0, 0)
    with store.transaction() as tx:
        handed = list(outbox.pending(tx, at))
        if not handed:
            return RouteReport([], [], 0, 0)
        ids = [h.key for h in handed]
        marks = ", ".join("?" for _ in ids)
        # An enforcement alert already raised for a water alert (its state reset by hand, or a
        # run that failed after the insert) is not raised again: only marked.
        sql = f"SELECT id FROM enforcement_alert WHERE id IN ({marks})"  # noqa: S608
        known = {r[0] for r in tx.fetch(sql, ids)}
        log = svc._TailLog(svc._last_event(tx))
        live = _live_alerts(tx, sorted({h.site_code for h in handed}))
        window = dt.timedelta(hours=routing.merge_hours)
        merged_into: dict[str, str] = {}  # water alert → the live alert it continued
        extended: dict[str, dt.datetime] = {}  # stored alert → its new end
        regions: dict[str, str | None] = {}
        names_by_site: dict[str, str] = {}
        final: dict[str, al.Alert] = {}
        for h in handed:
            if h.key in known:
                continue
            key = (h.site_code, h.rule_id, h.pollutant)
            hit = live.get(key)
            if hit is not None and routing.merge_hours > 0 and h.start - hit[1] <= window:
                target, prev_end, state = hit
                new_end = max(prev_end, h.end)
                log.append(at, svc.SYSTEM.id, svc.SYSTEM.role, f"alert:{target}", "merge",
                           state, state, {"water_alert": h.key, "start": h.start,
                                          "end": new_end})  # fmt: skip
                merged_into[h.key] = target
                live[key] = (target, new_end, state)
                if target in final:
                    final[target] = dataclasses.replace(final[target], end=new_end)
                else:
                    extended[target] = new_end
                continue
            regions[h.site_code] = h.region
            names_by_site[h.site_code] = h.subject_name
            a = al.Alert(
                id=h.key, rule_id=h.rule_id, severity=h.severity, site_code=h.site_code,
                outlet_id="", pollutant=h.pollutant, start=h.start, end=h.end, uscc="",
                created=at, finding=dict(h.evidence), subject_kind=tk.WATER_SOURCE,
            )  # fmt: skip
            log.append(at, svc.SYSTEM.id, svc.SYSTEM.role, a.subject, "create", "", a.state,
                       {"rule_id": a.rule_id, "severity": a.severity, "site_code": a.site_code,
                        "pollutant": a.pollutant, "subject_kind": a.subject_kind,
                        "water_alert": h.key})  # fmt: skip
            final[a.id] = a
            live[key] = (a.id, h.end, str(a.state))
        by_site: dict[str, list[al.Alert]] = {}
        for a in final.values():
            if routing.kinds[_kind(a.rule_id)].task:
                by_site.setdefault(a.site_code, []).append(a)
        opened: list[tk.Task] = []
        notes: list[notify.Notification] = []
        joined = 0
        n = svc._next_task_number(tx, at)
        for site, items in sorted(by_site.items()):
            open_task = tx.fetch(
                "SELECT id FROM enforcement_task WHERE subject_kind = ? AND site_code = ? "
                "AND state <> 'closed' ORDER BY created DESC, id DESC LIMIT 1",
                [tk.WATER_SOURCE, site],
            )
            if open_task:
                joins = open_task[0][0]
                for a in items:
                    log.append(at, svc.SYSTEM.id, svc.SYSTEM.role, a.subject, "task",
                               a.state, al.AlertState.TASKED,
                               {"task_id": joins, "joined": True})  # fmt: skip
                    final[a.id] = dataclasses.replace(a, state=al.AlertState.TASKED, task_id=joins)
                    joined += 1
                continue
            task_id = f"T{at:%Y%m%d}-{n:04d}"
            n += 1
            task, tasked = al.open_task(task_id, items, at, policy, log, svc.SYSTEM,
                                        title=_title(names_by_site[site], site, items))  # fmt: skip
            notes += notify.notifications_for(log.new[-1 - len(tasked)], task)
            for a in tasked:
                final[a.id] = a
            region = regions.get(site)
            if auto_assign:
                task, ev_ = tk.apply(task, tk.Action.ASSIGN, svc.SYSTEM, at, policy, log,
                                     assignee=f"team:{region or 'city'}", kind="team")  # fmt: skip
                notes += notify.notifications_for(ev_, task)
            opened.append(task)
            svc._write_task(tx, task, region, at)
        svc._insert_alerts(tx, final.values(), regions)
        if extended:
            tx.execute_many("UPDATE enforcement_alert SET end_ts = ? WHERE id = ?",
                            [[end, target] for target, end in extended.items()])  # fmt: skip
        svc._write_events(tx, log.new)
        svc._write_notes(tx, notes, svc._sender_name(sender), at)
        delivery.enqueue_alerts(tx, final.values(), regions, at)
        # Every handed-in alert is marked: as itself (its key is the enforcement alert's id)
        # or, a continuation, as the alert it continued.
        outbox.mark(tx, {k: merged_into.get(k, k) for k in ids})
    svc._send(sender, notes)
    return RouteReport(list(final.values()), opened, joined, len(ids), len(merged_into))


def _kind(rule_id: str) -> str:
    """The water alert kind of an enforcement rule id (``water.trend`` → ``trend``)."""
    return rule_id.removeprefix("water.")


def _live_alerts(
    tx: Transaction, sites: list[str]
) -> dict[tuple[str, str, str], tuple[str, dt.datetime, str]]:
    """``(site, rule, parameter) → (alert id, end, state)``: the latest live enforcement alert
    of each water source, kind and parameter — not dismissed, and its task (if it has one) not
    closed."""
    if not sites:
        return {}
    marks = ", ".join("?" for _ in sites)
    rows = tx.fetch(
        "SELECT a.id, a.site_code, a.rule_id, a.pollutant, a.end_ts, a.state "  # noqa: S608
        "FROM enforcement_alert a LEFT JOIN enforcement_task t ON t.id = a.task_id "
        f"WHERE a.subject_kind = ? AND a.site_code IN ({marks}) AND a.state <> ? "
        "AND (a.task_id IS NULL OR t.state IS NULL OR t.state <> 'closed') "
        "ORDER BY a.end_ts, a.id",
        [tk.WATER_SOURCE, *sites, str(al.AlertState.DISMISSED)],
    )
    return {(site, rule, par): (aid, end, state)
            for aid, site, rule, par, end, state in rows}  # fmt: skip
