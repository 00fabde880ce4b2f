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

on DuckDB (a fresh file) and on PostgreSQL (a fresh schema). ``--short``: 20 bidders (CI).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
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
    a = ap.parse_args()
    if a.short:
        a.bidders = 20
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
            drop = getattr(store, "drop_schema", None)
            if drop is not None:
                drop()
            store.close()


if __name__ == "__main__":
    main()
