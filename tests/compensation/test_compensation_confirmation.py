"""The confirmation step: acknowledge / dispute, refusing invalid transitions."""

from __future__ import annotations

import datetime as dt

import pytest
from comp_helpers import HEZE_TERMS, doc, ind, load, run

from bishui.compensation import Confirmation, PointInput
from bishui.errors import ConflictError, InputError

T = dt.datetime(2026, 3, 10, 9, 0)


def statement():  # type: ignore[no-untyped-def]
    a = load(
        doc(
            HEZE_TERMS,
            indicators=("w01018", "w21003"),
            point='"HZ01"',
            period="quarter",
            assessed='"371702"',
            counterparty='"371700"',
        )
    )
    return run(a, "2025-Q1", PointInput("HZ01", {"w01018": ind(20, 3), "w21003": ind(1, 3)}))


def test_both_parties_acknowledge() -> None:
    c = Confirmation.open(statement())
    assert c.state == "pending" and set(c.states) == {"371700", "371702"}
    c = c.acknowledge("371702", T)
    assert c.state == "pending"
    c = c.acknowledge("371700", T)
    assert c.state == "confirmed"
    assert [e.action for e in c.history] == ["acknowledge", "acknowledge"]


def test_dispute_needs_a_reason_and_can_be_withdrawn() -> None:
    c = Confirmation.open(statement())
    with pytest.raises(InputError) as e:
        c.dispute("371700", "  ", T)
    assert e.value.field == "reason"
    c = c.dispute("371700", "3 月 COD 数据待复核", T)
    assert c.state == "disputed" and c.history[-1].reason == "3 月 COD 数据待复核"
    with pytest.raises(ConflictError):
        c.dispute("371700", "again", T)
    c = c.acknowledge("371700", T).acknowledge("371702", T)
    assert c.state == "confirmed"


@pytest.mark.parametrize(
    "action",
    [
        lambda c: c.acknowledge("371702", T).acknowledge("371702", T),
        lambda c: c.acknowledge("371702", T).dispute("371702", "late", T),
        lambda c: c.acknowledge("999999", T),
        lambda c: c.supersede(T).acknowledge("371702", T),
        lambda c: c.supersede(T).supersede(T),
    ],
)
def test_invalid_transitions(action) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConflictError):
        action(Confirmation.open(statement()))


def test_supersede() -> None:
    c = Confirmation.open(statement()).dispute("371700", "数据有误", T).supersede(T)
    assert c.state == "superseded"
