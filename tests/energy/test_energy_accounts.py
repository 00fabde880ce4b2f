"""The energy accounts' core: GB/T 2589-2020 conversions, intensity and reduction rates by the
bulletin's method, savings against a named baseline, dual control, and the reconciliation of
Jingmen's published 2016 figures (issue 18; notes B.5–B.6, §2.2)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bishui.energy import accounts as ea
from bishui.errors import InputError

WAN = 10_000  # 万
YI = 100_000_000  # 亿


def kgce_of_wan_tce(x: str) -> int:
    """万tce → kgce, exactly."""
    v = Decimal(x) * WAN * 1000
    assert v == int(v)
    return int(v)


def wan_yuan_of_yi(x: str) -> Decimal:
    """亿元 → 万元."""
    return Decimal(x) * (YI // WAN)


# -- GB/T 2589-2020 coefficients ------------------------------------------------------------------
def test_every_coefficient_with_a_heat_content_is_kcal_over_7000_to_4_decimals() -> None:
    """1 kgce = 7 000 kcal (29 307 kJ): each Annex A coefficient is its LHV ÷ 7 000 (notes B.5)."""
    import csv
    from importlib import resources

    src = resources.files("bishui.energy") / "data" / "coefficients.csv"
    with src.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    checked = 0
    for r in rows:
        assert r["tag"] in {"S", "U", "V"} and r["source"] and r["valid_from"]
        if r["kcal_per_unit"]:
            calc = (Decimal(r["kcal_per_unit"]) / 7000).quantize(Decimal("0.0001"))
            assert calc == Decimal(r["kgce_per_unit"]), r["code"]
            checked += 1
    assert checked == 12
    # heat: 1 MJ ÷ 29.3076 MJ/kgce
    assert ea.coefficient("heat").kgce_per_unit == Decimal(1 / Decimal("29.3076")).quantize(
        Decimal("0.00001")
    )


def test_conversions_with_units() -> None:
    # 1 t raw coal = 1 000 kg × 0.7143 = 714.3 → 714 kgce (half to even at 1 kgce)
    t = ea.totals([ea.Use("u", "raw_coal", 1000)], Decimal("0.3120"))
    assert t.equivalent_kgce == t.equal_value_kgce == 714
    # 10 000 kWh: 1 229 kgce on the equivalent value, 3 120 kgce at a 312 g/kWh coal rate
    t = ea.totals([ea.Use("u", "electricity", 10_000)], Decimal("0.3120"))
    assert (t.equivalent_kgce, t.equal_value_kgce) == (1229, 3120)
    # 1 000 m³ natural gas × 1.3300 = 1 330 kgce; 1 GJ of heat = 34.12 → 34 kgce
    t = ea.totals([ea.Use("u", "natural_gas", 1000), ea.Use("u", "heat", 1000)], Decimal("0.3"))
    assert t.by_fuel["natural_gas"][ea.EQUIVALENT] == 1330
    assert t.by_fuel["heat"][ea.EQUIVALENT] == 34
    # half to even at exactly .5 kgce: 5 kWh × 0.1229 = 0.6145 → 1; 0.5 cases
    assert ea.round_div_half_even(np.array([5, 15, 25, -5]), 10).tolist() == [0, 2, 2, 0]


def test_equal_value_rate_is_range_checked_and_unknown_fuels_refused() -> None:
    with pytest.raises(InputError) as e:
        ea.totals([ea.Use("u", "electricity", 1)], Decimal("0.0013"))  # the units slip of notes B.5
    assert e.value.field == "equal_value_kgce_per_kwh"
    with pytest.raises(InputError):
        ea.totals([ea.Use("u", "unobtainium", 1)], Decimal("0.3"))
    with pytest.raises(InputError):
        ea.totals([ea.Use("u", "electricity", 1, feedstock=True)], Decimal("0.3"))


@given(st.lists(st.tuples(st.sampled_from(["raw_coal", "diesel", "electricity", "heat"]),
                          st.integers(0, 10**12)), max_size=30))  # fmt: skip
def test_totals_are_the_exact_sum_of_the_records(rows: list[tuple[str, int]]) -> None:
    uses = [ea.Use("u", f, q) for f, q in rows]
    t = ea.totals(uses, Decimal("0.305"))
    exact = [q * ea.coefficient(f).kgce_per_unit for f, q in rows]
    assert t.equivalent_kgce == sum(int(x.quantize(Decimal(1), "ROUND_HALF_EVEN")) for x in exact)
    assert sum(v[ea.EQUAL_VALUE] or 0 for v in t.by_fuel.values()) == t.equal_value_kgce
    # without the year's coal rate there is no equal-value figure, and asking for one is refused
    u = ea.totals(uses, None)
    assert u.equal_value_kgce is None and u.equivalent_kgce == t.equivalent_kgce
    with pytest.raises(InputError):
        u.total(ea.EQUAL_VALUE)


# -- intensity and reduction rates ---------------------------------------------------------------
def test_intensity_rounded_to_4_decimals_half_even() -> None:
    # energy in kgce, GDP in 万元: 5 284 tce over 10 000 万元
    assert ea.intensity(5_284_000, Decimal(10_000)) == Fraction(5284, 10_000)
    assert ea.intensity(52_845_000, Decimal(100_000)) == Fraction(5284, 10_000)  # half → even
    assert ea.intensity(52_835_000, Decimal(100_000)) == Fraction(5284, 10_000)
    assert ea.intensity(52_835_001, Decimal(100_000)) == Fraction(5284, 10_000)
    assert ea.intensity(52_845_001, Decimal(100_000)) == Fraction(5285, 10_000)
    with pytest.raises(InputError):
        ea.intensity(1, Decimal(0))


def test_chained_reduction_and_the_equivalent_annual_rate() -> None:
    # five annual falls of 4.3648 % compound to a 20 % fall (notes B.6)
    r = ea.annual_rate_for(Fraction(1, 5), 5)
    assert ea.round_half_even(r, 6) == Fraction(43648, 10**6)
    k = ea.chained([-r] * 5)
    assert round(float(k), 6) == -0.2
    # a chain across two price bases multiplies the factors, it does not add the rates
    assert ea.chained([Fraction(-1, 10), Fraction(-1, 10)]) == Fraction(-19, 100)


# -- Jingmen 2016: the published figures and the assumptions under which they agree ------------
E2016 = kgce_of_wan_tce("796.4")
GDP2016_CURRENT = ea.Gdp(2016, 2016, wan_yuan_of_yi("1521.0"), "published")
# ASSUMPTION A: comparable-price GDP (2015 prices) = 1 507.2 亿元 (notes B.6, computed)
GDP2016_2015_PRICES = ea.Gdp(2016, 2015, wan_yuan_of_yi("1507.2"), "assumption A")
PUBLISHED_INTENSITY = Fraction(5284, 10_000)
PUBLISHED_FALL_SINCE_2010 = Fraction(306, 1000)
PUBLISHED_SAVINGS = kgce_of_wan_tce("182.74")


def test_2016_intensity_does_not_agree_at_current_prices() -> None:
    assert ea.intensity(E2016, GDP2016_CURRENT.value_wan) == Fraction(5236, 10_000)
    assert ea.intensity(E2016, GDP2016_CURRENT.value_wan) != PUBLISHED_INTENSITY


def test_2016_intensity_agrees_under_assumption_a_comparable_prices() -> None:
    """Assumption A: the published 0.5284 divides by comparable-price GDP (2015 prices)."""
    assert ea.intensity(E2016, GDP2016_2015_PRICES.value_wan) == PUBLISHED_INTENSITY
    # the denominators that give 0.5284 at 4 decimals: 1 507.05–1 507.33 亿元; 1 507.2 is one
    lo = Fraction(E2016, 1000) / Fraction(52845, 100_000) / 10_000
    hi = Fraction(E2016, 1000) / Fraction(52835, 100_000) / 10_000
    assert lo < Fraction(15072, 10) < hi
    assert (round(float(lo), 2), round(float(hi), 2)) == (1507.05, 1507.33)
    # the implicit deflator 2016 over 2015 prices: 1.0092 (0.92 %)
    d = ea.deflator(GDP2016_CURRENT, GDP2016_2015_PRICES)
    assert ea.round_half_even(d, 4) == Fraction(10092, 10_000)


def test_2016_fall_since_2010_under_assumption_b_chained() -> None:
    """Assumption B: −30.6 % is chained across two price bases (2010 prices for 2011–15, 2015
    prices for 2016). It implies a 2010 intensity of 0.7614 tce/万元 *on a consistent basis*;
    the published 2010 intensity (at 2010 prices) is not an input, and the platform computes
    the fall only as a chain of annual rates (each on one price basis)."""
    implied_2010 = ea.round_half_even(PUBLISHED_INTENSITY / (1 - PUBLISHED_FALL_SINCE_2010), 4)
    assert implied_2010 == Fraction(7614, 10_000)
    fall = -ea.change_rate(PUBLISHED_INTENSITY, implied_2010)
    assert ea.round_half_even(fall, 3) == PUBLISHED_FALL_SINCE_2010
    # savings against 2010 would be 351.2 万tce, not the published 182.74
    s2010 = ea.savings_kgce(E2016, GDP2016_2015_PRICES.value_wan, implied_2010)
    assert round(s2010 / 10_000_000, 1) == 351.2
    assert s2010 != PUBLISHED_SAVINGS


def test_2016_savings_agree_only_under_assumption_c_a_later_baseline() -> None:
    """Assumption C: the 182.74 万tce saved are measured against a baseline intensity later than
    2010, implied (E + S) ÷ GDP = 0.649642… → 0.6496 at 4 decimals. Recomputed from the
    *rounded* 0.6496 the savings are 182.68 万tce, not 182.74: the published figure needs an
    unrounded baseline in [0.649638, 0.649645) tce/万元 (the notes' "= (0.6496 − 0.5284) ×
    1 507.2" is 182.67, not 182.74)."""
    gdp = GDP2016_2015_PRICES.value_wan
    implied = ea.implied_base_intensity(E2016, PUBLISHED_SAVINGS, gdp)
    assert ea.round_half_even(implied, 4) == Fraction(6496, 10_000)
    assert round(float(implied), 6) == 0.649642
    s = ea.savings_kgce(E2016, gdp, Fraction(6496, 10_000))
    assert round(Fraction(s, 10_000_000), 2) == Fraction(18268, 100)
    assert s != PUBLISHED_SAVINGS
    lo = ea.implied_base_intensity(E2016, kgce_of_wan_tce("182.735"), gdp)
    hi = ea.implied_base_intensity(E2016, kgce_of_wan_tce("182.745"), gdp)
    assert round(float(lo), 6) == 0.649638 and round(float(hi), 6) == 0.649645
    # with the rounded published intensity the product form gives 182.67
    assert round((Fraction(6496, 10_000) - PUBLISHED_INTENSITY) * Fraction(15072, 10), 2) == (
        Fraction(18267, 100)
    )
    # the baseline's cut: 1 − 0.5284 / 0.6496 = 18.66 %
    assert ea.round_half_even(1 - PUBLISHED_INTENSITY / Fraction(6496, 10_000), 4) == Fraction(
        1866, 10_000
    )


# -- dual control --------------------------------------------------------------------------------
def _t(coal_kg: int, kwh: int, feed_kg: int = 0, ren_kwh: int = 0) -> ea.Totals:
    uses = [ea.Use("u", "raw_coal", coal_kg), ea.Use("u", "electricity", kwh)]
    if feed_kg:
        uses.append(ea.Use("u", "raw_coal", feed_kg, feedstock=True))
    if ren_kwh:
        uses.append(ea.Use("u", "renewable_electricity", ren_kwh))
    return ea.totals(uses, Decimal("0.3"))


def test_dual_control_feedstock_deducted_from_both_years_and_renewables_from_total_only() -> None:
    base = _t(1_000_000, 1_000_000, feed_kg=100_000, ren_kwh=100_000)
    now = _t(900_000, 1_000_000, feed_kg=300_000, ren_kwh=600_000)
    tgt = ea.Target("420802", 2025, 2020, Fraction(135, 1000), Fraction(16, 100), 900_000)
    gdp = Decimal(1000)
    plain = ea.attainment(tgt, now, base, gdp, gdp, exclusions=ea.Exclusions.none())
    full = ea.attainment(tgt, now, base, gdp, gdp, renewable_base_kwh=100_000,
                         renewable_base_kgce=base.renewable_kgce[ea.EQUIVALENT])  # fmt: skip
    assert (
        full.deductions["feedstock_now"] == 214_290 and full.deductions["feedstock_base"] == 71_430
    )
    assert full.deductions["renewable_increase_kwh"] == 500_000
    assert full.deductions["renewable_increase"] == 61_450
    # renewables stay in the intensity (2022 rule): intensity energy = total − feedstock only
    assert full.intensity_energy_kgce == now.equivalent_kgce - 214_290
    assert full.energy_kgce == now.equivalent_kgce - 214_290 - 61_450
    assert plain.fall < full.fall
    assert full.completion == full.fall / Fraction(135, 1000)


def test_incentive_target_exempts_the_total_check() -> None:
    base = _t(2_000_000, 0)
    now = _t(1_000_000, 0)
    tgt = ea.Target("c", 2025, 2020, Fraction(135, 1000), Fraction(16, 100), total_cap_kgce=1)
    a = ea.attainment(tgt, now, base, Decimal(100), Decimal(100), exclusions=ea.Exclusions.none())
    assert a.intensity_met and a.incentive_met and a.total_exempt and a.total_met is None
    tgt2 = ea.Target("c", 2025, 2020, Fraction(135, 1000), None, total_cap_kgce=1)
    b = ea.attainment(tgt2, now, base, Decimal(100), Decimal(100), exclusions=ea.Exclusions.none())
    assert b.total_met is False and not b.total_exempt


def test_renewable_share_states_its_basis() -> None:
    t = _t(0, 1_000_000, ren_kwh=1_000_000)
    assert t.renewable_share(ea.EQUIVALENT) == Fraction(1, 2)
    assert t.renewable_share(ea.EQUAL_VALUE) == Fraction(1, 2)
    with pytest.raises(InputError):
        t.total("kcal")
