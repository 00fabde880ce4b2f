"""The water service over the store (both backends): periods, sections, rivers, counties, CWQI.

Model-city tests use three months of the synthetic history of the 15 water sections
(bishui.demo); the rules are pinned on hand-built rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from water_support import drop_store, four_hourly, load_model_city, make_store, registry, write

from bishui.errors import InputError
from bishui.store import Store
from bishui.water.periods import WaterPeriod
from bishui.water.readings import daily_values
from bishui.water.service import (
    Assessment,
    ServiceRules,
    assess,
    assess_cached,
    daily_classes,
)

BACKENDS = ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def city_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    store, _, _ = make_store(str(request.param), tmp_path_factory.mktemp("water_city"))
    try:
        load_model_city(store, dt.datetime(2026, 8, 1), dt.datetime(2026, 11, 1))
        yield store
    finally:
        drop_store(store)


# -- periods ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind", "start", "end"),
    [
        ("2026", "year", dt.datetime(2026, 1, 1), dt.datetime(2027, 1, 1)),
        ("2026-Q3", "quarter", dt.datetime(2026, 7, 1), dt.datetime(2026, 10, 1)),
        ("2026-Q4", "quarter", dt.datetime(2026, 10, 1), dt.datetime(2027, 1, 1)),
        ("2026-07", "month", dt.datetime(2026, 7, 1), dt.datetime(2026, 8, 1)),
        ("2026-12", "month", dt.datetime(2026, 12, 1), dt.datetime(2027, 1, 1)),
        ("2026-07-15", "day", dt.datetime(2026, 7, 15), dt.datetime(2026, 7, 16)),
    ],
)
def test_periods(text: str, kind: str, start: dt.datetime, end: dt.datetime) -> None:
    p = WaterPeriod.parse(text)
    assert (p.kind, p.start, p.end, str(p)) == (kind, start, end, text)


@pytest.mark.parametrize("text", ["2026-13", "2026-Q5", "26", "2026-02-30", "", "July"])
def test_bad_periods_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="period"):
        WaterPeriod.parse(text)


def test_previous_year_of_a_leap_day() -> None:
    assert str(WaterPeriod.parse("2028-02-29").previous_year()) == "2027-02-28"


# -- the model city ---------------------------------------------------------------------------
def test_month_gives_every_model_section_a_class_and_attainment(city_store: Store) -> None:
    a = assess(city_store, "2026-09")
    assert len(a.sections) == 15 and a.previous is None  # no data in 2025
    assert all(s["class"] in range(1, 7) for s in a.sections)
    assert {s["attainment"] for s in a.sections} <= {"达标", "不达标"}
    by_id = {s["section"]: s for s in a.sections}
    # 漳河水库 is tuned Class Ⅰ-like, 竹皮河瓦房店 the most polluted (demo/city.py).
    assert by_id["WS06"]["cwqi_rank"] == 1
    assert by_id["WS03"]["cwqi_rank"] == 15
    assert by_id["WS03"]["class"] >= 5 and by_id["WS03"]["main_pollutants"]
    assert by_id["WS05"]["attainment"] == "达标"
    # Every section counts once in the city statistics and once in its county.
    assert a.city["sections"] == 15 == sum(c["sections"] for c in a.counties)
    assert sum(a.city["by_class"]) == 15
    assert sorted(c["cwqi_rank"] for c in a.counties) == list(range(1, len(a.counties) + 1))
    rivers = {(r["river"], r["body"]): r for r in a.rivers}
    assert rivers[("竹皮河", "river")]["method"] == "mean"  # 4 sections: the mean method
    assert rivers[("长湖", "lake")]["members"] == ["WS12"]


def test_month_mean_is_the_mean_of_daily_means(city_store: Store) -> None:
    """Recompute one section's NH3-N and pH for a month from the raw readings, by hand."""
    rows = city_store.query(
        "SELECT parameter, ts, value FROM measurement WHERE site_id = 'WS05' AND valid "
        "AND parameter IN ('w21003', 'w01001') AND ts >= ? AND ts < ? ORDER BY ts",
        [dt.datetime(2026, 9, 1), dt.datetime(2026, 10, 1)],
    )
    need = ServiceRules().day_min_readings
    expected = {}
    for code in ("w21003", "w01001"):
        daily = []
        for d in range(30):
            day = dt.date(2026, 9, 1) + dt.timedelta(days=d)
            v = [r["value"] for r in rows if r["parameter"] == code and r["ts"].date() == day]
            if len(v) >= need:
                daily.append(np.mean(v) if code == "w21003" else np.mean(10.0 ** -np.array(v)))
        expected[code] = np.mean(daily) if code == "w21003" else -np.log10(np.mean(daily))
    s = next(x for x in assess(city_store, "2026-09").sections if x["section"] == "WS05")
    assert s["means"]["w21003"] == pytest.approx(expected["w21003"], abs=1e-6)
    assert s["means"]["w01001"] == pytest.approx(expected["w01001"], abs=1e-6)


