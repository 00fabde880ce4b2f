"""The comparison rule and the exact helpers (bishui.exact), against Fraction references."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui import exact
from bishui.air.rounding import round_gbt8170


def test_every_check_names_its_comparison_and_clause() -> None:
    for name, rule in exact.CHECKS.items():
        assert rule.method in ("full", "rounded"), name
        assert rule.clause, name
        if rule.method == "full":
            assert rule.digits is None and "GB/T 8170" in rule.clause
        else:
            assert rule.digits is not None or rule.digits_from, name


def test_full_and_rounded_comparison_differ_only_as_gbt8170_says() -> None:
    full = exact.Comparison("full", None, "test")
    rounded = exact.Comparison("rounded", 0, "test")
    v = np.array([160.4, 160.5, 160.6, 161.5, 160.0])
    assert exact.exceeds(v, 160, full).tolist() == [True, True, True, True, False]
    # 修约值比较法: 160.5 → 160 (half to even) is within, 161.5 → 162 is not
    assert exact.exceeds(v, 160, rounded).tolist() == [False, False, True, True, False]
    assert exact.exceeds([5.9, 9.0, np.nan], 9, full, lower=6).tolist() == [True, False, False]


def test_written_reads_a_float_as_its_shortest_decimal() -> None:
    assert exact.written(0.1) == Fraction(1, 10)
    assert exact.written(29.2) == Fraction(292, 10)
    assert exact.written(Decimal("0.075")) == Fraction(3, 40)
    assert exact.written(3) == 3


def test_round_half_even_exact() -> None:
    assert exact.round_half_even(Fraction(3, 40), 2) == Fraction(8, 100)  # 0.075 → 0.08
    assert exact.round_half_even(Fraction(9, 40), 2) == Fraction(22, 100)  # 0.225 → 0.22
    assert exact.round_half_even(Fraction(-255, 8), 2) == Fraction(-3188, 100)  # −31.875


def test_common_units_and_fits() -> None:
    (a, b), d = exact.common_units([np.array([1.5, 2.25]), np.array([3.0])])  # type: ignore[misc]
    assert d == 2 and a.tolist() == [150.0, 225.0] and b.tolist() == [300.0]
    assert exact.common_units([np.array([1 / 3])]) is None
    assert exact.fits(np.array([2.0**52])) and not exact.fits(np.array([2.0**53]))


def test_settle_rechecks_only_elements_near_a_decision_point() -> None:
    calls: list[int] = []

    def ex(idx: np.ndarray) -> list[Fraction | None]:
        calls.extend(int(i) for i in idx)
        return [Fraction(1, 2) for _ in idx]

    out = exact.settle(np.array([0.5000000000000001, 0.123456789123]), ex)
    assert calls == [0] and out[0] == 0.5


decimals = st.integers(min_value=1, max_value=400_000).map(lambda n: Decimal(n).scaleb(-3))


@settings(max_examples=300, deadline=None)
@given(c=decimals, s=decimals)
def test_multiple_is_the_nearest_float_of_the_exact_value(c: Decimal, s: Decimal) -> None:
    got = exact.multiple(np.array([float(c)]), float(s))[0]
    assert got == float((Fraction(c) - Fraction(s)) / Fraction(s))


@settings(max_examples=300, deadline=None)
@given(a=decimals, b=decimals)
def test_change_rate_is_the_nearest_float_of_the_exact_value(a: Decimal, b: Decimal) -> None:
    got = exact.change_rate(np.array([float(a)]), np.array([float(b)]))[0]
    assert got == float((Fraction(a) - Fraction(b)) * 100 / Fraction(b))


def test_inexact_inputs_take_the_recheck_path() -> None:
    third = 1 / 3
    got = exact.multiple(np.array([third * 4.5]), third * 3)[0]
    ref = (exact.written(third * 4.5) - exact.written(third * 3)) / exact.written(third * 3)
    assert got == pytest.approx(float(ref), rel=1e-15)  # off-grid: the float path stands
    assert round_gbt8170(exact.multiple(np.array([4.3]), 4.0), 2)[0] == 0.08


def test_the_exactness_page_examples_run() -> None:
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "exactness.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 2
    for code in blocks:
        exec(compile(code, str(page), "exec"), {})
