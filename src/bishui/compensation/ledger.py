"""The double-entry ledger of obligations between governments, and per-party statements.

Each government has one account, ``party:<region code>``, whose balance is what it is owed
net (positive: it is owed money; negative: it owes). Posting a statement writes one journal
entry whose postings sum to zero: for each transfer the payee is debited (+) and the payer
credited (−). A correction posts only the change of each pair's obligation between the
superseded version and the new one, so the ledger is append-only and every state of it
conserves: the balances always sum to zero (tested under arbitrary sequences of statements
and corrections, ``tests/compensation/test_compensation_ledger.py``).

A statement may be posted only as the next version of its agreement and period: version 1
first, then each correction naming the hash it supersedes; anything else is a
:class:`~bishui.errors.ConflictError` (a stale or duplicate write).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from bishui.compensation.engine import Statement, Transfer
from bishui.compensation.period import Period
from bishui.errors import ConflictError

__all__ = [
    "JournalEntry",
    "Ledger",
    "PartyLine",
    "PartyStatement",
    "Posting",
    "party_statement",
    "posting_lines",
]


@dataclass(frozen=True)
class Posting:
    """One line of a journal entry: ``amount`` 元 to ``account`` (+ debit, − credit)."""

    account: str
    amount: Decimal


@dataclass(frozen=True)
class JournalEntry:
    """One balanced journal entry, made by posting one statement version."""

    seq: int
    statement_id: str
    statement_hash: str
    agreement_id: str
    period: Period
    memo: str
    postings: tuple[Posting, ...]

    @property
    def balanced(self) -> bool:
        return sum((p.amount for p in self.postings), Decimal(0)) == 0


def _pair_net(transfers: Iterable[Transfer]) -> dict[tuple[str, str], Decimal]:
    """Obligations as net amounts on ordered pairs (a < b): positive means a owes b."""
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for t in transfers:
        if t.payer < t.payee:
            out[(t.payer, t.payee)] += t.amount
        else:
            out[(t.payee, t.payer)] -= t.amount
    return out


def posting_lines(old: Iterable[Transfer], new: Iterable[Transfer]) -> tuple[Posting, ...]:
    """The postings that move the ledger from the *old* transfers to the *new* ones.

    Per ordered pair of parties, the change of their net obligation: the party owed more is
    debited (+), the other credited (−), so the lines always sum to zero. For a first version
    *old* is empty; for a correction it is the superseded version's transfers.
    """
    before, after = _pair_net(old), _pair_net(new)
    postings: list[Posting] = []
    for a, b in sorted(set(before) | set(after)):
        delta = after.get((a, b), Decimal(0)) - before.get((a, b), Decimal(0))
        if delta:
            # a owes b (more) by delta: b is debited, a credited.
            postings.append(Posting(f"party:{b}", delta))
            postings.append(Posting(f"party:{a}", -delta))
    return tuple(postings)


class Ledger:
    """An in-memory, append-only ledger (the store persists its entries and heads)."""

    def __init__(self) -> None:
        self._entries: list[JournalEntry] = []
        self._heads: dict[tuple[str, Period], Statement] = {}

    @property
    def entries(self) -> tuple[JournalEntry, ...]:
        return tuple(self._entries)

    def heads(self) -> tuple[Statement, ...]:
        """The current (latest) version of every agreement's statement for every period."""
        return tuple(self._heads[k] for k in sorted(self._heads, key=lambda k: (k[1], k[0])))

    def head(self, agreement_id: str, period: Period) -> Statement | None:
        return self._heads.get((agreement_id, period))

    def post(self, statement: Statement) -> JournalEntry:
        """Post *statement*: a first version, or a correction of the current head.

        Raises
        ------
        ConflictError
            Not version 1 of a new (agreement, period), nor the next version superseding
            the current head's hash.
        """
        key = (statement.agreement_id, statement.period)
        head = self._heads.get(key)
        if head is None:
            if statement.version != 1 or statement.supersedes is not None:
                raise ConflictError(
                    f"{statement.id}: the first posted version of {key[0]}/{key[1]} must be v1"
                )
            old: tuple[Transfer, ...] = ()
            memo = f"记入 {statement.id}"
        else:
            if statement.supersedes != head.content_hash or statement.version != head.version + 1:
                raise ConflictError(
                    f"{statement.id}: does not supersede the current version {head.id}"
                )
            old = head.transfers
            memo = f"更正 {head.id} → {statement.id}"
        postings = posting_lines(old, statement.transfers)
        entry = JournalEntry(
            seq=len(self._entries) + 1,
            statement_id=statement.id,
            statement_hash=statement.content_hash,
            agreement_id=statement.agreement_id,
            period=statement.period,
            memo=memo,
            postings=tuple(postings),
        )
        assert entry.balanced
        self._entries.append(entry)
        self._heads[key] = statement
        return entry

    def balances(self) -> dict[str, Decimal]:
        """Net position of every party [元]: positive = owed to it."""
        out: dict[str, Decimal] = defaultdict(Decimal)
        for e in self._entries:
            for p in e.postings:
                out[p.account.removeprefix("party:")] += p.amount
        return dict(sorted(out.items()))

    def total(self) -> Decimal:
        """Sum of all balances: zero, always (the conservation the tests check)."""
        return sum(self.balances().values(), Decimal(0))

    def party_statement(self, party: str, period: Period) -> PartyStatement:
        return party_statement(party, period, self.heads())


# --------------------------------------------------------------------------- per party


@dataclass(frozen=True)
class PartyLine:
    """One agreement's effect on a party in a statement."""

    statement_id: str
    agreement_id: str
    period: Period
    status: str
    counterparty: str
    pays: Decimal
    receives: Decimal


@dataclass(frozen=True)
class PartyStatement:
    """What one party pays, receives and nets over a month, quarter or year [元]."""

    party: str
    period: Period
    lines: tuple[PartyLine, ...]

    @property
    def pays(self) -> Decimal:
        return sum((line.pays for line in self.lines), Decimal(0))

    @property
    def receives(self) -> Decimal:
        return sum((line.receives for line in self.lines), Decimal(0))

    @property
    def net(self) -> Decimal:
        """Receives minus pays [元]."""
        return self.receives - self.pays


def party_statement(party: str, period: Period, statements: Iterable[Statement]) -> PartyStatement:
    """Build *party*'s statement for *period* from the current statement versions.

    Every statement whose period lies within *period* counts (a year collects its months,
    quarters and the year itself). Pass only current versions (``Ledger.heads()``).
    """
    lines = []
    for st in statements:
        if not st.period.within(period):
            continue
        for t in st.transfers:
            if t.payer == party:
                lines.append(
                    PartyLine(
                        st.id, st.agreement_id, st.period, st.status, t.payee, t.amount, Decimal(0)
                    )
                )
            elif t.payee == party:
                lines.append(
                    PartyLine(
                        st.id, st.agreement_id, st.period, st.status, t.payer, Decimal(0), t.amount
                    )
                )
    return PartyStatement(party, period, tuple(lines))
