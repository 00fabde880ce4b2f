"""Every workflow of the chief system as a state machine written as data.

Each :class:`Machine` is a table ``(state, action) → next state`` and a table ``action → roles
that may take it``; :func:`Machine.step` is the only way a stored state changes (the service
calls it before every write). A pair not in the table is refused with
:class:`TransitionRefused` (a :class:`~bishui.errors.ConflictError`, HTTP 409) naming the
machine, the state and the action; a role not allowed with
:class:`~bishui.errors.PermissionDenied` (403). ``None`` is the state before the first action.

::

    assignment (a chief on a section)  ─assign─▶ active ─end─▶ ended
    volunteer (义务监督员)              ─enrol─▶ active ─end─▶ ended
    patrol     ─start─▶ open ─track | photo | problem─▶ open
                        open ─submit─▶ submitted ─void (admin, with a reason)─▶ void
                        open ─cancel─▶ cancelled
    problem    ─record─▶ recorded ─route─▶ routed ─resolve─▶ resolved ─confirm─▶ confirmed
                         recorded ─withdraw─▶ withdrawn   resolved ─dispute─▶ routed (a new task)

Who acts beyond the role (a chief only on his sections, a volunteer only in his area, the
patroller only on his own patrol) is the service's check (:mod:`bishui.rivers.service`).
``route`` and ``resolve`` are the system's: routing hands the problem to enforcement, and a
problem is resolved when its enforcement task is closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bishui.errors import ConflictError, PermissionDenied

ADMIN = "admin"
CHIEF = "river_chief"
VOLUNTEER = "volunteer"
SYSTEM = "system"
PATROLLERS = frozenset({CHIEF, VOLUNTEER})


class TransitionRefused(ConflictError):
    """An action the machine's table does not allow from the state: names all three."""

    def __init__(self, machine: str, state: str | None, action: str) -> None:
        self.machine, self.state, self.action = machine, state, action
        super().__init__(f"{machine}: {action} from {state or '(new)'} refused")


@dataclass(frozen=True)
class Machine:
    """One workflow: its transitions and who may take each action."""

    name: str
    transitions: Mapping[tuple[str | None, str], str]
    actors: Mapping[str, frozenset[str]]

    @property
    def actions(self) -> frozenset[str]:
        return frozenset(a for _, a in self.transitions)

    @property
    def states(self) -> frozenset[str]:
        return frozenset(
            {s for s, _ in self.transitions if s is not None} | set(self.transitions.values())
        )

    def allowed(self, state: str | None, role: str) -> list[str]:
        """The actions *role* may take from *state*, in table order."""
        return [a for (s, a) in self.transitions if s == state and role in self.actors[a]]

    def step(self, state: str | None, action: str, role: str) -> str:
        """The next state, or :class:`TransitionRefused` / :class:`PermissionDenied`."""
        if action not in self.actors:
            raise TransitionRefused(self.name, state, action)
        if role not in self.actors[action]:
            raise PermissionDenied(f"{self.name}: the {role} role may not {action}")
        nxt = self.transitions.get((state, action))
        if nxt is None:
            raise TransitionRefused(self.name, state, action)
        return nxt


ASSIGNMENT = Machine(
    "assignment",
    {(None, "assign"): "active", ("active", "end"): "ended"},
    {"assign": frozenset({ADMIN}), "end": frozenset({ADMIN})},
)

VOLUNTEER_MACHINE = Machine(
    "volunteer",
    {(None, "enrol"): "active", ("active", "end"): "ended"},
    {"enrol": frozenset({ADMIN}), "end": frozenset({ADMIN})},
)

PATROL = Machine(
    "patrol",
    {
        (None, "start"): "open",
        ("open", "track"): "open",
        ("open", "photo"): "open",
        ("open", "problem"): "open",
        ("open", "submit"): "submitted",
        ("open", "cancel"): "cancelled",
        ("submitted", "void"): "void",
    },
    {
        "start": PATROLLERS,
        "track": PATROLLERS,
        "photo": PATROLLERS,
        "problem": PATROLLERS,
        "submit": PATROLLERS,
        "cancel": PATROLLERS,
        "void": frozenset({ADMIN}),
    },
)

PROBLEM = Machine(
    "problem",
    {
        (None, "record"): "recorded",
        ("recorded", "route"): "routed",
        ("recorded", "withdraw"): "withdrawn",
        ("routed", "resolve"): "resolved",
        ("resolved", "confirm"): "confirmed",
        ("resolved", "dispute"): "routed",
    },
    {
        "record": PATROLLERS,
        "route": frozenset({SYSTEM, ADMIN}),
        "withdraw": PATROLLERS | {ADMIN},
        "resolve": frozenset({SYSTEM}),
        # the section's chief sees the problem solved on his next patrol (or says it is not)
        "confirm": frozenset({CHIEF, ADMIN}),
        "dispute": frozenset({CHIEF, ADMIN}),
    },
)

MACHINES = (ASSIGNMENT, VOLUNTEER_MACHINE, PATROL, PROBLEM)
#: Problem states still waiting for someone (the chief's "open problems").
OPEN_PROBLEMS = ("recorded", "routed", "resolved")
