"""The overview's provisional colouring: HJ 633 PM IAQI, GB 3838 single factor, categories."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from bishui import readings
from bishui.web.colouring import (
    Mark,
    ProvisionalColouring,
    aqi_category,
    categories,
    pm_iaqi,
    single_factor_class,
)


def test_pm25_iaqi_rounds_up() -> None:
    # notes air.md §1.2: PM2.5 24 h = 40 µg/m³ gives 56.25, reported as 57 (HJ 633-2012 §6.2)
    assert pm_iaqi(np.array([40.0]), "a34004", "2012")[0] == 57
    # at a shared breakpoint both segments agree (the table is continuous)
    assert pm_iaqi(np.array([35.0, 75.0]), "a34004", "2012").tolist() == [50, 100]


def test_2026_breakpoints_moved() -> None:
    # HJ 633-2026 Table 3: IAQI 100 at PM2.5 60 and PM10 120 (was 75 and 150)
    assert pm_iaqi(np.array([60.0]), "a34004", "2026")[0] == 100
    assert pm_iaqi(np.array([120.0]), "a34002", "2026")[0] == 100
    assert pm_iaqi(np.array([120.0]), "a34002", "2012")[0] == 85


def test_missing_negative_and_above_table() -> None:
    out = pm_iaqi(np.array([np.nan, -1.0, 900.0]), "a34004", "2026")
    assert np.isnan(out[0]) and np.isnan(out[1]) and out[2] == 500


@pytest.mark.parametrize(
    ("aqi", "level", "name"),
    [
        (0, "1", "优"),
        (50, "1", "优"),
        (51, "2", "良"),
        (100, "2", "良"),
        (101, "3", "轻度污染"),
        (200, "4", "中度污染"),
        (201, "5", "重度污染"),
        (300, "5", "重度污染"),
        (301, "6", "严重污染"),
    ],
)
def test_aqi_categories(aqi: int, level: str, name: str) -> None:
    # HJ 633-2012 Table 2 (= HJ 633-2026 Table 1)
    cat = aqi_category(aqi)
    assert (cat["level"], cat["name_zh"]) == (level, name)


def test_aqi_colours_are_annex_a() -> None:
    assert [c["color"] for c in categories()["aqi"]] == [
        "#00E400",
        "#FFFF00",
        "#FF7E00",
        "#FF0000",
        "#99004C",
        "#7E0023",
    ]


def test_single_factor_class() -> None:
    # GB 3838-2002 Table 1: NH3-N 0.5 is Class Ⅱ, 1.2 Class Ⅳ, 2.5 worse than Ⅴ; DO 5.5 → Ⅲ
    limits = (0.15, 0.5, 1.0, 1.5, 2.0)
    assert single_factor_class(0.5, limits) == 2
    assert single_factor_class(1.2, limits) == 4
    assert single_factor_class(2.5, limits) == 6
    assert single_factor_class(5.5, (7.5, 6, 5, 3, 2), minimum=True) == 3
    assert single_factor_class(1.0, (7.5, 6, 5, 3, 2), minimum=True) == 6


def test_colouring_over_the_store(city_store: Any) -> None:
    sites = readings.sites(city_store)
    marks = ProvisionalColouring()(city_store, sites)
    assert set(marks) == {s.id for s in sites}
    assert all(isinstance(m, Mark) for m in marks.values())
    air = [marks[s.id] for s in sites if s.kind == "air"]
    assert all(m.level in "123456" and m.value is not None for m in air)
    # long after the data, everything is "no current data"
    later = dt.datetime(2100, 1, 1)
    assert {m.level for m in ProvisionalColouring()(city_store, sites, later).values()} == {
        "nodata"
    }
