"""The compensation API on both backends: the permission matrix of its routes and the scoping.

Matrix rows for ``tests/web/test_web_permissions.py`` (not on this branch yet): every route of
``bishui.web.api.compensation`` with the status each role gets. Staff read everything; a county
official reads what its region is a party to and acts (acknowledge / dispute) for it;
enterprises and the public have no access.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from comp_store import load_city, root

from bishui.compensation import service
from bishui.demo import city as demo_city
from bishui.registry import Registry, apply
from bishui.store import Store
from bishui.web import Settings, accounts, create_app

PASSWORD = "correct horse battery"
ROLES = ("admin", "analyst", "inspector", "county", "enterprise", "public")
GQ3 = "jingmen-zhupihe-gongjiawan/2026-Q3/v1"  # 东宝 + 掇刀 ↔ 沙洋
HJ = "jingmen-hanjiang-luohanzha/2026/v1"  # 钟祥 ↔ 沙洋
TM = "jingmen-tianmenhe-tuoshi/2026-07/v1"  # 京山 → 市本级
B = "/api/v1/compensation"

#: (method, path, body) → status per role, in ROLES order
MATRIX: list[tuple[str, str, dict[str, Any] | None, tuple[int, ...]]] = [
    ("GET", f"{B}/agreements", None, (200, 200, 200, 200, 403, 401)),
    ("GET", f"{B}/statements", None, (200, 200, 200, 200, 403, 401)),
    ("GET", f"{B}/statements/{GQ3}", None, (200, 200, 200, 200, 403, 401)),
    ("GET", f"{B}/statements/{TM}", None, (200, 200, 200, 404, 403, 401)),
    ("GET", f"{B}/statements/{GQ3}/print", None, (200, 200, 200, 200, 403, 401)),
    ("GET", f"{B}/statements/{TM}/print", None, (200, 200, 200, 404, 403, 401)),
    ("GET", f"{B}/ledger", None, (200, 200, 200, 200, 403, 401)),
    ("POST", f"{B}/statements/{GQ3}/acknowledge", {}, (403, 403, 403, 200, 403, 401)),
    (
        "POST",
        f"{B}/statements/{HJ}/dispute",
        {"reason": "通量核算所用流量待复核"},
        (403, 403, 403, 200, 403, 401),
    ),
]


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def api_city(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, dict[str, str]]]:
    store, _, _ = root.make_store(str(request.param), tmp_path_factory.mktemp("compapi"))
    try:
        load_city(store)
        ent = demo_city.build().registry.enterprises[0]
        apply(store, Registry(enterprises=[ent]))
        service.run(store, "2026", by="test")
        tokens: dict[str, str] = {}
        for role in ROLES[:-1]:
            kw: dict[str, Any] = {}
            if role == "county":
                kw["region"] = "420822"  # 沙洋县
            if role == "enterprise":
                kw["enterprise"] = ent.uscc
            accounts.add_user(store, f"c.{role}", PASSWORD, role, **kw)
            tokens[role] = accounts.new_token(store, f"c.{role}", "test")[1]
        accounts.add_user(store, "c.zhongxiang", PASSWORD, "county", region="420881")
        tokens["zhongxiang"] = accounts.new_token(store, "c.zhongxiang", "test")[1]
        yield store, tokens
    finally:
        root.drop_store(store)


@pytest.fixture
async def client(api_city: tuple[Store, dict[str, str]]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(api_city[0], Settings(secret=""))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=30
    ) as c:
        yield c


def _h(tokens: dict[str, str], role: str) -> dict[str, str]:
    h = {"Accept": "application/json"}
    if role in tokens:
        h["Authorization"] = f"Bearer {tokens[role]}"
    return h


async def test_permission_matrix(
    client: httpx.AsyncClient, api_city: tuple[Store, dict[str, str]]
) -> None:
    _, tokens = api_city
    for method, path, body, expected in MATRIX:
        got = []
        for role in ROLES:
            r = await client.request(method, path, json=body, headers=_h(tokens, role))
            got.append(r.status_code)
        assert tuple(got) == expected, (method, path, got)
    # the matrix covers every route of the router
    from bishui.web.api.compensation import router

    assert {(m, r.path) for r in router.routes for m in r.methods} == {  # type: ignore[attr-defined]
        ("GET", "/compensation/agreements"),
        ("GET", "/compensation/statements"),
        ("GET", "/compensation/statements/{statement_id:path}"),
        ("GET", "/compensation/statements/{statement_id:path}/print"),
        ("GET", "/compensation/ledger"),
        ("POST", "/compensation/statements/{statement_id:path}/acknowledge"),
        ("POST", "/compensation/statements/{statement_id:path}/dispute"),
    }


async def test_county_sees_only_its_statements_and_balance(
    client: httpx.AsyncClient, api_city: tuple[Store, dict[str, str]]
) -> None:
    _, tokens = api_city
    r = await client.get(f"{B}/statements", params={"limit": 1000}, headers=_h(tokens, "county"))
    items = r.json()["items"]
    assert items and all(any(p["party"] == "420822" for p in s["parties"]) for s in items)
    assert {s["agreement_id"] for s in items} == {
        "jingmen-zhupihe-gongjiawan",
        "jingmen-hanjiang-luohanzha",
    }
    assert r.headers["cache-control"] == "private, no-store"
    staff = (await client.get(f"{B}/statements", headers=_h(tokens, "analyst"))).json()
    assert staff["total"] == 33 and staff["total"] > r.json()["total"]
    # filters: period and agreement
    q = await client.get(
        f"{B}/statements",
        params={"period": "2026-Q3", "agreement": "jingmen-tianmenhe-tuoshi"},
        headers=_h(tokens, "analyst"),
    )
    assert [s["period"] for s in q.json()["items"]] == ["2026-09", "2026-08", "2026-07"]
    # ledger: the county's own account only; staff see all and the zero total
    led = (await client.get(f"{B}/ledger", headers=_h(tokens, "county"))).json()
    assert [x["party"] for x in led["items"]] == ["420822"] and led["total"] is None
    full = (await client.get(f"{B}/ledger", headers=_h(tokens, "admin"))).json()
    assert Decimal(full["total"]) == 0
    assert {x["party"]: Decimal(x["balance"]) for x in full["items"]}["420822"] == Decimal(
        led["items"][0]["balance"]
    )
    # agreements: only those it is a party to
    ag = (await client.get(f"{B}/agreements", headers=_h(tokens, "county"))).json()["items"]
    assert {a["id"] for a in ag} == {"jingmen-zhupihe-gongjiawan", "jingmen-hanjiang-luohanzha"}


async def test_statement_detail_traces_to_the_data(
    client: httpx.AsyncClient, api_city: tuple[Store, dict[str, str]]
) -> None:
    _, tokens = api_city
    r = await client.get(f"{B}/statements/{GQ3}", headers=_h(tokens, "county"))
    body = r.json()
    assert body["hash_ok"] and body["id"] == GQ3
    ev = body["statement"]["evidence"]
    flags = ev["inputs"]["points"]["WS04"]["flags"]
    assert "source:synthetic" in flags and any(f.startswith("sha256=") for f in flags)
    assert "生态补偿结算单" in body["explain"] and "沙洋县" in body["explain"]
    # the agreement by its name, never the statement's or the agreement's pinyin id
    title = body["statement"]["evidence"]["rule"]["title"]
    assert body["explain"].splitlines()[0].startswith(f"生态补偿结算单：{title}")
    assert GQ3 not in body["explain"] and body["statement"]["agreement_id"] not in body["explain"]
    # the data flags in words (HJ 212 flags by name), for the page's evidence table
    assert body["flag_names"]["source:synthetic"] == "来源：模拟数据"
    assert set(body["flag_names"]) >= set(flags)
    assert "days_valid=" not in body["explain"] and "period_valid=" not in body["explain"]
    assert set(body["confirmation"]["parties"]) == {"420802", "420804", "420822"}
    page = await client.get(f"{B}/statements/{GQ3}/print", headers=_h(tokens, "county"))
    assert page.headers["content-type"].startswith("text/html")
    assert 'lang="zh-CN"' in page.text and "模拟数据" in page.text and "各方确认" in page.text
    assert f"生态补偿结算单：{title}" in page.text and GQ3 not in page.text  # by name
    assert "days_valid=" not in page.text and "source:synthetic" not in page.text


async def test_confirmation_rules(
    client: httpx.AsyncClient, api_city: tuple[Store, dict[str, str]]
) -> None:
    _, tokens = api_city
    # another county may not act on (or even see) a statement it is not a party to
    r = await client.post(f"{B}/statements/{GQ3}/acknowledge", headers=_h(tokens, "zhongxiang"))
    assert r.status_code == 404
    # a dispute needs a reason
    r = await client.post(
        f"{B}/statements/{HJ}/dispute", json={"reason": " "}, headers=_h(tokens, "zhongxiang")
    )
    assert r.status_code == 400 and r.json()["field"] == "reason"
    # acting for a party that is not yours
    r = await client.post(
        f"{B}/statements/{HJ}/acknowledge",
        json={"party": "420822"},
        headers=_h(tokens, "zhongxiang"),
    )
    assert r.status_code == 403
    r = await client.post(f"{B}/statements/{HJ}/acknowledge", headers=_h(tokens, "zhongxiang"))
    assert r.status_code == 200 and r.json()["party"] == "420881"
    # twice is a conflict
    r = await client.post(f"{B}/statements/{HJ}/acknowledge", headers=_h(tokens, "zhongxiang"))
    assert r.status_code == 409
    d = (await client.get(f"{B}/statements/{HJ}", headers=_h(tokens, "admin"))).json()
    events = d["confirmation"]["events"]
    assert [(e["party"], e["action"]) for e in events][-1] == ("420881", "acknowledge")
    assert events[-1]["by_user"] == "c.zhongxiang"
