"""The enforcement task and its state machine.

::

    open ─assign─▶ assigned ─visit─▶ in_progress ─dispose─▶ disposed ─close─▶ closed
                   assigned ─dispose (false alarm only)───▶ disposed
    in_progress ─dispose (a kind needing approval)─▶ awaiting_approval
    awaiting_approval ─approve (another user, an approver role)─▶ disposed
    awaiting_approval ─reject (with a reason)─▶ in_progress
    disposed ─close (closure approval on)─▶ awaiting_closure
    awaiting_closure ─approve (another user, an approver role)─▶ closed
    awaiting_closure ─reject (with a reason)─▶ disposed
    closed ─reopen (with a reason)─▶ in_progress
    self-loops: assign (reassign), visit, check_in, add_evidence, submit/verify_rectification,
    escalate (any live state, when overdue)

The approval step (审批): a disposal whose kind the policy lists under ``[approval]``
(``penalty`` in the model city) does not take effect when it is recorded: the task waits in
``awaiting_approval`` until a user of an approver role (``chief``, 科长 — the 承办机构负责人
of the 案件处理内部审批表 in 环境行政执法文书制作指南, 2016) who is not the one who disposed
approves it, or rejects it back to ``in_progress``. So no single inspector disposes of a
penalty and closes the task alone (:func:`_g_complete` also refuses to close an unapproved
one).

Closure approval (结案审批): when the policy's ``[approval] closure`` is on (the model city),
``close`` does not close the task: it asks for the closure, and the task waits in
``awaiting_closure`` until a user of an approver role who is not the one who asked approves it
(→ ``closed``) or rejects it with a reason (→ ``disposed``, the disposal kept: more
verification, then ``close`` again). 结案 is the last step of the 案件处理内部审批 of the same
guide, approved by the 承办机构负责人 like the decision itself. So with the policy on, no
inspector disposes, verifies and closes alone.

Which state ``dispose`` and ``close`` lead to is the one routing rule outside the table
(:func:`_next_state`).

Transitions are the data table :data:`TRANSITIONS` (state, action) → (next state, guards);
anything not in it is refused with :class:`TransitionRefused` (a ``ConflictError``) naming the
transition, as is a transition whose guard fails. Who may act is :data:`PERMISSIONS`.

``files`` (of ``visit``, ``add_evidence``, ``submit_rectification``) are records of uploaded
files — id and SHA-256, as :func:`bishui.enforcement.evidence.refs` makes them from ids —
never bare names, so each event fixes exactly which bytes it cites.

A task is about a subject (:attr:`Task.subject_kind`): an enterprise's outlet, or a
drinking-water source (:data:`WATER_SOURCE`, 监察监测联动 on a source alert). A source has no
enterprise, so on its tasks the enterprise role may do nothing, the inspector records the
rectification of the cause (:data:`WATER_PERMISSIONS`), and a penalty disposal is refused (the
penalty articles of 排污许可管理条例 apply to a permit holder; only a rectification order or a
false alarm disposes of a source task).

A :class:`Task` is immutable: :func:`apply` returns the next task and records one
:class:`~bishui.enforcement.audit.AuditEvent`; :func:`replay` rebuilds a task from its events,
so the store keeps only the log and the latest snapshot.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from bishui.enforcement.audit import AuditEvent, AuditLog
from bishui.enforcement.policy import Policy
from bishui.errors import ConflictError, InputError, PermissionDenied


class State(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    AWAITING_APPROVAL = "awaiting_approval"
    DISPOSED = "disposed"
    AWAITING_CLOSURE = "awaiting_closure"
    CLOSED = "closed"


class Action(StrEnum):
    ASSIGN = "assign"
    VISIT = "visit"
    ADD_EVIDENCE = "add_evidence"
    DISPOSE = "dispose"
    SUBMIT_RECTIFICATION = "submit_rectification"
    VERIFY_RECTIFICATION = "verify_rectification"
    CLOSE = "close"
    ESCALATE = "escalate"
    REOPEN = "reopen"
    APPROVE = "approve"
    REJECT = "reject"
    CHECK_IN = "check_in"


class Disposal(StrEnum):
    RECTIFICATION_ORDER = "rectification_order"  # 责令改正
    PENALTY = "penalty"  # 行政处罚
    FALSE_ALARM = "false_alarm"  # 误报排除


class Role(StrEnum):
    INSPECTOR = "inspector"
    SUPERVISOR = "supervisor"
    ENTERPRISE = "enterprise"
    SYSTEM = "system"
    CHIEF = "chief"  # 科长: approves the disposals the policy lists under [approval]


#: Subject kinds of alerts and tasks (``subject_kind`` in the store).
OUTLET = "outlet"
WATER_SOURCE = "water_source"
#: A motor-vehicle emission inspection station (机动车排放检验机构): an enterprise (its
#: operator's credit code) whose duty is 《大气污染防治法》 Art. 54 and whose false reports are
#: penalised under Art. 112 para. 1 — not an outlet under 排污许可管理条例.
INSPECTION_STATION = "inspection_station"
#: A river or lake section of the chief system (河长制/湖长制, :mod:`bishui.rivers`): a problem
#: found on patrol. No enterprise (``uscc`` empty); worked like a drinking-water source task.
RIVER_SECTION = "river_section"
#: A project of the programme register (``bishui.programmes``): 督办 of an overdue milestone. No
#: enterprise: acted on as a drinking-water source task is (:data:`NO_ENTERPRISE_KINDS`).
PROJECT = "project"
#: A citizen's report (公众举报, bishui.participation): a place, no enterprise named; acted on
#: like a drinking-water source (no enterprise to submit a rectification).
CITIZEN_REPORT = "citizen_report"
SUBJECT_KINDS = (OUTLET, WATER_SOURCE, INSPECTION_STATION, RIVER_SECTION, PROJECT, CITIZEN_REPORT)
#: Subject kinds with no enterprise: :data:`WATER_PERMISSIONS` apply, no penalty disposal.
NO_ENTERPRISE_KINDS = (WATER_SOURCE, RIVER_SECTION, PROJECT, CITIZEN_REPORT)
#: Why a penalty is refused on a task of each kind with no enterprise (each sentence has its
#: Chinese in the web's display labels).
NO_PENALTY = {
    WATER_SOURCE: "a drinking-water source has no enterprise to penalise: dispose by "
    "rectification_order (of the cause) or false_alarm",
    RIVER_SECTION: "a river or lake section has no enterprise to penalise: dispose by "
    "rectification_order (of the cause) or false_alarm",
    PROJECT: "a project task has no enterprise to penalise: dispose by rectification_order "
    "(of the cause) or false_alarm",
    CITIZEN_REPORT: "a citizen report names no enterprise to penalise: dispose by "
    "rectification_order or false_alarm",
}
#: Subject kinds whose subject is an enterprise (a credit code; its enterprise users see them).
ENTERPRISE_KINDS = (OUTLET, INSPECTION_STATION)

S, A = State, Action
_LIVE = (S.OPEN, S.ASSIGNED, S.IN_PROGRESS, S.AWAITING_APPROVAL, S.DISPOSED, S.AWAITING_CLOSURE)

#: (state, action) → (next state, guard names). The whole machine; nothing else moves a task.
TRANSITIONS: dict[tuple[State, Action], tuple[State, tuple[str, ...]]] = {
    (S.OPEN, A.ASSIGN): (S.ASSIGNED, ("assignee",)),
    (S.ASSIGNED, A.ASSIGN): (S.ASSIGNED, ("assignee",)),
    (S.IN_PROGRESS, A.ASSIGN): (S.IN_PROGRESS, ("assignee",)),
    (S.ASSIGNED, A.VISIT): (S.IN_PROGRESS, ("visit",)),
    (S.IN_PROGRESS, A.VISIT): (S.IN_PROGRESS, ("visit",)),
    (S.ASSIGNED, A.CHECK_IN): (S.ASSIGNED, ("location",)),
    (S.IN_PROGRESS, A.CHECK_IN): (S.IN_PROGRESS, ("location",)),
    (S.ASSIGNED, A.ADD_EVIDENCE): (S.ASSIGNED, ("evidence",)),
    (S.IN_PROGRESS, A.ADD_EVIDENCE): (S.IN_PROGRESS, ("evidence",)),
    (S.DISPOSED, A.ADD_EVIDENCE): (S.DISPOSED, ("evidence",)),
    (S.AWAITING_APPROVAL, A.ADD_EVIDENCE): (S.AWAITING_APPROVAL, ("evidence",)),
    (S.AWAITING_APPROVAL, A.APPROVE): (S.DISPOSED, ("approver",)),
    (S.AWAITING_APPROVAL, A.REJECT): (S.IN_PROGRESS, ("approver", "reason")),
    (S.ASSIGNED, A.DISPOSE): (S.DISPOSED, ("disposal", "desk_dismissal_only")),
    (S.IN_PROGRESS, A.DISPOSE): (S.DISPOSED, ("disposal",)),
    (S.DISPOSED, A.SUBMIT_RECTIFICATION): (S.DISPOSED, ("rectification_ordered", "evidence")),
    (S.DISPOSED, A.VERIFY_RECTIFICATION): (S.DISPOSED, ("rectification_submitted",)),
    (S.DISPOSED, A.CLOSE): (S.CLOSED, ("disposal_complete",)),
    (S.AWAITING_CLOSURE, A.ADD_EVIDENCE): (S.AWAITING_CLOSURE, ("evidence",)),
    (S.AWAITING_CLOSURE, A.APPROVE): (S.CLOSED, ("approver",)),
    (S.AWAITING_CLOSURE, A.REJECT): (S.DISPOSED, ("approver", "reason")),
    **{(s, A.ESCALATE): (s, ("overdue",)) for s in _LIVE},
    (S.CLOSED, A.REOPEN): (S.IN_PROGRESS, ("reason",)),
}

#: Roles allowed to take each action (the enterprise only on its own tasks).
PERMISSIONS: dict[Action, frozenset[Role]] = {
    A.ASSIGN: frozenset({Role.SUPERVISOR, Role.SYSTEM}),
    A.VISIT: frozenset({Role.INSPECTOR, Role.SUPERVISOR}),
    A.ADD_EVIDENCE: frozenset({Role.INSPECTOR, Role.SUPERVISOR}),
    A.DISPOSE: frozenset({Role.INSPECTOR, Role.SUPERVISOR}),
    A.SUBMIT_RECTIFICATION: frozenset({Role.ENTERPRISE}),
    A.VERIFY_RECTIFICATION: frozenset({Role.INSPECTOR, Role.SUPERVISOR}),
    A.CLOSE: frozenset({Role.INSPECTOR, Role.SUPERVISOR}),
    A.ESCALATE: frozenset({Role.SYSTEM, Role.SUPERVISOR}),
    A.REOPEN: frozenset({Role.SUPERVISOR}),
    A.CHECK_IN: frozenset({Role.INSPECTOR, Role.SUPERVISOR}),
    # who of these may approve is the policy's [approval] roles (the model city: chief only)
    A.APPROVE: frozenset({Role.CHIEF, Role.SUPERVISOR}),
    A.REJECT: frozenset({Role.CHIEF, Role.SUPERVISOR}),
}

#: Who may act on a drinking-water source task: no enterprise; the rectification of the cause
#: (by whoever is responsible in the catchment) is recorded by the inspector or supervisor.
WATER_PERMISSIONS: dict[Action, frozenset[Role]] = {
    **{a: roles - {Role.ENTERPRISE} for a, roles in PERMISSIONS.items()},
    A.SUBMIT_RECTIFICATION: frozenset({Role.INSPECTOR, Role.SUPERVISOR}),
}


class TransitionRefused(ConflictError):
    """A transition not in the table, or whose guard failed: names the transition."""

    def __init__(self, task_id: str, state: State, action: Action, why: str) -> None:
        self.task_id, self.state, self.action, self.why = task_id, state, action, why
        super().__init__(f"task {task_id}: {action} from {state} refused: {why}")


@dataclass(frozen=True)
class Actor:
    id: str
    role: Role
    uscc: str = ""  # the enterprise an enterprise user belongs to


@dataclass(frozen=True)
class Task:
    """An enforcement task. ``visits``, ``evidence`` and ``rectifications`` are tuples of
    plain dicts (JSON-ready); ``disposal`` is the dict given to ``dispose``."""

    id: str
    alert_ids: tuple[str, ...]
    uscc: str
    site_code: str
    severity: str
    title: str
    created: dt.datetime
    deadline: dt.datetime
    state: State = State.OPEN
    assignee: str = ""
    assignee_kind: str = ""  # "inspector" | "team"
    visits: tuple[Mapping[str, Any], ...] = ()
    evidence: tuple[Mapping[str, Any], ...] = ()
    disposal: Mapping[str, Any] | None = None
    rectifications: tuple[Mapping[str, Any], ...] = ()
    rectification_verified: bool = False
    approval: Mapping[str, Any] | None = None  # the approve event's payload, by and at
    closure: Mapping[str, Any] | None = None  # the close request awaiting approval, by and at
    closure_approval: Mapping[str, Any] | None = None  # the closure's approve event, by and at
    checkins: tuple[Mapping[str, Any], ...] = ()
    escalation_level: int = 0
    closed_at: dt.datetime | None = None
    reopen_count: int = 0
    suggested_article: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)
    subject_kind: str = OUTLET  # OUTLET | WATER_SOURCE (then uscc is "")
    #: The policy version the task was opened under (it is judged by it: deadlines, penalty
    #: brackets, approvers); "" for a task opened before tasks recorded it (→ the earliest).
    policy_version: str = ""

    @property
    def subject(self) -> str:
        return f"task:{self.id}"

    def is_overdue(self, now: dt.datetime) -> bool:
        return self.state is not State.CLOSED and now > self.deadline

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the API (datetimes ISO, Decimals as strings)."""
        d = _jsonable({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        d["allowed_actions"] = [str(a) for a in allowed(self.state)]
        return d


def new_task(
    task_id: str, alert_ids: Iterable[str], uscc: str, site_code: str, severity: str, title: str,
    created: dt.datetime, policy: Policy, log: AuditLog, actor: Actor,
    suggested_article: str = "", subject_kind: str = OUTLET,
) -> Task:  # fmt: skip
    """Open a task (state ``open``) with its deadline from the policy, and log it."""
    if not task_id:
        raise InputError("task_id", "non-empty", task_id)
    ids = tuple(alert_ids)
    if not ids:
        raise InputError("alert_ids", "a task comes from at least one alert", ids)
    if subject_kind not in SUBJECT_KINDS:
        raise InputError("subject_kind", "one of " + ", ".join(SUBJECT_KINDS), subject_kind)
    if subject_kind == OUTLET and not uscc:
        raise InputError("uscc", "an outlet task names its enterprise", uscc)
    if subject_kind == INSPECTION_STATION and not uscc:
        raise InputError("uscc", "an inspection-station task names its operator", uscc)
    if subject_kind in NO_ENTERPRISE_KINDS and uscc:
        raise InputError("uscc", f"a {subject_kind} task has no enterprise", uscc)
    t = Task(task_id, ids, uscc, site_code, severity, title, created,
             policy.deadline(severity, created), suggested_article=suggested_article,
             subject_kind=subject_kind, policy_version=policy.version)  # fmt: skip
    body = {"alert_ids": list(ids), "uscc": uscc, "site_code": site_code, "severity": severity,
            "title": title, "deadline": t.deadline.isoformat(),
            "suggested_article": suggested_article}  # fmt: skip
    if subject_kind != OUTLET:  # outlet events keep the payload they always had
        body["subject_kind"] = subject_kind
    body["policy_version"] = policy.version
    log.append(created, actor.id, actor.role, t.subject, "create", "", t.state, body)
    return t


# ---- guards: each returns None if satisfied, else the reason ---------------------------------
Payload = Mapping[str, Any]


def _g_assignee(t: Task, p: Payload, now: dt.datetime, pol: Policy, who: Actor) -> str | None:
    if not str(p.get("assignee", "")).strip():
        return "an assignee (inspector or team) is required"
    if p.get("kind", "inspector") not in ("inspector", "team"):
        return "assignee kind is inspector or team"
    return None


def _g_visit(t: Task, p: Payload, now: dt.datetime, pol: Policy, who: Actor) -> str | None:
    if not str(p.get("note", "")).strip():
        return "a site visit records a note"
    return _files_problem(p.get("files"), required=False)


def _g_location(t: Task, p: Payload, now: dt.datetime, pol: Policy, who: Actor) -> str | None:
    """A check-in: WGS 84 latitude and longitude in range, accuracy (m) not negative."""
    for key, bound in (("lat", 90), ("lon", 180)):
        v = p.get(key)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            return f"{key}: a number is required"
        if not -bound <= v <= bound:
            return f"{key}: between -{bound} and {bound}"
    acc = p.get("accuracy")
    if acc is not None and (
        isinstance(acc, bool) or not isinstance(acc, int | float) or not 0 <= acc < math.inf
    ):
        return "accuracy: metres, not negative"
    return None


#: A file id (``bishui.enforcement.evidence.file_id``) and a SHA-256, as lower-case hex.
FILE_ID = re.compile(r"^[0-9a-f]{32}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def is_file_ref(f: Any) -> bool:
    """Whether *f* is the record of an uploaded file (``evidence.refs``): id and SHA-256."""
    return (
        isinstance(f, Mapping)
        and isinstance(f.get("id"), str)
        and bool(FILE_ID.match(f["id"]))
        and isinstance(f.get("sha256"), str)
        and bool(SHA256.match(f["sha256"]))
    )


def _files_problem(files: Any, required: bool) -> str | None:
    # The machine sees files only as the service resolved them (bishui.enforcement.evidence):
    # records with the stored SHA-256, so the audit event fixes exactly which bytes are meant.
    if not files:
        return "evidence cites at least one uploaded file" if required else None
    if not isinstance(files, list | tuple) or not all(is_file_ref(f) for f in files):
        return "files are uploaded evidence files (id and sha256), not names"
    return None


def _g_evidence(t: Task, p: Payload, now: dt.datetime, pol: Policy, who: Actor) -> str | None:
    return _files_problem(p.get("files"), required=True)


def _g_disposal(t: Task, p: Payload, now: dt.datetime, pol: Policy, who: Actor) -> str | None:
    kind = p.get("kind")
    if kind == Disposal.FALSE_ALARM:
        return None if str(p.get("reason", "")).strip() else "a false alarm states its reason"
    if kind == Disposal.RECTIFICATION_ORDER:
        due = p.get("due")
        if not isinstance(due, dt.date) or due < now.date():
            return "a rectification order has a due date, not in the past"
        return None
    if kind == Disposal.PENALTY:
        if t.subject_kind in NO_ENTERPRISE_KINDS:
            return NO_PENALTY[t.subject_kind]
        if not t.evidence:
            return "a penalty needs recorded evidence (条例 Art. 29)"
        try:
            pol.check_penalty(str(p.get("article", "")), p.get("amount"))  # type: ignore[arg-type]
        except InputError as e:
            return f"{e.field}: {e.rule}"
        return None
    return "disposal kind is rectification_order, penalty or false_alarm"


def _g_desk(t: Task, p: Payload, now: dt.datetime, pol: Policy, who: Actor) -> str | None:
    if p.get("kind") != Disposal.FALSE_ALARM:
        return "without a site visit only a false-alarm dismissal is possible"
    return None


def _g_rect_ordered(t: Task, p: Payload, now: dt.datetime, pol: Policy, who: Actor) -> str | None:
    if not t.disposal or t.disposal.get("kind") != Disposal.RECTIFICATION_ORDER:
        return "no rectification was ordered"
    return None


def _g_rect_submitted(t: Task, p: Payload, now: dt.datetime, pol: Policy, who: Actor) -> str | None:
    return None if t.rectifications else "the enterprise has submitted no rectification"


def _g_complete(t: Task, p: Payload, now: dt.datetime, pol: Policy, who: Actor) -> str | None:
    if t.disposal is None:
        return "no disposal recorded"
    if pol.needs_approval(str(t.disposal.get("kind"))) and not t.approval:
        return "the disposal is not approved"
    if t.disposal.get("kind") == Disposal.RECTIFICATION_ORDER and not t.rectification_verified:
        return "the rectification is not verified"
    return None


def _g_overdue(t: Task, p: Payload, now: dt.datetime, pol: Policy, who: Actor) -> str | None:
    if now <= t.deadline:
        return f"not overdue (deadline {t.deadline.isoformat()})"
    due_level = 1 + int((now - t.deadline) / dt.timedelta(hours=pol.escalate_every_hours))
    if t.escalation_level >= due_level:
        return f"already escalated to level {t.escalation_level}"
    return None


def _g_reason(t: Task, p: Payload, now: dt.datetime, pol: Policy, who: Actor) -> str | None:
    return None if str(p.get("reason", "")).strip() else "a reason is required"


def _g_approver(t: Task, p: Payload, now: dt.datetime, pol: Policy, who: Actor) -> str | None:
    """The approver holds an approver role of the policy and is not who disposed (a disposal)
    or who asked to close (a closure)."""
    if who.role not in pol.approval_roles:
        return f"role {who.role} is not an approver (policy [approval] roles)"
    if t.state is S.AWAITING_CLOSURE:
        if t.closure is not None and t.closure.get("by") == who.id:
            return "the closure is approved by another user than the one who asked to close"
        return None
    if t.disposal is not None and t.disposal.get("by") == who.id:
        return "the disposal is approved by another user than the one who disposed"
    return None


Guard = Callable[[Task, Mapping[str, Any], dt.datetime, Policy, Actor], "str | None"]
GUARDS: dict[str, Guard] = {
    "assignee": _g_assignee, "visit": _g_visit, "evidence": _g_evidence,
    "disposal": _g_disposal, "desk_dismissal_only": _g_desk,
    "rectification_ordered": _g_rect_ordered, "rectification_submitted": _g_rect_submitted,
    "disposal_complete": _g_complete, "overdue": _g_overdue, "reason": _g_reason,
    "location": _g_location, "approver": _g_approver,
}  # fmt: skip


def _effect(
    t: Task, action: Action, p: Mapping[str, Any], now: dt.datetime, actor: Actor, nxt: State
) -> Task:
    rec = {**p, "by": actor.id, "at": now}
    r = dataclasses.replace
    if action is A.CLOSE and nxt is S.AWAITING_CLOSURE:  # asked, not yet closed
        return r(t, closure=rec, closure_approval=None)
    if action in (A.APPROVE, A.REJECT) and t.state is S.AWAITING_CLOSURE:
        if action is A.APPROVE:
            return r(t, closure_approval=rec, closed_at=now)
        return r(t, closure=None)  # the request stays in the audit log
    if action is A.ASSIGN:
        return r(t, assignee=str(p["assignee"]), assignee_kind=str(p.get("kind", "inspector")))
    if action is A.VISIT:
        return r(t, visits=(*t.visits, rec))
    if action is A.ADD_EVIDENCE:
        return r(t, evidence=(*t.evidence, rec))
    if action is A.DISPOSE:
        return r(t, disposal=rec)
    if action is A.SUBMIT_RECTIFICATION:
        return r(t, rectifications=(*t.rectifications, rec))
    if action is A.VERIFY_RECTIFICATION:
        return r(t, rectification_verified=bool(p.get("accepted", True)))
    if action is A.CLOSE:
        return r(t, closed_at=now)
    if action is A.ESCALATE:
        return r(t, escalation_level=t.escalation_level + 1)
    if action is A.CHECK_IN:
        return r(t, checkins=(*t.checkins, rec))
    if action is A.APPROVE:
        return r(t, approval=rec)
    if action is A.REJECT:  # the rejected disposal stays in the audit log
        return r(t, disposal=None, approval=None)
    # REOPEN: a new round of work; the old disposal stays in the audit log.
    return r(t, closed_at=None, reopen_count=t.reopen_count + 1, disposal=None,
             approval=None, rectification_verified=False, closure=None,
             closure_approval=None)  # fmt: skip


def allowed(state: State) -> list[Action]:
    """Actions the table allows from *state* (guards may still refuse)."""
    return [a for (s, a) in TRANSITIONS if s is state]


def allowed_for(state: State, role: Role | None, subject_kind: str = OUTLET) -> list[Action]:
    """Actions *role* may take from *state* on a task of *subject_kind*: :func:`allowed`
    filtered by :data:`PERMISSIONS` (:data:`WATER_PERMISSIONS` for a drinking-water source).
    ``None`` (a role that may not act: analyst, county official) gets none. Guards may still
    refuse (a close before the rectification is verified); the enterprise's ownership is the
    caller's to check."""
    if role is None:
        return []
    perms = WATER_PERMISSIONS if subject_kind in NO_ENTERPRISE_KINDS else PERMISSIONS
    return [a for a in allowed(state) if role in perms[a]]


def apply(
    task: Task, action: Action | str, actor: Actor, now: dt.datetime, policy: Policy,
    log: AuditLog, /, **payload: Any,
) -> tuple[Task, AuditEvent]:  # fmt: skip
    """Take *action* on *task*; return the next task and the logged event.

    The machine's own arguments are positional-only, so no payload key (``now``, ``policy``,
    ``log`` …, as a stored event may hold) can take their place.

    Raises
    ------
    TransitionRefused
        The (state, action) pair is not in :data:`TRANSITIONS`, or a guard failed.
    PermissionDenied
        The actor's role may not take the action, or an enterprise acts on another's task.
    """
    try:
        act = Action(action)
    except ValueError:
        raise InputError("action", "one of " + ", ".join(Action), action) from None
    table = WATER_PERMISSIONS if task.subject_kind in NO_ENTERPRISE_KINDS else PERMISSIONS
    if actor.role not in table[act]:
        raise PermissionDenied(f"task {task.id}: role {actor.role} may not {act}")
    if actor.role is Role.ENTERPRISE and (not actor.uscc or actor.uscc != task.uscc):
        raise PermissionDenied(f"task {task.id}: not a task of enterprise {actor.uscc}")
    return _apply(task, act, actor, now, policy, log, payload, None)


def _apply(
    task: Task, act: Action, actor: Actor, now: dt.datetime, policy: Policy, log: AuditLog,
    payload: Mapping[str, Any], logged: State | None,
) -> tuple[Task, AuditEvent]:  # fmt: skip
    """:func:`apply` after the permission check. *logged* (replay only) is the state the
    log recorded: where the routing (:func:`_next_state`) could have gone either way it
    follows the log — the policy in force then decided — and anywhere else must agree."""
    row = TRANSITIONS.get((task.state, act))
    if row is None:
        raise TransitionRefused(task.id, task.state, act, "not an allowed transition")
    nxt, guards = row
    payload = _normalise(payload)
    for g in guards:
        why = GUARDS[g](task, payload, now, policy, actor)
        if why is not None:
            raise TransitionRefused(task.id, task.state, act, why)
    routed = _next_state(act, nxt, payload, policy)
    if logged is not None and logged in _ROUTES.get(act, ()) and nxt in _ROUTES[act]:
        routed = logged
    nxt = routed
    new = dataclasses.replace(_effect(task, act, payload, now, actor, nxt), state=nxt)
    ev = log.append(now, actor.id, actor.role, task.subject, act, task.state, nxt,
                    _jsonable(payload))  # fmt: skip
    return new, ev


#: The two outcomes of the routed transitions (the table's, and the one waiting for approval).
_ROUTES: dict[Action, tuple[State, State]] = {
    A.DISPOSE: (S.DISPOSED, S.AWAITING_APPROVAL),
    A.CLOSE: (S.CLOSED, S.AWAITING_CLOSURE),
}


def _next_state(act: Action, nxt: State, p: Mapping[str, Any], policy: Policy) -> State:
    """The one routing rule outside :data:`TRANSITIONS`: a disposal of a kind the policy
    lists under ``[approval]`` waits for approval instead of taking effect, and so does a
    closure when the policy's ``[approval] closure`` is on."""
    if act is A.DISPOSE and policy.needs_approval(str(p.get("kind"))):
        return S.AWAITING_APPROVAL
    if act is A.CLOSE and policy.approval_closure:
        return S.AWAITING_CLOSURE
    return nxt


def _normalise(p: Mapping[str, Any]) -> dict[str, Any]:
    """Payload values as the guards expect them, whether given live or read back from JSON."""
    out = dict(p)
    if "amount" in out and not isinstance(out["amount"], Decimal):
        try:
            out["amount"] = Decimal(str(out["amount"]))
        except ArithmeticError:
            raise InputError("amount", "a decimal amount in yuan", out["amount"]) from None
    if isinstance(out.get("due"), str):
        try:
            out["due"] = dt.date.fromisoformat(out["due"])
        except ValueError:
            raise InputError("due", "an ISO date", out["due"]) from None
    return out


def _jsonable(p: Mapping[str, Any]) -> dict[str, Any]:
    def conv(v: Any) -> Any:
        if isinstance(v, StrEnum):
            return str(v)
        if isinstance(v, Decimal):
            return str(v)
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, list | tuple):
            return [conv(x) for x in v]
        if isinstance(v, Mapping):
            return {str(k): conv(x) for k, x in v.items()}
        return v

    return {str(k): conv(v) for k, v in p.items()}


def escalate_overdue(
    tasks: Iterable[Task], now: dt.datetime, policy: Policy, log: AuditLog
) -> list[tuple[Task, AuditEvent]]:
    """Escalate every task that is overdue and not yet escalated for its current lateness."""
    system = Actor("system", Role.SYSTEM)
    out = []
    for t in tasks:
        if (t.state, A.ESCALATE) in TRANSITIONS and _g_overdue(t, {}, now, policy, system) is None:
            level_role = policy.escalation_role(t.escalation_level + 1)
            out.append(apply(t, A.ESCALATE, system, now, policy, log, notify_role=level_role))
    return out


def visible_to(actor: Actor, tasks: Iterable[Task]) -> list[Task]:
    """Tasks an actor may see: an enterprise sees its own outlets' (and, operating an
    inspection station, its station's) only."""
    if actor.role is Role.ENTERPRISE:
        mine = actor.uscc
        return [t for t in tasks if t.subject_kind in ENTERPRISE_KINDS and mine and t.uscc == mine]
    return list(tasks)


def replay(events: Iterable[AuditEvent], policy: Policy) -> Task:
    """Rebuild a task from its audit events (the first must be ``create``)."""
    evs = list(events)
    if not evs or evs[0].action != "create":
        raise ConflictError("replay: a task's events start with create")
    c = evs[0].payload
    t = Task(evs[0].subject.removeprefix("task:"), tuple(c["alert_ids"]), c["uscc"],
             c["site_code"], c["severity"], c["title"], evs[0].time,
             dt.datetime.fromisoformat(c["deadline"]),
             suggested_article=c.get("suggested_article", ""),
             subject_kind=c.get("subject_kind", OUTLET),
             policy_version=c.get("policy_version", ""))  # fmt: skip
    scratch = AuditLog()
    for e in evs[1:]:
        actor = Actor(e.actor, Role(e.role), t.uscc if e.role == Role.ENTERPRISE else "")
        t, _ = _apply(t, Action(e.action), actor, e.time, policy, scratch, e.payload,
                      State(e.to_state))  # fmt: skip
        if t.state != e.to_state:
            raise ConflictError(f"replay: event {e.seq} leads to {t.state}, log says {e.to_state}")
    return t


def penalty_payload(article: str, amount: Decimal | str, **extra: Any) -> dict[str, Any]:
    """Convenience: the payload of a penalty disposal (amount exact, in yuan)."""
    return {"kind": Disposal.PENALTY, "article": article, "amount": Decimal(str(amount)), **extra}
