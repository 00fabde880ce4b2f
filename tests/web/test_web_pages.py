"""Server-rendered pages: charset, languages, caching, no CDN, vendored assets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from web_support import login

from bishui.web import i18n

WEB = Path(__file__).resolve().parents[2] / "src" / "bishui" / "web"
HTML = {"Accept": "text/html"}


async def test_pages_are_utf8_chinese_by_default(client: httpx.AsyncClient) -> None:
    for path in ("/", "/public", "/login"):
        r = await client.get(path, headers=HTML)
        assert r.status_code == 200, path
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert '<meta charset="utf-8">' in r.text and 'lang="zh-CN"' in r.text
        assert "演示数据" in r.text  # every page says the data is synthetic


async def test_english_switch(client: httpx.AsyncClient) -> None:
    r = await client.get("/lang/en", params={"next": "/public"})
    assert r.status_code == 303 and r.headers["location"] == "/public"
    r = await client.get("/public", headers=HTML)
    assert 'lang="en"' in r.text and "Public data" in r.text and "Demo data" in r.text
    over = (await client.get("/api/v1/overview", params={"lang": "en"})).json()
    labels = {f["mark"]["label"] for f in over["features"]}
    assert labels & {"Good", "Excellent", "Lightly polluted", "Moderately polluted"}
    r = await client.get("/lang/zh", params={"next": "https://evil.example/"})
    assert r.headers["location"] == "/"


def test_every_message_has_both_languages() -> None:
    for key, pair in i18n.MESSAGES.items():
        assert len(pair) == 2 and all(pair), key
    used = set()
    for tpl in (WEB / "templates").glob("*.html"):
        used |= set(re.findall(r"t\('([a-z_.]+)'\)", tpl.read_text(encoding="utf-8")))
    assert used <= set(i18n.MESSAGES), used - set(i18n.MESSAGES)


async def test_public_page_lists_published_data_and_is_cacheable(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/public", headers=HTML)
    assert 'id="public-air"' in r.text and 'id="public-water"' in r.text
    assert "竹园小学" in r.text
    assert r.headers["cache-control"].startswith("public, max-age=")
    assert "DA0" not in r.text and "DW0" not in r.text  # no outlets on the public page


async def test_anonymous_public_page_carries_nothing_personal(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get("/public", headers=HTML)
    second = await client.get("/public", headers=HTML)
    assert "set-cookie" not in first.headers and "csrf-token" not in first.text
    assert first.text == second.text  # one rendering per snapshot, shared


async def test_logged_in_pages_are_not_cached(
    client: httpx.AsyncClient, users: dict[str, Any]
) -> None:
    await login(client, users["analyst"]["username"])
    r = await client.get("/public", headers=HTML)
    assert r.headers["cache-control"] == "private, no-store"
    assert users["analyst"]["username"] in r.text


async def test_security_headers(client: httpx.AsyncClient) -> None:
    r = await client.get("/", headers=HTML)
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_no_inline_scripts_and_no_cdn() -> None:
    for tpl in (WEB / "templates").glob("*.html"):
        text = tpl.read_text(encoding="utf-8")
        for m in re.finditer(r"<script([^>]*)>(.*?)</script>", text, re.S):
            attrs, body = m.groups()
            assert "src=" in attrs or 'type="application/json"' in attrs, tpl.name
            assert "src=" not in attrs or body.strip() == "", tpl.name
        assert not re.search(r"(src|href)=\"(https?:)?//", text), tpl.name
    for js in (WEB / "static" / "js").glob("*.js"):
        assert "http://" not in js.read_text() and "https://" not in js.read_text()


async def test_vendored_echarts_with_licence(client: httpx.AsyncClient) -> None:
    vendor = WEB / "static" / "vendor"
    assert (vendor / "echarts-6.1.0.min.js").stat().st_size > 500_000
    assert "Apache License" in (vendor / "echarts-6.1.0.LICENSE").read_text()
    r = await client.get("/static/vendor/echarts-6.1.0.min.js")
    assert r.status_code == 200 and "max-age" in r.headers["cache-control"]
    page = await client.get("/", headers=HTML)
    assert "/static/vendor/echarts-6.1.0.min.js" in page.text


async def test_map_states_its_source(client: httpx.AsyncClient) -> None:
    r = await client.get("/", headers=HTML)
    assert 'id="map-source"' in r.text and "anzhou99/GeoJsons" in r.text


async def test_public_tables_export_to_excel_and_csv(client: httpx.AsyncClient) -> None:
    import io

    from openpyxl import load_workbook

    r = await client.get("/public/air.xlsx")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    # title, place and period, units, source, the synthetic-data notice; then the table
    assert rows[0][0] == "空气质量（最新小时）" and str(rows[1][0]).startswith("地点：")
    assert "；时段：" in str(rows[1][0]) and str(rows[1][0]) != "地点：；时段："
    assert "μg/m³" in str(rows[2][0]) and "模拟数据" in str(rows[4][0])
    assert rows[5][:4] == ("编号", "点位", "区县", "AQI") and len(rows) == 16
    assert {row[0] for row in rows[6:]} == {f"AQ{i:02d}" for i in range(1, 11)}
    r = await client.get("/public/water.csv", params={"lang": "en"})
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeffSurface water (latest)\r\nPlace: ")
    assert "; Period: " in text.splitlines()[1]
    assert "Units: mg/L" in text and "synthetic" in text
    assert "\r\nID,Section,Region,Category,Target" in text
    assert len(text.strip().splitlines()) == 21
    assert (await client.get("/public/outlets.csv")).status_code in (404, 422)


def test_export_cells_never_run_as_formulas() -> None:
    from bishui.web.export import to_csv

    out = to_csv(["a"], [['=HYPERLINK("x")'], ["-1.5"], ["@sum"]]).decode()
    assert "'=HYPERLINK" in out and "\r\n-1.5\r\n" in out and "'@sum" in out
