"""The registry of formula shapes: what a shape is, and how one is registered.

A *shape* is a small pure function registered by name with the parameters it takes. An
agreement's ``[[terms]]`` name a shape and give its parameters; the loader checks them against
the shape's :class:`Param` list (presence, unit, kind) and hands the shape already-converted
values, so a shape only does arithmetic. Adding a shape means writing one function and
decorating it with :func:`register_shape` — the engine is not edited (``docs/compensation.md``).

Sign convention, the same for every shape: the returned amount is in 元, **positive when the
assessed party receives** (it protected: counterparties pay it) and **negative when it pays**.

A shape that lacks an input raises :class:`MissingInput`; the engine then applies the
agreement's missing-data rule. The shapes themselves are in :mod:`bishui.compensation.shapes`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bishui.compensation.inputs import INDICATORS, PointInput

__all__ = [
    "SHAPES",
    "MissingInput",
    "Param",
    "Shape",
    "Step",
    "TermResult",
    "fmt",
    "name_of",
    "previous_of",
    "register_shape",
    "unit_of",
    "value_of",
]


class MissingInput(LookupError):
    """A shape could not find an input it needs (named in ``what``)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@dataclass(frozen=True)
class Step:
    """One intermediate figure, as the evidence and ``explain`` show it."""

    name: str
    zh: str
    value: str
    unit: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "zh": self.zh, "value": self.value, "unit": self.unit}


@dataclass(frozen=True)
class TermResult:
    """A shape's result: the signed amount [元] (exact, unrounded) and the steps leading to it."""

    amount: Decimal
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Param:
    """One parameter a shape takes.

    ``kind`` is ``quantity`` (text with a unit of ``dimension``; ``conc`` and ``money/conc``
    resolve to the water or air concentration of the indicator or point), ``int``, ``bool``,
    ``choice`` (one of ``choices``) or ``custom`` (``convert(raw, field)`` checks and converts).
    ``per_indicator`` parameters are tables keyed by the agreement's indicator codes.
    """

    name: str
    kind: str = "quantity"
    dimension: str = ""
    per_indicator: bool = False
    required: bool = True
    default: Any = None
    choices: tuple[str, ...] = ()
    convert: Callable[[Any, str], Any] | None = None
    doc: str = ""


ShapeFn = Callable[[Mapping[str, Any], PointInput, tuple[str, ...]], TermResult]


@dataclass(frozen=True)
class Shape:
    name: str
    fn: ShapeFn
    params: tuple[Param, ...]
    zh: str
    check: Callable[[Mapping[str, Any], tuple[str, ...]], None] | None = None


#: name → shape; filled by :func:`register_shape`
SHAPES: dict[str, Shape] = {}


def register_shape(
    name: str,
    params: tuple[Param, ...],
    zh: str,
    check: Callable[[Mapping[str, Any], tuple[str, ...]], None] | None = None,
) -> Callable[[ShapeFn], ShapeFn]:
    """Register a shape function under *name* (refusing a name already taken)."""

    def deco(fn: ShapeFn) -> ShapeFn:
        if name in SHAPES:
            raise ValueError(f"shape {name!r} is already registered")
        SHAPES[name] = Shape(name, fn, params, zh, check)
        return fn

    return deco


def fmt(d: Decimal) -> str:
    """A Decimal as plain text without exponent or trailing zeros (``5``, ``0.5``, ``-12.25``)."""
    if d == 0:
        return "0"
    text = format(d.normalize(), "f")
    return text


def value_of(point: PointInput, code: str) -> Decimal:
    """The period value of indicator *code* at *point*; :class:`MissingInput` if absent."""
    ind = point.indicators.get(code)
    if ind is None or ind.value is None:
        raise MissingInput(f"{code}.value")
    return ind.value


def previous_of(point: PointInput, code: str) -> Decimal:
    """Last year's value of indicator *code* at *point*; :class:`MissingInput` if absent."""
    ind = point.indicators.get(code)
    if ind is None or ind.previous is None:
        raise MissingInput(f"{code}.previous")
    return ind.previous


def name_of(code: str) -> str:
    """The Chinese name of an HJ 212 code (the code itself if unknown)."""
    return INDICATORS.get(code, (code, ""))[0]


def unit_of(code: str) -> str:
    """The concentration unit of an indicator: µg/m³ for air, mg/L for water."""
    return "µg/m³" if INDICATORS.get(code, ("", ""))[1] == "conc_air" else "mg/L"
