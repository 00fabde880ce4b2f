"""The exchange's money ledger: double-entry bookkeeping in integer fen, hash-chained.

Every movement of money — a fee instalment paid, a trade settled, the reserve buying back or
selling — is one *money transaction*: two or more postings ``(cash account, amount [fen])``
that **sum to zero** (what one account is credited another is debited; 复式记账). Balances are
never stored: they are the sums of the postings, so money can neither appear nor vanish, and
the sum of every balance is always 0 (the ``bank`` account — money entering and leaving the
platform, 银行结算 — carries the opposite sign of everything deposited).

Cash accounts (:class:`CashKind`): an entity's ``cash`` account (a party's funds held for
settlement, 交易资金), the government's ``fee_income`` (排污权出让收入, 财税〔2015〕61号) and
``reserve_fund`` (the reserve's funds, 政府储备), and one ``bank``. A ``cash`` or
``reserve_fund`` account never goes below 0 (``funds_insufficient``): a buyer pays only with
money it has deposited.

The ledger's rows have the registry log's shape and hash (:mod:`bishui.exchange.log`), in a
chain of their own (``exchange_ledger``); an edited row breaks the chain (:func:`verify`), and
:func:`rebuilt_balances` replays the bodies against the derived entries. Every write takes the
registry's head lock first (:func:`bishui.exchange.service.lock_head`), so units and money
written by one settlement (:func:`post_in` next to ``service.submit_in``) commit together, in
one lock order.

Pure part: :func:`check_postings`, :func:`apply_postings`, :func:`body`. Store part:
:func:`open_cash_account`, :func:`post`, :func:`post_in`, :func:`balance`, :func:`balances`,
:func:`ledger_rows`, :func:`verify`, :func:`rebuilt_balances`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bishui.errors import InputError, NotFoundError
from bishui.exchange import log as xlog
from bishui.exchange.checks import CheckCode, Refusal, raise_refusals, register_code
from bishui.store import Store
from bishui.store.base import Transaction as StoreTx

for _c in (
    CheckCode(
        "ledger_unbalanced",
        "double entry: debits = credits",
        "记账分录借贷不平衡",
        "the postings of a money transaction do not sum to zero",
    ),
    CheckCode(
        "cash_account_unknown",
        "EU 7020 (for money)",
        "资金账户不存在",
        "the cash account does not exist",
    ),
    CheckCode(
        "funds_insufficient",
        "settlement: delivery versus payment",
        "资金余额不足",
        "the cash account holds less than it would pay",
    ),
):
    register_code(_c)


class CashKind(StrEnum):
    """The kinds of cash account."""

    CASH = "cash"  # an entity's settlement funds (交易资金); never below 0
    FEE_INCOME = "fee_income"  # the government's 排污权出让收入
    RESERVE_FUND = "reserve_fund"  # the government reserve's funds (政府储备)
    BANK = "bank"  # money entering and leaving the platform (银行结算); any sign


#: Accounts that never go below 0 (they pay only with money they hold).
_NON_NEGATIVE = frozenset({CashKind.CASH, CashKind.RESERVE_FUND})

#: The one bank account every deposit and withdrawal posts against.
BANK = "BANK"


@dataclass(frozen=True, slots=True)
class Posting:
    """One line: *amount_fen* credited to *account* (negative: debited)."""

    account: str
    amount_fen: int


@dataclass(frozen=True, slots=True)
class MoneyTx:
    """One money transaction: its postings sum to zero."""

    id: str
    kind: str
    time: dt.datetime
    actor: str
    reason: str
    ref: str  # what it settles: a fee id, a trade id …
    postings: tuple[Posting, ...]
    data: Mapping[str, Any] = field(default_factory=dict)


def check_postings(postings: Sequence[Posting]) -> list[Refusal]:
    """The double-entry rule: at least two lines, each a non-zero whole number of fen, on
    distinct accounts, summing to exactly zero."""
    out: list[Refusal] = []
    for p in postings:
        if isinstance(p.amount_fen, bool) or not isinstance(p.amount_fen, int):
            raise InputError("amount_fen", "a whole number of fen", p.amount_fen)
        if p.amount_fen == 0:
            raise InputError("amount_fen", "a posting moves money (≠ 0)", 0)
    accounts = [p.account for p in postings]
    if len(set(accounts)) != len(accounts):
        raise InputError("account", "each account once per money transaction", accounts)
    if len(postings) < 2 or sum(p.amount_fen for p in postings) != 0:
        total = sum(p.amount_fen for p in postings)
        out.append(Refusal("ledger_unbalanced", f"{len(postings)} postings sum to {total} fen"))
    return out


def apply_postings(
    balances: dict[str, int], kinds: Mapping[str, CashKind], postings: Sequence[Posting]
) -> list[Refusal]:
    """Check *postings* against *balances* and the accounts' *kinds*; when nothing is refused,
    add them to *balances* (in place). Returns the refusals (then *balances* is unchanged)."""
    out = check_postings(postings)
    for p in postings:
        kind = kinds.get(p.account)
        if kind is None:
            out.append(Refusal("cash_account_unknown", repr(p.account)))
        elif kind in _NON_NEGATIVE and balances.get(p.account, 0) + p.amount_fen < 0:
            have = balances.get(p.account, 0)
            out.append(
                Refusal("funds_insufficient", f"{p.account} holds {have} fen, pays {-p.amount_fen}")
            )
    if not out:
        for p in postings:
            balances[p.account] = balances.get(p.account, 0) + p.amount_fen
    return out


def body(t: MoneyTx) -> str:
    """The canonical JSON of a money transaction's postings and data (hashed in the chain)."""
    return json.dumps(
        {
            "postings": [[p.account, p.amount_fen] for p in t.postings],
            "data": xlog._jsonable(dict(t.data)),
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )


def _postings_of(body_json: str) -> tuple[Posting, ...]:
    return tuple(Posting(str(a), int(f)) for a, f in json.loads(body_json)["postings"])


# -- the store ------------------------------------------------------------------------------
def _lock(tx: StoreTx, dialect: str) -> None:
    from bishui.exchange.service import lock_head

    lock_head(tx, dialect)


def open_cash_account(
    store: Store, account: str, kind: CashKind | str, holder: str, name: str = ""
) -> None:
    """Open cash account *account* of *kind* for entity *holder* (idempotent for the same
    kind and holder; ``InputError`` when the id is taken by another)."""
    k = CashKind(kind)
    with store.transaction() as tx:
        open_cash_account_in(tx, store.dialect, account, k, holder, name)


def open_cash_account_in(
    tx: StoreTx, dialect: str, account: str, kind: CashKind, holder: str, name: str = ""
) -> None:
    """:func:`open_cash_account` inside the caller's transaction."""
    if not account.strip() or len(account) > 64:
        raise InputError("account", "1–64 characters", account)
    _lock(tx, dialect)
    have = tx.fetch_one("SELECT kind, holder FROM exchange_cash_account WHERE id = ?", [account])
    if have is not None:
        if (str(have[0]), str(have[1])) != (kind.value, holder):
            raise InputError("account", "an unused cash account id", account)
        return
    tx.execute(
        "INSERT INTO exchange_cash_account (id, kind, holder, name) VALUES (?, ?, ?, ?)",
        [account, kind.value, holder, name],
    )


def cash_account_of(entity: str) -> str:
    """The id of an entity's ``cash`` account (by convention ``CASH-<entity id>``)."""
    return f"CASH-{entity}"


def post(
    store: Store,
    postings: Sequence[Posting],
    *,
    kind: str,
    actor: str,
    reason: str,
    ref: str = "",
    time: dt.datetime | None = None,
    data: Mapping[str, Any] | None = None,
) -> MoneyTx:
    """Record one money transaction in its own store transaction (:func:`post_in`)."""
    with store.transaction() as tx:
        return post_in(
            tx, store.dialect, postings, kind=kind, actor=actor, reason=reason, ref=ref,
            time=time, data=data,
        )  # fmt: skip


def post_in(
    tx: StoreTx,
    dialect: str,
    postings: Sequence[Posting],
    *,
    kind: str,
    actor: str,
    reason: str,
    ref: str = "",
    time: dt.datetime | None = None,
    data: Mapping[str, Any] | None = None,
) -> MoneyTx:
    """Check and record one money transaction inside the caller's store transaction.

    Raises ``Refused`` (unbalanced, unknown account, a ``cash`` account below 0) and writes
    nothing then. Takes the registry's head lock first (one lock order with the units)."""
    from bishui.exchange.service import now

    if not actor.strip():
        raise InputError("actor", "who records the money transaction", actor)
    _lock(tx, dialect)
    posts = tuple(postings)
    ids = sorted({p.account for p in posts})
    kinds: dict[str, CashKind] = {}
    bal: dict[str, int] = {}
    if ids:
        marks = ", ".join("?" for _ in ids)
        for aid, k in tx.fetch(
            f"SELECT id, kind FROM exchange_cash_account WHERE id IN ({marks})",  # noqa: S608
            ids,
        ):
            kinds[str(aid)] = CashKind(str(k))
        for aid, s in tx.fetch(
            f"SELECT account, SUM(amount_fen) FROM exchange_ledger_entry "  # noqa: S608
            f"WHERE account IN ({marks}) GROUP BY account",
            ids,
        ):
            bal[str(aid)] = int(s)
    raise_refusals(apply_postings(bal, kinds, posts))
    t = MoneyTx(
        uuid.uuid4().hex, kind, time if time is not None else now(), actor, reason, ref, posts,
        dict(data or {}),
    )  # fmt: skip
    head = tx.fetch_one("SELECT seq, hash FROM exchange_ledger_head WHERE id = 1")
    assert head is not None, "exchange_ledger_head has its row from the migration"
    seq, prev = int(head[0]) + 1, str(head[1])
    b = body(t)
    ts = xlog._naive(t.time)
    h = xlog.row_hash(seq, t.id, kind, ts, actor, reason, None, ref, b, prev)
    tx.execute(
        "INSERT INTO exchange_ledger (seq, tx_id, kind, ts, actor, reason, source, target, "
        "body, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, t.id, kind, ts, actor, reason, None, ref, b, prev, h],
    )
    tx.execute("UPDATE exchange_ledger_head SET seq = ?, hash = ? WHERE id = 1", [seq, h])
    one = "(?, ?, ?, ?)"
    tx.execute(
        "INSERT INTO exchange_ledger_entry (seq, line, account, amount_fen) VALUES "  # noqa: S608
        + ", ".join(one for _ in posts),
        [v for i, p in enumerate(posts) for v in (seq, i + 1, p.account, p.amount_fen)],
    )
    return t


def deposit(
    store: Store, account: str, amount_fen: int, *, actor: str, reason: str = "入金"
) -> MoneyTx:
    """Money paid in from the bank to *account* (入金)."""
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise InputError("amount_fen", "a whole number of fen > 0", amount_fen)
    return post(
        store,
        [Posting(BANK, -amount_fen), Posting(account, amount_fen)],
        kind="deposit",
        actor=actor,
        reason=reason,
        ref=account,
    )


def ensure_bank(store: Store) -> None:
    """Open the one ``bank`` account (idempotent)."""
    open_cash_account(store, BANK, CashKind.BANK, "bank", "银行结算")


def balance(store: Store, account: str) -> int:
    """The balance of one cash account [fen] (the sum of its postings)."""
    if not store.query("SELECT id FROM exchange_cash_account WHERE id = ?", [account]):
        raise NotFoundError(f"no cash account {account!r}")
    r = store.query(
        "SELECT COALESCE(SUM(amount_fen), 0) AS s FROM exchange_ledger_entry WHERE account = ?",
        [account],
    )
    return int(r[0]["s"])


def balances(store: Store) -> dict[str, int]:
    """Every cash account's balance [fen] (0 for one never posted to)."""
    out = {str(r["id"]): 0 for r in store.query("SELECT id FROM exchange_cash_account")}
    for r in store.query(
        "SELECT account, SUM(amount_fen) AS s FROM exchange_ledger_entry GROUP BY account"
    ):
        out[str(r["account"])] = int(r["s"])
    return out


def cash_accounts(store: Store) -> list[dict[str, Any]]:
    """Every cash account with its kind, holder, name and balance [fen]."""
    bal = balances(store)
    rows = store.query("SELECT id, kind, holder, name FROM exchange_cash_account ORDER BY id")
    return [{**r, "balance_fen": bal.get(str(r["id"]), 0)} for r in rows]


def ledger_rows(store: Store) -> list[xlog.Row]:
    """The money ledger in ``seq`` order."""
    rows = store.query(
        f"SELECT {', '.join(xlog.COLUMNS)} FROM exchange_ledger ORDER BY seq"  # noqa: S608
    )
    return [xlog.Row(**{**r, "seq": int(r["seq"])}) for r in rows]


def verify(store: Store) -> xlog.ChainFault | None:
    """The first ledger row that breaks the hash chain, or None."""
    return xlog.verify_chain(ledger_rows(store))


def rebuilt_balances(rows: Iterable[xlog.Row]) -> dict[str, int]:
    """Balances replayed from the ledger's hashed bodies alone (to compare with
    :func:`balances`, which sums the derived entries)."""
    out: dict[str, int] = {}
    for r in rows:
        postings = _postings_of(r.body)
        if sum(p.amount_fen for p in postings) != 0:
            raise InputError("body", "postings that sum to zero", r.seq)
        for p in postings:
            out[p.account] = out.get(p.account, 0) + p.amount_fen
    return out


def history(store: Store, account: str, limit: int = 200) -> list[dict[str, Any]]:
    """An account's postings, newest first: seq, time, kind, ref, reason, amount [fen]."""
    return store.query(
        "SELECT l.seq, l.ts, l.kind, l.target AS ref, l.reason, l.actor, e.amount_fen "
        "FROM exchange_ledger_entry e JOIN exchange_ledger l ON l.seq = e.seq "
        "WHERE e.account = ? ORDER BY l.seq DESC LIMIT ?",
        [account, max(1, min(int(limit), 10_000))],
    )
