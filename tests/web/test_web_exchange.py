"""The exchange's API and pages (docs/exchange.md "Pages and API") on the model city, on both
backends: who sees which accounts and log rows, a transfer and the refusals with their codes,
quantities as exact decimal strings, the hash-chain check, the monthly report as JSON and
Excel, and the Chinese pages in words.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from web_support import login

from bishui.exchange import service
from bishui.exchange.instruments import Instrument
from bishui.exchange.market.report import CST, Trade
from bishui.exchange.model import (
    AccountKind,
    AddOperator,
    Entity,
    Issue,
    OpenAccount,
    RegisterEntity,
)
from bishui.exchange.registry import series
from bishui.export_header import SYNTHETIC_NOTICE
from bishui.store import Store
from bishui.web.api import exchange as api

OWN, OTHER, RET = "EXW-A", "EXW-B", "EXW-RET"
GOV = "JM-EEB"
T0 = dt.datetime(2026, 3, 2, 9, 0)


def _cod() -> Any:
    return series("emission_right", "w01018", 2026, "420800")


@pytest.fixture
def seeded(city_store: Store, users: dict[str, Any]) -> dict[str, str]:
    return seed(city_store, users)


def seed(city_store: Store, users: dict[str, Any]) -> dict[str, str]:
    """The model city's registry, once per store: the operator, the test enterprise and a
    neighbour in another county, a holding account each (10 t and 5 t of COD) and a
    retirement account of the bureau's (also used by test_web_exchange_browser.py)."""
    ent = users["enterprise"]["enterprise"]
    other = city_store.query(
        "SELECT enterprise FROM sites WHERE kind LIKE 'source%' AND enterprise NOT IN "
        "(SELECT enterprise FROM sites WHERE region = ? AND enterprise IS NOT NULL) "
        "ORDER BY enterprise LIMIT 1",
        [users["county"]["region"]],
    )[0]["enterprise"]
    out = {"ent": ent, "other": other}
    if city_store.query("SELECT id FROM exchange_account WHERE id = ?", [OWN]):
        return out
    op = users["operator"]["username"]
    names = {r["uscc"]: r["name"] for r in city_store.query("SELECT uscc, name FROM enterprises")}
    steps = [
        AddOperator(op),
        RegisterEntity(Entity(ent, "enterprise", names.get(ent, ent))),
        RegisterEntity(Entity(other, "enterprise", names.get(other, other))),
        RegisterEntity(Entity(GOV, "government", "荆门市生态环境局")),
        OpenAccount(OWN, AccountKind.HOLDING, ent, (users["enterprise"]["username"],)),
        OpenAccount(OTHER, AccountKind.HOLDING, other, ("rep.neighbour",)),
        OpenAccount(RET, AccountKind.RETIREMENT, GOV, (op,)),
        Issue(OWN, _cod(), 10_000, "determination", valid_until=dt.date(2030, 12, 31)),
        Issue(OTHER, _cod(), 5_000, "determination", valid_until=dt.date(2030, 12, 31)),
    ]
    ops = {r["username"] for r in city_store.query("SELECT username FROM exchange_operator")}
    known = {r["id"] for r in city_store.query("SELECT id FROM exchange_entity")}
    steps = [  # the other exchange tests share the store: register only what is not there
        x for x in steps
        if not (isinstance(x, AddOperator) and x.username in ops)
        and not (isinstance(x, RegisterEntity) and x.entity.id in known)
    ]  # fmt: skip
    for i, req in enumerate(steps):
        service.submit(city_store, req, actor=op, time=T0 + dt.timedelta(minutes=i))
    return out


async def _as(client: httpx.AsyncClient, users: dict[str, Any], role: str) -> None:
    r = await login(client, users[role]["username"])
    assert r.status_code == 303, r.text


async def _csrf(client: httpx.AsyncClient) -> dict[str, str]:
    page = await client.get("/exchange", headers={"Accept": "text/html"})
    m = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
    assert m
    return {"X-CSRF-Token": m.group(1), "Accept": "application/json"}


