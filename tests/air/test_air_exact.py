"""Air figures exact at the boundary (issue 12): each case with the standard's exact answer,
and property tests against Fraction references on grids around every limit and half."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui import exact
from bishui.air.aqi import daily_report
from bishui.air.assessment import percentile
from bishui.air.compliance import assess, exceedance_multiple
from bishui.air.iaqi import iaqi
from bishui.air.limits import limit
from bishui.air.ranking import change_rate
from bishui.air.rounding import round_gbt8170


def _ref_percentile(values: list[Fraction], p: int) -> Fraction:
    """HJ 663-2013 Annex A in exact arithmetic."""
    x = sorted(values)
    n = len(x)
    k = 1 + Fraction(n - 1) * Fraction(p, 100)
    s = int(k)
    hi = x[min(s, n - 1)]
    return x[s - 1] + (hi - x[s - 1]) * (k - s)


def _o3_year() -> np.ndarray:
    """2025: 330 valid MDA8 days with X(297) = 160 and X(298) = 165, 35 days missing."""
    days = np.full(365, np.nan)
    start = dt.date(2025, 1, 1)
    dates = [start + dt.timedelta(days=i) for i in range(365)]
    missing, per_month = 0, {}
    for i, d in enumerate(dates):
        if d.day <= 3 and missing < 35:  # 3 a month (2 in December): the monthly rule holds
            per_month[d.month] = per_month.get(d.month, 0) + 1
            missing += 1
            continue
        days[i] = 0.0
    valid = np.flatnonzero(~np.isnan(days))
    assert valid.size == 330
    vals = [100.0] * 296 + [160.0] + [165.0] * 33
    days[valid] = vals
    return days


def test_hj663_percentile_o3_330_days_complies() -> None:
    d = _o3_year()
    p = percentile(d, 90)
    assert p == 160.5  # exactly: k = 297.1, 160 + 5·0.1
    assert round_gbt8170(p, 0) == 160.0
    a = assess({"O3": d}, dt.date(2025, 1, 1))["O3"]
    assert a.percentile == 160.5
    assert a.status == "complies"
    assert np.isnan(a.percentile_multiple)


def test_hj663_percentile_of_0_and_15() -> None:
    p = percentile([0.0, 15.0], 90)
    assert p == 13.5
    assert round_gbt8170(p, 0) == 14.0


def test_co_exceedance_multiple_table_row() -> None:
    assert exceedance_multiple([4.3, 4.9], 4.0).tolist() == [0.08, 0.22]


def test_co_exceedance_multiples_4_1_to_19_9_all_exact() -> None:
    c = np.round(np.arange(41, 200) / 10, 1)
    assert c.size == 159
    got = exceedance_multiple(c, 4.0)
    want = [float(exact.round_half_even((exact.written(v) - 4) / 4, 2)) for v in c.tolist()]
    assert got.tolist() == want


def test_composite_index_change_rate_table_row() -> None:
    assert change_rate(1.09, 1.60) == -31.88


def test_composite_index_change_rate_grid_of_90000_points() -> None:
    a = np.round(np.arange(1, 301) / 100, 2)
    now, before = np.meshgrid(a, a, indexing="ij")
    got = change_rate(now, before)
    want = np.array(
        [
            float(exact.round_half_even((Fraction(i) - Fraction(j)) * 100 / Fraction(j), 2))
            for i in range(1, 301)
            for j in range(1, 301)
        ]
    ).reshape(300, 300)
    assert got.size == 90_000
    assert int((got != want).sum()) == 0


def test_o3_is_listed_once_as_primary_pollutant_above_800() -> None:
    conc = {"SO2_24h": 5, "NO2_24h": 10, "PM10_24h": 20, "CO_24h": 0.3, "PM2.5_24h": 10,
            "O3_8h": 850, "O3_1h": 1100}  # fmt: skip
    r = daily_report(conc, "2012").report()
    assert r.iaqi["O3_8h"] == r.iaqi["O3_1h"] == 450
    assert r.primary == ("O3_1h",)
    assert r.display()["首要污染物"] == "O3_1h"


def test_mixed_edition_iaqi_says_which_elements_were_rounded() -> None:
    r = iaqi("PM2.5_24h", [35.4, 35.4], date=[dt.date(2026, 2, 28), dt.date(2026, 3, 1)])
    assert r.rounded.tolist() == [False, True]  # type: ignore[union-attr]
    assert r.edition.tolist() == ["2012", "2026"]  # type: ignore[union-attr]
    assert iaqi("PM2.5_24h", 35.4, "2026").rounded is True


# --- property tests: grids around every limit and half ------------------------------------

LIMITS = sorted(
    {
        float(limit(p, stat, g, edition=ed, phase=ph))
        for p, stats in {
            "SO2": ("annual", "daily"), "NO2": ("annual", "daily"),
            "PM10": ("annual", "daily"), "PM2.5": ("annual", "daily"),
            "CO": ("daily",), "O3": ("mda8",),
        }.items()
        for stat in stats
        for g in (1, 2)
        for ed, ph in (("2012", "all"), ("2026", "transition"), ("2026", "final"))
    }
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    lim=st.sampled_from(LIMITS),
    lo_off=st.integers(-30, 30),
    hi_off=st.integers(-30, 30),
    n=st.integers(2, 366),
    p=st.sampled_from([90, 95, 98]),
)
def test_percentile_near_limits_agrees_with_fraction(
    lim: float, lo_off: int, hi_off: int, n: int, p: int
) -> None:
    """Daily values at 1-decimal steps around a limit: the rounded percentile and the verdict."""
    lo = Fraction(round(lim * 10) + lo_off, 10)
    hi = Fraction(round(lim * 10) + max(lo_off, hi_off), 10)
    k = 1 + Fraction(n - 1) * Fraction(p, 100)
    s = int(k)
    vals = [Fraction(0)] * (s - 1) + [lo] + [hi] * (n - s)
    ref = _ref_percentile(vals, p)
    got = percentile(np.array([float(v) for v in vals]), p)
    assert got == float(ref)
    digits = 1 if lim < 10 else 0
    ref_r = exact.round_half_even(ref, digits)
    assert round_gbt8170(got, digits) == float(ref_r)
    assert bool(round_gbt8170(got, digits) > lim) == bool(ref_r > exact.written(lim))


@settings(max_examples=400, deadline=None)
@given(lim=st.sampled_from(LIMITS), off=st.integers(-500, 500))
def test_exceedance_multiple_near_limits_agrees_with_fraction(lim: float, off: int) -> None:
    c = exact.written(lim) + Fraction(off, 100)
    if c <= 0:
        return
    got = exceedance_multiple(np.array([float(c)]), lim)[0]
    if c <= exact.written(lim):
        assert np.isnan(got)
    else:
        s = exact.written(lim)
        assert got == float(exact.round_half_even((c - s) / s, 2))


# --- through the service (both backends) ----------------------------------------------------


def test_service_assessment_o3_330_days_is_160_5_and_complies(store) -> None:  # type: ignore[no-untyped-def]
    from air_store_support import registry, rows, write

    from bishui.air import service

    registry(store)
    day_values = _o3_year()  # NaN: a day without data
    hourly = np.repeat(day_values, 24)
    write(store, rows("A", "O3", dt.datetime(2025, 1, 1), hourly))
    (a,) = service.assessment(store, "2025", scope="station", stations=["A"],
                              today=dt.date(2026, 1, 10))  # fmt: skip
    o3 = a.pollutants["O3"]
    assert o3["valid_days"] == 330
    assert o3["percentile"] == 160.5
    assert o3["status"] == "complies"
    assert o3["exceedance_days"] == 33  # the days at 165
    assert o3["max_multiple"] == 0.03  # (165 − 160)/160 = 0.03125 → 0.03
