"""Rounding of numbers per GB/T 8170-2008 §3 (数值修约规则): round half to even (四舍六入五成双).

A binary float cannot hold most decimals exactly (0.15 is stored as 0.1499999…), so rounding the
stored binary value would turn a written "0.15" into 0.1. GB/T 8170 rounds the *written* number:
here a float is taken as the shortest decimal that reads back to it (``repr``), which is what a
logger or a database wrote. The vectorised kernel decides every case exactly, without strings:

* ``k = floor(x·10^d)`` (maybe one off near an integer, which does not matter, see below);
* ``h = (2k+1) / (2·10^d)`` computed in float64 is the float nearest to the decimal half-way point
  ``(k+½)·10^-d`` (numerator and denominator are exact integers, IEEE division rounds correctly);
* ``x > h`` ⇒ the written value lies above the half-way point, ``x < h`` ⇒ below, and ``x == h``
  ⇒ it *is* the half-way point (for every decimal of ≤ 15 significant digits, which map to
  distinct floats) — then the even neighbour wins. If ``k`` was one too low or too high because
  ``x·10^d`` landed just across an integer, ``h`` is a whole step away from ``x`` and the
  comparison still picks the nearest neighbour.

Exact while ``|x|·10^d < 2^52``; larger values are already integers at that precision.
"""

from __future__ import annotations

import decimal
from typing import overload

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def round_units(x: FloatArray, digits: int) -> FloatArray:
    """Round *x* to *digits* decimals (GB/T 8170 half-even) and return the integer count of units.

    Parameters
    ----------
    x : numpy.ndarray of float64
        Values; NaN stays NaN.
    digits : int
        Decimals kept (negative: tens, hundreds …).

    Returns
    -------
    numpy.ndarray of float64
        Integer-valued floats ``round(x, digits)·10^digits`` (NaN where *x* is NaN).
    """
    if digits >= 0:
        s = 10.0**digits
        k = np.floor(x * s)
        h = (2.0 * k + 1.0) / (2.0 * s)
    else:
        s = 10.0**-digits
        k = np.floor(x / s)
        h = (2.0 * k + 1.0) * (s / 2.0)
    k += x > h
    tie = x == h
    if tie.any():
        # Half-way points go to the even neighbour: k odd → k+1, k even → k.
        half = k * 0.5
        k += tie & (half != np.floor(half))
    return k


@overload
def round_gbt8170(x: float, digits: int = 0) -> float: ...
@overload
def round_gbt8170(x: decimal.Decimal, digits: int = 0) -> decimal.Decimal: ...
@overload
def round_gbt8170(x: npt.ArrayLike, digits: int = 0) -> FloatArray: ...
def round_gbt8170(x: object, digits: int = 0) -> object:
    """Round to *digits* decimals by GB/T 8170-2008 §3.1 (round half to even), exactly.

    Parameters
    ----------
    x : float, int, Decimal, str or array_like
        Values. Floats are read as their shortest decimal representation (``0.15`` is 0.15).
        A ``Decimal`` or ``str`` is rounded in decimal arithmetic and returned as ``Decimal``.
    digits : int
        Decimals kept; 0 for integers, 1 for CO in mg/m³, negative for tens, hundreds.

    Returns
    -------
    float, Decimal or numpy.ndarray of float64
        Rounded values (NaN stays NaN).

    Examples
    --------
    >>> round_gbt8170(0.15, 1), round_gbt8170(0.25, 1), round_gbt8170(76.5), round_gbt8170(75.5)
    (0.2, 0.2, 76.0, 76.0)
    """
    if isinstance(x, str | decimal.Decimal):
        d = decimal.Decimal(x)
        return d.quantize(decimal.Decimal(1).scaleb(-digits), rounding=decimal.ROUND_HALF_EVEN)
    a = np.asarray(x, dtype=np.float64)
    s = 10.0 ** abs(digits)
    units = round_units(a, digits)
    out = units / s if digits >= 0 else units * s
    if isinstance(x, int | float | np.floating | np.integer):
        return float(out)
    return out
