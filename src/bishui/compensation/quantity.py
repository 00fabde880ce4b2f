"""Quantities with units in agreement documents: parsing, dimension checks, conversion.

An agreement writes every parameter with its unit, the way the rule text does
(``"1.5 万元/t"``, ``"30 mg/L"``, ``"6000 万元/class"``), and the loader converts it to one
canonical unit per dimension so the formulas never see a unit again:

==================  =====================  ==========================================
dimension           canonical unit         accepted units
==================  =====================  ==========================================
``money``           元 (yuan)              元, 万元, 亿元 (also yuan, wan_yuan, yi_yuan)
``conc_water``      mg/L                   mg/L
``conc_air``        µg/m³                  µg/m³ (also ug/m3)
``mass``            t                      t, kg
``volume``          m³                     m³ (also m3), 万m³ (also wan_m3)
``area``            hm²                    hm² (also ha)
``class``           class step             class (also 类)
``point``           percentage point       point (also pp, 个百分点)
``month``           month                  month (also 月)
``ratio``           1                      a bare number, or ``%``
==================  =====================  ==========================================

A money rate is ``<money>/<denominator>``: ``万元/t`` is dimension ``money/mass`` in 元 per t;
``万元/(mg/L)`` is ``money/conc_water`` in 元 per mg/L. Numbers are parsed as ``Decimal`` from
their text, so ``"0.1"`` is exactly one tenth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = ["DIMENSIONS", "Quantity", "parse_quantity", "parse_unit"]

_MONEY: dict[str, Decimal] = {
    "元": Decimal(1),
    "yuan": Decimal(1),
    "万元": Decimal(10_000),
    "wan_yuan": Decimal(10_000),
    "亿元": Decimal(100_000_000),
    "yi_yuan": Decimal(100_000_000),
}

#: unit text → (dimension, factor to the canonical unit)
_PLAIN: dict[str, tuple[str, Decimal]] = {
    "mg/L": ("conc_water", Decimal(1)),
    "µg/m³": ("conc_air", Decimal(1)),
    "μg/m³": ("conc_air", Decimal(1)),  # Greek mu, as often typed
    "ug/m3": ("conc_air", Decimal(1)),
    "t": ("mass", Decimal(1)),
    "kg": ("mass", Decimal("0.001")),
    "m³": ("volume", Decimal(1)),
    "m3": ("volume", Decimal(1)),
    "万m³": ("volume", Decimal(10_000)),
    "wan_m3": ("volume", Decimal(10_000)),
    "hm²": ("area", Decimal(1)),
    "ha": ("area", Decimal(1)),
    "class": ("class", Decimal(1)),
    "类": ("class", Decimal(1)),
    "point": ("point", Decimal(1)),
    "pp": ("point", Decimal(1)),
    "个百分点": ("point", Decimal(1)),
    "month": ("month", Decimal(1)),
    "月": ("month", Decimal(1)),
    "%": ("ratio", Decimal("0.01")),
    "1": ("ratio", Decimal(1)),
}

#: every dimension a parameter may declare
DIMENSIONS: frozenset[str] = frozenset(
    {"money", "ratio"}
    | {d for d, _ in _PLAIN.values()}
    | {f"money/{d}" for d, _ in _PLAIN.values() if d != "ratio"}
)

_NUMBER = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Quantity:
    """A number in its canonical unit, with the text it was written as (for the evidence)."""

    value: Decimal
    dimension: str
    text: str


def parse_unit(unit: str) -> tuple[str, Decimal]:
    """Return ``(dimension, factor)`` of a unit text; ``KeyError`` if it is not known."""
    unit = unit.strip()
    if unit in _MONEY:
        return "money", _MONEY[unit]
    if unit in _PLAIN:
        return _PLAIN[unit]
    head, sep, tail = unit.partition("/")
    if sep and head.strip() in _MONEY:
        denominator = tail.strip()
        if denominator.startswith("(") and denominator.endswith(")"):
            denominator = denominator[1:-1].strip()
        if denominator in _PLAIN and _PLAIN[denominator][0] != "ratio":
            dim, factor = _PLAIN[denominator]
            return f"money/{dim}", _MONEY[head.strip()] / factor
    raise KeyError(unit)


def parse_quantity(raw: object) -> Quantity:
    """Parse ``"1.5 万元/t"`` (or a bare number, meaning a ratio) into a :class:`Quantity`.

    Raises ``ValueError`` with a short reason when the text is not a number and a known unit.
    """
    if isinstance(raw, bool):
        raise ValueError("a quantity is a number with a unit, not true/false")
    if isinstance(raw, int | Decimal):
        return Quantity(Decimal(raw), "ratio", str(raw))
    if isinstance(raw, float):
        raise ValueError("write the number as text ('0.1'), not as a binary float")
    if not isinstance(raw, str):
        raise ValueError("a quantity is text such as '1.5 万元/t'")
    m = _NUMBER.match(raw)
    if m is None:
        raise ValueError("a quantity starts with a number")
    try:
        number = Decimal(m.group(1))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
        raise ValueError("not a number") from exc
    unit = m.group(2) or "1"
    try:
        dimension, factor = parse_unit(unit)
    except KeyError:
        raise ValueError(f"unknown unit {unit!r}") from None
    return Quantity(number * factor, dimension, raw.strip())
