"""Pollutant codes the source checks know, and the units they compute in.

The codes and names are HJ 212-2017 Appendix B (Tables B.1 water, B.2 gas), transcribed in
the project's HJ 212 notes (Appendix Z); the subset is the pollutants a discharge permit limits
plus the flow and oxygen channels the checks need (``data/pollutants_hj212-2017_2017-05-01.csv``).

The ``unit`` column is the unit **the checks compute in**, not HJ 212's default transmission
unit: concentrations in mg/m³ (standard state, dry) for flue gas and mg/L for wastewater, O2 in
% (dry), flow in m³/h. Two departures from Appendix B are deliberate and documented in
``docs/sources.md``: ammonia (a21001) is listed there in ng/m³ while GB 4915 limits it in
mg/m³; and flows are transmitted in m³/s (gas) and L/s (water) but checked in m³/h (the
ingest layer converts).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources

from bishui.errors import InputError


@dataclass(frozen=True)
class Pollutant:
    code: str
    name_zh: str
    medium: str  # "air" | "water"
    unit: str
    role: str  # "pollutant" | "flow" | "oxygen" | "condition"


#: Units a permit limit may be written in, with the factor to the check unit of its medium.
LIMIT_UNITS: dict[str, dict[str, Decimal]] = {
    "air": {"mg/m3": Decimal(1), "ug/m3": Decimal("0.001"), "ng/m3": Decimal("0.000001")},
    "water": {"mg/L": Decimal(1), "ug/L": Decimal("0.001"), "ng/L": Decimal("0.000001")},
}
#: pH (w01001) is dimensionless: its limit is written with unit "1" (无量纲).
DIMENSIONLESS = "1"


@cache
def table() -> dict[str, Pollutant]:
    """All known codes, from the package data file."""
    src = resources.files("bishui.sources") / "data" / "pollutants_hj212-2017_2017-05-01.csv"
    with src.open(encoding="utf-8") as f:
        return {row["code"]: Pollutant(**row) for row in csv.DictReader(f)}


def get(code: str, field: str = "pollutant") -> Pollutant:
    """The pollutant for *code*; :class:`InputError` for an unknown code."""
    try:
        return table()[code]
    except (KeyError, TypeError):
        raise InputError(
            field, "not an HJ 212-2017 Appendix B code known to bishui", code
        ) from None


def limit_factor(code: str, unit: str, field: str = "unit") -> Decimal:
    """Factor converting a limit written in *unit* to the check unit of pollutant *code*."""
    p = get(code)
    if not unit:
        raise InputError(field, "a limit must state its unit", unit)
    if p.unit == DIMENSIONLESS:
        if unit != DIMENSIONLESS:
            raise InputError(field, f"{code} is dimensionless: unit must be '1'", unit)
        return Decimal(1)
    try:
        return LIMIT_UNITS[p.medium][unit]
    except KeyError:
        allowed = ", ".join(LIMIT_UNITS[p.medium])
        raise InputError(
            field, f"unit of a {p.medium} limit must be one of {allowed}", unit
        ) from None
