"""The store-backed enforcement loop: alerts, tasks, the audit log and notifications.

The pure model (:mod:`~bishui.enforcement.tasks`, :mod:`~bishui.enforcement.alerts`,
:mod:`~bishui.enforcement.audit`) decides; this module only persists (``bishui.enforcement.
schema``). Every change is written in one transaction with its audit event(s): the event rows
are the record, the alert and task rows are snapshots that :func:`replay_task` can rebuild and
:func:`verify_audit` checks the whole hash chain.

The stored log is one chain for the whole city. A writer appends under the store's write lock,
reading the head (last ``seq`` and hash) inside its transaction; ``seq`` is the primary key, so
two processes cannot fork the chain (the second fails and retries nothing silently).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bishui.enforcement import alerts as al
from bishui.enforcement import delivery, evidence, inspection, notify
from bishui.enforcement import tasks as tk
from bishui.enforcement.audit import GENESIS, AuditEvent, AuditLog
from bishui.enforcement.intake import AlertIn, AlertProducer, coerce
from bishui.enforcement.policy import Policy, PolicySet, policies
from bishui.errors import ConflictError, InputError, NotFoundError
from bishui.store import Store, Transaction
from bishui.timeutil import now_beijing

SYSTEM = tk.Actor("system", tk.Role.SYSTEM)

#: Web role → task-machine role (``tasks.PERMISSIONS``): an admin acts as the supervisor; a
#: chief (执法科长) approves or rejects what the policy's ``[approval]`` lists. Analysts and
#: county officials read only.
TASK_ROLES = {"admin": tk.Role.SUPERVISOR, "inspector": tk.Role.INSPECTOR,
              "enterprise": tk.Role.ENTERPRISE, "chief": tk.Role.CHIEF}  # fmt: skip


@dataclass(frozen=True)
class LoopOptions:
    """How findings become alerts and tasks (the model city's policy; parameters).

    ``alert_min_severity``: findings below it are stored but raise no alert.
    ``task_min_severity``: an alert at or above it opens a task (one per site and run);
    lower alerts wait for a person to open or dismiss them.
    ``auto_assign``: new tasks are assigned by the system to the inspection team of the site's
    region (``team:<region code>``).
    ``notify_within_hours``: see :data:`bishui.enforcement.delivery.LIVE_WITHIN`.
    """

    alert_min_severity: str = "low"
    task_min_severity: str = "medium"
    auto_assign: bool = True
    #: an alert notifies (routing rules → the delivery outbox) only if its period ended at most
    #: this long before it was raised: history found late is listed, not pushed [h]
    notify_within_hours: float = delivery.LIVE_WITHIN.total_seconds() / 3600


class _TailLog(AuditLog):
    """An :class:`AuditLog` continuing the stored chain from its head (not loading it all)."""

    def __init__(self, last: AuditEvent | None) -> None:
        super().__init__()
        self._last = last
        self.new: list[AuditEvent] = []

    @property
    def head(self) -> str:
        if self.new:
            return self.new[-1].hash
        return self._last.hash if self._last else GENESIS

    def append(
        self, time: dt.datetime, actor: str, role: str, subject: str, action: str,
        from_state: str, to_state: str, payload: Mapping[str, Any] | None = None,
    ) -> AuditEvent:  # fmt: skip
        prev = self.new[-1] if self.new else self._last
        if prev is not None and time < prev.time:
            raise ConflictError(
                f"audit: event at {time.isoformat()} is earlier than the last one "
                f"({prev.time.isoformat()})"
            )
        seq = (prev.seq if prev else 0) + 1
        body = json.loads(json.dumps(dict(payload or {}), default=str))
        e = AuditEvent(seq, time, actor, role, subject, action, str(from_state), str(to_state),
                       body, self.head)  # fmt: skip
        e = AuditEvent(**{**e.__dict__, "hash": e.computed_hash()})
        self.new.append(e)
        return e


def _event(r: Mapping[str, Any]) -> AuditEvent:
    return AuditEvent(int(r["seq"]), r["ts"], r["actor"], r["role"], r["subject"], r["action"],
                      r["from_state"], r["to_state"], json.loads(r["payload"]), r["prev_hash"],
                      r["hash"])  # fmt: skip


_AUDIT_COLS = (
    "seq, ts, actor, role, subject, action, from_state, to_state, payload, prev_hash, hash"
)


def _last_event(tx: Transaction) -> AuditEvent | None:
    rows = tx.fetch(f"SELECT {_AUDIT_COLS} FROM enforcement_audit ORDER BY seq DESC LIMIT 1")  # noqa: S608
    if not rows:
        return None
    row = rows[0]
    return _event(dict(zip(_AUDIT_COLS.split(", "), row, strict=True)))


def _write_events(tx: Transaction, events: Sequence[AuditEvent]) -> None:
    rows = [
        [e.seq, e.time, e.actor, str(e.role), e.subject, e.action, e.from_state, e.to_state,
         json.dumps(e.payload, ensure_ascii=False, sort_keys=True), e.prev_hash, e.hash]
        for e in events
    ]  # fmt: skip
    if rows:
        tx.insert_rows("enforcement_audit", _AUDIT_COLS.split(", "), rows)


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or now_beijing()).replace(tzinfo=None, microsecond=0)


#: What the functions below take as ``policy``: one :class:`Policy` (a bureau's single file, or
#: a test's: every task is judged by it), a :class:`PolicySet`, or None (the packaged versions).
PolicyArg = Policy | PolicySet | None


def policy_for_new(policy: PolicyArg, at: dt.datetime) -> Policy:
    """The policy a task opened at *at* is opened under: the version in force then."""
    return policy if isinstance(policy, Policy) else (policy or policies()).at(at)


def policy_of(policy: PolicyArg, version: str | None) -> Policy:
    """The policy a stored task is judged by: the version it recorded (None → the earliest)."""
    return policy if isinstance(policy, Policy) else (policy or policies()).get(version)


# ---------------------------------------------------------------- snapshots
_ALERT_COLS = ("id", "rule_id", "severity", "site_code", "outlet_id", "pollutant", "start_ts",
               "end_ts", "uscc", "region", "created", "state", "task_id", "finding",
               "subject_kind")  # fmt: skip


def _insert_alerts(
    tx: Transaction, alerts: Iterable[al.Alert], regions: Mapping[str, str | None]
) -> None:
    """New alerts, in one bulk insert (an alert changes later only through the audit log and
    :func:`_update_alert`). A water-source alert has no enterprise or outlet: NULL, so no
    enterprise scope (``uscc = ?``) can ever match it."""
    rows = [
        [a.id, a.rule_id, a.severity, a.site_code, a.outlet_id or None, a.pollutant, a.start,
         a.end, a.uscc or None, regions.get(a.site_code), a.created, str(a.state),
         a.task_id or None, json.dumps(dict(a.finding), ensure_ascii=False, default=str),
         a.subject_kind]
        for a in alerts
    ]  # fmt: skip
    if rows:
        tx.insert_rows("enforcement_alert", _ALERT_COLS, rows)


def _write_task(tx: Transaction, t: tk.Task, region: str | None, now: dt.datetime) -> None:
    tx.execute("DELETE FROM enforcement_task WHERE id = ?", [t.id])
    tx.execute(
        "INSERT INTO enforcement_task (id, uscc, site_code, region, severity, state, assignee, "
        "assignee_kind, title, created, deadline, updated, body, subject_kind, policy_version) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [t.id, t.uscc or None, t.site_code, region, t.severity, str(t.state), t.assignee or None,
         t.assignee_kind or None, t.title, t.created, t.deadline, now,
         json.dumps(t.as_dict(), ensure_ascii=False, default=str), t.subject_kind,
         t.policy_version or None],
    )  # fmt: skip


def _write_notes(
    tx: Transaction, notes: Iterable[notify.Notification], sender: str, now: dt.datetime
) -> None:
    """The notifications of task events: recorded, and each an in-app message in the delivery
    outbox (:func:`bishui.enforcement.delivery.enqueue_notes`; the page header's bell)."""
    notes = list(notes)
    for n in notes:
        tx.execute(
            "INSERT INTO enforcement_notification (event_seq, task_id, recipient, subject, body, "
            "sender, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [n.event_seq, n.task_id, n.recipient, n.subject, n.body, sender, now],
        )
    delivery.enqueue_notes(tx, notes, now)


def task_from_dict(d: Mapping[str, Any]) -> tk.Task:
    """A :class:`Task` from its stored snapshot (``Task.as_dict``)."""

    def t(x: Any) -> dt.datetime | None:
        return dt.datetime.fromisoformat(x) if x else None

    created, deadline = t(d["created"]), t(d["deadline"])
    assert created is not None and deadline is not None
    return tk.Task(
        id=d["id"], alert_ids=tuple(d["alert_ids"]), uscc=d["uscc"], site_code=d["site_code"],
        severity=d["severity"], title=d["title"], created=created, deadline=deadline,
        state=tk.State(d["state"]), assignee=d.get("assignee", ""),
        assignee_kind=d.get("assignee_kind", ""), visits=tuple(d.get("visits", ())),
        evidence=tuple(d.get("evidence", ())), disposal=d.get("disposal"),
        rectifications=tuple(d.get("rectifications", ())),
        rectification_verified=bool(d.get("rectification_verified")),
        approval=d.get("approval"), closure=d.get("closure"),
        closure_approval=d.get("closure_approval"), checkins=tuple(d.get("checkins", ())),
        escalation_level=int(d.get("escalation_level", 0)), closed_at=t(d.get("closed_at")),
        reopen_count=int(d.get("reopen_count", 0)),
        suggested_article=d.get("suggested_article", ""), meta=d.get("meta") or {},
        subject_kind=d.get("subject_kind", tk.OUTLET),
        policy_version=d.get("policy_version") or "",
    )  # fmt: skip


# ---------------------------------------------------------------- findings → alerts → tasks
def raise_alerts(
    store: Store,
    findings: Sequence[AlertIn | AlertProducer],
    regions: Mapping[str, str | None],
    *,
    now: dt.datetime | None = None,
    policy: PolicyArg = None,
    options: LoopOptions = LoopOptions(),
    sender: notify.Sender | None = None,
) -> tuple[list[al.Alert], list[tk.Task]]:
    """Enforcement's intake: new alerts for the handed-in alerts (*findings*:
    :class:`~bishui.enforcement.intake.AlertIn` or producers of one) not alerted yet; tasks for
    those at ``task_min_severity``.

    *regions* maps a site code to its region (for scoping and team assignment). One task per
    site. All of it — events, snapshots, notifications — in one transaction.
    """
    at = _now(now)
    policy = policy_for_new(policy, at)
    rank = al.SEVERITY_ORDER
    handed: list[AlertIn] = [coerce(f) for f in findings]
    with store.transaction() as tx:
        keys = [f.key for f in handed]
        known: set[str] = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ", ".join("?" for _ in chunk)
            found = tx.fetch(f"SELECT id FROM enforcement_alert WHERE id IN ({marks})", chunk)  # noqa: S608
            known |= {r[0] for r in found}
        log = _TailLog(_last_event(tx))
        new = al.alerts_from_findings(handed, known, at, log, SYSTEM, options.alert_min_severity)
        by_site: dict[str, list[al.Alert]] = {}
        for a in new:
            if rank[a.severity] >= rank[options.task_min_severity]:
                by_site.setdefault(a.site_code, []).append(a)
        final = {a.id: a for a in new}
        opened: list[tk.Task] = []
        notes: list[notify.Notification] = []
        n = _next_task_number(tx, at)
        for site, items in sorted(by_site.items()):
            task_id = f"T{at:%Y%m%d}-{n:04d}"
            n += 1
            task, tasked = al.open_task(task_id, items, at, policy, log, SYSTEM)
            notes += notify.notifications_for(log.new[-1 - len(tasked)], task)
            for a in tasked:
                final[a.id] = a
            region = regions.get(site)
            if options.auto_assign:
                team = f"team:{region or 'city'}"
                task, ev = tk.apply(task, tk.Action.ASSIGN, SYSTEM, at, policy, log,
                                    assignee=team, kind="team")  # fmt: skip
                notes += notify.notifications_for(ev, task)
            opened.append(task)
            _write_task(tx, task, region, at)
        _insert_alerts(tx, final.values(), regions)
        _write_events(tx, log.new)
        _write_notes(tx, notes, _sender_name(sender), at)
        delivery.enqueue_alerts(tx, final.values(), regions, at,
                                dt.timedelta(hours=options.notify_within_hours))  # fmt: skip
    _send(sender, notes)
    return list(final.values()), opened


def _sender_name(sender: notify.Sender | None) -> str:
    return type(sender).__name__ if sender is not None else "none"


def _send(sender: notify.Sender | None, notes: Iterable[notify.Notification]) -> None:
    if sender is not None:
        for n in notes:
            sender.send(n)


def _next_task_number(tx: Transaction, at: dt.datetime) -> int:
    rows = tx.fetch("SELECT id FROM enforcement_task WHERE id LIKE ?", [f"T{at:%Y%m%d}-%"])
    nums = [int(r[0].rsplit("-", 1)[1]) for r in rows]
    return max(nums, default=0) + 1


# ---------------------------------------------------------------- reading
def get_task(store: Store, task_id: str) -> tuple[tk.Task, str | None]:
    rows = store.query("SELECT body, region FROM enforcement_task WHERE id = ?", [task_id])
    if not rows:
        raise NotFoundError(f"task {task_id} does not exist")
    return task_from_dict(json.loads(rows[0]["body"])), rows[0]["region"]


def list_tasks(
    store: Store, where: str = "TRUE", params: Sequence[Any] = (), *, state: str | None = None,
    limit: int = 100, offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """Task snapshots (``Task.as_dict`` plus ``region``), newest first, with the total."""
    cond, args = where, list(params)
    if state:
        cond += " AND state = ?"
        args.append(state)
    total, rows = store.page(
        f"SELECT body, region FROM enforcement_task WHERE {cond} ORDER BY created DESC, id DESC",  # noqa: S608
        args,
        limit=limit,
        offset=offset,
    )
    return total, [{**json.loads(r["body"]), "region": r["region"]} for r in rows]


def list_alerts(
    store: Store, where: str = "TRUE", params: Sequence[Any] = (), *, state: str | None = None,
    limit: int = 100, offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    cond, args = where, list(params)
    if state:
        cond += " AND state = ?"
        args.append(state)
    total, rows = store.page(
        "SELECT id, rule_id, severity, site_code, outlet_id, pollutant, start_ts, end_ts, uscc, "  # noqa: S608
        f"region, created, state, task_id, subject_kind, ack_by, ack_at FROM enforcement_alert "
        f"WHERE {cond} "
        "ORDER BY created DESC, id",
        args,
        limit=limit,
        offset=offset,
    )
    return total, rows


def audit_events(store: Store, subject: str | None = None) -> list[AuditEvent]:
    sql = f"SELECT {_AUDIT_COLS} FROM enforcement_audit"  # noqa: S608
    params: list[Any] = []
    if subject:
        sql += " WHERE subject = ?"
        params.append(subject)
    return [_event(r) for r in store.query(sql + " ORDER BY seq", params)]


def verify_audit(store: Store) -> int:
    """Check the whole stored chain (raises :class:`ConflictError` at the first break);
    returns the number of events."""
    events = audit_events(store)
    AuditLog(events)
    return len(events)


def replay_task(store: Store, task_id: str, policy: PolicyArg = None) -> tk.Task:
    """Rebuild a task from its stored events (what the snapshot must agree with), judged by
    the policy version it was opened under (its ``create`` event records it)."""
    events = audit_events(store, f"task:{task_id}")
    version = events[0].payload.get("policy_version") if events else None
    return tk.replay(events, policy_of(policy, version))


def notifications(store: Store, task_id: str | None = None) -> list[dict[str, Any]]:
    sql = (
        "SELECT event_seq, task_id, recipient, subject, body, sender, sent_at "
        "FROM enforcement_notification"
    )
    params: list[Any] = []
    if task_id:
        sql += " WHERE task_id = ?"
        params.append(task_id)
    return store.query(sql + " ORDER BY id", params)


# ---------------------------------------------------------------- changing a task
def transition(
    store: Store, task_id: str, action: str, actor: tk.Actor, *, now: dt.datetime | None = None,
    policy: PolicyArg = None, sender: notify.Sender | None = None, **payload: Any,
) -> tuple[tk.Task, AuditEvent]:  # fmt: skip
    """:func:`act` with the payload as keyword arguments (for code and the CLI, whose fields
    are declared; input from a client goes through :func:`act` as a mapping)."""
    return act(store, task_id, action, actor, payload, now=now, policy=policy, sender=sender)


def act(
    store: Store, task_id: str, action: str, actor: tk.Actor, payload: Mapping[str, Any], *,
    now: dt.datetime | None = None, policy: PolicyArg = None,
    sender: notify.Sender | None = None,
) -> tuple[tk.Task, AuditEvent]:  # fmt: skip
    """Take *action* on a stored task through :func:`tasks.apply` and persist the result.

    ``files`` of ``visit``, ``add_evidence`` and ``submit_rectification`` are ids of files
    uploaded to the task (:func:`bishui.enforcement.evidence.store_file`); each becomes the
    file's record with its SHA-256 (:func:`bishui.enforcement.evidence.refs`). An id that is
    not a file of this task is refused; so is ``files`` on any other action.

    Raises :class:`~bishui.enforcement.tasks.TransitionRefused` (409) or
    :class:`~bishui.errors.PermissionDenied` (403) from the model, unchanged.
    """
    at = _now(now)
    payload = dict(payload)
    if "files" in payload and action not in evidence.FILE_ACTIONS:
        raise InputError("files", f"only {', '.join(sorted(evidence.FILE_ACTIONS))} cite files",
                         action)  # fmt: skip
    with store.transaction() as tx:
        found = tx.fetch(
            "SELECT body, region, policy_version FROM enforcement_task WHERE id = ?", [task_id]
        )
        row = found[0] if found else None
        if row is None:
            raise NotFoundError(f"task {task_id} does not exist")
        task, region = task_from_dict(json.loads(row[0])), row[1]
        judged_by = policy_of(policy, row[2])  # the version the task was opened under
        if action == tk.Action.CHECK_IN:
            payload.pop("distance_m", None)  # the server's to say, never the client's
            where = _registered_location(tx, task)
            lat: Any = payload.get("lat")
            lon: Any = payload.get("lon")
            numbers = isinstance(lat, int | float) and isinstance(lon, int | float)
            if where is not None and numbers and -90 <= lat <= 90 and -180 <= lon <= 180:
                # (out of range or not numbers: the machine's guard refuses the check-in)
                payload["distance_m"] = round(inspection.distance_m(lat, lon, *where))
        if action in evidence.FILE_ACTIONS and payload.get("files"):
            # Files are cited by id; the machine and the audit event get their stored records
            # (with SHA-256). An id that is not an uploaded file of this task is refused here.
            payload["files"] = evidence.refs(tx, task_id, payload["files"])
        log = _TailLog(_last_event(tx))
        new, ev = tk.apply(task, action, actor, at, judged_by, log, **payload)
        notes = notify.notifications_for(ev, new)
        _write_events(tx, log.new)
        _write_task(tx, new, region, at)
        _write_notes(tx, notes, _sender_name(sender), at)
    _send(sender, notes)
    return new, ev


def _registered_location(tx: Transaction, task: tk.Task) -> tuple[float, float] | None:
    """(lat, lon) of the task's enterprise in the registry, else of its site."""
    rows: list[Any] = []
    if task.uscc:
        rows = tx.fetch("SELECT lat, lon FROM enterprises WHERE uscc = ?", [task.uscc])
    if not rows or rows[0][0] is None:
        rows = tx.fetch("SELECT lat, lon FROM sites WHERE id = ?", [task.site_code])
    if not rows or rows[0][0] is None or rows[0][1] is None:
        return None
    return float(rows[0][0]), float(rows[0][1])


def party(store: Store, task: tk.Task) -> inspection.Party:
    """Who a task is about, from the registry: the enterprise (name, address, legal
    representative, contact) or, for a drinking-water source, the source's site."""
    if task.uscc:
        rows = store.query(
            "SELECT e.name, e.address, e.legal_rep, e.contact, e.phone, e.lat, e.lon, "
            "r.name AS region FROM enterprises e LEFT JOIN regions r ON r.code = e.region "
            "WHERE e.uscc = ?",
            [task.uscc],
        )
        if rows:
            r = rows[0]
            return inspection.Party(
                name=r["name"], uscc=task.uscc, address=r["address"] or "",
                legal_rep=r["legal_rep"] or "", contact=r["contact"] or "",
                phone=r["phone"] or "", region=r["region"] or "", lat=r["lat"], lon=r["lon"],
            )  # fmt: skip
    rows = store.query(
        "SELECT s.name, s.lat, s.lon, r.name AS region FROM sites s "
        "LEFT JOIN regions r ON r.code = s.region WHERE s.id = ?",
        [task.site_code],
    )
    if rows:
        r = rows[0]
        return inspection.Party(name=r["name"], uscc=task.uscc, region=r["region"] or "",
                                lat=r["lat"], lon=r["lon"])  # fmt: skip
    return inspection.Party(name=task.uscc or task.site_code, uscc=task.uscc)


def escalate(
    store: Store, now: dt.datetime | None = None, policy: PolicyArg = None,
    sender: notify.Sender | None = None,
) -> list[tk.Task]:  # fmt: skip
    """Escalate every overdue live task (the periodic task calls this), each by the policy
    version it was opened under."""
    at = _now(now)
    out = []
    with store.transaction() as tx:
        rows = tx.fetch(
            "SELECT body, region, policy_version FROM enforcement_task "
            "WHERE state <> 'closed' AND deadline < ?",
            [at],
        )
        log = _TailLog(_last_event(tx))
        notes: list[notify.Notification] = []
        for body, region, version in rows:
            for task, ev in tk.escalate_overdue(
                [task_from_dict(json.loads(body))], at, policy_of(policy, version), log
            ):
                notes += notify.notifications_for(ev, task)
                _write_task(tx, task, region, at)
                out.append(task)
        _write_events(tx, log.new)
        _write_notes(tx, notes, _sender_name(sender), at)
    _send(sender, notes)
    return out


#: Roles that may dismiss an alert without a task (inspectors and their supervisors).
DISMISSERS = (tk.Role.SUPERVISOR, tk.Role.INSPECTOR)


def dismiss_alert(
    store: Store, alert_id: str, actor: tk.Actor, reason: str, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Dismiss a new alert as not needing a task (e.g. a known calibration), with its reason.

    The dismissal is an audit event chained like every other; the alert's snapshot records the
    new state. Only staff may dismiss (:data:`DISMISSERS`); an alert already tasked or
    dismissed is refused (:class:`~bishui.errors.ConflictError`, via :func:`alerts.dismiss`).
    """
    from bishui.errors import PermissionDenied

    if actor.role not in DISMISSERS:
        raise PermissionDenied(f"{actor.role} may not dismiss alerts")
    at = _now(now)
    with store.transaction() as tx:
        cols = ", ".join(_ALERT_COLS)
        found = tx.fetch(f"SELECT {cols} FROM enforcement_alert WHERE id = ?", [alert_id])  # noqa: S608
        if not found:
            raise NotFoundError(f"alert {alert_id} does not exist")
        r = dict(zip(_ALERT_COLS, found[0], strict=True))
        alert = al.Alert(
            id=r["id"], rule_id=r["rule_id"], severity=r["severity"], site_code=r["site_code"],
            outlet_id=r["outlet_id"] or "", pollutant=r["pollutant"], start=r["start_ts"],
            end=r["end_ts"], uscc=r["uscc"] or "", created=r["created"],
            finding=json.loads(r["finding"]) if r["finding"] else {},
            state=al.AlertState(r["state"]), task_id=r["task_id"] or "",
            subject_kind=r["subject_kind"],
        )  # fmt: skip
        log = _TailLog(_last_event(tx))
        new = al.dismiss(alert, reason, at, log, actor)
        _write_events(tx, log.new)
        tx.execute("UPDATE enforcement_alert SET state = ? WHERE id = ?",
                    [str(new.state), alert_id])  # fmt: skip
    return {"id": alert_id, "state": str(new.state), "reason": reason}
