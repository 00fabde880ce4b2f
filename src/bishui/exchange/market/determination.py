"""Initial determination of emission rights (排污权初始核定) and their period of validity.

What the sources fix (exchange-and-permits notes §A2):

* 国办发〔2014〕38号 [V]: an emission right is the pollutant kind and quantity a unit is approved
  to discharge after determination (经核定); it is **confirmed in the discharge permit**
  (以排污许可证形式予以确认); **the totals must not exceed the control cap**; the initial
  determination is repeated **every five years**.
* 财税〔2015〕61号 [V]: the fee is charged on the permit-confirmed quantity; **the right is
  valid for five years in principle** (原则上为五年); a renewal needs a new determination and fee.

What they do not fix is the formula. This module makes it an explicit
:class:`DeterminationMethod` with no default values — the project's method, configurable and
said to be such in docs/exchange.md:

1. ``historical`` = the mean of the unit's verified annual emissions over its last
   ``history_years`` years, times ``factor`` — rounded *down* to whole registry units (kg), so
   a determination never exceeds what the figures give;
2. ``candidate`` = min(permitted quantity, historical) — the permit is the ceiling, as the right
   is confirmed in the permit;
3. if Σ candidates exceeds the area's cap, every candidate is scaled by cap / Σ candidates and
   the result apportioned in whole kg by the largest-remainder method
   (:func:`bishui.exchange.market.money.apportion`; ties to the earlier unit in unit-id order),
   so the determined quantities sum exactly to the cap.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from bishui.errors import InputError
from bishui.exchange.market.money import apportion, check_int

#: Years an emission right is valid, and between two determinations: 国办发〔2014〕38号 (every
#: five years) and 财税〔2015〕61号 (有效期原则上为五年), both notes §A2 [V].
VALIDITY_YEARS = 5


@dataclass(frozen=True)
class DeterminationMethod:
    """The parameters of the determination formula (module docstring): the project's choice.

    Attributes
    ----------
    history_years : int
        How many of the most recent verified years are averaged (≥ 1) [a].
    factor : Decimal
        Multiplier on the historical mean (e.g. a reduction coefficient); > 0 [1].
    basis : str
        Where the values come from (the decision or plan that sets them).
    """

    history_years: int
    factor: Decimal
    basis: str

    def __post_init__(self) -> None:
        check_int(self.history_years, "history_years", minimum=1)
        if not isinstance(self.factor, Decimal) or not self.factor.is_finite() or self.factor <= 0:
            raise InputError("factor", "a finite Decimal > 0", self.factor)
        if not self.basis.strip():
            raise InputError("basis", "the decision or plan the method's values come from", "")


@dataclass(frozen=True)
class UnitRecord:
    """One unit's inputs for one pollutant.

    Attributes
    ----------
    unit_id : str
        The unit (its permit's holder).
    permitted : int
        The permit's annual permitted quantity [kg/a].
    verified : tuple of int
        Verified annual emissions, oldest first [kg/a].
    """

    unit_id: str
    permitted: int
    verified: tuple[int, ...]


@dataclass(frozen=True)
class Determination:
    """One unit's determined right and how it was reached (every figure in kg/a)."""

    unit_id: str
    permitted: int
    historical: int
    candidate: int
    determined: int
    scaled: bool


def historical_quantity(verified: Sequence[int], method: DeterminationMethod) -> int:
    """``floor(mean(last history_years verified) × factor)`` [kg/a].

    Parameters
    ----------
    verified : sequence of int
        Verified annual emissions, oldest first [kg/a]; at least ``history_years`` of them.
    method : DeterminationMethod
        The formula's parameters.

    Returns
    -------
    int
        Historical quantity [kg/a], rounded down (module docstring, step 1).
    """
    for i, v in enumerate(verified):
        check_int(v, f"verified[{i}]")
    n = method.history_years
    if len(verified) < n:
        raise InputError("verified", f"at least {n} verified years", len(verified))
    mean = Fraction(sum(verified[-n:]), n)
    return math.floor(mean * Fraction(method.factor))


def determine(
    units: Sequence[UnitRecord], cap: int, method: DeterminationMethod
) -> list[Determination]:
    """Determine every unit's emission right for one pollutant in one area.

    Parameters
    ----------
    units : sequence of UnitRecord
        The area's units (unit ids distinct).
    cap : int
        The area's control cap for the pollutant [kg/a] (总量控制指标).
    method : DeterminationMethod
        The formula's parameters (no defaults: the project's method, module docstring).

    Returns
    -------
    list of Determination
        In unit-id order; Σ determined ≤ *cap* (= *cap* when scaling was needed) and each
        determined ≤ the unit's permitted quantity.

    Notes
    -----
    国办发〔2014〕38号 (notes §A2 [V]): confirmed in the permit, totals within the cap.
    """
    check_int(cap, "cap")
    seen: set[str] = set()
    rows: list[tuple[UnitRecord, int, int]] = []
    for u in sorted(units, key=lambda u: u.unit_id):
        if u.unit_id in seen:
            raise InputError("unit_id", "distinct units", u.unit_id)
        seen.add(u.unit_id)
        check_int(u.permitted, f"{u.unit_id}.permitted")
        hist = historical_quantity(u.verified, method)
        rows.append((u, hist, min(u.permitted, hist)))
    total = sum(c for _, _, c in rows)
    if total <= cap:
        return [Determination(u.unit_id, u.permitted, h, c, c, False) for u, h, c in rows]
    parts = apportion(cap, [c for _, _, c in rows])
    return [
        Determination(u.unit_id, u.permitted, h, c, p, True)
        for (u, h, c), p in zip(rows, parts, strict=True)
    ]


def valid_until(determined_on: dt.date, years: int = VALIDITY_YEARS) -> dt.date:
    """The last day a right determined on *determined_on* is valid.

    The day before the *years*-th anniversary (a 29 February start ends on 28 February).
    财税〔2015〕61号: valid for five years in principle (notes §A2 [V]).
    """
    check_int(years, "years", minimum=1)
    y = determined_on.year + years
    try:
        anniversary = determined_on.replace(year=y)
    except ValueError:  # 29 February into a common year
        anniversary = dt.date(y, 3, 1)
    return anniversary - dt.timedelta(days=1)


def needs_redetermination(determined_on: dt.date, on: dt.date) -> bool:
    """True once the right has lapsed on *on* (renewal needs a new determination and fee,
    财税〔2015〕61号, notes §A2 [V])."""
    return on > valid_until(determined_on)
