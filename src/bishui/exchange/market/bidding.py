"""Electronic bidding (电子竞价) for announced lots, and the call-auction price (集合竞价).

电子竞价 (湖北环境资源交易中心 FAQ, exchange-and-permits notes §A2 [V]; 公开出让 by auction,
财税〔2015〕61号 [V]): a lot is announced with its quantity, reserve price and bidding window;
bids are ranked by **price, then time** (价格优先、时间优先) and filled in that order until
the lot is exhausted.

The notes do not say more, so these are parameters of :class:`Lot`:

* ``partial_fills``: whether the last bid reached may be filled in part. When ``False`` a bid
  that no longer fits entirely is passed over and the next one in priority order is tried
  (all-or-none);
* ``pricing``: ``"pay_as_bid"`` (each winner pays its own price — the usual reading of price
  priority in a one-round sealed auction) or ``"uniform"`` (every winner pays the lowest
  winning price). The project's default is none: the announcement says which.

Refusals carry a code and zh/en messages. A bid is refused when it is below the reserve
price (``below_reserve``), outside the window (``outside_window``: the window is
``opens <= time < closes``), for nothing or more than the lot (``bad_quantity``), off the
price tick (``off_tick``), not whole fen (``bad_price``) or a repeated bid id
(``duplicate_bid``).

:func:`call_auction_price` is the 集合竞价 rule of Chinese exchanges (notes §A5 [S]).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from bishui.errors import InputError
from bishui.exchange.instruments import INSTRUMENTS, Instrument, right_pollutant
from bishui.exchange.market.money import DEFAULT_ROUNDING, Rounding, amount_fen, check_int
from bishui.exchange.market.refusals import Refusal

Pricing = Literal["pay_as_bid", "uniform"]


@dataclass(frozen=True)
class Lot:
    """An announced lot (挂牌/竞价公告).

    Attributes
    ----------
    lot_id : str
    instrument : Instrument
    pollutant : str
        HJ 212 code for an emission right; "" for other instruments.
    units : int
        Quantity offered [registry unit].
    reserve_fen : int
        Reserve (starting) price [fen / trading unit].
    opens, closes : datetime
        The bidding window, ``opens <= t < closes`` (timezone-aware).
    region : str
        GB/T 2260 code of the area the lot is sold in.
    basin : str
        The river basin, for water pollutants ("" otherwise).
    partial_fills : bool
        Whether a bid may be filled in part (module docstring).
    pricing : {"pay_as_bid", "uniform"}
        What winners pay (module docstring).
    tick_fen : int
        Price step [fen]; 1 fen (0.01 CNY) is the tick the notes give for carbon (§A1 [S],
        §A1b [V]); a bid off the tick is refused.
    """

    lot_id: str
    instrument: Instrument
    pollutant: str
    units: int
    reserve_fen: int
    opens: dt.datetime
    closes: dt.datetime
    region: str
    basin: str
    partial_fills: bool
    pricing: Pricing
    tick_fen: int = 1

    def __post_init__(self) -> None:
        check_int(self.units, "units", minimum=1)
        check_int(self.reserve_fen, "reserve_fen")
        check_int(self.tick_fen, "tick_fen", minimum=1)
        if self.opens.tzinfo is None or self.closes.tzinfo is None:
            raise InputError("opens", "timezone-aware times", self.opens)
        if not self.opens < self.closes:
            raise InputError("closes", "after opens", self.closes)
        if self.pricing not in ("pay_as_bid", "uniform"):
            raise InputError("pricing", "pay_as_bid or uniform", self.pricing)
        if self.instrument == Instrument.EMISSION_RIGHT:
            right_pollutant(self.pollutant)


@dataclass(frozen=True)
class Bid:
    """One bid: *price_fen* per trading unit for *units* registry units at *time*."""

    bid_id: str
    bidder: str
    price_fen: int
    units: int
    time: dt.datetime


@dataclass(frozen=True)
class Award:
    bid_id: str
    bidder: str
    price_fen: int
    units: int
    amount_fen: int


@dataclass(frozen=True)
class AuctionResult:
    """The outcome: awards in priority order, refused bids, passed-over bids and the unsold."""

    lot_id: str
    awards: tuple[Award, ...]
    refused: tuple[tuple[str, Refusal], ...]
    #: bids valid but not filled (lot exhausted, or all-or-none and too large)
    unfilled: tuple[str, ...]
    unsold_units: int

    @property
    def amount_fen(self) -> int:
        return sum(a.amount_fen for a in self.awards)


def check_bid(lot: Lot, bid: Bid) -> list[Refusal]:
    """The reasons *bid* cannot take part in *lot* (empty when it can)."""
    out: list[Refusal] = []
    if isinstance(bid.units, bool) or not isinstance(bid.units, int) or bid.units <= 0:
        out.append(
            Refusal("bad_quantity", "申购数量须为正整数", "quantity must be a positive integer")
        )
    elif bid.units > lot.units:
        out.append(Refusal("bad_quantity", "申购数量超过挂牌数量", "quantity exceeds the lot"))
    if isinstance(bid.price_fen, bool) or not isinstance(bid.price_fen, int):
        out.append(Refusal("bad_price", "报价须为整数分", "price must be a whole number of fen"))
        return out
    if bid.price_fen < lot.reserve_fen:
        out.append(Refusal("below_reserve", "报价低于底价", "price below the reserve price"))
    if bid.price_fen % lot.tick_fen:
        out.append(Refusal("off_tick", "报价不符合最小变动价位", "price is off the price tick"))
    if bid.time.tzinfo is None or not lot.opens <= bid.time < lot.closes:
        out.append(
            Refusal("outside_window", "报价不在竞价时段内", "bid outside the bidding window")
        )
    return out


def award(
    lot: Lot,
    bids: Sequence[Bid],
    rounding: Rounding = DEFAULT_ROUNDING,
    eligible: Callable[[Bid], Sequence[Refusal]] | None = None,
) -> AuctionResult:
    """Award *lot* to *bids* by price then time priority.

    Parameters
    ----------
    lot : Lot
        The announced lot.
    bids : sequence of Bid
        Every bid received (any order).
    rounding : {"half_up", "half_even", "down"}
        How an award's amount (price × quantity) is rounded to the fen.
    eligible : callable, optional
        Further checks of a bidder, returning its refusals — e.g. the Hubei trade restrictions
        between the lot's seller and the bidder
        (:func:`bishui.exchange.market.restrictions.check_transfer`), which the caller binds
        to the parties it knows.

    Returns
    -------
    AuctionResult
        Awards in priority order — higher price first, then earlier time, then bid id (the
        last key only makes a tie of price and time deterministic). Σ awarded ≤ offered; no
        bidder's award exceeds its bid; each amount is ``price × units`` rounded once.

    Notes
    -----
    电子竞价, price then time priority: hberec FAQ (notes §A2 [V]).
    """
    seen: set[str] = set()
    refused: list[tuple[str, Refusal]] = []
    valid: list[Bid] = []
    for b in bids:
        if b.bid_id in seen:
            refused.append((b.bid_id, Refusal("duplicate_bid", "报价编号重复", "repeated bid id")))
            continue
        seen.add(b.bid_id)
        reasons = check_bid(lot, b)
        if eligible is not None:
            reasons.extend(eligible(b))
        refused.extend((b.bid_id, r) for r in reasons)
        if not reasons:
            valid.append(b)
    valid.sort(key=lambda b: (-b.price_fen, b.time, b.bid_id))
    left = lot.units
    filled: list[tuple[Bid, int]] = []
    unfilled: list[str] = []
    for b in valid:
        take = min(b.units, left)
        if take == 0 or (take < b.units and not lot.partial_fills):
            unfilled.append(b.bid_id)
            continue
        filled.append((b, take))
        left -= take
    quantum = INSTRUMENTS[lot.instrument].quantum
    clearing = min((b.price_fen for b, _ in filled), default=0)
    awards = tuple(
        Award(
            b.bid_id,
            b.bidder,
            p := (b.price_fen if lot.pricing == "pay_as_bid" else clearing),
            n,
            amount_fen(p, n, quantum, rounding),
        )
        for b, n in filled
    )
    return AuctionResult(lot.lot_id, awards, tuple(refused), tuple(unfilled), left)


class Order(NamedTuple):
    """A limit order in a call auction: price [fen / trading unit], quantity [registry unit]."""

    price_fen: int
    units: int


@dataclass(frozen=True)
class CallAuction:
    """The clearing price and the volume executed at it (none when nothing crosses)."""

    price_fen: int | None
    volume: int
    unexecuted: int


def call_auction_price(
    buys: Sequence[Order], sells: Sequence[Order], previous_close_fen: int
) -> CallAuction:
    """The 集合竞价 clearing price of a book of buy and sell limit orders.

    Parameters
    ----------
    buys, sells : sequence of Order
        Limit orders [fen / trading unit, registry unit].
    previous_close_fen : int
        Previous closing price [fen / trading unit], for the last tie-break.

    Returns
    -------
    CallAuction
        The price that (1) maximises the executed volume, (2) fully fills every buy above it
        and every sell below it, and (3) fully fills at least one side at it; among several,
        (4) the least unexecuted volume at that price (SSE), then (5) the price nearest the
        previous close; still tied (one above, one below), the lower price — the project's
        choice, the notes do not settle it.

    Notes
    -----
    Rule (1)–(5): notes §A5 [S] (two secondary pages explaining the SSE and SZSE rules).
    Candidates are the order prices; the volume at price *p* is
    ``min(Σ buys ≥ p, Σ sells ≤ p)``.
    """
    for side, orders in (("buys", buys), ("sells", sells)):
        for i, o in enumerate(orders):
            check_int(o.price_fen, f"{side}[{i}].price_fen")
            check_int(o.units, f"{side}[{i}].units", minimum=1)
    check_int(previous_close_fen, "previous_close_fen")
    buy_at: dict[int, int] = {}
    sell_at: dict[int, int] = {}
    for o in buys:
        buy_at[o.price_fen] = buy_at.get(o.price_fen, 0) + o.units
    for o in sells:
        sell_at[o.price_fen] = sell_at.get(o.price_fen, 0) + o.units
    prices = sorted(buy_at.keys() | sell_at.keys())
    # one ascending pass over the prices, keeping the running sums of each side
    above = sum(buy_at.values())  # buys at ≥ the current price, before subtracting it
    below = 0  # sells strictly below the current price
    best: tuple[int, int, int, int] | None = None  # (-volume, unexecuted, distance, price)
    for p in prices:
        demand = above
        above -= buy_at.get(p, 0)  # now: buys strictly above p
        supply = below + sell_at.get(p, 0)
        volume = min(demand, supply)
        # (2): every better-priced order filled. (3) holds by construction: the volume is
        # the smaller side's whole demand or supply at p.
        if volume > 0 and above <= volume and below <= volume:
            key = (-volume, abs(demand - supply), abs(p - previous_close_fen), p)
            if best is None or key < best:
                best = key
        below = supply
    if best is None:
        return CallAuction(None, 0, 0)
    return CallAuction(best[3], -best[0], best[1])
