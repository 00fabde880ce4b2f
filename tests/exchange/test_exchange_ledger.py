"""The money ledger: double entry in integer fen (property), balances derived and conserved,
the chain detects an edited row, and units and money of one settlement commit together or not
at all (both backends)."""

from __future__ import annotations

import pytest
from exreg_helpers import ALICE, OP, cod, setup
from hypothesis import given
from hypothesis import strategies as st

from bishui.errors import InputError
from bishui.exchange import ledger, service
from bishui.exchange.checks import Refused
from bishui.exchange.ledger import BANK, CashKind, Posting
from bishui.exchange.registry import Issue, Select, Transfer
from bishui.store import Store

KINDS = {"A": CashKind.CASH, "B": CashKind.CASH, "G": CashKind.FEE_INCOME, BANK: CashKind.BANK}


def test_double_entry_rule() -> None:
    assert ledger.check_postings([Posting("A", 5), Posting("B", -5)]) == []
    assert [r.code for r in ledger.check_postings([Posting("A", 5), Posting("B", -4)])] == [
        "ledger_unbalanced"
    ]
    assert [r.code for r in ledger.check_postings([Posting("A", 0 + 1)])] == ["ledger_unbalanced"]
    with pytest.raises(InputError):
        ledger.check_postings([Posting("A", 0), Posting("B", 0)])
    with pytest.raises(InputError):
        ledger.check_postings([Posting("A", 1.5), Posting("B", -1.5)])  # type: ignore[arg-type]


_acct = st.sampled_from(sorted(KINDS))


@st.composite
def _tx(draw: st.DrawFn) -> list[Posting]:
    accounts = draw(st.lists(_acct, min_size=2, max_size=4, unique=True))
    amounts = [draw(st.integers(-(10**9), 10**9).filter(bool)) for _ in accounts[1:]]
    first = -sum(amounts)
    if first == 0:
        amounts[0] += 1
        first = -1
    return [Posting(accounts[0], first)] + [
        Posting(a, x) for a, x in zip(accounts[1:], amounts, strict=True)
    ]


@given(st.lists(_tx(), max_size=30))
def test_any_sequence_conserves_money(txs: list[list[Posting]]) -> None:
    bal: dict[str, int] = {}
    for postings in txs:
        before = dict(bal)
        refused = ledger.apply_postings(bal, KINDS, postings)
        if refused:
            assert bal == before  # a refused transaction changes nothing
            assert {r.code for r in refused} == {"funds_insufficient"}
        assert sum(bal.values()) == 0  # money neither appears nor vanishes
        assert all(bal.get(a, 0) >= 0 for a, k in KINDS.items() if k is CashKind.CASH)


def _cash(store: Store) -> None:
    ledger.ensure_bank(store)
    ledger.open_cash_account(store, "CA", CashKind.CASH, "A")
    ledger.open_cash_account(store, "CB", CashKind.CASH, "B")
    ledger.open_cash_account(store, "GOV-FEE", CashKind.FEE_INCOME, "gov")


def test_ledger_on_the_store(store: Store) -> None:
    _cash(store)
    ledger.open_cash_account(store, "CA", CashKind.CASH, "A")  # idempotent
    with pytest.raises(InputError):
        ledger.open_cash_account(store, "CA", CashKind.FEE_INCOME, "A")
    ledger.deposit(store, "CB", 100_00, actor=OP)
    ledger.post(
        store, [Posting("CB", -30_00), Posting("GOV-FEE", 30_00)], kind="fee", actor=OP,
        reason="排污权有偿使用费", ref="fee-1",
    )  # fmt: skip
    with pytest.raises(Refused) as ei:
        ledger.post(store, [Posting("CA", -1), Posting("CB", 1)], kind="x", actor=OP, reason="")
    assert [r.code for r in ei.value.refusals] == ["funds_insufficient"]
    with pytest.raises(Refused) as ei:
        ledger.post(store, [Posting("NOPE", -1), Posting("CB", 1)], kind="x", actor=OP, reason="")
    assert [r.code for r in ei.value.refusals] == ["cash_account_unknown"]
    bal = ledger.balances(store)
    assert bal == {"CA": 0, "CB": 70_00, "GOV-FEE": 30_00, BANK: -100_00}
    assert ledger.balance(store, "CB") == 70_00
    rows = ledger.ledger_rows(store)
    assert len(rows) == 2 and ledger.verify(store) is None
    assert ledger.rebuilt_balances(rows) == {k: v for k, v in bal.items() if v}
    assert [h["amount_fen"] for h in ledger.history(store, "CB")] == [-30_00, 100_00]
    # an edited amount in the hashed body breaks the chain at that row
    store.execute(
        "UPDATE exchange_ledger SET body = ? WHERE seq = 2",
        [rows[1].body.replace("3000", "300")],
    )
    fault = ledger.verify(store)
    assert fault is not None and fault.seq == 2


def test_units_and_money_commit_together(store: Store) -> None:
    setup(lambda req, actor: service.submit(store, req, actor=actor))
    service.submit(store, Issue("HA", cod(), 1000, "determination"), actor=OP)
    _cash(store)
    ledger.deposit(store, "CB", 50, actor=OP)
    n_log = len(service.log_rows(store))

    def settle(price: int) -> None:
        with store.transaction() as tx:
            service.submit_in(
                tx, store.dialect, Transfer("HA", "HB", Select(cod().instrument, 10)), actor=ALICE
            )
            ledger.post_in(
                tx, store.dialect, [Posting("CB", -price), Posting("CA", price)],
                kind="settlement", actor=ALICE, reason="协议转让", ref="T1",
            )  # fmt: skip

    with pytest.raises(Refused):
        settle(60)  # the buyer lacks the money: the units do not move either
    assert len(service.log_rows(store)) == n_log
    assert [(b.start, b.end) for b in service.holdings(store, "HA")] == [(1, 1000)]
    settle(50)
    assert [(b.start, b.end) for b in service.holdings(store, "HB")] == [(1, 10)]
    assert ledger.balance(store, "CA") == 50 and ledger.balance(store, "CB") == 0
    assert service.verify(store) is None and ledger.verify(store) is None
