"""The model city through the air service, the CLI and the API, on both backends.

The city's registry (``bishui.demo.city.build``) and four days of synthetic history across the
2026-03-01 switch (``bishui.demo.history.generate``, then ``bishui.ingest.aggregate.daily``).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from backends import drop_store, make_store
from bishui.air import service
from bishui.demo import city, history
from bishui.ingest import aggregate
from bishui.registry import apply
from bishui.store import Store

START, END = dt.datetime(2026, 2, 27), dt.datetime(2026, 3, 3)
TODAY = dt.date(2026, 3, 3)


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def city_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, str]]:
    store, url, schema = make_store(str(request.param), tmp_path_factory.mktemp("air"))
    try:
        model = city.build()
        apply(store, model.registry)
        history.generate(store, model, START, END)
        aggregate.daily(store, START.date(), END.date(), now=END)
        yield store, (url if schema is None else f"{url}?schema={schema}")
    finally:
        drop_store(store)


def test_city_daily_reports_across_the_switch(city_store: tuple[Store, str]) -> None:
    store, _ = city_store
    before = service.daily(store, dt.date(2026, 2, 28))
    after = service.daily(store, dt.date(2026, 3, 1))
    assert [r.scope for r in before].count("station") == 10
    assert {r.code for r in before if r.scope == "county"} == {
        "420802", "420804", "420822", "420881", "420882", "420800-ZH", "420800-QJL",
    }  # fmt: skip
    (c12,) = [r for r in before if r.scope == "city"]
    (c26,) = [r for r in after if r.scope == "city"]
    assert c12.stations == 6  # AQ01 … AQ06, the assessment stations
    assert c12.report.edition == "2012" and c26.report.edition == "2026"
    assert "O3_1h" in c12.report.iaqi and "O3_1h" not in c26.report.iaqi
    assert c26.report.aqi is not None and c26.report.category


def test_city_realtime_and_assessment(city_store: tuple[Store, str]) -> None:
    store, _ = city_store
    rt = service.realtime(store)
    assert rt.hour == END and rt.edition == "2026"
    city_row = rt.rows[-1]
    assert city_row.scope == "city" and city_row.report.aqi_computed is not None
    rows = service.assessment(store, "2026-03", today=TODAY)
    assert {r.edition for r in rows} == {"2026"} and rows[-1].period.days == 2
    ranked = service.ranking(store, "2026-03", today=TODAY)
    assert [r.rank for r in ranked if r.rank] == sorted(r.rank for r in ranked if r.rank)
    assert len(ranked) == 7


def _cli(url: str, *args: str) -> Any:
    from bishui.cli import main

    return CliRunner().invoke(main, ["air", *args, "--db", url], catch_exceptions=False)


def test_cli_report_and_assess(city_store: tuple[Store, str], tmp_path: Path) -> None:
    store, url = city_store
    if store.dialect == "duckdb":
        pytest.skip("the DuckDB file is held open by the fixture; the CLI is tested on PostgreSQL")
    out = tmp_path / "daily.csv"
    r = _cli(url, "report", "--date", "2026-02-28", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "HJ 633-2012" in r.output and "荆门市" in r.output
    with out.open(encoding="utf-8-sig") as f:
        table = list(csv.reader(f))
    assert table[0][:8] == ["日期", "范围", "站点", "代码", "AQI", "首要污染物", "级别", "类别"]
    assert "O3-1h IAQI" in table[0] and table[-1][1] == "城市" and len(table) == 19
    xlsx = tmp_path / "assess.xlsx"
    r = _cli(url, "assess", "--period", "2026-02", "--scope", "city", "--out", str(xlsx))
    assert r.exit_code == 0, r.output
    assert "GB 3095-2012" in r.output
    from openpyxl import load_workbook

    ws = load_workbook(xlsx).active
    assert ws is not None and ws.cell(1, 1).value == "时段" and ws.max_row == 2
    r = _cli(url, "rank", "--period", "2026-02")
    assert r.exit_code == 0 and "排名" in r.output
    r = _cli(url, "realtime", "--scope", "city")
    assert r.exit_code == 0 and "实时报 2026-03-03 00:00" in r.output
    r = _cli(url, "assess", "--period", "2026-13")
    assert r.exit_code == 2 and "period" in r.output


def test_cli_on_duckdb(tmp_path: Path) -> None:
    """The same commands on a DuckDB file (hand-built rows, the store closed before the CLI)."""
    from air_store_support import clean_days, registry

    from bishui.store import open_store

    path = tmp_path / "air.duckdb"
    store = open_store(path)
    registry(store)
    clean_days(store, dt.date(2025, 7, 1), 2)
    store.close()
    r = _cli(str(path), "report", "--date", "2025-07-01")
    assert r.exit_code == 0, r.output
    assert "站A" in r.output and "荆门市" in r.output and "2012版" in r.output
    r = _cli(str(path), "realtime")
    assert r.exit_code == 0 and "2025-07-03 00:00" in r.output
    r = _cli(str(path), "assess", "--period", "2025-07", "--out", str(tmp_path / "a.csv"))
    assert r.exit_code == 0 and (tmp_path / "a.csv").exists()
    r = _cli(str(path), "rank", "--period", "2025-07", "--level", "station")
    assert r.exit_code == 0 and "站C" in r.output
    r = _cli(str(path), "report", "--date", "2025-07-01", "--out", str(tmp_path / "x.pdf"))
    assert r.exit_code == 2 and "out" in r.output


# -- API ---------------------------------------------------------------------------------------
AIR_ROUTES = ("/api/v1/air/realtime", "/api/v1/air/daily", "/api/v1/air/assessment",
              "/api/v1/air/ranking")  # fmt: skip


def _app(store: Store) -> Any:
    from bishui.web import Settings, create_app

    return create_app(store, Settings(secret=""))


def test_air_routes_are_public_and_unscoped() -> None:
    """The permission matrix of the air routes: every role, the same published data."""
    from fastapi.routing import APIRoute

    from bishui.web import api
    from bishui.web.api import air
    from bishui.web.auth import ALL_ROLES, route_access

    assert air.router in api.ROUTERS
    declared = {}
    for route in air.router.routes:
        assert isinstance(route, APIRoute) and route.methods == {"GET"}
        (declared["/api/v1" + route.path],) = route_access(route)
    assert set(declared) == set(AIR_ROUTES)
    for access in declared.values():
        assert access.roles == frozenset(ALL_ROLES) and access.scope == "all"


async def test_air_api(city_store: tuple[Store, str]) -> None:
    store, _ = city_store
    transport = httpx.ASGITransport(app=_app(store))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.get("/api/v1/air/realtime", params={"scope": "city"})
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"].startswith("public")
        body = r.json()
        assert body["edition"] == "2026" and [x["scope"] for x in body["rows"]] == ["city"]
        assert body["time"] == "2026-03-03T00:00:00+08:00"
        r = await c.get("/api/v1/air/daily", params={"date": "2026-02-28"})
        rows = r.json()["rows"]
        assert r.status_code == 200 and len(rows) == 18 and rows[0]["edition"] == "2012"
        r = await c.get("/api/v1/air/assessment", params={"period": "2026-02", "scope": "county"})
        assert r.status_code == 200 and {x["scope"] for x in r.json()["rows"]} == {"county"}
        assert r.json()["rows"][0]["standards"].startswith("GB 3095-2012")
        r = await c.get("/api/v1/air/ranking", params={"period": "2026-02"})
        assert r.status_code == 200 and len(r.json()["rows"]) == 7
        # Bad input: one error shape naming the field.
        r = await c.get("/api/v1/air/assessment", params={"period": "2026-Q9"})
        assert r.status_code in (400, 422) and r.json()["ok"] is False
        r = await c.get("/api/v1/air/daily", params={"date": "2099-01-01"})
        assert r.status_code == 400 and r.json()["field"] == "date"


def test_air_colouring_replaces_the_provisional_air_marks(city_store: tuple[Store, str]) -> None:
    from bishui import readings
    from bishui.web.air_colouring import AirColouring

    store, _ = city_store
    sites = readings.sites(store)  # registry.model.Site records, in id order
    marks = AirColouring()(store, sites, END)
    air = [s.id for s in sites if s.kind == "air"]
    rt = {r.code: r.report for r in service.realtime(store).rows}
    for sid in air:
        m = marks[sid]
        # labelled by the end of the hour, as the real-time report (bishui.timeutil.hour_label)
        assert "bishui.air" in m.basis and m.ts == END
        assert m.value == rt[sid].aqi and m.color == rt[sid].hex
    assert all(sid in marks for sid in (s.id for s in sites))  # the others kept
    stale = AirColouring()(store, sites, END + dt.timedelta(days=2))
    assert all("bishui.air" not in stale[sid].basis for sid in air)
