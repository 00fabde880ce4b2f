"""Citizen reports in the store, and their link to the enforcement loop.

:func:`submit` stores a checked report with a fresh follow-up code (kept only as its SHA-256)
and returns the code — the one time it is known. Staff :func:`accept` a report (it becomes an
alert through enforcement's intake, :func:`bishui.enforcement.service.raise_alerts`; at the
loop's ``task_min_severity`` the alert opens a task at once) or :func:`reject` it with a reason
category. :func:`sync` moves a report along as enforcement moves its alert and task (read with
enforcement's public readers, :func:`~bishui.enforcement.service.list_alerts` and
:func:`~bishui.enforcement.service.get_task`); :func:`status` syncs one report and returns
what its reporter may see.

Every change is a ``participation_audit`` event, hash-chained like enforcement's log (the
workflows' shared :class:`~bishui.enforcement.audit_table.AuditTable`), written in the
transaction that changes the report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterable, Mapping
from typing import Any

from bishui.enforcement import service as enf
from bishui.enforcement.audit_table import AuditTable
from bishui.enforcement.intake import AlertIn
from bishui.enforcement.tasks import CITIZEN_REPORT
from bishui.errors import ConflictError, InputError, NotFoundError, PermissionDenied
from bishui.participation import reports as rp
from bishui.participation.reports import Event, Rules, State
from bishui.store import Store, Transaction
from bishui.timeutil import now_beijing

#: The enforcement rule id of an alert raised from a citizen report.
RULE_ID = "CITIZEN_REPORT"
#: Web roles that may triage (accept or reject) a report: as for dismissing an alert.
TRIAGERS = ("admin", "inspector")
#: The enforcement loop's options when none are given (the model city's).
_LOOP = enf.LoopOptions()
SEVERITIES = ("low", "medium", "high")

_LIST_COLS = (
    "id, created, updated, lat, lon, region, description, contact, photo_type, photo_size, "
    "photo_sha256, state, alert_id, task_id, outcome"
)


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or now_beijing()).replace(tzinfo=None, microsecond=0)


# ------------------------------------------------------------------------- the audit chain
AUDIT = AuditTable("participation_audit")
#: The events in order (of one subject, ``report:<id>``).
audit_events = AUDIT.events
#: Check the whole chain (:class:`ConflictError` naming the first break); the event count.
verify_audit = AUDIT.verify


# ------------------------------------------------------------------------- submitting
def _region_of(tx: Transaction, lat: float, lon: float) -> str | None:
    """The region of the registered site nearest to the point (a choice: the registry has
    no boundaries; staff may correct it when they accept the report)."""
    best: tuple[float, str | None] | None = None
    for s_lat, s_lon, region in tx.fetch(
        "SELECT lat, lon, region FROM sites WHERE lat IS NOT NULL AND lon IS NOT NULL"
    ):
        d = (float(s_lat) - lat) ** 2 + ((float(s_lon) - lon) * math.cos(math.radians(lat))) ** 2
        if best is None or d < best[0]:
            best = (d, region)
    return best[1] if best else None


def _next_id(tx: Transaction, at: dt.datetime) -> str:
    rows = tx.fetch("SELECT id FROM participation_report WHERE id LIKE ?", [f"R{at:%Y%m%d}-%"])
    n = max((int(r[0].rsplit("-", 1)[1]) for r in rows), default=0) + 1
    return f"R{at:%Y%m%d}-{n:04d}"


def submit(
    store: Store, rules: Rules, sub: rp.Submission, *, now: dt.datetime | None = None
) -> tuple[str, str]:
    """Store a checked report (state ``received``); returns ``(report id, follow-up code)``.

    The code is returned once and stored only as its hash; the audit event records the
    report's id and the photo's hash, never the contact or the code.
    """
    at = _now(now)
    photo = sub.photo or b""
    digest = hashlib.sha256(photo).hexdigest() if photo else ""
    with store.transaction() as tx:
        report_id = _next_id(tx, at)
        region = _region_of(tx, sub.lat, sub.lon)
        for _ in range(5):  # a collision in a 2^50+ space: practically never; retried anyway
            code = rp.new_code(rules)
            if not tx.fetch("SELECT 1 FROM participation_report WHERE code_hash = ?",
                            [rp.code_hash(code)]):  # fmt: skip
                break
        else:  # pragma: no cover
            raise ConflictError("could not draw an unused follow-up code")
        tx.execute(
            "INSERT INTO participation_report (id, code_hash, created, updated, lat, lon, region, "
            "description, contact, photo, photo_type, photo_size, photo_sha256, state, alert_id, "
            "task_id, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, '')",
            [report_id, rp.code_hash(code), at, at, sub.lat, sub.lon, region, sub.description,
             sub.contact, photo or None, sub.photo_type, len(photo), digest,
             str(State.RECEIVED)],
        )  # fmt: skip
        where = {"region": region, "photo_sha256": digest, "lat": sub.lat, "lon": sub.lon}
        AUDIT.append(
            tx, at, "public", "public", f"report:{report_id}", "submit", "", State.RECEIVED, where
        )
    return report_id, code


# ------------------------------------------------------------------------- reading
def _row(tx: Transaction, report_id: str) -> dict[str, Any]:
    cols = [c.strip() for c in _LIST_COLS.split(",")]
    row = tx.fetch_one(f"SELECT {_LIST_COLS} FROM participation_report WHERE id = ?", [report_id])  # noqa: S608
    if row is None:
        raise NotFoundError(f"report {report_id} does not exist")
    return dict(zip(cols, row, strict=True))


def get_report(store: Store, report_id: str) -> dict[str, Any]:
    """One report as staff see it (contact included, the photo's bytes not), with its events."""
    rows = store.query(f"SELECT {_LIST_COLS} FROM participation_report WHERE id = ?", [report_id])  # noqa: S608
    if not rows:
        raise NotFoundError(f"report {report_id} does not exist")
    out = _jsonable(rows[0])
    out["events"] = [
        {"seq": e.seq, "at": e.time.isoformat(), "actor": e.actor, "role": e.role,
         "action": e.action, "from": e.from_state, "to": e.to_state, "payload": dict(e.payload)}
        for e in audit_events(store, f"report:{report_id}")
    ]  # fmt: skip
    return out


def _jsonable(r: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in r.items()}


def list_reports(
    store: Store, *, state: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """Reports for staff, newest first, with the total."""
    where, params = "TRUE", []
    if state:
        if state not in set(State):
            raise InputError("state", "one of " + ", ".join(State), state)
        where, params = "state = ?", [state]
    total, rows = store.page(
        f"SELECT {_LIST_COLS} FROM participation_report WHERE {where} "  # noqa: S608
        "ORDER BY created DESC, id DESC",
        params,
        limit=limit,
        offset=offset,
    )
    return total, [_jsonable(r) for r in rows]


def photo(store: Store, report_id: str) -> tuple[bytes, str]:
    rows = store.query(
        "SELECT photo, photo_type, photo_sha256 FROM participation_report WHERE id = ?",
        [report_id],
    )
    if not rows or rows[0]["photo"] is None:
        raise NotFoundError(f"report {report_id} has no photo")
    content = bytes(rows[0]["photo"])
    if hashlib.sha256(content).hexdigest() != rows[0]["photo_sha256"]:
        raise ConflictError(f"report {report_id}: the photo no longer matches its SHA-256")
    return content, str(rows[0]["photo_type"])


# ------------------------------------------------------------------------- triage
def _move(
    tx: Transaction, report: Mapping[str, Any], event: Event, at: dt.datetime, actor: str,
    role: str, payload: Mapping[str, Any] | None = None, **columns: Any,
) -> State:  # fmt: skip
    """One step of the machine, written with its audit event; refused if the report moved."""
    old = State(report["state"])
    new = rp.step(report["id"], old, event)
    sets = ", ".join(f"{k} = ?" for k in columns)
    tx.execute(
        f"UPDATE participation_report SET state = ?, updated = ?{', ' if sets else ''}{sets} "  # noqa: S608
        "WHERE id = ? AND state = ?",
        [str(new), at, *columns.values(), report["id"], str(old)],
    )
    AUDIT.append(tx, at, actor, role, f"report:{report['id']}", str(event), old, new, payload)
    return new


def _alert_in(report: Mapping[str, Any], severity: str) -> AlertIn:
    created: dt.datetime = report["created"]
    return AlertIn(
        key=f"citizen:{report['id']}", rule_id=RULE_ID, severity=severity,
        site_code=report["id"], pollutant="", start=created, end=created,
        evidence={"report_id": report["id"], "lat": report["lat"], "lon": report["lon"],
                  "description": str(report["description"])[:500],
                  "photo_sha256": report["photo_sha256"], "photo_type": report["photo_type"]},
        subject_kind=CITIZEN_REPORT, region=report["region"], subject_name=report["id"],
    )  # fmt: skip


def accept(
    store: Store, report_id: str, actor: str, role: str, *, severity: str = "",
    region: str | None = None, rules: Rules | None = None, now: dt.datetime | None = None,
    options: enf.LoopOptions = _LOOP,
) -> dict[str, Any]:  # fmt: skip
    """Accept a received report: it becomes an enforcement alert (and, at the loop's
    ``task_min_severity``, a task). *region* corrects the region the point was given."""
    if role not in TRIAGERS:
        raise PermissionDenied(f"{role} may not triage citizen reports")
    rules = rules or rp.load_rules()
    severity = severity or rules.default_severity
    if severity not in SEVERITIES:
        raise InputError("severity", "one of " + ", ".join(SEVERITIES), severity)
    at = _now(now)
    with store.transaction() as tx:
        report = _row(tx, report_id)
        if region is not None:
            if not tx.fetch("SELECT 1 FROM regions WHERE code = ?", [region]):
                raise InputError("region", "a region code of the registry", region)
            report["region"] = region
        _move(tx, report, Event.ACCEPT, at, actor, role,
              {"severity": severity, "region": report["region"]},
              alert_id=f"citizen:{report_id}", region=report["region"])  # fmt: skip
    _raise(store, report, severity, at, options)
    sync(store, [report_id], now=at)
    return status_for_staff(store, report_id)


def _raise(
    store: Store, report: Mapping[str, Any], severity: str, at: dt.datetime,
    options: enf.LoopOptions,
) -> None:  # fmt: skip
    enf.raise_alerts(store, [_alert_in(report, severity)], {report["id"]: report["region"]},
                     now=at, options=options)  # fmt: skip


def reject(
    store: Store, report_id: str, actor: str, role: str, reason: str, *,
    rules: Rules | None = None, now: dt.datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Refuse a received report with one of the rules' reason categories (the public sees
    the category; staff may add a note, kept in the audit log only)."""
    if role not in TRIAGERS:
        raise PermissionDenied(f"{role} may not triage citizen reports")
    rules = rules or rp.load_rules()
    if reason not in rules.reject_reasons:
        raise InputError("reason", "one of " + ", ".join(rules.reject_reasons), reason)
    at = _now(now)
    with store.transaction() as tx:
        report = _row(tx, report_id)
        _move(tx, report, Event.REJECT, at, actor, role, {"reason": reason},
              outcome=f"rejected:{reason}")  # fmt: skip
    return status_for_staff(store, report_id)


def status_for_staff(store: Store, report_id: str) -> dict[str, Any]:
    r = get_report(store, report_id)
    return {k: r[k] for k in ("id", "state", "alert_id", "task_id", "outcome", "region")}


# ------------------------------------------------------------------------- following enforcement
def _enforcement_event(
    report: Mapping[str, Any], store: Store
) -> tuple[Event, dict[str, Any]] | None:
    """The next event the enforcement loop implies for *report*, or None (nothing new)."""
    state = State(report["state"])
    alert_id = report["alert_id"]
    if not alert_id:
        return None
    if state is State.ACCEPTED:
        _, rows = enf.list_alerts(store, "id = ?", [alert_id], limit=1)
        if not rows:
            return None
        a = rows[0]
        if a["state"] == "tasked" and a["task_id"]:
            return Event.TASK_OPENED, {"task_id": a["task_id"]}
        if a["state"] == "dismissed":
            return Event.ALERT_DISMISSED, {"outcome": "not_substantiated"}
        return None
    if not report["task_id"]:
        return None
    task, _ = enf.get_task(store, report["task_id"])
    closed = str(task.state) == "closed"
    if state is State.IN_PROGRESS and closed:
        kind = str((task.disposal or {}).get("kind") or "")
        outcome = kind if kind in rp.OUTCOME_LABELS else "not_substantiated"
        return Event.TASK_CLOSED, {"outcome": outcome}
    if state is State.CLOSED and not closed:
        return Event.TASK_REOPENED, {"outcome": ""}
    return None


def sync(
    store: Store, report_ids: Iterable[str] | None = None, *, now: dt.datetime | None = None
) -> int:
    """Move reports along as enforcement moved their alerts and tasks; the number of steps.

    A report accepted whose alert is missing (the intake failed after the acceptance was
    written) has its alert raised again (the intake deduplicates by the alert's key).
    """
    at = _now(now)
    if report_ids is None:
        # a rejected report or a dismissed alert is final: only the others can still move
        found = store.query(
            "SELECT id FROM participation_report WHERE alert_id IS NOT NULL "
            "AND (state <> 'closed' OR task_id IS NOT NULL) ORDER BY id"
        )
        ids = [r["id"] for r in found]
    else:
        ids = list(report_ids)
    steps = 0
    for report_id in ids:
        for _ in range(4):  # accepted → in_progress → closed in one call at most
            rows = store.query(f"SELECT {_LIST_COLS} FROM participation_report WHERE id = ?",  # noqa: S608
                               [report_id])  # fmt: skip
            if not rows:
                raise NotFoundError(f"report {report_id} does not exist")
            report = rows[0]
            if report["state"] == State.ACCEPTED and report["alert_id"]:
                _, found = enf.list_alerts(store, "id = ?", [report["alert_id"]], limit=1)
                if not found:
                    _raise(store, report, "medium", at, _LOOP)
            nxt = _enforcement_event(report, store)
            if nxt is None:
                break
            event, info = nxt
            columns: dict[str, Any] = {}
            if "task_id" in info:
                columns["task_id"] = info["task_id"]
            if "outcome" in info:
                columns["outcome"] = info["outcome"]
            with store.transaction() as tx:
                current = _row(tx, report_id)
                if current["state"] != report["state"]:
                    continue  # another writer moved it: look again
                _move(tx, current, event, at, "system", "system", info, **columns)
            steps += 1
    return steps


def find_by_code(store: Store, code: str, rules: Rules | None = None) -> str:
    """The report id of a follow-up code (NotFoundError for an unknown one)."""
    rules = rules or rp.load_rules()
    canonical = rp.normalise_code(code, rules)
    rows = store.query("SELECT id FROM participation_report WHERE code_hash = ?",
                       [rp.code_hash(canonical)])  # fmt: skip
    if not rows:
        raise NotFoundError("no report has this follow-up code")
    return str(rows[0]["id"])


def status(
    store: Store, code: str, *, lang: str = "zh", rules: Rules | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """What the holder of *code* may see of his report (synced with enforcement first)."""
    rules = rules or rp.load_rules()
    report_id = find_by_code(store, code, rules)
    sync(store, [report_id], now=now)
    row = store.query(
        "SELECT p.created, p.state, p.outcome, r.name AS region_name, r.name_en "
        "FROM participation_report p LEFT JOIN regions r ON r.code = p.region WHERE p.id = ?",
        [report_id],
    )[0]
    if lang != "zh":
        row["region_name"] = row["name_en"] or row["region_name"]
    row["reason_labels"] = rules.reject_reasons
    events: list[Mapping[str, Any]] = [
        {"to_state": e.to_state, "ts": e.time} for e in audit_events(store, f"report:{report_id}")
    ]
    return rp.public_view(row, events, lang)
