"""The regulator's issuing decisions through the web (docs/exchange.md "Pages and API"), on
both backends: determination of emission rights (issued and confirmed in the permits), fee
assessment, reduction registration, the government reserve's buy-back and sale, a carbon
position mirrored, a carbon-sink project and its credits, a confirmed energy saving — each
refused to an enterprise (403) and, by the registry, to staff who are not registry operators
(``not_operator``, 403); the log's chain and the rebuilt balances hold afterwards.

A small city of its own (three enterprises, their permits and two years of verified COD),
seeded by ``seed_exchange`` once per backend for the module.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_support import PASSWORD, client_for, drop_store, login, make_store

from bishui.exchange import service
from bishui.exchange.registry import balances
from bishui.exchange.seed import seed_exchange
from bishui.sources import permit_store
from bishui.sources.permits import ManagementClass, Permit
from bishui.store import Store
from bishui.web import Settings, accounts, create_app, schema

A, B, C = "9142080029141777XW", "91420800011524491L", "914208003982597917"
COD = "w01018"
OP, REG, ENT = "exch.op", "exch.analyst", "ent.a"
ON = dt.date(2026, 11, 30)
API = "/api/v1/exchange"


def _city(store: Store) -> None:
    """Three enterprises with a COD permit each and 30 days of verified COD in 2025 and 2026
    (30 t + 36 t + 42 t in 2025, 24 t each in 2026)."""
    rows: list[tuple[str, list[Any]]] = []
    for i, u in enumerate((A, B, C)):
        store.execute(
            "INSERT INTO enterprises (uscc, name, industry, region) VALUES (?, ?, ?, ?)",
            [u, f"荆门测试企业{i}", "化工", "420802"],
        )
        p = Permit(u + "001P", 1, u, f"荆门测试企业{i}", ManagementClass.KEY, dt.date(2024, 1, 1),
                   dt.date(2029, 12, 31), annual_caps={COD: Decimal(50 + 10 * i)})  # fmt: skip
        permit_store.record_permits(store, [p])
        for year, t in ((2025, 1 + 0.2 * i), (2026, 0.8)):
            rows += [("INSERT INTO source_mass_daily (site_code, outlet_id, pollutant, day, "
                      "mass_t, missing_hours) VALUES (?, ?, ?, ?, ?, ?)",
                      [u + "001", "DW001", COD, dt.date(year, 1, 1) + dt.timedelta(days=d), t, 0])
                     for d in range(30)]  # fmt: skip
    store.execute_many(rows)


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def desk(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, cheap_argon2: None
) -> Iterator[tuple[Store, Any]]:
    """The seeded store and one app over it, for the module."""
    store, _, _ = make_store(str(request.param), tmp_path_factory.mktemp("decisions"))
    try:
        schema.ensure(store)
        _city(store)
        seed_exchange(store, on=ON, operator=OP, regulator=REG, representatives={A: ENT})
        accounts.add_user(store, OP, PASSWORD, "operator")
        accounts.add_user(store, REG, PASSWORD, "analyst")
        accounts.add_user(store, ENT, PASSWORD, "enterprise", enterprise=A)
        settings = Settings(secret="", login_rate="1000/60", api_rate="10000/60")
        yield store, create_app(store, settings)
    finally:
        drop_store(store)


@pytest.fixture
async def client(desk: tuple[Store, Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(desk[1]) as c:
        yield c


@pytest.fixture
def store(desk: tuple[Store, Any]) -> Store:
    return desk[0]


async def _as(client: httpx.AsyncClient, user: str) -> dict[str, str]:
    r = await login(client, user)
    assert r.status_code == 303, r.text
    page = await client.get("/exchange", headers={"Accept": "text/html"})
    m = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
    assert m
    return {"X-CSRF-Token": m.group(1), "Accept": "application/json"}


def _held(store: Store, account: str, instrument: str = "emission_right") -> int:
    rows = store.query(
        "SELECT SUM(end_serial - start_serial + 1) AS n FROM exchange_block "
        "WHERE account = ? AND instrument = ? AND status = 'held'",
        [account, instrument],
    )
    return int(rows[0]["n"] or 0)


async def _refused(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> None:
    """An enterprise is refused by the route, the analyst by the registry (not_operator)."""
    for user in (ENT, REG):
        h = await _as(client, user)
        r = await client.post(API + path, json=body, headers=h)
        assert r.status_code == 403, (user, path, r.text)
        if user == REG:
            assert "not_operator" in r.text


def _chain_holds(store: Store) -> None:
    assert service.verify(store) is None
    assert balances(service.replayed(store)) == balances(service.stored(store))


async def test_determination_fee_and_reduction(client: httpx.AsyncClient, store: Store) -> None:
    body = {
        "pollutant": COD, "vintage": "2027", "cap": "150", "history_years": "2", "factor": "1",
        "basis": "测试：近两年监测排放量均值", "on": "2027-01-05",
    }  # fmt: skip
    logged = len(service.log_rows(store))
    await _refused(client, "/determinations", body)
    assert len(service.log_rows(store)) == logged
    h = await _as(client, OP)
    r = await client.post(API + "/determinations", json=body, headers=h)
    assert r.status_code == 200, r.text
    got = {d["holder"]: d for d in r.json()["items"]}
    assert set(got) == {A, B, C} and all(d["vintage"] == 2027 for d in got.values())
    # 2025 and 2026 verified (30 + 24 t for A …), within the cap: the mean, confirmed in
    # the permit from the next day
    assert got[A]["quantity"] == "27.000" and not got[A]["scaled"]
    caps = [p.annual_caps[COD] for p in permit_store.load_permits(store, "p.uscc = ?", [A])
            if p.is_in_force(dt.date(2027, 1, 6))]  # fmt: skip
    assert caps == [Decimal("27")]
    again = await client.post(API + "/determinations", json=body, headers=h)
    assert again.status_code == 400 and "vintage" in again.text
    # the fee of A's 2027 rights, in two instalments
    fee = {"holder": A, "vintage": 2027, "on": "2027-01-05", "instalments": 2}
    await _refused(client, "/fees", fee)
    h = await _as(client, OP)
    r = await client.post(API + "/fees", json=fee, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["id"] == f"FEE-{A}-2027"
    assert (await client.post(API + "/fees", json=fee, headers=h)).status_code == 400
    # reductions of 2026: the seed registered one holder's; the others now register theirs
    codes = []
    for u in (A, B, C):
        r = await client.post(
            API + "/reductions", json={"holder": u, "pollutant": COD, "year": 2026}, headers=h
        )
        codes.append(r.status_code)
    assert sorted(codes) == [200, 200, 400], codes
    listed = (await client.get(API + "/reductions")).json()["items"]
    assert len(listed) == 3 and all(Decimal(x["registered_quantity"]) > 0 for x in listed)
    await _refused(client, "/reductions", {"holder": A, "pollutant": COD, "year": 2026})
    await _as(client, ENT)
    mine = (await client.get(API + "/reductions")).json()["items"]
    assert {x["holder"] for x in mine} == {A}
    _chain_holds(store)


async def test_reserve_carbon_sinks_and_energy(client: httpx.AsyncClient, store: Store) -> None:
    back = {"reserve_account": "RES-420800", "account": f"H-{A}", "agent": ENT,
            "pollutant": COD, "quantity": "1", "price": "2500"}  # fmt: skip
    await _refused(client, "/reserve/buy-back", back)
    h = await _as(client, OP)
    assert (await client.post(API + "/reserve/gift", json=back, headers=h)).status_code == 422
    before = (_held(store, f"H-{A}"), _held(store, "RES-420800"))
    r = await client.post(API + "/reserve/buy-back", json=back, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["quantity"] == "1.000"
    assert (_held(store, f"H-{A}"), _held(store, "RES-420800")) == (before[0] - 1000,
                                                                  before[1] + 1000)  # fmt: skip
    sale = {"reserve_account": "RES-420800", "account": f"H-{B}", "agent": REG,
            "pollutant": COD, "quantity": "0.5", "price": "2600"}  # fmt: skip
    r = await client.post(API + "/reserve/sale", json=sale, headers=h)
    assert r.status_code == 200, r.text
    assert _held(store, "RES-420800") == before[1] + 500
    # a carbon position mirrored, once per firm and year
    pos = {"entity": C, "year": 2027, "allocation": "1000", "rules_id": "hubei-carbon-2014",
           "source": "测试：配额通知"}  # fmt: skip
    await _refused(client, "/carbon/positions", pos)
    h = await _as(client, OP)
    r = await client.post(API + "/carbon/positions", json=pos, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["allocation_quantity"] == "1000"
    assert (await client.post(API + "/carbon/positions", json=pos, headers=h)).status_code == 400
    # its verified emissions (carbon.report_verified): operators only, 404 without a position
    ver = {"verified": "950"}
    await _refused(client, f"/carbon/positions/{C}/2027/verified", ver)
    h = await _as(client, OP)
    r = await client.post(API + f"/carbon/positions/{C}/2027/verified", json=ver, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["verified_quantity"] == "950"
    r = await client.post(API + f"/carbon/positions/{C}/2031/verified", json=ver, headers=h)
    assert r.status_code == 404
    r = await client.post(API + f"/carbon/positions/{C}/2027/verified", json={"verified": "1.5"},
                          headers=h)  # fmt: skip
    assert r.status_code == 400 and "verified" in r.text
    # a carbon-sink project and its credits
    sink = {"project_id": "JM-T-01", "name": "测试林场碳汇", "owner": C, "area": "420800",
            "methodology": "AR-CM-001-V01"}  # fmt: skip
    await _refused(client, "/carbon/sinks", sink)
    h = await _as(client, OP)
    assert (await client.post(API + "/carbon/sinks", json=sink, headers=h)).status_code == 200
    assert (await client.post(API + "/carbon/sinks", json=sink, headers=h)).status_code == 400
    credits = {"vintage": 2027, "quantity": "12", "verification": "测试核证 T-01"}
    r = await client.post(API + "/carbon/sinks/JM-T-01/credits", json=credits, headers=h)
    assert r.status_code == 200, r.text
    assert [i["units"] for i in r.json()["items"][0]["issuances"]] == [12]
    r = await client.post(API + "/carbon/sinks/JM-T-01/credits", json=credits, headers=h)
    assert r.status_code == 400
    r = await client.post(API + "/carbon/sinks/NO-SUCH/credits", json=credits, headers=h)
    assert r.status_code == 404
    assert _held(store, f"H-{C}", "carbon_sink") == 12
    # an energy saving: 50 000 tce for 1 000 units → 52 000 tce for 1 100: 3 000 tce saved
    saving = {"holder": B, "year": 2027, "product": "主产品", "baseline_energy": "50000",
              "baseline_output": "1000", "reporting_energy": "52000", "reporting_output": "1100",
              "baseline_audit": "基准审核 T-01", "audit_report": "节能量审核 T-01",
              "auditor": "测试第三方机构"}  # fmt: skip
    await _refused(client, "/energy-savings", saving)
    h = await _as(client, OP)
    r = await client.post(API + "/energy-savings", json=saving, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["units"] == 3_000_000
    # several products: each adjusted on its own output, the savings summed (+ 500 tce)
    two = {**saving, "year": 2028, "more_products": [
        {"product": "副产品", "baseline_energy": "1000", "baseline_output": "100",
         "reporting_energy": "500", "reporting_output": "100"}]}  # fmt: skip
    r = await client.post(API + "/energy-savings", json=two, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["units"] == 3_500_000
    dup = {**two, "year": 2029, "more_products": [{**two["more_products"][0],
                                                   "product": "主产品"}]}  # fmt: skip
    r = await client.post(API + "/energy-savings", json=dup, headers=h)
    assert r.status_code == 400 and "more_products[0].product" in r.text
    bad = {**saving, "baseline_output": "0"}
    r = await client.post(API + "/energy-savings", json=bad, headers=h)
    assert r.status_code == 400 and "baseline_output" in r.text
    _chain_holds(store)


def test_the_page_has_the_forms() -> None:
    """The exchange page's forms post to these routes (a browser test of the page is in
    test_web_exchange_browser.py; this checks the template's wiring cheaply)."""
    text = (
        Path(__file__).resolve().parents[2] / "src/bishui/web/templates/exchange.html"
    ).read_text(encoding="utf-8")
    for path in ("/determinations", "/fees", "/reductions", "/reserve/{action}",
                 "/carbon/positions", "/carbon/sinks", "/carbon/sinks/{project}/credits",
                 "/energy-savings", "/carbon/positions/{entity}/{year}/verified",
                 "/board/{year}/close", "/accounts/{account}/transfer-requests",
                 "/transfer-requests/{request}/{action}", "/transfer-requests/release",
                 "/accounts/{account}/trusted",
                 "/accounts/{account}/trusted/{trusted}/{action}"):  # fmt: skip
        assert f'data-url="{API}{path}"' in text, path
