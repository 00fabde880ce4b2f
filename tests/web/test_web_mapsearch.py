"""The map's search (issue 16 item 7): by enterprise name, credit code, site name or code,
within the caller's scope; bad input refused."""

from __future__ import annotations

from typing import Any

import httpx
from web_support import client_for, login

from bishui.store import Store


async def _search(client: httpx.AsyncClient, q: str) -> httpx.Response:
    accept = {"Accept": "application/json"}
    return await client.get("/api/v1/search", params={"q": q}, headers=accept)


async def test_search_finds_by_name_code_and_enterprise(
    app: Any, city_store: Store, users: dict[str, dict[str, Any]]
) -> None:
    ent = city_store.query(
        "SELECT e.uscc, e.name, s.id FROM enterprises e JOIN sites s ON s.enterprise = e.uscc "
        "ORDER BY s.id LIMIT 1"
    )[0]
    air = city_store.query("SELECT id, name FROM sites WHERE kind = 'air' ORDER BY id LIMIT 1")[0]
    async with client_for(app) as client:
        # the public: published air and water sites, no enterprise outlet
        r = await _search(client, air["name"])
        assert r.status_code == 200
        assert air["id"] in [h["id"] for h in r.json()["items"]]
        assert (await _search(client, ent["uscc"])).json()["items"] == []
        assert (await _search(client, ent["name"][2:6])).json()["items"] == []
        # bad input
        for bad in ("", "x" * 61):
            assert (await _search(client, bad)).status_code == 422
        assert (await _search(client, "   ")).json()["items"] == []
        r = await client.get("/api/v1/search", headers={"Accept": "application/json"})
        assert r.status_code == 422
        # LIKE wildcards are plain characters
        assert (await _search(client, "%")).json()["items"] == []
        assert (await _search(client, "_")).json()["items"] == []
        await login(client, users["analyst"]["username"])
        by_code = (await _search(client, ent["uscc"].lower())).json()["items"]
        assert by_code and {h["uscc"] for h in by_code} == {ent["uscc"]}
        assert by_code[0]["enterprise"] == ent["name"] and by_code[0]["lon"] is not None
        by_name = (await _search(client, ent["name"][2:6])).json()["items"]
        assert ent["id"] in [h["id"] for h in by_name]
        by_site = (await _search(client, ent["id"])).json()["items"]
        assert by_site[0]["id"] == ent["id"]  # the exact code first
        assert by_site[0]["region_name"]
        many = (await _search(client, "荆门")).json()["items"]
        assert 0 < len(many) <= 20
