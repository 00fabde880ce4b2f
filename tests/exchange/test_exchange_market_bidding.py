"""电子竞价 (price then time priority, hberec FAQ, notes §A2) and the 集合竞价 price (notes §A5)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bishui.errors import InputError
from bishui.exchange.instruments import Instrument
from bishui.exchange.market.bidding import (
    Bid,
    Lot,
    Order,
    award,
    call_auction_price,
)

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
MIN = dt.timedelta(minutes=1)


def lot(partial: bool = True, pricing: str = "pay_as_bid", units: int = 10_000) -> Lot:
    # a COD lot of 10 t at the 株洲 base price 20,000 CNY/t (notes §A2 [V], an example)
    return Lot(
        "L1", Instrument.EMISSION_RIGHT, "w01018", units, 2_000_000, T0, T0 + 60 * MIN,
        "420800", "汉江", partial, pricing,  # type: ignore[arg-type]
    )  # fmt: skip


def bid(i: str, price: int, units: int, minute: int, bidder: str = "") -> Bid:
    return Bid(i, bidder or f"p{i}", price, units, T0 + minute * MIN)


def test_price_then_time_priority_with_a_partial_fill() -> None:
    bids = [
        bid("a", 2_100_000, 4_000, 5),
        bid("b", 2_814_000, 3_000, 30),
        bid("c", 2_100_000, 5_000, 2),  # same price as a, earlier: ahead of a
        bid("d", 2_050_000, 1_000, 1),
    ]
    r = award(lot(), bids)
    assert [(a.bid_id, a.units, a.amount_fen) for a in r.awards] == [
        ("b", 3_000, 8_442_000),  # 3 t × 28,140 CNY
        ("c", 5_000, 10_500_000),
        ("a", 2_000, 4_200_000),  # partly filled
    ]
    assert r.unfilled == ("d",)
    assert r.unsold_units == 0
    assert r.amount_fen == 23_142_000


def test_all_or_none_passes_over_a_bid_that_does_not_fit() -> None:
    bids = [
        bid("b", 2_814_000, 3_000, 30),
        bid("c", 2_100_000, 8_000, 2),
        bid("d", 2_050_000, 7_000, 1),
    ]
    r = award(lot(partial=False), bids)
    assert [(a.bid_id, a.units) for a in r.awards] == [("b", 3_000), ("d", 7_000)]
    assert r.unfilled == ("c",)


def test_uniform_pricing_charges_the_lowest_winning_price() -> None:
    bids = [bid("b", 2_814_000, 3_000, 30), bid("c", 2_100_000, 5_000, 2)]
    r = award(lot(pricing="uniform"), bids)
    assert [(a.price_fen, a.amount_fen) for a in r.awards] == [
        (2_100_000, 6_300_000),
        (2_100_000, 10_500_000),
    ]
    assert r.unsold_units == 2_000


def test_refusals_have_codes() -> None:
    bids = [
        bid("low", 1_999_999, 1_000, 1),
        bid("late", 2_000_000, 1_000, 60),  # the window closes at minute 60
        bid("early", 2_000_000, 1_000, -1),
        bid("big", 2_000_000, 10_001, 1),
        bid("none", 2_000_000, 0, 1),
        bid("ok", 2_000_000, 1_000, 59),
        bid("ok", 2_000_000, 1_000, 59),
    ]
    r = award(lot(), bids)
    assert [(i, x.code) for i, x in r.refused] == [
        ("low", "below_reserve"),
        ("late", "outside_window"),
        ("early", "outside_window"),
        ("big", "bad_quantity"),
        ("none", "bad_quantity"),
        ("ok", "duplicate_bid"),
    ]
    assert r.refused[0][1].zh == "报价低于底价"
    assert [a.bid_id for a in r.awards] == ["ok"]


def test_a_bid_off_the_tick_is_refused() -> None:
    ticked = Lot("L2", Instrument.CARBON_ALLOWANCE, "", 100, 2_000, T0, T0 + MIN, "420800", "",
                 True, "pay_as_bid", tick_fen=10)  # fmt: skip
    r = award(ticked, [Bid("x", "p", 2_005, 1, T0), Bid("y", "p", 20.5, 1, T0)])  # type: ignore[arg-type]
    assert [(i, x.code) for i, x in r.refused] == [("x", "off_tick"), ("y", "bad_price")]


def test_bad_lots_are_refused() -> None:
    with pytest.raises(InputError) as e:
        Lot("L", Instrument.CARBON_ALLOWANCE, "", 0, 1, T0, T0 + MIN, "", "", True, "uniform")
    assert e.value.field == "units"
    with pytest.raises(InputError) as e:
        Lot("L", Instrument.CARBON_ALLOWANCE, "", 1, 1, T0, T0, "", "", True, "uniform")
    assert e.value.field == "closes"
    with pytest.raises(InputError) as e:
        Lot("L", Instrument.CARBON_ALLOWANCE, "", 1, 1, T0, T0 + MIN, "", "", True, "dutch")  # type: ignore[arg-type]
    assert e.value.field == "pricing"
    with pytest.raises(InputError) as e:
        Lot("L", Instrument.EMISSION_RIGHT, "a34013", 1, 1, T0, T0 + MIN, "", "", True, "uniform")
    assert e.value.field == "pollutant"


BIDS = st.lists(
    st.tuples(
        st.integers(1_990_000, 2_030_000),  # around the reserve: some refused
        st.integers(1, 12_000),
        st.integers(-5, 65),
        st.sampled_from("pqrst"),
    ),
    max_size=25,
)


@given(BIDS, st.booleans(), st.sampled_from(["pay_as_bid", "uniform"]), st.integers(1, 20_000))
def test_award_properties(
    raw: list[tuple[int, int, int, str]], partial: bool, pricing: str, units: int
) -> None:
    the_lot = lot(partial, pricing, units)
    bids = [Bid(f"b{i}", who, p, n, T0 + m * MIN) for i, (p, n, m, who) in enumerate(raw)]
    by_id = {b.bid_id: b for b in bids}
    r = award(the_lot, bids)
    awarded = sum(a.units for a in r.awards)
    assert awarded + r.unsold_units == units  # awarded ≤ offered, the rest unsold
    for a in r.awards:
        b = by_id[a.bid_id]
        assert 0 < a.units <= b.units  # nobody gets more than bid
        assert a.price_fen >= the_lot.reserve_fen
        assert a.price_fen <= b.price_fen  # nobody pays more than bid
        assert the_lot.opens <= b.time < the_lot.closes
        assert partial or a.units == b.units  # all-or-none fills whole bids
        # money: price × quantity (kg → t) rounded half up, exactly
        assert a.amount_fen == (a.price_fen * a.units + 500) // 1000
    assert r.amount_fen == sum(a.amount_fen for a in r.awards)
    # priority: an award never follows a better-ranked bid that was left unfilled for lack
    # of quantity, unless all-or-none passed over it
    rank = {b.bid_id: (-b.price_fen, b.time, b.bid_id) for b in bids}
    order = [a.bid_id for a in r.awards]
    assert order == sorted(order, key=rank.__getitem__)
    if partial:
        worst = max((rank[i] for i in order), default=None)
        for i in r.unfilled:
            assert worst is None or rank[i] > worst
        # only the last award may be partial
        assert all(a.units == by_id[a.bid_id].units for a in r.awards[:-1])


def test_call_auction_worked_example() -> None:
    buys = [Order(1010, 100), Order(1000, 200), Order(990, 300)]
    sells = [Order(980, 150), Order(1000, 200), Order(1020, 100)]
    r = call_auction_price(buys, sells, previous_close_fen=995)
    # at 1000: demand 300, supply 350 → 300 traded; every buy above and sell below is filled
    assert (r.price_fen, r.volume, r.unexecuted) == (1000, 300, 50)


def test_call_auction_ties_go_to_the_previous_close_then_the_lower_price() -> None:
    buys, sells = [Order(1000, 100)], [Order(990, 100)]
    assert call_auction_price(buys, sells, 996).price_fen == 1000
    assert call_auction_price(buys, sells, 994).price_fen == 990
    assert call_auction_price(buys, sells, 995).price_fen == 990  # equidistant: lower
    assert call_auction_price([Order(900, 1)], sells, 995).price_fen is None


ORDERS = st.lists(st.builds(Order, st.integers(90, 110), st.integers(1, 50)), max_size=12)


@given(ORDERS, ORDERS, st.integers(90, 110))
def test_call_auction_maximises_volume(buys: list[Order], sells: list[Order], close: int) -> None:
    r = call_auction_price(buys, sells, close)

    def vol(p: int) -> int:
        return min(
            sum(o.units for o in buys if o.price_fen >= p),
            sum(o.units for o in sells if o.price_fen <= p),
        )

    best = max((vol(p) for p in range(80, 121)), default=0)
    assert r.volume == best
    if r.price_fen is not None:
        p = r.price_fen
        assert vol(p) == best
        assert sum(o.units for o in buys if o.price_fen > p) <= best
        assert sum(o.units for o in sells if o.price_fen < p) <= best


def naive_call_auction(buys: list[Order], sells: list[Order], close: int) -> int | None:
    """The notes §A5 rule written out literally: a reference for differential testing."""
    qualifying = []
    for p in {o.price_fen for o in buys + sells}:
        demand = sum(o.units for o in buys if o.price_fen >= p)
        supply = sum(o.units for o in sells if o.price_fen <= p)
        v = min(demand, supply)
        all_better_filled = (
            sum(o.units for o in buys if o.price_fen > p) <= v
            and sum(o.units for o in sells if o.price_fen < p) <= v
        )
        one_side_at_p_filled = v >= demand or v >= supply
        if v > 0 and all_better_filled and one_side_at_p_filled:
            qualifying.append((p, v, abs(demand - supply)))
    if not qualifying:
        return None
    top = max(v for _, v, _ in qualifying)
    left = [(p, u) for p, v, u in qualifying if v == top]
    least = min(u for _, u in left)
    prices = sorted(p for p, u in left if u == least)
    return min(prices, key=lambda p: abs(p - close))  # sorted: equidistant → the lower


@given(ORDERS, ORDERS, st.integers(90, 110))
def test_call_auction_agrees_with_the_literal_rule(
    buys: list[Order], sells: list[Order], close: int
) -> None:
    assert call_auction_price(buys, sells, close).price_fen == naive_call_auction(
        buys, sells, close
    )


def test_an_eligibility_check_refuses_bidders() -> None:
    from bishui.exchange.market.restrictions import Party, TradeUnits, check_transfer

    seller = Party("reserve", "420800", "汉江", "other", False, True)  # the city's reserve
    bidders = {
        "pa": Party("pa", "420802", "汉江", "industry", False, True),
        "pb": Party("pb", "420802", "长江", "industry", False, True),  # another basin
    }
    trade = TradeUnits(Instrument.EMISSION_RIGHT, "w01018", 1)
    r = award(
        lot(),
        [bid("1", 2_000_000, 1_000, 1, "pa"), bid("2", 2_100_000, 1_000, 1, "pb")],
        eligible=lambda b: check_transfer(seller, bidders[b.bidder], trade),
    )
    assert [a.bidder for a in r.awards] == ["pa"]
    assert [(i, x.code) for i, x in r.refused] == [("2", "water_cross_basin")]
