"""AQI, primary pollutant, level, category, missing-data rules and reports (HJ 633-2012 and
HJ 633-2026), with the worked examples of the notes §7.4."""

import datetime as dt

import numpy as np
import pytest

from bishui.air import aqi, aqi_report, daily_report, realtime_report
from bishui.air.aqi import INDICATORS, level_of
from bishui.errors import InputError


def day(so2, no2, pm10, co, o3_8h, pm25, **more):
    return {"SO2_24h": so2, "NO2_24h": no2, "PM10_24h": pm10, "CO_24h": co, "O3_8h": o3_8h,
            "PM2.5_24h": pm25} | more  # fmt: skip


def test_notes_7_4_example_1() -> None:
    c = day(65, 150, 180, 1.0, 200, 120)
    r = daily_report(c, "2012", missing_rule="partial").report()
    assert r.iaqi == {"SO2_24h": 58, "NO2_24h": 135, "PM10_24h": 115, "CO_24h": 25,
                      "O3_1h": None, "O3_8h": 137, "PM2.5_24h": 158}  # fmt: skip
    assert (r.aqi, r.primary, r.category, r.level_name) == (158, ("PM2.5_24h",), "中度污染", "四级")
    assert r.exceeding == ("NO2_24h", "PM10_24h", "O3_8h", "PM2.5_24h")
    r26 = daily_report(c, "2026").report()
    assert r26.iaqi["PM10_24h"] == 124 and r26.aqi == 158 and r26.category == "中度污染"
    assert r26.exceeding is None  # removed by HJ 633-2026
    assert r26.status == "complete"


def test_notes_7_4_example_2_tie_and_switch() -> None:
    c = day(10, 30, 150, 0.8, 90, 75)
    r = daily_report(c, "2012").report()
    assert (r.aqi, r.category, r.primary, r.exceeding) == (100, "良", ("PM10_24h", "PM2.5_24h"), ())
    r26 = daily_report(c, "2026").report()
    assert (r26.iaqi["PM10_24h"], r26.iaqi["PM2.5_24h"]) == (112, 114)
    assert (r26.aqi, r26.category, r26.primary) == (114, "轻度污染", ("PM2.5_24h",))


def test_notes_7_4_examples_3_to_5() -> None:
    low = day(5, 10, 20, 0.3, 40, 35)
    r = daily_report(low, "2026").report()
    assert (r.aqi, r.category, r.primary) == (50, "优", ())  # AQI ≤ 50: no primary pollutant
    r = daily_report(low | {"PM2.5_24h": 36}, "2026").report()
    assert (r.aqi, r.category, r.primary) == (52, "良", ("PM2.5_24h",))
    c4 = day(8, 25, 60, 0.7, 161, 40)
    r12, r26 = daily_report(c4, "2012").report(), daily_report(c4, "2026").report()
    assert (r12.aqi, r12.primary, r12.category) == (101, ("O3_8h",), "轻度污染")
    assert (r26.iaqi["PM2.5_24h"], r26.iaqi["PM10_24h"], r26.aqi) == (60, 58, 101)
    c5 = day(5, 10, 130, 0.3, 40, 70)
    assert daily_report(c5, "2012").report().aqi == 94
    assert daily_report(c5, "2012").report().category == "良"
    assert daily_report(c5, "2026").report().aqi == 110
    assert daily_report(c5, "2026").report().category == "轻度污染"


def test_levels_and_colours() -> None:
    aqis = [0, 50, 51, 100, 101, 150, 151, 200, 201, 300, 301, 500]
    assert level_of(aqis).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    want = {
        1: ("优", "#00E400"),
        2: ("良", "#FFFF00"),
        3: ("轻度污染", "#FF7E00"),
        4: ("中度污染", "#FF0000"),
        5: ("重度污染", "#99004C"),
        6: ("严重污染", "#7E0023"),
    }
    for a in aqis:
        for ed in ("2012", "2026"):
            r = aqi_report({"PM2.5_24h": a}, ed)
            assert (r.category, r.hex) == want[r.level]  # type: ignore[index]


def test_rounding_before_iaqi_in_the_daily_report() -> None:
    # notes §7.3: PM2.5 daily mean 75.4 → 75 → IAQI 100, 良 (not 轻度污染)
    r = daily_report(day(5, 10, 20, 0.3, 40, 75.4), "2012").report()
    assert (r.aqi, r.category, r.concentration["PM2.5_24h"]) == (100, "良", 75.0)
    r = daily_report(day(5, 10, 20, 0.3, 40, 75.4), "2012", round_first=False).report()
    assert r.aqi == 101
    assert daily_report(day(5, 10, 20, 2.05, 40, 10), "2026").report().iaqi["CO_24h"] == 50


def test_2026_missing_rule_na() -> None:
    # HJ 633-2026 §5.3.1: AQI ≤ 100 from the others → AQI, primary, level, category "NA".
    c = day(10, 30, 50, 0.8, 90, np.nan)
    r = daily_report(c, "2026").report()
    assert r.status == "NA" and r.aqi is None and r.aqi_computed == 50 and r.primary is None
    assert r.missing == ("PM2.5_24h",)
    assert r.display()["AQI"] == "NA" and r.display()["IAQI PM2.5_24h"] == "NA"
    assert r.display()["IAQI PM10_24h"] == "50"
    # AQI > 100 from the others: published
    r = daily_report(day(10, 30, 300, 0.8, 90, None), "2026").report()
    assert r.status == "incomplete" and r.aqi == 175 and r.primary == ("PM10_24h",)
    # §5.3.2: not in the monitoring plan → "/" and no NA
    r = daily_report(day(np.nan, 30, 50, 0.8, 90, 40), "2026", not_monitored=["SO2_24h"]).report()
    assert r.status == "complete" and r.aqi == 60 and r.display()["IAQI SO2_24h"] == "/"
    # nothing at all
    r = daily_report({}, "2026").report()
    assert r.status == "missing" and r.aqi is None


