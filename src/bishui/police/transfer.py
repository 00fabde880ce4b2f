"""Case transfer to the police (行政执法与刑事司法衔接, 移送), as a state machine.

The procedure (国务院令第310号 Arts 5–9, 公安机关办理刑事案件程序规定 Art 180; the time limits
in ``rules.deadlines``):

1. inspectors (at least two, Art 5) propose a transfer from an enforcement task with their
   report and the suspected legal basis — ``proposed``;
2. the bureau's head (the ``chief`` or ``admin`` role: a choice, the rules say 正职负责人)
   approves within 3 days — ``approved`` — or declines with reasons, which are recorded —
   ``declined``;
3. within 24 h the case goes to the police with its evidence package (the task's files with
   their SHA-256 and the task's audit events, the package itself hashed) — ``transferred``;
4. the police accept it (立案) — ``accepted`` — or return it with reasons (不予立案) —
   ``returned`` — or ask for missing materials within 24 h — ``supplement_requested``, after
   which the bureau sends a completed package (a new version) within 3 days;
5. a returned case may go to reconsideration (复议, ``reconsideration``), answered by the police
   (accept, or ``refused``); a refused case may be referred to the procuratorate for
   supervision of case-filing (立案监督, ``supervision``); or the bureau withdraws it and deals
   with it administratively (``withdrawn``);
6. the police record the outcome of an accepted case (``concluded``).

:data:`TRANSITIONS` is the whole machine; :func:`apply` checks the transition, the role and the
payload (guards) and returns the new case and the event to record; nothing else moves a case.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from bishui.errors import ConflictError, InputError, PermissionDenied
from bishui.police.rules import Rules

MAX_TEXT = 4000  # reasons, reports [characters]
MAX_OFFICERS = 20


class State(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    DECLINED = "declined"
    TRANSFERRED = "transferred"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    ACCEPTED = "accepted"
    RETURNED = "returned"
    RECONSIDERATION = "reconsideration"
    REFUSED = "refused"
    SUPERVISION = "supervision"
    WITHDRAWN = "withdrawn"
    CONCLUDED = "concluded"


class Action(StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"
    TRANSFER = "transfer"
    REQUEST_SUPPLEMENT = "request_supplement"
    SUPPLEMENT = "supplement"
    ACCEPT = "accept"
    RETURN = "return"
    RECONSIDER = "reconsider"
    REFER_PROCURATORATE = "refer_procuratorate"
    WITHDRAW = "withdraw"
    CONCLUDE = "conclude"


#: Case roles: the inspectors who propose and send, the head who decides, the police.
class Role(StrEnum):
    INSPECTOR = "inspector"
    HEAD = "head"
    POLICE = "police"


#: web role → case role (an admin acts as the head; a chief 执法科长 is the head by choice)
CASE_ROLES = {"inspector": Role.INSPECTOR, "admin": Role.HEAD, "chief": Role.HEAD,
              "police": Role.POLICE}  # fmt: skip

S, A, R = State, Action, Role

#: (state, action) → (next state, roles allowed, payload fields required). The whole machine.
TRANSITIONS: dict[tuple[State, Action], tuple[State, frozenset[Role], tuple[str, ...]]] = {
    (S.PROPOSED, A.APPROVE): (S.APPROVED, frozenset({R.HEAD}), ()),
    (S.PROPOSED, A.DECLINE): (S.DECLINED, frozenset({R.HEAD}), ("reason",)),
    (S.APPROVED, A.TRANSFER): (S.TRANSFERRED, frozenset({R.INSPECTOR, R.HEAD}), ()),
    (S.TRANSFERRED, A.REQUEST_SUPPLEMENT): (S.SUPPLEMENT_REQUESTED, frozenset({R.POLICE}),
                                            ("reason",)),
    (S.SUPPLEMENT_REQUESTED, A.SUPPLEMENT): (S.TRANSFERRED, frozenset({R.INSPECTOR, R.HEAD}), ()),
    (S.TRANSFERRED, A.ACCEPT): (S.ACCEPTED, frozenset({R.POLICE}), ("police_case_no",)),
    (S.TRANSFERRED, A.RETURN): (S.RETURNED, frozenset({R.POLICE}), ("reason",)),
    (S.RETURNED, A.RECONSIDER): (S.RECONSIDERATION, frozenset({R.HEAD}), ("reason",)),
    (S.RETURNED, A.WITHDRAW): (S.WITHDRAWN, frozenset({R.HEAD}), ("reason",)),
    (S.RECONSIDERATION, A.ACCEPT): (S.ACCEPTED, frozenset({R.POLICE}), ("police_case_no",)),
    (S.RECONSIDERATION, A.RETURN): (S.REFUSED, frozenset({R.POLICE}), ("reason",)),
    (S.REFUSED, A.REFER_PROCURATORATE): (S.SUPERVISION, frozenset({R.HEAD}), ("reason",)),
    (S.REFUSED, A.WITHDRAW): (S.WITHDRAWN, frozenset({R.HEAD}), ("reason",)),
    (S.ACCEPTED, A.CONCLUDE): (S.CONCLUDED, frozenset({R.POLICE}), ("outcome",)),
}  # fmt: skip

#: States in which the police have the case (what the police role may see: every state a case
#: reaches only by being transferred).
POLICE_STATES = frozenset({S.TRANSFERRED, S.SUPPLEMENT_REQUESTED, S.ACCEPTED, S.RETURNED,
                           S.RECONSIDERATION, S.REFUSED, S.SUPERVISION, S.CONCLUDED})  # fmt: skip
#: Actions that send the evidence package (a new version each time).
PACKAGE_ACTIONS = frozenset({A.TRANSFER, A.SUPPLEMENT})
TERMINAL = frozenset({S.DECLINED, S.SUPERVISION, S.WITHDRAWN, S.CONCLUDED})


class TransitionRefused(ConflictError):
    """A transition not in the table: names the state and the action."""


@dataclass(frozen=True)
class Case:
    id: str
    task_id: str
    uscc: str
    site_code: str
    region: str | None
    title: str
    report: str
    officers: tuple[str, ...]
    articles: tuple[str, ...]
    proposed_by: str
    created: dt.datetime
    state: State = State.PROPOSED
    entered: dt.datetime | None = None  # when the case entered its state
    transferred_at: dt.datetime | None = None
    package_version: int = 0
    package_sha256: str = ""
    police_case_no: str = ""
    outcome: str = ""
    history: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "task_id": self.task_id, "uscc": self.uscc,
            "site_code": self.site_code, "region": self.region, "title": self.title,
            "report": self.report, "officers": list(self.officers),
            "articles": list(self.articles), "proposed_by": self.proposed_by,
            "created": self.created.isoformat(), "state": str(self.state),
            "entered": (self.entered or self.created).isoformat(),
            "transferred_at": self.transferred_at.isoformat() if self.transferred_at else None,
            "package_version": self.package_version, "package_sha256": self.package_sha256,
            "police_case_no": self.police_case_no, "outcome": self.outcome,
            "history": [dict(h) for h in self.history],
        }  # fmt: skip


def case_from_dict(d: Mapping[str, Any]) -> Case:
    def t(x: Any) -> dt.datetime | None:
        return dt.datetime.fromisoformat(x) if x else None

    created = t(d["created"])
    assert created is not None
    return Case(
        id=d["id"], task_id=d["task_id"], uscc=d.get("uscc") or "", site_code=d["site_code"],
        region=d.get("region"), title=d["title"], report=d["report"],
        officers=tuple(d["officers"]), articles=tuple(d["articles"]),
        proposed_by=d["proposed_by"], created=created, state=State(d["state"]),
        entered=t(d.get("entered")), transferred_at=t(d.get("transferred_at")),
        package_version=int(d.get("package_version", 0)),
        package_sha256=d.get("package_sha256", ""), police_case_no=d.get("police_case_no", ""),
        outcome=d.get("outcome", ""), history=tuple(d.get("history", ())),
    )  # fmt: skip


def text(v: Any, field: str, *, max_len: int = MAX_TEXT, required: bool = True) -> str:
    s = "" if v is None else str(v).strip()
    if required and not s:
        raise InputError(field, "required", v)
    if len(s) > max_len:
        raise InputError(field, f"at most {max_len} characters", len(s))
    return s


def check_proposal(
    report: Any, officers: Any, articles: Any, rules: Rules
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The proposal's report, officers (at least two, 310号令 Art 5) and articles (ids of
    ``rules.articles``), checked."""
    rep = text(report, "report")
    if not isinstance(officers, list | tuple) or not all(isinstance(o, str) for o in officers):
        raise InputError("officers", "a list of names", officers)
    offs = tuple(dict.fromkeys(o.strip() for o in officers if o.strip()))
    if len(offs) < 2:
        raise InputError("officers", "at least two officers (国务院令第310号 Art 5)", len(offs))
    if len(offs) > MAX_OFFICERS or any(len(o) > 60 for o in offs):
        raise InputError("officers", f"at most {MAX_OFFICERS} names of 60 characters", len(offs))
    if not isinstance(articles, list | tuple) or not articles:
        raise InputError("articles", "a non-empty list of article ids", articles)
    for a in articles:
        if a not in rules.articles:
            raise InputError("articles", f"one of {', '.join(rules.articles)}", a)
    return rep, offs, tuple(dict.fromkeys(articles))


