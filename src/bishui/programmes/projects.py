"""The project register's state machine, milestones and overdue checks (pure).

::

    planned ─start─▶ under_construction ─complete (every milestone done)─▶ completed
    completed ─accept (验收: date, report file)─▶ accepted
    planned / under_construction ─cancel (a reason)─▶ cancelled
    self-loop: planned / under_construction ─milestone (an actual date)─▶ same

A milestone is overdue when its planned date has passed with no actual date while the project
is live (planned or under construction); the service hands each overdue milestone to the
enforcement engine as one alert (挂牌督办, :func:`bishui.programmes.service.supervise`), so its
task, deadline, escalation and audit are the engine's own.

Project kinds (:data:`KINDS`) and the programmes they belong to are labels; the demo's are
illustrative (docs/governance.md "项目与资金").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bishui.errors import PermissionDenied
from bishui.programmes.damage import Role, TransitionRefused


class State(StrEnum):
    PLANNED = "planned"  # 计划
    UNDER_CONSTRUCTION = "under_construction"  # 在建
    COMPLETED = "completed"  # 完工
    ACCEPTED = "accepted"  # 验收
    CANCELLED = "cancelled"  # 取消


class Action(StrEnum):
    START = "start"
    MILESTONE = "milestone"
    COMPLETE = "complete"
    ACCEPT = "accept"
    CANCEL = "cancel"


S, A = State, Action
LIVE = frozenset({S.PLANNED, S.UNDER_CONSTRUCTION})

#: (state, action) → (next state, guard names).
TRANSITIONS: dict[tuple[State, Action], tuple[State, tuple[str, ...]]] = {
    (S.PLANNED, A.START): (S.UNDER_CONSTRUCTION, ("date",)),
    (S.PLANNED, A.MILESTONE): (S.PLANNED, ("milestone",)),
    (S.UNDER_CONSTRUCTION, A.MILESTONE): (S.UNDER_CONSTRUCTION, ("milestone",)),
    (S.UNDER_CONSTRUCTION, A.COMPLETE): (S.COMPLETED, ("date", "milestones_done")),
    (S.COMPLETED, A.ACCEPT): (S.ACCEPTED, ("date", "report")),
    (S.PLANNED, A.CANCEL): (S.CANCELLED, ("reason",)),
    (S.UNDER_CONSTRUCTION, A.CANCEL): (S.CANCELLED, ("reason",)),
}
PERMISSIONS: dict[Action, frozenset[Role]] = {a: frozenset({Role.OFFICER}) for a in Action}

#: Project kinds → (中文, English).
KINDS: dict[str, tuple[str, str]] = {
    "wastewater_plant": ("污水处理厂", "wastewater treatment plant"),
    "river_remediation": ("河湖综合治理", "river and lake remediation"),
    "restoration": ("生态修复", "ecological restoration"),
    "rural_environment": ("农村环境整治", "rural environment"),
    "air": ("大气污染治理", "air-pollution control"),
    "other": ("其他", "other"),
}


@dataclass(frozen=True)
class Milestone:
    seq: int
    name: str
    planned_on: dt.date
    actual_on: dt.date | None = None
    task_id: str | None = None  # the 督办 task raised when it went overdue

    def overdue(self, today: dt.date) -> bool:
        return self.actual_on is None and self.planned_on < today


def check(
    project_id: str, state: State, action: Action | str, role: Role, payload: Mapping[str, Any],
    milestones: Sequence[Milestone],
) -> State:  # fmt: skip
    """The next state of *action*, or :class:`TransitionRefused` / :class:`PermissionDenied`."""
    try:
        act = Action(action)
    except ValueError:
        raise TransitionRefused(project_id, state, str(action), "no such action") from None
    if role not in PERMISSIONS[act]:
        raise PermissionDenied(f"project {project_id}: role {role} may not {act}")
    step = TRANSITIONS.get((state, act))
    if step is None:
        raise TransitionRefused(project_id, state, act, "not a transition of the machine")
    nxt, guards = step
    for g in guards:
        why = _guard(g, payload, milestones)
        if why is not None:
            raise TransitionRefused(project_id, state, act, why)
    return nxt


def _guard(g: str, p: Mapping[str, Any], ms: Sequence[Milestone]) -> str | None:
    if g == "date":
        return None if isinstance(p.get("on"), dt.date) else "the date (on)"
    if g == "milestone":
        seq, on = p.get("seq"), p.get("on")
        m = next((m for m in ms if m.seq == seq), None)
        if m is None:
            return f"a milestone of the project (seq {', '.join(str(m.seq) for m in ms)})"
        if m.actual_on is not None:
            return f"milestone {seq} already done on {m.actual_on.isoformat()}"
        return None if isinstance(on, dt.date) else "the actual date (on)"
    if g == "milestones_done":
        left = [m.seq for m in ms if m.actual_on is None]
        return None if not left else f"milestones not done: {left}"
    if g == "report":
        return None if p.get("report") else "the acceptance report, an uploaded file"
    if g == "reason":
        return None if str(p.get("reason", "")).strip() else "a reason"
    raise AssertionError(g)


def overdue(state: State, milestones: Sequence[Milestone], today: dt.date) -> list[Milestone]:
    """The milestones of a live project past their planned date and not done."""
    if state not in LIVE:
        return []
    return [m for m in milestones if m.overdue(today)]
