"""Alerts that reach people: routing rules, the delivery outbox, the in-app inbox and
acknowledgement (issue 16 item 4).

How a message travels:

1. An alert is raised (:func:`bishui.enforcement.service.raise_alerts`, the drinking-water
   routing :func:`bishui.enforcement.water.route_alerts`) or a task moves. In the *same*
   transaction, :func:`enqueue_alerts` matches the new alerts against the routing rules
   (``enforcement_route``) and writes one outbox row per channel and recipient
   (``enforcement_delivery``); a task's notifications (:func:`bishui.enforcement.notify.
   notifications_for`) become in-app rows (:func:`enqueue_notes`). Nothing is sent here, so
   neither ingest nor a web request ever waits on an SMS gateway or a robot.
2. The runtime loop calls :func:`deliver_due` every ``alerts.deliver_every`` seconds: each
   pending row whose time has come is handed to its channel's sender
   (:mod:`bishui.enforcement.senders`). Success marks it ``sent``; a failure keeps it
   ``pending`` with the error, one attempt more and the next try after ``retry_seconds ×
   2^(attempts−1)``; after ``max_attempts`` it is ``failed`` (kept, listed to the admin, and
   can be retried). A sender that is down therefore loses nothing. Delivery is at least once:
   a crash between the send and the mark sends that row again.
3. In-app rows are the messages of the page header's bell (:func:`inbox`): addressed to a
   user, a role (``role:admin``), a team (``team:<region>``: every inspector, as the accounts
   carry no team membership) or an enterprise.

Only live alerts notify: an alert whose period ended more than ``live_within`` before it was
raised (the demo's whole-history checks raise thousands) is stored and listed but sends
nothing. The alerts of one raise that one rule routes are one digest message per channel
(robots accept 20 messages a minute; docs/alerts.md).

Acknowledging an alert (:func:`acknowledge`) records who and when on the alert and as an
``acknowledge`` event in the audit chain; the alert's state does not change.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bishui.enforcement import notify
from bishui.enforcement.alerts import SEVERITY_ORDER, Alert
from bishui.enforcement.senders import CHANNELS, DeliveryFailed, Message, Registry
from bishui.errors import ConflictError, InputError, NotFoundError
from bishui.store import Store, Transaction

log = logging.getLogger("bishui.enforcement.delivery")

#: An alert notifies only if its period ended at most this long before it was raised.
LIVE_WITHIN = dt.timedelta(hours=3)
#: Chinese names of the severities (the messages are Chinese; the page has both languages).
SEVERITY_ZH = {"info": "提示", "low": "低", "medium": "中", "high": "高"}
#: Most alerts listed in one digest message (the rest are counted).
DIGEST_LINES = 10
RECIPIENT = re.compile(r"^(role:[a-z]+|user:[A-Za-z0-9._@-]{1,64}|tel:\+?[0-9]{5,20})$")
STATUSES = ("pending", "sent", "failed")


@dataclass(frozen=True)
class Route:
    """A routing rule: alerts whose rule id starts with ``rule_prefix`` ('' any), of
    ``subject_kind`` ('' any), in ``region`` ('' any) and of ``min_severity`` or more go to
    ``recipients`` (``role:<role>``, ``user:<name>``, ``tel:<number>``) on ``channels``."""

    name: str
    min_severity: str = "medium"
    rule_prefix: str = ""
    subject_kind: str = ""
    region: str = ""
    recipients: tuple[str, ...] = ()
    channels: tuple[str, ...] = ("inapp",)
    enabled: bool = True
    id: int = 0
    updated_by: str = ""
    updated: dt.datetime | None = None

    def __post_init__(self) -> None:
        if not self.name.strip() or len(self.name) > 200:
            raise InputError("name", "a name of 1–200 characters", self.name)
        if self.min_severity not in SEVERITY_ORDER:
            raise InputError("min_severity", "info, low, medium or high", self.min_severity)
        if self.subject_kind not in ("", "outlet", "water_source", "inspection_station"):
            raise InputError("subject_kind", "'', outlet, water_source or inspection_station",
                             self.subject_kind)  # fmt: skip
        if not re.fullmatch(r"[A-Za-z0-9._-]{0,64}", self.rule_prefix):
            raise InputError("rule_prefix", "a rule id or its prefix", self.rule_prefix)
        if not re.fullmatch(r"[0-9A-Za-z-]{0,32}", self.region):
            raise InputError("region", "a region code or ''", self.region)
        bad = [r for r in self.recipients if not RECIPIENT.match(r)]
        if bad or not self.recipients or len(self.recipients) > 100:
            raise InputError("recipients", "1–100 of role:<role>, user:<name>, tel:<number>",
                             bad or list(self.recipients))  # fmt: skip
        bad = [c for c in self.channels if c not in CHANNELS]
        if bad or not self.channels:
            raise InputError("channels", f"one or more of {', '.join(CHANNELS)}", bad)

    def matches(self, alert: Alert, region: str | None) -> bool:
        return (
            self.enabled
            and SEVERITY_ORDER.get(alert.severity, 0) >= SEVERITY_ORDER[self.min_severity]
            and alert.rule_id.startswith(self.rule_prefix)
            and (not self.subject_kind or alert.subject_kind == self.subject_kind)
            and (not self.region or region == self.region)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "min_severity": self.min_severity,
            "rule_prefix": self.rule_prefix, "subject_kind": self.subject_kind,
            "region": self.region, "recipients": list(self.recipients),
            "channels": list(self.channels), "enabled": self.enabled,
            "updated_by": self.updated_by,
            "updated": self.updated.isoformat() if self.updated else None,
        }  # fmt: skip


_ROUTE_COLS = ("id", "name", "rule_prefix", "subject_kind", "region", "min_severity",
               "recipients", "channels", "enabled", "updated_by", "updated")  # fmt: skip


def _route(row: Sequence[Any]) -> Route:
    r = dict(zip(_ROUTE_COLS, row, strict=True))
    return Route(
        name=r["name"], min_severity=r["min_severity"], rule_prefix=r["rule_prefix"],
        subject_kind=r["subject_kind"], region=r["region"],
        recipients=tuple(json.loads(r["recipients"])), channels=tuple(json.loads(r["channels"])),
        enabled=bool(r["enabled"]), id=int(r["id"]), updated_by=r["updated_by"],
        updated=r["updated"],
    )  # fmt: skip


def _routes(tx: Transaction) -> list[Route]:
    cols = ", ".join(_ROUTE_COLS)
    return [_route(r) for r in tx.fetch(f"SELECT {cols} FROM enforcement_route ORDER BY id")]  # noqa: S608


def list_routes(store: Store) -> list[Route]:
    with store.transaction() as tx:
        return _routes(tx)


def save_route(store: Store, route: Route, by: str, role: str, now: dt.datetime) -> Route:
    """Create (``route.id == 0``) or replace a routing rule; an audit event records it."""
    values = [route.name, route.rule_prefix, route.subject_kind, route.region,
              route.min_severity, json.dumps(list(route.recipients)),
              json.dumps(list(route.channels)), route.enabled, by, now]  # fmt: skip
    with store.transaction() as tx:
        if route.id:
            if not tx.fetch("SELECT id FROM enforcement_route WHERE id = ?", [route.id]):
                raise NotFoundError(f"route {route.id} does not exist")
            tx.execute(
                "UPDATE enforcement_route SET name = ?, rule_prefix = ?, subject_kind = ?, "
                "region = ?, min_severity = ?, recipients = ?, channels = ?, enabled = ?, "
                "updated_by = ?, updated = ? WHERE id = ?", [*values, route.id],
            )  # fmt: skip
            rid = route.id
        else:
            (rid,) = tx.fetch("SELECT nextval('enforcement_route_seq')")[0]
            tx.execute(
                "INSERT INTO enforcement_route (id, name, rule_prefix, subject_kind, region, "
                "min_severity, recipients, channels, enabled, updated_by, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [int(rid), *values],
            )  # fmt: skip
        saved = Route(**{**route.__dict__, "id": int(rid), "updated_by": by, "updated": now})
        _audit(tx, now, by, role, f"route:{rid}", "route_set", saved.as_dict())
    return saved


def delete_route(store: Store, route_id: int, by: str, role: str, now: dt.datetime) -> None:
    with store.transaction() as tx:
        if not tx.fetch("SELECT id FROM enforcement_route WHERE id = ?", [route_id]):
            raise NotFoundError(f"route {route_id} does not exist")
        tx.execute("DELETE FROM enforcement_route WHERE id = ?", [route_id])
        _audit(tx, now, by, role, f"route:{route_id}", "route_delete", {})


def _audit(tx: Transaction, now: dt.datetime, by: str, role: str, subject: str, action: str,
           payload: Mapping[str, Any], states: tuple[str, str] = ("", "")) -> None:  # fmt: skip
    from bishui.enforcement import service as svc

    tail = svc._TailLog(svc._last_event(tx))
    tail.append(now, by, role, subject, action, states[0], states[1], payload)
    svc._write_events(tx, tail.new)


# ------------------------------------------------------------------------------ enqueue
@dataclass
class _Rows:
    rows: list[list[Any]] = field(default_factory=list)

    def add(self, now: dt.datetime, channel: str, recipient: str, subject: str, body: str,
            alert_id: str | None, task_id: str | None, route_id: int | None) -> None:  # fmt: skip
        inapp = channel == "inapp"  # the stored row is the message: delivered as written
        self.rows.append([now, channel, recipient, subject[:500], body[:4000], alert_id, task_id,
                          route_id, "sent" if inapp else "pending", 0, now, None,
                          now if inapp else None])  # fmt: skip

    def write(self, tx: Transaction) -> int:
        if self.rows:
            tx.execute_many(
                "INSERT INTO enforcement_delivery (created, channel, recipient, subject, body, "
                "alert_id, task_id, route_id, status, attempts, next_at, last_error, sent_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self.rows,
            )  # fmt: skip
        return len(self.rows)


def _site_names(tx: Transaction, alerts: Sequence[Alert]) -> dict[str, str]:
    """Site code → name: an outlet as its enterprise's name and outlet number, else the
    site's name."""
    codes = sorted({a.site_code for a in alerts})
    out: dict[str, str] = {}
    for i in range(0, len(codes), 500):
        chunk = codes[i : i + 500]
        marks = ", ".join("?" for _ in chunk)
        out.update(dict(tx.fetch(f"SELECT id, name FROM sites WHERE id IN ({marks})", chunk)))  # noqa: S608
    usccs = sorted({a.uscc for a in alerts if a.uscc})
    if usccs:
        marks = ", ".join("?" for _ in usccs)
        firms = dict(tx.fetch(f"SELECT uscc, name FROM enterprises WHERE uscc IN ({marks})", usccs))  # noqa: S608
        for a in alerts:
            if a.uscc in firms:
                out[a.site_code] = f"{firms[a.uscc]} {a.outlet_id}".strip()
    return out


