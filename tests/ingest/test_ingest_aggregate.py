import datetime as dt

import pytest

from bishui.ingest import aggregate
from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
from bishui.store import Batch, Store

H = dt.datetime(2025, 7, 1, 8)


@pytest.fixture
def city(store: Store) -> Store:
    apply(
        store,
        Registry(
            regions=[Region("420802", "东宝区", "district")],
            sites=[Site("AQ01", "air", "竹园小学", "420802")],
            devices=[
                Device(
                    "AQ01MN",
                    "AQ01",
                    "123456",
                    "22",
                    parameters=(DeviceParameter("a34004", "μg/m³", 0, 1000),),
                )
            ],
        ),
    )
    return store


def minutes(n_valid: int, n_invalid: int, hour: dt.datetime = H) -> Batch:
    rows = []
    for i in range(n_valid + n_invalid):
        flag = "N" if i < n_valid else "C"
        rows.append(
            (
                "AQ01",
                "a34004",
                "min",
                hour + dt.timedelta(minutes=i),
                "logger",
                float(i),
                None,
                None,
                None,
                flag,
                flag == "N",
                None,
                "q",
                hour,
            )
        )
    return Batch(rows=rows)


@pytest.mark.parametrize(("n_valid", "valid"), [(45, True), (44, False), (60, True)])
def test_hour_needs_45_valid_minutes_for_air(city: Store, n_valid: int, valid: bool) -> None:
    # GB 3095-2012 Table 4: a 1-hour mean needs at least 45 minutes in the hour.
    city.write_batch(minutes(n_valid, 60 - n_valid))
    aggregate.hourly(city, H, H + dt.timedelta(hours=1), now=H)
    r = city.query("SELECT value, n_valid, valid, origin FROM measurement WHERE period='hour'")
    assert r == [
        {"value": (n_valid - 1) / 2, "n_valid": n_valid, "valid": valid, "origin": "platform"}
    ]


def test_recomputing_is_idempotent(city: Store) -> None:
    city.write_batch(minutes(50, 10))
    for _ in range(2):
        aggregate.hourly(city, H, H + dt.timedelta(hours=1), now=H)
    assert city.count("measurement", "period = 'hour'") == 1


@pytest.mark.parametrize(("hours", "valid"), [(20, True), (19, False)])
def test_day_needs_20_hourly_values_for_air(city: Store, hours: int, valid: bool) -> None:
    day = dt.datetime(2025, 7, 1)
    rows = [
        (
            "AQ01",
            "a34004",
            "hour",
            day + dt.timedelta(hours=h),
            "logger",
            10.0,
            None,
            None,
            None,
            "N",
            True,
            None,
            "q",
            day,
        )
        for h in range(hours)
    ]
    city.write_batch(Batch(rows=rows))
    aggregate.daily(city, day.date(), day.date() + dt.timedelta(days=1), now=day)
    r = city.query("SELECT value, n_valid, valid FROM measurement WHERE period = 'day'")
    assert r == [{"value": 10.0, "n_valid": hours, "valid": valid}]


def test_day_prefers_the_loggers_hourly_value(city: Store) -> None:
    day = dt.datetime(2025, 7, 1)
    rows = []
    for h in range(24):
        t = day + dt.timedelta(hours=h)
        rows.append(
            (
                "AQ01",
                "a34004",
                "hour",
                t,
                "logger",
                10.0,
                None,
                None,
                None,
                "N",
                True,
                None,
                "q",
                day,
            )
        )
        rows.append(
            (
                "AQ01",
                "a34004",
                "hour",
                t,
                "platform",
                99.0,
                None,
                None,
                None,
                None,
                True,
                60,
                "aggregate",
                day,
            )
        )
    city.write_batch(Batch(rows=rows))
    aggregate.daily(city, day.date(), day.date() + dt.timedelta(days=1), now=day)
    assert city.query("SELECT value, n_valid FROM measurement WHERE period = 'day'") == [
        {"value": 10.0, "n_valid": 24}
    ]
