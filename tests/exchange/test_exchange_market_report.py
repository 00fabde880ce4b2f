"""The monthly market report: volume, value and VWAP per instrument and pollutant."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bishui.errors import InputError
from bishui.exchange.instruments import Instrument
from bishui.exchange.market.report import CST, Trade, monthly_report

ER, CA = Instrument.EMISSION_RIGHT, Instrument.CARBON_ALLOWANCE


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=CST)


def test_worked_example() -> None:
    trades = [
        Trade(ER, "w01018", at(3, 2), 2_814_000, 1_500),  # 1.5 t COD at 28,140 CNY/t
        Trade(ER, "w01018", at(3, 20), 2_000_000, 500),  # 0.5 t at 20,000 CNY/t
        Trade(ER, "a21026", at(3, 5), 929_000, 2_001),
        Trade(CA, "", at(3, 9), 2_000, 100),
        Trade(CA, "", at(4, 1), 2_100, 100),
        # 15:30 UTC on 31 March is 23:30 in Beijing: still March
        Trade(CA, "", dt.datetime(2026, 3, 31, 15, 30, tzinfo=dt.UTC), 2_200, 100),
    ]
    got = [
        (r.month, r.instrument, r.pollutant, r.trades, r.volume, r.value_fen, r.vwap_fen)
        for r in monthly_report(trades)
    ]
    assert got == [
        ("2026-03", CA, "", 2, 200, 420_000, 2_100),
        ("2026-03", ER, "a21026", 1, 2_001, 1_858_929, 929_000),
        # (28,140 × 1.5 + 20,000 × 0.5) / 2 t = 26,105 CNY/t
        ("2026-03", ER, "w01018", 2, 2_000, 5_221_000, 2_610_500),
        ("2026-04", CA, "", 1, 100, 210_000, 2_100),
    ]


def test_vwap_is_rounded_once() -> None:
    trades = [Trade(CA, "", at(5, 1), 100, 1), Trade(CA, "", at(5, 2), 101, 2)]
    # (100 + 202) / 3 = 100.67 fen
    assert monthly_report(trades)[0].vwap_fen == 101
    assert monthly_report(trades, rounding="down")[0].vwap_fen == 100


def test_bad_trades() -> None:
    with pytest.raises(InputError) as e:
        monthly_report([Trade(CA, "", dt.datetime(2026, 1, 1), 1, 1)])
    assert e.value.field == "trades[0].at"
    with pytest.raises(InputError) as e:
        monthly_report([Trade(CA, "", at(1, 1), 1, 0)])
    assert e.value.field == "trades[0].units"


@given(st.lists(st.tuples(st.integers(1, 28), st.integers(1, 10**7), st.integers(1, 10**6)),
                min_size=1, max_size=30))  # fmt: skip
def test_vwap_lies_within_the_month_prices(raw: list[tuple[int, int, int]]) -> None:
    trades = [Trade(ER, "w21003", at(6, d), p, n) for d, p, n in raw]
    [row] = monthly_report(trades)
    assert row.volume == sum(n for _, _, n in raw)
    assert min(p for _, p, _ in raw) <= row.vwap_fen <= max(p for _, p, _ in raw)
