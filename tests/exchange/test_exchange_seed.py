"""seed_exchange over a small city's permits and verified history: every service runs once,
the chains hold, replay equals the stored balances, and a second call changes nothing
(both backends)."""

from __future__ import annotations

import datetime as dt

from exreg_helpers import A, B
from exsvc_helpers import C, city

from bishui.exchange import compliance_board, ledger, rights, service, trading
from bishui.exchange.registry import balances
from bishui.exchange.seed import seed_exchange
from bishui.store import Store


def test_seed_runs_every_service(store: Store) -> None:
    city(store)
    on = dt.date(2026, 11, 30)
    got = seed_exchange(store, on=on, operator="admin", regulator="analyst",
                        representatives={A: "enterprise"})  # fmt: skip
    assert got["seeded"] and got["holders"] == 3 and got["determinations"] == 3
    assert got["fees_paid"] == 3 and got["trades"] >= 3 and got["reductions"] == 1
    assert got["board"] >= 4
    assert len(trading.transfers(store)) == 1 and len(trading.lots(store)) == 1
    # determined rights are in the permits; trades changed the parties' permits consistently
    for t in trading.trades(store):
        assert all(p["consistent"] for p in t["permits"])
    for u in (A, B, C):
        assert rights.permit_check(store, u, on + dt.timedelta(days=1)) == []
    assert {r["status"] for r in compliance_board.board(store, 2026)} <= {"A", "B", "C"}
    assert service.verify(store) is None and ledger.verify(store) is None
    assert balances(service.replayed(store)) == balances(service.stored(store))
    assert sum(ledger.balances(store).values()) == 0
    n = len(service.log_rows(store))
    assert seed_exchange(store, on=on, operator="admin", regulator="analyst") == {"seeded": False}
    assert len(service.log_rows(store)) == n
