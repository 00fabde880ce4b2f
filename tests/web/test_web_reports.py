"""The reports API and page: who may list, download and generate; bad input (docs/reports.md).

The model city of the web fixtures (a few hours of synthetic history) is enough: the reports
are about the current month (partial, and saying so) and the day of its data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from web_support import client_for, csrf_of, login

from bishui.reports import service
from bishui.store import Store
from bishui.timeutil import now_beijing


@asynccontextmanager
async def _as(app: Any, users: dict[str, Any], role: str) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        if role != "public":
            r = await login(client, users[role]["username"])
            assert r.status_code == 303
        yield client


@pytest.fixture
def stored(city_store: Store) -> dict[str, str]:
    """An air daily report and a sources monthly report of the city, generated once."""
    have = {r["kind"]: r["id"] for r in service.list_reports(city_store, limit=500)[1]}
    month = now_beijing().strftime("%Y-%m")
    for kind, period in (("air-month", month), ("sources-month", month)):
        if kind not in have:
            have[kind] = service.generate(city_store, kind, period).meta["id"]
    return have


async def test_public_lists_and_downloads_bulletins_but_not_the_sources_report(
    app: Any, users: dict[str, Any], stored: dict[str, str]
) -> None:
    async with client_for(app) as client:
        r = await client.get("/api/v1/reports")
        assert r.status_code == 200
        kinds = {x["kind"] for x in r.json()["items"]}
        assert "air-month" in kinds and "sources-month" not in kinds
        r = await client.get(f"/api/v1/reports/{stored['air-month']}.pdf")
        assert r.status_code == 200 and r.content.startswith(b"%PDF-")
        assert r.headers["content-type"] == "application/pdf"
        assert "attachment" in r.headers["content-disposition"]
        r = await client.get(f"/api/v1/reports/{stored['sources-month']}.pdf")
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
        page = await client.get("/reports", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "环境空气质量月报" in page.text
        assert stored["sources-month"] not in page.text
        assert f"/api/v1/reports/{stored['air-month']}.pdf" in page.text
    for role in ("enterprise", "county"):
        async with _as(app, users, role) as client:
            r = await client.get(f"/api/v1/reports/{stored['sources-month']}.pdf")
            assert r.status_code == 403
            r = await client.get("/api/v1/reports", params={"kind": "sources-month"})
            assert r.json()["items"] == []


async def test_staff_read_the_sources_report(
    app: Any, users: dict[str, Any], stored: dict[str, str]
) -> None:
    async with _as(app, users, "inspector") as client:
        r = await client.get("/api/v1/reports", params={"kind": "sources-month"})
        assert [x["id"] for x in r.json()["items"]] == [stored["sources-month"]]
        item = r.json()["items"][0]
        assert item["partial"] and item["rules"]["sources"].startswith("bishui-sources/")
        r = await client.get(f"/api/v1/reports/{stored['sources-month']}.pdf")
        assert r.status_code == 200 and r.content.startswith(b"%PDF-")
        page = await client.get("/reports", headers={"Accept": "text/html"})
        assert "重点排污单位自动监测达标情况月报" in page.text and "报告" in page.text


async def test_generate_on_demand_roles_and_bad_input(app: Any, users: dict[str, Any]) -> None:
    day = (now_beijing().date() - dt.timedelta(days=1)).isoformat()
    async with _as(app, users, "inspector") as client:
        token = await csrf_of(client, "/reports")
        r = await client.post("/api/v1/reports", json={"kind": "air-daily", "period": day},
                              headers={"X-CSRF-Token": token})  # fmt: skip
        assert r.status_code == 403
    async with _as(app, users, "analyst") as client:
        token = await csrf_of(client, "/reports")
        h = {"X-CSRF-Token": token}
        r = await client.post("/api/v1/reports", json={"kind": "air-daily", "period": day},
                              headers=h)  # fmt: skip
        assert r.status_code == 201, r.text
        rep = r.json()["report"]
        assert rep["kind"] == "air-daily" and rep["period"] == day and rep["requested_by"]
        bad = [
            {"kind": "air-daily", "period": "2026-13-01"},  # not a day
            {"kind": "air-daily", "period": now_beijing().date().isoformat()},  # not closed
            {"kind": "air-month", "period": day},  # a day for a month report
            {"kind": "nope", "period": "2026"},
            {"kind": "air-year", "period": "2026", "extra": 1},
            {"kind": "air-year", "period": "x" * 5000},
            {"kind": "air-year", "period": "1999"},
        ]
        for body in bad:
            r = await client.post("/api/v1/reports", json=body, headers=h)
            # the schema refuses the form (422), the engine the calendar (400, with the field)
            assert r.status_code in (400, 422), (body, r.text)
            assert r.json()["ok"] is False and r.json()["error"] == "invalid_input", r.text
        r = await client.post("/api/v1/reports", json={"kind": "air-year", "period": "2026"})
        assert r.status_code == 403  # a session needs its CSRF token
        assert (await client.get("/api/v1/reports/air-daily-2026-01-01-v1.pdf")).status_code == 404
        assert (await client.get("/api/v1/reports/..%2Fetc.pdf")).status_code in (404, 422)
        assert (await client.get("/api/v1/reports", params={"kind": "x"})).status_code == 422


async def test_page_form_for_generators_titles_in_the_page_language(
    app: Any, users: dict[str, Any], stored: dict[str, str]
) -> None:
    html = {"Accept": "text/html"}
    async with _as(app, users, "analyst") as client:
        page = await client.get("/reports", headers=html)
        assert 'id="report-form"' in page.text and "/static/js/reports.js" in page.text
        assert 'value="sources-month"' in page.text and "按需生成报告" in page.text
        assert 'id="reports-text"' in page.text and '"not_closed"' in page.text
        en = await client.get("/reports", params={"lang": "en"}, headers=html)
        assert "Monthly ambient air quality report" in en.text
        assert "Generate a report" in en.text and "published in Chinese" in en.text
        table = en.text[en.text.index('id="reports-table"') :]
        assert "环境空气质量月报" not in table  # the list follows the language, not the PDF
        marked = await client.get("/reports", params={"new": stored["air-month"]}, headers=html)
        assert f'data-id="{stored["air-month"]}" class="new"' in marked.text
        bad = await client.get("/reports", params={"new": "<script>"}, headers=html)
        assert bad.status_code in (400, 422)
    for role in ("inspector", "public", "county"):
        async with _as(app, users, role) as client:
            page = await client.get("/reports", headers=html)
            assert page.status_code == 200 and 'id="report-form"' not in page.text
            assert "reports.js" not in page.text


def test_kind_titles_and_default_periods() -> None:
    from bishui.reports.content import KINDS
    from bishui.web.reports_page import default_period, kind_title

    assert all(v["title_en"] and v["title"] for v in KINDS.values())
    assert kind_title("air-daily", "en") == "Daily ambient air quality report"
    assert kind_title("air-daily", "zh") == "环境空气质量日报"
    assert kind_title("unknown", "en") == "unknown"
    day = dt.date(2026, 3, 1)
    assert default_period("day", day) == "2026-02-28"
    assert default_period("month", day) == "2026-03"
    assert default_period("year", day) == "2026"
