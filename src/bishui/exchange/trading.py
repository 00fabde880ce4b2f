"""Trading on the store: electronic bidding sessions (电子竞价) and agreement transfers (协议转让),
each settled by moving units and money and issuing both parties' new permit versions through
the sources engine in ONE store transaction.

Settlement (:func:`settle`): the registry transfer (``service.submit_in``, with the Hubei
restrictions of :mod:`bishui.exchange.market.restrictions` run as ``extra_checks``) and the
payment buyer → seller in the money ledger (``ledger.post_in``) commit together or not at all;
the trade is recorded in ``exchange_trade``. For emission rights both parties' permits then
get a new version whose annual quantity is what they now hold (国办发〔2014〕38号: after a trade
both parties apply to change their permits; ``bishui.sources.permits.amend`` and
``permit_store.record_permits_in``), reason citing the trade; the registry's permit-consistency
check is run on both and its findings stored with the trade. The permit versions are written
in the settlement's own transaction: units, money, the trade and both permits change together
or not at all.

Who may act: a lot is announced by a registry operator (the exchange) with the consent of a
representative of the selling account, who is recorded as the seller's agent for the
settlement; bids come from representatives of the bidder's holding account; the award and
settlement run at the window's close (:func:`close_lot`). A transfer is proposed and accepted
by representatives of the parties, approved by the regulator, settled by the exchange.

Sources: notes §A2 (hberec FAQ: 电子竞价, price then time priority; 协议转让), §A5 (bidding).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

from bishui.errors import ConflictError, InputError, NotFoundError, PermissionDenied
from bishui.exchange import ledger, records, rights, service
from bishui.exchange.checks import CheckCode, Refusal, Refused, raise_refusals, register_code
from bishui.exchange.instruments import INSTRUMENTS, Instrument, instrument
from bishui.exchange.ledger import Posting
from bishui.exchange.market import bidding
from bishui.exchange.market import restrictions as mr
from bishui.exchange.market import transfer as mt
from bishui.exchange.market.money import amount_fen
from bishui.exchange.market.refusals import Refusal as MarketRefusal
from bishui.exchange.registry import AccountKind, Select, State, Transaction, Transfer
from bishui.store import Store
from bishui.store.base import Transaction as StoreTx

CST = dt.timezone(dt.timedelta(hours=8))

_BIDDING_CODES = frozenset(
    {"bad_price", "bad_quantity", "below_reserve", "duplicate_bid", "off_tick", "outside_window"}
)


def _register(r: MarketRefusal) -> Refusal:
    """A market rule's refusal as a registry refusal (its code registered on first use)."""
    mirrors = (
        "electronic bidding rules (notes §A5)"
        if r.code in _BIDDING_CODES
        else "Hubei restrictions (notes §A2)"
    )
    register_code(CheckCode(r.code, mirrors, r.zh, r.en))
    return Refusal(r.code, r.en)


def restriction_check(seller: mr.Party, buyer: mr.Party) -> service.ExtraCheck:
    """The Hubei restrictions between *seller* and *buyer* as a registry extra check: run on
    the planned transfer's instrument, pollutant and quantity."""

    def check(state: State, planned: Transaction) -> list[Refusal]:
        del state
        if not planned.moves:
            return []
        s = planned.moves[0].series
        trade = mr.TradeUnits(s.instrument, s.pollutant, planned.quantity)
        return [_register(r) for r in mr.check_transfer(seller, buyer, trade)]

    return check


def _holder(store: Store, account: str) -> tuple[str, str]:
    rows = store.query("SELECT holder, kind FROM exchange_account WHERE id = ?", [account])
    if not rows:
        raise NotFoundError(f"no account {account!r}")
    return str(rows[0]["holder"]), str(rows[0]["kind"])


def _cash(store: Store, account: str) -> str:
    holder, kind = _holder(store, account)
    return (
        rights.RESERVE_FUND if kind == AccountKind.RESERVE.value else ledger.cash_account_of(holder)
    )


