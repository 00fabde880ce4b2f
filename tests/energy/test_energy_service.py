"""The energy service on both backends: audited writes, accounts recomputed from stored
inputs, dual control and the reduction accounts from the sources' masses and permits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bishui.energy import accounts as ea
from bishui.energy import service as es
from bishui.errors import ConflictError, InputError, NotFoundError
from bishui.registry import Registry, apply
from bishui.registry.model import Region
from bishui.store import Store

BY = "test"
A, B = "420802", "420822"


def _setup(store: Store) -> None:
    apply(store, Registry(regions=[Region(A, "东宝区", "district"), Region(B, "沙洋县", "county")]))
    es.add_units(store, [
        {"id": "u1", "county": A, "kind": "industry", "name": "某化工厂", "synthetic": True},
        {"id": "u2", "county": A, "kind": "public_institution", "name": "市政府大楼"},
        {"id": "u3", "county": B, "kind": "service", "name": "某商场"},
    ], BY)  # fmt: skip
    uses = []
    for y, coal, kwh in ((2020, 2_000_000, 1_000_000), (2021, 1_900_000, 1_050_000),
                         (2025, 1_500_000, 1_200_000)):  # fmt: skip
        uses += [
            {"unit_id": "u1", "year": y, "fuel": "raw_coal", "quantity": coal, "source": "统计"},
            {"unit_id": "u1", "year": y, "fuel": "raw_coal", "quantity": 100_000,
             "feedstock": True, "source": "统计"},
            {"unit_id": "u2", "year": y, "fuel": "electricity", "quantity": kwh, "source": "电网"},
            {"unit_id": "u3", "year": y, "fuel": "natural_gas", "quantity": 10_000, "source": "x"},
        ]  # fmt: skip
    es.record_uses(store, uses, BY)
    es.set_equal_value(store, 2020, "0.3050", "中电联 2020 供电煤耗 (test value)", BY)
    es.set_gdp(store, [
        {"county": A, "year": 2020, "price_base": 2020, "value_wan": "2000", "source": "统计"},
        {"county": A, "year": 2021, "price_base": 2021, "value_wan": "2300", "source": "统计"},
        {"county": A, "year": 2021, "price_base": 2020, "value_wan": "2200", "source": "统计"},
        {"county": A, "year": 2025, "price_base": 2020, "value_wan": "2600", "source": "统计"},
    ], BY)  # fmt: skip
    es.set_targets(store, [{"county": A, "year": 2025, "base_year": 2020, "intensity_fall": "0.135",
                            "incentive_fall": "0.16", "source": "鄂发改 test"}], BY)  # fmt: skip


def test_accounts_from_stored_inputs(store: Store) -> None:
    _setup(store)
    rows = es.accounts(store, A, [2020, 2021])
    r20, r21 = rows
    # 2 000 000 kg coal → 1 428 600 kgce; feedstock 71 430; 1 000 000 kWh → 122 900 / 305 000
    assert r20["equivalent_kgce"] == 1_428_600 + 71_430 + 122_900
    assert r20["equal_value_kgce"] == 1_428_600 + 71_430 + 305_000
    assert r21["equal_value_kgce"] is None  # no 2021 coefficient entered: no guess
    assert r20["by_kind"] == {"industry": 1_500_030, "public_institution": 122_900}
    # 2021: intensity at 2020 prices and the annual rate against 2020 at the same base
    e21 = 1_357_170 + 71_430 + 129_045
    assert r21["intensity_comparable"] == str(Decimal(str(float(ea.intensity(e21, Decimal(2200))))))
    i20 = ea.intensity(1_622_930, Decimal(2000))
    i21 = ea.intensity(e21, Decimal(2200))
    assert r21["annual_rate_pct"] == f"{float(ea.round_half_even((i21 / i20 - 1) * 100, 2)):.2f}"
    ic = ea.intensity(e21, Decimal(2300))
    assert r21["intensity_current"] == str(Decimal(ic.numerator) / ic.denominator)


def test_dual_control_attainment_with_exclusions(store: Store) -> None:
    _setup(store)
    [a] = es.attainment(store, 2025)
    assert a["status"] in ("met", "missed") and a["deductions"]["feedstock_now"] == 71_430
    e_now = 1_071_450 + 147_480  # coal 1 500 000 kg + 1 200 000 kWh (u1, u2 in A)
    i_now = ea.intensity(e_now, Decimal(2600))
    i_base = ea.intensity(1_428_600 + 122_900, Decimal(2000))
    assert a["intensity"] == str(Decimal(i_now.numerator) / i_now.denominator)
    assert a["base_intensity"] == str(Decimal(i_base.numerator) / i_base.denominator)
    fall = 1 - i_now / i_base
    assert a["intensity_met"] is (fall >= Fraction(135, 1000))
    [b] = es.attainment(store, 2025, exclusions=ea.Exclusions.none())
    assert b["deductions"] == {} and b["fall_pct"] != a["fall_pct"]
    assert es.attainment(store, 2025, counties=[B]) == []


def test_savings_need_a_named_baseline(store: Store) -> None:
    _setup(store)
    with pytest.raises(NotFoundError):
        es.savings(store, A, 2025, "2020基期")
    es.set_baseline(store, "2020基期", A, 2020, 2020, "0.7756", "2020 accounts", BY)
    s = es.savings(store, A, 2025, "2020基期")
    e = 1_071_450 + 71_430 + 147_480
    assert s["saved_kgce"] == int(ea.round_half_even(Fraction(7756, 10_000) * 2600 * 1000 - e, 0))
    assert s["baseline_source"] == "2020 accounts"


def test_writes_are_validated_and_audited(store: Store) -> None:
    _setup(store)
    with pytest.raises(InputError) as e:
        es.record_uses(store, [{"unit_id": "u9", "year": 2020, "fuel": "raw_coal",
                                "quantity": 1, "source": "x"}], BY)  # fmt: skip
    assert e.value.field == "unit_id"
    with pytest.raises(InputError):
        es.record_uses(store, [{"unit_id": "u1", "year": 2020, "fuel": "raw_coal",
                                "quantity": "1.5", "source": "x"}], BY)  # fmt: skip
    with pytest.raises(InputError):
        es.set_equal_value(store, 2021, "0.0013", "units slip", BY)
    with pytest.raises(InputError):
        es.add_units(store, [{"id": "x", "county": "999999", "kind": "industry", "name": "x"}], BY)
    log = es.audit_log(store, 500)
    assert {r["action"] for r in log} >= {"unit", "use", "equal_value", "gdp", "target"}
    assert all(r["actor"] == BY for r in log)


def test_reduction_accounts_from_entries_and_projects(store: Store) -> None:
    _setup(store)
    es.record_emissions(store, [
        {"source_id": "S1", "county": A, "pollutant": "COD", "year": 2020, "basis": "declared",
         "grams": 500_000_000, "source": "2020 执行报告"},
        {"source_id": "S1", "county": A, "pollutant": "COD", "year": 2025, "basis": "declared",
         "grams": 300_000_000, "source": "2025 执行报告"},
        {"source_id": "S2", "county": A, "pollutant": "COD", "year": 2025, "basis": "factor",
         "grams": 50_000_000, "source": "domestic_cod × 人口"},
    ], BY)  # fmt: skip
    es.set_emission_targets(store, [
        {"county": A, "pollutant": "COD", "base_year": 2020, "year": 2025, "kind": "tonnes",
         "value": "150", "source": "test 重点工程减排量"},
        {"county": A, "pollutant": "COD", "base_year": 2020, "year": 2025, "kind": "percent",
         "value": "0.08", "source": "test −8 %"},
    ], BY)  # fmt: skip
    es.add_projects(store, [
        {"id": "P1", "pollutant": "COD", "county": A, "year": 2023, "kind": "engineering",
         "name": "污水处理厂提标", "before_g": 400_000_000, "after_g": 200_000_000,
         "basis": "monitoring", "recognised": True, "evidence": "验收报告"},
    ], BY)  # fmt: skip
    acc = es.reduction_accounts(store, 2025)
    [tot] = acc["totals"]
    assert tot["tonnes"] == "350" and tot["by_basis"] == {"declared": 300_000_000,
                                                         "factor": 50_000_000}  # fmt: skip
    res = {r["kind"]: r for r in es.reduction_results(store, 2025)}
    assert res["tonnes"]["met"] is True and res["tonnes"]["project_cut_t"] == "200"
    assert res["percent"]["total_cut_pct"] == "30.00" and res["percent"]["met"] is True
    assert res["percent"]["new_increment_t"] == "50"
    with pytest.raises(ConflictError):
        es.add_projects(store, [
            {"id": "P2", "pollutant": "COD", "county": A, "year": 2023, "kind": "engineering",
             "name": "x", "before_g": 2, "after_g": 1, "basis": "monitoring", "evidence": "x"},
        ] * 2, BY)  # fmt: skip


def test_monitored_masses_come_from_the_sources_daily_masses(store: Store) -> None:
    """A source site with a year of daily masses is accounted on the monitoring basis; one with
    a few days falls back to its permitted quantity (upper bound)."""
    from bishui.registry.model import Enterprise, Site

    _setup(store)
    apply(store, Registry(
        enterprises=[Enterprise("91420800MA00000003", "某电厂", "电力", A)],
        sites=[Site("SRC1", "source_gas", "某电厂1#", A, enterprise="91420800MA00000003",
                    outlet="DA001"),
               Site("SRC2", "source_gas", "某电厂2#", B, enterprise="91420800MA00000003",
                    outlet="DA002")],
    ))  # fmt: skip
    days = [dt.date(2025, 1, 1) + dt.timedelta(d) for d in range(365)]
    rows = [("SRC1", "DA001", "a21026", d, 0.01, 0) for d in days]
    rows += [("SRC2", "DA002", "a21026", d, 0.02, 0) for d in days[:10]]
    with store.transaction() as tx:
        tx.insert_rows("source_mass_daily",
                       ("site_code", "outlet_id", "pollutant", "day", "mass_t", "missing_hours"),
                       rows)  # fmt: skip
    acc = es.reduction_accounts(store, 2025)
    figs = {f["source_id"]: f for f in acc["figures"]}
    assert figs["SRC1"]["basis"] == "monitoring" and figs["SRC1"]["grams"] == 3_650_000
    assert figs["SRC1"]["coverage"] == "100.0"
    assert "SRC2" not in figs  # 10 days of data, no permit, no entry: no figure on any basis
    assert es.reduction_accounts(store, 2025, counties=[B])["totals"] == []


@given(st.one_of(st.text(max_size=12), st.floats(allow_nan=True), st.integers(-(10**20), 10**20)))
def test_the_integer_parser_takes_whole_numbers_only(v: object) -> None:
    """Quantities, masses and kgce are whole numbers: anything else is an InputError, never a
    silent truncation."""
    try:
        n = es.parse_int(v, "quantity")
    except InputError as e:
        assert e.field == "quantity"
        return
    assert Decimal(str(v).strip()) == n


@given(st.text(max_size=12))
def test_the_decimal_parser_refuses_non_numbers(v: str) -> None:
    try:
        d = es.parse_decimal(v, "value_wan")
    except InputError:
        return
    assert d.is_finite() and d == Decimal(v.strip())
