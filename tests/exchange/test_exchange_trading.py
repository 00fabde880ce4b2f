"""Emission rights end to end on both backends: determination from permits → issuance and the
permits amended; fees in instalments through the ledger; an agreement transfer and a bidding
session settling units and money at once and issuing both parties' new permit versions; the
Hubei restrictions refusing; expiry as the periodic task."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from exreg_helpers import ALICE, BOB, OP, A, B
from exsvc_helpers import COD, ON, REG, SO2, ready

from bishui.errors import PermissionDenied
from bishui.exchange import ledger, rights, service, trading
from bishui.exchange.checks import Refused
from bishui.exchange.market.restrictions import Party
from bishui.exchange.registry import balances
from bishui.sources import permit_store
from bishui.store import Store


def _caps(store: Store, uscc: str, day: dt.date) -> dict[str, Decimal]:
    (p,) = [p for p in permit_store.load_permits(store, "p.uscc = ?", [uscc]) if p.is_in_force(day)]
    return p.annual_caps


def test_determination_fees_and_expiry(store: Store) -> None:
    ready(store)
    ds = {d["holder"]: d for d in rights.determinations(store)}
    # candidates min(permit, mean): A 2000, B 2550 → 4550 > cap 4000 → scaled, sum = cap
    assert ds[A]["historical"] == 2000 and ds[B]["historical"] == 2550
    assert ds[A]["determined"] + ds[B]["determined"] == 4000 and ds[A]["scaled"]
    assert ds[A]["region"] == "汉江" and ds[A]["valid_until"] == dt.date(2031, 1, 9)
    assert sum(b.size for b in service.holdings(store, "HA")) == ds[A]["determined"]
    # confirmed in the permit: a new version from the next day with the determined quantity
    day = ON + dt.timedelta(days=1)
    assert _caps(store, A, day)[COD] * 1000 == ds[A]["determined"]
    assert _caps(store, A, day)[SO2] == Decimal("5")  # others unchanged
    assert rights.permit_check(store, A, day) == []
    # 定额出让: rate 23 000 fen/t·a × 1.758 t × 5 a, in two instalments
    f = rights.assess_fee(
        store, A, vintage=2026, schedule_id="hn-zhuzhou-2017", years=5, on=ON,
        instalments=2, every_months=12, actor=OP,
    )  # fmt: skip
    assert f["total_fen"] == 23000 * ds[A]["determined"] * 5 // 1000
    assert sum(i["amount_fen"] for i in f["instalments"]) == f["total_fen"]
    with pytest.raises(PermissionDenied):
        rights.assess_fee(store, B, vintage=2026, schedule_id="hn-zhuzhou-2017", years=5,
                          on=ON, instalments=1, every_months=12, actor=ALICE)  # fmt: skip
    rights.pay_instalment(store, f["id"], 1, actor=ALICE)
    with pytest.raises(PermissionDenied):
        rights.pay_instalment(store, f["id"], 2, actor=BOB)
    assert ledger.balance(store, rights.FEE_INCOME) == f["instalments"][0]["amount_fen"]
    assert rights.fee(store, f["id"])["instalments"][0]["paid_tx"] is not None
    # expiry: nothing before 2031-01-10; everything of the vintage after
    rights.refresh(store, dt.datetime(2030, 6, 1, 0, 5))
    assert service.holdings(store, "HA")
    rights.refresh(store, dt.datetime(2031, 1, 10, 0, 5))
    assert service.holdings(store, "HA") == []
    assert service.verify(store) is None and ledger.verify(store) is None


def test_agreement_transfer_and_bidding_settle_atomically(store: Store) -> None:
    ready(store)
    t0 = dt.datetime(2026, 3, 2, 10, 0)
    x = trading.propose_transfer(
        store, seller_account="HA", buyer_account="HB", instrument_="emission_right",
        pollutant=COD, units=500, price_fen=300_000, expires_at=t0 + dt.timedelta(days=7),
        actor=ALICE, time=t0,
    )  # fmt: skip
    with pytest.raises(PermissionDenied):
        trading.act_on_transfer(store, x["id"], "accept", actor=ALICE, role="party", time=t0)
    trading.act_on_transfer(store, x["id"], "accept", actor=BOB, role="party", time=t0)
    trading.act_on_transfer(store, x["id"], "approve", actor=REG, role="regulator", time=t0)
    before_a = sum(b.size for b in service.holdings(store, "HA"))
    done = trading.act_on_transfer(store, x["id"], "settle", actor=OP, role="exchange", time=t0)
    assert done["state"] == "settled"
    assert sum(b.size for b in service.holdings(store, "HA")) == before_a - 500
    (tr,) = trading.trades(store)
    assert tr["amount_fen"] == 150_000  # 3 000 CNY/t × 0.5 t
    assert ledger.balance(store, ledger.cash_account_of(A)) == 10_000_00 + 150_000
    assert ledger.balance(store, ledger.cash_account_of(B)) == 10_000_00 - 150_000
    # both parties' permits changed, consistent with holdings, reason citing the trade
    assert [p["consistent"] for p in tr["permits"]] == [True, True]
    day = t0.date() + dt.timedelta(days=1)
    assert _caps(store, B, day)[COD] * 1000 == sum(b.size for b in service.holdings(store, "HB"))
    hist = permit_store.permit_history(store, B + "001P")
    assert any(tr["id"] in str(h.get("change_reason", "")) for h in hist)

    # a bidding session: announced, bids, award at close, settlement
    t1 = dt.datetime(2026, 4, 1, 9, 0)
    lot = trading.announce_lot(
        store, seller_account="HA", seller_agent=ALICE, instrument_="emission_right",
        pollutant=COD, units=200, reserve_fen=250_000, opens=t1,
        closes=t1 + dt.timedelta(hours=2), actor=OP,
    )  # fmt: skip
    with pytest.raises(Refused) as ei:
        trading.place_bid(store, lot["id"], account="HB", price_fen=100, units=10, actor=BOB,
                          time=t1 + dt.timedelta(minutes=1))  # fmt: skip
    assert "below_reserve" in [r.code for r in ei.value.refusals]
    trading.place_bid(store, lot["id"], account="HB", price_fen=260_000, units=150, actor=BOB,
                      time=t1 + dt.timedelta(minutes=2))  # fmt: skip
    closed = trading.close_lot(store, lot["id"], actor=OP, time=t1 + dt.timedelta(hours=2))
    assert closed["state"] == "closed"
    assert [(b["awarded_units"], b["awarded_fen"]) for b in closed["bids"]] == [(150, 39_000)]
    assert len(trading.trades(store)) == 2
    # conservation: money sums to zero; units issued = held + …; replay == stored
    assert sum(ledger.balances(store).values()) == 0
    assert balances(service.replayed(store)) == balances(service.stored(store))
    assert service.verify(store) is None and ledger.verify(store) is None


def test_restrictions_and_funds_refuse_and_write_nothing(store: Store) -> None:
    ready(store)
    # B is an agricultural source now: industry ↔ agriculture is refused (鄂 rules)
    rights.set_party(store, Party(B, "420804", "汉江", "agriculture", False, True), actor=OP)
    t0 = dt.datetime(2026, 3, 2, 10, 0)
    x = trading.propose_transfer(
        store, seller_account="HA", buyer_account="HB", instrument_="emission_right",
        pollutant=COD, units=10, price_fen=300_000, expires_at=t0 + dt.timedelta(days=7),
        actor=ALICE, time=t0,
    )  # fmt: skip
    trading.act_on_transfer(store, x["id"], "accept", actor=BOB, role="party", time=t0)
    trading.act_on_transfer(store, x["id"], "approve", actor=REG, role="regulator", time=t0)
    n_log, n_money = len(service.log_rows(store)), len(ledger.ledger_rows(store))
    with pytest.raises(Refused) as ei:
        trading.act_on_transfer(store, x["id"], "settle", actor=OP, role="exchange", time=t0)
    assert [r.code for r in ei.value.refusals] == ["industry_agriculture"]
    rights.set_party(store, Party(B, "420804", "汉江", "industry", False, True), actor=OP)
    # a buyer without the money: neither units nor money move
    ledger.post(
        store, [ledger.Posting(ledger.cash_account_of(B), -10_000_00),
                ledger.Posting(ledger.BANK, 10_000_00)], kind="withdrawal", actor=OP, reason="出金",
    )  # fmt: skip
    n_money += 1
    with pytest.raises(Refused) as ei:
        trading.act_on_transfer(store, x["id"], "settle", actor=OP, role="exchange", time=t0)
    assert [r.code for r in ei.value.refusals] == ["funds_insufficient"]
    assert (len(service.log_rows(store)), len(ledger.ledger_rows(store))) == (n_log, n_money)
    assert trading.get_transfer(store, x["id"])["state"] == "approved"


def test_settlement_failing_in_the_permits_changes_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Units, money, the trade and both permits change together or not at all: a failure
    injected while the permit versions are written (after the units and the money moved in the
    same transaction) leaves the registry, the ledger, the trades and the permits as they were."""
    ready(store)
    t0 = dt.datetime(2026, 3, 2, 10, 0)
    x = trading.propose_transfer(
        store, seller_account="HA", buyer_account="HB", instrument_="emission_right",
        pollutant=COD, units=500, price_fen=300_000, expires_at=t0 + dt.timedelta(days=7),
        actor=ALICE, time=t0,
    )  # fmt: skip
    trading.act_on_transfer(store, x["id"], "accept", actor=BOB, role="party", time=t0)
    trading.act_on_transfer(store, x["id"], "approve", actor=REG, role="regulator", time=t0)

    def snapshot() -> tuple[object, ...]:
        return (
            len(service.log_rows(store)), len(ledger.ledger_rows(store)),
            ledger.balances(store), balances(service.stored(store)), trading.trades(store),
            permit_store.permit_history(store, A + "001P"),
            permit_store.permit_history(store, B + "001P"),
        )  # fmt: skip

    before = snapshot()
    seen: list[int] = []
    real = permit_store.record_permits_in

    def failing(tx, permits, **kw):  # type: ignore[no-untyped-def]
        # the units and the money have moved inside this very transaction
        seen.append(len(tx.fetch("SELECT seq FROM exchange_log")))
        raise RuntimeError("injected: the permit store fails")

    monkeypatch.setattr(permit_store, "record_permits_in", failing)
    with pytest.raises(RuntimeError, match="injected"):
        trading.act_on_transfer(store, x["id"], "settle", actor=OP, role="exchange", time=t0)
    assert seen and seen[0] == before[0] + 1  # the transfer's log row was written, then undone
    assert snapshot() == before
    assert service.verify(store) is None and ledger.verify(store) is None
    # the permit store restored, the same settlement goes through whole
    monkeypatch.setattr(permit_store, "record_permits_in", real)
    trading.act_on_transfer(store, x["id"], "settle", actor=OP, role="exchange", time=t0)
    (tr,) = trading.trades(store)
    assert [p["consistent"] for p in tr["permits"]] == [True, True]
    assert balances(service.replayed(store)) == balances(service.stored(store))


