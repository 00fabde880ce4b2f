"""The market's records chain: lots, bids, agreement transfers (with their steps), fee
assessments and instalments made tamper-evident.

These tables are plain rows the trading and fee services update (a lot's state, a bid's award,
a transfer's steps, an instalment's payment). Every write to one of them also appends, in the
same store transaction, a row to ``exchange_record``: shaped and hashed exactly like the
registry's log (:mod:`bishui.exchange.log`, whose code it reuses — ``row_hash``, ``Row``,
``verify_chain``), chained on its own from :data:`bishui.exchange.log.GENESIS`, with
``exchange_record_head`` its head. A record's ``kind`` is the table, its ``target`` the row's
key, its ``body`` the canonical JSON of the whole row as written (read back inside the
transaction, so it is the stored value on either backend).

:func:`verify` checks the chain and then compares every tracked table with the latest record
of each of its rows: a row edited by SQL, deleted, or inserted without a record is named (the
EU transaction log's "data integrity" check, exchange-and-permits notes §A4).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from bishui.exchange import log as xlog
from bishui.exchange.service import lock_head, now
from bishui.store import Store
from bishui.store.base import Transaction as StoreTx

#: The tracked tables, their key columns and every stored column (in order). The SQL below is
#: composed from these constants only; every value is a bound parameter.
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "exchange_lot": (
        ("id",),
        ("id", "seller_account", "body", "opens", "closes", "state", "announced_by"),
    ),
    "exchange_bid": (
        ("id",),
        (
            "id",
            "lot_id",
            "bidder",
            "account",
            "price_fen",
            "units",
            "ts",
            "by_user",
            "awarded_units",
            "awarded_fen",
        ),
    ),
    "exchange_transfer": (
        ("id",),
        ("id", "seller_account", "buyer_account", "body", "state"),
    ),
    "exchange_fee": (
        ("id",),
        ("id", "holder", "schedule_id", "years", "lines", "total_fen", "assessed_on"),
    ),
    "exchange_instalment": (
        ("fee_id", "number"),
        ("fee_id", "number", "due", "amount_fen", "paid_tx", "paid_at"),
    ),
    "exchange_trusted": (
        ("account", "trusted"),
        (
            "account",
            "trusted",
            "state",
            "proposed_by",
            "proposed_at",
            "approved_by",
            "effective_at",
        ),
    ),
    "exchange_transfer_request": (
        ("id",),
        (
            "id",
            "source",
            "target",
            "body",
            "units",
            "state",
            "requested_by",
            "requested_at",
            "approved_by",
            "release_at",
            "log_tx",
            "note",
        ),
    ),
}


def _canon(value: Any) -> str:
    return json.dumps(
        xlog._jsonable(value), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )


def _key_text(key: Sequence[Any]) -> str:
    return "|".join(str(k) for k in key)


def _row_dict(cols: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    return {c: int(v) if _is_intlike(v) else v for c, v in zip(cols, row, strict=True)}


def _is_intlike(v: Any) -> bool:
    # BIGINT comes back as int on both backends; numpy / Decimal integers are normalised
    return type(v).__name__ in ("int64", "int32") or (type(v).__name__ == "Decimal" and v == int(v))


def snapshot_in(
    tx: StoreTx,
    dialect: str,
    table: str,
    key: Sequence[Any],
    *,
    actor: str,
    reason: str = "",
) -> xlog.Row:
    """Append the chained record of row *key* of *table* as it now stands in *tx* (after the
    caller's write). Takes the registry's head lock first (one lock order for every exchange
    write). A row that no longer exists is recorded with the body ``null``."""
    keys, cols = TABLES[table]
    lock_head(tx, dialect)
    where = " AND ".join(f"{k} = ?" for k in keys)
    found = tx.fetch_one(f"SELECT {', '.join(cols)} FROM {table} WHERE {where}", list(key))  # noqa: S608
    b = _canon(None if found is None else _row_dict(cols, found))
    head = tx.fetch_one("SELECT seq, hash FROM exchange_record_head WHERE id = 1")
    assert head is not None, "exchange_record_head has its row from the migration"
    seq, prev = int(head[0]) + 1, str(head[1])
    ts, tid, target = now(), uuid.uuid4().hex, _key_text(key)
    h = xlog.row_hash(seq, tid, table, ts, actor, reason, None, target, b, prev)
    row = xlog.Row(seq, tid, table, ts, actor, reason, None, target, b, prev, h)
    marks = ", ".join("?" for _ in xlog.COLUMNS)
    tx.execute(
        f"INSERT INTO exchange_record ({', '.join(xlog.COLUMNS)}) VALUES ({marks})",  # noqa: S608
        list(row.as_tuple()),
    )
    tx.execute("UPDATE exchange_record_head SET seq = ?, hash = ? WHERE id = 1", [seq, h])
    return row


def record(
    store: Store,
    sql: str,
    params: Sequence[Any],
    table: str,
    key: Sequence[Any],
    *,
    actor: str,
    reason: str = "",
) -> None:
    """Run one write statement on *table* and record row *key* in one store transaction."""
    with store.transaction() as tx:
        lock_head(tx, store.dialect)
        tx.execute(sql, list(params))
        snapshot_in(tx, store.dialect, table, key, actor=actor, reason=reason)


def record_rows(store: Store) -> list[xlog.Row]:
    """The whole records chain, in ``seq`` order."""
    rows = store.query(f"SELECT {', '.join(xlog.COLUMNS)} FROM exchange_record ORDER BY seq")  # noqa: S608
    return [xlog.Row(**{**r, "seq": int(r["seq"])}) for r in rows]


def verify(store: Store) -> xlog.ChainFault | None:
    """The first fault of the records: a break in the chain (``verify_chain``), or a tracked
    row that differs from its latest record (edited), has a record but no row (deleted), or a
    row but no record (inserted behind the services' back). ``seq`` is the record's (0 for a
    row that has none)."""
    rows = record_rows(store)
    fault = xlog.verify_chain(rows)
    if fault is not None:
        return fault
    latest: dict[tuple[str, str], xlog.Row] = {}
    for r in rows:
        latest[(r.kind, str(r.target))] = r
    for table, (keys, cols) in TABLES.items():
        seen: set[str] = set()
        for found in store.query(f"SELECT {', '.join(cols)} FROM {table}"):  # noqa: S608
            k = _key_text([found[c] for c in keys])
            seen.add(k)
            rec = latest.get((table, k))
            if rec is None:
                return xlog.ChainFault(0, f"{table} {k}: a row without a chained record")
            if _canon(_row_dict(cols, [found[c] for c in cols])) != rec.body:
                return xlog.ChainFault(rec.seq, f"{table} {k}: differs from its record (edited)")
        for (t, k), rec in latest.items():
            if t == table and k not in seen and rec.body != "null":
                return xlog.ChainFault(rec.seq, f"{table} {k}: recorded but missing (deleted)")
    return None