def test_2012_missing_rule_partial_by_default() -> None:
    r = daily_report(day(10, 30, 50, 0.8, 90, np.nan, O3_1h=120), "2012").report()
    assert r.status == "incomplete" and r.aqi == 50 and r.missing == ("PM2.5_24h",)
    r = daily_report(day(10, 30, 50, 0.8, 90, np.nan, O3_1h=120), "2012", missing_rule="na")
    assert r.report().status == "NA"


def test_2012_daily_report_has_o3_1h_2026_does_not() -> None:
    assert "O3_1h" in INDICATORS[("daily", "2012")]
    assert "O3_1h" not in INDICATORS[("daily", "2026")]
    r = daily_report(day(5, 10, 20, 0.3, 150, 10, O3_1h=320), "2012").report()
    assert r.aqi == 160 and r.primary == ("O3_1h",)
    with pytest.raises(InputError, match="O3_1h"):
        daily_report(day(5, 10, 20, 0.3, 150, 10, O3_1h=320), "2026")


def test_o3_8h_above_800_in_the_2012_daily_report_uses_the_1h_value() -> None:
    r = daily_report(day(5, 10, 20, 0.3, 850, 10, O3_1h=1100), "2012").report()
    assert r.iaqi["O3_8h"] == r.iaqi["O3_1h"] == 450
    # O3 once: the 8-h IAQI is the 1-h one reported in its place (HJ 633-2012 Table 1 note (3))
    assert r.primary == ("O3_1h",)
    assert daily_report(day(5, 10, 20, 0.3, 850, 10), "2026").report().iaqi["O3_8h"] == 300


def test_realtime_report() -> None:
    c = {"SO2_1h": 20, "NO2_1h": 60, "PM10_1h": 140, "CO_1h": 1.1, "O3_1h": 100,
         "PM2.5_1h": 70}  # fmt: skip
    r26 = realtime_report(c, "2026").report()
    assert r26.iaqi["PM2.5_1h"] == 110 and r26.aqi == 110 and r26.primary == ("PM2.5_1h",)
    r12 = realtime_report(c | {"O3_8h": 90}, "2012").report()
    assert r12.iaqi["PM2.5_1h"] == 94 and r12.iaqi["PM10_1h"] == 95 and r12.aqi == 95
    # pre-2014 practice: PM IAQI from the 24-hour sliding means
    r = realtime_report(
        c | {"O3_8h": 90, "PM10_24h": 60, "PM2.5_24h": 30}, "2012", pm_from_24h_sliding=True
    ).report()
    assert r.iaqi["PM2.5_1h"] == 43 and r.iaqi["PM10_1h"] == 55
    # SO2 1-hour above 800
    hi = c | {"SO2_1h": 900, "O3_8h": 90}
    assert realtime_report(hi | {"SO2_24h": 300}, "2012").report().iaqi["SO2_1h"] == 124
    assert realtime_report(c | {"SO2_1h": 900}, "2026").report().iaqi["SO2_1h"] == 200
    with pytest.raises(InputError, match=r"PM2\.5_24h"):
        realtime_report(c | {"PM2.5_24h": 30}, "2026")
    # the hour labelled 2026-03-01 00:00 is February data: 2012 rules
    assert realtime_report(c | {"O3_8h": 90}, date=dt.datetime(2026, 3, 1, 0)).edition == "2012"
    assert realtime_report(c, date=dt.datetime(2026, 3, 1, 1)).edition == "2026"


def test_negative_concentration_refused_before_rounding() -> None:
    with pytest.raises(InputError) as e:
        daily_report(day(5, 10, 20, 0.3, 40, -0.4), "2026")
    assert (e.value.field, e.value.value) == ("PM2.5_24h", -0.4)
    with pytest.raises(InputError, match="numeric"):
        daily_report(day(5, 10, 20, "n/a", 40, 4), "2026")


def test_batch_equals_per_report() -> None:
    rng = np.random.default_rng(4)
    shape = (5, 48)
    u = rng.uniform
    c = day(u(0, 200, shape), u(0, 200, shape), u(0, 400, shape), u(0, 6, shape),
            u(0, 300, shape), u(0, 300, shape))  # fmt: skip
    c["PM2.5_24h"][rng.random(shape) < 0.2] = np.nan
    b = daily_report(c, "2026")
    assert b.aqi.shape == shape
    for i in range(shape[0]):
        for j in range(0, shape[1], 7):
            one = daily_report({k: v[i, j] for k, v in c.items()}, "2026").report()
            assert b.report((i, j)) == one


def test_aqi_combines_given_iaqis() -> None:
    b = aqi({"PM2.5_24h": [60, 120, np.nan], "PM10_24h": [60, 80, 90]}, "2026")
    assert b.aqi.tolist() == [60, 120, 90]
    assert b.primary["PM2.5_24h"].tolist() == [True, True, False]
    assert b.primary["PM10_24h"].tolist() == [True, False, True]
    assert b.published.tolist() == [True, True, False]
    assert aqi_report({"PM2.5_24h": 0}, "2012").category == "优"
    with pytest.raises(InputError, match="indicator"):
        aqi({"PM25": 1}, "2012")