def _held(body: dict[str, Any], account: str) -> int:
    acc = next(a for a in body["items"] if a["id"] == account)
    return sum(h["units"] for h in acc["holdings"] if h["pollutant"] == "w01018")


# -- reads, scoped -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("enterprise", {OWN}),
        ("county", {OWN}),  # the test enterprise has its sites in the county's region
        ("operator", {OWN, OTHER, RET}),
        ("analyst", {OWN, OTHER, RET}),
        ("chief", {OWN, OTHER, RET}),
    ],
)
async def test_accounts_by_role(
    client: httpx.AsyncClient, users: dict[str, Any], seeded: dict[str, str], role: str, sees: set
) -> None:
    await _as(client, users, role)
    body = (await client.get("/api/v1/exchange/accounts")).json()
    got = {a["id"] for a in body["items"]} & {OWN, OTHER, RET}
    assert got == sees
    own = next(a for a in body["items"] if a["id"] == OWN)
    assert own["kind_name"] == "持有账户" and own["state_name"] == "正常"
    h = next(h for h in own["holdings"] if h["pollutant"] == "w01018")
    assert h["instrument_name"] == "排污权" and h["pollutant_name"] == "化学需氧量"
    assert h["unit"] == "t" and h["unit_name"] == "吨" and h["registry_unit"] == "kg"
    # exact text: registry units ↔ trading units, no float on the way
    assert isinstance(h["quantity"], str)
    assert api.quantity_text(Instrument.EMISSION_RIGHT, h["units"]) == h["quantity"]
    assert re.fullmatch(r"\d+\.\d{3}", h["quantity"])


async def test_an_account_out_of_scope_is_not_found(
    client: httpx.AsyncClient, users: dict[str, Any], seeded: dict[str, str]
) -> None:
    await _as(client, users, "enterprise")
    r = await client.get(f"/api/v1/exchange/accounts/{OTHER}/holdings")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = await client.get(f"/api/v1/exchange/accounts/{OWN}/holdings")
    assert r.status_code == 200 and r.json()["account"] == OWN


async def test_the_public_is_refused(client: httpx.AsyncClient, seeded: dict[str, str]) -> None:
    r = await client.get("/api/v1/exchange/accounts", headers={"Accept": "application/json"})
    assert r.status_code == 401


