"""Transfer by agreement (协议转让) as a small state machine.

Sources (exchange-and-permits notes §A2): 协议转让 is one of the exchange's two trading modes
(hberec FAQ [V]); prices are set by the parties, and **after a trade both parties report to the
local environment bureau and apply to change their permits** (国办发〔2014〕38号 [V]) — the
regulator's approval step below; cross-city or cross-basin trades need provincial approval
(:mod:`bishui.exchange.market.restrictions`). The exact steps and who takes them are the
project's reading of these texts (docs/exchange.md):

==========  ===========  ==========================  =============
from        action       to                          who
==========  ===========  ==========================  =============
proposed    accept       accepted                    the counterparty
proposed    decline      refused                     the counterparty
proposed    withdraw     withdrawn                   the proposer
accepted    withdraw     withdrawn                   either party
accepted    approve      approved                    the regulator
accepted    refuse       refused                     the regulator
approved    settle       settled                     the exchange
proposed    expire       expired                     the exchange
accepted    expire       expired                     the exchange
==========  ===========  ==========================  =============

``settled``, ``refused``, ``withdrawn`` and ``expired`` are final. After ``expires_at`` only
``expire`` is allowed from ``proposed`` or ``accepted``; an approved transfer settles whenever
the exchange settles it. The registry moves the units when it records ``settle``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Literal

from bishui.errors import ConflictError, InputError, PermissionDenied
from bishui.exchange.instruments import Instrument, right_pollutant
from bishui.exchange.market.money import check_int

State = Literal["proposed", "accepted", "approved", "settled", "refused", "withdrawn", "expired"]
Action = Literal["accept", "decline", "withdraw", "approve", "refuse", "settle", "expire"]
#: who may act: the proposing party, the other party, either party, the regulator, the exchange
Who = Literal["proposer", "counterparty", "party", "regulator", "exchange"]

FINAL: frozenset[str] = frozenset({"settled", "refused", "withdrawn", "expired"})

#: (state, action) → (next state, who may take it): the table of the module docstring.
TRANSITIONS: dict[tuple[str, str], tuple[State, Who]] = {
    ("proposed", "accept"): ("accepted", "counterparty"),
    ("proposed", "decline"): ("refused", "counterparty"),
    ("proposed", "withdraw"): ("withdrawn", "proposer"),
    ("accepted", "withdraw"): ("withdrawn", "party"),
    ("accepted", "approve"): ("approved", "regulator"),
    ("accepted", "refuse"): ("refused", "regulator"),
    ("approved", "settle"): ("settled", "exchange"),
    ("proposed", "expire"): ("expired", "exchange"),
    ("accepted", "expire"): ("expired", "exchange"),
}


@dataclass(frozen=True)
class Step:
    action: str
    actor: str
    at: dt.datetime
    note: str


@dataclass(frozen=True)
class Transfer:
    """An agreement transfer and its history (immutable; :func:`step` returns a new one)."""

    transfer_id: str
    seller: str
    buyer: str
    #: the party that proposed: the seller or the buyer
    proposer: str
    instrument: Instrument
    pollutant: str
    units: int
    price_fen: int
    expires_at: dt.datetime
    state: State = "proposed"
    history: tuple[Step, ...] = ()

    @property
    def counterparty(self) -> str:
        return self.buyer if self.proposer == self.seller else self.seller


def propose(
    transfer_id: str,
    seller: str,
    buyer: str,
    proposer: str,
    instrument: Instrument,
    pollutant: str,
    units: int,
    price_fen: int,
    at: dt.datetime,
    expires_at: dt.datetime,
) -> Transfer:
    """A new transfer in state ``proposed`` (prices are set by the parties, 国办发〔2014〕38号)."""
    if seller == buyer:
        raise InputError("buyer", "a party other than the seller", buyer)
    if proposer not in (seller, buyer):
        raise InputError("proposer", "the seller or the buyer", proposer)
    check_int(units, "units", minimum=1)
    check_int(price_fen, "price_fen")
    if instrument == Instrument.EMISSION_RIGHT:
        right_pollutant(pollutant)
    if at.tzinfo is None or expires_at.tzinfo is None:
        raise InputError("at", "timezone-aware times", at)
    if not at < expires_at:
        raise InputError("expires_at", "after the proposal", expires_at)
    return Transfer(
        transfer_id, seller, buyer, proposer, instrument, pollutant, units, price_fen,
        expires_at, "proposed", (Step("propose", proposer, at, ""),),
    )  # fmt: skip


def _may(t: Transfer, who: Who, actor: str, role: str) -> bool:
    if who == "regulator" or who == "exchange":
        return role == who
    if role != "party":
        return False
    if who == "proposer":
        return actor == t.proposer
    if who == "counterparty":
        return actor == t.counterparty
    return actor in (t.seller, t.buyer)


def step(
    t: Transfer, action: str, actor: str, role: str, at: dt.datetime, note: str = ""
) -> Transfer:
    """Take *action* on *t*: the transfer in its next state, with the step in its history.

    Parameters
    ----------
    t : Transfer
    action : str
        One of accept, decline, withdraw, approve, refuse, settle, expire.
    actor : str
        Who acts (a party's id, or the regulator's or exchange's user).
    role : {"party", "regulator", "exchange"}
        The actor's role.
    at : datetime
        When (timezone-aware, not before the last step).
    note : str
        A reason, e.g. for a refusal.

    Raises
    ------
    ConflictError
        The action is not allowed in the current state, or the transfer has expired.
    PermissionDenied
        The actor may not take this action.
    """
    if at.tzinfo is None:
        raise InputError("at", "a timezone-aware time", at)
    if t.history and at < t.history[-1].at:
        raise InputError("at", "not before the last step", at)
    rule = TRANSITIONS.get((t.state, action))
    if rule is None:
        raise ConflictError(f"transfer {t.transfer_id}: cannot {action} when {t.state}")
    nxt, who = rule
    if action != "expire" and t.state in ("proposed", "accepted") and at >= t.expires_at:
        raise ConflictError(f"transfer {t.transfer_id}: expired at {t.expires_at.isoformat()}")
    if action == "expire" and at < t.expires_at:
        raise ConflictError(f"transfer {t.transfer_id}: does not expire before {t.expires_at}")
    if not _may(t, who, actor, role):
        raise PermissionDenied(f"transfer {t.transfer_id}: {action} is for the {who}, not {actor}")
    return replace(t, state=nxt, history=(*t.history, Step(action, actor, at, note)))
