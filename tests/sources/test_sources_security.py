"""Issue 14, findings 3 and 10, on both backends: task actions take declared bodies only (no
client key reaches a keyword argument or the audit log; cited files exist on that task), and
an enterprise sees the declared subset of its own task — the permission matrix extended to
the fields each role reads (web.md, "What an enterprise sees of its tasks")."""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sources_store import GAS_A, GAS_B, USCC_A, USCC_B, gas_day, make_permit, registry

from bishui.enforcement import service as enf
from bishui.enforcement import tasks as tk
from bishui.enforcement.audit import AuditLog
from bishui.enforcement.policy import load_policy
from bishui.sources import permit_store, service
from bishui.store import Store
from bishui.web import Settings, accounts, create_app
from bishui.web.api import task_views

_HERE = Path(__file__).resolve().parent


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


files = _load("bishui_security_files", _HERE.parent / "enforcement" / "evidence_files.py")
PASSWORD = "correct horse battery"
D0 = dt.date(2026, 6, 29)
WHO = ("admin", "analyst", "inspector", "county", "enterprise", "ent_b", "chief")


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, dict[str, str], str, str]]:
    rc = _load("root_conftest_security", _HERE.parent / "conftest.py")
    store, _, _ = rc.make_store(str(request.param), tmp_path_factory.mktemp("security"))
    try:
        registry(store)
        permit_store.record_permits(store, [make_permit()])
        so2 = [120.0] * 24
        so2[10:13] = [260.0, 300.0, 250.0]
        gas_day(store, GAS_A, D0, so2)
        gas_day(store, GAS_B, D0, [120.0] * 10 + [280.0] * 3 + [120.0] * 11)
        r = service.run_checks(store, dt.datetime(2026, 6, 29), dt.datetime(2026, 6, 30))
        task_a = next(t for t in r.tasks if enf.get_task(store, t)[0].uscc == USCC_A)
        task_b = next(t for t in r.tasks if enf.get_task(store, t)[0].uscc == USCC_B)
        tokens: dict[str, str] = {}
        for who in WHO:
            role = "enterprise" if who == "ent_b" else who
            kw: dict[str, Any] = {}
            if role == "county":
                kw["region"] = "420802"  # A's county
            if role == "enterprise":
                kw["enterprise"] = USCC_B if who == "ent_b" else USCC_A
            accounts.add_user(store, f"x.{who}", PASSWORD, role, **kw)
            tokens[who] = accounts.new_token(store, f"x.{who}", "test")[1]
        yield store, tokens, task_a, task_b
    finally:
        rc.drop_store(store)


@pytest.fixture
async def client(world: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(world[0], Settings(secret=""))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=30
    ) as c:
        yield c


