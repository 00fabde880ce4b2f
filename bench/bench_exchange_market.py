"""The exchange's market rules on large books: electronic bidding and the call-auction price.

    /work/venv/bin/python bench/bench_exchange_market.py [--short]

Times :func:`bishui.exchange.market.bidding.award` on one lot with N bids (validation, ranking,
filling, exact amounts in fen), and :func:`~bishui.exchange.market.bidding.call_auction_price`
on N buy and N sell orders, against a named baseline in the same run: the call-auction rule
written out literally (for each candidate price, sum both sides of the book again), on the
same orders.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bishui.exchange.instruments import Instrument
from bishui.exchange.market.bidding import Bid, Lot, Order, award, call_auction_price

SHORT = "--short" in sys.argv


def literal(buys: list[Order], sells: list[Order], close: int) -> int | None:
    best = None
    for p in {o.price_fen for o in buys + sells}:
        demand = sum(o.units for o in buys if o.price_fen >= p)
        supply = sum(o.units for o in sells if o.price_fen <= p)
        v = min(demand, supply)
        above = sum(o.units for o in buys if o.price_fen > p)
        below = sum(o.units for o in sells if o.price_fen < p)
        if v > 0 and above <= v and below <= v:
            key = (-v, abs(demand - supply), abs(p - close), p)
            best = key if best is None or key < best else best
    return None if best is None else best[3]


def main() -> int:
    rng = random.Random(1)
    n_bids = 5_000 if SHORT else 200_000
    t0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    lot = Lot("L", Instrument.EMISSION_RIGHT, "w01018", n_bids * 500, 2_000_000, t0,
              t0 + dt.timedelta(hours=1), "420800", "汉江", True, "pay_as_bid")  # fmt: skip
    bids = [
        Bid(f"b{i}", f"p{i % 997}", rng.randrange(1_990_000, 2_900_000, 100),
            rng.randrange(1, 2_000), t0 + dt.timedelta(seconds=rng.randrange(3_700)))
        for i in range(n_bids)
    ]  # fmt: skip
    t = time.perf_counter()
    r = award(lot, bids)
    took = time.perf_counter() - t
    print(f"award: {n_bids} bids in {took:.3f} s ({n_bids / took:,.0f} bids/s); "
          f"{len(r.awards)} awards, {len(r.refused)} refused")  # fmt: skip

    n = 2_000 if SHORT else 20_000
    buys = [Order(rng.randrange(9_000, 11_000), rng.randrange(1, 500)) for _ in range(n)]
    sells = [Order(rng.randrange(9_500, 11_500), rng.randrange(1, 500)) for _ in range(n)]
    t = time.perf_counter()
    fast = call_auction_price(buys, sells, 10_000)
    one_pass = time.perf_counter() - t
    m = 200 if SHORT else 2_000  # the literal rule is quadratic: a smaller book
    t = time.perf_counter()
    lit = literal(buys[:m], sells[:m], 10_000)
    base = time.perf_counter() - t
    same = call_auction_price(buys[:m], sells[:m], 10_000).price_fen == lit
    print(f"call auction: {2 * n} orders in {one_pass:.4f} s (price {fast.price_fen}); "
          f"literal baseline: {2 * m} orders in {base:.3f} s; agree: {same}")  # fmt: skip
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
