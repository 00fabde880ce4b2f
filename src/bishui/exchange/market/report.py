"""A monthly market report: volume, value and volume-weighted average price per product.

A product is an instrument and, for emission rights, a pollutant. For each month (in the
report's time zone, China Standard Time unless given) and product:

* ``volume`` — Σ quantity [registry unit];
* ``value_fen`` — Σ of each trade's settled amount [fen] (price × quantity, rounded per trade
  as it was settled, :func:`bishui.exchange.market.money.amount_fen`);
* ``vwap_fen`` — Σ(price × quantity) / Σ quantity [fen / trading unit], from the unrounded
  products, rounded once. The national market's closing price is such an average of the day's
  listed trades (《碳排放权交易管理规则（试行）》, notes §A1b [V]); here it is a statistic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from bishui.errors import InputError
from bishui.exchange.instruments import INSTRUMENTS, Instrument
from bishui.exchange.market.money import (
    DEFAULT_ROUNDING,
    Rounding,
    amount_fen,
    check_int,
    round_fen,
)

#: China Standard Time (UTC+8), the default month boundary.
CST = dt.timezone(dt.timedelta(hours=8), "CST")


@dataclass(frozen=True)
class Trade:
    """A settled trade: *units* [registry unit] at *price_fen* [fen / trading unit]."""

    instrument: Instrument
    pollutant: str
    at: dt.datetime
    price_fen: int
    units: int


@dataclass(frozen=True)
class MonthRow:
    month: str
    instrument: Instrument
    pollutant: str
    trades: int
    volume: int
    value_fen: int
    vwap_fen: int


def monthly_report(
    trades: Iterable[Trade], tz: dt.tzinfo = CST, rounding: Rounding = DEFAULT_ROUNDING
) -> list[MonthRow]:
    """Rows per (month, instrument, pollutant), sorted by those keys.

    Parameters
    ----------
    trades : iterable of Trade
        Settled trades (timezone-aware times).
    tz : tzinfo
        Where months begin (default China Standard Time).
    rounding : {"half_up", "half_even", "down"}
        For each trade's amount and for the VWAP.
    """
    groups: dict[tuple[str, str, str], list[Trade]] = {}
    for i, t in enumerate(trades):
        if t.at.tzinfo is None:
            raise InputError(f"trades[{i}].at", "a timezone-aware time", t.at)
        check_int(t.price_fen, f"trades[{i}].price_fen")
        check_int(t.units, f"trades[{i}].units", minimum=1)
        month = t.at.astimezone(tz).strftime("%Y-%m")
        groups.setdefault((month, t.instrument.value, t.pollutant), []).append(t)
    rows: list[MonthRow] = []
    for (month, inst, pollutant), ts in sorted(groups.items()):
        instrument = Instrument(inst)
        quantum = INSTRUMENTS[instrument].quantum
        volume = sum(t.units for t in ts)
        value = sum(amount_fen(t.price_fen, t.units, quantum, rounding) for t in ts)
        vwap = round_fen(Fraction(sum(t.price_fen * t.units for t in ts), volume), rounding)
        rows.append(MonthRow(month, instrument, pollutant, len(ts), volume, value, vwap))
    return rows
