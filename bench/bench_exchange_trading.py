"""Benchmark: an electronic bidding session on the store — bids placed, the lot awarded and
every award settled (units + money in one transaction each, then both parties' permits).

City: ``--bidders`` enterprises with a permit (COD), a trading profile, a holding account and
cash; the seller holds 1,000 t of 2026 COD rights (determined, so its permit matches). One lot
of ``--units`` kg at a reserve price; each bidder bids once for 1–20 kg at a price on the tick
(fixed seed), so the award fills many bids.

Measured, in one process:

* **baseline, pure core**: ``market.bidding.award`` on the same bids (no store);
* **bids**: ``trading.place_bid`` one after another — bids per second;
* **close**: ``trading.close_lot`` — the award and the settlement of every award (registry
  transfer with the Hubei restrictions, the payment, the trade, both permits amended);
  settlements per second, and bids per second end to end (bids + close);

on DuckDB (a fresh file) and on PostgreSQL (a fresh schema). Then, on PostgreSQL only:

* **settlement latency under load**: ``--transfers`` approved agreement transfers from the
  seller (1 kg each, to the bidders in turn) settled one after another by one client (the
  baseline), then as many again settled by ``--clients`` clients at once (each its own
  connection) while two more clients keep bidding into a second open lot; p50 and p99 of each
  settlement's latency (registry transfer, payment, trade and both permits, one transaction).

``--short``: 20 bidders, 16 transfers, 4 clients (CI).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bishui.app import open_store
from bishui.exchange import ledger, rights, service, trading
from bishui.exchange.instruments import instrument
from bishui.exchange.ledger import CashKind
from bishui.exchange.market import bidding
from bishui.exchange.market.determination import DeterminationMethod
from bishui.exchange.market.restrictions import Party
from bishui.exchange.registry import AccountKind, AddOperator, Entity, OpenAccount, RegisterEntity
from bishui.registry import uscc
from bishui.sources import permit_store
from bishui.sources.permits import ManagementClass, Permit
from bishui.store import Store

PG_URL = os.environ.get("BISHUI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
OP = "op.bench"
COD = "w01018"
T0 = dt.datetime(2026, 4, 1, 9, 0)
VALID = (dt.date(2025, 1, 1), dt.date(2030, 12, 31))


def city(store: Store, n: int) -> list[str]:
    """The seller (index 0) and *n* bidders; returns their codes."""
    codes = [uscc.generate("420802", 800_000 + i) for i in range(n + 1)]
    service.submit(store, AddOperator(OP), actor=OP)
    rights.ensure_government_accounts(store, "gov")
    permits = []
    for i, c in enumerate(codes):
        service.submit(store, RegisterEntity(Entity(c, "enterprise", f"企业{i}")), actor=OP)
        service.submit(store, OpenAccount(f"H{i}", AccountKind.HOLDING, c, (f"u{i}",)), actor=OP)
        rights.set_party(store, Party(c, "420802", "汉江", "industry", False, True), actor=OP)
        ledger.open_cash_account(store, ledger.cash_account_of(c), CashKind.CASH, c)
        ledger.deposit(store, ledger.cash_account_of(c), 10**10, actor=OP)
        caps = {COD: Decimal(1000 if i == 0 else 0)}
        permits.append(Permit(c + "001P", 1, c, f"企业{i}", ManagementClass.KEY, VALID[0],
                              VALID[1], annual_caps=caps))  # fmt: skip
    permit_store.record_permits(store, permits)
    rights.determine_rights(
        store, pollutant=COD, vintage=2026, cap_kg=10**9, method=DeterminationMethod(
            1, Decimal(1), "bench"), on=dt.date(2026, 1, 5), actor=OP, usccs=codes[:1],
        verified={codes[0] + "001P": [1_000_000]},
    )  # fmt: skip
    return codes


def bids(n: int, seed: int = 7) -> list[tuple[int, int, int]]:
    """(bidder index, price [fen/t], units [kg]) per bidder."""
    rnd = random.Random(seed)
    return [(i + 1, 250_000 + 100 * rnd.randint(0, 500), rnd.randint(1, 20)) for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--bidders", type=int, default=200)
    ap.add_argument("--transfers", type=int, default=80)
    ap.add_argument("--clients", type=int, default=8)
    a = ap.parse_args()
    if a.short:
        a.bidders, a.transfers, a.clients = 20, 16, 4
    work = bids(a.bidders)
    units = sum(u for _, _, u in work) * 2 // 3  # not every bid fills
    print(f"{a.bidders} bidders, one lot of {units} kg COD")
    lot = bidding.Lot("L", instrument("emission_right"), COD, units, 250_000,
                      T0.replace(tzinfo=trading.CST),
                      (T0 + dt.timedelta(hours=2)).replace(tzinfo=trading.CST), "420802", "汉江",
                      True, "pay_as_bid")  # fmt: skip
    pure = [bidding.Bid(f"b{i}", f"c{i}", p, u, (T0 + dt.timedelta(seconds=i + 1)).replace(
        tzinfo=trading.CST)) for i, p, u in work]  # fmt: skip
    t = time.perf_counter()
    result = bidding.award(lot, pure)
    t_pure = time.perf_counter() - t
    print(f"baseline: pure award of {len(pure)} bids   {t_pure * 1e3:9.1f} ms "
          f"({len(result.awards)} awards)")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        backends: list[tuple[str, Store]] = [("duckdb", open_store(str(Path(tmp) / "x.duckdb")))]
        try:
            backends.append(("postgresql", open_store(PG_URL, schema=f"b_{uuid.uuid4().hex[:12]}")))
        except Exception as exc:  # no server: DuckDB only
            print(f"PostgreSQL not measured: {exc}")
        for name, store in backends:
            city(store, a.bidders)
            lid = trading.announce_lot(
                store, seller_account="H0", seller_agent="u0", instrument_="emission_right",
                pollutant=COD, units=units, reserve_fen=250_000, opens=T0,
                closes=T0 + dt.timedelta(hours=2), actor=OP,
            )["id"]  # fmt: skip
            t = time.perf_counter()
            for i, p, u in work:
                trading.place_bid(store, lid, account=f"H{i}", price_fen=p, units=u,
                                  actor=f"u{i}", time=T0 + dt.timedelta(seconds=i))  # fmt: skip
            t_bids = time.perf_counter() - t
            t = time.perf_counter()
            closed = trading.close_lot(store, lid, actor=OP, time=T0 + dt.timedelta(hours=2))
            t_close = time.perf_counter() - t
            n_awards = sum(1 for b in closed["bids"] if b["awarded_units"])
            assert n_awards == len(result.awards)
            assert service.verify(store) is None and ledger.verify(store) is None
            print(f"{name}: {len(work)} bids {t_bids:7.2f} s ({len(work) / t_bids:7.1f} bids/s); "
                  f"close {t_close:7.2f} s ({n_awards} awards settled, "
                  f"{n_awards / t_close:6.1f} settlements/s); end to end "
                  f"{len(work) / (t_bids + t_close):6.1f} bids/s")  # fmt: skip
            if name == "postgresql":
                under_load(store, a.bidders, a.transfers, a.clients)
            drop = getattr(store, "drop_schema", None)
            if drop is not None:
                drop()
            store.close()


def approved(store: Store, n: int, bidders: int, tag: str) -> list[str]:
    """*n* approved agreement transfers of 1 kg from the seller to the bidders in turn."""
    out = []
    for k in range(n):
        j = 1 + k % bidders
        x = trading.propose_transfer(
            store, seller_account="H0", buyer_account=f"H{j}", instrument_="emission_right",
            pollutant=COD, units=1, price_fen=300_000, expires_at=T0 + dt.timedelta(days=7),
            actor="u0", time=T0,
        )  # fmt: skip
        trading.act_on_transfer(store, x["id"], "accept", actor=f"u{j}", role="party", time=T0)
        trading.act_on_transfer(store, x["id"], "approve", actor=f"reg-{tag}", role="regulator",
                                time=T0)  # fmt: skip
        out.append(str(x["id"]))
    return out


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))]


def settle_one(store: Store, xid: str) -> float:
    t = time.perf_counter()
    trading.act_on_transfer(store, xid, "settle", actor=OP, role="exchange", time=T0)
    return time.perf_counter() - t


def under_load(store: Store, bidders: int, n: int, clients: int) -> None:
    """Settlement latency, one client (baseline) against *clients* at once with bidding."""
    base = [settle_one(store, x) for x in approved(store, n, bidders, "a")]
    work = approved(store, n, bidders, "b")
    lid = trading.announce_lot(
        store, seller_account="H0", seller_agent="u0", instrument_="emission_right",
        pollutant=COD, units=10_000, reserve_fen=250_000, opens=T0,
        closes=T0 + dt.timedelta(days=1), actor=OP,
    )["id"]  # fmt: skip
    schema = getattr(store, "schema", None)
    conns = [open_store(store.url, schema=schema, migrate=False) for _ in range(clients + 2)]
    lat: list[float] = []
    lock = threading.Lock()
    done = threading.Event()
    n_bids = [0]

    def settler(c: Store, mine: list[str]) -> None:
        for x in mine:
            dt_ = settle_one(c, x)
            with lock:
                lat.append(dt_)

    def bidder(c: Store, j: int) -> None:
        k = 0
        while not done.is_set():
            trading.place_bid(c, lid, account=f"H{j}", price_fen=250_000 + 100 * (k % 50),
                              units=1, actor=f"u{j}",
                              time=T0 + dt.timedelta(minutes=1))  # fmt: skip
            k += 1
        with lock:
            n_bids[0] += k

    settlers = [threading.Thread(target=settler, args=(conns[i], work[i::clients]))
                for i in range(clients)]  # fmt: skip
    bids_ = [threading.Thread(target=bidder, args=(conns[clients + j], 1 + j)) for j in range(2)]
    t = time.perf_counter()
    for th in settlers + bids_:
        th.start()
    for th in settlers:
        th.join()
    wall = time.perf_counter() - t
    done.set()
    for th in bids_:
        th.join()
    for c in conns:
        c.close()
    assert len(lat) == n and service.verify(store) is None and ledger.verify(store) is None
    print(f"postgresql settlement latency, 1 client (baseline): p50 "
          f"{statistics.median(base) * 1e3:7.1f} ms  "
          f"p99 {pct(base, 99) * 1e3:7.1f} ms")  # fmt: skip
    print(f"postgresql settlement latency, {clients} clients + 2 bidding ({n_bids[0]} bids): "
          f"p50 {statistics.median(lat) * 1e3:7.1f} ms  p99 {pct(lat, 99) * 1e3:7.1f} ms  "
          f"{n / wall:6.1f} settlements/s")  # fmt: skip


if __name__ == "__main__":
    main()
