"""The ledger conserves totals under any sequence of statements and corrections."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from comp_helpers import HEZE_TERMS, doc, ind, load
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui.compensation import Ledger, PeriodInputs, PointInput, Statement, compute
from bishui.compensation.engine import Transfer, _with_hash
from bishui.compensation.ledger import party_statement
from bishui.compensation.period import Period
from bishui.errors import ConflictError

PARTIES = ["420800", "420802", "420804", "420822"]


def make(agreement: str, period: Period, transfers: list[Transfer], prev: Statement | None):
    """A statement with the given transfers (the ledger reads only ids, versions, hashes)."""
    amount = sum((t.amount for t in transfers), Decimal(0))
    s = Statement(
        agreement_id=agreement,
        agreement_version=1,
        rule_hash="sha256:rule",
        period=period,
        version=1 if prev is None else prev.version + 1,
        status="computed",
        amount=amount,
        transfers=tuple(transfers),
        evidence={},
        notes=(),
        supersedes=None if prev is None else prev.content_hash,
        previous_amount=None if prev is None else prev.amount,
    )
    return _with_hash(s)


transfer = st.builds(
    lambda a, b, fen: Transfer(PARTIES[a], PARTIES[(a + b) % 4], Decimal(fen) / 100),
    st.integers(0, 3),
    st.integers(1, 3),
    st.integers(1, 10**10),
)
operation = st.tuples(
    st.sampled_from(["agr-a", "agr-b", "agr-c"]),
    st.sampled_from([Period(2025, "month", m) for m in (1, 2, 3)]),
    st.lists(transfer, max_size=4),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(operation, min_size=1, max_size=25))
def test_ledger_conserves_under_any_sequence(ops: list) -> None:  # type: ignore[type-arg]
    ledger = Ledger()
    for agreement, period, transfers in ops:
        prev = ledger.head(agreement, period)
        entry = ledger.post(make(agreement, period, transfers, prev))
        assert entry.balanced
        assert ledger.total() == 0
    # The balances are exactly what the current versions say, whatever was corrected.
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for s in ledger.heads():
        for t in s.transfers:
            expected[t.payee] += t.amount
            expected[t.payer] -= t.amount
    got = ledger.balances()
    for party in set(expected) | set(got):
        assert got.get(party, Decimal(0)) == expected.get(party, Decimal(0))
    # Per-party statements over the quarter net to zero across all parties.
    q1 = Period(2025, "quarter", 1)
    nets = [party_statement(p, q1, ledger.heads()).net for p in PARTIES]
    assert sum(nets, Decimal(0)) == 0
    for p in PARTIES:
        assert party_statement(p, q1, ledger.heads()).net == got.get(p, Decimal(0))


def test_posting_out_of_order_is_refused() -> None:
    ledger = Ledger()
    p = Period(2025, "month", 1)
    v1 = make("agr-a", p, [Transfer("420802", "420822", Decimal("10.00"))], None)
    v2 = make("agr-a", p, [Transfer("420802", "420822", Decimal("12.00"))], v1)
    with pytest.raises(ConflictError):
        ledger.post(v2)  # a correction before its original
    ledger.post(v1)
    with pytest.raises(ConflictError):
        ledger.post(v1)  # twice
    stale = make("agr-a", p, [Transfer("420802", "420822", Decimal("9.00"))], None)
    with pytest.raises(ConflictError):
        ledger.post(stale)  # a second "v1"
    ledger.post(v2)
    with pytest.raises(ConflictError):
        ledger.post(make("agr-a", p, [], v1))  # a correction of a superseded version
    assert ledger.balances() == {"420802": Decimal("-12.00"), "420822": Decimal("12.00")}
    memo = [e.memo for e in ledger.entries]
    assert memo[1].startswith("更正 agr-a/2025-01/v1")
    assert ledger.entries[1].postings[0].amount == Decimal("2.00")


def test_ledger_with_engine_statements_and_a_reversal_of_direction() -> None:
    a = load(
        doc(
            HEZE_TERMS,
            indicators=("w01018", "w21003"),
            point='"HZ01"',
            period="quarter",
            assessed='"371702"',
            counterparty='"371700"',
        )
    )
    good = PointInput("HZ01", {"w01018": ind(20, 3), "w21003": ind("1.0", 3)})
    bad = PointInput("HZ01", {"w01018": ind(35, 3), "w21003": ind(2, 3)})
    ledger = Ledger()
    v1 = compute(a, PeriodInputs.of("2025-Q1", good))
    ledger.post(v1)
    v2 = compute(a, PeriodInputs.of("2025-Q1", bad), previous=v1)
    ledger.post(v2)
    assert ledger.balances() == {"371700": Decimal("250000.00"), "371702": Decimal("-250000.00")}
    year = ledger.party_statement("371702", Period.parse("2025"))
    assert (year.pays, year.receives, year.net) == (Decimal(250_000), 0, Decimal(-250_000))
    assert year.lines[0].statement_id.endswith("/v2")
