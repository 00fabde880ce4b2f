"""HJ 663 / GB 3095 assessment: validity (Table 4), MDA8 (§6.1.2), percentiles (Annex A),
exceedances, compliance, good-days ratio; notes air.md §3.3, §4, §7.5, §7.7, §7.8."""

import datetime as dt

import numpy as np
import pytest

from bishui.air import (
    assess,
    assess_hourly,
    city_concentration,
    daily_aqi,
    daily_mean,
    eight_hour_means,
    exceedance_multiple,
    good_days_ratio,
    mda8,
    percentile,
    period_validity,
    round_gbt8170,
)
from bishui.errors import InputError

# notes §7.8: hourly O3 labelled 1..24
O3_DAY = [20, 18, 15, 12, 10, 10, 12, 20, 40, 60, 90, 120, 150, 170, 180, 175,
          160, 140, 110, 80, 60, 45, 35, 28]  # fmt: skip


def test_notes_7_8_eight_hour_means_and_mda8() -> None:
    m8 = eight_hour_means(O3_DAY)
    want = [14.625, 17.125, 22.375, 31.75, 45.25, 62.75, 82.75, 103.75, 123.125, 138.125,
            148.125, 150.625, 145.625, 134.375, 118.75, 100.625, 82.25]  # fmt: skip
    assert m8[7:].tolist() == want
    r = mda8(O3_DAY, "2012")
    assert r.value.tolist() == [150.625] and r.count.tolist() == [17]
    assert round_gbt8170(r.value[0]) == 151
    from bishui.air import iaqi

    assert iaqi("O3_8h", 151, "2012").value == 93 and iaqi("O3_8h", 151, "2026").value == 93


def test_mda8_windows_do_not_cross_midnight_by_default() -> None:
    # Day 1 has high ozone late in the evening; day 2 is clean. The windows of day 2 end
    # 08:00…24:00 of day 2, so day 1's evening cannot leak into day 2's MDA8.
    day1 = [10] * 16 + [300] * 8
    day2 = [10] * 24
    r = mda8(day1 + day2, "2026")
    assert r.value.tolist() == [300.0, 10.0]
    # The last window of day 1 ends at 24:00 (= the hour labelled day 2 00:00): it is
    # column 23, still day 1 — 16:00-24:00 of day 1.
    assert r.count.tolist() == [17, 17]
    # A window set reaching across midnight (ending 01:00 … 24:00) would take day 1's evening:
    crossing = mda8(day1 + day2, "2026", first_end_hour=1)
    assert crossing.value[1] == (7 * 300 + 10) / 8


def test_mda8_needs_14_windows_unless_over_the_limit() -> None:
    day = [50.0] * 24
    # hours 0..10 missing: valid windows end at 17..24 (fewer than 14)
    sparse = [np.nan] * 11 + day[11:]
    r = mda8(sparse, "2026")
    assert not r.valid[0] and np.isnan(r.value[0]) and r.missing[0] == 14 - r.count[0]
    high = [np.nan] * 11 + [200.0] * 13
    r = mda8(high, "2026")
    assert r.valid[0] and r.value[0] == 200.0  # exceeds 160: still valid (HJ 663 §6.1.2)
    assert not mda8(high, "2026", exceed_limit=None).valid[0]
    # an 8-hour mean needs 6 hours: with 2 missing it counts, with 3 it does not
    m = eight_hour_means([np.nan, np.nan] + [100.0] * 6)
    assert m[7] == 100.0
    assert np.isnan(eight_hour_means([np.nan] * 3 + [100.0] * 5)[7])


def test_sliding_24h_means() -> None:
    from bishui.air import sliding_24h_means

    h = np.arange(48, dtype=float)
    m = sliding_24h_means(h)
    assert np.isnan(m[18]) and m[19] == np.mean(h[:20]) and m[47] == np.mean(h[24:48])
    h[30:35] = np.nan  # the window ending at 47 has 19 valid hours
    assert np.isnan(sliding_24h_means(h)[47])


def test_daily_mean_needs_20_hours() -> None:
    h = np.full((3, 24), 40.0)
    h[1, :4] = np.nan  # exactly 20 valid hours
    h[2, :5] = np.nan  # 19
    r = daily_mean(h.reshape(-1))
    assert r.valid.tolist() == [True, True, False]
    assert r.count.tolist() == [24, 20, 19]
    assert r.missing.tolist() == [0, 0, 1]
    assert np.isnan(r.value[2]) and r.value[1] == 40.0


