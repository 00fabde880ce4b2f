"""Money in integer fen (分) and exact integer apportionment, shared by the market rules.

Every amount is an ``int`` of fen; every price is fen per *trading unit* (CNY/t → fen/t,
CNY/tCO2e → fen/tCO2e, CNY/tce → fen/tce); every quantity is an ``int`` of *registry units*
(:mod:`bishui.exchange.instruments`: kg, tCO2e, kgce). A price times a quantity of emission
rights or energy savings can fall between two fen (12,345 fen/t × 1 kg = 12.345 fen), so the
rounding is a parameter:

``"half_up"`` (四舍五入, ties away from zero)
    the project's default for money, as in :mod:`bishui.compensation.engine`; it is how amounts
    to the fen are usually written in Chinese payment practice. No text in the reference notes
    prescribes it for the exchange: it is this project's choice (docs/exchange.md).
``"half_even"`` (四舍六入五成双)
    GB/T 8170-2008 §3.1, the national rule for rounding numerical values.
``"down"``
    truncation toward zero, for a rule text that drops the fraction of a fen.

Apportionment (:func:`apportion`) splits an integer total into integer parts proportional to
integer weights by the **largest-remainder method** (Hamilton): each part gets the floor of
its exact quota, and the units left over go one each to the largest remainders; ties go to the
earlier position in the input, so the result depends only on the order the caller gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Literal

from bishui.errors import InputError

Rounding = Literal["half_up", "half_even", "down"]

#: The rounding modes money may be rounded with (see the module docstring).
ROUNDINGS: dict[str, str] = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "down": ROUND_DOWN,
}

#: The project's default for amounts of money: 四舍五入 to the fen (a choice, not a rule text).
DEFAULT_ROUNDING: Rounding = "half_up"


def rounding_mode(rounding: str, field: str = "rounding") -> str:
    """The ``decimal`` rounding constant for *rounding*; :class:`InputError` otherwise."""
    try:
        return ROUNDINGS[rounding]
    except KeyError:
        raise InputError(field, "one of " + ", ".join(ROUNDINGS), rounding) from None


def round_int(amount: Fraction, rounding: Rounding = DEFAULT_ROUNDING) -> int:
    """An exact amount (a ``Fraction`` of fen, kgce …) rounded to a whole number of its unit.

    Parameters
    ----------
    amount : Fraction
        Exact amount [fen, or any unit counted in integers].
    rounding : {"half_up", "half_even", "down"}
        How a fraction is rounded (module docstring).

    Returns
    -------
    int
        Whole units [the unit of *amount*].
    """
    return round_ratio(amount.numerator, amount.denominator, rounding)


def round_ratio(num: int, den: int, rounding: Rounding = DEFAULT_ROUNDING) -> int:
    """``num / den`` (``den > 0``) rounded to an integer, in integer arithmetic only."""
    rounding_mode(rounding)
    q, r = divmod(num, den)  # floor division: 0 <= r < den
    if r == 0:
        return q
    if rounding == "down":
        return q if num >= 0 else q + 1  # toward zero
    twice = 2 * r
    if twice > den:
        return q + 1
    if twice < den:
        return q
    # exactly half-way between q and q + 1
    if rounding == "half_even":
        return q if q % 2 == 0 else q + 1
    return q + 1 if num >= 0 else q  # half_up: away from zero


#: :func:`round_int` for money: an exact amount of fen to whole fen.
round_fen = round_int


def check_int(value: object, field: str, *, minimum: int = 0) -> int:
    """*value* as an ``int`` ≥ *minimum* (``bool`` refused); :class:`InputError` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(field, "an integer", value)
    if value < minimum:
        raise InputError(field, f"an integer >= {minimum}", value)
    return value


def amount_fen(
    price_fen: int, units: int, quantum: Decimal, rounding: Rounding = DEFAULT_ROUNDING
) -> int:
    """The amount of *units* registry units at *price_fen* per trading unit.

    Parameters
    ----------
    price_fen : int
        Price [fen / trading unit] (fen/t for emission rights).
    units : int
        Quantity [registry unit] (kg for emission rights).
    quantum : Decimal
        Trading units per registry unit (``INSTRUMENTS[inst].quantum``: 0.001 for kg per t).
    rounding : {"half_up", "half_even", "down"}
        How a fraction of a fen is rounded.

    Returns
    -------
    int
        ``price_fen × units × quantum`` [fen], rounded once.

    Examples
    --------
    >>> amount_fen(2_814_000, 1_500, Decimal("0.001"))  # 1.5 t of COD at 28,140 CNY/t
    4221000
    """
    check_int(price_fen, "price_fen")
    check_int(units, "units")
    q = Fraction(quantum)
    return round_ratio(price_fen * units * q.numerator, q.denominator, rounding)


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Split *total* into integer parts proportional to *weights* (largest remainder).

    Parameters
    ----------
    total : int
        The integer to split (≥ 0) [any integer unit: fen, kg …].
    weights : sequence of int
        Non-negative weights, not all zero.

    Returns
    -------
    list of int
        Parts that sum exactly to *total*; part *i* differs from ``total·w_i/Σw`` by less than
        one. Ties between equal remainders go to the earlier position.

    Examples
    --------
    >>> apportion(100, [1, 1, 1])
    [34, 33, 33]
    """
    check_int(total, "total")
    for i, w in enumerate(weights):
        check_int(w, f"weights[{i}]")
    s = sum(weights)
    if s == 0:
        raise InputError("weights", "at least one weight > 0", list(weights))
    floors = [total * w // s for w in weights]
    remainders = [total * w % s for w in weights]
    left = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return floors
