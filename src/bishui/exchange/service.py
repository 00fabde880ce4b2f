"""The store-backed registry: every write is one log row and its derived rows, in one
``store.transaction()``.

:func:`submit` locks the log's head row, loads the part of the registry the request touches
(the accounts it names, every block of the series it touches), plans and checks the
transaction with the pure core (``bishui.exchange.registry``), runs the caller's *extra
checks* (the market's restrictions plug in here), appends the hash-chained log row and writes
the blocks and registrations the transaction changed — or raises the refusals and writes
nothing.

Concurrency: every registry write takes the head row first — ``SELECT … FOR UPDATE`` on
PostgreSQL, so writers in other connections and processes wait for it; on DuckDB the store's
single writer already serialises them. Writers therefore never interleave: two transfers from
one account cannot both spend the same serials (the second sees the first's blocks once it has
the lock), no update is lost (the head's ``seq`` is the log's next primary key), and there is
one lock, taken first, so no deadlock. The cost is that registry writes are serial (a few
milliseconds each; docs/benchmarks.md).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bishui.exchange import log as xlog
from bishui.exchange.checks import Refusal, raise_refusals
from bishui.exchange.instruments import Instrument
from bishui.exchange.registry import (
    Account,
    AccountKind,
    AccountState,
    Block,
    Cancel,
    Change,
    Entity,
    Expire,
    Issue,
    OpenAccount,
    RegisterEntity,
    Request,
    Retire,
    Series,
    SetAccountState,
    SetRepresentatives,
    State,
    Status,
    Surrender,
    Transaction,
    Transfer,
    apply,
    plan,
    replay,
)
from bishui.store import Store
from bishui.store.base import Transaction as StoreTx

#: A check the service runs after the registry's own, before anything is written: it sees the
#: loaded state and the planned transaction and returns refusals (the market's restrictions).
ExtraCheck = Callable[[State, Transaction], Iterable[Refusal]]

_CST = dt.timezone(dt.timedelta(hours=8))
_BLOCK_COLS = (
    "instrument",
    "pollutant",
    "vintage",
    "region",
    "start_serial",
    "end_serial",
    "valid_until",
    "account",
    "status",
)
_COLS = ", ".join(_BLOCK_COLS)
# The SQL below is composed from these constants only; every value is a bound parameter.
_HELD = f"SELECT {_COLS} FROM exchange_block WHERE status = 'held' "  # noqa: S608
_SERIES_WHERE = "instrument = ? AND pollutant = ? AND vintage = ? AND region = ?"
_MAX_SERIAL = "SELECT MAX(end_serial) FROM exchange_block WHERE " + _SERIES_WHERE  # noqa: S608
_DELETE_BLOCKS = (
    "DELETE FROM exchange_block WHERE instrument = ? AND pollutant = ? AND vintage = ? "
    "AND region = ? AND start_serial IN "
)


def now() -> dt.datetime:
    """The platform's clock (UTC+8, naive), to the microsecond."""
    return dt.datetime.now(_CST).replace(tzinfo=None)


def submit(
    store: Store,
    req: Request,
    *,
    actor: str,
    reason: str = "",
    time: dt.datetime | None = None,
    tx_id: str | None = None,
    extra_checks: Sequence[ExtraCheck] = (),
) -> Transaction:
    """Check and record *req* by *actor*; returns the recorded transaction. Raises
    ``Refused`` / ``RefusedPermission`` (nothing written) when a check fails."""
    with store.transaction() as tx:
        return submit_in(
            tx,
            store.dialect,
            req,
            actor=actor,
            reason=reason,
            time=time,
            tx_id=tx_id,
            extra_checks=extra_checks,
        )


def lock_head(tx: StoreTx, dialect: str) -> tuple[int, str]:
    """Take the registry's one lock (the head row) in the caller's transaction; returns the
    log's last ``seq`` and ``hash``. Every exchange write — units or money — takes it first,
    so there is one lock order and no deadlock. Taking it twice in one transaction is fine."""
    lock = " FOR UPDATE" if dialect == "postgresql" else ""
    head = tx.fetch_one(f"SELECT seq, hash FROM exchange_head WHERE id = 1{lock}")  # noqa: S608
    assert head is not None, "exchange_head has its row from the migration"
    return int(head[0]), str(head[1])


def submit_in(
    tx: StoreTx,
    dialect: str,
    req: Request,
    *,
    actor: str,
    reason: str = "",
    time: dt.datetime | None = None,
    tx_id: str | None = None,
    extra_checks: Sequence[ExtraCheck] = (),
) -> Transaction:
    """:func:`submit` inside the caller's store transaction *tx* (``store.dialect`` as
    *dialect*): a settlement records its unit moves and its money postings
    (:func:`bishui.exchange.ledger.post_in`) in one store transaction, so both commit or
    neither does. Raises the refusals like :func:`submit`; the caller's transaction then
    rolls back as the exception leaves its ``with`` block."""
    t_now = time if time is not None else now()
    tid = tx_id if tx_id is not None else uuid.uuid4().hex
    seq, prev = lock_head(tx, dialect)
    state = _load(tx, req)
    planned = plan(state, req, tx_id=tid, time=t_now, actor=actor, reason=reason)
    raise_refusals([r for c in extra_checks for r in c(state, planned)])
    _neighbours(tx, state, planned)
    change = apply(state, planned)  # checks again, with the neighbours loaded
    row = xlog.to_row(planned, seq + 1, prev)
    _insert(tx, "exchange_log", xlog.COLUMNS, [row.as_tuple()])
    tx.execute("UPDATE exchange_head SET seq = ?, hash = ? WHERE id = 1", [row.seq, row.hash])
    _write(tx, planned, change)
    return planned