def test_quarter_needs_two_monthly_values(city_store: Store) -> None:
    q3 = assess(city_store, "2026-Q3", compare=False)  # August and September have data
    assert all(s["samples"] == 2 and s["class"] > 0 for s in q3.sections)
    year = assess(city_store, "2026", compare=False)  # three months < 8
    assert all(s["label"] == "insufficient data" for s in year.sections)
    assert all(s["attainment"] == "数据不足" for s in year.sections)
    assert year.city["assessed"] == 0 and year.city["cwqi"] is None


def test_day_period(city_store: Store) -> None:
    a = assess(city_store, "2026-09-10", compare=False)
    assert {s["samples"] for s in a.sections} <= {0, 1}
    assert sum(s["class"] > 0 for s in a.sections) >= 12


def test_cached_result_is_reused_until_data_changes(city_store: Store) -> None:
    first = assess_cached(city_store, "2026-08")
    again = assess_cached(city_store, "2026-08")
    assert again.computed_at == first.computed_at and again.sections == first.sections
    n = city_store.count("measurement")
    assert n > 0


# -- rules on hand-built rows -------------------------------------------------------------------
SECTIONS = [
    {"id": "S1", "name": "甲断面", "river": "甲河", "target_class": 3},
    {"id": "S2", "name": "乙断面", "river": "甲河", "target_class": 2, "region": "420881"},
    {"id": "L1", "name": "丙湖", "river": "丙湖", "body": "lake", "target_class": 3},
]


def _s1(a: Assessment) -> dict[str, Any]:
    return next(s for s in a.sections if s["section"] == "S1")


def test_ph_mean_by_hydrogen_ion(store: Store) -> None:
    registry(store, SECTIONS)
    day1, day2 = dt.date(2026, 7, 1), dt.date(2026, 7, 2)
    write(store, four_hourly("S1", "w01001", day1, 6.0) + four_hourly("S1", "w01001", day2, 8.0))
    write(store, four_hourly("S1", "w21003", day1, 0.4) + four_hourly("S1", "w21003", day2, 0.8))
    s = _s1(assess(store, "2026-07"))
    assert round(s["means"]["w01001"], 4) == 6.2967  # not 7
    assert s["means"]["w21003"] == pytest.approx(0.6)
    assert (s["label"], s["attainment"], s["samples"]) == ("Ⅲ类", "达标", 2)


def test_a_day_needs_enough_automatic_readings(store: Store) -> None:
    registry(store, SECTIONS)
    need = ServiceRules().day_min_readings
    write(store, four_hourly("S1", "w21003", dt.date(2026, 7, 1), 0.3, n=need - 1))
    a = assess(store, "2026-07", compare=False)
    assert _s1(a)["label"] == "insufficient data"
    write(store, four_hourly("S1", "w21003", dt.date(2026, 7, 2), 0.3, n=need))
    assert _s1(assess(store, "2026-07", compare=False))["samples"] == 1


def test_automatic_data_take_precedence_over_manual(store: Store) -> None:
    registry(store, SECTIONS)
    d = dt.date(2026, 7, 1)
    t0 = dt.datetime(2026, 7, 3, 10)
    write(store, four_hourly("S1", "w21003", d, 0.3))
    # A manual NH3-N sample on another day is ignored (the section has automatic NH3-N);
    # a manual COD sample is used (COD is not an automatic item).
    write(store, [("S1", "w21003", t0, 3.0, "upload", True, "day")])
    write(store, [("S1", "w01018", t0, 25.0, "upload", True, "day")])
    s = _s1(assess(store, "2026-07", compare=False))
    assert s["means"]["w21003"] == pytest.approx(0.3)
    assert s["means"]["w01018"] == 25.0 and s["label"] == "Ⅳ类"
    assert s["main_pollutants"] == "化学需氧量(0.25)"