def _h(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Accept": "application/json", "Authorization": f"Bearer {tokens[who]}"}


async def _upload(
    c: httpx.AsyncClient, tokens: dict[str, str], who: str, task: str, content: bytes
) -> str:
    r = await c.post(
        f"/api/v1/tasks/{task}/files",
        params={"name": f"{who}.pdf"},
        content=content,
        headers={**_h(tokens, who), "Content-Type": "application/pdf"},
    )
    assert r.status_code in (200, 201), r.text
    return str(r.json()["file"]["id"])


# -- 3: declared bodies --------------------------------------------------------------------------
async def test_actions_take_their_declared_body_only(
    client: httpx.AsyncClient, world: tuple[Store, dict[str, str], str, str]
) -> None:
    store, tokens, task, other = world

    async def act(action: str, body: Any, who: str = "inspector") -> httpx.Response:
        return await client.post(
            f"/api/v1/tasks/{task}/{action}", json=body, headers=_h(tokens, who)
        )

    before = enf.verify_audit(store)
    # the finding's payloads: a forged approval, a replaced policy, the machine's own arguments
    for action, body in [
        ("visit", {"note": "现场检查", "approved_by": "局长"}),
        ("dispose", {"kind": "penalty", "article": "x", "amount": "1", "policy": {}}),
        *(("visit", {"note": "x", key: "1"})
          for key in ("now", "sender", "actor", "store", "task_id", "log", "by", "at")),
        ("dispose", {"kind": "false_alarm", "reason": "x", "files": ["0" * 32]}),
        ("assign", {"assignee": "x", "kind": "boss"}),
        ("dispose", {"kind": "rectification_order", "due": "0001-01-01"}),
        ("verify_rectification", {"accepted": "perhaps"}),
    ]:  # fmt: skip
        r = await act(action, body, "admin")
        assert r.status_code == 422, (action, body, r.text)
        assert r.json()["error"] == "invalid_input" and r.json()["field"].startswith("body")
    assert enf.verify_audit(store) == before  # nothing was recorded
    # cited files must be uploaded files of this very task
    theirs = await _upload(client, tokens, "inspector", other, files.pdf("B's evidence"))
    for bad in (["0" * 32], [theirs]):
        r = await act("visit", {"note": "现场检查", "files": bad})
        assert r.status_code == 400 and r.json()["field"] == "files", r.text
    mine = await _upload(client, tokens, "inspector", task, files.pdf("A's evidence"))
    r = await act("visit", {"note": "现场检查：脱硫循环泵停运", "files": [mine]})
    assert r.status_code == 200, r.text
    (event,) = [e for e in enf.audit_events(store, f"task:{task}") if e.action == "visit"]
    assert set(event.payload) == {"note", "files"}  # the declared fields, nothing else
    assert [f["id"] for f in event.payload["files"]] == [mine]
    snapshot, _ = enf.get_task(store, task)
    assert enf.replay_task(store, task).as_dict() == snapshot.as_dict()


def test_the_machine_keeps_its_own_arguments() -> None:
    """Library callers too: a payload key named like an argument of ``tasks.apply`` is a
    payload key (positional-only arguments), never the argument itself."""
    t0 = dt.datetime(2026, 6, 29, 12)
    log, policy = AuditLog(), load_policy()
    sup = tk.Actor("sup", tk.Role.SUPERVISOR)
    t = tk.new_task("T1", ["a"], USCC_A, "S1", "high", "x", t0, policy, log, sup)
    t, ev = tk.apply(t, "assign", sup, t0, policy, log, assignee="i1", policy="p", now="n")
    assert t.state is tk.State.ASSIGNED and ev.payload["policy"] == "p"


# -- 10: what an enterprise sees -----------------------------------------------------------------
#: The task fields each role reads on GET /tasks/{id}, written out by hand (the matrix of
#: tests/web/test_web_permissions.py, extended to fields).
FULL = {"id", "alert_ids", "uscc", "site_code", "severity", "title", "created", "deadline",
        "state", "assignee", "assignee_kind", "visits", "evidence", "disposal", "rectifications",
        "rectification_verified", "escalation_level", "closed_at", "reopen_count",
        "suggested_article", "meta", "subject_kind", "allowed_actions",
        "approval", "checkins", "closure", "closure_approval",
        "policy_version"}  # fmt: skip  # the rule set the task is judged by (docs/enforcement.md)
ENTERPRISE = {"id", "alert_ids", "uscc", "site_code", "severity", "title", "created",
              "deadline", "state", "disposal", "rectifications", "rectification_verified",
              "closed_at", "subject_kind", "allowed_actions"}  # fmt: skip
#: The display names beside the codes (bishui.web.display.tasks_display): only of fields the
#: view has — an enterprise gets no assignee_name, as it gets no assignee.
NAMES = {"state_name", "severity_name", "subject_kind_name", "title_display", "enterprise_name",
         "disposal_name"}  # fmt: skip
FULL |= NAMES | {"assignee_name"}
ENTERPRISE |= NAMES
FIELDS = {"admin": FULL, "analyst": FULL, "inspector": FULL, "county": FULL, "chief": FULL,
          "enterprise": ENTERPRISE}  # fmt: skip


async def test_an_enterprise_sees_the_declared_subset(
    client: httpx.AsyncClient, world: tuple[Store, dict[str, str], str, str]
) -> None:
    _, tokens, task, _ = world

    async def act(who: str, action: str, body: dict[str, Any]) -> httpx.Response:
        url = f"/api/v1/tasks/{task}/{action}"
        r = await client.post(url, json=body, headers=_h(tokens, who))
        assert r.status_code == 200, (action, r.text)
        return r

    async def seen(who: str) -> dict[str, Any]:
        r = await client.get(f"/api/v1/tasks/{task}", headers=_h(tokens, who))
        assert r.status_code == 200, r.text
        return dict(r.json())

    await act("admin", "assign", {"assignee": "x.inspector"})
    await act("inspector", "visit", {"note": "内部：负责人回避检查"})
    photo = await _upload(client, tokens, "inspector", task, files.pdf("inspector's photo"))
    await act("inspector", "add_evidence", {"files": [photo], "note": "DCS 画面"})
    order = {"kind": "rectification_order", "due": "2099-01-31",
             "requirement": "更换脱硫循环泵", "note": "内部意见"}  # fmt: skip
    await act("inspector", "dispose", order)
    # the field matrix
    for who, fields in FIELDS.items():
        assert set((await seen(who))["task"]) == fields, who
    listed = await client.get("/api/v1/tasks", headers=_h(tokens, "enterprise"))
    assert {k for t in listed.json()["items"] for k in t} == ENTERPRISE | {"region", "region_name"}
    view = await seen("enterprise")
    # what it must rectify, served as an order
    assert view["task"]["disposal"] == {"kind": "rectification_order", "due": "2099-01-31",
                                        "requirement": "更换脱硫循环泵",
                                        "at": view["task"]["disposal"]["at"]}  # fmt: skip
    assert view["task"]["allowed_actions"] == ["submit_rectification"]
    text = str(view)
    for hidden in ("x.inspector", "team:", "负责人回避检查", "DCS 画面", "内部意见", photo):
        assert hidden not in text, hidden
    assert {e["action"] for e in view["events"]} <= task_views.ENTERPRISE_EVENTS
    assert all("hash" not in e and e["actor"] is None for e in view["events"])
    assert {n["recipient"] for n in view["notifications"]} <= {f"enterprise:{USCC_A}"}
    staff = await seen("analyst")
    assert {n["recipient"] for n in staff["notifications"]} > {f"enterprise:{USCC_A}"}
    # its files: only those it uploaded; the inspectors' are 404 to it
    own = await _upload(client, tokens, "enterprise", task, files.pdf("our report"))
    r = await client.get(f"/api/v1/tasks/{task}/files", headers=_h(tokens, "enterprise"))
    assert [f["id"] for f in r.json()["items"]] == [own]
    url = f"/api/v1/tasks/{task}/files/{photo}"
    assert (await client.get(url, headers=_h(tokens, "enterprise"))).status_code == 404
    assert (await client.get(url, headers=_h(tokens, "county"))).status_code == 200
    # its submission, the verdict, the closure
    r = await act("enterprise", "submit_rectification", {"files": [own], "note": "已更换"})
    assert set(r.json()["task"]) == ENTERPRISE - NAMES  # projected, codes only
    await act("inspector", "verify_rectification", {"accepted": True, "note": "内部：复核"})
    await act("inspector", "close", {"note": "内部：结案"})
    # asked, not yet closed (结案审批, the model city's policy; intended): nothing of the
    # request reaches the party, then the chief closes
    view = await seen("enterprise")
    assert view["task"]["state"] == "awaiting_closure" and view["task"]["closed_at"] is None
    assert not [e for e in view["events"] if e["action"] in ("close", "approve")]
    await act("chief", "approve", {"note": "内部：同意结案"})
    view = await seen("enterprise")
    (closing,) = [e for e in view["events"] if e["to"] == "closed"]
    assert closing["actor"] is None and closing["payload"] == {}
    assert view["task"]["rectifications"][0]["note"] == "已更换"
    assert view["task"]["rectification_verified"] is True and view["task"]["state"] == "closed"
    mine = [e for e in view["events"] if e["action"] == "submit_rectification"]
    assert mine and mine[0]["actor"] == "x.enterprise"
    # no internal note (the state's name 待结案审批 on the closing event is no note)
    assert "内部：复核" not in str(view) and "内部：结案" not in str(view)
    assert "内部：同意结案" not in str(view)
    # reopened and disposed by a penalty: a draft until closed, then the decision
    await act("admin", "reopen", {"reason": "内部：群众举报"})
    await act("inspector", "dispose", {"kind": "penalty", "article": "排污许可管理条例 第三十四条",
                                       "amount": "200000"})  # fmt: skip
    view = await seen("enterprise")
    assert view["task"]["disposal"] is None and "200000" not in str(view)
    assert "群众举报" not in str(view)
    await act("chief", "approve", {"note": "内部：同意"})  # the approval step (issue 16 item 9)
    await act("inspector", "close", {})
    await act("chief", "reject", {"reason": "内部：补充"})  # a closure sent back: no trace
    view = await seen("enterprise")
    assert view["task"]["disposal"] is None and "补充" not in str(view)
    await act("inspector", "close", {})
    await act("chief", "approve", {})
    view = await seen("enterprise")
    assert view["task"]["disposal"]["kind"] == "penalty"
    assert view["task"]["disposal"]["amount"] == "200000"
    # another enterprise sees none of it
    r = await client.get(f"/api/v1/tasks/{task}", headers=_h(tokens, "ent_b"))
    assert r.status_code == 404