# -- writes --------------------------------------------------------------------------------
async def test_a_transfer_and_the_refusals(
    client: httpx.AsyncClient, users: dict[str, Any], seeded: dict[str, str], city_store: Store
) -> None:
    await _as(client, users, "operator")
    before_other = _held((await client.get("/api/v1/exchange/accounts")).json(), OTHER)
    await client.post("/logout", data={"csrf_token": (await _csrf(client))["X-CSRF-Token"]})
    await _as(client, users, "enterprise")
    h = await _csrf(client)
    before = _held((await client.get("/api/v1/exchange/accounts")).json(), OWN)
    body = {
        "target": OTHER,
        "instrument": "emission_right",
        "pollutant": "w01018",
        "quantity": "1.5",
        "reason": "协议转让（测试）",
    }
    r = await client.post(f"/api/v1/exchange/accounts/{OWN}/transfer", json=body, headers=h)
    assert r.status_code == 200, r.text
    j = r.json()
    assert (j["units"], j["quantity"], j["unit"], j["kind_name"]) == (1500, "1.500", "t", "转让")
    after = _held((await client.get("/api/v1/exchange/accounts")).json(), OWN)
    assert before - after == 1500
    # too much: 409 with the registry's code and both messages; nothing written
    big = {**body, "quantity": "100000"}
    r = await client.post(f"/api/v1/exchange/accounts/{OWN}/transfer", json=big, headers=h)
    assert r.status_code == 409
    j = r.json()
    assert j["error"] == "refused" and j["message"] == "交易登记簿拒绝了此操作"
    (ref,) = j["refusals"]
    assert ref["code"] == "insufficient_units"
    assert ref["message_zh"].startswith("转出账户可用数量不足")
    assert ref["message"].startswith("the transferring account does not hold enough units")
    assert (ref["reason_zh"], ref["reason"]) == (
        "转出账户可用数量不足",
        "the transferring account does not hold enough units",
    )
    assert _held((await client.get("/api/v1/exchange/accounts")).json(), OWN) == after
    # not a whole number of kg: 400, never rounded
    r = await client.post(
        f"/api/v1/exchange/accounts/{OWN}/transfer", json={**body, "quantity": "0.0005"}, headers=h
    )
    assert r.status_code == 400 and r.json()["field"] == "quantity"
    # to itself: same_account
    r = await client.post(
        f"/api/v1/exchange/accounts/{OWN}/transfer", json={**body, "target": OWN}, headers=h
    )
    assert r.status_code == 409 and r.json()["refusals"][0]["code"] == "same_account"
    # the neighbour's account: not the enterprise's to move (404, as if it did not exist)
    r = await client.post(
        f"/api/v1/exchange/accounts/{OTHER}/transfer", json={**body, "target": OWN}, headers=h
    )
    assert r.status_code == 404
    await client.post("/logout", data={"csrf_token": h["X-CSRF-Token"]})
    # the operator sees every account but represents none of the enterprises': 403 + code
    await _as(client, users, "operator")
    h = await _csrf(client)
    r = await client.post(
        f"/api/v1/exchange/accounts/{OTHER}/transfer", json={**body, "target": OWN}, headers=h
    )
    assert r.status_code == 403
    assert [x["code"] for x in r.json()["refusals"]] == ["not_representative"]
    assert _held((await client.get("/api/v1/exchange/accounts")).json(), OTHER) == (
        before_other + 1500
    )
    # the stored balances are still the log's
    assert service.verify(city_store) is None


async def test_surrender_and_retire(
    client: httpx.AsyncClient, users: dict[str, Any], seeded: dict[str, str]
) -> None:
    await _as(client, users, "enterprise")
    h = await _csrf(client)
    units = {"instrument": "emission_right", "pollutant": "w01018", "quantity": "0.25"}
    r = await client.post(
        f"/api/v1/exchange/accounts/{OWN}/surrender",
        json={**units, "compliance_year": 2026},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["kind_name"], r.json()["quantity"]) == ("履约清缴", "0.250")
    r = await client.get(
        f"/api/v1/exchange/accounts/{OWN}/holdings", params={"status": "surrendered"}
    )
    assert {x["status_name"] for x in r.json()["items"]} == {"已清缴"}
    r = await client.post(
        f"/api/v1/exchange/accounts/{OWN}/retire", json={**units, "target": RET}, headers=h
    )
    assert r.status_code == 200 and r.json()["kind_name"] == "自愿注销", r.text
    # a surrender for a year before the units' vintage is refused with its code
    r = await client.post(
        f"/api/v1/exchange/accounts/{OWN}/surrender",
        json={**units, "compliance_year": 2025},
        headers=h,
    )
    assert r.status_code == 409, r.text
    assert {x["code"] for x in r.json()["refusals"]} & {"vintage_after_year", "insufficient_units"}


# -- the log and the check -------------------------------------------------------------------
async def test_the_log_is_scoped_and_paged(
    client: httpx.AsyncClient, users: dict[str, Any], seeded: dict[str, str]
) -> None:
    await _as(client, users, "enterprise")
    j = (await client.get("/api/v1/exchange/log", params={"limit": 2})).json()
    assert j["total"] >= 1 and len(j["items"]) <= 2
    full = (await client.get("/api/v1/exchange/log", params={"limit": 1000})).json()["items"]
    mine = {a["id"] for a in (await client.get("/api/v1/exchange/accounts")).json()["items"]}
    assert OWN in mine and OTHER not in mine
    assert all({x["source"], x["target"]} & mine for x in full)
    issue = next(x for x in full if x["kind"] == "issue")
    assert issue["kind_name"] == "签发" and issue["product_name"] == "排污权（化学需氧量）"
    assert issue["quantity"] == "10.000" and issue["units"] == 10_000
    seqs = [x["seq"] for x in full]
    assert seqs == sorted(seqs, reverse=True)  # newest first
    await client.post("/logout", data={"csrf_token": (await _csrf(client))["X-CSRF-Token"]})
    await _as(client, users, "operator")
    every = (await client.get("/api/v1/exchange/log", params={"limit": 1000})).json()
    assert every["total"] > j["total"]
    assert {"register_entity", "open_account", "add_operator"} <= {
        x["kind"] for x in every["items"]
    }