def test_invalid_and_refused_readings_are_left_out(store: Store) -> None:
    registry(store, SECTIONS)
    d = dt.date(2026, 7, 1)
    rows = four_hourly("S1", "w21003", d, 0.3)
    rows[0] = ("S1", "w21003", rows[0][2], 9.0, "logger", False)  # flagged invalid
    write(store, rows)
    write(store, four_hourly("S1", "w21011", d, [0.1, 0.1, 0.1, 0.1, 0.1, -0.2]))
    dv = daily_values(
        store, ["S1"], dt.datetime(2026, 7, 1), dt.datetime(2026, 7, 2), day_min_readings=5
    )
    codes = list(dv.codes)
    assert dv.values[0, 0, codes.index("w21003")] == pytest.approx(0.3)
    assert dv.values[0, 0, codes.index("w21011")] == pytest.approx(0.1)
    assert dv.rejected == 1


def test_year_with_too_few_months_is_insufficient(store: Store) -> None:
    registry(store, SECTIONS)
    rows = []
    for month in range(1, 8):  # seven months < 8
        rows += four_hourly("S1", "w21003", dt.date(2026, month, 10), 0.4)
    for month in range(1, 9):  # eight months
        rows += four_hourly("S2", "w21003", dt.date(2026, month, 10), 0.4)
    write(store, rows)
    a = assess(store, "2026", compare=False)
    by = {s["section"]: s for s in a.sections}
    assert (by["S1"]["label"], by["S1"]["samples"], by["S1"]["class"]) == (
        "insufficient data",
        7,
        0,
    )
    assert (by["S2"]["label"], by["S2"]["samples"]) == ("Ⅱ类", 8)
    assert by["L1"]["label"] == "insufficient data" and by["L1"]["samples"] == 0
    assert a.city["insufficient"] == 2 and a.city["assessed"] == 1


def test_delta_cwqi_against_the_same_month_last_year(store: Store) -> None:
    registry(store, SECTIONS)
    write(store, four_hourly("S1", "w21003", dt.date(2025, 7, 5), 1.0))
    write(store, four_hourly("S1", "w21003", dt.date(2026, 7, 5), 0.8))
    a = assess(store, "2026-07")
    s = _s1(a)
    assert a.previous == "2025-07"
    assert (s["cwqi"], s["cwqi_previous"], s["delta_cwqi"]) == (0.8, 1.0, -20.0)
    county = next(c for c in a.counties if c["region"] == "420822")
    assert county["cwqi"] == 0.8 and county["delta_cwqi"] == -20.0
    assert a.city["cwqi"] == 0.8


def test_county_cwqi_weights_rivers_and_lakes_by_section_count(store: Store) -> None:
    registry(store, SECTIONS)
    d = dt.date(2026, 7, 5)
    write(store, four_hourly("S1", "w21011", d, 0.1))  # river: 0.1 / 0.2 = 0.5
    write(store, four_hourly("L1", "w21011", d, 0.1))  # lake: 0.1 / 0.05 = 2.0
    a = assess(store, "2026-07", compare=False)
    county = next(c for c in a.counties if c["region"] == "420822")
    assert county["cwqi"] == pytest.approx((0.5 * 1 + 2.0 * 1) / 2)
    assert [s["cwqi"] for s in a.sections if s["section"] in ("S1", "L1")] == [2.0, 0.5]


def test_late_data_changes_the_result(store: Store) -> None:
    registry(store, SECTIONS)
    write(store, four_hourly("S1", "w21003", dt.date(2026, 7, 1), 0.4))
    assert _s1(assess_cached(store, "2026-07"))["label"] == "Ⅱ类"
    write(store, four_hourly("S1", "w21003", dt.date(2026, 7, 20), 2.8))  # arrives late
    late = _s1(assess_cached(store, "2026-07"))
    assert (late["label"], late["samples"]) == ("Ⅴ类", 2)  # mean 1.6 → Ⅴ
    assert store.count("measurement") == 12
    n = store.query("SELECT COUNT(*) AS n FROM water_results")[0]["n"]
    assert n == 1  # one cached result per period and rule version


def test_daily_values_and_classes(store: Store) -> None:
    registry(store, SECTIONS)
    write(store, four_hourly("S1", "w21003", dt.date(2026, 7, 1), 0.4))
    write(store, four_hourly("S1", "w21003", dt.date(2026, 7, 3), 1.7))
    days = daily_classes(store, "2026-07")
    assert [(d["section"], d["day"], d["label"], d["attainment"]) for d in days] == [
        ("S1", "2026-07-01", "Ⅱ类", "达标"),
        ("S1", "2026-07-03", "Ⅴ类", "不达标"),
    ]
    assert days[1]["values"] == {"w21003": 1.7}