def test_hourly_needs_45_minutes() -> None:
    from bishui.air.assessment import hourly_valid

    assert hourly_valid([60, 45, 44, 0]).tolist() == [True, True, False, False]
    with pytest.raises(InputError, match="sampling_minutes"):
        hourly_valid([61])


def test_daily_mean_is_exact() -> None:
    # 24 hourly values whose mean is exactly 75.5 → GB/T 8170 gives 76; 75.45 gives 75
    h = [75.0] * 12 + [76.0] * 12
    assert round_gbt8170(daily_mean(h).value[0]) == 76
    h = [0.1] * 23 + [75.45 * 24 - 2.3]
    assert round_gbt8170(daily_mean(h).value[0], 1) == 75.4  # 75.45 → 75.4 (half-even)


def test_period_validity_months_and_february() -> None:
    # February 2025 (28 days): 25 valid days is enough, 24 is not
    feb = np.ones(28, bool)
    feb[:3] = False
    assert period_validity(feb, dt.date(2025, 2, 1)).valid
    feb[3] = False
    r = period_validity(feb, dt.date(2025, 2, 1))
    assert not r.valid and r.missing == 1
    # a 31-day month needs 27
    jan = np.ones(31, bool)
    jan[:4] = False
    assert period_validity(jan, dt.date(2025, 1, 1)).valid
    jan[4] = False
    assert period_validity(jan, dt.date(2025, 1, 1)).missing == 1


def test_period_validity_year_324_days() -> None:
    year = np.ones(365, bool)
    assert period_validity(year, dt.date(2025, 1, 1)).valid
    # 3 missing days in each month: every month passes (28-3 = 25 in February), total 329
    days = np.arange(365)
    months = (np.datetime64("2025-01-01") + days).astype("datetime64[M]")
    first3 = np.zeros(365, bool)
    for m in np.unique(months):
        first3[np.flatnonzero(months == m)[:3]] = True
    r = period_validity(~first3, dt.date(2025, 1, 1))
    assert r.valid and r.count == 365 - 36
    # 4 missing in every 30-day month → those months fail
    more = first3.copy()
    for m in np.unique(months):
        idx = np.flatnonzero(months == m)
        if len(idx) == 30:
            more[idx[3]] = True
    r = period_validity(~more, dt.date(2025, 1, 1))
    assert not r.valid and r.missing == 4
    # vectorised over stations
    both = np.stack([~first3, ~more])
    assert period_validity(both, dt.date(2025, 1, 1)).valid.tolist() == [True, False]


def test_notes_7_5_percentiles() -> None:
    assert percentile([3, 4, 8, 2, 5, 4], 90) == 6.5
    # exact (issue 12): the float nearest the Annex A value, not approximately it
    assert percentile(np.arange(1, 31), 90) == 27.1
    assert percentile(np.arange(1, 366), 95) == 346.8
    assert percentile(np.arange(1, 366), 98) == 357.72
    assert percentile([1.2, 0.8, 0.9, 1.5, 1.1, 1.0, 0.7], 95) == 1.41
    # NaN days are skipped; rows are independent; numpy "linear" agrees
    x = np.array([[3, 4, 8, 2, 5, 4, np.nan], [1, 2, 3, 4, 5, 6, 7]], float)
    assert percentile(x, 90).tolist() == [6.5, 6.4]
    assert np.percentile(np.arange(1, 8), 90) == pytest.approx(6.4)  # numpy: float noise
    assert np.isnan(percentile([np.nan, np.nan], 90))


def test_notes_7_7_ratios() -> None:
    assert exceedance_multiple(45, 35) == 0.29
    assert exceedance_multiple(180, 160) == 0.12  # half-even, not 0.13
    assert exceedance_multiple(45.5, 20) == 1.28
    assert np.isnan(exceedance_multiple(35, 35))
    g = good_days_ratio([50] * 80 + [100] * 6 + [101] * 5)
    assert (g.ratio, g.good, g.valid) == (94.5, 86, 91)  # notes §4.5: 86/91 = 94.5 %
    g = good_days_ratio([50, np.nan, 150, 60], valid=[True, True, True, False])
    assert (g.good, g.valid) == (1, 2)