async def test_verify(
    client: httpx.AsyncClient, users: dict[str, Any], seeded: dict[str, str]
) -> None:
    await _as(client, users, "chief")
    j = (await client.get("/api/v1/exchange/verify")).json()
    assert j["ok"] is True and j["rows"] >= 9
    assert [(c["name"], c["ok"]) for c in j["checks"]] == [
        ("交易日志哈希链", True),
        ("由日志重建余额", True),
        ("市场记录哈希链（竞价、出价、协议转让、缴费）", True),
    ]
    await client.post("/logout", data={"csrf_token": (await _csrf(client))["X-CSRF-Token"]})
    await _as(client, users, "enterprise")
    r = await client.get("/api/v1/exchange/verify")
    assert r.status_code == 403


# -- the monthly report -------------------------------------------------------------------
@pytest.fixture
def no_trades(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's sources without the trading service's stored trades (other tests on the
    shared store settle some; test_web_exchange_services.py reads them through the report)."""
    monkeypatch.setattr(api, "TRADE_SOURCES", [])


@pytest.fixture
def trades(no_trades: None) -> Iterator[None]:
    def two(store: Store, year: int) -> list[Trade]:
        at = dt.datetime(year, 3, 31, 23, 30, tzinfo=CST)
        return [
            Trade(Instrument.EMISSION_RIGHT, "a21026", at, 250_000, 1_500),  # 2500 元/t × 1.5 t
            Trade(Instrument.EMISSION_RIGHT, "a21026", at, 310_000, 500),
        ]

    api.TRADE_SOURCES.append(two)
    yield
    api.TRADE_SOURCES.remove(two)


async def test_the_report_is_empty_without_settled_trades(
    client: httpx.AsyncClient, users: dict[str, Any], no_trades: None
) -> None:
    await _as(client, users, "analyst")
    j = (await client.get("/api/v1/exchange/report", params={"year": 2026})).json()
    assert j == {"ok": True, "year": 2026, "items": []}
    page = await client.get(
        "/exchange/report", params={"year": 2026}, headers={"Accept": "text/html"}
    )
    assert "本年度暂无已结算成交" in page.text and SYNTHETIC_NOTICE in page.text


async def test_the_report_json_excel_and_print(
    client: httpx.AsyncClient, users: dict[str, Any], trades: None
) -> None:
    import openpyxl

    await _as(client, users, "enterprise")
    (row,) = (await client.get("/api/v1/exchange/report", params={"year": 2026})).json()["items"]
    assert row["month"] == "2026-03" and row["pollutant_name"] == "二氧化硫"
    assert (row["trades"], row["volume"], row["unit_name"]) == (2, "2.000", "吨")
    assert (row["value_fen"], row["value"]) == (375_000 + 155_000, "5300")
    assert (row["vwap_fen"], row["vwap"]) == (265_000, "2650")
    r = await client.get("/api/v1/exchange/report.xlsx", params={"year": 2026})
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    cells = [[c for c in row if c is not None] for row in ws.iter_rows(values_only=True)]
    assert cells[0] == ["环境资源交易月度市场报告"]
    flat = [str(c) for row in cells for c in row]
    assert SYNTHETIC_NOTICE in flat and any("单位：" in c for c in flat)
    columns = [
        "月份",
        "品种",
        "成交笔数",
        "成交量",
        "计量单位",
        "成交金额（元）",
        "成交均价（元/单位）",
    ]
    head = cells.index(columns)
    assert cells[head + 1] == ["2026-03", "排污权（二氧化硫）", 2, "2.000", "吨", "5300", "2650"]
    r = await client.get("/api/v1/exchange/report.csv", params={"year": 2026, "lang": "en"})
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["Environmental-resource exchange: monthly market report"]
    page = await client.get(
        "/exchange/report", params={"year": 2026}, headers={"Accept": "text/html"}
    )
    assert "排污权" in page.text and "2650" in page.text


# -- the pages -----------------------------------------------------------------------------
#: Codes and English words that must not show on the Chinese page (its server-rendered text).
RAW = [
    r"\b(emission_right|carbon_allowance|carbon_sink|energy_saving)\b",
    r"\b(holding|reserve|retirement|cancellation|held|surrendered|retired|expired)\b",
    r"(?<![0-9A-Za-z])[aw]\d{5}(?![0-9])",
    r"\b(transfer|surrender|retire|issue|open|blocked|closed|enterprise|operator)\b",
    r"\b(undefined|null|None|True|False)\b",
]


def _main_text(html: str) -> str:
    main = html.split("<main>", 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<script.*?</script>", " ", main, flags=re.S)
    return re.sub(r"<[^>]+>", " ", main)


@pytest.mark.parametrize(
    ("role", "present", "absent"),
    [
        (
            "enterprise",
            ["持有", "转让", "履约", "交易日志", "化学需氧量", "排污权"],
            ["哈希链校验", "总览"],
        ),
        ("operator", ["账户", "交易日志", "哈希链校验", "转让"], ["总览"]),
        ("analyst", ["总览", "哈希链校验", "交易日志", "履约看板"], ["提交转让"]),
        ("county", ["总览", "交易日志"], ["哈希链校验", "提交转让"]),
    ],
)
async def test_the_page_in_chinese_by_role(
    client: httpx.AsyncClient,
    users: dict[str, Any],
    seeded: dict[str, str],
    role: str,
    present: list[str],
    absent: list[str],
) -> None:
    await _as(client, users, role)
    r = await client.get("/exchange", headers={"Accept": "text/html"})
    assert r.status_code == 200
    text = _main_text(r.text)
    for word in present:
        assert word in text, (role, word)
    for word in absent:
        assert word not in text, (role, word)
    for pattern in RAW:
        m = re.search(pattern, text)
        assert m is None, (role, m.group(0) if m else None)
    en = await client.get("/exchange", params={"lang": "en"}, headers={"Accept": "text/html"})
    assert "Transaction log" in _main_text(en.text)


async def test_service_blocks_by_role(
    client: httpx.AsyncClient, users: dict[str, Any], seeded: dict[str, str]
) -> None:
    """The blocks of the services hold their real tables and forms, by role: no placeholder
    is left; the regulator's approval form only for staff, the board only for the regulator,
    announce / close / settle only for the operator."""
    want = {
        "analyst": ({"ex-lots", "ex-transfers", "ex-fees", "ex-determinations", "ex-board",
                     "ex-approve"}, {"ex-bid", "ex-operator", "ex-pay"}),
        "enterprise": ({"ex-lots", "ex-transfers", "ex-fees", "ex-bid", "ex-party", "ex-pay"},
                       {"ex-approve", "ex-board", "ex-operator"}),
        "operator": ({"ex-lots", "ex-transfers", "ex-bid", "ex-operator"},
                     {"ex-approve", "ex-board", "ex-pay", "ex-fees"}),
    }  # fmt: skip
    for role, (present, absent) in want.items():
        await _as(client, users, role)
        html = (await client.get("/exchange", headers={"Accept": "text/html"})).text
        ids = set(re.findall(r'<section class="card"[^>]* id="([a-z-]+)"', html))
        assert present <= ids, (role, present - ids)
        assert not (absent & ids), (role, absent & ids)
        assert "card later" not in html and "待接入" not in html
