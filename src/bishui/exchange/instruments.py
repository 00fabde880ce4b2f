"""The exchange's instruments and the integer unit each is counted in.

Every quantity the exchange holds, moves or settles is an integer count of one instrument's
*registry unit* — the quantum a serial number names. A quantity written in the trading unit
(t, tCO2e, tce) is converted exactly, and refused when it is not a whole number of registry
units; nothing is ever rounded on the way in.

=====================  ============================  ==============  ====================
instrument             what it is                    trading unit    registry unit
=====================  ============================  ==============  ====================
``emission_right``     排污权: COD, NH3-N, SO2, NOx   t (per year)    1 kg (0.001 t)
``carbon_allowance``   碳排放配额 (Hubei pilot)        tCO2e           1 tCO2e
``carbon_sink``        林业碳汇 credits (CCER-style)  tCO2e           1 tCO2e
``energy_saving``      节能量 / 用能权                 tce             1 kgce (0.001 tce)
=====================  ============================  ==============  ====================

Sources (exchange-and-permits notes, Part A): emission rights are the four pollutants of
鄂政发〔2012〕64号 in t per year (§A2; auction prices are quoted per t); carbon allowances are
1 tCO2e each with their own code (Hubei exchange FAQ, §A1 [S]); energy-use quotas are in t of
standard coal (浙政办发〔2018〕84号, §A3 [V]). The registry units (kg, kgce) are this project's
choice so that a permitted quantity written to three decimals in t — as permits are — maps to
whole serials; docs/exchange.md says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from bishui.errors import InputError


class Instrument(StrEnum):
    """The four kinds of unit the registry holds."""

    EMISSION_RIGHT = "emission_right"
    CARBON_ALLOWANCE = "carbon_allowance"
    CARBON_SINK = "carbon_sink"
    ENERGY_SAVING = "energy_saving"


@dataclass(frozen=True)
class InstrumentInfo:
    """How an instrument is named and counted."""

    name_zh: str
    name_en: str
    #: the unit prices and quantities are quoted in
    trading_unit: str
    #: how many trading units one registry unit (one serial) is, exactly
    quantum: Decimal
    #: the registry unit's name
    registry_unit: str


INSTRUMENTS: dict[Instrument, InstrumentInfo] = {
    Instrument.EMISSION_RIGHT: InstrumentInfo(
        "排污权", "emission right", "t", Decimal("0.001"), "kg"
    ),
    Instrument.CARBON_ALLOWANCE: InstrumentInfo(
        "碳排放配额", "carbon allowance", "tCO2e", Decimal(1), "tCO2e"
    ),
    Instrument.CARBON_SINK: InstrumentInfo(
        "林业碳汇", "forestry carbon-sink credit", "tCO2e", Decimal(1), "tCO2e"
    ),
    Instrument.ENERGY_SAVING: InstrumentInfo(
        "节能量", "energy saving", "tce", Decimal("0.001"), "kgce"
    ),
}


@dataclass(frozen=True)
class RightPollutant:
    """A pollutant emission rights are held in (鄂政发〔2012〕64号: the four main pollutants)."""

    #: HJ 212-2017 Appendix B code, as permits' annual quantities are keyed
    code: str
    name_zh: str
    #: air rights trade within the same city, water rights within the same basin (§A2)
    medium: str


#: The four pollutants of Hubei's emission-rights trading (exchange-and-permits notes §A2 [V]).
RIGHT_POLLUTANTS: dict[str, RightPollutant] = {
    p.code: p
    for p in (
        RightPollutant("w01018", "化学需氧量", "water"),
        RightPollutant("w21003", "氨氮", "water"),
        RightPollutant("a21026", "二氧化硫", "air"),
        RightPollutant("a21002", "氮氧化物", "air"),
    )
}


def instrument(value: object, field: str = "instrument") -> Instrument:
    """*value* as an :class:`Instrument`; :class:`InputError` naming the field otherwise."""
    try:
        return Instrument(str(value))
    except ValueError:
        raise InputError(field, "one of " + ", ".join(i.value for i in Instrument), value) from None


def right_pollutant(code: object, field: str = "pollutant") -> RightPollutant:
    """The emission-rights pollutant for *code* (COD, NH3-N, SO2, NOx as HJ 212 codes)."""
    try:
        return RIGHT_POLLUTANTS[str(code)]
    except KeyError:
        raise InputError(
            field, "an emission-rights pollutant: " + ", ".join(RIGHT_POLLUTANTS), code
        ) from None


def to_units(inst: Instrument, quantity: object, field: str = "quantity") -> int:
    """*quantity* in the trading unit → an exact count of registry units.

    Refuses (``InputError``) a value that is not a number, is negative, or is not a whole number
    of registry units (e.g. 1.0005 t of an emission right): it is never rounded.
    """
    info = INSTRUMENTS[inst]
    q = info.quantum
    try:
        d = quantity if isinstance(quantity, Decimal) else Decimal(str(quantity).strip())
    except (InvalidOperation, ValueError):
        raise InputError(field, "a decimal number", quantity) from None
    if not d.is_finite() or d < 0:
        raise InputError(field, "a finite quantity >= 0", quantity)
    units = d / q
    if units != units.to_integral_value():
        raise InputError(
            field,
            f"a whole number of {info.registry_unit} ({q} {info.trading_unit} each)",
            quantity,
        )
    return int(units)


def from_units(inst: Instrument, units: int) -> Decimal:
    """A count of registry units → the exact quantity in the trading unit."""
    return INSTRUMENTS[inst].quantum * units
