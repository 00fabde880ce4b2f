"""节能量 = adjusted baseline − reporting energy (GB/T 13234, notes §A3), in kgce; 确权."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bishui.errors import InputError
from bishui.exchange.market.energy import (
    ProductPeriods,
    adjusted_baseline,
    confirm,
    energy_saving,
)


def test_a_single_product_worked_example() -> None:
    # baseline: 12,000 tce for 100,000 t of clinker (120 kgce/t); reporting period: 110,000 t
    # made with 12,100 tce. Adjusted baseline 13,200 tce; saving 1,100 tce = 1,100,000 kgce.
    p = ProductPeriods("熟料", 12_000_000, Decimal(100_000), 12_100_000, Decimal(110_000))
    assert adjusted_baseline(p) == 13_200_000
    assert energy_saving([p]) == 1_100_000


def test_several_products_and_rounding() -> None:
    a = ProductPeriods("a", 1_000, Decimal(3), 600, Decimal(2))  # 666.67 − 600
    b = ProductPeriods("b", 500, Decimal("2.5"), 390, Decimal("2"))  # 400 − 390
    exact = Fraction(2000, 3) - 600 + 10
    assert exact == Fraction(230, 3)  # 76.67 kgce
    assert energy_saving([a, b]) == 76
    assert energy_saving([a, b], "half_up") == 77
    # energy per unit rose: a negative saving
    worse = ProductPeriods("c", 1_000, Decimal(10), 1_200, Decimal(10))
    assert energy_saving([worse]) == -200


def test_bad_inputs() -> None:
    with pytest.raises(InputError) as e:
        energy_saving([ProductPeriods("a", 1, Decimal(0), 1, Decimal(1))])
    assert e.value.field == "a.baseline_output"
    with pytest.raises(InputError) as e:
        energy_saving([ProductPeriods("a", 1, Decimal(1), 1, 1.5)])  # type: ignore[arg-type]
    assert e.value.field == "a.reporting_output"
    with pytest.raises(InputError):
        energy_saving([])


def test_confirmation_needs_both_audits_and_a_saving() -> None:
    c = confirm(1_100_000, "BA-2025-017", "AR-2026-031", "某节能审计公司")
    assert c.units == 1_100_000
    with pytest.raises(InputError) as e:
        confirm(1_100_000, "BA-2025-017", " ", "某节能审计公司")
    assert e.value.field == "audit_report"
    with pytest.raises(InputError) as e:
        confirm(0, "BA", "AR", "X")
    assert e.value.field == "saving"


@given(
    st.integers(0, 10**9),
    st.integers(1, 10**6),
    st.integers(0, 10**9),
    st.integers(0, 10**6),
)
def test_same_output_means_the_plain_difference(e0: int, q: int, e1: int, q1: int) -> None:
    same = ProductPeriods("p", e0, Decimal(q), e1, Decimal(q))
    assert energy_saving([same]) == e0 - e1
    p = ProductPeriods("p", e0, Decimal(q), e1, Decimal(q1))
    down, up = energy_saving([p], "down"), energy_saving([p], "half_up")
    exact = Fraction(e0 * q1, q) - e1
    assert abs(exact - down) < 1 and abs(exact - up) <= Fraction(1, 2)