def _party(store: Store, account: str) -> mr.Party:
    return rights.get_party(store, _holder(store, account)[0])


def settle(
    store: Store,
    *,
    kind: str,
    ref: str,
    seller_account: str,
    buyer_account: str,
    select: Select,
    price_fen: int,
    agent: str,
    actor: str,
    time: dt.datetime | None = None,
) -> dict[str, Any]:
    """Settle one trade: *select* from *seller_account* to *buyer_account* at *price_fen* per
    trading unit, units and money in one store transaction, then the permits (module
    docstring). *agent* is the seller's representative the registry transfer is recorded for;
    *actor* who settles. Returns the trade (:func:`trade`)."""
    t_now = time if time is not None else service.now()
    reserve = AccountKind.RESERVE.value in (_holder(store, seller_account)[1],
                                           _holder(store, buyer_account)[1])  # fmt: skip
    checks: list[service.ExtraCheck] = []
    if not reserve:  # the government reserve buys back and sells within its own area
        checks.append(
            restriction_check(_party(store, seller_account), _party(store, buyer_account))
        )
    holders = [_holder(store, seller_account)[0], _holder(store, buyer_account)[0]]
    tid = f"TR-{uuid.uuid4().hex[:12]}"
    with store.transaction() as tx:
        moved = service.submit_in(
            tx, store.dialect, Transfer(seller_account, buyer_account, select), actor=agent,
            reason=f"{kind} {ref} 成交 {tid}（结算：{actor}）", time=t_now,
            extra_checks=checks,
        )  # fmt: skip
        inst = moved.moves[0].series.instrument
        amount = amount_fen(price_fen, moved.quantity, INSTRUMENTS[inst].quantum)
        money = None
        if amount:
            money = ledger.post_in(
                tx, store.dialect,
                [Posting(_cash(store, buyer_account), -amount),
                 Posting(_cash(store, seller_account), amount)],
                kind="settlement", actor=actor, reason=f"{kind} {ref} 成交价款", ref=tid,
                time=t_now,
            )  # fmt: skip
        tx.execute(
            "INSERT INTO exchange_trade (id, kind, ref, instrument, pollutant, seller_account, "
            "buyer_account, units, price_fen, amount_fen, ts, log_tx, money_tx, permits) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [tid, kind, ref, inst.value, moved.moves[0].series.pollutant, seller_account,
             buyer_account, moved.quantity, price_fen, amount, t_now, moved.id,
             money.id if money else None, "[]"],
        )  # fmt: skip
        if inst is Instrument.EMISSION_RIGHT:
            _amend_permits(tx, tid, holders, t_now, actor)
    return trade(store, tid)


def _amend_permits(
    tx: StoreTx, tid: str, holders: Sequence[str], at: dt.datetime, actor: str
) -> None:
    """Both parties' new permit versions (the annual quantities := their holdings), from the
    day after the trade, written in the settlement's transaction *tx*; then the
    permit-consistency check, stored with the trade. Only the two parties' permits are read."""
    from bishui.sources import permit_store

    day = at.date() + dt.timedelta(days=1)
    out: list[dict[str, Any]] = []
    for h in holders:
        held = rights.right_holdings_in(tx, h, day)
        for p in permit_store.load_permits_in(tx, "p.uscc = ?", [h]):
            if not p.is_in_force(day):
                continue
            changes: dict[str, int] = dict(held)
            for pol in p.annual_caps:
                if pol in changes or pol not in _RIGHT_CODES:
                    continue
                if _ever_held(tx, h, pol):
                    changes[pol] = 0
            new = rights.set_permitted_many_in(
                tx, {p.permit_no: (changes,
                     f"排污权交易 {tid} 后变更许可排放量（国办发〔2014〕38号）")}, day, actor,
            )[0]  # fmt: skip
            refusals = rights.permit_check_in(tx, h, day)
            out.append({
                "uscc": h, "permit_no": new.permit_no, "version": new.version,
                "consistent": not refusals, "refusals": [r.as_dict() for r in refusals],
            })  # fmt: skip
            break
    tx.execute("UPDATE exchange_trade SET permits = ? WHERE id = ?", [json.dumps(out), tid])