def _line(a: Alert, names: Mapping[str, str]) -> str:
    site = names.get(a.site_code, a.site_code)
    return (f"{site} · {a.rule_id} · {a.pollutant} · 级别{SEVERITY_ZH.get(a.severity, a.severity)}"
            f" · {a.start:%m-%d %H:%M}–{a.end:%H:%M}")  # fmt: skip


def digest(route: Route, alerts: Sequence[Alert], names: Mapping[str, str]) -> tuple[str, str]:
    """One message (subject, body) for *alerts* matched by *route*."""
    top = max(alerts, key=lambda a: SEVERITY_ORDER.get(a.severity, 0)).severity
    if len(alerts) == 1:
        a = alerts[0]
        subject = (f"新告警：{names.get(a.site_code, a.site_code)}"
                   f"（{SEVERITY_ZH.get(a.severity, a.severity)}）")  # fmt: skip
    else:
        subject = f"新告警 {len(alerts)} 条（最高级别{SEVERITY_ZH.get(top, top)}）"
    lines = [_line(a, names) for a in alerts[:DIGEST_LINES]]
    if len(alerts) > DIGEST_LINES:
        lines.append(f"另有 {len(alerts) - DIGEST_LINES} 条，见告警页面")
    return subject, "\n".join(lines) + f"\n规则：{route.name}"


