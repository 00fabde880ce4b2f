"""Settlements racing on PostgreSQL, each client its own store (connection): one approved
transfer settled by several clients at once settles once; transfers from one seller that
together exceed its holdings never overspend units or money; a lot closed twice at once is
awarded once."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from exreg_helpers import ALICE, BOB, OP
from exsvc_helpers import COD, REG, ready

from bishui.app import open_store
from bishui.errors import ConflictError
from bishui.exchange import ledger, service, trading
from bishui.exchange.registry import balances
from bishui.store import Store

T0 = dt.datetime(2026, 3, 2, 10, 0)
PG = [pytest.param("postgresql", marks=pytest.mark.postgres)]


def _race(store: Store, n: int, fn: Callable[[Store], Any]) -> tuple[int, list[BaseException]]:
    schema = getattr(store, "schema", None)
    clients = [open_store(store.url, schema=schema, migrate=False) for _ in range(n)]
    start = threading.Barrier(n)
    ok, refused, lock = [0], [], threading.Lock()

    def work(c: Store) -> None:
        start.wait()
        try:
            fn(c)
            with lock:
                ok[0] += 1
        except ConflictError as exc:  # Refused is one: a refusal, not an error
            with lock:
                refused.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for c in clients:
        c.close()
    return ok[0], refused


def _approved(store: Store, units: int) -> str:
    x = trading.propose_transfer(
        store, seller_account="HA", buyer_account="HB", instrument_="emission_right",
        pollutant=COD, units=units, price_fen=100_000, expires_at=T0 + dt.timedelta(days=7),
        actor=ALICE, time=T0,
    )  # fmt: skip
    trading.act_on_transfer(store, x["id"], "accept", actor=BOB, role="party", time=T0)
    trading.act_on_transfer(store, x["id"], "approve", actor=REG, role="regulator", time=T0)
    return str(x["id"])


def _conserved(store: Store) -> None:
    assert sum(ledger.balances(store).values()) == 0
    assert balances(service.replayed(store)) == balances(service.stored(store))
    assert service.verify(store) is None and ledger.verify(store) is None


@pytest.mark.parametrize("backend", PG)
def test_one_transfer_settles_once(store: Store) -> None:
    ready(store)
    xid = _approved(store, 100)
    ok, refused = _race(store, 4, lambda c: trading.act_on_transfer(
        c, xid, "settle", actor=OP, role="exchange", time=T0))  # fmt: skip
    assert ok == 1 and len(refused) == 3
    assert len(trading.trades(store)) == 1
    assert trading.get_transfer(store, xid)["state"] == "settled"
    _conserved(store)


@pytest.mark.parametrize("backend", PG)
def test_transfers_beyond_holdings_never_overspend(store: Store) -> None:
    ready(store)
    held = sum(b.size for b in service.holdings(store, "HA"))
    ids = [_approved(store, held * 6 // 10) for _ in range(3)]
    it = iter(ids)
    lock = threading.Lock()

    def go(c: Store) -> None:
        with lock:
            xid = next(it)
        trading.act_on_transfer(c, xid, "settle", actor=OP, role="exchange", time=T0)

    ok, refused = _race(store, 3, go)
    assert ok == 1 and len(refused) == 2  # only one fits in the holdings
    assert sum(b.size for b in service.holdings(store, "HA")) == held - held * 6 // 10
    _conserved(store)


@pytest.mark.parametrize("backend", PG)
def test_a_lot_closed_twice_at_once_is_awarded_once(store: Store) -> None:
    ready(store)
    lot = trading.announce_lot(
        store, seller_account="HA", seller_agent=ALICE, instrument_="emission_right",
        pollutant=COD, units=100, reserve_fen=100_000, opens=T0,
        closes=T0 + dt.timedelta(hours=1), actor=OP,
    )  # fmt: skip
    trading.place_bid(store, lot["id"], account="HB", price_fen=100_000, units=100, actor=BOB,
                      time=T0 + dt.timedelta(minutes=1))  # fmt: skip
    ok, refused = _race(store, 3, lambda c: trading.close_lot(
        c, lot["id"], actor=OP, time=T0 + dt.timedelta(hours=1)))  # fmt: skip
    assert ok == 1 and len(refused) == 2
    assert len(trading.trades(store)) == 1
    _conserved(store)


@pytest.mark.parametrize("backend", PG)
def test_many_bidders_and_transfers_at_once(store: Store) -> None:
    """Clients bid into one open session while others settle transfers from the lot's seller,
    all at once on PostgreSQL: every bid is recorded (no lost bid), every transfer settles once,
    the units and money conserve (no double spend), every client finishes (no deadlock left
    unresolved); the award then takes price before time from every recorded bid."""
    ready(store)
    held0 = sum(b.size for b in service.holdings(store, "HA"))
    t1 = dt.datetime(2026, 4, 1, 9, 0)
    lot = trading.announce_lot(
        store, seller_account="HA", seller_agent=ALICE, instrument_="emission_right",
        pollutant=COD, units=200, reserve_fen=250_000, opens=t1,
        closes=t1 + dt.timedelta(hours=2), actor=OP,
    )  # fmt: skip
    xids = [_approved(store, 50) for _ in range(4)]  # 4 × 50 kg HA → HB, besides the lot
    bidders, bids_each = 6, 5
    jobs: list[Callable[[Store], Any]] = []
    for i in range(bidders):

        def bid(c: Store, i: int = i) -> None:
            for k in range(bids_each):
                trading.place_bid(c, lot["id"], account="HB", actor=BOB, units=40,
                                  price_fen=250_000 + 1_000 * (i * bids_each + k),
                                  time=t1 + dt.timedelta(minutes=1 + k))  # fmt: skip

        jobs.append(bid)
    for x in xids:
        jobs.append(lambda c, x=x: trading.act_on_transfer(
            c, x, "settle", actor=OP, role="exchange", time=T0))  # fmt: skip
    schema = getattr(store, "schema", None)
    clients = [open_store(store.url, schema=schema, migrate=False) for _ in jobs]
    start = threading.Barrier(len(jobs))
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(c: Store, job: Callable[[Store], Any]) -> None:
        start.wait()
        try:
            job(c)
        except BaseException as exc:  # any refusal or storage error fails the test
            with lock:
                errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(c, j)) for c, j in zip(clients, jobs, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    alive = [t for t in threads if t.is_alive()]
    for c in clients:
        c.close()
    assert not alive and errors == []
    got = trading.get_lot(store, lot["id"])
    assert len(got["bids"]) == bidders * bids_each  # no lost bid
    assert [trading.get_transfer(store, x)["state"] for x in xids] == ["settled"] * 4
    assert len(trading.trades(store)) == 4
    closed = trading.close_lot(store, lot["id"], actor=OP, time=t1 + dt.timedelta(hours=2))
    awarded = sorted((b["price_fen"], b["awarded_units"]) for b in closed["bids"]
                     if b["awarded_units"])  # fmt: skip
    top = 250_000 + 1_000 * (bidders * bids_each - 1)
    assert awarded == [(top - 1_000 * k, 40) for k in range(5)][::-1]  # the 5 best prices
    assert sum(b.size for b in service.holdings(store, "HA")) == held0 - 200 - 200
    _conserved(store)
