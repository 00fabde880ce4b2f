"""Drinking-water source supervision over the store (both backends).

The model city's 惠亭水库 (WS14, target Class Ⅱ, a reservoir) degrades from 2026-09-20
(bishui/demo/city.py DEGRADING_SOURCE): before that date its readings exceed a limit only now
and then, one reading at a time; a month later NH3-N stays above the Class Ⅱ limit for days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from water_support import drop_store, four_hourly, load_model_city, make_store, registry, write

from bishui.demo.city import DEGRADING_SOURCE
from bishui.store import Store
from bishui.water.supervision import (
    SupervisionRules,
    evaluate,
    refresh,
    run_alerts,
    stored_alerts,
)

BACKENDS = ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
SOURCES = {"WS06", "WS13", "WS14"}


@pytest.fixture(scope="module", params=BACKENDS)
def sources_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    store, _, _ = make_store(str(request.param), tmp_path_factory.mktemp("water_sources"))
    try:
        load_model_city(store, dt.datetime(2026, 8, 20), dt.datetime(2026, 11, 1), SOURCES)
        yield store
    finally:
        drop_store(store)


def _episodes(alerts: list[dict], source: str, parameter: str) -> list[int]:
    return [
        a["evidence"]["readings"]
        for a in alerts
        if (a["source"], a["kind"], a["parameter"]) == (source, "exceedance", parameter)
    ]


def test_degrading_source_raises_an_alert(sources_store: Store) -> None:
    assert DEGRADING_SOURCE[0] == "WS14"
    before_status, before = evaluate(sources_store, now=dt.datetime(2026, 9, 19))
    after_status, after = evaluate(sources_store, now=dt.datetime(2026, 10, 31))
    assert max(_episodes(before, "WS14", "w21003"), default=0) < 3
    runs = _episodes(after, "WS14", "w21003")
    assert max(runs) >= 6  # a day and more above the Class Ⅱ limit
    alert = next(
        a
        for a in after
        if (a["source"], a["kind"], a["parameter"]) == ("WS14", "exceedance", "w21003")
        and a["evidence"]["readings"] >= 6
    )
    assert alert["limit"] == 0.5 and alert["value"] > 0.5
    assert alert["target_class"] == 2 and alert["evidence"]["peak"] > 0.5
    assert alert["evidence"]["standard"] == "GB 3838-2002 表1 Ⅱ类"
    ws14 = {s["source"]: s for s in after_status}["WS14"]
    before14 = {s["source"]: s for s in before_status}["WS14"]
    assert ws14["compliance_rate"] < before14["compliance_rate"]
    assert ws14["target_label"] == "Ⅱ类" and ws14["readings"] > 100


def test_alerts_are_stored_once(sources_store: Store) -> None:
    now = dt.datetime(2026, 10, 31)
    rules = SupervisionRules(window_days=10)
    first = run_alerts(sources_store, now=now, rules=rules)
    assert first["new"] == len(first["alerts"]) > 0 and first["updated"] == 0
    n = len(stored_alerts(sources_store))
    key = first["alerts"][0]["id"]
    sources_store_exec(sources_store, "UPDATE water_alerts SET state = 'tasked' WHERE id = ?", key)
    again = run_alerts(sources_store, now=now, rules=rules)
    assert again["new"] == 0 and again["updated"] == first["new"]
    assert len(stored_alerts(sources_store)) == n
    assert {a["id"]: a["state"] for a in again["alerts"]}[key] == "tasked"
    # A day later: the window moved; the alerts already stored are not stored again.
    later = run_alerts(sources_store, now=now + dt.timedelta(days=1), rules=rules)
    ids = [a["id"] for a in stored_alerts(sources_store, limit=10_000)]
    assert len(ids) == len(set(ids)) == n + later["new"]
    jingshan = stored_alerts(sources_store, regions=("420882",))
    assert jingshan and {a["source"] for a in jingshan} == {"WS14"}


def sources_store_exec(store: Store, sql: str, *params: object) -> None:
    store.execute(sql, list(params))


def test_county_sees_only_its_sources(sources_store: Store) -> None:
    status, alerts = evaluate(sources_store, now=dt.datetime(2026, 10, 31), regions=("420882",))
    assert [s["source"] for s in status] == ["WS14"]
    assert {a["source"] for a in alerts} <= {"WS14"}


def test_source_without_data_is_one_gap(store: Store) -> None:
    registry(store, [{"id": "D1", "name": "丁水源地", "body": "lake", "drinking_source": True,
                      "target_class": 2}])  # fmt: skip
    status, alerts = evaluate(store, now=dt.datetime(2026, 7, 10), rules=SupervisionRules(7))
    assert status[0]["readings"] == 0 and status[0]["compliant"] is None
    assert [(a["kind"], a["parameter"]) for a in alerts] == [("gap", "*")]


def test_single_reading_above_the_limit(store: Store) -> None:
    registry(store, [{"id": "D1", "name": "丁水源地", "body": "lake", "drinking_source": True,
                      "target_class": 2}])  # fmt: skip
    day = dt.date(2026, 7, 1)
    write(store, four_hourly("D1", "w21003", day, [0.2, 0.2, 0.6, 0.2, 0.2, 0.2]))
    status, alerts = evaluate(store, now=dt.datetime(2026, 7, 2), rules=SupervisionRules(1))
    ex = [a for a in alerts if a["kind"] == "exceedance"]
    assert len(ex) == 1 and ex[0]["time"] == "2026-07-01T08:00:00"
    assert (ex[0]["value"], ex[0]["limit"], ex[0]["evidence"]["readings"]) == (0.6, 0.5, 1)
    assert status[0]["compliant"] is True and status[0]["compliance_rate"] == pytest.approx(
        5 / 6, abs=1e-4
    )


def test_runtime_refresh_hook_stores_alerts(store: Store) -> None:
    registry(store, [{"id": "D1", "name": "丁水源地", "body": "lake", "drinking_source": True,
                      "target_class": 2}])  # fmt: skip
    write(store, four_hourly("D1", "w21003", dt.date(2026, 7, 1), [0.2, 0.7, 0.2, 0.2, 0.2, 0.2]))
    refresh(store, dt.datetime(2026, 7, 1, 21))
    refresh(store, dt.datetime(2026, 7, 1, 22))
    assert [(a["kind"], a["parameter"]) for a in stored_alerts(store)] == [("exceedance", "w21003")]