def enqueue_alerts(
    tx: Transaction, alerts: Iterable[Alert], regions: Mapping[str, str | None],
    now: dt.datetime, live_within: dt.timedelta = LIVE_WITHIN,
) -> int:  # fmt: skip
    """Outbox rows for the new *alerts* that are live, by the routing rules (in the caller's
    transaction); returns how many rows."""
    live = [a for a in alerts if a.end >= now - live_within]
    if not live:
        return 0
    routes = [r for r in _routes(tx) if r.enabled]
    out = _Rows()
    names: dict[str, str] | None = None
    for route in routes:
        hit = [a for a in live if route.matches(a, regions.get(a.site_code))]
        if not hit:
            continue
        names = names if names is not None else _site_names(tx, live)
        subject, body = digest(route, hit, names)
        alert_id = hit[0].id if len(hit) == 1 else None
        for channel in route.channels:
            if channel == "inapp":
                targets = [r for r in route.recipients if not r.startswith("tel:")]
            elif channel == "sms":
                targets = [r for r in route.recipients if r.startswith("tel:")]
            else:  # a group robot or the log: one message for the group
                targets = ["group"]
            for to in targets:
                out.add(now, channel, to, subject, body, alert_id, None, route.id)
    return out.write(tx)


def enqueue_notes(tx: Transaction, notes: Iterable[notify.Notification], now: dt.datetime) -> int:
    """In-app rows for a task's notifications (in the caller's transaction)."""
    out = _Rows()
    for n in notes:
        if n.recipient:
            out.add(now, "inapp", n.recipient, n.subject, n.body, None, n.task_id, None)
    return out.write(tx)