# -- loading the part of the state a request touches --------------------------------------
def _load(tx: StoreTx, req: Request) -> State:
    state = State()
    state.operators = {str(r[0]) for r in tx.fetch("SELECT username FROM exchange_operator")}
    ids = [getattr(req, a) for a in ("account", "source", "target", "id") if hasattr(req, a)]
    if isinstance(
        req,
        Issue
        | Transfer
        | Surrender
        | Retire
        | Cancel
        | SetAccountState
        | SetRepresentatives
        | OpenAccount,
    ):
        _load_accounts(tx, state, [str(i) for i in ids])
    if isinstance(req, RegisterEntity | OpenAccount):
        eid = req.entity.id if isinstance(req, RegisterEntity) else req.holder
        for r in tx.fetch("SELECT id, kind, name FROM exchange_entity WHERE id = ?", [eid]):
            state.entities[r[0]] = Entity(r[0], r[1], r[2])
    found: list[Block] = []
    if isinstance(req, Issue):
        key = list(req.series.key())
        if req.start is None:  # the core allocates after the last block: load that one
            top = tx.fetch_one(_MAX_SERIAL, key)
            last = int(top[0]) if top and top[0] is not None else 0
            found += _window(tx, req.series, last, last) if last else []
        else:
            found += _window(tx, req.series, req.start - 1, req.start + req.quantity)
    elif isinstance(req, Transfer | Surrender | Retire | Cancel):
        sel = req.select
        for rg in sel.ranges:
            found += _window(tx, rg.series, rg.start - 1, rg.end + 1)
        if not sel.ranges:
            src = req.source if isinstance(req, Transfer) else req.account
            sql = _HELD + "AND account = ? AND instrument = ?"
            args: list[Any] = [src, sel.instrument.value if sel.instrument else None]
            for col, v in (("pollutant", sel.pollutant), ("vintage", sel.vintage),
                           ("region", sel.region)):  # fmt: skip
                if v is not None:
                    sql += f" AND {col} = ?"
                    args.append(v)
            found += [_block(r) for r in tx.fetch(sql, args)]
    elif isinstance(req, SetAccountState):
        found += [_block(r) for r in tx.fetch(_HELD + "AND account = ?", [req.account])]
    elif isinstance(req, Expire):
        found += [_block(r) for r in tx.fetch(_HELD + "AND valid_until < ?", [req.on])]
    _add(state, found)
    return state


def _window(tx: StoreTx, s: Series, lo: int, hi: int) -> list[Block]:
    """The blocks of series *s* holding any serial from *lo* to *hi* (blocks are disjoint, so
    they start between the start of the block holding *lo* and *hi*)."""
    sql = (
        f"SELECT {_COLS} FROM exchange_block WHERE {_SERIES_WHERE} AND start_serial <= ? "  # noqa: S608
        "AND start_serial >= COALESCE((SELECT MAX(start_serial) FROM exchange_block "
        f"WHERE {_SERIES_WHERE} AND start_serial <= ?), ?) ORDER BY start_serial"
    )
    rows = tx.fetch(sql, [*s.key(), hi, *s.key(), lo, lo])
    return [b for b in map(_block, rows) if b.end >= lo]


def _add(state: State, blocks: Iterable[Block]) -> None:
    """Add the blocks not loaded yet."""
    have = {(b.series, b.start) for bs in state.blocks.values() for b in bs}
    new = {(b.series, b.start): b for b in blocks if (b.series, b.start) not in have}
    state.add_blocks(new.values())


def _neighbours(tx: StoreTx, state: State, planned: Transaction) -> None:
    """Load what applying *planned* rewrites: the blocks its ranges cut and the blocks right
    before and after each (a piece may merge with them)."""
    found: list[Block] = []
    for r in planned.moves:
        found += _window(tx, r.series, r.start - 1, r.end + 1)
    _add(state, found)


def _load_accounts(tx: StoreTx, state: State, ids: list[str]) -> None:
    ids = sorted(set(ids))
    if not ids:
        return
    marks = ", ".join("?" for _ in ids)
    reps: dict[str, set[str]] = {}
    sql = f"SELECT account, username FROM exchange_representative WHERE account IN ({marks})"  # noqa: S608
    for a, u in tx.fetch(sql, ids):
        reps.setdefault(a, set()).add(u)
    sql = f"SELECT id, kind, holder, state FROM exchange_account WHERE id IN ({marks})"  # noqa: S608
    for aid, kind, holder, st in tx.fetch(sql, ids):
        state.accounts[aid] = Account(
            aid, AccountKind(kind), holder, AccountState(st), frozenset(reps.get(aid, ()))
        )


