"""The programmes' routes and pages on both backends, over the illustrative demo: who may do
what, a county's and an enterprise's scoping, a case moved and paid through the API, files up
and down with their digest, the ledger's refusals as 409, the exports and the zh-CN pages."""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))  # the web tests' helpers
from web_support import COUNTY, PASSWORD, client_for

from bishui.demo import city
from bishui.demo import programmes as demo
from bishui.enforcement import evidence
from bishui.registry import apply
from bishui.store import Store
from bishui.timeutil import now_beijing
from bishui.web import Settings, accounts, create_app

PDF = b"%PDF-1.7\n% test\n"
PDF_TYPE = {"Content-Type": "application/pdf"}


@pytest.fixture(scope="module", autouse=True)
def cheap_argon2() -> Iterator[None]:
    """Minimal argon2 cost, as the web tests' own fixture (tests/web/conftest.py)."""
    from argon2 import PasswordHasher

    old = accounts._hasher
    accounts.use_hasher(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    yield
    accounts.use_hasher(old)


@pytest.fixture
def loaded(store: Store) -> dict[str, Any]:
    # the model city's registry and one account per role (no monitoring history: not needed)
    from bishui.web import schema

    schema.ensure(store)
    apply(store, city.build().registry)
    ent = store.query("SELECT enterprise FROM sites WHERE kind LIKE 'source%' AND region = ? "
                      "ORDER BY id LIMIT 1", [COUNTY])[0]["enterprise"]  # fmt: skip
    users: dict[str, dict[str, Any]] = {}
    for role in accounts.ACCOUNT_ROLES:
        kw = {"region": COUNTY} if role == "county" else {"enterprise": ent} if role == (
            "enterprise") else {}  # fmt: skip
        accounts.add_user(store, f"demo.{role}", PASSWORD, role, **kw)
        users[role] = {"username": f"demo.{role}", **kw}
    got = demo.setup(store, now_beijing())
    assert got["projects"] == 55 and got["cases"] == 1 and got["tasks"] > 0
    tokens = {r: accounts.new_token(store, u["username"], "test")[1] for r, u in users.items()}
    return {"tokens": tokens, "users": users}


def _h(tokens: dict[str, str], role: str, **extra: str) -> dict[str, str]:
    h = {"Accept": "application/json", **extra}
    if role in tokens:
        h["Authorization"] = f"Bearer {tokens[role]}"
    return h


async def test_programmes_routes_and_pages(store: Store, loaded: dict[str, Any]) -> None:
    tk, users = loaded["tokens"], loaded["users"]
    app = create_app(store, Settings(secret=""))
    base = "/api/v1/programmes"
    async with client_for(app) as c:
        # the demo case ran to closure; staff and finance see it, the county (沙洋县) does not
        r = await c.get(f"{base}/cases", headers=_h(tk, "analyst"))
        assert [x["state"] for x in r.json()["items"]] == ["closed"]
        assert (await c.get(f"{base}/cases", headers=_h(tk, "county"))).json()["items"] == []
        r = await c.get(f"{base}/cases/DC-DEMO-001", headers=_h(tk, "county"))
        assert r.status_code == 404
        r = await c.get(f"{base}/cases/DC-DEMO-001", headers=_h(tk, "finance"))
        item = r.json()["item"]
        assert len(item["files"]) == 2 and item["files"][0]["media_type"] == "application/pdf"
        assert item["schedule"]["outstanding_fen"] == 0 and item["audit"][0]["action"] == "register"
        # the programme: a county sees its own projects only
        r = await c.get(f"{base}/projects", headers=_h(tk, "county"))
        assert r.json()["items"] and {p["county"] for p in r.json()["items"]} == {COUNTY}
        s = (await c.get(f"{base}/summary", headers=_h(tk, "analyst"))).json()
        assert s["projects"] == 52
        assert s["allocated_fen"] == s["disbursed_fen"] + s["available_fen"]
        assert (await c.get(f"{base}/projects", headers=_h(tk, "enterprise"))).status_code == 403
        # a new case with the enterprise user's company liable: it sees that one only
        ent = users["enterprise"]["enterprise"]
        r = await c.post(f"{base}/cases", headers=_h(tk, "inspector"), json={
            "id": "DC-T-1", "title": "测试案件", "county": COUNTY, "site": "某地",
            "event_date": "2026-11-01", "lead_source": "督察", "liable": [ent]})  # fmt: skip
        assert r.status_code == 201, r.text
        r = await c.get(f"{base}/cases", headers=_h(tk, "enterprise"))
        assert [x["id"] for x in r.json()["items"]] == ["DC-T-1"]
        r = await c.get(f"{base}/cases/DC-DEMO-001", headers=_h(tk, "enterprise"))
        assert r.status_code == 404
        # bad input: one error shape naming field and rule
        r = await c.post(f"{base}/cases", headers=_h(tk, "inspector"), json={
            "id": "bad id!", "title": "x"})  # fmt: skip
        assert r.status_code == 400 and r.json()["error"] == "invalid_input"
        assert "id" in r.json()["message"]
        # an evidence file: raw body, its type sniffed; downloaded with its digest
        r = await c.post(
            f"{base}/cases/DC-T-1/files?name=报告.pdf",
            content=PDF,
            headers=_h(tk, "inspector", **PDF_TYPE),
        )
        assert r.status_code == 201, r.text
        fid = r.json()["item"]["id"]
        r = await c.post(
            f"{base}/cases/DC-T-1/files?name=x.pdf",
            content=b"<script>",
            headers=_h(tk, "inspector", **PDF_TYPE),
        )
        assert r.status_code == 400
        r = await c.get(f"{base}/cases/DC-T-1/files/{fid}", headers=_h(tk, "enterprise"))
        assert r.content == PDF and r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["repr-digest"] == evidence.repr_digest(hashlib.sha256(PDF).hexdigest())
        # the machine over HTTP: finance may pay, not assess; a refusal is 409
        act = f"{base}/cases/DC-T-1/actions"
        assert (await c.post(f"{act}/investigate", headers=_h(tk, "inspector"),
                             json={"payload": {}})).status_code == 200  # fmt: skip
        r = await c.post(f"{act}/assess", headers=_h(tk, "finance"), json={"payload": {}})
        assert r.status_code == 403
        r = await c.post(f"{act}/consult", headers=_h(tk, "inspector"), json={"payload": {}})
        assert r.status_code == 409 and "refused" in r.json()["detail"]
        r = await c.post(f"{act}/assess", headers=_h(tk, "inspector"), json={"payload": {
            "method": "simplified", "assessor": "专家", "amounts": {"restoration": 100},
            "report": fid}})  # fmt: skip
        assert r.json()["item"]["state"] == "assessed"
        # the ledger refuses beyond the allocation (409) and an ineligible use (422)
        one = f"{base}/projects/WW-01/entries/disburse"
        r = await c.post(one, headers=_h(tk, "finance"), json={
            "fund": "eco_special", "amount_fen": 10**12, "on": "2026-12-01", "doc": "x",
            "use": "construction"})  # fmt: skip
        assert r.status_code == 409 and "exceeds the available" in r.json()["detail"]
        r = await c.post(one, headers=_h(tk, "finance"), json={
            "fund": "damage_compensation", "amount_fen": 1, "on": "2026-12-01", "doc": "x",
            "use": "construction"})  # fmt: skip
        assert r.status_code == 400
        r = await c.get(f"{base}/projects/WW-01", headers=_h(tk, "finance"))
        led = r.json()["item"]["ledger"]
        assert all(x["allocated_fen"] == x["disbursed_fen"] + x["available_fen"] for x in led)
        assert (await c.post(f"{base}/supervise", headers=_h(tk, "analyst"))).json()["tasks"] == []
        # exports and pages
        r = await c.get(f"{base}/projects/export.csv", headers=_h(tk, "analyst"))
        assert r.text.startswith("\ufeff") and "示例乡镇污水处理厂 01号" in r.text
        r = await c.get(f"{base}/cases/export.csv", headers=_h(tk, "enterprise"))
        assert "DC-T-1" in r.text and "DC-DEMO-001" not in r.text
        # the same tables as Excel, through the one export path, scoped the same
        got: dict[str, set[str]] = {}
        for what, role, title, head in (
            ("damage-cases", "enterprise", "生态环境损害赔偿案件", ["编号", "案件", "区县"]),
            ("projects", "analyst", "项目与资金", ["编号", "项目", "类型"]),
        ):
            path = f"{base}/{what.removeprefix('damage-')}/export"
            csv_ = await c.get(f"{path}.csv", headers=_h(tk, role))
            x = await c.get(f"{path}.xlsx", headers=_h(tk, role))
            assert x.status_code == 200, x.text
            assert x.headers["content-type"] == (
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            )
            assert x.headers["content-disposition"] == f"attachment; filename*=UTF-8''{what}.xlsx"
            ws = load_workbook(io.BytesIO(x.content)).active
            assert ws is not None
            cells = [["" if v is None else str(v) for v in row]
                     for row in ws.iter_rows(values_only=True)]  # fmt: skip
            at = next(i for i, row in enumerate(cells) if row[:3] == head)
            lines = list(csv.reader(io.StringIO(csv_.text.removeprefix("\ufeff"))))
            start = next(i for i, row in enumerate(lines) if row[:3] == head)
            assert cells[0][0] == lines[0][0] == title  # the same title preamble
            assert [row[0] for row in cells[at:]] == [row[0] for row in lines[start:]]
            got[what] = {row[0] for row in cells[at + 1 :]}
        assert "DC-T-1" in got["damage-cases"] and "DC-DEMO-001" not in got["damage-cases"]
        assert "示例乡镇污水处理厂 01号" in {row[1] for row in cells[at + 1 :]}
        r = await c.get(f"{base}/cases/export.pdf", headers=_h(tk, "analyst"))
        assert r.status_code in (400, 404, 422)
        r = await c.get(f"{base}/projects/export.xlsx", headers=_h(tk, "enterprise"))
        assert r.status_code == 403
        r = await c.get("/programmes/projects", headers=_h(tk, "analyst", Accept="text/html"))
        assert r.status_code == 200 and "倒排工期" in r.text and "示例" in r.text
        r = await c.get("/programmes/projects?lang=en&programme=%3Cx%3E",
                        headers=_h(tk, "county", Accept="text/html"))  # fmt: skip
        assert r.status_code == 200 and "Schedule" in r.text and "<x>" not in r.text
        r = await c.get("/programmes/damage", headers=_h(tk, "analyst", Accept="text/html"))
        assert r.status_code == 200 and "DC-DEMO-001" in r.text and "结案" in r.text
        assert "/api/v1/programmes/cases/export.xlsx" in r.text
