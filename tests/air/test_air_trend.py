"""A station's last 24 hours (the public page's trend): each hour equals the real-time report
of that hour, labelled by its end (HJ 663), judged by the edition in force on it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from air_store_support import BASE, registry, rows, write

from bishui.air import service
from bishui.errors import InputError, NotFoundError
from bishui.store import Store


def _hours(store: Store, start: dt.datetime, n: int, pm25: np.ndarray) -> None:
    other = {p: v for p, v in BASE.items() if p != "PM2.5"}
    parts = [rows(s, p, start, np.full(n, v)) for s in "ABC" for p, v in other.items()]
    parts += [rows(s, "PM2.5", start, pm25) for s in "ABC"]
    write(store, *parts)


def test_trend_matches_the_realtime_report_hour_by_hour(store: Store) -> None:
    registry(store)
    start = dt.datetime(2026, 7, 1, 0)  # the hours starting 00:00 … 47:00
    pm = np.linspace(20.0, 160.0, 48).round()
    pm[40] = np.nan  # one hour missing
    _hours(store, start, 48, pm)
    end = dt.datetime(2026, 7, 2, 23)  # label of the hour 22:00–23:00 of 07-02
    scope, trend = service.trend(store, "A", end)
    assert scope.code == "A" and scope.kind == "station"
    assert [r.time for r in trend] == [end - dt.timedelta(hours=23 - i) for i in range(24)]
    for r in trend[::5]:
        rt = {x.code: x for x in service.realtime(store, r.time).rows}["A"]
        assert r.report == rt.report
    # the label 07-02 17:00 covers the hour that started 16:00 (index 40): PM2.5 missing
    gap = next(r for r in trend if r.time == dt.datetime(2026, 7, 2, 17))
    assert "PM2.5_1h" in gap.report.missing
    top = trend[-1].report
    assert top.aqi is not None and top.aqi > 100 and top.primary == ("PM2.5_1h",)
    # the city's trend: the mean of its assessment stations
    _, city = service.trend(store, "420800", end, 3)
    assert len(city) == 3 and city[-1].stations == 2


def test_trend_across_the_edition_switch(store: Store) -> None:
    registry(store)
    start = dt.datetime(2026, 2, 28, 0)
    _hours(store, start, 48, np.full(48, 70.0))
    _, trend = service.trend(store, "A", dt.datetime(2026, 3, 1, 3), 6)
    eds = [(r.time.hour, r.report.edition) for r in trend]
    # 2026-03-01 00:00 is the last hour of 02-28 (2012); 01:00 is the first of 2026
    assert eds == [(22, "2012"), (23, "2012"), (0, "2012"), (1, "2026"), (2, "2026"), (3, "2026")]
    # PM2.5 70: IAQI ⌈50 + 35·50/40⌉ = 94 under 2012, ⌈100 + 10·50/55⌉ = 110 under 2026
    assert trend[0].report.iaqi["PM2.5_1h"] == 94 and trend[-1].report.iaqi["PM2.5_1h"] == 110


def test_hours_without_data_are_missing(store: Store) -> None:
    registry(store)
    _, trend = service.trend(store, "B", dt.datetime(2026, 7, 1, 12), 2)
    assert [r.report.status for r in trend] == ["missing", "missing"]
    assert all(r.report.aqi is None and r.stations == 0 for r in trend)


def test_bad_input(store: Store) -> None:
    registry(store)
    with pytest.raises(NotFoundError):
        service.trend(store, "ZZ")
    for hours in (0, 169, True):
        with pytest.raises(InputError, match="hours"):
            service.trend(store, "A", hours=hours)
