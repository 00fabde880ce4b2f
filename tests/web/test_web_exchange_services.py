"""The exchange's services through the web (docs/exchange.md "Pages and API"), on both
backends: a bidding session end to end (announce → bids → close → settled: holdings, money
and permits changed, the monthly report's figures), an agreement transfer through its steps
with the regulator-only approval refused to an enterprise, the Hubei restrictions on a plain
transfer, the compliance board in words, and each route's role refusals.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal as dt_decimal
from typing import Any

import httpx
import pytest
from web_support import login

from bishui.exchange import carbon, compliance_board, ledger, rights, service, trading
from bishui.exchange.ledger import CashKind
from bishui.exchange.market.restrictions import Party
from bishui.exchange.model import (
    AccountKind,
    AddOperator,
    Entity,
    Issue,
    OpenAccount,
    RegisterEntity,
)
from bishui.exchange.registry import series
from bishui.store import Store

SELLER, BUYER, THIRD, FAR = "EXS-B", "EXS-A", "EXS-C", "EXS-D"
CST = dt.timezone(dt.timedelta(hours=8))
BASIN = "汉江"


def _setup(store: Store, users: dict[str, Any]) -> dict[str, str]:
    """Four holding accounts once per store: the test enterprise's (its user represents it),
    a seller with 20 t of COD, a third party and a party in another basin; cash for each."""
    ent = users["enterprise"]["enterprise"]
    op = users["operator"]["username"]
    out = {"ent": ent, "op": op}
    if store.query("SELECT id FROM exchange_account WHERE id = ?", [BUYER]):
        return out
    picks = store.query(
        "SELECT uscc, name FROM enterprises WHERE uscc <> ? ORDER BY uscc LIMIT 3", [ent]
    )
    b, c, d = (r["uscc"] for r in picks)
    names = {r["uscc"]: r["name"] for r in picks}
    t0 = service.now() - dt.timedelta(days=1)
    ops = {r["username"] for r in store.query("SELECT username FROM exchange_operator")}
    known = {r["id"] for r in store.query("SELECT id FROM exchange_entity")}
    steps: list[Any] = [] if op in ops else [AddOperator(op)]
    if "JM-EEB" not in known:
        steps.append(RegisterEntity(Entity("JM-EEB", "government", "荆门市生态环境局")))
    for e in (ent, b, c, d):
        if e not in known:
            steps.append(RegisterEntity(Entity(e, "enterprise", names.get(e, e))))
    steps += [
        OpenAccount(BUYER, AccountKind.HOLDING, ent, (users["enterprise"]["username"],)),
        OpenAccount(SELLER, AccountKind.HOLDING, b, ("rep.b",)),
        OpenAccount(THIRD, AccountKind.HOLDING, c, ("rep.c",)),
        OpenAccount(FAR, AccountKind.HOLDING, d, ("rep.d",)),
        Issue(SELLER, series("emission_right", "w01018", 2026, BASIN), 20_000, "determination",
              valid_until=dt.date(2030, 12, 31)),
        Issue(BUYER, series("emission_right", "w01018", 2026, BASIN), 5_000, "determination",
              valid_until=dt.date(2030, 12, 31)),
    ]  # fmt: skip
    for i, req in enumerate(steps):
        service.submit(store, req, actor=op, time=t0 + dt.timedelta(seconds=i))
    rights.ensure_government_accounts(store, "JM-EEB")
    for e, basin in ((ent, BASIN), (b, BASIN), (c, BASIN), (d, "长江")):
        rights.set_party(store, Party(e, "420800", basin, "industry", False, True), actor=op)
        cash = ledger.cash_account_of(e)
        ledger.open_cash_account(store, cash, CashKind.CASH, e)
        ledger.deposit(store, cash, 100_000_000, actor=op, reason="测试资金")
    return out


@pytest.fixture
def market(city_store: Store, users: dict[str, Any]) -> dict[str, str]:
    return _setup(city_store, users)


async def _as(client: httpx.AsyncClient, users: dict[str, Any], role: str) -> dict[str, str]:
    r = await login(client, users[role]["username"])
    assert r.status_code == 303, r.text
    page = await client.get("/exchange", headers={"Accept": "text/html"})
    m = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
    assert m
    return {"X-CSRF-Token": m.group(1), "Accept": "application/json"}


def _cod(store: Store, account: str) -> int:
    rows = store.query(
        "SELECT SUM(end_serial - start_serial + 1) AS n FROM exchange_block "
        "WHERE account = ? AND pollutant = 'w01018' AND status = 'held'",
        [account],
    )
    return int(rows[0]["n"] or 0)


async def test_bidding_session_end_to_end(
    client: httpx.AsyncClient,
    city_store: Store,
    users: dict[str, Any],
    market: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = service.now().replace(tzinfo=CST)
    lot_body = {
        "seller_account": SELLER, "seller_agent": "rep.b", "instrument": "emission_right",
        "pollutant": "w01018", "quantity": "2", "reserve_price": "3000.00",
        "opens": (now - dt.timedelta(hours=1)).isoformat(),
        "closes": (now + dt.timedelta(hours=1)).isoformat(),
    }  # fmt: skip
    # an enterprise may not announce (403), the operator may
    h = await _as(client, users, "enterprise")
    assert (await client.post("/api/v1/exchange/lots", json=lot_body, headers=h)).status_code == 403
    h = await _as(client, users, "operator")
    r = await client.post("/api/v1/exchange/lots", json=lot_body, headers=h)
    assert r.status_code == 200, r.text
    lot = r.json()["items"][0]
    assert lot["product_name"] == "排污权（化学需氧量）" and lot["state_name"] == "竞价中"
    assert lot["reserve"] == "3000" or lot["reserve"] == "3000.00"
    lid = lot["id"]
    # the enterprise bids: below the reserve refused with its code, then a good bid
    h = await _as(client, users, "enterprise")
    low = {"account": BUYER, "price": "2999.99", "quantity": "2"}
    r = await client.post(f"/api/v1/exchange/lots/{lid}/bids", json=low, headers=h)
    assert r.status_code == 409, r.text
    assert "below_reserve" in r.text
    good = {"account": BUYER, "price": "3100.50", "quantity": "2"}
    r = await client.post(f"/api/v1/exchange/lots/{lid}/bids", json=good, headers=h)
    assert r.status_code == 200, r.text
    # not for a neighbour's account (404), nor as the county (403)
    other = {"account": THIRD, "price": "3100.50", "quantity": "1"}
    r = await client.post(f"/api/v1/exchange/lots/{lid}/bids", json=other, headers=h)
    assert r.status_code == 404
    hc = await _as(client, users, "county")
    r = await client.post(f"/api/v1/exchange/lots/{lid}/bids", json=good, headers=hc)
    assert r.status_code == 403
    # closing before the window ends is refused; after it, award and settlement
    h = await _as(client, users, "operator")
    assert (await client.post(f"/api/v1/exchange/lots/{lid}/close", headers=h)).status_code == 409
    before = (_cod(city_store, BUYER), _cod(city_store, SELLER))
    cash = ledger.balance(city_store, ledger.cash_account_of(market["ent"]))
    later = service.now() + dt.timedelta(hours=2)
    monkeypatch.setattr(service, "now", lambda: later)
    r = await client.post(f"/api/v1/exchange/lots/{lid}/close", headers=h)
    assert r.status_code == 200, r.text
    closed = r.json()["items"][0]
    assert closed["state_name"] == "已成交结算"
    assert [b["awarded"] for b in closed["bids"]] == ["2.000"]
    assert (_cod(city_store, BUYER), _cod(city_store, SELLER)) == (before[0] + 2000,
                                                                    before[1] - 2000)  # fmt: skip
    paid = cash - ledger.balance(city_store, ledger.cash_account_of(market["ent"]))
    assert paid == 620_100  # 2 t × 3100.50 元, in fen exactly
    tr = [t for t in trading.trades(city_store) if t["ref"] == lid]
    assert len(tr) == 1
    permits = tr[0]["permits"]
    # the web test city has no permit in force giving COD to either party, so no permit
    # version is issued here; the permit changes after a trade are tested on the service
    # (tests/exchange/test_exchange_trading.py)
    assert permits == []
    # the monthly report reads the settled trades
    year = later.year
    r = await client.get("/api/v1/exchange/report", params={"year": year})
    rows = [x for x in r.json()["items"] if x["pollutant"] == "w01018"]
    month = later.strftime("%Y-%m")
    row = next(x for x in rows if x["month"] == month)
    assert row["trades"] >= 1 and row["value_fen"] >= 620_100


async def test_agreement_transfer_steps(
    client: httpx.AsyncClient, city_store: Store, users: dict[str, Any], market: dict[str, str]
) -> None:
    # the third party proposes to buy 1 t from the test enterprise at 2000 元/t
    t = trading.propose_transfer(
        city_store, seller_account=BUYER, buyer_account=THIRD, instrument_="emission_right",
        pollutant="w01018", units=1000, price_fen=200_000,
        expires_at=service.now() + dt.timedelta(days=3), actor="rep.c",
    )  # fmt: skip
    tid = t["id"]
    h = await _as(client, users, "enterprise")
    listed = (await client.get("/api/v1/exchange/transfers")).json()["items"]
    mine = next(x for x in listed if x["id"] == tid)
    assert mine["state_name"] == "已提出" and mine["price"] == "2000"
    r = await client.post(f"/api/v1/exchange/transfers/{tid}/party/accept", json={}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["state_name"] == "对方已接受"
    # the regulator's approval is refused to an enterprise, and settlement too
    r = await client.post(f"/api/v1/exchange/transfers/{tid}/regulator/approve", json={},
                          headers=h)  # fmt: skip
    assert r.status_code == 403
    r = await client.post(f"/api/v1/exchange/transfers/{tid}/settle", json={}, headers=h)
    assert r.status_code == 403
    h = await _as(client, users, "analyst")
    r = await client.post(f"/api/v1/exchange/transfers/{tid}/regulator/approve", json={},
                          headers=h)  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["state_name"] == "监管部门已批准"
    before = _cod(city_store, THIRD)
    h = await _as(client, users, "operator")
    r = await client.post(f"/api/v1/exchange/transfers/{tid}/settle", json={}, headers=h)
    assert r.status_code == 200, r.text
    out = r.json()["items"][0]
    assert out["state_name"] == "已结算"
    assert [s["action_name"] for s in out["history"]] == ["提出", "接受", "批准", "结算"]
    assert _cod(city_store, THIRD) == before + 1000


async def test_plain_transfer_applies_the_restrictions(
    client: httpx.AsyncClient, city_store: Store, users: dict[str, Any], market: dict[str, str]
) -> None:
    h = await _as(client, users, "enterprise")
    body = {"instrument": "emission_right", "pollutant": "w01018", "quantity": "0.5",
            "target": FAR}  # fmt: skip
    r = await client.post(f"/api/v1/exchange/accounts/{BUYER}/transfer", json=body, headers=h)
    assert r.status_code == 409, r.text
    codes = [x["code"] for x in r.json()["refusals"]]
    assert codes == ["water_cross_basin"]


async def test_fees_determinations_and_payment(
    client: httpx.AsyncClient, city_store: Store, users: dict[str, Any], market: dict[str, str]
) -> None:
    """A determination (recorded here as the service records one) and its fee: the enterprise
    sees its fee and instalments in exact 元, pays the first (cash down by exactly its fen),
    may not pay it twice; a county may not pay; the regulator reads the determination."""
    ent, op = market["ent"], market["op"]
    fid = f"FEE-{ent}-2026"
    if not city_store.query("SELECT id FROM exchange_fee WHERE id = ?", [fid]):
        city_store.execute(
            "INSERT INTO exchange_determination (id, holder, permit_no, pollutant, vintage, "
            "region, permitted, historical, determined, scaled, cap, method, determined_on, "
            "valid_until, log_tx) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [f"DET-{ent}", ent, "TEST-PERMIT", "w01018", 2026, BASIN, 12_000, 9_000, 10_800,
             False, 50_000, "测试", dt.date(2026, 3, 1), dt.date(2030, 12, 31), None],
        )  # fmt: skip
        rights.assess_fee(city_store, ent, vintage=2026, schedule_id="hn-zhuzhou-2017", years=5,
                          on=dt.date(2026, 3, 1), instalments=2, every_months=12,
                          actor=op)  # fmt: skip
    h = await _as(client, users, "enterprise")
    fees = (await client.get("/api/v1/exchange/fees")).json()["items"]
    mine = next(f for f in fees if f["id"] == fid)
    first = mine["instalments"][0]
    assert first["status_name"] == "待缴"
    assert first["amount"] == format(dt_decimal(first["amount_fen"]) / 100, "f")
    assert mine["total_fen"] == sum(x["amount_fen"] for x in mine["instalments"])
    hc = await _as(client, users, "county")
    r = await client.post(f"/api/v1/exchange/fees/{fid}/instalments/1/pay", headers=hc)
    assert r.status_code == 403
    h = await _as(client, users, "enterprise")
    cash = ledger.balance(city_store, ledger.cash_account_of(ent))
    r = await client.post(f"/api/v1/exchange/fees/{fid}/instalments/1/pay", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["instalments"][0]["status_name"] == "已缴"
    assert cash - ledger.balance(city_store, ledger.cash_account_of(ent)) == first["amount_fen"]
    r = await client.post(f"/api/v1/exchange/fees/{fid}/instalments/1/pay", headers=h)
    assert r.status_code == 400
    await _as(client, users, "analyst")
    dets = (await client.get("/api/v1/exchange/determinations", params={"year": 2026})).json()
    d = next(x for x in dets["items"] if x["id"] == f"DET-{ent}")
    assert d["quantity"] == "10.800" and d["pollutant_name"] == "化学需氧量"


async def test_board_and_readers(
    client: httpx.AsyncClient, city_store: Store, users: dict[str, Any], market: dict[str, str]
) -> None:
    year = service.now().year
    ent, op = market["ent"], market["op"]
    if not any(x["entity"] == ent for x in carbon.positions(city_store, year)):
        carbon.mirror_position(
            city_store, ent, year, allocation=1_000, rules_id="hubei-carbon-2014",
            source="测试", actor=op,
        )  # fmt: skip
        carbon.report_verified(city_store, ent, year, 1_200, actor=op)
    compliance_board.close_year(city_store, year, actor=op)
    h = await _as(client, users, "enterprise")
    r = await client.post(f"/api/v1/exchange/board/{year}/close", headers=h)
    assert r.status_code == 403  # the regulator's decision
    h = await _as(client, users, "inspector")
    r = await client.post(f"/api/v1/exchange/board/{year}/close", headers=h)
    assert r.status_code == 403 and "not_operator" in r.text  # not a registry operator
    r = await client.get("/api/v1/exchange/carbon", params={"year": year})
    pos = next(x for x in r.json()["items"] if x["entity"] == ent)
    assert pos["allocation_quantity"] == "1000" and pos["verified_quantity"] == "1200"
    await _as(client, users, "chief")
    r = await client.get("/api/v1/exchange/board", params={"year": year})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert items
    words = {"履约", "未足额履约", "排放数据缺失", "无义务"}
    assert {x["status_name"] for x in items} <= words
    assert all(re.search(r"[a-z]\d{5}", x["product_name"]) is None for x in items)
    carbon_row = next(
        x for x in items if x["entity"] == ent and x["instrument"] == "carbon_allowance"
    )
    assert carbon_row["status_name"] == "未足额履约" and carbon_row["due_quantity"] == "1200"
    # the penalty of the shortfall (Hubei: 1–3 × the average price) once a price is given
    compliance_board.close_year(city_store, year, actor=op, average_price_fen=2_000)
    r = await client.get("/api/v1/exchange/board", params={"year": year})
    (pen,) = [x for x in r.json()["penalties"] if x["name"] == carbon_row["name"]]
    short = int(pen["shortfall_quantity"])
    assert short == int(carbon_row["shortfall_quantity"]) > 0 and pen["clause"]
    assert (pen["penalty_min"], pen["penalty_max"]) == (str(20 * short), str(60 * short))
    await _as(client, users, "enterprise")
    r = await client.get("/api/v1/exchange/board", params={"year": year})
    assert {x["entity"] for x in r.json()["items"]} <= {market["ent"]}
    await _as(client, users, "operator")
    r = await client.get("/api/v1/exchange/board", params={"year": year})
    assert r.status_code == 403
    for path in ("/lots", "/transfers", "/fees", "/determinations"):
        assert (await client.get(f"/api/v1/exchange{path}")).status_code == 200, path


async def test_four_eyes_and_trusted_accounts(
    client: httpx.AsyncClient,
    city_store: Store,
    users: dict[str, Any],
    market: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """docs/exchange.md "Four-eyes approval and trusted accounts": a request above the
    threshold waits for a second representative (the requester refused, a county 403), is
    delayed 26 h to an untrusted account and released by the operator; the trusted list is
    proposed, approved by the other representative and in effect after 4 working days."""
    ent_user, op = users["enterprise"]["username"], market["op"]
    acc = "EXS-4E"
    if not city_store.query("SELECT id FROM exchange_account WHERE id = ?", [acc]):
        service.submit(city_store, OpenAccount(acc, AccountKind.HOLDING, market["ent"],
                                               (ent_user, op)), actor=op)  # fmt: skip
        service.submit(city_store, Issue(acc, series("emission_right", "w01018", 2026, BASIN),
                                         5_000, "determination",
                                         valid_until=dt.date(2030, 12, 31)), actor=op)  # fmt: skip
    base = "/api/v1/exchange"
    h = await _as(client, users, "enterprise")
    body = {"instrument": "emission_right", "quantity": "1.5", "pollutant": "w01018",
            "target": THIRD}  # fmt: skip
    r = await client.post(f"{base}/accounts/{acc}/transfer-requests", json=body, headers=h)
    assert r.status_code == 200, r.text
    req = r.json()["items"][0]
    assert req["state"] == "awaiting_approval" and req["state_name"] == "待第二名授权代表审批"
    r = await client.post(f"{base}/transfer-requests/{req['id']}/approve", headers=h)
    assert r.status_code == 409 and "four_eyes_same_person" in r.text
    r = await client.post(f"{base}/accounts/{SELLER}/transfer-requests", json=body, headers=h)
    assert r.status_code == 404  # not the enterprise's account
    assert (await client.get(f"{base}/transfer-requests", headers=h)).json()["items"]
    hc = await _as(client, users, "county")
    r = await client.post(f"{base}/transfer-requests/{req['id']}/approve", headers=hc)
    assert r.status_code == 403
    ho = await _as(client, users, "operator")
    r = await client.post(f"{base}/transfer-requests/{req['id']}/approve", headers=ho)
    assert r.status_code == 200 and r.json()["items"][0]["state"] == "delayed"
    # the trusted list: proposed by the enterprise, approved by the other representative
    h = await _as(client, users, "enterprise")
    r = await client.post(f"{base}/accounts/{acc}/trusted", json={"trusted": THIRD}, headers=h)
    assert r.status_code == 200 and r.json()["items"][0]["state"] == "proposed"
    r = await client.post(f"{base}/accounts/{acc}/trusted/{THIRD}/approve", headers=h)
    assert r.status_code == 409
    ho = await _as(client, users, "operator")
    r = await client.post(f"{base}/accounts/{acc}/trusted/{THIRD}/approve", headers=ho)
    assert r.status_code == 200 and r.json()["items"][0]["state"] == "active"
    r = await client.get(f"{base}/accounts/{acc}/trusted", headers=ho)
    assert [x["trusted"] for x in r.json()["items"]] == [THIRD]
    # 26 hours on, the operator releases the delayed request; a week on, trusted: at once
    before = _cod(city_store, THIRD)
    later = service.now() + dt.timedelta(days=7)
    monkeypatch.setattr(service, "now", lambda: later)
    r = await client.post(f"{base}/transfer-requests/release", headers=ho)
    assert r.status_code == 200 and [x["state"] for x in r.json()["items"]] == ["done"]
    assert _cod(city_store, THIRD) == before + 1500
    small = {**body, "quantity": "0.1"}
    h = await _as(client, users, "enterprise")
    r = await client.post(f"{base}/accounts/{acc}/transfer-requests", json=small, headers=h)
    assert r.status_code == 200 and r.json()["items"][0]["state"] == "done"
    r = await client.post(f"{base}/accounts/{acc}/trusted/{THIRD}/remove", headers=h)
    assert r.status_code == 200 and r.json()["items"][0]["state"] == "removed"
    r = await client.post(f"{base}/accounts/{acc}/transfer-requests", json=small, headers=h)
    req2 = r.json()["items"][0]
    assert req2["state"] == "delayed"
    r = await client.post(f"{base}/transfer-requests/{req2['id']}/cancel", headers=h)
    assert r.status_code == 200 and r.json()["items"][0]["state"] == "cancelled"
