"""seed_exchange over a small city's permits and verified history: every service runs once,
the chains hold, replay equals the stored balances, and a second call changes nothing
(both backends)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from exreg_helpers import A, B

from bishui.exchange import compliance_board, ledger, rights, service, trading
from bishui.exchange.registry import balances
from bishui.exchange.seed import seed_exchange
from bishui.sources import permit_store
from bishui.sources.permits import ManagementClass, Permit
from bishui.store import Store

C = "914208003982597917"
COD = "w01018"


def _city(store: Store) -> None:
    for i, u in enumerate((A, B, C)):
        store.execute(
            "INSERT INTO enterprises (uscc, name, industry, region) VALUES (?, ?, ?, ?)",
            [u, f"荆门示例企业{i}", "化工", "420802"],
        )
        p = Permit(u + "001P", 1, u, f"荆门示例企业{i}", ManagementClass.KEY, dt.date(2024, 1, 1),
                   dt.date(2029, 12, 31), annual_caps={COD: Decimal(50 + 10 * i)})  # fmt: skip
        permit_store.record_permits(store, [p])
        for year, t in ((2025, 0.1 + 0.02 * i), (2026, 0.08)):
            store.execute_many(
                [("INSERT INTO source_mass_daily (site_code, outlet_id, pollutant, day, mass_t, "
                  "missing_hours) VALUES (?, ?, ?, ?, ?, ?)",
                  [u + "001", "DW001", COD, dt.date(year, 1, 1) + dt.timedelta(days=d), t, 0])
                 for d in range(300)]
            )  # fmt: skip


def test_seed_runs_every_service(store: Store) -> None:
    _city(store)
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