_RIGHT_CODES = ("w01018", "w21003", "a21026", "a21002")


def _ever_held(tx: StoreTx, holder: str, pollutant: str) -> bool:
    return bool(
        tx.fetch(
            "SELECT 1 AS x FROM exchange_block b JOIN exchange_account a ON a.id = b.account "
            "WHERE a.holder = ? AND b.pollutant = ? AND b.instrument = 'emission_right' LIMIT 1",
            [holder, pollutant],
        )
    )


def _claim(store: Store, table: str, key: str, was: str, now: str, *, actor: str) -> None:
    """Move row *key* of *table* from state *was* to *now* under the registry's head lock, or
    raise ``ConflictError``: two clients closing one lot or settling one transfer at once —
    the second finds it claimed and settles nothing."""
    assert table in ("exchange_lot", "exchange_transfer")
    with store.transaction() as tx:
        service.lock_head(tx, store.dialect)
        row = tx.fetch_one(f"SELECT state FROM {table} WHERE id = ?", [key])  # noqa: S608
        if row is None:
            raise NotFoundError(f"no {table[9:]} {key!r}")
        if str(row[0]) != was:
            raise ConflictError(f"{table[9:]} {key} is {row[0]}, not {was}")
        tx.execute(f"UPDATE {table} SET state = ? WHERE id = ?", [now, key])  # noqa: S608
        records.snapshot_in(tx, store.dialect, table, [key], actor=actor, reason=f"{was} → {now}")


def trade(store: Store, trade_id: str) -> dict[str, Any]:
    """One settled trade with the permit versions it issued."""
    rows = store.query("SELECT * FROM exchange_trade WHERE id = ?", [trade_id])
    if not rows:
        raise NotFoundError(f"no trade {trade_id!r}")
    t = dict(rows[0])
    t["permits"] = json.loads(t["permits"])
    return t


