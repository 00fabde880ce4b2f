"""The confirmation step: each party acknowledges a statement version or disputes it.

Per party, a small state machine whose transitions are a data table:

==============  ===============  ==============
state           action           next state
==============  ===============  ==============
pending         acknowledge      acknowledged
pending         dispute          disputed
disputed        acknowledge      acknowledged  (the dispute is withdrawn)
any but final   supersede        superseded    (a corrected version replaced it)
==============  ===============  ==============

Anything else — acknowledging twice, disputing what was acknowledged, acting on a superseded
version, acting for a party not in the statement — is a
:class:`~bishui.errors.ConflictError`. A dispute needs a reason (:class:`InputError` if
blank). The record is immutable: each action returns a new :class:`Confirmation` whose
``history`` has the event appended.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from bishui.compensation.engine import Statement
from bishui.errors import ConflictError, InputError

__all__ = ["TRANSITIONS", "Confirmation", "ConfirmationEvent"]

#: (state, action) → next state
TRANSITIONS: dict[tuple[str, str], str] = {
    ("pending", "acknowledge"): "acknowledged",
    ("pending", "dispute"): "disputed",
    ("disputed", "acknowledge"): "acknowledged",
    ("pending", "supersede"): "superseded",
    ("disputed", "supersede"): "superseded",
    ("acknowledged", "supersede"): "superseded",
}


@dataclass(frozen=True)
class ConfirmationEvent:
    party: str
    action: str
    at: dt.datetime
    reason: str = ""


@dataclass(frozen=True)
class Confirmation:
    """The confirmation state of one statement version, per party."""

    statement_id: str
    statement_hash: str
    states: Mapping[str, str]
    history: tuple[ConfirmationEvent, ...] = field(default=())

    @classmethod
    def open(cls, statement: Statement) -> Confirmation:
        """Every party of the statement's agreement starts ``pending``."""
        rule = statement.evidence["rule"]
        parties = sorted(set(rule["assessed"]) | set(rule["counterparty"]))
        return cls(statement.id, statement.content_hash, dict.fromkeys(parties, "pending"))

    @property
    def state(self) -> str:
        """``superseded``, ``disputed`` (any party), ``confirmed`` (all) or ``pending``."""
        values = set(self.states.values())
        if "superseded" in values:
            return "superseded"
        if "disputed" in values:
            return "disputed"
        if values == {"acknowledged"}:
            return "confirmed"
        return "pending"

    def _move(self, party: str, action: str, at: dt.datetime, reason: str = "") -> Confirmation:
        if party not in self.states:
            raise ConflictError(f"{party} is not a party of statement {self.statement_id}")
        now = self.states[party]
        nxt = TRANSITIONS.get((now, action))
        if nxt is None:
            raise ConflictError(
                f"statement {self.statement_id}: {party} cannot {action} when {now}"
            )
        states = dict(self.states)
        states[party] = nxt
        event = ConfirmationEvent(party, action, at, reason)
        return Confirmation(self.statement_id, self.statement_hash, states, (*self.history, event))

    def acknowledge(self, party: str, at: dt.datetime) -> Confirmation:
        """*party* acknowledges the statement (Beijing time ``at``)."""
        return self._move(party, "acknowledge", at)

    def dispute(self, party: str, reason: str, at: dt.datetime) -> Confirmation:
        """*party* disputes the statement, giving a reason."""
        if not reason or not reason.strip():
            raise InputError("reason", "a dispute states its reason", reason)
        return self._move(party, "dispute", at, reason.strip())

    def supersede(self, at: dt.datetime) -> Confirmation:
        """A corrected version replaced this one: every party's state becomes superseded."""
        if self.state == "superseded":
            raise ConflictError(f"statement {self.statement_id} is already superseded")
        out = self
        for party in sorted(self.states):
            out = out._move(party, "supersede", at)
        return out
