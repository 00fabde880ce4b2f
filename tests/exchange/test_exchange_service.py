"""The store-backed registry on both backends: writes, refusals that write nothing, the extra
checks hook, replay == stored holdings, and tamper detection on the stored log."""

from __future__ import annotations

from typing import Any

import pytest
from exreg_helpers import ALICE, BOB, OP, carbon, cod, setup

from bishui.exchange import service
from bishui.exchange.checks import CODES, CheckCode, Refusal, Refused, RefusedPermission
from bishui.exchange.registry import (
    AccountState,
    Issue,
    Range,
    Retire,
    Select,
    SetAccountState,
    State,
    Surrender,
    Transaction,
    Transfer,
    balances,
)
from bishui.store import Store


def qty(n: int) -> Select:
    return Select(instrument=cod().instrument, quantity=n)


def ready(store: Store) -> None:
    setup(lambda req, actor: service.submit(store, req, actor=actor))
    service.submit(store, Issue("HA", cod(), 1000, "determination"), actor=OP)


def _same(a: State, b: State) -> None:
    assert a.blocks == b.blocks
    assert a.accounts == b.accounts
    assert a.entities == b.entities
    assert a.operators == b.operators


def test_the_registry_on_the_store(store: Store) -> None:
    ready(store)
    t = service.submit(store, Transfer("HA", "HB", qty(300)), actor=ALICE, reason="协议转让")
    assert t.moves == (Range(cod(), 1, 300),)
    service.submit(store, Surrender("HB", 2026, qty(100)), actor=BOB)
    service.submit(store, Retire("HA", "RET", qty(50)), actor=ALICE)
    assert [(b.start, b.end) for b in service.holdings(store, "HA")] == [(351, 1000)]
    assert [(b.start, b.end) for b in service.holdings(store, "HB")] == [(101, 300)]
    got = balances(service.stored(store))
    assert got[("HB", "surrendered", "emission_right", 2026, "w01018", "420800")] == 100
    assert got[("RET", "retired", "emission_right", 2026, "w01018", "420800")] == 50
    # every write is one log row with who and why; the chain holds; replay == stored
    rows = service.log_rows(store)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert rows[-3].actor == ALICE and rows[-3].reason == "协议转让"
    assert service.verify(store) is None
    _same(service.replayed(store), service.stored(store))


def test_a_refusal_writes_nothing(store: Store) -> None:
    ready(store)
    n = len(service.log_rows(store))
    before = service.stored(store)
    with pytest.raises(Refused) as ei:
        service.submit(store, Transfer("HA", "HB", qty(1001)), actor=ALICE)
    assert [r.code for r in ei.value.refusals] == ["insufficient_units"]
    with pytest.raises(RefusedPermission):
        service.submit(store, Transfer("HA", "HB", qty(1)), actor=BOB)
    assert len(service.log_rows(store)) == n
    _same(service.stored(store), before)


def test_extra_checks_run_before_commit(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    ready(store)
    monkeypatch.setitem(CODES, "test_limit", CheckCode("test_limit", "a test", "超限", "over"))
    seen: list[tuple[State, Transaction]] = []

    def at_most_100(state: State, tx: Transaction) -> list[Refusal]:
        seen.append((state, tx))
        return [Refusal("test_limit", f"{tx.quantity} > 100")] if tx.quantity > 100 else []

    with pytest.raises(Refused) as ei:
        service.submit(store, Transfer("HA", "HB", qty(101)), actor=ALICE,
                       extra_checks=[at_most_100])  # fmt: skip
    assert ei.value.refusals == [Refusal("test_limit", "101 > 100")]
    service.submit(store, Transfer("HA", "HB", qty(100)), actor=ALICE, extra_checks=[at_most_100])
    state, tx = seen[-1]
    assert tx.kind == "transfer" and "HA" in state.accounts  # the hook sees the loaded state
    assert [(b.start, b.end) for b in service.holdings(store, "HB")] == [(1, 100)]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "mallory"),
        ("body", None),  # the quantity moved, edited
        ("ts", None),
        ("hash", "f" * 64),
    ],
)
def test_an_edited_row_is_named(store: Store, column: str, value: Any) -> None:
    ready(store)
    service.submit(store, Transfer("HA", "HB", qty(300)), actor=ALICE)
    service.submit(store, Transfer("HB", "HA", qty(10)), actor=BOB)
    rows = service.log_rows(store)
    victim = rows[-2]
    if column == "body":
        value = victim.body.replace("300", "999")
        assert value != victim.body
    if column == "ts":
        value = victim.ts.replace(year=2025)
    # an edit made behind the registry's back, straight in the database
    store.execute(f"UPDATE exchange_log SET {column} = ? WHERE seq = ?", [value, victim.seq])
    fault = service.verify(store)
    assert fault is not None and fault.seq == victim.seq, fault


def test_a_removed_row_is_named(store: Store) -> None:
    ready(store)
    service.submit(store, Transfer("HA", "HB", qty(300)), actor=ALICE)
    n = len(service.log_rows(store))
    store.execute("DELETE FROM exchange_log WHERE seq = ?", [n - 1])
    fault = service.verify(store)
    assert fault is not None and fault.seq == n and "sequence" in fault.reason


def test_blocked_account_and_expiry_on_the_store(store: Store) -> None:
    import datetime as dt

    from bishui.exchange.registry import Expire

    ready(store)
    service.submit(store, Issue("HB", carbon(), 10, "determination",
                                valid_until=dt.date(2026, 6, 30)), actor=OP)  # fmt: skip
    service.submit(store, SetAccountState("HA", AccountState.BLOCKED), actor=OP)
    with pytest.raises(Refused) as ei:
        service.submit(store, Transfer("HA", "HB", qty(1)), actor=ALICE)
    assert [r.code for r in ei.value.refusals] == ["account_blocked"]
    service.submit(store, Surrender("HA", 2026, qty(1)), actor=ALICE)
    service.submit(store, Expire(dt.date(2026, 7, 1)), actor=OP, time=dt.datetime(2026, 7, 1))
    got = balances(service.stored(store))
    assert got[("HB", "expired", "carbon_allowance", 2026, "", "420800")] == 10
    _same(service.replayed(store), service.stored(store))


def test_the_service_loading_part_of_the_state_agrees_with_the_whole_core(store: Store) -> None:
    """The service loads only what a request touches (the sender's blocks, the blocks a range
    cuts and their neighbours); the pure core holds everything. Same requests, same result."""
    import random

    from exreg_helpers import GOV, Book, book

    bk: Book = book(1000)
    ready(store)
    reps = {"HA": ALICE, "HB": BOB, "RES": GOV}
    rnd = random.Random(17)
    done = 0
    for _ in range(60):
        src, dst = rnd.sample(list(reps), 2)
        if rnd.random() < 0.5:
            sel = qty(rnd.randint(1, 80))
        else:
            a = rnd.randint(1, 1000)
            sel = Select(ranges=(Range(cod(), a, min(1000, a + rnd.randint(0, 40))),))
        try:
            t = bk.do(Transfer(src, dst, sel), reps[src], time=service.now())
        except (Refused, RefusedPermission) as exc:
            with pytest.raises(type(exc)):
                service.submit(store, Transfer(src, dst, sel), actor=reps[src])
            continue
        got = service.submit(store, Transfer(src, dst, sel), actor=reps[src])
        assert got.moves == t.moves
        done += 1
    assert done > 30
    _same(service.stored(store), bk.state)
    _same(service.replayed(store), bk.state)
