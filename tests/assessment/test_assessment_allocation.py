"""Allocation of funds by score: exact fen, conserving totals (bishui.assessment.allocation)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui.assessment import allocation as al
from bishui.errors import InputError

codes = st.lists(
    st.from_regex(r"4208[0-9]{2}", fullmatch=True), min_size=1, max_size=12, unique=True
)


@settings(deadline=None)  # shared CI cores: no wall-clock limit
@given(
    st.integers(0, 10**12),
    codes.flatmap(
        lambda cs: st.tuples(
            st.just(cs), st.lists(st.fractions(0, 100), min_size=len(cs), max_size=len(cs))
        )
    ),
)
def test_apportion_conserves_and_is_within_one_fen(
    total: int, cw: tuple[list[str], list[Fraction]]
) -> None:
    cs, ws = cw
    weights = dict(zip(cs, ws, strict=True))
    if sum(ws) == 0:
        if total:
            with pytest.raises(InputError):
                al.apportion(total, weights)
        return
    got = al.apportion(total, weights)
    assert sum(got.values()) == total
    s = sum(ws)
    for c in cs:
        quota = Fraction(total) * weights[c] / s
        assert quota - 1 < got[c] < quota + 1
        assert got[c] >= 0


@settings(deadline=None)  # shared CI cores: no wall-clock limit
@given(st.integers(0, 10**9), st.lists(st.fractions(0, 100), min_size=2, max_size=8))
def test_apportion_is_deterministic_and_order_free(total: int, ws: list[Fraction]) -> None:
    weights = {f"c{i:02d}": w for i, w in enumerate(ws)}
    if not sum(ws):
        return
    a = al.apportion(total, weights)
    b = al.apportion(total, dict(reversed(list(weights.items()))))
    assert a == b


def test_ties_go_to_the_smaller_code() -> None:
    # 100 fen in three equal parts: 33 each, the one left over to the first code
    assert al.apportion(100, {"b": Fraction(1), "a": Fraction(1), "c": Fraction(1)}) == {
        "a": 34,
        "b": 33,
        "c": 33,
    }


def test_rules() -> None:
    scores = {"a": Decimal("90"), "b": Decimal("70"), "c": Decimal("55")}
    # quotas 418.60, 325.58, 255.81: floors 998, the 2 fen left to .81 (c) and .60 (a)
    assert al.allocate(1000, al.parse_rule({"kind": "proportional"}), scores) == {
        "a": 419,
        "b": 325,
        "c": 256,
    }
    # above 60: 30 and 10 → 3:1
    assert al.allocate(1000, al.parse_rule({"kind": "above_floor", "floor": 60}), scores) == {
        "a": 750,
        "b": 250,
        "c": 0,
    }
    tiers = al.parse_rule({"kind": "tiers", "tiers": [[0, 0], [60, 1], [80, 1.5]]})
    assert al.allocate(1000, tiers, scores) == {"a": 600, "b": 400, "c": 0}


def test_bad_input() -> None:
    with pytest.raises(InputError):
        al.parse_rule({"kind": "lottery"})
    for bad in (
        {"kind": "above_floor", "floor": "NaN"},
        {"kind": "tiers", "tiers": "ab"},
        {"kind": "tiers", "tiers": [[0, "Infinity"]]},
        {"kind": "tiers", "tiers": []},
    ):
        with pytest.raises(InputError):
            al.parse_rule(bad)
    with pytest.raises(InputError):
        al.apportion(-1, {"a": Fraction(1)})
    with pytest.raises(InputError):
        al.apportion(10, {"a": Fraction(-1)})
