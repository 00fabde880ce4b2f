"""The sources / enforcement API on both backends: a constructed exceedance becomes a finding,
an alert and a task that an inspector works to closure through the API (every transition; a
refused one is 409, a forbidden one 403), the audit chain verifies, and each role sees only
what it should (``bishui.web.api.sources`` module doc)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sources_store import GAS_A, GAS_B, USCC_A, USCC_B, gas_day, make_permit, registry

from bishui.enforcement import service as enf
from bishui.enforcement import tasks as tk
from bishui.sources import permit_store, permits_io, service, standards
from bishui.store import Store
from bishui.web import Settings, accounts, create_app

PASSWORD = "correct horse battery"
ROLES = ("admin", "analyst", "inspector", "county", "enterprise", "public")
ROLE_ACCOUNTS = (*ROLES[:-1], "chief")
D0 = dt.date(2026, 6, 29)


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def api_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, dict[str, str], str]]:
    from importlib import util
    from pathlib import Path

    spec = util.spec_from_file_location(
        "root_conftest_sources", Path(__file__).resolve().parents[1] / "conftest.py"
    )
    assert spec and spec.loader
    rc = util.module_from_spec(spec)
    spec.loader.exec_module(rc)
    store, _, _ = rc.make_store(str(request.param), tmp_path_factory.mktemp("srcapi"))
    try:
        registry(store)
        permit_store.record_permits(store, [make_permit()])
        so2 = [120.0] * 24
        so2[10:13] = [260.0, 300.0, 250.0]
        gas_day(store, GAS_A, D0, so2)
        gas_day(store, GAS_B, D0, 80.0)  # B has no permit: NOPERMIT
        r = service.run_checks(store, dt.datetime(2026, 6, 29), dt.datetime(2026, 6, 30))
        task_a = next(t for t in r.tasks if enf.get_task(store, t)[0].uscc == USCC_A)
        tokens: dict[str, str] = {}
        for role in ROLE_ACCOUNTS:
            kw: dict[str, Any] = {}
            if role == "county":
                kw["region"] = "420822"
            if role == "enterprise":
                kw["enterprise"] = USCC_A
            accounts.add_user(store, f"s.{role}", PASSWORD, role, **kw)
            tokens[role] = accounts.new_token(store, f"s.{role}", "test")[1]
        for name, role, kw in (("s.ent_b", "enterprise", {"enterprise": USCC_B}),
                               ("s.insp2", "inspector", {})):  # fmt: skip
            accounts.add_user(store, name, PASSWORD, role, **kw)
            tokens[name] = accounts.new_token(store, name, "test")[1]
        yield store, tokens, task_a
    finally:
        rc.drop_store(store)


@pytest.fixture
async def client(api_store: tuple[Store, dict[str, str], str]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(api_store[0], Settings(secret=""))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=30
    ) as c:
        yield c


def _h(tokens: dict[str, str], who: str) -> dict[str, str]:
    h = {"Accept": "application/json"}
    if who in tokens:
        h["Authorization"] = f"Bearer {tokens[who]}"
    return h


async def test_permission_matrix(
    client: httpx.AsyncClient, api_store: tuple[Store, dict[str, str], str]
) -> None:
    _, tokens, task = api_store
    permit_no = make_permit().permit_no
    matrix: list[tuple[str, str, Any, tuple[int, ...]]] = [
        ("GET", "/api/v1/permits", None, (200, 200, 200, 200, 200, 401)),
        ("GET", f"/api/v1/permits/{permit_no}", None, (200, 200, 200, 404, 200, 401)),
        ("POST", "/api/v1/permits", {"permits": []}, (200, 403, 403, 403, 403, 401)),
        ("GET", "/api/v1/findings", None, (200, 200, 200, 200, 200, 401)),
        ("GET", "/api/v1/caps", None, (200, 200, 200, 200, 200, 401)),
        ("GET", "/api/v1/alerts", None, (200, 200, 200, 200, 200, 401)),
        ("GET", "/api/v1/tasks", None, (200, 200, 200, 200, 200, 401)),
        ("GET", f"/api/v1/tasks/{task}", None, (200, 200, 200, 404, 200, 401)),
        # escalate before the deadline: refused by the machine (409) or by the role (403)
        ("POST", f"/api/v1/tasks/{task}/escalate", {}, (409, 403, 403, 403, 403, 401)),
    ]
    for method, path, body, expected in matrix:
        got = []
        for role in ROLES:
            r = await client.request(method, path, json=body, headers=_h(tokens, role))
            got.append(r.status_code)
        assert tuple(got) == expected, (method, path, got)
    key = service.list_findings(api_store[0], "uscc = ?", [USCC_A])[1][0]["finding_key"]
    got = [
        (await client.get(f"/api/v1/findings/{key}", headers=_h(tokens, r))).status_code
        for r in ROLES
    ]
    assert got == [200, 200, 200, 404, 200, 401]
    from bishui.web.api.sources import router

    assert {(m, r.path) for r in router.routes for m in r.methods} == {  # type: ignore[attr-defined]
        ("GET", "/permits"), ("GET", "/permits/{permit_no}"), ("POST", "/permits"),
        ("GET", "/caps"), ("POST", "/alerts/{alert_id}/dismiss"),
        ("GET", "/findings"), ("GET", "/findings/{key}"), ("GET", "/alerts"),
        ("GET", "/tasks"), ("GET", "/tasks/{task_id}"),
        *(("POST", f"/tasks/{{task_id}}/{a}") for a in tk.Action),
    }  # fmt: skip


async def test_scoping(
    client: httpx.AsyncClient, api_store: tuple[Store, dict[str, str], str]
) -> None:
    _, tokens, task = api_store

    async def items(who: str, path: str) -> list[dict[str, Any]]:
        r = await client.get(path, headers=_h(tokens, who))
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    assert {f["uscc"] for f in await items("analyst", "/api/v1/findings")} == {USCC_A, USCC_B}
    assert {f["uscc"] for f in await items("enterprise", "/api/v1/findings")} == {USCC_A}
    assert {f["uscc"] for f in await items("s.ent_b", "/api/v1/findings")} == {USCC_B}
    assert {f["region"] for f in await items("county", "/api/v1/findings")} == {"420822"}
    assert {t["uscc"] for t in await items("enterprise", "/api/v1/tasks")} == {USCC_A}
    assert await items("s.ent_b", "/api/v1/permits") == []
    assert [p["uscc"] for p in await items("enterprise", "/api/v1/permits")] == [USCC_A]
    # the year's cap usage: its own permits only (B has none; the county 沙洋 has none either)
    caps = "/api/v1/caps?on=2026-06-30"
    assert {c["uscc"] for c in await items("analyst", caps)} == {USCC_A}
    assert {c["uscc"] for c in await items("enterprise", caps)} == {USCC_A}
    assert await items("s.ent_b", caps) == []
    assert await items("county", caps) == []
    # a team task: every inspector sees it (until it is assigned to one by name)
    assert task in {t["id"] for t in await items("s.insp2", "/api/v1/tasks")}
    r = await client.post(f"/api/v1/tasks/{task}/submit_rectification",
                          json={"files": ["x.pdf"]}, headers=_h(tokens, "s.ent_b"))  # fmt: skip
    assert r.status_code == 404
    r = await client.get("/api/v1/findings", params={"rule": "NOPERMIT", "period": "2026-06"},
                         headers=_h(tokens, "analyst"))  # fmt: skip
    assert r.json()["total"] == 1 and r.json()["items"][0]["uscc"] == USCC_B


async def test_an_inspector_works_a_task_to_closure(
    client: httpx.AsyncClient, api_store: tuple[Store, dict[str, str], str]
) -> None:
    store, tokens, task = api_store

    async def act(who: str, action: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await client.post(f"/api/v1/tasks/{task}/{action}", json=body or {},
                                 headers=_h(tokens, who))  # fmt: skip

    async def upload(who: str, name: str, media_type: str, content: bytes) -> str:
        r = await client.post(f"/api/v1/tasks/{task}/files", params={"name": name},
                              content=content,
                              headers={**_h(tokens, who), "Content-Type": media_type})  # fmt: skip
        assert r.status_code == 201, r.text
        return str(r.json()["file"]["id"])

    r = await act("admin", "assign", {"assignee": "s.inspector", "kind": "inspector"})
    assert r.status_code == 200 and r.json()["task"]["state"] == "assigned"
    r = await act("inspector", "assign", {"assignee": "s.inspector"})
    assert r.status_code == 403  # only the supervisor (admin) assigns
    # now it is s.inspector's: another inspector no longer sees it
    r = await client.get(f"/api/v1/tasks/{task}", headers=_h(tokens, "s.insp2"))
    assert r.status_code == 404
    r = await act("inspector", "close")
    assert r.status_code == 409 and "close from assigned refused" in r.json()["detail"]
    r = await act("inspector", "dispose", {"kind": "rectification_order", "due": "2099-01-31"})
    assert r.status_code == 409 and "false-alarm" in r.json()["detail"]  # no visit yet
    assert (
        await act("inspector", "visit", {"note": "现场检查：脱硫塔循环泵停运"})
    ).status_code == 200
    photo = await upload("inspector", "现场照片1.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 photo")
    assert (await act("inspector", "add_evidence", {"files": [photo]})).status_code == 200
    r = await act("inspector", "dispose", {"kind": "rectification_order", "due": "2099-01-31"})
    assert r.status_code == 200 and r.json()["task"]["state"] == "disposed"
    r = await act("inspector", "close")
    assert r.status_code == 409 and "not verified" in r.json()["detail"]
    r = await act("analyst", "submit_rectification", {"files": [photo]})
    assert r.status_code == 403
    report = await upload("enterprise", "整改报告.pdf", "application/pdf", b"%PDF-1.4 report")
    r = await act("enterprise", "submit_rectification", {"files": [report]})
    assert r.status_code == 200
    assert (await act("inspector", "verify_rectification", {"accepted": True})).status_code == 200
    r = await act("inspector", "close")
    # the closure waits for a chief (结案审批, the model city's policy: the intended new step)
    assert r.status_code == 200 and r.json()["task"]["state"] == "awaiting_closure"
    assert r.json()["task"]["allowed_actions"] == ["add_evidence"]  # not approve: an inspector
    assert (await act("inspector", "approve")).status_code == 403
    r = await act("chief", "approve", {"note": "同意结案"})
    assert r.status_code == 200 and r.json()["task"]["state"] == "closed"
    assert (await act("inspector", "reopen", {"reason": "复查"})).status_code == 403
    r = await act("admin", "reopen")
    assert r.status_code == 409 and "reason" in r.json()["detail"]
    r = await act("admin", "reopen", {"reason": "群众举报仍有超标排放"})
    assert r.status_code == 200 and r.json()["task"]["state"] == "in_progress"
    r = await act(
        "inspector",
        "dispose",
        {"kind": "penalty", "article": "排污许可管理条例 第三十四条", "amount": "10"},
    )
    assert r.status_code == 409 and "amount" in r.json()["detail"]  # outside the bracket
    r = await act(
        "inspector",
        "dispose",
        {"kind": "penalty", "article": "排污许可管理条例 第三十四条", "amount": "200000"},
    )
    # a penalty waits for a chief who did not dispose (issue 16 item 9: the intended new step)
    assert r.status_code == 200 and r.json()["task"]["state"] == "awaiting_approval"
    r = await act("inspector", "close")
    assert r.status_code == 409 and "awaiting_approval" in r.json()["detail"]
    assert "待审批" in r.json()["message"]  # the user's language; the code in detail
    assert (await act("inspector", "approve")).status_code == 403
    r = await act("chief", "reject")
    assert r.status_code == 409 and "reason" in r.json()["detail"]
    assert r.json()["message"].endswith("不能退回——须填写理由")  # the guard, in Chinese
    r = await act("chief", "approve", {"note": "同意处罚"})
    assert r.status_code == 200 and r.json()["task"]["state"] == "disposed"
    assert r.json()["task"]["approval"]["by"] == "s.chief"
    assert (await act("inspector", "close")).status_code == 200
    r = await act("chief", "reject", {"reason": "罚款缴纳凭证未归档"})  # the closure sent back
    assert r.status_code == 200 and r.json()["task"]["state"] == "disposed"
    assert (await act("inspector", "close")).status_code == 200
    assert (await act("chief", "approve")).status_code == 200
    # the record: the chain verifies and the stored snapshot is what the log replays to
    assert enf.verify_audit(store) > 10
    snapshot, _ = enf.get_task(store, task)
    assert enf.replay_task(store, task).as_dict() == snapshot.as_dict()
    body = (await client.get(f"/api/v1/tasks/{task}", headers=_h(tokens, "analyst"))).json()
    actions = [e["action"] for e in body["events"]]
    assert actions == ["create", "assign", "assign", "visit", "add_evidence", "dispose",
                       "submit_rectification", "verify_rectification", "close", "approve",
                       "reopen", "dispose", "approve", "close", "reject", "close",
                       "approve"]  # fmt: skip
    assert {n["recipient"] for n in body["notifications"]} >= {f"enterprise:{USCC_A}",
                                                               "s.inspector"}  # fmt: skip
    # the alerts behind the task: those it was opened with, each pointing back to it
    assert [a["id"] for a in body["alerts"]] and {a["task_id"] for a in body["alerts"]} == {task}
    assert {a["id"] for a in body["alerts"]} == set(snapshot.alert_ids)


async def test_admin_imports_permits(
    client: httpx.AsyncClient, api_store: tuple[Store, dict[str, str], str]
) -> None:
    _, tokens, _ = api_store
    d = permits_io.permit_to_dict(make_permit())
    r = await client.post("/api/v1/permits", json={"permits": [d]}, headers=_h(tokens, "admin"))
    assert r.status_code == 200 and r.json()["unchanged"] == 1
    bad = dict(d, uscc="91130200699229617Y")
    r = await client.post("/api/v1/permits", json={"permits": [bad]}, headers=_h(tokens, "admin"))
    assert r.status_code == 400 and r.json()["field"] == "permits[0].uscc"


async def test_dismissing_an_alert(
    client: httpx.AsyncClient, api_store: tuple[Store, dict[str, str], str]
) -> None:
    store, tokens, _ = api_store
    # The fixture's alerts are all tasked: add a new one (a copy under another id).
    cols = (
        "rule_id, severity, site_code, outlet_id, pollutant, start_ts, end_ts, uscc, "
        "region, created, finding"
    )
    store.execute(
        f"INSERT INTO enforcement_alert (id, state, {cols}) SELECT ?, 'new', {cols} "
        "FROM enforcement_alert WHERE id = (SELECT MIN(id) FROM enforcement_alert)",
        ["e" * 20],
    )
    url = "/api/v1/alerts/" + "e" * 20 + "/dismiss"
    body = {"reason": "校准时段的已知偏差"}
    for who, code in (("analyst", 403), ("enterprise", 403), ("county", 403)):
        r = await client.post(url, json=body, headers=_h(tokens, who))
        assert r.status_code == code, (who, r.text)
    r = await client.post(url, json={"reason": ""}, headers=_h(tokens, "inspector"))
    assert r.status_code == 422
    r = await client.post(url, json=body, headers=_h(tokens, "inspector"))
    assert r.status_code == 200 and r.json()["state"] == "dismissed"
    r = await client.post(url, json=body, headers=_h(tokens, "inspector"))
    assert r.status_code == 409  # already dismissed
    r = await client.post("/api/v1/alerts/" + "f" * 20 + "/dismiss", json=body,
                          headers=_h(tokens, "admin"))  # fmt: skip
    assert r.status_code == 404
    assert enf.verify_audit(store) > 0  # the dismissal is in the hash chain


# -- display fields (issue 16 item 2): codes stay, names beside them, in the caller's language --
async def test_display_fields_and_actions_by_role(
    client: httpx.AsyncClient, api_store: tuple[Store, dict[str, str], str]
) -> None:
    store, tokens, task = api_store
    r = await client.get("/api/v1/findings", headers=_h(tokens, "analyst"))
    rows = r.json()["items"]
    exc = next(f for f in rows if f["rule_id"] == "EXC")
    assert exc["rule_name"] == "超标" and exc["severity_name"] in ("提示", "低", "中", "高")
    assert exc["pollutant"] == "a21026" and exc["pollutant_name"] == "二氧化硫"
    region = store.query("SELECT name FROM regions WHERE code = ?", [exc["region"]])[0]["name"]
    assert exc["region_name"] == region and exc["enterprise_name"]
    r = await client.get("/api/v1/findings", params={"lang": "en"}, headers=_h(tokens, "analyst"))
    exc_en = next(f for f in r.json()["items"] if f["rule_id"] == "EXC")
    assert exc_en["rule_name"] == "concentration above the permitted limit"
    assert exc_en["pollutant_name"] == "SO2"
    # the permits' limits: the cited standard by its name (the text as written beside it)
    for lang in ("zh", "en"):
        r = await client.get("/api/v1/permits", params={"lang": lang},
                             headers=_h(tokens, "analyst"))  # fmt: skip
        limits = [lim for p in r.json()["items"] for o in p["outlets"] for lim in o["limits"]]
        assert limits and all("standard_name" in lim for lim in limits)
        for lim in limits:
            want = standards.standard_name(lim["standard"], lang)
            assert lim["standard_name"] == want, lim
            if lang == "zh":
                assert "Table" not in lim["standard_name"], lim
    # the task: state, severity, the enterprise's name in its title, the team by its county
    listed = (await client.get("/api/v1/tasks", headers=_h(tokens, "analyst"))).json()["items"]
    t = next(x for x in listed if x["id"] == task)
    ent = store.query("SELECT name FROM enterprises WHERE uscc = ?", [USCC_A])[0]["name"]
    assert t["enterprise_name"] == ent and t["title_display"].startswith(ent)
    assert "超标" in t["title_display"] and USCC_A not in t["title_display"]
    assert t["state_name"] in ("待指派", "已指派", "办理中", "待审批", "已处置", "已办结")
    assert (
        t["region_name"]
        == store.query("SELECT name FROM regions WHERE code = ?", [t["region"]])[0]["name"]
    )
    # actions: what the state and the role allow (tasks.allowed_for), nothing else
    expected = {"admin": tk.Role.SUPERVISOR, "inspector": tk.Role.INSPECTOR, "analyst": None,
                "county": None, "enterprise": tk.Role.ENTERPRISE}  # fmt: skip
    for who, role in expected.items():
        r = await client.get(f"/api/v1/tasks/{task}", headers=_h(tokens, who))
        if r.status_code == 404:  # the county official of another county
            assert who == "county"
            continue
        body = r.json()
        state = tk.State(body["task"]["state"])
        assert body["task"]["allowed_actions"] == [
            str(a) for a in tk.allowed_for(state, role, tk.OUTLET)
        ], who
        assert all(e["action_name"] and "_" not in e["action_name"] for e in body["events"])
    inspector = (await client.get(f"/api/v1/tasks/{task}", headers=_h(tokens, "inspector"))).json()
    assert "submit_rectification" not in inspector["task"]["allowed_actions"]
    assert "assign" not in inspector["task"]["allowed_actions"]


async def test_errors_speak_the_callers_language(
    client: httpx.AsyncClient, api_store: tuple[Store, dict[str, str], str]
) -> None:
    """zh by default with the server's reason in ``detail``; English on ?lang=en or the
    English switch's cookie; a refused transition names the state and action in words."""
    _, tokens, task = api_store
    r = await client.get("/api/v1/tasks/T20990101-0001", headers=_h(tokens, "analyst"))
    assert r.status_code == 404 and r.json()["message"].startswith("未找到")
    assert "does not exist" in r.json()["detail"]
    r = await client.get(
        "/api/v1/tasks/T20990101-0001", params={"lang": "en"}, headers=_h(tokens, "analyst")
    )
    assert "does not exist" in r.json()["message"]
    client.cookies.set("bishui_lang", "en")
    r = await client.get("/api/v1/tasks/T20990101-0001", headers=_h(tokens, "analyst"))
    assert "does not exist" in r.json()["message"]
    client.cookies.delete("bishui_lang")
    state = (await client.get(f"/api/v1/tasks/{task}", headers=_h(tokens, "admin"))).json()
    closed = state["task"]["state"] == "closed"
    action, name = ("close", "办结") if closed else ("reopen", "重新打开")
    body = {"reason": "x"} if action == "reopen" else {}
    r = await client.post(f"/api/v1/tasks/{task}/{action}", json=body, headers=_h(tokens, "admin"))
    assert r.status_code == 409
    msg = r.json()["message"]
    assert task in msg and name in msg and action not in msg, msg
    r = await client.get("/api/v1/findings", params={"limit": "x"}, headers=_h(tokens, "analyst"))
    assert r.status_code == 422 and r.json()["message"].startswith("输入有误")
    assert r.json()["field"] and r.json()["detail"]