def trades(
    store: Store, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Settled trades in time order (optionally within ``since <= ts < until``)."""
    sql, args = "SELECT id FROM exchange_trade WHERE TRUE", list[Any]()
    if since is not None:
        sql += " AND ts >= ?"
        args.append(since)
    if until is not None:
        sql += " AND ts < ?"
        args.append(until)
    return [trade(store, r["id"]) for r in store.query(sql + " ORDER BY ts, id", args)]


# -- bidding sessions ---------------------------------------------------------------------
def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=CST)


def _naive(t: dt.datetime) -> dt.datetime:
    return t.astimezone(CST).replace(tzinfo=None) if t.tzinfo is not None else t


def _is_rep(store: Store, account: str, user: str) -> bool:
    return bool(
        store.query(
            "SELECT 1 AS x FROM exchange_representative WHERE account = ? AND username = ?",
            [account, user],
        )
    )


def announce_lot(
    store: Store,
    *,
    seller_account: str,
    seller_agent: str,
    instrument_: str,
    pollutant: str,
    units: int,
    reserve_fen: int,
    opens: dt.datetime,
    closes: dt.datetime,
    actor: str,
    vintage: int | None = None,
    partial_fills: bool = True,
    pricing: bidding.Pricing = "pay_as_bid",
    tick_fen: int = 1,
    lot_id: str | None = None,
) -> dict[str, Any]:
    """Announce a lot (竞价公告): the exchange operator *actor* offers *units* of the seller's
    holdings at reserve price *reserve_fen* [fen per trading unit] in the window
    ``opens <= t < closes``; *seller_agent* is a representative of the seller's account."""
    rights.require_operator(store, actor)
    if not _is_rep(store, seller_account, seller_agent):
        raise PermissionDenied(f"{seller_agent!r} does not represent {seller_account}")
    party = _party(store, seller_account)
    lid = lot_id or f"LOT-{uuid.uuid4().hex[:10]}"
    lot = bidding.Lot(
        lid, instrument(instrument_), pollutant, units, reserve_fen, _aware(opens),
        _aware(closes), party.region, party.basin, partial_fills, pricing, tick_fen,
    )  # fmt: skip
    body = {
        "instrument": lot.instrument.value, "pollutant": pollutant, "units": units,
        "reserve_fen": reserve_fen, "region": lot.region, "basin": lot.basin,
        "partial_fills": partial_fills, "pricing": pricing, "tick_fen": tick_fen,
        "vintage": vintage, "seller_agent": seller_agent,
    }  # fmt: skip
    records.record(
        store,
        "INSERT INTO exchange_lot (id, seller_account, body, opens, closes, state, announced_by) "
        "VALUES (?, ?, ?, ?, ?, 'open', ?)",
        [lid, seller_account, json.dumps(body), _naive(opens), _naive(closes), actor],
        "exchange_lot", [lid], actor=actor, reason="announce",
    )  # fmt: skip
    return get_lot(store, lid)


def _lot(r: dict[str, Any]) -> bidding.Lot:
    b = json.loads(r["body"])
    return bidding.Lot(
        r["id"], Instrument(b["instrument"]), b["pollutant"], int(b["units"]),
        int(b["reserve_fen"]), _aware(r["opens"]), _aware(r["closes"]), b["region"], b["basin"],
        bool(b["partial_fills"]), b["pricing"], int(b["tick_fen"]),
    )  # fmt: skip


def get_lot(store: Store, lot_id: str) -> dict[str, Any]:
    """One lot with its terms, state and bids (with awards once closed)."""
    rows = store.query("SELECT * FROM exchange_lot WHERE id = ?", [lot_id])
    if not rows:
        raise NotFoundError(f"no lot {lot_id!r}")
    r = dict(rows[0])
    r.update(json.loads(r.pop("body")))
    r["bids"] = store.query(
        "SELECT id, bidder, account, price_fen, units, ts, awarded_units, awarded_fen "
        "FROM exchange_bid WHERE lot_id = ? ORDER BY price_fen DESC, ts, id",
        [lot_id],
    )
    return r


def lots(store: Store, state: str | None = None) -> list[dict[str, Any]]:
    """Every lot (optionally in one state: open, closed), newest window first, without bids."""
    sql = "SELECT id, seller_account, opens, closes, state, body FROM exchange_lot"
    args = list[Any]()
    if state is not None:
        sql += " WHERE state = ?"
        args.append(state)
    out = []
    for r in store.query(sql + " ORDER BY opens DESC, id", args):
        d = dict(r)
        d.update(json.loads(d.pop("body")))
        out.append(d)
    return out


def place_bid(
    store: Store,
    lot_id: str,
    *,
    account: str,
    price_fen: int,
    units: int,
    actor: str,
    time: dt.datetime | None = None,
) -> dict[str, Any]:
    """A bid on an open lot by a representative of the bidder's holding *account*; refused
    (``Refused`` with the market's codes) below the reserve, off the tick, outside the window.
    The Hubei restrictions are judged at the award (a refused bidder is passed over)."""
    if not _is_rep(store, account, actor):
        raise PermissionDenied(f"{actor!r} does not represent {account}")
    at = _aware(time if time is not None else service.now())
    r = store.query("SELECT * FROM exchange_lot WHERE id = ?", [lot_id])
    if not r:
        raise NotFoundError(f"no lot {lot_id!r}")
    if r[0]["state"] != "open":
        raise ConflictError(f"lot {lot_id} is {r[0]['state']}")
    lot = _lot(r[0])
    if account == r[0]["seller_account"]:
        raise InputError("account", "an account other than the seller's", account)
    holder, _ = _holder(store, account)
    bid = bidding.Bid(f"BID-{uuid.uuid4().hex[:12]}", holder, price_fen, units, at)
    raise_refusals([_register(x) for x in bidding.check_bid(lot, bid)])
    records.record(
        store,
        "INSERT INTO exchange_bid (id, lot_id, bidder, account, price_fen, units, ts, by_user) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [bid.bid_id, lot_id, holder, account, price_fen, units, _naive(at), actor],
        "exchange_bid", [bid.bid_id], actor=actor, reason=f"bid on {lot_id}",
    )  # fmt: skip
    return {"id": bid.bid_id, "lot_id": lot_id, "price_fen": price_fen, "units": units}


def close_lot(
    store: Store, lot_id: str, *, actor: str, time: dt.datetime | None = None
) -> dict[str, Any]:
    """At (or after) the window's close: award the lot by price then time priority
    (``market.bidding.award``, bidders the Hubei restrictions refuse passed over), settle each
    award (:func:`settle`), and mark the lot closed. Operators only. Returns the lot."""
    rights.require_operator(store, actor)
    at = _aware(time if time is not None else service.now())
    r = store.query("SELECT * FROM exchange_lot WHERE id = ?", [lot_id])
    if not r:
        raise NotFoundError(f"no lot {lot_id!r}")
    row = r[0]
    if row["state"] != "open":
        raise ConflictError(f"lot {lot_id} is {row['state']}")
    lot = _lot(row)
    if at < lot.closes:
        raise ConflictError(f"lot {lot_id} closes at {lot.closes.isoformat()}")
    _claim(store, "exchange_lot", lot_id, "open", "closing", actor=actor)
    body = json.loads(row["body"])
    bids = store.query("SELECT * FROM exchange_bid WHERE lot_id = ?", [lot_id])
    account_of = {b["id"]: b["account"] for b in bids}
    seller = _party(store, row["seller_account"])

    def eligible(b: bidding.Bid) -> list[MarketRefusal]:
        trade_units = mr.TradeUnits(lot.instrument, lot.pollutant, b.units)
        return mr.check_transfer(seller, rights.get_party(store, b.bidder), trade_units)

    result = bidding.award(
        lot,
        [
            bidding.Bid(b["id"], b["bidder"], int(b["price_fen"]), int(b["units"]), _aware(b["ts"]))
            for b in bids
        ],
        eligible=eligible,
    )
    for a in result.awards:
        sel = Select(
            instrument=lot.instrument, quantity=a.units, pollutant=lot.pollutant or None,
            vintage=body.get("vintage"),
        )  # fmt: skip
        try:
            t = settle(
                store, kind="电子竞价", ref=lot_id, seller_account=row["seller_account"],
                buyer_account=account_of[a.bid_id], select=sel, price_fen=a.price_fen,
                agent=body["seller_agent"], actor=actor, time=_naive(at),
            )  # fmt: skip
        except Refused:  # e.g. the bidder cannot pay: the award lapses, the units stay unsold
            continue
        records.record(
            store,
            "UPDATE exchange_bid SET awarded_units = ?, awarded_fen = ? WHERE id = ?",
            [a.units, t["amount_fen"], a.bid_id],
            "exchange_bid", [a.bid_id], actor=actor, reason=f"award, trade {t['id']}",
        )  # fmt: skip
    records.record(
        store, "UPDATE exchange_lot SET state = 'closed' WHERE id = ?", [lot_id],
        "exchange_lot", [lot_id], actor=actor, reason="closed",
    )  # fmt: skip
    return get_lot(store, lot_id)


# -- agreement transfers ------------------------------------------------------------------
def _to_body(t: mt.Transfer, seller_agent: str | None = None) -> str:
    d = dataclasses.asdict(t)
    d["seller_agent"] = seller_agent
    d["instrument"] = t.instrument.value
    d["expires_at"] = t.expires_at.isoformat()
    d["history"] = [{**dataclasses.asdict(s), "at": s.at.isoformat()} for s in t.history]
    return json.dumps(d, ensure_ascii=False)


def _from_body(body: str) -> mt.Transfer:
    d = json.loads(body)
    hist = tuple(
        mt.Step(s["action"], s["actor"], dt.datetime.fromisoformat(s["at"]), s["note"])
        for s in d["history"]
    )
    return mt.Transfer(
        d["transfer_id"], d["seller"], d["buyer"], d["proposer"], Instrument(d["instrument"]),
        d["pollutant"], int(d["units"]), int(d["price_fen"]),
        dt.datetime.fromisoformat(d["expires_at"]), d["state"], hist,
    )  # fmt: skip


def propose_transfer(
    store: Store,
    *,
    seller_account: str,
    buyer_account: str,
    instrument_: str,
    pollutant: str,
    units: int,
    price_fen: int,
    expires_at: dt.datetime,
    actor: str,
    time: dt.datetime | None = None,
) -> dict[str, Any]:
    """Propose an agreement transfer (协议转让); *actor* represents the seller's or the
    buyer's account. Units [registry unit], price [fen per trading unit]."""
    at = _aware(time if time is not None else service.now())
    mine = [a for a in (seller_account, buyer_account) if _is_rep(store, a, actor)]
    if not mine:
        raise PermissionDenied(f"{actor!r} represents neither party")
    seller, buyer = _holder(store, seller_account)[0], _holder(store, buyer_account)[0]
    proposer = _holder(store, mine[0])[0]
    tid = f"XFER-{uuid.uuid4().hex[:10]}"
    t = mt.propose(
        tid, seller, buyer, proposer, instrument(instrument_), pollutant, units, price_fen, at,
        _aware(expires_at),
    )  # fmt: skip
    records.record(
        store,
        "INSERT INTO exchange_transfer (id, seller_account, buyer_account, body, state) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            tid,
            seller_account,
            buyer_account,
            _to_body(t, actor if _is_rep(store, seller_account, actor) else None),
            t.state,
        ],
        "exchange_transfer",
        [tid],
        actor=actor,
        reason="propose",
    )
    return get_transfer(store, tid)