def _year(value: float, days: int = 365) -> np.ndarray:
    return np.full(days, value)


def test_assess_compliance_and_invalid() -> None:
    daily = {"PM2.5": _year(30.0), "CO": _year(1.0), "O3": _year(120.0), "SO2": _year(10.0)}
    daily["PM2.5"][:15] = 90.0  # 15 days above 75 (fewer than 5 % of 365)
    r = assess(daily, dt.date(2025, 1, 1))
    pm = r["PM2.5"]
    assert (pm.edition, pm.phase, pm.mean_limit, pm.daily_limit) == ("2012", "all", 35, 75)
    assert pm.mean == (30 * 350 + 90 * 15) / 365  # exact sum, one division
    assert pm.exceedance_days == 15 and pm.status == "complies" and pm.percentile == 30
    assert pm.exceedance_rate == 4.1 and pm.max_daily == 90 and pm.max_multiple == 0.2
    daily["PM2.5"][:30] = 90.0
    assert assess(daily, dt.date(2025, 1, 1))["PM2.5"].status == "exceeds"  # p95 = 90
    assert r["O3"].percentile_p == 90 and np.isnan(r["O3"].mean)
    # insufficient data: invalid with the count missing, no figure
    daily["SO2"][:50] = np.nan
    s = assess(daily, dt.date(2025, 1, 1))["SO2"]
    assert s.status == "invalid" and np.isnan(s.mean) and np.isnan(s.percentile)
    assert s.validity.missing > 0
    # the 2026 transition limits by date, the final ones from 2031
    assert assess({"PM2.5": _year(30.0)}, dt.date(2027, 1, 1))["PM2.5"].mean_limit == 30
    assert assess({"PM2.5": _year(30.0)}, dt.date(2031, 1, 1))["PM2.5"].status == "exceeds"


def test_assess_rejects_bad_input() -> None:
    with pytest.raises(InputError, match=r"PM2\.5"):
        assess({"PM2.5": [-1.0] * 10}, dt.date(2025, 1, 1))
    with pytest.raises(InputError, match="pollutant"):
        assess({"PM25": [1.0]}, dt.date(2025, 1, 1))
    with pytest.raises(InputError, match="multiple of 24"):
        daily_mean([1.0] * 23)


def test_daily_aqi_switches_on_2026_03_01() -> None:
    # the same concentrations on 28 Feb and 1 Mar 2026: PM2.5 75 → 100 (2012) then 114 (2026)
    two = {"PM2.5_24h": [75.0, 75.0], "PM10_24h": [50.0, 50.0], "SO2_24h": [5.0, 5.0],
           "NO2_24h": [20.0, 20.0], "CO_24h": [0.5, 0.5], "O3_8h": [60.0, 60.0],
           "O3_1h": [80.0, 80.0]}  # fmt: skip
    d = daily_aqi(two, dt.date(2026, 2, 28))
    assert d.aqi.tolist() == [100, 114] and d.edition.tolist() == ["2012", "2026"]


def test_assess_hourly_end_to_end() -> None:
    rng = np.random.default_rng(7)
    hours = 365 * 24
    h = {p: rng.gamma(4.0, s, (3, hours)) for p, s in
         {"SO2": 3, "NO2": 6, "PM10": 12, "PM2.5": 7, "CO": 0.2, "O3": 15}.items()}  # fmt: skip
    h["PM2.5"][2, : 40 * 24] = np.nan  # station 2 lost 40 days of PM2.5
    r = assess_hourly(h, dt.date(2025, 1, 1))
    assert r.days == 365 and r.aqi.aqi.shape == (3, 365)
    assert r.pollutants["PM2.5"].status.tolist()[:2] == ["complies", "complies"]
    assert r.pollutants["PM2.5"].status[2] == "invalid"
    assert r.daily["O3_8h"].value.shape == (3, 365)
    assert (r.good_days.valid <= 365).all()
    assert city_concentration([[1.0, np.nan], [3.0, 4.0]]).tolist() == [2.0, 4.0]
    assert np.isnan(city_concentration([[1.0, np.nan], [3.0, 4.0]], min_stations=2)[1])
