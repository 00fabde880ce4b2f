"""The core API (issue 2 item 7) through an in-process ASGI client, on both backends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from web_support import login

from bishui.timeutil import now_beijing


async def test_health(client: httpx.AsyncClient, city_store: Any) -> None:
    r = await client.get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True
    assert body["store"] == city_store.dialect
    assert body["time"].endswith("+08:00")
    assert "://" not in r.text  # the store URL (and any password in it) is never shown


async def test_regions_are_the_model_city(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/regions")
    codes = {x["code"] for x in r.json()["items"]}
    assert {"420800", "420802", "420804", "420822", "420881", "420882"} <= codes
    assert r.headers["cache-control"].startswith("public")


async def test_sites_filter_and_page(client: httpx.AsyncClient, users: dict[str, Any]) -> None:
    await login(client, users["analyst"]["username"])
    r = await client.get("/api/v1/sites", params={"kind": "air"})
    body = r.json()
    assert body["total"] == 10 and {s["kind"] for s in body["items"]} == {"air"}
    page1 = (await client.get("/api/v1/sites", params={"limit": 40})).json()
    page2 = (await client.get("/api/v1/sites", params={"limit": 40, "offset": 40})).json()
    assert page1["total"] == page2["total"] == 110
    assert len(page1["items"]) == 40
    assert not {s["id"] for s in page1["items"]} & {s["id"] for s in page2["items"]}
    r = await client.get("/api/v1/sites", params={"region": "420822", "limit": 500})
    assert r.json()["items"] and {s["region"] for s in r.json()["items"]} == {"420822"}
    # a city code takes the regions under it
    r = await client.get("/api/v1/sites", params={"region": "420800", "kind": "air"})
    assert r.json()["total"] == 10
    assert r.headers["cache-control"] == "private, no-store"


async def test_site_detail_devices_without_password(
    client: httpx.AsyncClient, users: dict[str, Any], city_store: Any
) -> None:
    await login(client, users["admin"]["username"])
    r = await client.get("/api/v1/sites/AQ01")
    body = r.json()
    assert body["site"]["name"] == "竹园小学"
    assert body["devices"] and body["devices"][0]["parameters"]
    pw = city_store.query("SELECT pw FROM devices WHERE site_id = 'AQ01'")[0]["pw"]
    assert "pw" not in r.text and f'"{pw}"' not in r.text
    params = {x["parameter"] for x in body["latest"]}
    assert {"a34004", "a34002"} <= params
    assert all(x["ts"].endswith("+08:00") for x in body["latest"])


async def test_public_sees_no_devices(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/sites/AQ01")).json()
    assert body["devices"] is None and body["latest"]


async def test_measurements_series_with_flags(client: httpx.AsyncClient) -> None:
    end = now_beijing().replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    start = end - dt.timedelta(hours=7)
    r = await client.get(
        "/api/v1/measurements",
        params={
            "site": "AQ01",
            "parameter": "a34004",
            "period": "hour",
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
    )
    body = r.json()
    assert r.status_code == 200, body
    assert body["count"] == len(body["ts"]) == len(body["value"]) == len(body["flag"]) >= 6
    assert body["ts"] == sorted(body["ts"])
    assert set(body["flag"]) <= {"N", "F", "M", "S", "D", "C", "T", "B", None}
    # an offset-aware time is converted to Beijing time
    utc = (start - dt.timedelta(hours=8)).replace(tzinfo=dt.UTC)
    r2 = await client.get(
        "/api/v1/measurements",
        params={"site": "AQ01", "parameter": "a34004", "start": utc.isoformat(), "end": end},
    )
    assert r2.json()["ts"] == body["ts"]


async def test_measurements_bad_input_one_shape(client: httpx.AsyncClient) -> None:
    base = {"site": "AQ01", "parameter": "a34004"}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**base, "start": "2026-01-01T00:00", "end": "2027-06-01T00:00"}, 400, "end"),
        ({**base, "start": "2026-02-01T00:00", "end": "2026-01-01T00:00"}, 400, "end"),
        ({**base, "start": "not a time"}, 422, "query.start"),
        ({**base, "period": "week"}, 422, "query.period"),
        ({"site": "AQ01", "parameter": "DROP TABLE"}, 422, "query.parameter"),
        ({"site": "x" * 500, "parameter": "a34004"}, 422, "query.site"),
        ({"parameter": "a34004"}, 422, "query.site"),
        ({**base, "site": "NOPE"}, 404, ""),
    ]
    for params, status, field in cases:
        r = await client.get("/api/v1/measurements", params=params)
        assert r.status_code == status, (params, r.text)
        body = r.json()
        assert body["ok"] is False and body["error"] and body["message"], body
        if field:
            assert body["field"] == field, body
        assert len(r.text) < 1000  # a huge input is not echoed back


async def test_public_only_published_periods(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/api/v1/measurements", params={"site": "AQ01", "parameter": "a34004", "period": "min"}
    )
    assert r.status_code == 400 and r.json()["field"] == "period"


async def test_overview_marks_every_visible_site(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/overview")).json()
    kinds = {f["kind"] for f in body["features"]}
    assert kinds == {"air", "water"}  # the public sees the published kinds only
    air = [f for f in body["features"] if f["kind"] == "air"]
    # no data only for a station whose hour is published as NA (HJ 633-2026 §5.3.1)
    rt = (await client.get("/api/v1/air/realtime?scope=station")).json()
    na = {r["code"] for r in rt["rows"] if r["aqi"] is None}
    assert len(na) <= 5
    assert all((f["mark"]["level"] == "nodata") == (f["id"] in na) for f in air)
    assert all(f["mark"]["color"].startswith("#") for f in body["features"])
    assert set(body["legend"]) == {"air", "water", "source", "grid", "nodata"}


async def test_geo_counties_with_source(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/geo/counties")).json()
    assert body["source"] and "anzhou99/GeoJsons" in body["source"]
    names = {f["properties"]["name"] for f in body["geojson"]["features"]}
    assert {"东宝区", "掇刀区", "沙洋县", "钟祥市", "京山市"} <= names


async def test_openapi_documents_every_route_with_examples(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    paths = spec["paths"]
    for p in ("/api/v1/health", "/api/v1/sites", "/api/v1/sites/{site_id}", "/api/v1/measurements"):
        assert p in paths
    schemas = spec["components"]["schemas"]
    for name in ("Health", "SitePage", "SiteDetail", "Series", "ErrorBody", "Overview"):
        assert schemas[name].get("examples"), name
    assert all(p.startswith("/api/v1/") for p in paths)  # pages are not in the API spec


async def test_docs_page_uses_vendored_assets(client: httpx.AsyncClient) -> None:
    r = await client.get("/docs")
    assert r.status_code == 200
    assert "cdn" not in r.text.lower() and "/static/vendor/swagger-ui-5.35.0/" in r.text
    js = await client.get("/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js")
    assert js.status_code == 200
