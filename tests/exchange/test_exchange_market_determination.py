"""排污权初始核定: the method, the cap (国办发〔2014〕38号), validity (财税〔2015〕61号)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bishui.errors import InputError
from bishui.exchange.market.determination import (
    DeterminationMethod,
    UnitRecord,
    determine,
    historical_quantity,
    needs_redetermination,
    valid_until,
)

METHOD = DeterminationMethod(3, Decimal("0.9"), "test method")


def test_historical_quantity_is_the_floored_mean_times_the_factor() -> None:
    # mean of the last three years (110, 120, 130 t) = 120 t; × 0.9 = 108 t
    assert historical_quantity([500_000, 110_000, 120_000, 130_000], METHOD) == 108_000
    # 1, 1, 2 kg → mean 4/3 × 0.9 = 1.2 → 1 kg (down)
    assert historical_quantity([1, 1, 2], METHOD) == 1
    with pytest.raises(InputError, match="at least 3 verified years"):
        historical_quantity([1, 2], METHOD)


def test_within_the_cap_the_candidate_is_min_of_permit_and_history() -> None:
    units = [
        UnitRecord("b", 100_000, (120_000, 120_000, 120_000)),  # history 108 t > permit 100 t
        UnitRecord("a", 200_000, (50_000, 50_000, 50_000)),  # history 45 t < permit
    ]
    out = determine(units, cap=1_000_000, method=METHOD)
    assert [(d.unit_id, d.candidate, d.determined, d.scaled) for d in out] == [
        ("a", 45_000, 45_000, False),
        ("b", 100_000, 100_000, False),
    ]


def test_over_the_cap_the_candidates_are_scaled_by_largest_remainder() -> None:
    units = [UnitRecord(u, 10_000, (10_000,) * 3) for u in ("c", "a", "b")]  # each 9,000 kg
    out = determine(units, cap=10_000, method=METHOD)
    # 10,000 / 3 = 3,333.33: the spare kg goes to the first unit in id order
    assert [(d.unit_id, d.determined, d.scaled) for d in out] == [
        ("a", 3_334, True),
        ("b", 3_333, True),
        ("c", 3_333, True),
    ]


def test_bad_inputs() -> None:
    with pytest.raises(InputError) as e:
        determine([UnitRecord("a", 1, (1, 1, 1)), UnitRecord("a", 1, (1, 1, 1))], 10, METHOD)
    assert e.value.field == "unit_id"
    with pytest.raises(InputError) as e:
        DeterminationMethod(0, Decimal(1), "x")
    assert e.value.field == "history_years"
    with pytest.raises(InputError) as e:
        DeterminationMethod(1, Decimal(0), "x")
    assert e.value.field == "factor"
    with pytest.raises(InputError) as e:
        determine([UnitRecord("a", -1, (1, 1, 1))], 10, METHOD)
    assert e.value.field == "a.permitted"


@given(
    st.lists(
        st.tuples(st.integers(0, 10**7), st.lists(st.integers(0, 10**7), min_size=3, max_size=6)),
        min_size=1,
        max_size=12,
    ),
    st.integers(0, 10**8),
)
def test_totals_never_exceed_the_cap_nor_a_unit_its_permit(
    rows: list[tuple[int, list[int]]], cap: int
) -> None:
    units = [UnitRecord(f"u{i:02d}", p, tuple(v)) for i, (p, v) in enumerate(rows)]
    out = determine(units, cap, METHOD)
    assert sum(d.determined for d in out) <= cap
    for d in out:
        assert 0 <= d.determined <= d.candidate <= d.permitted
    if sum(d.candidate for d in out) > cap:
        assert sum(d.determined for d in out) == cap


def test_validity_is_five_years() -> None:
    assert valid_until(dt.date(2026, 1, 1)) == dt.date(2030, 12, 31)
    assert valid_until(dt.date(2024, 2, 29)) == dt.date(2029, 2, 28)
    assert not needs_redetermination(dt.date(2026, 1, 1), dt.date(2030, 12, 31))
    assert needs_redetermination(dt.date(2026, 1, 1), dt.date(2031, 1, 1))
