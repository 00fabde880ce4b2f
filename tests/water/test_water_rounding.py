"""Rounding (四舍六入五成双, one significant digit kept) and the pH mean (notes A1.3, [V])."""

from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui.water.rounding import ph_mean, round_assessment, round_half_even


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (2.675, 2, 2.68),  # 5 after an odd digit rounds up (float round() gives 2.67)
        (2.665, 2, 2.66),  # 5 after an even digit stays
        (1.005, 2, 1.0),
        (0.125, 2, 0.12),
        (0.135, 2, 0.14),
        (0.1251, 2, 0.13),  # anything after the 5 rounds up
        (0.126, 2, 0.13),
        (0.124, 2, 0.12),
        (2.5, 0, 2.0),
        (3.5, 0, 4.0),
        (0.000003, 5, 0.000003),  # would round to 0: keep one significant digit
        (0.0000025, 5, 0.000002),
        (0.04, 1, 0.04),  # 0.04 would round to 0.0: keeps one significant digit
        (0.06, 1, 0.1),  # rounds to 0.1, not 0: the rule does not apply
    ],
)
def test_round_half_even(value, places, expected):
    assert round_half_even(value, places) == pytest.approx(expected, abs=1e-15)


def test_nan_and_zero_pass_through():
    out = round_half_even([np.nan, 0.0], 2)
    assert np.isnan(out[0]) and out[1] == 0.0


def test_round_assessment_uses_each_items_places():
    codes = ["w21003", "w21011", "w01009", "w99999"]
    out = round_assessment([[0.455, 0.1235, 6.45, 1.23456]], codes)
    assert out.tolist() == [[0.46, 0.124, 6.4, 1.23456]]
    assert round_assessment([[0.455]], ["w21003"], {"w21003": 1}).tolist() == [[0.5]]


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**7), st.integers(0, 6), st.integers(0, 4))
def test_property_matches_decimal_half_even(mantissa, exponent, places):
    """The float routine agrees with Decimal's ROUND_HALF_EVEN on short decimal inputs."""
    text = f"{Decimal(mantissa).scaleb(-exponent)}"
    q = Decimal(text).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    got = float(round_half_even(float(text), places))
    if q == 0 and Decimal(text) != 0:
        return  # the significant-digit rule applies; tested above
    assert got == float(q)


def test_ph_mean_is_hydrogen_ion_mean():
    # −log10((10^−6 + 10^−8) / 2) = −log10(5.05e−7) = 6.2967 (A1.3): not the arithmetic mean 7.
    assert ph_mean([6.0, 8.0]) == pytest.approx(6.29671, abs=1e-5)
    assert ph_mean([7.0, 7.0, 7.0]) == pytest.approx(7.0)
    assert ph_mean([7.5, np.nan]) == pytest.approx(7.5)
    rows = ph_mean(np.array([[6.0, 8.0], [7.0, np.nan]]), axis=1)
    assert rows == pytest.approx([6.29671, 7.0], abs=1e-5)
    assert np.isnan(ph_mean([np.nan]))
