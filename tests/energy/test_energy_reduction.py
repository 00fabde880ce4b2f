"""Total-emission reduction accounting: each figure on its basis, county totals, targets in %
and in 重点工程减排量 tonnes, projects counted once (notes §1)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bishui.energy import reduction as rd
from bishui.errors import ConflictError, InputError

T = rd.G_PER_T


def test_pollutant_keys_and_codes() -> None:
    assert rd.pollutant("nh3-n") == "NH3N" and rd.pollutant("a21002") == "NOX"
    assert "SO2" not in rd.PLAN_POLLUTANTS["14th"]
    with pytest.raises(InputError):
        rd.pollutant("VOCs")


def test_basis_preference_monitoring_then_declared_then_factor_then_permit() -> None:
    rows = [
        rd.SourceYear("a", "c", "SO2", 2025, monitored_g=5 * T, days_with_data=365, permit_g=9 * T),
        # monitoring on 328 of 365 days is below 0.9 → the declared figure
        rd.SourceYear("b", "c", "SO2", 2025, monitored_g=4 * T, days_with_data=328,
                      declared_g=6 * T),
        rd.SourceYear("c", "c", "SO2", 2025, factor_g=2 * T, permit_g=3 * T),
        rd.SourceYear("d", "c", "SO2", 2025, permit_g=7 * T),
        rd.SourceYear("e", "c", "SO2", 2025),
    ]  # fmt: skip
    f = rd.choose(rows)
    assert [(x.source_id, x.basis, x.grams // T) for x in f] == [
        ("a", "monitoring", 5), ("b", "declared", 6), ("c", "factor", 2), ("d", "permit", 7)
    ]  # fmt: skip
    assert f[1].coverage == Fraction(328, 365)
    # exactly at the coverage threshold counts (329/365 ≥ 0.9 is false, 9/10 of 10 days is true)
    g = rd.choose([rd.SourceYear("x", "c", "SO2", 2025, monitored_g=1, days_with_data=9,
                                 days_in_year=10)])  # fmt: skip
    assert g[0].basis == "monitoring"
    t = rd.county_totals(f)
    assert t[0].grams == 20 * T and t[0].by_basis == {
        "declared": 6 * T, "factor": 2 * T, "monitoring": 5 * T, "permit": 7 * T
    }  # fmt: skip


@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 10**12)), max_size=40))
def test_county_totals_conserve_the_figures(rows: list[tuple[str, int]]) -> None:
    figs = [rd.Figure(f"s{i}", c, "COD", 2025, g, "factor", None) for i, (c, g) in enumerate(rows)]
    tot = rd.county_totals(figs)
    assert sum(t.grams for t in tot) == sum(g for _, g in rows)
    assert all(sum(t.by_basis.values()) == t.grams for t in tot)


def test_factors_are_sourced_and_the_sulphur_formula() -> None:
    f = rd.factors()["domestic_cod"]
    assert f.grams_per_unit == 70 and f.tag in "SUV" and f.source
    # 100 000 people for 365 days at 70 g → 2 555 t
    assert rd.factor_grams(100_000 * 365, f.grams_per_unit) == 2555 * T
    # 1 % sulphur: 16 g SO2 per kg of coal
    assert rd.sulphur_factor(Decimal(1)) == 16
    with pytest.raises(InputError):
        rd.sulphur_factor(Decimal(50))


def _p(pid: str, before: int, after: int, year: int = 2023, rec: bool = True) -> rd.Project:
    return rd.Project(pid, "c", "COD", year, "engineering", before * T, after * T, "monitoring",
                      rec)  # fmt: skip


def test_tonnes_target_met_by_recognised_projects_only() -> None:
    projects = [_p("p1", 500, 100), _p("p2", 300, 100, rec=False), _p("p3", 100, 0, year=2020)]
    rd.check_projects(projects)
    tgt = rd.ReductionTarget("c", "COD", 2020, 2025, "tonnes", Decimal(450))
    totals = {("c", "COD", 2020): 5000 * T, ("c", "COD", 2025): 4800 * T}
    r = rd.assess(tgt, totals, projects)
    assert r.project_cut_g == 400 * T and r.unrecognised_g == 200 * T and r.met is False
    assert r.projects == ["p1", "p2"]  # p3 counts in the base year, not in the period
    assert r.total_cut_g == 200 * T and r.total_cut == Fraction(200, 5000)
    # emissions fell by 200 t while projects cut 400 t: 200 t of new increment (identity [U])
    assert r.new_increment_g == 200 * T
    r2 = rd.assess(rd.ReductionTarget("c", "COD", 2020, 2025, "tonnes", Decimal(400)), totals,
                   projects)  # fmt: skip
    assert r2.met is True


def test_percent_target_against_the_base_year_total() -> None:
    pct = "percent"
    totals = {("c", "SO2", 2015): 1000 * T, ("c", "SO2", 2020): 850 * T}
    ok = rd.assess(
        rd.ReductionTarget("c", "SO2", 2015, 2020, "percent", Decimal("0.15")), totals, []
    )
    assert ok.met is True  # exactly 15 % meets a 15 % cut
    no = rd.assess(rd.ReductionTarget("c", "SO2", 2015, 2020, pct, Decimal("0.16")), totals, [])
    assert no.met is False
    unknown = rd.assess(rd.ReductionTarget("c", "SO2", 2015, 2021, "percent", Decimal("0.1")),
                        totals, [])  # fmt: skip
    assert unknown.met is None and unknown.now_g is None


def test_a_project_counted_twice_is_refused_and_bad_projects_too() -> None:
    with pytest.raises(ConflictError):
        rd.check_projects([_p("p1", 5, 1), _p("p1", 6, 1)])
    with pytest.raises(InputError):
        rd.check_projects([_p("p1", 1, 5)])
