"""协议转让: proposed → accepted → approved → settled, and who may take each step."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bishui.errors import ConflictError, InputError, PermissionDenied
from bishui.exchange.instruments import Instrument
from bishui.exchange.market.transfer import FINAL, TRANSITIONS, Transfer, propose, step

T0 = dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


def new(proposer: str = "S") -> Transfer:
    return propose("T1", "S", "B", proposer, Instrument.EMISSION_RIGHT, "a21026", 5_000,
                   929_000, T0, T0 + 48 * H)  # fmt: skip


def test_the_happy_path() -> None:
    t = new()
    t = step(t, "accept", "B", "party", T0 + H)
    t = step(t, "approve", "bureau-1", "regulator", T0 + 2 * H)
    t = step(t, "settle", "exchange-1", "exchange", T0 + 3 * H)
    assert t.state == "settled"
    assert [(s.action, s.actor) for s in t.history] == [
        ("propose", "S"),
        ("accept", "B"),
        ("approve", "bureau-1"),
        ("settle", "exchange-1"),
    ]


def test_who_may_act() -> None:
    t = new(proposer="B")  # the buyer proposes: the seller is the counterparty
    with pytest.raises(PermissionDenied):
        step(t, "accept", "B", "party", T0 + H)
    with pytest.raises(PermissionDenied):
        step(t, "accept", "S", "regulator", T0 + H)
    with pytest.raises(PermissionDenied):
        step(t, "withdraw", "S", "party", T0 + H)  # only the proposer withdraws a proposal
    accepted = step(t, "accept", "S", "party", T0 + H)
    assert step(accepted, "withdraw", "S", "party", T0 + 2 * H).state == "withdrawn"
    with pytest.raises(PermissionDenied):
        step(accepted, "approve", "S", "party", T0 + 2 * H)
    refused = step(accepted, "refuse", "bureau-1", "regulator", T0 + 2 * H, "跨市州未经批准")
    assert refused.state == "refused"
    assert refused.history[-1].note == "跨市州未经批准"


def test_order_and_expiry() -> None:
    t = new()
    with pytest.raises(ConflictError):
        step(t, "approve", "bureau-1", "regulator", T0 + H)  # not accepted yet
    with pytest.raises(ConflictError, match="expired"):
        step(t, "accept", "B", "party", T0 + 48 * H)
    with pytest.raises(ConflictError):
        step(t, "expire", "exchange-1", "exchange", T0 + 47 * H)
    assert step(t, "expire", "exchange-1", "exchange", T0 + 48 * H).state == "expired"
    approved = step(
        step(t, "accept", "B", "party", T0 + H), "approve", "r", "regulator", T0 + 2 * H
    )
    # an approved transfer settles after the offer's expiry
    assert step(approved, "settle", "x", "exchange", T0 + 72 * H).state == "settled"
    with pytest.raises(InputError):
        step(approved, "settle", "x", "exchange", T0)  # before the last step


def test_bad_proposals() -> None:
    with pytest.raises(InputError) as e:
        propose("T", "S", "S", "S", Instrument.CARBON_ALLOWANCE, "", 1, 1, T0, T0 + H)
    assert e.value.field == "buyer"
    with pytest.raises(InputError) as e:
        propose("T", "S", "B", "X", Instrument.CARBON_ALLOWANCE, "", 1, 1, T0, T0 + H)
    assert e.value.field == "proposer"
    with pytest.raises(InputError) as e:
        propose("T", "S", "B", "S", Instrument.CARBON_ALLOWANCE, "", 0, 1, T0, T0 + H)
    assert e.value.field == "units"
    with pytest.raises(InputError) as e:
        propose("T", "S", "B", "S", Instrument.EMISSION_RIGHT, "", 1, 1, T0, T0 + H)
    assert e.value.field == "pollutant"


ACTORS = [("S", "party"), ("B", "party"), ("r", "regulator"), ("x", "exchange")]
ACTIONS = sorted({a for _, a in TRANSITIONS})


@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from(ACTORS)), max_size=10))
def test_final_states_are_final_and_every_move_is_in_the_table(
    moves: list[tuple[str, tuple[str, str]]],
) -> None:
    t = new()
    for i, (action, (actor, role)) in enumerate(moves):
        before = t.state
        try:
            t = step(t, action, actor, role, T0 + i * H)
        except (ConflictError, PermissionDenied):
            assert t.state == before
            continue
        assert before not in FINAL
        assert TRANSITIONS[(before, action)][0] == t.state
