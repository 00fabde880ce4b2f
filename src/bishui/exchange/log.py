"""The registry's append-only log: canonical rows and their SHA-256 hash chain.

Each row stores the hash of the row before it (``prev_hash``; the first row's is
:data:`GENESIS`) and its own hash, SHA-256 over ``prev_hash`` and the canonical serialisation of
its transaction (JSON, keys sorted, no spaces, UTF-8; times and dates in ISO 8601). A stored
row edited in any column no longer hashes to its ``hash``, and a row removed or reordered
breaks the next row's ``prev_hash`` or the ``seq`` sequence: :func:`verify_chain` names the
first such row (the EU transaction log's "message sequence" and "data integrity" check groups,
exchange-and-permits notes §A4). Pure: rows in, verdict out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bishui.exchange.instruments import Instrument
from bishui.exchange.registry import Range, Series, Transaction

GENESIS = "0" * 64

#: The stored columns of one log row, in order.
COLUMNS = (
    "seq",
    "tx_id",
    "kind",
    "ts",
    "actor",
    "reason",
    "source",
    "target",
    "body",
    "prev_hash",
    "hash",
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def body(tx: Transaction) -> str:
    """The canonical JSON of what *tx* moved and its kind's data."""
    moves = [[*r.series.key(), r.start, r.end] for r in tx.moves]
    return json.dumps(
        {"moves": moves, "data": _jsonable(tx.data)},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )


_CST = dt.timezone(dt.timedelta(hours=8))


def _naive(t: dt.datetime) -> dt.datetime:
    # Stored as TIMESTAMP (no zone) on the platform's clock, UTC+8 (Asia/Shanghai).
    return t.astimezone(_CST).replace(tzinfo=None) if t.tzinfo is not None else t


def row_hash(
    seq: int,
    tx_id: str,
    kind: str,
    ts: dt.datetime,
    actor: str,
    reason: str,
    source: str | None,
    target: str | None,
    body_json: str,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of a row's canonical serialisation and the previous row's hash."""
    canon = json.dumps(
        [seq, tx_id, kind, _naive(ts).isoformat(), actor, reason, source, target, body_json],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + canon).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Row:
    """One stored log row (:data:`COLUMNS`)."""

    seq: int
    tx_id: str
    kind: str
    ts: dt.datetime
    actor: str
    reason: str
    source: str | None
    target: str | None
    body: str
    prev_hash: str
    hash: str

    def as_tuple(self) -> tuple[Any, ...]:
        return tuple(getattr(self, c) for c in COLUMNS)

    def computed_hash(self) -> str:
        return row_hash(
            self.seq,
            self.tx_id,
            self.kind,
            self.ts,
            self.actor,
            self.reason,
            self.source,
            self.target,
            self.body,
            self.prev_hash,
        )


def to_row(tx: Transaction, seq: int, prev_hash: str) -> Row:
    """*tx* as log row number *seq*, chained to *prev_hash*."""
    b = body(tx)
    ts = _naive(tx.time)
    h = row_hash(seq, tx.id, tx.kind, ts, tx.actor, tx.reason, tx.source, tx.target, b, prev_hash)
    return Row(seq, tx.id, tx.kind, ts, tx.actor, tx.reason, tx.source, tx.target, b, prev_hash, h)


def _date(v: Any) -> dt.date | None:
    return None if v is None else dt.date.fromisoformat(v)


def from_row(row: Row) -> Transaction:
    """The transaction a stored row records."""
    b = json.loads(row.body)
    data = dict(b["data"])
    if "valid_until" in data:
        data["valid_until"] = _date(data["valid_until"])
    if "on" in data:
        data["on"] = _date(data["on"])
    moves = tuple(
        Range(Series(Instrument(i), p, int(v), reg), int(s), int(e))
        for i, p, v, reg, s, e in b["moves"]
    )
    return Transaction(
        id=row.tx_id,
        kind=row.kind,
        time=row.ts,
        actor=row.actor,
        reason=row.reason,
        source=row.source,
        target=row.target,
        moves=moves,
        data=data,
    )


@dataclass(frozen=True, slots=True)
class ChainFault:
    """The first row that breaks the chain, and how."""

    seq: int
    reason: str


def verify_chain(rows: Iterable[Row]) -> ChainFault | None:
    """None if *rows* (in ``seq`` order) form an unbroken chain from :data:`GENESIS`; else
    the first bad row: a ``seq`` out of sequence, a ``prev_hash`` that is not the previous
    row's hash, or a ``hash`` its content does not produce (an edited row)."""
    prev, expect = GENESIS, 1
    for r in rows:
        if r.seq != expect:
            return ChainFault(r.seq, f"sequence: expected {expect}")
        if r.prev_hash != prev:
            return ChainFault(r.seq, "prev_hash is not the previous row's hash")
        if r.computed_hash() != r.hash:
            return ChainFault(r.seq, "content does not match its hash (row edited)")
        prev, expect = r.hash, expect + 1
    return None
