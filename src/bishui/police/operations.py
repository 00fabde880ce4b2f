"""Planned joint operations (联合执法) and night operations (零点行动), as a state machine.

An operation has targets (enterprises and sites of the registry), a team of bureau and police
members (a joint operation needs at least one of each: that is what makes it joint), and a
time window in Beijing time (Asia/Shanghai, stored naive like every time of the platform). A
night operation (``kind = "night"``, 零点行动: an unannounced check at night [S: governance
notes §3]) must contain midnight and lie within the night hours of ``rules.operations`` — so its
window crosses from one date to the next. Visits are recorded while it is under way, each at a
time inside the window; a visit's findings at or above ``task_severity`` become enforcement
tasks (through enforcement's intake; the service does that).

:data:`TRANSITIONS` is the whole machine.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from bishui.errors import ConflictError, InputError
from bishui.police.rules import Rules
from bishui.timeutil import to_beijing_naive

KINDS = {"joint": "联合执法", "night": "零点行动"}
AGENCIES = {"bureau": "生态环境局", "police": "公安机关"}
MAX_TARGETS = 100
MAX_MEMBERS = 100
FIRST_YEAR, LAST_YEAR = 2000, 2100  # the platform's range of dates (web.api.common)


class State(StrEnum):
    PLANNED = "planned"
    UNDER_WAY = "under_way"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Action(StrEnum):
    START = "start"
    FINISH = "finish"
    CANCEL = "cancel"


S, A = State, Action
#: (state, action) → (next state, payload fields required)
TRANSITIONS: dict[tuple[State, Action], tuple[State, tuple[str, ...]]] = {
    (S.PLANNED, A.START): (S.UNDER_WAY, ()),
    (S.PLANNED, A.CANCEL): (S.CANCELLED, ("reason",)),
    (S.UNDER_WAY, A.FINISH): (S.COMPLETED, ("summary",)),
}
#: Visits (and their findings) are recorded only in this state.
VISIT_STATES = frozenset({S.UNDER_WAY})


class TransitionRefused(ConflictError):
    """An operation transition not in the table."""


def parse_time(v: Any, field: str) -> dt.datetime:
    """An ISO time: naive = Beijing time; with an offset, converted to Beijing time."""
    if isinstance(v, dt.datetime):
        t = v
    else:
        try:
            t = dt.datetime.fromisoformat(str(v).strip())
        except ValueError:
            raise InputError(field, "an ISO date-time (Asia/Shanghai if no offset)", v) from None
    if not FIRST_YEAR <= t.year <= LAST_YEAR:
        raise InputError(field, f"a time in {FIRST_YEAR}–{LAST_YEAR}", v)
    if t.tzinfo is not None:
        t = to_beijing_naive(t)
    return t.replace(microsecond=0)


def contains_midnight(start: dt.datetime, end: dt.datetime) -> bool:
    return end.date() > start.date() or start.time() == dt.time(0)


def check_window(kind: str, start: dt.datetime, end: dt.datetime, rules: Rules) -> None:
    """The window is a forward span of at most ``max_hours``; a night operation's contains
    midnight and begins no earlier than ``night_earliest`` and ends no later than
    ``night_latest`` (the next morning)."""
    if kind not in KINDS:
        raise InputError("kind", f"one of {', '.join(KINDS)}", kind)
    if end <= start:
        raise InputError("end", "after start", end.isoformat())
    if end - start > dt.timedelta(hours=rules.max_hours):
        raise InputError("end", f"at most {rules.max_hours} h after start", end.isoformat())
    if kind == "night":
        if not contains_midnight(start, end):
            raise InputError("end", "a night operation crosses midnight", end.isoformat())
        s_ok = start.time() >= rules.night_earliest or start.time() == dt.time(0)
        if not s_ok:
            raise InputError("start", f"at or after {rules.night_earliest:%H:%M} (night)",
                             start.isoformat())  # fmt: skip
        if end.time() > rules.night_latest and end.date() > start.date():
            raise InputError("end", f"at or before {rules.night_latest:%H:%M} (night)",
                             end.isoformat())  # fmt: skip


def check_team(team: Any, kind: str) -> list[dict[str, str]]:
    """Members ``{name, agency, username?, duty?}``; at least one bureau and one police member
    (a joint operation, and every 零点行动 here, is run by both)."""
    if not isinstance(team, list) or not team:
        raise InputError("team", "a non-empty list of members", team)
    if len(team) > MAX_MEMBERS:
        raise InputError("team", f"at most {MAX_MEMBERS} members", len(team))
    out = []
    for m in team:
        if not isinstance(m, dict):
            raise InputError("team", "members as objects {name, agency}", m)
        name = str(m.get("name") or "").strip()
        if not name or len(name) > 60:
            raise InputError("team.name", "1–60 characters", m.get("name"))
        agency = m.get("agency")
        if agency not in AGENCIES:
            raise InputError("team.agency", f"one of {', '.join(AGENCIES)}", agency)
        user = str(m.get("username") or "").strip()[:60]
        duty = str(m.get("duty") or "").strip()[:60]
        out.append({"name": name, "agency": str(agency), "username": user, "duty": duty})
    agencies = {m["agency"] for m in out}
    if agencies != set(AGENCIES):
        raise InputError("team", "bureau and police members (联合执法)", sorted(agencies))
    return out


def next_state(state: State, action: str) -> tuple[State, tuple[str, ...]]:
    try:
        act = Action(action)
    except ValueError:
        raise InputError("action", f"one of {', '.join(Action)}", action) from None
    entry = TRANSITIONS.get((state, act))
    if entry is None:
        raise TransitionRefused(f"operation: cannot {act} when {state}")
    return entry
