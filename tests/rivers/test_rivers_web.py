"""The river-chief API and page through the in-process client: scoping by role (a township
chief his section, a volunteer his area, a county official its region and its joint-control
groups), a patrol from a phone, refusals in the one error shape, the page escaped."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from bishui.export_header import SYNTHETIC_NOTICE
from bishui.store import Store
from bishui.timeutil import now_beijing
from bishui.web import Settings, accounts, create_app

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def tokens(rstore: tuple[Store, dict[str, Any]]) -> Iterator[dict[str, str]]:
    from argon2 import PasswordHasher

    store, _ = rstore
    old = accounts._hasher
    accounts.use_hasher(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    out = {}
    try:
        for name, role, region in (
            ("hg.chief", "river_chief", None),
            ("zh.volunteer", "volunteer", None),
            ("zx.county", "county", "420881"),
            ("root", "admin", None),
        ):
            accounts.add_user(store, name, PASSWORD, role, region=region)
            out[name] = accounts.new_token(store, name, "test")[1]
        yield out
    finally:
        accounts.use_hasher(old)


@pytest.fixture(scope="module")
def app(rstore: tuple[Store, dict[str, Any]]) -> Any:
    return create_app(rstore[0], Settings(secret=""))  # once per backend: building it costs


def _client(app: Any, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                             headers=headers, timeout=30)  # fmt: skip


async def test_scoping_and_a_patrol_through_the_api(app: Any, tokens: dict[str, str]) -> None:
    async with _client(app, tokens["hg.chief"]) as c:
        secs = (await c.get("/api/v1/rivers/sections")).json()["items"]
        assert [s["id"] for s in secs] == ["CH-420822-HG"]
        r = await c.post("/api/v1/rivers/patrols", json={"section": "HJ-420881"})
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        p = (await c.post("/api/v1/rivers/patrols", json={"section": "CH-420822-HG"})).json()
        t0 = now_beijing().replace(microsecond=0) - dt.timedelta(minutes=40)
        step = dt.timedelta(minutes=2)
        pts = [
            {"lat": 30.5 + 0.001 * i, "lon": 112.47, "t": (t0 + step * i).isoformat()}
            for i in range(20)
        ]
        r = await c.post(f"/api/v1/rivers/patrols/{p['id']}/points", json={"points": pts})
        assert r.status_code == 200 and r.json()["distance_m"] > 2000
        far = {"points": [{"lat": 99, "lon": 0, "t": t0.isoformat()}]}
        bad = await c.post(f"/api/v1/rivers/patrols/{p['id']}/points", json=far)
        assert bad.status_code == 400 and bad.json()["field"] == "points[0].lat"
        jpg = b"\xff\xd8\xff\xe0" + b"\x01" * 64
        r = await c.post(f"/api/v1/rivers/patrols/{p['id']}/photos",
                         files={"file": ("bank.jpg", jpg, "image/jpeg")})  # fmt: skip
        assert r.status_code == 200, r.text
        photo = r.json()["id"]
        exe = await c.post(f"/api/v1/rivers/patrols/{p['id']}/photos",
                           files={"file": ("bank.jpg", b"MZ\x90\x00", "image/jpeg")})  # fmt: skip
        assert exe.status_code == 400
        r = await c.post(f"/api/v1/rivers/patrols/{p['id']}/problems",
                         json={"category": "shoreline", "photos": [photo],
                               "description": "<script>alert(1)</script>岸线违建"})  # fmt: skip
        assert r.status_code == 200 and r.json()["state"] == "routed" and r.json()["task_id"]
        r = await c.post(f"/api/v1/rivers/patrols/{p['id']}/submit", json={"note": "ok"})
        assert r.json()["valid"] is True
        got = await c.get(f"/api/v1/rivers/patrols/{p['id']}/photos/{photo}")
        assert got.content == jpg and got.headers["content-type"] == "image/jpeg"
        page = await c.get("/rivers", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "长湖后港镇片" in page.text
        assert "<script>alert(1)" not in page.text and "巡河覆盖 1/1" in page.text
        assert "长湖联防联控" in page.text and "汉江联防联控" not in page.text
    async with _client(app, tokens["zh.volunteer"]) as c:
        items = (await c.get("/api/v1/rivers/problems")).json()["items"]
        assert {q["section_id"] for q in items} == {"ZHR-420800-ZH"}
        r = await c.get(f"/api/v1/rivers/patrols/{p['id']}")
        assert r.status_code == 404
        r = await c.post(f"/api/v1/rivers/patrols/{p['id']}/void", json={"reason": "x"})
        assert r.status_code == 404  # not his patrol
        page = await c.get("/rivers", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "漳河水库东宝区片" in page.text
        assert "长湖后港镇片" not in page.text
    async with _client(app, tokens["zx.county"]) as c:
        assert {g["id"] for g in (await c.get("/api/v1/rivers/joint")).json()["items"]} == {
            "hanjiang"
        }
        view = (await c.get("/api/v1/rivers/joint/hanjiang")).json()
        assert {m["region"] for m in view["member_data"]} == {"420881", "420822"}
        assert (await c.get("/api/v1/rivers/joint/changhu")).status_code == 404
        assert (await c.get("/api/v1/rivers/problems")).json()["items"] == []
    async with _client(app, tokens["root"]) as c:
        page = await c.get("/rivers?chief=C-HJ-420822", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "沙洋县县级河长（模拟）" in page.text
        assert "汉江联防联控" in page.text and "长湖后港镇片" in page.text  # the one below him
        r = await c.post(f"/api/v1/rivers/patrols/{p['id']}/void", json={"reason": "测试作废"})
        assert r.json()["state"] == "void"
        body = {"chief": "no-such", "section": "HJ-420881", "start": "2026-01-01"}
        r = await c.post("/api/v1/rivers/assignments", json=body)
        assert r.status_code == 400 and r.json()["field"] == "chief"


def _table(body: bytes) -> tuple[list[list[str]], list[str], list[list[str]]]:
    """(preamble, header, rows) of an exported CSV."""
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text[1:])))
    at = next(i for i, r in enumerate(lines) if r and r[0] == "编号")
    return lines[:at], lines[at], lines[at + 1 :]


async def test_exports_are_scoped_like_the_lists(app: Any, tokens: dict[str, str]) -> None:
    """The problem and patrol exports (issue 20 item 6): scoped like the lists (a township
    chief's file holds only his sections, a county's only its region), Chinese headers, the
    synthetic-data notice; ``/patrols/export.csv`` is not taken for a patrol id."""
    user = {"river_chief": "hg.chief", "county": "zx.county", "admin": "root"}
    got: dict[tuple[str, str], set[str]] = {}
    for role in ("river_chief", "county", "admin"):
        async with _client(app, tokens[user[role]]) as c:
            names = {s["name"] for s in (await c.get("/api/v1/rivers/sections")).json()["items"]}
            for what in ("problems", "patrols"):
                listed = (await c.get(f"/api/v1/rivers/{what}")).json()["items"]
                r = await c.get(f"/api/v1/rivers/{what}/export.csv")
                assert r.status_code == 200, r.text
                assert r.headers["content-type"].startswith("text/csv")
                pre, head, rows = _table(r.content)
                assert [SYNTHETIC_NOTICE] in pre
                assert head[1] == "河段" and "状态" in head
                assert {x[1] for x in rows} <= names  # only the caller's sections
                assert sorted(x[0] for x in rows) == sorted(x["id"] for x in listed)
                got[(role, what)] = {x[0] for x in rows}
    for what in ("problems", "patrols"):
        assert got[("river_chief", what)] < got[("admin", what)]
        assert got[("county", what)] <= got[("admin", what)]
    assert got[("river_chief", "problems")]  # the demo's chief has a problem
    async with _client(app, tokens["hg.chief"]) as c:
        x = await c.get("/api/v1/rivers/patrols/export.xlsx")
        assert x.status_code == 200
        ws = load_workbook(io.BytesIO(x.content)).active
        assert ws is not None
        values = [[c.value for c in row] for row in ws.iter_rows()]
        n = len(got[("river_chief", "patrols")])
        assert values[-n - 1][:2] == ["编号", "河段"]
        page = (await c.get("/rivers", headers={"Accept": "text/html"})).text
        assert "/api/v1/rivers/problems/export.csv" in page
        assert "/api/v1/rivers/patrols/export.xlsx" in page
        bad = await c.get("/api/v1/rivers/patrols/export.pdf")
        assert bad.status_code in (400, 404, 422)