def _series(r: Sequence[Any]) -> Series:
    return Series(Instrument(r[0]), str(r[1]), int(r[2]), str(r[3]))


def _block(r: Sequence[Any]) -> Block:
    return Block(_series(r), int(r[4]), int(r[5]), r[6], str(r[7]), Status(r[8]))


def _block_row(b: Block) -> tuple[Any, ...]:
    return (*b.series.key(), b.start, b.end, b.valid_until, b.account, b.status.value)


# -- writing what a transaction changed ------------------------------------------------------
def _write(tx: StoreTx, t: Transaction, change: Change) -> None:
    by: dict[Series, list[int]] = {}
    for b in change.removed:
        by.setdefault(b.series, []).append(b.start)
    for s, starts in by.items():
        marks = "(" + ", ".join("?" for _ in starts) + ")"
        tx.execute(_DELETE_BLOCKS + marks, [*s.key(), *starts])
    _insert(tx, "exchange_block", _BLOCK_COLS, [_block_row(b) for b in change.added])
    d = t.data
    if t.kind == "add_operator":
        tx.execute("INSERT INTO exchange_operator (username) VALUES (?)", [d["username"]])
    elif t.kind == "register_entity":
        tx.execute(
            "INSERT INTO exchange_entity (id, kind, name) VALUES (?, ?, ?)",
            [d["entity"], d["entity_kind"], d["name"]],
        )
    elif t.kind == "open_account":
        tx.execute(
            "INSERT INTO exchange_account (id, kind, holder, state) VALUES (?, ?, ?, ?)",
            [t.target, d["account_kind"], d["holder"], AccountState.OPEN.value],
        )
        _write_reps(tx, str(t.target), d["representatives"])
    elif t.kind == "set_account_state":
        tx.execute("UPDATE exchange_account SET state = ? WHERE id = ?", [d["state"], t.source])
    elif t.kind == "set_representatives":
        tx.execute("DELETE FROM exchange_representative WHERE account = ?", [t.source])
        _write_reps(tx, str(t.source), d["representatives"])


def _insert(tx: StoreTx, table: str, cols: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A few rows in one parameterised statement (the bulk path costs more for a handful)."""
    if not rows:
        return
    one = "(" + ", ".join("?" for _ in cols) + ")"
    # table and cols are this module's constants, never input; every value is a parameter
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES " + ", ".join(one for _ in rows)  # noqa: S608
    tx.execute(sql, [v for r in rows for v in r])


def _write_reps(tx: StoreTx, account: str, users: Iterable[str]) -> None:
    _insert(tx, "exchange_representative", ("account", "username"), [(account, u) for u in users])


# -- reading -------------------------------------------------------------------------------
def log_rows(store: Store) -> list[xlog.Row]:
    """The whole log, in ``seq`` order."""
    rows = store.query(f"SELECT {', '.join(xlog.COLUMNS)} FROM exchange_log ORDER BY seq")  # noqa: S608
    return [xlog.Row(**{**r, "seq": int(r["seq"])}) for r in rows]


def verify(store: Store) -> xlog.ChainFault | None:
    """The first row of the stored log that breaks the hash chain, or None."""
    return xlog.verify_chain(log_rows(store))


def replayed(store: Store) -> State:
    """The registry rebuilt from the log alone (every check re-run as it is replayed)."""
    return replay(xlog.from_row(r) for r in log_rows(store))


def stored(store: Store) -> State:
    """The registry as its derived tables hold it (what :func:`replayed` must equal)."""
    state = State()
    state.operators = {r["username"] for r in store.query("SELECT username FROM exchange_operator")}
    for r in store.query("SELECT id, kind, name FROM exchange_entity"):
        state.entities[r["id"]] = Entity(r["id"], r["kind"], r["name"])
    reps: dict[str, set[str]] = {}
    for r in store.query("SELECT account, username FROM exchange_representative"):
        reps.setdefault(r["account"], set()).add(r["username"])
    for r in store.query("SELECT id, kind, holder, state FROM exchange_account"):
        state.accounts[r["id"]] = Account(
            r["id"],
            AccountKind(r["kind"]),
            r["holder"],
            AccountState(r["state"]),
            frozenset(reps.get(r["id"], ())),
        )
    cols = ", ".join(_BLOCK_COLS)
    rows = store.query(
        f"SELECT {cols} FROM exchange_block "  # noqa: S608
        "ORDER BY instrument, pollutant, vintage, region, start_serial"
    )
    for r in rows:
        b = _block([r[c] for c in _BLOCK_COLS])
        state.blocks.setdefault(b.series, []).append(b)
    return state


def holdings(store: Store, account: str) -> list[Block]:
    """The blocks an account holds in circulation, by series and serial."""
    cols = ", ".join(_BLOCK_COLS)
    rows = store.query(
        f"SELECT {cols} FROM exchange_block WHERE account = ? AND status = 'held' "  # noqa: S608
        "ORDER BY instrument, pollutant, vintage, region, start_serial",
        [account],
    )
    return [_block([r[c] for c in _BLOCK_COLS]) for r in rows]