def test_determination_and_its_permits_commit_together(store: Store) -> None:
    """Rights issued and permits amended in one store transaction: B's permit ends on the day
    of determination, so it cannot be amended from the next day — nothing is issued either."""
    from exreg_helpers import setup
    from exsvc_helpers import METHOD, permit

    from bishui.errors import InputError
    from bishui.sources.permits import ManagementClass, Permit

    setup(lambda req, actor: service.submit(store, req, actor=actor))
    ending = Permit(B + "001P", 1, B, "荆门乙热电", ManagementClass.KEY, dt.date(2025, 1, 1), ON,
                    annual_caps={COD: Decimal("3")})  # fmt: skip
    permit_store.record_permits(store, [permit(A, "荆门甲化工", "2", "5"), ending])
    rights.set_party(store, Party(A, "420802", "汉江", "industry", False, True), actor=OP)
    rights.set_party(store, Party(B, "420804", "汉江", "industry", False, True), actor=OP)
    logged = len(service.log_rows(store))
    with pytest.raises(InputError):
        rights.determine_rights(
            store, pollutant=COD, vintage=2026, cap_kg=4000, method=METHOD, on=ON, actor=OP,
            verified={A + "001P": [1800, 2200], B + "001P": [2500, 2600]},
        )  # fmt: skip
    assert rights.determinations(store) == []
    assert service.holdings(store, "HA") == [] and service.holdings(store, "HB") == []
    assert len(service.log_rows(store)) == logged
    assert [p.version for p in permit_store.load_permits(store, "p.uscc = ?", [A])] == [1]
