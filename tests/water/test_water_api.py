"""The water API: published figures for everyone, drinking-water sources for staff and counties.

The permission matrix of the water routes (what each role gets) is also exercised here, role
by role, against the real responses (tests/web/test_web_permissions.py lists the declarations).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from water_support import drop_store, load_model_city, make_store

from bishui.store import Store
from bishui.web import Settings, accounts, create_app

BACKENDS = ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
PASSWORD = "correct horse battery"
COUNTY = "420882"  # 京山市: its drinking-water source is WS14

#: route → roles allowed (every other role: 401 for the public, 403 for the rest)
MATRIX: dict[str, set[str]] = {
    "/api/v1/water/sections?period=2026-10": {
        "public", "enterprise", "county", "inspector", "analyst", "admin"},
    "/api/v1/water/rivers?period=2026-10": {
        "public", "enterprise", "county", "inspector", "analyst", "admin"},
    "/api/v1/water/cwqi?period=2026-10": {
        "public", "enterprise", "county", "inspector", "analyst", "admin"},
    "/api/v1/water/sources?now=2026-10-31T00:00:00": {"county", "inspector", "analyst", "admin"},
}  # fmt: skip


@pytest.fixture(scope="module", params=BACKENDS)
def api_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, dict[str, str]]]:
    store, _, _ = make_store(str(request.param), tmp_path_factory.mktemp("water_api"))
    try:
        load_model_city(store, dt.datetime(2026, 10, 1), dt.datetime(2026, 11, 1))
        ent = store.query("SELECT uscc FROM enterprises ORDER BY uscc LIMIT 1")[0]["uscc"]
        tokens = {}
        for role in ("admin", "analyst", "inspector", "county", "enterprise"):
            kw: dict[str, Any] = {}
            if role == "county":
                kw["region"] = COUNTY
            if role == "enterprise":
                kw["enterprise"] = ent
            accounts.add_user(store, f"w.{role}", PASSWORD, role, **kw)
            tokens[role] = accounts.new_token(store, f"w.{role}", "test")[1]
        yield store, tokens
    finally:
        drop_store(store)


@pytest.fixture
async def client(api_store: tuple[Store, dict[str, str]]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(api_store[0], Settings(secret=""))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def _auth(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {} if role == "public" else {"Authorization": f"Bearer {tokens[role]}"}


@pytest.mark.parametrize("route", list(MATRIX))
async def test_permission_matrix(
    client: httpx.AsyncClient, api_store: tuple[Store, dict[str, str]], route: str
) -> None:
    tokens = api_store[1]
    for role in ("public", "enterprise", "county", "inspector", "analyst", "admin"):
        r = await client.get(route, headers=_auth(tokens, role))
        if role in MATRIX[route]:
            assert r.status_code == 200, (role, r.text)
        else:
            assert r.status_code == (401 if role == "public" else 403), (role, r.status_code)


async def test_sections_are_published(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/water/sections", params={"period": "2026-10"})
    body = r.json()
    assert r.headers["cache-control"].startswith("public")
    assert body["total"] == 15 and body["edition"] == "GB 3838-2002"
    ws05 = next(s for s in body["items"] if s["section"] == "WS05")
    assert ws05["class"] in range(1, 7) and ws05["attainment"] in ("达标", "不达标")
    r = await client.get("/api/v1/water/sections", params={"period": "2026-10", "region": COUNTY})
    assert {s["region"] for s in r.json()["items"]} == {COUNTY}


async def test_insufficient_data_is_not_a_class(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/water/sections", params={"period": "2026-06"})).json()
    assert {(s["class"], s["label"]) for s in body["items"]} == {(0, "insufficient data")}


async def test_rivers_and_cwqi(client: httpx.AsyncClient) -> None:
    rivers = (await client.get("/api/v1/water/rivers", params={"period": "2026-Q4"})).json()
    assert {"竹皮河", "汉江", "长湖"} <= {r["river"] for r in rivers["items"]}
    body = (await client.get("/api/v1/water/cwqi", params={"period": "2026-10"})).json()
    assert body["city"]["name"] == "荆门市" and body["city"]["cwqi"] > 0
    assert [c["cwqi_rank"] for c in body["counties"]] == sorted(
        c["cwqi_rank"] for c in body["counties"]
    )
    assert body["sections"][0]["cwqi_rank"] == 1


@pytest.mark.parametrize("period", ["2026-13", "2026-Q0", "x", "2026-07-32"])
async def test_bad_period_is_a_clear_400_or_422(client: httpx.AsyncClient, period: str) -> None:
    r = await client.get("/api/v1/water/sections", params={"period": period})
    assert r.status_code in (400, 422) and r.json()["ok"] is False
    assert r.json()["field"] in ("period", "query.period")


async def test_sources_for_a_county_are_its_own(
    client: httpx.AsyncClient, api_store: tuple[Store, dict[str, str]]
) -> None:
    tokens = api_store[1]
    params = {"now": "2026-10-31T00:00:00", "days": "7"}
    r = await client.get("/api/v1/water/sources", params=params, headers=_auth(tokens, "county"))
    body = r.json()
    assert r.headers["cache-control"] == "private, no-store"
    assert [s["source"] for s in body["status"]] == ["WS14"]
    assert any(a["kind"] == "exceedance" and a["parameter"] == "w21003" for a in body["alerts"])
    r = await client.get("/api/v1/water/sources", params=params, headers=_auth(tokens, "analyst"))
    assert {s["source"] for s in r.json()["status"]} == {"WS06", "WS13", "WS14"}
    paged = await client.get(
        "/api/v1/water/sources", params={**params, "limit": "2", "offset": "1"},
        headers=_auth(tokens, "analyst"),
    )  # fmt: skip
    assert len(paged.json()["alerts"]) == 2 and paged.json()["total"] == r.json()["total"] > 3
    assert paged.json()["alerts"][0] == r.json()["alerts"][1]
    r = await client.get(
        "/api/v1/water/sources", params={"days": "400"}, headers=_auth(tokens, "analyst")
    )
    assert r.status_code in (400, 422)