def get_transfer(store: Store, transfer_id: str) -> dict[str, Any]:
    """One agreement transfer: its terms, state and history (and the trade once settled)."""
    rows = store.query("SELECT * FROM exchange_transfer WHERE id = ?", [transfer_id])
    if not rows:
        raise NotFoundError(f"no transfer {transfer_id!r}")
    return _transfer_dict(rows[0])


def _transfer_dict(r: dict[str, Any]) -> dict[str, Any]:
    d: dict[str, Any] = json.loads(r["body"])
    d.update(id=r["id"], seller_account=r["seller_account"], buyer_account=r["buyer_account"])
    return d


def transfers(store: Store, state: str | None = None) -> list[dict[str, Any]]:
    """Every agreement transfer (optionally in one state), in one query."""
    sql, args = "SELECT * FROM exchange_transfer", list[Any]()
    if state is not None:
        sql += " WHERE state = ?"
        args.append(state)
    return [_transfer_dict(r) for r in store.query(sql + " ORDER BY id", args)]


def act_on_transfer(
    store: Store,
    transfer_id: str,
    action: str,
    *,
    actor: str,
    role: str,
    note: str = "",
    time: dt.datetime | None = None,
) -> dict[str, Any]:
    """Take *action* on a transfer (``market.transfer.step``). *role* is ``party`` (then
    *actor* must represent the party's account and acts as that party), ``regulator`` or
    ``exchange`` (the caller — a web route's ``requires`` — vouches for the role; the exchange
    must be a registry operator). ``settle`` settles it (:func:`settle`)."""
    at = _aware(time if time is not None else service.now())
    rows = store.query("SELECT * FROM exchange_transfer WHERE id = ?", [transfer_id])
    if not rows:
        raise NotFoundError(f"no transfer {transfer_id!r}")
    r = rows[0]
    t = _from_body(r["body"])
    who = actor
    if role == "party":
        acts = [a for a in (r["seller_account"], r["buyer_account"]) if _is_rep(store, a, actor)]
        if not acts:
            raise PermissionDenied(f"{actor!r} represents neither party")
        who = _holder(store, acts[0])[0]
        if len(acts) == 2 and action == "accept":
            who = t.counterparty
    elif role == "exchange":
        rights.require_operator(store, actor)
    elif role != "regulator":
        raise InputError("role", "party, regulator or exchange", role)
    nxt = mt.step(t, action, who, role, at, note)
    agent = json.loads(r["body"]).get("seller_agent")
    if agent is None and role == "party" and _is_rep(store, r["seller_account"], actor):
        agent = actor
    if action == "settle":
        if agent is None:
            raise ConflictError(f"transfer {transfer_id}: no representative of the seller agreed")
        _claim(store, "exchange_transfer", transfer_id, t.state, "settling", actor=actor)
        try:
            _settle_transfer(store, transfer_id, r, t, agent, actor, at)
        except BaseException:
            _claim(store, "exchange_transfer", transfer_id, "settling", t.state, actor=actor)
            raise
        records.record(
            store, "UPDATE exchange_transfer SET body = ?, state = ? WHERE id = ?",
            [_to_body(nxt, agent), nxt.state, transfer_id],
            "exchange_transfer", [transfer_id], actor=actor, reason=action,
        )  # fmt: skip
        return get_transfer(store, transfer_id)
    records.record(
        store, "UPDATE exchange_transfer SET body = ?, state = ? WHERE id = ? AND state = ?",
        [_to_body(nxt, agent), nxt.state, transfer_id, t.state],
        "exchange_transfer", [transfer_id], actor=actor, reason=action,
    )  # fmt: skip
    return get_transfer(store, transfer_id)


