"""The energy figures the scorecards ask for (bishui.energy.figures), on the model city's
synthetic accounts (the demo's energy setup), on both backends: each figure recomputed from the
service's own reads, and a scorecard run showing the energy indicators with values and evidence."""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from bishui.assessment import service as assess
from bishui.demo import city as demo_city
from bishui.demo import energy as demo_energy
from bishui.energy import accounts as ea
from bishui.energy import figures
from bishui.energy import service as es
from bishui.registry import apply
from bishui.store import Store

_spec = importlib.util.spec_from_file_location(
    "bishui_tests_root_conftest_energy_figures", Path(__file__).resolve().parents[1] / "conftest.py"
)
assert _spec and _spec.loader
root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(root)

SHAYANG, DUODAO = "420822", "420804"


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    store, _, _ = root.make_store(str(request.param), tmp_path_factory.mktemp("energyfig"))
    try:
        apply(store, demo_city.build().registry)
        demo_energy.setup(store)
        yield store
    finally:
        root.drop_store(store)


def _gdp(store: Store, county: str, year: int, base: int) -> Decimal:
    [r] = store.query(
        "SELECT value_wan FROM energy_gdp WHERE county = ? AND year = ? AND price_base = ?",
        [county, year, base],
    )
    return Decimal(str(r["value_wan"]))


def _pct(x: Fraction) -> str:
    r = ea.round_half_even(x * 100, 2)
    return f"{Decimal(r.numerator) / Decimal(r.denominator):.2f}"


@pytest.mark.parametrize("county", [SHAYANG, DUODAO])
def test_intensity_reduction_is_the_bulletins_rate(demo: Store, county: str) -> None:
    f = figures.assessment_figure(demo, county, 2025, "intensity_reduction")
    assert f is not None and f["unit"] == "%" and f["partial"] is False
    e = {y: es.county_totals(demo, y, [county])[county].equivalent_kgce for y in (2024, 2025)}
    i_now = ea.intensity(e[2025], _gdp(demo, county, 2025, 2020))
    i_prev = ea.intensity(e[2024], _gdp(demo, county, 2024, 2020))
    assert f["value"] == _pct(1 - i_now / i_prev)
    assert f["inputs"]["price_base"] == 2020 and f["inputs"]["energy_kgce"] == e[2025]
    assert "当量值" in f["basis"]


def test_total_against_the_cap(demo: Store) -> None:
    f = figures.assessment_figure(demo, DUODAO, 2025, "total_vs_target")
    assert f is not None
    base = es.county_totals(demo, 2020, [DUODAO])[DUODAO].equivalent_kgce
    cap = int(base * demo_energy.TOTAL_CAP_GROWTH)
    [a] = es.attainment(demo, 2025, [DUODAO])
    assert f["inputs"]["total_cap_kgce"] == cap == a["total_cap_kgce"]
    assert f["value"] == _pct(Fraction(a["energy_kgce"], cap))
    # 掇刀区 grows 2.5 %/yr: over its cap, and the attainment says so
    assert (Decimal(f["value"]) > 100) is (a["total_met"] is False)


def test_reduction_share_from_the_results(demo: Store) -> None:
    f = figures.assessment_figure(demo, SHAYANG, 2025, "emission_reduction_attained")
    assert f is not None
    res = es.reduction_results(demo, 2025, [SHAYANG])
    pols = {r["pollutant"] for r in res}
    met = {p for p in pols if all(r["met"] for r in res if r["pollutant"] == p)}
    assert set(f["inputs"]["met"]) == met and f["inputs"]["not_judged"] == []
    assert f["value"] == _pct(Fraction(len(met), len(pols)))


def test_no_figure_without_accounts(demo: Store) -> None:
    for name in figures.NAMES:
        assert figures.assessment_figure(demo, SHAYANG, 2026, name) is None
    assert figures.assessment_figure(demo, SHAYANG, 2025, "no_such_figure") is None


def test_partial_when_the_units_differ(demo: Store) -> None:
    """A unit reporting in one year and not the other makes the rate partial."""
    extra = f"{SHAYANG}-test-extra"
    es.add_units(demo, [{"id": extra, "county": SHAYANG, "kind": "service", "name": "临时单位",
                         "synthetic": True}], "test")  # fmt: skip
    es.record_uses(demo, [{"unit_id": extra, "year": 2023, "fuel": "natural_gas",
                           "quantity": 1000, "source": "test"}], "test")  # fmt: skip
    f = figures.assessment_figure(demo, SHAYANG, 2024, "intensity_reduction")
    assert f is not None and f["partial"] is True
    assert f["inputs"]["units_prev"] == f["inputs"]["units"] + 1


def test_a_scorecard_run_shows_the_energy_indicators(demo: Store) -> None:
    rid = assess.score_year(
        demo, "scorecard_2025_demo", by="ana", role="analyst", now=dt.datetime(2026, 12, 7)
    )
    tab = assess.run_table(demo, rid)
    by = {c["county"]: c for c in tab["counties"]}
    ind = by[DUODAO]["indicators"]
    for code, name in (("energy_intensity", "intensity_reduction"),
                       ("energy_total", "total_vs_target"),
                       ("emission_reduction", "emission_reduction_attained")):  # fmt: skip
        assert not ind[code]["no_data"], code
        want = figures.assessment_figure(demo, DUODAO, 2025, name)
        assert want is not None and ind[code]["evidence"]["value"] == want["value"]
        assert ind[code]["evidence"]["inputs"]
    # over the cap: the <= 100 % threshold earns nothing
    assert Decimal(ind["energy_total"]["points"]) == 0
    assert assess.recompute(demo, rid)


def test_the_demos_scorecards_show_the_energy_indicators(store: Store) -> None:
    """The demo scores after loading the energy accounts (bishui.demo.cli): its 2025 scorecard
    has the energy figures; its 2026 scorecard has none (the synthetic accounts end in 2025)."""
    from bishui.demo import assessment as demo_assessment

    demo = store
    apply(demo, demo_city.build().registry)
    demo_energy.setup(demo)
    assert demo_assessment.setup(demo, dt.datetime(2026, 12, 7, 10, 0))["runs"] == 2
    for year, has in ((2025, True), (2026, False)):
        rid = assess.latest_run(demo, year)
        assert rid is not None
        for c in assess.run_table(demo, rid, [SHAYANG])["counties"]:
            for code in ("energy_intensity", "energy_total", "emission_reduction"):
                assert c["indicators"][code]["no_data"] is not has, (year, code)