def allowed(state: State, role: Role | None = None) -> list[Action]:
    """The actions possible in *state* (for *role*, if given)."""
    return [a for (s, a), (_, roles, _) in TRANSITIONS.items()
            if s == state and (role is None or role in roles)]  # fmt: skip


def apply(
    case: Case, action: str, role: Role, actor: str, at: dt.datetime,
    payload: Mapping[str, Any], rules: Rules,
) -> tuple[Case, dict[str, Any]]:  # fmt: skip
    """Take *action* on *case*: the new case and the event's payload (what is recorded).

    Refuses an action not in the table in this state (:class:`TransitionRefused`), a role not
    allowed (:class:`PermissionDenied`), a missing or bad field (:class:`InputError`).
    The evidence package of ``transfer``/``supplement`` is the caller's (``package_sha256``
    in *payload*, computed by the service from the stored files and events).
    """
    try:
        act = Action(action)
    except ValueError:
        raise InputError("action", f"one of {', '.join(Action)}", action) from None
    entry = TRANSITIONS.get((case.state, act))
    if entry is None:
        raise TransitionRefused(f"case {case.id}: cannot {act} when {case.state}")
    nxt, roles, required = entry
    if role not in roles:
        raise PermissionDenied(f"{role} may not {act} a case")
    event: dict[str, Any] = {}
    for f in required:
        if f == "outcome":
            v = text(payload.get(f), f, max_len=40)
            if v not in rules.outcomes:
                raise InputError(f, f"one of {', '.join(rules.outcomes)}", v)
        elif f == "police_case_no":
            v = text(payload.get(f), f, max_len=60)
        else:
            v = text(payload.get(f), f)
        event[f] = v
    note = text(payload.get("note"), "note", required=False)
    if note:
        event["note"] = note
    if act in PACKAGE_ACTIONS:
        sha = payload.get("package_sha256")
        if not isinstance(sha, str) or len(sha) != 64:
            raise InputError("package_sha256", "the package's SHA-256 (64 hex digits)", sha)
        event["package_sha256"] = sha
        event["package_version"] = case.package_version + 1
    dl = rules.deadlines.get(str(case.state))
    entered = case.entered or case.created
    if dl is not None:
        event["late"] = at > entered + dt.timedelta(hours=dl.hours)
    new = replace(
        case, state=nxt, entered=at,
        history=(*case.history, {"at": at.isoformat(), "by": actor, "role": str(role),
                                 "action": str(act), "from": str(case.state), "to": str(nxt),
                                 **event}),
    )  # fmt: skip
    if act in PACKAGE_ACTIONS:
        new = replace(new, package_sha256=event["package_sha256"],
                      package_version=event["package_version"],
                      transferred_at=new.transferred_at or at)  # fmt: skip
    if "police_case_no" in event:
        new = replace(new, police_case_no=event["police_case_no"])
    if "outcome" in event:
        new = replace(new, outcome=event["outcome"])
    return new, event


def deadline(case: Case, rules: Rules) -> tuple[dt.datetime, str] | None:
    """When the current state's time limit ends, and what must happen by then (None in a
    state without one)."""
    dl = rules.deadlines.get(str(case.state))
    if dl is None:
        return None
    return (case.entered or case.created) + dt.timedelta(hours=dl.hours), dl.what
