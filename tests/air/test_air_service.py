"""The air service over a store (both backends): exact checks on hand-built rows.

Cited rules: GB 3095 Table 4 (≥ 20 hourly values a day); HJ 633-2012 §5.1.2 / HJ 633-2026
§4.2.2 (daily report indicators, editions switched on 2026-03-01); HJ 663 (city value = mean
of the city's assessment stations); HJ 633-2026 §5.3.1 (NA rule).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from air_store_support import BASE, clean_days, registry, rows, write
from hypothesis import given
from hypothesis import strategies as st

from bishui.air import service
from bishui.errors import InputError, NotFoundError
from bishui.store import Store


def by_code(rs: list[service.ReportRow]) -> dict[str, service.ReportRow]:
    return {r.code: r for r in rs}


def test_day_validity_edge(store: Store) -> None:
    """Exactly 20 valid hours: a daily mean; 19: none (the report marks PM2.5 missing)."""
    registry(store)
    day = dt.date(2026, 7, 1)
    t0 = dt.datetime(2026, 7, 1)
    parts = []
    for s, _, _ in (("A", 0, 0), ("B", 0, 0)):
        for p, v in BASE.items():
            if p != "PM2.5":
                parts.append(rows(s, p, t0, np.full(24, v)))
    hours = np.arange(24)
    parts.append(rows("A", "PM2.5", t0, np.full(24, 40.0), valid=hours < 20))
    parts.append(rows("B", "PM2.5", t0, np.where(hours < 19, 40.0, np.nan)))
    write(store, *parts)
    rep = by_code(service.daily(store, day))
    a, b = rep["A"].report, rep["B"].report
    assert a.edition == b.edition == "2026"
    assert a.status == "complete" and a.iaqi["PM2.5_24h"] == 60  # 50 + (40−35)·50/25 (2026 table)
    assert b.concentration["PM2.5_24h"] is None and b.missing == ("PM2.5_24h",)
    # HJ 633-2026 §5.3.1: AQI of the others ≤ 100 → NA.
    assert b.status == "NA" and b.aqi is None and b.aqi_computed is not None
    # The city (A and B): B's PM2.5 is missing, the city mean is A's alone.
    city = rep["420800"].report
    assert city.concentration["PM2.5_24h"] == 40.0 and rep["420800"].stations == 2


def test_edition_switch_on_2026_03_01(store: Store) -> None:
    registry(store)
    clean_days(store, dt.date(2026, 2, 28), 2, {(s, "PM2.5"): 75.0 for s in "ABC"})
    before = by_code(service.daily(store, dt.date(2026, 2, 28)))["A"].report
    after = by_code(service.daily(store, dt.date(2026, 3, 1)))["A"].report
    assert before.edition == "2012" and "O3_1h" in before.iaqi
    assert before.iaqi["PM2.5_24h"] == 100 and before.category == "良"
    assert after.edition == "2026" and "O3_1h" not in after.iaqi
    assert after.iaqi["PM2.5_24h"] == 114 and after.category == "轻度污染"
    assert after.exceeding is None and before.exceeding == ()
    # Real-time: the hour labelled 03-01 00:00 is the last of 28 February (2012 rules).
    assert service.realtime(store, dt.datetime(2026, 3, 1, 0)).edition == "2012"
    rt = service.realtime(store, dt.datetime(2026, 3, 1, 1))
    assert rt.edition == "2026"
    assert by_code(rt.rows)["A"].report.iaqi["PM2.5_1h"] == 114


def test_city_is_the_mean_of_its_assessment_stations(store: Store) -> None:
    registry(store)
    day = dt.date(2025, 7, 1)
    clean_days(store, day, 1, {("A", "PM2.5"): 40.0, ("B", "PM2.5"): 60.0, ("C", "PM2.5"): 200.0})
    rep = by_code(service.daily(store, day))
    assert rep["420800"].report.concentration["PM2.5_24h"] == 50.0  # A, B; not C
    assert rep["420800"].stations == 2
    assert rep["420802"].report.concentration["PM2.5_24h"] == 50.0
    assert rep["420822"].report.concentration["PM2.5_24h"] == 200.0  # C's county
    assert [r.scope for r in service.daily(store, day)] == ["station"] * 3 + ["county"] * 2 + [
        "city"
    ]
    # A logger with its clock years ahead does not move the real-time report.
    write(store, rows("C", "PM2.5", dt.datetime(2099, 1, 1), [500.0]))
    rt = by_code(service.realtime(store).rows)
    assert rt["420800"].report.concentration["PM2.5_1h"] == 50.0
    assert rt["420800"].time == dt.datetime(2025, 7, 2, 0)  # end of the last hour


def test_logger_value_wins_and_late_data_counts(store: Store) -> None:
    registry(store)
    day = dt.date(2025, 7, 1)
    clean_days(store, day, 1)
    t0 = dt.datetime(2025, 7, 1)
    write(store, rows("A", "PM2.5", t0, np.full(24, 300.0), origin="platform"))
    assert by_code(service.daily(store, day))["A"].report.concentration["PM2.5_24h"] == 40.0
    # The platform's value fills an hour the logger did not send.
    write(store, rows("C", "SO2", t0, np.full(24, 20.0), origin="platform"))
    assert by_code(service.daily(store, day))["C"].report.concentration["SO2_24h"] == 10.0
    # A late correction of the logger's values is in the next report (computed on request).
    write(store, rows("A", "PM2.5", t0, np.full(24, 80.0)))
    assert by_code(service.daily(store, day))["A"].report.concentration["PM2.5_24h"] == 80.0


def test_invalid_and_negative_values_do_not_count(store: Store) -> None:
    registry(store)
    day = dt.date(2025, 7, 1)
    clean_days(store, day, 1)
    t0 = dt.datetime(2025, 7, 1)
    v = np.full(24, 40.0)
    v[:5] = -1.0  # a broken reading stored as valid: treated as invalid
    write(store, rows("A", "PM2.5", t0, v))
    assert by_code(service.daily(store, day))["A"].report.concentration["PM2.5_24h"] is None


def test_assessment_month_and_editions(store: Store) -> None:
    registry(store)
    clean_days(store, dt.date(2026, 2, 1), 28, {("C", "PM2.5"): 90.0})
    rows_ = {r.code: r for r in service.assessment(store, "2026-02", today=dt.date(2026, 3, 5))}
    a, c, city = rows_["A"], rows_["C"], rows_["420800"]
    assert a.edition == "2012" and a.daily_editions == ("2012",) and a.period.complete
    assert a.pollutants["SO2"]["status"] == "complies"
    # A month's mean against the annual limit (HJ 663 Table 1): 40 > 35.
    assert a.pollutants["PM2.5"]["mean"] == 40.0 and a.pollutants["PM2.5"]["status"] == "exceeds"
    assert a.pollutants["PM2.5"]["exceedance_days"] == 0
    assert c.pollutants["PM2.5"]["status"] == "exceeds"
    assert c.pollutants["PM2.5"]["exceedance_days"] == 28
    assert a.good_days == a.valid_days == 28 and a.good_ratio == 100.0
    assert c.good_ratio == 0.0  # PM2.5 90 → IAQI 120 every day
    assert city.pollutants["PM2.5"]["mean"] == 40.0  # A and B only
    # Composite index (equal weights, 2012 limits): 10/60+30/40+60/70+40/35+0.8/4+90/160.
    exact = 10 / 60 + 30 / 40 + 60 / 70 + 40 / 35 + 0.8 / 4 + 90 / 160
    assert a.composite == round(exact, 2)
    d = a.as_dict()
    assert d["standards"].startswith("GB 3095-2012") and d["end"] == "2026-02-28"


def test_assessment_across_the_switch(store: Store) -> None:
    registry(store)
    clean_days(store, dt.date(2026, 2, 25), 10)
    r = service.assessment(store, "2026-03", today=dt.date(2026, 3, 6), scope="city")
    assert len(r) == 1 and r[0].edition == "2026" and r[0].daily_editions == ("2026",)
    assert not r[0].period.complete and r[0].period.days == 5
    # Month-to-date with no missing day is valid (docs/air.md interpretation 7); the limits
    # are GB 3095-2026's transition limits (PM2.5 annual 30): 40 exceeds.
    pm = r[0].pollutants["PM2.5"]
    assert (pm["status"], pm["mean_limit"], pm["valid_days"]) == ("exceeds", 30.0, 5)
    q = service.assessment(store, "2026-Q1", today=dt.date(2026, 3, 6), scope="city")[0]
    assert q.daily_editions == ("2012", "2026") and q.edition == "2026"


def test_ranking_orders_counties(store: Store) -> None:
    registry(store)
    clean_days(store, dt.date(2025, 7, 1), 31, {("C", "PM2.5"): 60.0})
    ranked = service.ranking(store, "2025-07", today=dt.date(2025, 8, 5))
    assert [(r.rank, r.row.code) for r in ranked] == [(1, "420802"), (2, "420822")]
    st = service.ranking(store, "2025-07", level="station", today=dt.date(2025, 8, 5))
    assert [(r.rank, r.row.code) for r in st] == [(1, "A"), (1, "B"), (3, "C")]


def test_periods_and_bad_input(store: Store) -> None:
    p = service.parse_period("2025-Q3", today=dt.date(2026, 1, 1))
    assert (p.start, p.end, p.complete) == (dt.date(2025, 7, 1), dt.date(2025, 10, 1), True)
    p = service.parse_period("2025-12", today=dt.date(2025, 12, 10))
    assert (p.end, p.complete, p.days) == (dt.date(2025, 12, 10), False, 9)
    assert service.parse_period("2024", today=dt.date(2026, 1, 1)).days == 366
    for bad in ("2025-13", "25", "2025-Q5", "2025/07", "0000", "9999-12", "٢٠٢٥"):
        with pytest.raises(InputError) as e:
            service.parse_period(bad, today=dt.date(2026, 1, 1))
        assert e.value.field == "period"
    with pytest.raises(InputError, match="begun"):
        service.parse_period("2030", today=dt.date(2026, 1, 1))
    registry(store)
    with pytest.raises(NotFoundError):
        service.realtime(store)
    with pytest.raises(InputError):
        service.assessment(store, "2025", scope="galaxy", today=dt.date(2026, 1, 1))  # type: ignore[arg-type]


@given(st.integers(1900, 2199), st.integers(1, 12))
def test_parse_period_months_and_quarters(year: int, month: int) -> None:
    today = dt.date(2200, 1, 1)
    m = service.parse_period(f"{year}-{month:02d}", today=today)
    assert m.start == dt.date(year, month, 1) and m.complete
    assert (m.end - dt.timedelta(days=1)).month == month and m.end.day == 1
    q = service.parse_period(f"{year}-Q{(month - 1) // 3 + 1}", today=today)
    assert q.start <= m.start and m.end <= q.end and q.days in (90, 91, 92)
    y = service.parse_period(str(year), today=today)
    assert y.start <= q.start and q.end <= y.end and y.days in (365, 366)


@given(st.text(max_size=12))
def test_parse_period_refuses_anything_else(text: str) -> None:
    try:
        p = service.parse_period(text, today=dt.date(2200, 1, 1))
    except InputError as e:
        assert e.field == "period"
    else:
        assert p.days > 0 and p.label == text.strip()
