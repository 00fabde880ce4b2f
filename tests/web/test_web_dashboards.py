"""The domain pages (bishui.web.dashboards) through the in-process client, role by role.

The permission matrix (test_web_permissions.py) checks who is let in; here: what each role's
page holds (a county sees drinking-water sources and the acknowledge buttons, an enterprise
neither; an analyst's task page is read-only), the English switch, the Excel/CSV export of a
table, and the calendar endpoint behind the air page's heat map.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from web_support import client_for, csrf_of, login

from bishui.export_header import SYNTHETIC_NOTICE

PAGES = ("/air", "/water", "/sources", "/tasks", "/compensation", "/bigscreen")
SEES = {
    "admin": set(PAGES),
    "analyst": set(PAGES),
    "inspector": set(PAGES),
    "county": {"/air", "/water", "/sources", "/tasks", "/compensation"},
    "enterprise": {"/air", "/water", "/sources", "/tasks"},
    "public": {"/air", "/water"},
}


@asynccontextmanager
async def _as(app: Any, users: dict[str, Any], role: str) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        if role != "public":
            r = await login(client, users[role]["username"])
            assert r.status_code == 303
        yield client


@pytest.mark.parametrize("role", sorted(SEES))
async def test_each_role_sees_its_pages(app: Any, users: dict[str, Any], role: str) -> None:
    async with _as(app, users, role) as client:
        home = (await client.get("/")).text
        for page in PAGES:
            r = await client.get(page, headers={"Accept": "text/html"})
            if page in SEES[role]:
                assert r.status_code == 200, (role, page, r.text[:300])
                assert r.headers["content-type"] == "text/html; charset=utf-8"
                assert "模拟数据" in r.text  # the synthetic-data notice
                assert "<script>" not in r.text  # no inline script (CSP)
                assert f'href="{page}"' in home  # in the navigation
            elif role == "public":  # a browser is sent to the login page
                assert r.status_code == 303 and r.headers["location"].startswith("/login")
            else:
                assert r.status_code == 403, (role, page)
                assert f'href="{page}"' not in home


@pytest.mark.parametrize(
    ("role", "drinking"),
    [("analyst", True), ("county", True), ("enterprise", False), ("public", False)],
)
async def test_water_page_drinking_sources_only_for_staff_and_counties(
    app: Any, users: dict[str, Any], role: str, drinking: bool
) -> None:
    async with _as(app, users, role) as client:
        text = (await client.get("/water")).text
        assert 'id="water-sections"' in text
        assert ('id="water-drinking"' in text) is drinking


async def test_task_page_actions_only_for_actors(app: Any, users: dict[str, Any]) -> None:
    async with _as(app, users, "analyst") as client:
        assert "本角色只能查看任务" in (await client.get("/tasks")).text
    async with _as(app, users, "inspector") as client:
        text = (await client.get("/tasks")).text
        assert "本角色只能查看任务" not in text
        assert '"actor": true' in text


async def test_compensation_buttons_only_for_counties(app: Any, users: dict[str, Any]) -> None:
    async with _as(app, users, "county") as client:
        assert 'id="comp-ack"' in (await client.get("/compensation")).text
    async with _as(app, users, "analyst") as client:
        assert 'id="comp-ack"' not in (await client.get("/compensation")).text


async def test_pages_in_english(client: httpx.AsyncClient) -> None:
    r = await client.get("/air", params={"lang": "en"})
    assert "Ambient air quality" in r.text and 'lang="en"' in r.text
    assert "环境空气质量" in (await client.get("/air")).text


async def test_air_page_parameters_are_checked(client: httpx.AsyncClient) -> None:
    assert (await client.get("/air", params={"year": "20x6"})).status_code == 400
    assert (await client.get("/air", params={"date": "yesterday"})).status_code == 400
    assert (await client.get("/water", params={"month": "2026-13"})).status_code == 400
    assert (await client.get("/air", params={"year": "2025"})).status_code == 200


TABLE = {
    "name": "air-daily-2026-11-21",
    "header": ["名称", "AQI", "类别"],
    "rows": [["竹园小学", 96, "良"], ['=HYPERLINK("x")', None, "-1"]],
}


async def test_export_excel_and_csv(client: httpx.AsyncClient) -> None:
    from openpyxl import load_workbook

    r = await client.post("/export.xlsx", json=TABLE)
    assert r.status_code == 200
    assert "air-daily-2026-11-21.xlsx" in r.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    # the rows above the table (bishui.export_header): title, source, the synthetic-data notice
    assert rows[0][0] == "air-daily-2026-11-21"  # no title sent: the table's name
    assert str(rows[1][0]).startswith("数据来源：碧水") and "模拟数据" in str(rows[2][0])
    assert rows[3] == ("名称", "AQI", "类别")
    assert rows[4] == ("竹园小学", 96, "良")
    assert str(rows[5][0]).startswith("'=")  # never a formula
    assert ws.freeze_panes == "A5"
    r = await client.post("/export.csv", json={**TABLE, "title": "空气质量日报", "units": "μg/m³"})
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff空气质量日报\r\n单位：μg/m³\r\n数据来源：")
    assert "\r\n名称,AQI,类别\r\n竹园小学,96,良\r\n" in text
    # what the pages send (static/js/ui.js): title, place, period, units — the CSV too
    full = {**TABLE, "title": "日均值", "place": "荆门市", "period": "2026-11-21", "units": "μg/m³"}
    lines = (await client.post("/export.csv", json=full)).content.decode("utf-8-sig").splitlines()
    assert lines[:5] == [
        "日均值",
        "地点：荆门市；时段：2026-11-21",
        "单位：μg/m³",
        "数据来源：碧水 · 荆门生态环境数据平台",
        SYNTHETIC_NOTICE,
    ]
    r = await client.post("/export.csv", json={**full, "place": "x" * 201})
    assert r.status_code == 422  # bounded like every other field


async def test_export_bounds_and_csrf(app: Any, users: dict[str, Any]) -> None:
    async with client_for(app) as client:
        too_wide = {**TABLE, "header": ["x"] * 101}
        assert (await client.post("/export.xlsx", json=too_wide)).status_code == 422
        bad_name = {**TABLE, "name": "../../etc/passwd"}
        assert (await client.post("/export.xlsx", json=bad_name)).status_code == 422
        assert (await client.post("/export.pdf", json=TABLE)).status_code in (404, 422)
    async with _as(app, users, "analyst") as client:
        r = await client.post("/export.xlsx", json=TABLE)
        assert r.status_code == 403  # a session needs its CSRF token
        token = await csrf_of(client, "/air")
        r = await client.post("/export.xlsx", json=TABLE, headers={"X-CSRF-Token": token})
        assert r.status_code == 200


async def test_air_calendar(client: httpx.AsyncClient) -> None:
    from bishui.timeutil import now_beijing

    year = now_beijing().year
    body = (await client.get("/api/v1/air/calendar", params={"year": year})).json()
    assert body["ok"] and body["code"] == "420800"
    assert len(body["days"]) == len(body["aqi"]) == len(body["level"]) == len(body["edition"])
    assert body["days"][0] == f"{year}-01-01"
    assert set(body["edition"]) <= {"2012", "2026"}
    r = await client.get("/api/v1/air/calendar", params={"year": year, "code": "AQ01"})
    assert r.json()["code"] == "AQ01"
    r = await client.get("/api/v1/air/calendar", params={"year": year, "code": "XX99"})
    assert r.status_code == 404
    r = await client.get("/api/v1/air/calendar", params={"year": year + 5})
    assert r.status_code == 400 and r.json()["field"] == "year"


async def test_pages_carry_the_export_header_words(
    app: Any, users: dict[str, Any], city_store: Any
) -> None:
    """The words of the header rows travel to every page as JSON (ui.js writes them above a
    chart's PNG and sends title, place, period and units with a table export): the place is
    the city, or a county user's county."""
    import json
    import re

    from bishui.export_header import LABELS
    from bishui.web import display

    def header_of(text: str) -> dict[str, Any]:
        m = re.search(r'<script type="application/json" id="export-header">(.*?)</script>', text)
        assert m, text[:300]
        return dict(json.loads(m.group(1)))

    names = display.region_names(city_store)
    city = city_store.query("SELECT name FROM regions WHERE kind = 'city'")[0]["name"]
    async with client_for(app) as client:
        h = header_of((await client.get("/air", headers={"Accept": "text/html"})).text)
        assert h["default_place"] == city and h["notice"] == SYNTHETIC_NOTICE
        assert h["synthetic"] is True and h["source_name"].startswith("碧水")
        assert {k: h[k] for k in LABELS["zh"]} == LABELS["zh"]
        en = header_of((await client.get("/air?lang=en", headers={"Accept": "text/html"})).text)
        assert en["place"] == "Place: " and "synthetic" in en["notice"]
    async with _as(app, users, "county") as client:
        # a county's scoped pages name its county; the published air figures, the city
        h = header_of((await client.get("/sources", headers={"Accept": "text/html"})).text)
        assert h["default_place"] == names[users["county"]["region"]][0] != city
        h = header_of((await client.get("/air", headers={"Accept": "text/html"})).text)
        assert h["default_place"] == city
    assert display.home_place(None, None, "zh") == ""
    assert display.home_place(city_store, "no-such-region", "zh") == city
