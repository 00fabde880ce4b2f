"""GB/T 8170-2008 §3 rounding (round half to even), exact on the written decimal."""

from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bishui.air.rounding import round_gbt8170


def test_halves_go_to_even_on_the_written_decimal() -> None:
    # 0.15 is stored as 0.1499999…; GB/T 8170 rounds the written 0.15 → 0.2.
    assert round_gbt8170(0.15, 1) == 0.2
    assert round_gbt8170(0.25, 1) == 0.2
    assert round_gbt8170(0.35, 1) == 0.4
    assert round_gbt8170(2.05, 1) == 2.0  # notes §7.3: CO 2.05 → 2.0
    assert round_gbt8170(2.15, 1) == 2.2
    assert round_gbt8170(4.05, 1) == 4.0
    assert round_gbt8170(76.5) == 76.0  # notes §7.3
    assert round_gbt8170(75.5) == 76.0
    assert round_gbt8170(34.5) == 34.0
    assert round_gbt8170(0.125, 2) == 0.12  # notes §7.7
    assert round_gbt8170(1.275, 2) == 1.28


def test_beyond_half_and_negative_digits() -> None:
    assert round_gbt8170(75.4) == 75.0
    assert round_gbt8170(75.51) == 76.0
    assert round_gbt8170(1245, -1) == 1240.0
    assert round_gbt8170(1255, -1) == 1260.0
    assert round_gbt8170(-2.5) == -2.0


def test_arrays_nan_and_decimals() -> None:
    out = round_gbt8170(np.array([34.5, 35.5, np.nan, 60.5]))
    assert np.array_equal(out, [34.0, 36.0, np.nan, 60.0], equal_nan=True)
    assert round_gbt8170(Decimal("0.15"), 1) == Decimal("0.2")
    assert round_gbt8170("2.25", 1) == Decimal("2.2")


@given(st.integers(0, 10**7), st.integers(0, 4), st.integers(0, 3))
def test_matches_decimal_on_written_values(n: int, scale: int, digits: int) -> None:
    text = str(Decimal(n).scaleb(-scale))
    x = float(text)
    want = Decimal(repr(x)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)
    assert round_gbt8170(x, digits) == float(want)
    assert round_gbt8170(np.array([x]), digits)[0] == float(want)
