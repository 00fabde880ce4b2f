"""The assessed inputs of one period: what the air and water assessments hand to the engine.

The engine never reads monitoring data itself. For each assessment point of an agreement the
caller supplies a :class:`PointInput` — per indicator the period value, how many valid values it
rests on, last year's value, flags, and for a water section its GB 3838 class, the water volume
that passed and any other named figure a shape needs — collected in a :class:`PeriodInputs`.
Everything is plain, typed and exact (``Decimal``), and round-trips through JSON
(:meth:`PeriodInputs.to_dict` / :meth:`PeriodInputs.from_dict`) so a statement's inputs can be
stored beside it and recomputed.

Point keys: a water section is keyed by its id (``"WS04"``); a set of air stations by its ids
sorted and joined with ``+`` (``"AQ01+AQ04+AQ05"``), see :func:`point_key`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from bishui.compensation.period import Period
from bishui.errors import InputError

__all__ = [
    "CLASS_NAMES",
    "INDICATORS",
    "IndicatorInput",
    "PeriodInputs",
    "PointInput",
    "point_key",
    "to_decimal",
]

#: HJ 212-2017 Table C (pollutant codes) for the indicators compensation schemes use:
#: code → (Chinese name, concentration dimension). Air in µg/m³ (GB 3095), water in mg/L
#: (GB 3838 Table 1).
INDICATORS: dict[str, tuple[str, str]] = {
    "a34004": ("PM2.5", "conc_air"),
    "a34002": ("PM10", "conc_air"),
    "a21026": ("SO2", "conc_air"),
    "a21004": ("NO2", "conc_air"),
    "a05024": ("O3", "conc_air"),
    "w01009": ("溶解氧", "conc_water"),
    "w01019": ("高锰酸盐指数", "conc_water"),
    "w01018": ("化学需氧量", "conc_water"),
    "w01017": ("五日生化需氧量", "conc_water"),
    "w21003": ("氨氮", "conc_water"),
    "w21011": ("总磷", "conc_water"),
    "w21001": ("总氮", "conc_water"),
    "w21017": ("氟化物", "conc_water"),
}

#: GB 3838-2002 class numbers as written: 6 stands for 劣Ⅴ类.
CLASS_NAMES: dict[int, str] = {1: "Ⅰ类", 2: "Ⅱ类", 3: "Ⅲ类", 4: "Ⅳ类", 5: "Ⅴ类", 6: "劣Ⅴ类"}


def point_key(ids: Iterable[str]) -> str:
    """The key of an assessment point: one section id, or station ids sorted and joined by +."""
    return "+".join(sorted(set(ids)))


def to_decimal(value: Any, field_name: str) -> Decimal:
    """Exact ``Decimal`` of an int, str, Decimal or float (a float through its shortest repr).

    NaN, infinities and text that is not a number raise :class:`InputError`.
    """
    if isinstance(value, bool):
        raise InputError(field_name, "a number", value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(field_name, "a finite number", value)
        value = repr(value)
    try:
        d = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InputError(field_name, "a number", value) from None
    if not d.is_finite():
        raise InputError(field_name, "a finite number", value)
    return d


def _opt(value: Any, field_name: str) -> Decimal | None:
    return None if value is None else to_decimal(value, field_name)


def _class(value: Any, field_name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 6:
        raise InputError(field_name, "a GB 3838 class 1–6 (6 = 劣Ⅴ)", value)
    return value


@dataclass(frozen=True)
class IndicatorInput:
    """One indicator at one point over the period.

    Parameters
    ----------
    value : Decimal or None
        The period value (mean concentration) [mg/L for water, µg/m³ for air]; None if absent.
    count : int
        Number of valid values the period value rests on [1].
    expected : int or None
        Number of values the monitoring plan expected [1].
    previous : Decimal or None
        The same period of last year [same unit as ``value``], for year-on-year shapes.
    item_class : int or None
        GB 3838 class of this indicator (1–6, 6 = 劣Ⅴ), if the water assessment gave one.
    flags : tuple of str
        Data-quality flags carried from the assessment (e.g. ``"estimated"``).
    """

    value: Decimal | None = None
    count: int = 0
    expected: int | None = None
    previous: Decimal | None = None
    item_class: int | None = None
    flags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _opt(self.value, "value"))
        object.__setattr__(self, "previous", _opt(self.previous, "previous"))
        object.__setattr__(self, "item_class", _class(self.item_class, "item_class"))
        for name in ("count", "expected"):
            v = getattr(self, name)
            if v is None and name == "expected":
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InputError(name, "a whole number ≥ 0", v)
        object.__setattr__(self, "flags", tuple(self.flags))

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": None if self.value is None else str(self.value),
            "count": self.count,
            "expected": self.expected,
            "previous": None if self.previous is None else str(self.previous),
            "item_class": self.item_class,
            "flags": list(self.flags),
        }


@dataclass(frozen=True)
class PointInput:
    """What the assessments say about one assessment point over the period.

    Parameters
    ----------
    point : str
        The point key (:func:`point_key`).
    indicators : mapping of str to IndicatorInput
        Keyed by HJ 212 code.
    water_class : int or None
        The section's GB 3838 class over the period (1–6, 6 = 劣Ⅴ) by the single-factor rule.
    volume : Decimal or None
        Water volume that passed the section in the period [m³], for flux shapes.
    figures : mapping of str to Decimal
        Other named figures a shape reads (e.g. ``index``, ``index_previous``,
        ``months_at_target``, ``forest_area``) [unit stated by the shape].
    flags : tuple of str
        Point-level flags (e.g. ``"flow_estimated"``).
    source : str
        Which assessment run produced these figures (for the evidence).
    """

    point: str
    indicators: Mapping[str, IndicatorInput] = field(default_factory=dict)
    water_class: int | None = None
    volume: Decimal | None = None
    figures: Mapping[str, Decimal] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "water_class", _class(self.water_class, "water_class"))
        object.__setattr__(self, "volume", _opt(self.volume, "volume"))
        figs = {k: to_decimal(v, f"figures.{k}") for k, v in dict(self.figures).items()}
        object.__setattr__(self, "figures", figs)
        inds = dict(self.indicators)
        for code, ind in inds.items():
            if not isinstance(ind, IndicatorInput):
                raise InputError(f"indicators.{code}", "an IndicatorInput", ind)
        object.__setattr__(self, "indicators", inds)
        object.__setattr__(self, "flags", tuple(self.flags))

    def to_dict(self) -> dict[str, Any]:
        return {
            "point": self.point,
            "water_class": self.water_class,
            "volume": None if self.volume is None else str(self.volume),
            "figures": {k: str(v) for k, v in sorted(self.figures.items())},
            "flags": list(self.flags),
            "source": self.source,
            "indicators": {k: v.to_dict() for k, v in sorted(self.indicators.items())},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PointInput:
        try:
            return cls(
                point=d["point"],
                water_class=d.get("water_class"),
                volume=d.get("volume"),
                figures=d.get("figures", {}),
                flags=tuple(d.get("flags", ())),
                source=d.get("source", ""),
                indicators={
                    code: IndicatorInput(
                        value=i.get("value"),
                        count=i.get("count", 0),
                        expected=i.get("expected"),
                        previous=i.get("previous"),
                        item_class=i.get("item_class"),
                        flags=tuple(i.get("flags", ())),
                    )
                    for code, i in d.get("indicators", {}).items()
                },
            )
        except (KeyError, AttributeError, TypeError) as exc:
            raise InputError("point", "a point-input object", repr(exc)) from None


@dataclass(frozen=True)
class PeriodInputs:
    """All assessed inputs for one period, keyed by point key."""

    period: Period
    points: Mapping[str, PointInput] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.period, str):
            object.__setattr__(self, "period", Period.parse(self.period))
        object.__setattr__(self, "points", dict(self.points))

    @classmethod
    def of(cls, period: Period | str, *points: PointInput) -> PeriodInputs:
        """Build from point inputs, keyed by their own ``point``."""
        p = Period.parse(period) if isinstance(period, str) else period
        return cls(p, {pt.point: pt for pt in points})

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": str(self.period),
            "points": {k: v.to_dict() for k, v in sorted(self.points.items())},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PeriodInputs:
        if not isinstance(d, Mapping) or "period" not in d:
            raise InputError("inputs", "an object with period and points", d)
        return cls(
            Period.parse(d["period"]),
            {k: PointInput.from_dict(v) for k, v in d.get("points", {}).items()},
        )