def _settle_transfer(
    store: Store, transfer_id: str, r: dict[str, Any], t: mt.Transfer, agent: str, actor: str,
    at: dt.datetime,
) -> None:  # fmt: skip
    """The settlement of an approved transfer (its state already claimed)."""
    settle(
        store, kind="协议转让", ref=transfer_id, seller_account=r["seller_account"],
        buyer_account=r["buyer_account"],
        select=Select(instrument=t.instrument, quantity=t.units, pollutant=t.pollutant or None),
        price_fen=t.price_fen, agent=agent, actor=actor, time=_naive(at),
    )  # fmt: skip


# -- the government reserve (政府储备) ---------------------------------------------------------
def reserve_buy_back(
    store: Store,
    *,
    reserve_account: str,
    seller_account: str,
    seller_agent: str,
    select: Select,
    price_fen: int,
    actor: str,
    time: dt.datetime | None = None,
) -> dict[str, Any]:
    """The reserve buys back units (政府储备回购) from *seller_account*, whose representative
    *seller_agent* agreed, paying from ``GOV-RESERVE``. Operators only."""
    rights.require_operator(store, actor)
    if _holder(store, reserve_account)[1] != AccountKind.RESERVE.value:
        raise InputError("reserve_account", "a reserve account", reserve_account)
    if not _is_rep(store, seller_account, seller_agent):
        raise PermissionDenied(f"{seller_agent!r} does not represent {seller_account}")
    return settle(
        store, kind="政府储备回购", ref=reserve_account, seller_account=seller_account,
        buyer_account=reserve_account, select=select, price_fen=price_fen, agent=seller_agent,
        actor=actor, time=time,
    )  # fmt: skip


def reserve_sale(
    store: Store,
    *,
    reserve_account: str,
    reserve_agent: str,
    buyer_account: str,
    select: Select,
    price_fen: int,
    actor: str,
    time: dt.datetime | None = None,
) -> dict[str, Any]:
    """The reserve sells units (政府储备出让) to *buyer_account*; *reserve_agent* represents the
    reserve account; the price goes to ``GOV-RESERVE``. Operators only."""
    rights.require_operator(store, actor)
    if _holder(store, reserve_account)[1] != AccountKind.RESERVE.value:
        raise InputError("reserve_account", "a reserve account", reserve_account)
    return settle(
        store, kind="政府储备出让", ref=reserve_account, seller_account=reserve_account,
        buyer_account=buyer_account, select=select, price_fen=price_fen, agent=reserve_agent,
        actor=actor, time=time,
    )  # fmt: skip