# ------------------------------------------------------------------------------ delivering
@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    retry_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.retry_seconds <= 0:
            raise InputError("alerts.max_attempts", "≥ 1 attempts, retry_seconds > 0",
                             (self.max_attempts, self.retry_seconds))  # fmt: skip

    def next_try(self, attempts: int, now: dt.datetime) -> dt.datetime:
        return now + dt.timedelta(seconds=self.retry_seconds * 2 ** max(attempts - 1, 0))


#: How long a claimed row is reserved for the process sending it.
CLAIM_LEASE = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def deliver_due(
    store: Store, registry: Registry, now: dt.datetime, retry: RetryPolicy = RetryPolicy(),
    limit: int = 100,
) -> DeliveryReport:  # fmt: skip
    """Hand the pending rows that are due to their senders (the runtime loop calls this).

    Claims the due rows of the configured channels (their next try moved :data:`CLAIM_LEASE`
    ahead, in one conditional ``UPDATE … RETURNING``: two delivering processes on one store
    never claim the same row), sends outside any transaction (a slow gateway holds no lock),
    then records each result. A row of a channel this process has no sender for is left for
    a process that has one (it waits, listed as pending). A process that dies after claiming
    leaves its rows to be retried when the lease ends."""
    channels = sorted(registry.senders)
    if not channels:
        return DeliveryReport()
    marks = ", ".join("?" for _ in channels)
    cols = ("id", "channel", "recipient", "subject", "body", "attempts")
    with store.transaction() as tx:
        claimed = tx.fetch(
            "UPDATE enforcement_delivery SET next_at = ? WHERE id IN ("  # noqa: S608
            "SELECT id FROM enforcement_delivery WHERE status = 'pending' AND next_at <= ? "
            f"AND channel IN ({marks}) ORDER BY next_at, id LIMIT ?) "
            f"AND status = 'pending' AND next_at <= ? RETURNING {', '.join(cols)}",
            [now + CLAIM_LEASE, now, *channels, int(limit), now],
        )
    due = sorted((dict(zip(cols, r, strict=True)) for r in claimed), key=lambda r: r["id"])
    results: list[tuple[dict[str, Any], str | None]] = []
    for row in due:
        sender = registry.get(row["channel"])
        try:
            assert sender is not None  # claimed for its channel
            sender.deliver(Message(int(row["id"]), row["channel"], row["recipient"],
                                   row["subject"], row["body"]))  # fmt: skip
            results.append((row, None))
        except DeliveryFailed as exc:
            results.append((row, str(exc)[:500]))
        except Exception as exc:  # a sender's bug must not stop the others
            log.exception("sender %s failed", row["channel"])
            results.append((row, f"{type(exc).__name__}"))
    sent = retried = failed = 0
    with store.transaction() as tx:
        for row, error in results:
            attempts = int(row["attempts"]) + 1
            if error is None:
                sent += 1
                tx.execute("UPDATE enforcement_delivery SET status = 'sent', attempts = ?, "
                           "sent_at = ?, last_error = NULL WHERE id = ?",
                           [attempts, now, row["id"]])  # fmt: skip
                continue
            give_up = attempts >= retry.max_attempts
            failed += give_up
            retried += not give_up
            log.warning("delivery %s on %s failed (attempt %d): %s", row["id"], row["channel"],
                        attempts, error)  # fmt: skip
            tx.execute("UPDATE enforcement_delivery SET status = ?, attempts = ?, next_at = ?, "
                       "last_error = ? WHERE id = ?",
                       ["failed" if give_up else "pending", attempts,
                        retry.next_try(attempts, now), error, row["id"]])  # fmt: skip
    return DeliveryReport(sent, retried, failed)


