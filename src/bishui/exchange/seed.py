"""The exchange's part of a model city: :func:`seed_exchange` runs every service once over the
permits and verified history already in the store.

Pure domain code (no demo imports): the demo calls it after its engines have run. Every figure
it invents — the method's factor, the area's cap, deposits, prices, the carbon allocation, the
sink credits, the energy-saving audit figures — is a **demonstration parameter**, labelled so in
the records it writes (``演示``), never a published value. The fee schedule is the shipped
example (Zhuzhou, Hunan; Hubei's rates are not in the notes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bishui.exchange import carbon, compliance_board, ledger, rights, service, trading
from bishui.exchange.instruments import RIGHT_POLLUTANTS, Instrument
from bishui.exchange.ledger import CashKind
from bishui.exchange.market.determination import DeterminationMethod
from bishui.exchange.market.energy import ProductPeriods
from bishui.exchange.market.restrictions import Party
from bishui.exchange.registry import (
    AccountKind,
    AddOperator,
    Entity,
    OpenAccount,
    RegisterEntity,
    Select,
)
from bishui.sources import permit_store
from bishui.store import Store

GOVERNMENT = "荆门市生态环境局"
#: The demonstration's determination method (not a published one; docs/exchange.md).
DEMO_METHOD = DeterminationMethod(1, Decimal("1.2"), "演示参数：上一年度监测排放量 × 1.2（非官方）")
DEMO_BASIN = "汉江"  # the model city's rivers reach the Han (漳河、竹皮河 …)
DEPOSIT_FEN = 200_000_000  # 200 万元 each, demonstration


def _county(region: str) -> str:
    """The GB/T 2260 code of a registry region (a zone such as ``420800-ZH`` → its city)."""
    head = region[:6]
    return head if len(head) == 6 and head.isdigit() else "420800"


def seed_exchange(
    store: Store,
    *,
    on: dt.date,
    operator: str,
    regulator: str,
    representatives: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Seed the exchange from the permits in force on *on* and the sources' verified history.

    *operator* becomes the registry operator (the exchange), *regulator* represents the
    government's reserve and approves transfers, *representatives* maps an enterprise's
    统一社会信用代码 to its user (default ``rep-<code>``). Idempotent: a store with
    determinations already is left as it is. Returns counts of what it did.
    """
    if store.query("SELECT 1 AS x FROM exchange_determination LIMIT 1"):
        return {"seeded": False}
    reps = dict(representatives or {})
    at = dt.datetime.combine(on, dt.time(9, 0))
    ops = {r["username"] for r in store.query("SELECT username FROM exchange_operator")}

    def submit(req: Any) -> None:
        service.submit(store, req, actor=operator, reason="演示数据", time=at)

    if operator not in ops:
        submit(AddOperator(operator))
    submit(RegisterEntity(Entity(GOVERNMENT, "government", GOVERNMENT)))
    submit(OpenAccount("RES-420800", AccountKind.RESERVE, GOVERNMENT, (regulator,)))
    submit(OpenAccount("RET-420800", AccountKind.RETIREMENT, GOVERNMENT, (regulator,)))
    submit(OpenAccount("CAN-420800", AccountKind.CANCELLATION, GOVERNMENT, (regulator,)))
    rights.ensure_government_accounts(store, GOVERNMENT)
    ledger.deposit(
        store, rights.RESERVE_FUND, DEPOSIT_FEN, actor=operator, reason="储备资金（演示）"
    )

    permits = [p for p in permit_store.load_permits(store) if p.is_in_force(on)
               and any(c in RIGHT_POLLUTANTS for c in p.annual_caps)]  # fmt: skip
    info = {
        r["uscc"]: r for r in store.query("SELECT uscc, name, industry, region FROM enterprises")
    }
    holders: list[str] = []
    rights.require_operator(store, operator)
    # one store transaction for the enterprises' registration (entity, holding account,
    # trading profile, cash account, deposit): the same log and ledger rows as one call each
    with store.transaction() as tx:
        for p in permits:
            e = info.get(p.uscc)
            if e is None or p.uscc in holders:
                continue
            holders.append(p.uscc)
            rep = reps.get(p.uscc, f"rep-{p.uscc}")
            for req in (
                RegisterEntity(Entity(p.uscc, "enterprise", e["name"])),
                OpenAccount(f"H-{p.uscc}", AccountKind.HOLDING, p.uscc, (rep,)),
            ):
                service.submit_in(tx, store.dialect, req, actor=operator, reason="演示数据",
                                  time=at)  # fmt: skip
            thermal = "电" in str(e["industry"]) or "power" in str(e["industry"])
            party = Party(p.uscc, _county(str(e["region"])), DEMO_BASIN, "industry", thermal, True)
            rights.set_party_in(tx, party, actor=operator)
            cash = ledger.cash_account_of(p.uscc)
            ledger.open_cash_account_in(tx, store.dialect, cash, CashKind.CASH, p.uscc)
            ledger.post_in(
                tx, store.dialect,
                [ledger.Posting(ledger.BANK, -DEPOSIT_FEN), ledger.Posting(cash, DEPOSIT_FEN)],
                kind="deposit", actor=operator, reason="交易资金（演示）", ref=cash,
            )  # fmt: skip
    counts: dict[str, Any] = {"seeded": True, "holders": len(holders)}
    det: dict[str, list[rights.Determined]] = {}
    years = range(on.year - DEMO_METHOD.history_years, on.year)
    history = [rights.verified_kg(store, y) for y in years]
    for pol in RIGHT_POLLUTANTS:
        mine = [p for p in permits if pol in p.annual_caps and p.uscc in holders]
        if not mine:
            continue
        cap = sum(int(p.annual_caps[pol] * 1000) for p in mine)  # 演示：区域总量 = 许可量之和
        # the verified history the determination would read, computed once for every pollutant
        det[pol] = rights.determine_rights(
            store, pollutant=pol, vintage=on.year, cap_kg=cap, method=DEMO_METHOD, on=on,
            actor=operator, usccs=holders,
            verified={p.permit_no: [y.get((p.permit_no, pol), 0) for y in history]
                      for p in mine},
        )  # fmt: skip
    counts["determinations"] = sum(len(v) for v in det.values())
    fees = 0
    for h in holders:
        if not any(int(d["determined"]) for d in rights.determinations(store, h, on.year)):
            continue
        f = rights.assess_fee(store, h, vintage=on.year, schedule_id="hn-zhuzhou-2017", years=5,
                              on=on, instalments=2, every_months=12, actor=operator)  # fmt: skip
        if f["instalments"][0]["amount_fen"]:
            rights.pay_instalment(store, f["id"], 1, actor=operator, time=at)
        fees += 1
    counts["fees_paid"] = fees

    # trading: COD by agreement and by bidding, between the holders with the most COD
    cod = sorted((d for d in det.get("w01018", []) if d.determined >= 10),
                 key=lambda d: -d.determined)  # fmt: skip
    if len(cod) >= 3:
        seller, buyer, bidder = cod[0].holder, cod[1].holder, cod[2].holder
        sa, ba, xa = f"H-{seller}", f"H-{buyer}", f"H-{bidder}"
        agent_of = {h: reps.get(h, f"rep-{h}") for h in (seller, buyer, bidder)}
        q = max(1, cod[0].determined // 10)
        t = at + dt.timedelta(hours=1)
        x = trading.propose_transfer(
            store, seller_account=sa, buyer_account=ba, instrument_="emission_right",
            pollutant="w01018", units=q, price_fen=300_000, expires_at=t + dt.timedelta(days=7),
            actor=agent_of[seller], time=t,
        )  # fmt: skip
        trading.act_on_transfer(
            store, x["id"], "accept", actor=agent_of[buyer], role="party", time=t
        )
        trading.act_on_transfer(store, x["id"], "approve", actor=regulator, role="regulator",
                                time=t)  # fmt: skip
        trading.act_on_transfer(store, x["id"], "settle", actor=operator, role="exchange", time=t)
        t2 = at + dt.timedelta(hours=2)
        lot = trading.announce_lot(
            store, seller_account=sa, seller_agent=agent_of[seller], instrument_="emission_right",
            pollutant="w01018", units=q, reserve_fen=250_000, opens=t2,
            closes=t2 + dt.timedelta(hours=2), actor=operator,
        )  # fmt: skip
        trading.place_bid(store, lot["id"], account=ba, price_fen=260_000, units=q // 2,
                          actor=agent_of[buyer], time=t2 + dt.timedelta(minutes=5))  # fmt: skip
        trading.place_bid(store, lot["id"], account=xa, price_fen=275_000, units=q // 2,
                          actor=agent_of[bidder], time=t2 + dt.timedelta(minutes=9))  # fmt: skip
        trading.close_lot(store, lot["id"], actor=operator, time=t2 + dt.timedelta(hours=2))
        counts["trades"] = len(trading.trades(store))

    # reduction registration: a holder whose year-to-date emissions are below its rights
    ver = rights.verified_kg(store, on.year)
    end = dt.date(on.year, 12, 31)
    for d in [x for pol in RIGHT_POLLUTANTS for x in det.get(pol, [])]:
        actual = ver.get((d.permit_no, d.pollutant))
        held = rights.right_holdings(store, d.holder, end).get(d.pollutant, 0)
        if actual is not None and actual < held:
            rights.register_reduction(
                store, d.holder, d.pollutant, on.year, actor=operator, verified_year=ver
            )
            counts["reductions"] = 1
            break

    # carbon: two covered firms' positions mirrored, a 漳河 sink project, surrender
    covered = holders[:2]
    for i, h in enumerate(covered):
        carbon.mirror_position(store, h, on.year, allocation=200_000 + 50_000 * i,
                               rules_id="hubei-carbon-2014",
                               source="演示：配额数为示例，非公布数", actor=operator)  # fmt: skip
        carbon.report_verified(store, h, on.year, 205_000 + 50_000 * i, actor=operator)
    if covered:
        owner = covered[0]
        carbon.register_sink_project(store, "JM-ZH-2026-01", name="漳河林场林业碳汇项目（演示）",
                                     owner=owner, area="420800", methodology="AR-CM-001-V01",
                                     actor=operator)  # fmt: skip
        carbon.issue_sink_credits(store, "JM-ZH-2026-01", vintage=on.year, units=8_000,
                                  verification="演示核证报告 ZH-01", actor=operator)  # fmt: skip
        acc = f"H-{owner}"
        agent = reps.get(owner, f"rep-{owner}")
        carbon.surrender(store, acc, on.year, "carbon_allowance", 200_000, actor=agent)
        carbon.surrender(store, acc, on.year, "carbon_sink", 5_000, actor=agent)

    # energy saving confirmed and traded
    if len(holders) >= 2:
        es = carbon.confirm_energy_saving(
            store, holders[0], year=on.year, baseline_audit="演示基准审核 JN-01",
            audit_report="演示节能量审核 JN-01", auditor="演示第三方机构", actor=operator,
            products=[ProductPeriods("主产品", 50_000_000, Decimal(1000), 52_000_000,
                                     Decimal(1100))],
        )  # fmt: skip
        trading.settle(
            store, kind="节能量交易", ref=es["id"], seller_account=f"H-{holders[0]}",
            buyer_account=f"H-{holders[1]}",
            select=Select(instrument=Instrument.ENERGY_SAVING, quantity=es["units"] // 2),
            price_fen=10_000, agent=reps.get(holders[0], f"rep-{holders[0]}"), actor=operator,
            time=at + dt.timedelta(hours=5),
        )  # fmt: skip
        counts["energy_saving_kgce"] = es["units"]
    counts["board"] = len(compliance_board.close_year(store, on.year, actor=operator, verified=ver))
    return counts
