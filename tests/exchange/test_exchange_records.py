"""The market's records chain (``bishui.exchange.records``) on both backends: every write to a
lot, bid, agreement transfer (each step), fee and instalment is recorded and chained; a row
edited, deleted or inserted by SQL behind the services' back is named by ``verify``; and the
list reads (``rights.fees_of``, ``trading.transfers``) equal the one-row reads."""

from __future__ import annotations

import datetime as dt

from exreg_helpers import ALICE, BOB, OP, A
from exsvc_helpers import COD, ON, REG, ready

from bishui.exchange import records, rights, trading
from bishui.store import Store


def _market(store: Store) -> tuple[str, str, str]:
    ready(store)
    f = rights.assess_fee(
        store, A, vintage=2026, schedule_id="hn-zhuzhou-2017", years=5, on=ON,
        instalments=2, every_months=12, actor=OP,
    )  # fmt: skip
    rights.pay_instalment(store, f["id"], 1, actor=ALICE)
    t0 = dt.datetime(2026, 3, 2, 10, 0)
    x = trading.propose_transfer(
        store, seller_account="HA", buyer_account="HB", instrument_="emission_right",
        pollutant=COD, units=100, price_fen=300_000, expires_at=t0 + dt.timedelta(days=7),
        actor=ALICE, time=t0,
    )  # fmt: skip
    trading.act_on_transfer(store, x["id"], "accept", actor=BOB, role="party", time=t0)
    trading.act_on_transfer(store, x["id"], "approve", actor=REG, role="regulator", time=t0)
    trading.act_on_transfer(store, x["id"], "settle", actor=OP, role="exchange", time=t0)
    t1 = dt.datetime(2026, 4, 1, 9, 0)
    lot = trading.announce_lot(
        store, seller_account="HA", seller_agent=ALICE, instrument_="emission_right",
        pollutant=COD, units=200, reserve_fen=250_000, opens=t1,
        closes=t1 + dt.timedelta(hours=2), actor=OP,
    )  # fmt: skip
    trading.place_bid(store, lot["id"], account="HB", price_fen=260_000, units=150, actor=BOB,
                      time=t1 + dt.timedelta(minutes=2))  # fmt: skip
    trading.close_lot(store, lot["id"], actor=OP, time=t1 + dt.timedelta(hours=2))
    return f["id"], x["id"], lot["id"]


def _faulty(store: Store, sql: str, args: list[object], undo: str, undo_args: list[object],
            expect: str) -> None:  # fmt: skip
    store.execute(sql, args)
    fault = records.verify(store)
    assert fault is not None and expect in fault.reason, (sql, fault)
    store.execute(undo, undo_args)
    assert records.verify(store) is None


def test_records_chain_detects_edited_deleted_and_inserted_rows(store: Store) -> None:
    fee_id, xfer, lot = _market(store)
    assert records.verify(store) is None
    kinds = {r.kind for r in records.record_rows(store)}
    assert kinds == set(records.TABLES) - {"exchange_trusted", "exchange_transfer_request"}
    # the transfer's every step is recorded: propose, accept, approve, settling, settled
    steps = [r for r in records.record_rows(store) if r.target == xfer]
    assert len(steps) >= 5
    (bid,) = trading.get_lot(store, lot)["bids"]
    edited = "differs from its record (edited)"
    _faulty(store, "UPDATE exchange_lot SET state = 'open' WHERE id = ?", [lot],
            "UPDATE exchange_lot SET state = 'closed' WHERE id = ?", [lot], edited)  # fmt: skip
    _faulty(store, "UPDATE exchange_bid SET price_fen = price_fen + 1 WHERE id = ?", [bid["id"]],
            "UPDATE exchange_bid SET price_fen = price_fen - 1 WHERE id = ?", [bid["id"]],
            edited)  # fmt: skip
    _faulty(store, "UPDATE exchange_transfer SET state = 'refused' WHERE id = ?", [xfer],
            "UPDATE exchange_transfer SET state = 'settled' WHERE id = ?", [xfer],
            edited)  # fmt: skip
    _faulty(store, "UPDATE exchange_fee SET total_fen = total_fen - 1 WHERE id = ?", [fee_id],
            "UPDATE exchange_fee SET total_fen = total_fen + 1 WHERE id = ?", [fee_id],
            edited)  # fmt: skip
    paid = store.query(
        "SELECT paid_tx, paid_at FROM exchange_instalment WHERE fee_id = ? AND number = 1",
        [fee_id],
    )[0]
    _faulty(store, "UPDATE exchange_instalment SET paid_tx = NULL, paid_at = NULL "
            "WHERE fee_id = ? AND number = 1", [fee_id],
            "UPDATE exchange_instalment SET paid_tx = ?, paid_at = ? WHERE fee_id = ? "
            "AND number = 1", [paid["paid_tx"], paid["paid_at"], fee_id], edited)  # fmt: skip
    # deleted, and inserted without a record
    row = store.query("SELECT * FROM exchange_instalment WHERE fee_id = ? AND number = 2",
                      [fee_id])[0]  # fmt: skip
    cols = list(row)
    ins = "INSERT INTO exchange_instalment (" + ", ".join(cols) + ") VALUES (" + ", ".join(
        "?" for _ in cols) + ")"  # fmt: skip
    _faulty(store, "DELETE FROM exchange_instalment WHERE fee_id = ? AND number = 2", [fee_id],
            ins, [row[c] for c in cols], "missing (deleted)")  # fmt: skip
    forged = {**row, "number": 9, "amount_fen": 1}
    _faulty(store, ins, [forged[c] for c in cols],
            "DELETE FROM exchange_instalment WHERE fee_id = ? AND number = 9", [fee_id],
            "without a chained record")  # fmt: skip
    # the chain itself: an edited record is named by the shared chain code
    seq = records.record_rows(store)[2].seq
    store.execute("UPDATE exchange_record SET actor = 'mallory' WHERE seq = ?", [seq])
    fault = records.verify(store)
    assert fault is not None and fault.seq == seq and "row edited" in fault.reason


def test_list_reads_equal_the_one_row_reads(store: Store) -> None:
    fee_id, xfer, _ = _market(store)
    assert rights.fees_of(store) == [rights.fee(store, fee_id)]
    assert rights.fees_of(store, A) == [rights.fee(store, fee_id)]
    assert rights.fees_of(store, "nobody") == []
    assert trading.transfers(store) == [trading.get_transfer(store, xfer)]
    assert trading.transfers(store, "settled") == [trading.get_transfer(store, xfer)]
    assert trading.transfers(store, "proposed") == []