def retry_delivery(store: Store, delivery_id: int, now: dt.datetime) -> None:
    """Send a failed row again (attempts start over)."""
    with store.transaction() as tx:
        found = tx.fetch("SELECT status FROM enforcement_delivery WHERE id = ?", [delivery_id])
        if not found:
            raise NotFoundError(f"delivery {delivery_id} does not exist")
        if found[0][0] != "failed":
            raise ConflictError(f"delivery {delivery_id} is {found[0][0]}, not failed")
        tx.execute("UPDATE enforcement_delivery SET status = 'pending', attempts = 0, "
                   "next_at = ? WHERE id = ?", [now, delivery_id])  # fmt: skip


def list_deliveries(
    store: Store, *, status: str | None = None, channel: str | None = None, limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    cond, args = ["channel <> 'inapp'"], []
    if status:
        cond.append("status = ?")
        args.append(status)
    if channel:
        cond.append("channel = ?")
        args.append(channel)
    return store.page(
        "SELECT id, created, channel, recipient, subject, alert_id, task_id, route_id, status, "  # noqa: S608
        f"attempts, next_at, last_error, sent_at FROM enforcement_delivery "
        f"WHERE {' AND '.join(cond)} ORDER BY id DESC", args, limit=limit, offset=offset,
    )  # fmt: skip


# ------------------------------------------------------------------------------ the inbox
@dataclass(frozen=True)
class Reader:
    """Who reads the inbox: the account, its web role and enterprise."""

    username: str
    role: str
    enterprise: str = ""


def _addressed(r: Reader) -> tuple[str, list[Any]]:
    names = [r.username, f"user:{r.username}", f"role:{r.role}"]
    if r.role == "admin":
        names.append("role:supervisor")  # the task machine's supervisor is the admin
    if r.role == "enterprise" and r.enterprise:
        names.append(f"enterprise:{r.enterprise}")
    cond = f"recipient IN ({', '.join('?' for _ in names)})"
    if r.role == "inspector":  # every inspector is on the regional teams (no team membership)
        cond = f"({cond} OR recipient LIKE 'team:%')"
    return f"channel = 'inapp' AND {cond}", names


def inbox(store: Store, reader: Reader, limit: int = 20, offset: int = 0) -> dict[str, Any]:
    """The reader's in-app messages, newest first, and how many they have not seen."""
    where, args = _addressed(reader)
    seen_rows = store.query("SELECT seen_id FROM enforcement_inbox_seen WHERE username = ?",
                            [reader.username])  # fmt: skip
    seen = int(seen_rows[0]["seen_id"]) if seen_rows else 0
    total, rows = store.page(
        f"SELECT id, created, subject, body, alert_id, task_id FROM enforcement_delivery "  # noqa: S608
        f"WHERE {where} ORDER BY id DESC", args, limit=limit, offset=offset,
    )  # fmt: skip
    unread = store.query(
        f"SELECT COUNT(*) AS n FROM enforcement_delivery WHERE {where} AND id > ?",  # noqa: S608
        [*args, seen],
    )[0]["n"]
    for r in rows:
        r["unread"] = int(r["id"]) > seen
    return {"total": total, "unread": int(unread), "seen_id": seen, "items": rows}


def mark_seen(store: Store, reader: Reader, upto: int | None = None) -> int:
    """The reader has seen their messages up to *upto* (default: all of them)."""
    where, args = _addressed(reader)
    with store.transaction() as tx:
        top = tx.fetch(f"SELECT MAX(id) FROM enforcement_delivery WHERE {where}", args)[0][0]  # noqa: S608
        mark = int(top or 0) if upto is None else min(int(upto), int(top or 0))
        old = tx.fetch("SELECT seen_id FROM enforcement_inbox_seen WHERE username = ?",
                       [reader.username])  # fmt: skip
        if old:
            mark = max(mark, int(old[0][0]))
            tx.execute("UPDATE enforcement_inbox_seen SET seen_id = ? WHERE username = ?",
                       [mark, reader.username])  # fmt: skip
        else:
            tx.execute("INSERT INTO enforcement_inbox_seen (username, seen_id) VALUES (?, ?)",
                       [reader.username, mark])  # fmt: skip
    return mark


# ------------------------------------------------------------------------------ acknowledging
def acknowledge(
    store: Store, alert_ids: Sequence[str], by: str, role: str, now: dt.datetime,
    where: str = "TRUE", params: Sequence[Any] = (), note: str = "",
) -> list[str]:  # fmt: skip
    """Acknowledge the alerts among *alert_ids* (within the caller's scope *where*) not
    acknowledged yet: ``ack_by``/``ack_at`` and one ``acknowledge`` audit event each. Returns
    the ids acknowledged now; an id outside the scope or unknown is a 404 when it is the only
    one asked for."""
    from bishui.enforcement import service as svc

    ids = sorted(set(alert_ids))
    if not ids or len(ids) > 1000:
        raise InputError("ids", "1–1000 alert ids", len(ids))
    marks = ", ".join("?" for _ in ids)
    with store.transaction() as tx:
        rows = tx.fetch(
            f"SELECT id, state, ack_at FROM enforcement_alert WHERE ({where}) AND id IN ({marks})",  # noqa: S608
            [*params, *ids],
        )
        if not rows and len(ids) == 1:
            raise NotFoundError(f"alert {ids[0]} does not exist")
        todo = [(r[0], r[1]) for r in rows if r[2] is None]
        tail = svc._TailLog(svc._last_event(tx))
        for aid, state in sorted(todo):
            tail.append(now, by, role, f"alert:{aid}", "acknowledge", state, state,
                        {"note": note} if note else {})  # fmt: skip
        svc._write_events(tx, tail.new)
        if todo:
            tx.execute_many("UPDATE enforcement_alert SET ack_by = ?, ack_at = ? WHERE id = ?",
                            [[by, now, aid] for aid, _ in todo])  # fmt: skip
    return [aid for aid, _ in sorted(todo)]


# ------------------------------------------------------------------------------ grouped listing
#: How the alerts page groups alerts: one row per site, rule and day (of the alert's start).
_SEV_RANK = ("CASE a.severity WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 "
             "ELSE 0 END")  # fmt: skip


#: An alert's subject by name: an outlet as its enterprise's name and the outlet's number, a
#: drinking-water source by its site's name (the code when neither is known).
_SITE_NAME = ("CASE WHEN e.name IS NOT NULL THEN e.name || ' ' || COALESCE(a.outlet_id, '') "
              "ELSE COALESCE(s.name, a.site_code) END")  # fmt: skip


@dataclass(frozen=True)
class AlertFilter:
    state: str | None = None
    severity: str | None = None  # at least
    rule: str | None = None  # prefix
    region: str | None = None
    site: str | None = None
    subject_kind: str | None = None
    day_from: dt.date | None = None
    day_to: dt.date | None = None  # inclusive
    acked: bool | None = None

    def sql(self) -> tuple[str, list[Any]]:
        cond: list[str] = []
        args: list[Any] = []
        if self.state:
            cond.append("a.state = ?")
            args.append(self.state)
        if self.severity:
            cond.append(f"{_SEV_RANK} >= ?")
            args.append(SEVERITY_ORDER[self.severity])
        if self.rule:  # a prefix (no LIKE: its wildcards would need escaping per dialect)
            cond.append("SUBSTR(a.rule_id, 1, ?) = ?")
            args += [len(self.rule), self.rule]
        if self.region:
            cond.append("a.region = ?")
            args.append(self.region)
        if self.site:
            cond.append("a.site_code = ?")
            args.append(self.site)
        if self.subject_kind:
            cond.append("a.subject_kind = ?")
            args.append(self.subject_kind)
        if self.day_from:
            cond.append("a.start_ts >= ?")
            args.append(dt.datetime.combine(self.day_from, dt.time()))
        if self.day_to:
            cond.append("a.start_ts < ?")
            args.append(dt.datetime.combine(self.day_to + dt.timedelta(days=1), dt.time()))
        if self.acked is not None:
            cond.append("a.ack_at IS NOT NULL" if self.acked else "a.ack_at IS NULL")
        return " AND ".join(cond) or "TRUE", args


def alert_groups(
    store: Store, where: str, params: Sequence[Any], flt: AlertFilter, *, limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """Alerts grouped by site, rule and day, newest day first, paged by the store: count,
    how many are new and unacknowledged, the highest severity, first start and last end."""
    cond, args = flt.sql()
    sql = (
        "SELECT a.site_code, a.rule_id, CAST(a.start_ts AS DATE) AS day, "  # noqa: S608
        "MIN(a.subject_kind) AS subject_kind, MIN(a.region) AS region, "
        f"MIN({_SITE_NAME}) AS site_name, MIN(r.name) AS region_name, "
        f"COUNT(*) AS n, MAX({_SEV_RANK}) AS severity_rank, "
        "SUM(CASE WHEN a.state = 'new' THEN 1 ELSE 0 END) AS n_new, "
        "SUM(CASE WHEN a.ack_at IS NULL THEN 1 ELSE 0 END) AS n_unacked, "
        "MIN(a.start_ts) AS first_start, MAX(a.end_ts) AS last_end, "
        "MIN(a.pollutant) AS pollutant, COUNT(DISTINCT a.pollutant) AS n_pollutants, "
        "MAX(a.task_id) AS task_id "
        f"FROM (SELECT * FROM enforcement_alert WHERE {where}) a "
        "LEFT JOIN sites s ON s.id = a.site_code LEFT JOIN regions r ON r.code = a.region "
        "LEFT JOIN enterprises e ON e.uscc = a.uscc "
        f"WHERE {cond} "
        "GROUP BY a.site_code, a.rule_id, CAST(a.start_ts AS DATE) "
        "ORDER BY day DESC, severity_rank DESC, a.site_code, a.rule_id"
    )
    total, rows = store.page(sql, [*params, *args], limit=limit, offset=offset)
    names = {v: k for k, v in SEVERITY_ORDER.items()}
    for r in rows:
        r["severity"] = names.get(int(r.pop("severity_rank") or 0), "info")
        for k in ("n", "n_new", "n_unacked", "n_pollutants"):
            r[k] = int(r[k] or 0)
    return total, rows


def alerts_in_group(
    store: Store, where: str, params: Sequence[Any], flt: AlertFilter, *, limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """The alerts themselves (filtered), newest first, with who acknowledged them."""
    cond, args = flt.sql()
    return store.page(
        "SELECT a.id, a.rule_id, a.severity, a.site_code, a.outlet_id, a.pollutant, "  # noqa: S608
        "a.start_ts, a.end_ts, a.uscc, a.region, a.created, a.state, a.task_id, "
        f"a.subject_kind, a.ack_by, a.ack_at, {_SITE_NAME} AS site_name "
        f"FROM (SELECT * FROM enforcement_alert WHERE {where}) a "
        "LEFT JOIN sites s ON s.id = a.site_code LEFT JOIN enterprises e ON e.uscc = a.uscc "
        f"WHERE {cond} ORDER BY a.start_ts DESC, a.id",
        [*params, *args], limit=limit, offset=offset,
    )  # fmt: skip
