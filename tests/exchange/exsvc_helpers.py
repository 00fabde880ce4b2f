"""A registry with permits, trading profiles, cash and determined COD rights (imported by the
exchange service tests)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from exreg_helpers import GOVT, OP, A, B, setup

from bishui.exchange import ledger, rights, service
from bishui.exchange.ledger import CashKind
from bishui.exchange.market.determination import DeterminationMethod
from bishui.exchange.market.restrictions import Party
from bishui.sources import permit_store
from bishui.sources.permits import ManagementClass, Permit
from bishui.store import Store

COD, SO2 = "w01018", "a21026"
ON = dt.date(2026, 1, 10)
METHOD = DeterminationMethod(2, Decimal("1"), "test method")
REG = "exch.reg"  # the regulator's user


def permit(uscc: str, name: str, cod_t: str, so2_t: str) -> Permit:
    return Permit(
        uscc + "001P", 1, uscc, name, ManagementClass.KEY, dt.date(2025, 1, 1),
        dt.date(2029, 12, 31), annual_caps={COD: Decimal(cod_t), SO2: Decimal(so2_t)},
    )  # fmt: skip


def ready(store: Store) -> None:
    setup(lambda req, actor: service.submit(store, req, actor=actor))
    permit_store.record_permits(
        store, [permit(A, "荆门甲化工", "2", "5"), permit(B, "荆门乙热电", "3", "4")]
    )
    rights.set_party(store, Party(A, "420802", "汉江", "industry", False, True), actor=OP)
    rights.set_party(store, Party(B, "420804", "汉江", "industry", False, True), actor=OP)
    rights.ensure_government_accounts(store, GOVT)
    for e in (A, B):
        ledger.open_cash_account(store, ledger.cash_account_of(e), CashKind.CASH, e)
        ledger.deposit(store, ledger.cash_account_of(e), 10_000_00, actor=OP)
    rights.determine_rights(
        store, pollutant=COD, vintage=2026, cap_kg=4000, method=METHOD, on=ON, actor=OP,
        verified={A + "001P": [1800, 2200], B + "001P": [2500, 2600]},
    )  # fmt: skip


C = "914208003982597917"


def city(store: Store) -> None:
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
