"""The inspector's day through the API (issue 16 item 9): the enterprise's particulars on the
task, the location check-in (bad input refused, the distance from the registered location
recorded by the server), the approval of a penalty by a chief, and the two printable records
filled from the task."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sources_store import GAS_A, GAS_B, USCC_A, gas_day, make_permit, registry

from bishui.enforcement import inspection
from bishui.enforcement import service as enf
from bishui.sources import permit_store, service
from bishui.store import Store
from bishui.web import Settings, accounts, create_app

PASSWORD = "correct horse battery"
WHO = ("admin", "analyst", "inspector", "chief", "county", "enterprise")
D0 = dt.date(2026, 6, 29)
HOME = (30.9650, 112.2050)
ADDRESS = "荆门市东宝区示例路1号（模拟地址）"  # (lat, lon) registered for enterprise A in this test


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, dict[str, str], str]]:
    from importlib import util
    from pathlib import Path

    spec = util.spec_from_file_location(
        "root_conftest_inspection", Path(__file__).resolve().parents[1] / "conftest.py"
    )
    assert spec and spec.loader
    rc = util.module_from_spec(spec)
    spec.loader.exec_module(rc)
    store, _, _ = rc.make_store(str(request.param), tmp_path_factory.mktemp("inspect"))
    try:
        registry(store)
        store.upsert("enterprises", [
            {"uscc": USCC_A, "name": "示例热电有限公司（模拟）", "region": "420802",
             "key_unit": True, "industry": "火力发电", "address": ADDRESS,
             "lat": HOME[0], "lon": HOME[1], "legal_rep": "王某（模拟）",
             "contact": "李某（环保专员，模拟）", "phone": "0724-00000001（模拟）"},
        ])  # fmt: skip
        permit_store.record_permits(store, [make_permit()])
        so2 = [120.0] * 24
        so2[10:13] = [260.0, 300.0, 250.0]
        gas_day(store, GAS_A, D0, so2)
        gas_day(store, GAS_B, D0, 80.0)
        r = service.run_checks(store, dt.datetime(2026, 6, 29), dt.datetime(2026, 6, 30))
        task = next(t for t in r.tasks if enf.get_task(store, t)[0].uscc == USCC_A)
        tokens: dict[str, str] = {}
        for role in WHO:
            kw: dict[str, Any] = {}
            if role == "county":
                kw["region"] = "420802"
            if role == "enterprise":
                kw["enterprise"] = USCC_A
            accounts.add_user(store, f"i.{role}", PASSWORD, role, display_name=f"{role}某",
                              **kw)  # fmt: skip
            tokens[role] = accounts.new_token(store, f"i.{role}", "test")[1]
        yield store, tokens, task
    finally:
        rc.drop_store(store)


@pytest.fixture
async def client(world: tuple[Store, dict[str, str], str]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(world[0], Settings(secret=""))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=30
    ) as c:
        yield c


def _h(tokens: dict[str, str], who: str) -> dict[str, str]:
    h = {"Accept": "application/json"}
    if who in tokens:
        h["Authorization"] = f"Bearer {tokens[who]}"
    return h


async def test_the_inspectors_day(
    client: httpx.AsyncClient, world: tuple[Store, dict[str, str], str]
) -> None:
    store, tokens, task = world

    async def act(who: str, action: str, body: Any = None) -> httpx.Response:
        return await client.post(f"/api/v1/tasks/{task}/{action}", json=body or {},
                                 headers=_h(tokens, who))  # fmt: skip

    # the enterprise's particulars, on the task
    r = await client.get(f"/api/v1/tasks/{task}/party", headers=_h(tokens, "inspector"))
    assert r.status_code == 200
    party = r.json()["party"]
    assert (
        party["address"].startswith("荆门市东宝区示例路1号")
        and party["legal_rep"] == "王某（模拟）"
    )
    assert party["contact"].startswith("李某") and party["phone"].startswith("0724-")
    assert party["region"] == "东宝区" and r.json()["synthetic"] is True
    assert r.json()["checkins"] == []
    r = await client.get(f"/api/v1/tasks/{task}/party", headers=_h(tokens, "public"))
    assert r.status_code == 401

    # check-in: bad input refused before the machine, nothing recorded
    n = len(enf.audit_events(store, f"task:{task}"))
    for bad in ({"lat": 91, "lon": 112.2}, {"lat": 30.9, "lon": -180.5}, {"lat": 30.9},
                {"lat": "north", "lon": 112.2}, {"lat": 30.9, "lon": 112.2, "accuracy": -5},
                {"lat": 30.9, "lon": 112.2, "distance_m": 0},
                {"lat": 30.9, "lon": 112.2, "fixed_at": "yesterday"}):  # fmt: skip
        r = await act("inspector", "check_in", bad)
        assert r.status_code == 422, (bad, r.text)
    assert (await act("enterprise", "check_in", {"lat": 30.9, "lon": 112.2})).status_code == 403
    assert (await act("chief", "check_in", {"lat": 30.9, "lon": 112.2})).status_code == 403
    assert len(enf.audit_events(store, f"task:{task}")) == n
    # ~111 m north of the registered location
    here = {"lat": HOME[0] + 0.001, "lon": HOME[1], "accuracy": 12.5,
            "fixed_at": "2026-06-30T09:15:00+08:00"}  # fmt: skip
    r = await act("inspector", "check_in", here)
    assert r.status_code == 200, r.text
    c = r.json()["task"]["checkins"][0]
    assert c["distance_m"] == round(inspection.distance_m(here["lat"], HOME[1], *HOME)) == 111
    assert c["accuracy"] == 12.5 and c["by"] == "i.inspector"
    ev = enf.audit_events(store, f"task:{task}")[-1]
    assert ev.action == "check_in" and ev.payload["lat"] == here["lat"]
    assert ev.payload["distance_m"] == 111

    # work the task to a penalty; it waits for the chief
    assert (
        await act("inspector", "visit", {"note": "现场检查：脱硫塔运行异常"})
    ).status_code == 200
    jpeg = {**_h(tokens, "inspector"), "Content-Type": "image/jpeg"}
    up = await client.post(f"/api/v1/tasks/{task}/files", params={"name": "dcs.jpg"},
                           content=b"\xff\xd8\xff\xe0" + b"x" * 64, headers=jpeg)  # fmt: skip
    assert up.status_code == 201, up.text
    fid = up.json()["file"]["id"]
    assert (await act("inspector", "add_evidence", {"files": [fid]})).status_code == 200
    penalty = {"kind": "penalty", "article": "排污许可管理条例 第三十四条", "amount": "200000"}
    r = await act("inspector", "dispose", penalty)
    assert r.json()["task"]["state"] == "awaiting_approval"
    for who, code in (("inspector", 403), ("admin", 409), ("enterprise", 403), ("analyst", 403)):
        assert (await act(who, "approve")).status_code == code, who
    r = await act("chief", "reject", {"reason": "请补充询问笔录"})
    assert r.status_code == 200 and r.json()["task"]["state"] == "in_progress"
    assert (await act("inspector", "dispose", penalty)).status_code == 200
    r = await act("chief", "approve", {"note": "同意"})
    assert r.status_code == 200 and r.json()["task"]["state"] == "disposed"

    # the records, filled from the task
    for kind, title in (("inspection", "现场检查（勘察）笔录"), ("inquiry", "调查询问笔录")):
        url = f"/api/v1/tasks/{task}/records/{kind}"
        r = await client.get(url, headers=_h(tokens, "inspector"))
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        page = r.text
        for text in (title, task, "示例热电有限公司", USCC_A, "荆门市东宝区示例路1号",
                     "王某（模拟）", "李某", "0724-00000001", "inspector某", "模拟数据",
                     "二氧化硫"):  # fmt: skip
            assert text in page, (kind, text)
        if kind == "inspection":
            assert "dcs.jpg" in page and "脱硫塔运行异常" in page and "距登记位置 111 米" in page
            assert "第三十四条" in page and "已经审批" in page
        else:
            assert "问：" in page and "对此你有何说明" in page
        for who, code in (("enterprise", 403), ("county", 403), ("public", 401), ("chief", 200)):
            assert (await client.get(url, headers=_h(tokens, who))).status_code == code, who
    r = await client.get(f"/api/v1/tasks/{task}/records/decision", headers=_h(tokens, "admin"))
    assert r.status_code == 422
    r = await client.get(
        "/api/v1/tasks/T20990101-0001/records/inquiry", headers=_h(tokens, "admin")
    )
    assert r.status_code == 404
    # closed: the enterprise sees the approved decision, never the disposal sent back
    assert (await act("inspector", "close")).status_code == 200
    # closed once the chief approves the closure (结案审批, the model city's policy; intended)
    assert (await act("chief", "approve")).status_code == 200
    seen = {}
    for who in ("enterprise", "inspector"):
        r = await client.get(f"/api/v1/tasks/{task}", headers=_h(tokens, who))
        seen[who] = [e for e in r.json()["events"] if e["action"] == "dispose"]
    assert len(seen["inspector"]) == 2 and len(seen["enterprise"]) == 1
    assert seen["enterprise"][0]["seq"] == seen["inspector"][1]["seq"]
    assert enf.replay_task(store, task).as_dict() == enf.get_task(store, task)[0].as_dict()


def test_distance_is_the_great_circle() -> None:
    assert inspection.distance_m(0, 0, 0, 0) == 0
    # a quarter of a meridian: pi/2 * R
    assert round(inspection.distance_m(0, 0, 90, 0)) == 10007557
    assert round(inspection.distance_m(0, 179.9, 0, -179.9)) == 22239  # across the date line
