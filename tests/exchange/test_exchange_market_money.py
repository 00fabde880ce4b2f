"""Money in fen: rounding modes and largest-remainder apportionment (exchange market rules)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bishui.errors import InputError
from bishui.exchange.market.money import amount_fen, apportion, round_fen

KG = Decimal("0.001")


@pytest.mark.parametrize(
    ("amount", "half_up", "half_even", "down"),
    [
        (Fraction(5, 2), 3, 2, 2),
        (Fraction(7, 2), 4, 4, 3),
        (Fraction(-5, 2), -3, -2, -2),
        (Fraction(12345, 1000), 12, 12, 12),
        (Fraction(12501, 1000), 13, 13, 12),
        (Fraction(7), 7, 7, 7),
    ],
)
def test_round_fen_modes(amount: Fraction, half_up: int, half_even: int, down: int) -> None:
    assert round_fen(amount, "half_up") == half_up
    assert round_fen(amount, "half_even") == half_even  # GB/T 8170-2008 §3.1
    assert round_fen(amount, "down") == down


def test_amount_of_emission_rights_in_fen() -> None:
    # 咸宁 auction COD top price 28,140 CNY/t (notes §A2 [S]); 1.5 t = 1,500 kg
    assert amount_fen(2_814_000, 1_500, KG) == 4_221_000
    # 12,345 fen/t × 0.5 kg = 6.1725 fen → 6; × 1.5 kg ... 18.5175 → 19
    assert amount_fen(12_345, 1, KG) == 12
    assert amount_fen(1_500, 1, KG, "half_up") == 2  # 1.5 fen: a tie
    assert amount_fen(1_500, 1, KG, "half_even") == 2
    assert amount_fen(2_500, 1, KG, "half_even") == 2
    assert amount_fen(2_500, 1, KG, "half_up") == 3
    assert amount_fen(2_000, 200_000, Decimal(1)) == 400_000_000  # 200,000 t at CNY 20


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"price_fen": -1, "units": 1}, "price_fen"),
        ({"price_fen": 1, "units": 1.5}, "units"),
        ({"price_fen": True, "units": 1}, "price_fen"),
    ],
)
def test_bad_amount_inputs(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as e:
        amount_fen(quantum=KG, **kwargs)  # type: ignore[arg-type]
    assert e.value.field == field


def test_bad_rounding_is_refused() -> None:
    with pytest.raises(InputError) as e:
        round_fen(Fraction(1, 2), "ceiling")  # type: ignore[arg-type]
    assert e.value.field == "rounding"


def test_apportion_examples() -> None:
    assert apportion(100, [1, 1, 1]) == [34, 33, 33]
    assert apportion(10, [5, 3, 2]) == [5, 3, 2]
    assert apportion(7, [2, 1]) == [5, 2]  # quotas 4.67, 2.33
    assert apportion(0, [1, 2]) == [0, 0]
    with pytest.raises(InputError, match="weight > 0"):
        apportion(5, [0, 0])


@given(
    st.integers(min_value=0, max_value=10**12),
    st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30).filter(any),
)
def test_apportion_is_exact_and_within_one_of_the_quota(total: int, weights: list[int]) -> None:
    parts = apportion(total, weights)
    assert sum(parts) == total
    s = sum(weights)
    for p, w in zip(parts, weights, strict=True):
        assert abs(Fraction(p) - Fraction(total * w, s)) < 1
        assert p >= 0
