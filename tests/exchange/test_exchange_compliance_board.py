"""Reductions from the platform's own verified emissions, the reserve buying back and selling,
carbon positions with sink-credit offsets within the limit, energy savings confirmed and
traded, and a closed compliance year on the board (both backends)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from exreg_helpers import ALICE, BOB, GOV, OP, A, B
from exsvc_helpers import COD, ready

from bishui.errors import InputError
from bishui.exchange import carbon, compliance_board, ledger, rights, service, trading
from bishui.exchange.instruments import Instrument
from bishui.exchange.market.energy import ProductPeriods
from bishui.exchange.registry import Select
from bishui.store import Store


def _emit(store: Store, uscc: str, pollutant: str, year: int, t_per_day: float) -> None:
    site = uscc + "001"
    store.execute_many(
        [
            (
                "INSERT INTO source_mass_daily (site_code, outlet_id, pollutant, day, mass_t, "
                "missing_hours) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    site,
                    "DW001",
                    pollutant,
                    dt.date(year, 1, 1) + dt.timedelta(days=d),
                    t_per_day,
                    0,
                ],
            )
            for d in range(100)
        ]
    )


def test_reductions_reserve_carbon_energy_and_the_board(store: Store) -> None:
    ready(store)
    # A emitted 100 × 0.01 t = 1 t of COD in 2026 against its determined rights
    _emit(store, A, COD, 2026, 0.01)
    held_a = rights.right_holdings(store, A, dt.date(2026, 12, 31))[COD]
    red = rights.register_reduction(store, A, COD, 2026, actor=OP)
    assert (red["verified"], red["registered"]) == (1000, held_a - 1000)
    with pytest.raises(InputError):
        rights.register_reduction(store, B, COD, 2026, actor=OP)  # no monitored year

    # the reserve buys back 100 kg from A and sells 50 kg to B
    ledger.deposit(store, rights.RESERVE_FUND, 1_000_000, actor=OP)
    t0 = dt.datetime(2026, 5, 1, 10, 0)
    sel = Select(instrument=Instrument.EMISSION_RIGHT, quantity=100, pollutant=COD)
    trading.reserve_buy_back(
        store, reserve_account="RES", seller_account="HA", seller_agent=ALICE, select=sel,
        price_fen=200_000, actor=OP, time=t0,
    )  # fmt: skip
    trading.reserve_sale(
        store, reserve_account="RES", reserve_agent=GOV, buyer_account="HB",
        select=Select(instrument=Instrument.EMISSION_RIGHT, quantity=50, pollutant=COD),
        price_fen=220_000, actor=OP, time=t0,
    )  # fmt: skip
    assert sum(b.size for b in service.holdings(store, "RES")) == 50
    assert ledger.balance(store, rights.RESERVE_FUND) == 1_000_000 - 20_000 + 11_000

    # carbon: allocation mirrored, a 漳河 sink project's credits as offsets within 10 %
    carbon.mirror_position(store, B, 2026, allocation=1000, rules_id="hubei-carbon-2014",
                           source="湖北省2026年度配额分配（示例）", actor=OP)  # fmt: skip
    carbon.register_sink_project(store, "ZH-001", name="漳河林业碳汇项目", owner=B,
                                 area="420800", methodology="AR-CM-001", actor=OP)  # fmt: skip
    carbon.issue_sink_credits(store, "ZH-001", vintage=2026, units=300, verification="核证报告-1",
                              actor=OP)  # fmt: skip
    carbon.report_verified(store, B, 2026, 1150, actor=OP)
    carbon.surrender(store, "HB", 2026, "carbon_allowance", 1000, actor=BOB)
    carbon.surrender(store, "HB", 2026, "carbon_sink", 150, actor=BOB)
    pos = carbon.position(store, B, 2026)
    assert (pos["surrendered_allowances"], pos["surrendered_offsets"]) == (1000, 150)

    # energy saving: baseline 1 000 tce for 100 units → 1 200 units' worth 1 200 tce; used 1 100
    es = carbon.confirm_energy_saving(
        store, A, year=2026, baseline_audit="基准审核-1", audit_report="节能量审核-1",
        auditor="某第三方", actor=OP,
        products=[ProductPeriods("水泥", 1_000_000, Decimal(100), 1_100_000, Decimal(120))],
    )  # fmt: skip
    assert es["units"] == 100_000  # 100 tce in kgce
    tr = trading.settle(
        store, kind="节能量交易", ref=es["id"], seller_account="HA", buyer_account="HB",
        select=Select(instrument=Instrument.ENERGY_SAVING, quantity=40_000), price_fen=20_000,
        agent=ALICE, actor=OP, time=t0,
    )  # fmt: skip
    assert tr["amount_fen"] == 800_000 and tr["permits"] == []  # 40 tce × 200 CNY

    board = compliance_board.close_year(store, 2026, actor=OP, average_price_fen=3000)
    got = {(r["instrument"], r["entity"]): r for r in board}
    assert got[("emission_right", A)]["status"] == "A"
    assert got[("emission_right", B)]["status"] == "C"  # no monitored data
    c = got[("carbon_allowance", B)]
    # offsets count up to 10 % of the allocation (100): 1 150 − 1 000 − 100 = 50 short
    assert (c["status"], c["shortfall"], c["body"]["offsets_counted"]) == ("B", 50, 100)
    assert c["body"]["penalty"]["deduction"] == 100  # 2 × shortfall (Hubei Art. 46)
    assert c["status_zh"] == "未足额履约" and c["name"]
    assert compliance_board.board(store, 2026, [A]) == [got[("emission_right", A)]]
    assert service.verify(store) is None and ledger.verify(store) is None
