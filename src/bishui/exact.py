"""Judging a value against a limit, and derived figures that are exact at the boundary.

One rule for every engine (air compliance, water classes and multiples, source exceedances,
caps, compensation inputs): a value is judged against a limit by GB/T 8170-2008 §4.3, either

* **全数值比较法** (``"full"``): the value, unrounded, against the limit — where the standard says
  nothing else (GB/T 8170-2008 §4.3: the full-value comparison is the default; the rounded
  comparison applies only where a standard prescribes it), or
* **修约值比较法** (``"rounded"``): the value rounded by GB/T 8170 §3 (half to even) to the
  standard's reporting decimals, then against the limit — where the standard prescribes the
  reporting decimals of the value that is compared (HJ 633-2026 §4.2.2 for air concentrations;
  the assessment decimals of 环办监测函〔2020〕82号 for surface water).

:data:`CHECKS` lists which comparison each check of bishui uses and why; docs/exactness.md
prints it.

Exact derived figures
---------------------
Readings arrive as decimal text with few decimals (HJ 212, uploads). A float in bishui stands
for the shortest decimal that reads back to it (:func:`written`; the same reading as
:func:`bishui.rounding.round_gbt8170`). A derived figure (a percentile, 超标倍数, a change
rate, a reference-O2 conversion, a flow-weighted mean) is returned as **the float nearest to its
exact rational value**. Then every comparison with a limit and every GB/T 8170 rounding of it is
exact: a result exactly on a limit or on a half is the float of that decimal, and a result off
it by less than the float's resolution would need denominators of ~10^15, which decimal inputs
with a few digits do not produce.

Two ways get there, both vectorised:

* **scaled integers** (:func:`common_units`): when the inputs are decimals with at most
  :data:`MAX_DIGITS` digits, they are read as exact integers of 10^-d; a numerator and a
  denominator built from them by integer arithmetic below 2^53 are exact in float64, and one
  IEEE division gives the nearest float;
* otherwise a **float fast path with an exact recheck** (:func:`settle`): the float result is
  kept except where it lies within a tolerance of a decision point (a multiple of
  ½·10^-:data:`GRID_DIGITS`: every limit and every rounding half of the tables); those
  elements — few — are recomputed in :class:`fractions.Fraction` from the written inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntpArray = npt.NDArray[np.intp]

Method = Literal["full", "rounded"]

#: Most decimals an input may have for the scaled-integer path.
MAX_DIGITS = 6
#: Decision points are multiples of ½·10^-GRID_DIGITS (limits and rounding halves up to 6 dp).
GRID_DIGITS = 6
#: Relative distance from a decision point within which a float result is rechecked exactly
#: (float kernels are off by a few ulps, ~1e-15; below 1 the distance is taken absolute, which
#: covers a difference of nearly equal values).
RECHECK_TOLERANCE = 1e-12
_BIG = 2.0**53


# --- the comparison rule -------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """How a check compares a value with its limit (GB/T 8170-2008 §4.3).

    Attributes
    ----------
    method : "full" or "rounded"
        全数值比较法 or 修约值比较法.
    digits : int or None
        "rounded": decimals the value is rounded to (GB/T 8170 half-even) before comparing;
        None for "full". A mapping per item is given by the check's own table
        (``digits_from``).
    clause : str
        Why: the clause that prescribes it.
    digits_from : str
        Where per-item decimals come from, when they differ by item ("" otherwise).
    """

    method: Method
    digits: int | None
    clause: str
    digits_from: str = ""


FULL = "GB/T 8170-2008 §4.3: no reporting rule for the compared value, so the full value"

#: Every check of bishui that judges a value against a limit, and the comparison it uses.
CHECKS: dict[str, Comparison] = {
    "air.compliance": Comparison(
        "rounded", None,
        "HJ 633-2026 §4.2.2 (concentrations reported as integers, CO 0.1 mg/m³, GB/T 8170) and "
        "HJ 663 Table 1 statistics: the rounded statistic against the GB 3095 Table 1 limit",
        "bishui.air.compliance.COMPLIANCE_DIGITS",
    ),
    "air.exceedance_days": Comparison(
        "rounded", None,
        "HJ 633-2026 §4.2.2: the rounded daily value against the daily limit",
        "bishui.air.compliance.COMPLIANCE_DIGITS",
    ),
    "air.mda8_exception": Comparison(
        "rounded", 0, "HJ 663 §6.1.2: the rounded MDA8 against the limit (integers, §4.2.2)"
    ),
    "air.exceedance_multiple": Comparison(
        "rounded", 2, "超标倍数 from the rounded statistic, exact, reported with 2 decimals"
    ),
    "water.class": Comparison(
        "rounded", None,
        "环办监测函〔2020〕82号 assessment decimals (GB/T 8170 half-even), then the GB 3838-2002 "
        "Table 1 limit, boundary to the better class (环办〔2011〕22号)",
        "bishui.water.tables.DECIMALS_2020 (pH: water.rounding.PH_DECIMALS, a parameter)",
    ),
    "water.exceedance_multiple": Comparison(
        "rounded", 2, "环办〔2011〕22号: (C − Ⅲ limit)/Ⅲ limit of the assessment value, exact; "
        "written with 2 decimals after the pollutant name"
    ),
    "sources.exceedance": Comparison(
        "full", None,
        FULL + " (排污许可证申请与核发技术规范 §12.2; 条例 Art. 34): the exact hourly or daily "
        "mean, converted to the reference O2, against the permitted concentration",
    ),
    "sources.ph": Comparison(
        "full", None,
        FULL + ": every valid hourly pH against the permitted range (never a daily mean)",
    ),
    "sources.cap": Comparison(
        "full", None,
        FULL + " (条例 Art. 34): the exact cumulative mass [g] against level × annual cap",
    ),
    "compensation.inputs": Comparison(
        "full", None,
        FULL + ": concentrations and volumes enter the rule's formula as exact decimals; the "
        "formula's own rounding (money in fen) applies to the amount",
    ),
}  # fmt: skip


def rounded_for(value: npt.ArrayLike, rule: Comparison, digits: int | None = None) -> FloatArray:
    """The value as the rule compares it: unrounded ("full") or rounded to its decimals."""
    from bishui.rounding import round_gbt8170

    v = np.asarray(value, dtype=np.float64)
    if rule.method == "full":
        return v
    d = rule.digits if digits is None else digits
    if d is None:
        raise ValueError("a rounded comparison needs its decimals")
    return round_gbt8170(v, d)


def exceeds(
    value: npt.ArrayLike,
    upper: npt.ArrayLike,
    rule: Comparison,
    *,
    lower: npt.ArrayLike | None = None,
    digits: int | None = None,
) -> BoolArray:
    """True where the value, compared as *rule* says, is above *upper* (or below *lower*).

    A value exactly at a limit is within it. NaN values or limits never exceed.
    """
    v = rounded_for(value, rule, digits)
    with np.errstate(invalid="ignore"):
        out = v > np.asarray(upper, dtype=np.float64)
        if lower is not None:
            out |= v < np.asarray(lower, dtype=np.float64)
    return np.asarray(out, dtype=np.bool_)


# --- exact arithmetic helpers --------------------------------------------------------------


def written(x: float | int | Decimal | str | np.floating | np.integer) -> Fraction:
    """The exact value a number stands for: a float is its shortest decimal (``repr``)."""
    if isinstance(x, Decimal | str | int | np.integer):
        return Fraction(Decimal(str(x)))
    return Fraction(*Decimal(repr(float(x))).as_integer_ratio())


def round_half_even(q: Fraction, digits: int) -> Fraction:
    """*q* rounded to *digits* decimals, half to even (GB/T 8170-2008 §3), exactly."""
    scale = Fraction(10) ** digits
    y = q * scale
    n = math.floor(y)
    rest = y - n
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and n % 2 == 1):
        n += 1
    return Fraction(n) / scale


def _is_decimal(v: FloatArray, d: int) -> bool:
    scale = 10.0**d
    return bool(np.array_equal(np.rint(v * scale) / scale, v, equal_nan=True))


def decimal_digits(a: npt.ArrayLike, max_digits: int = MAX_DIGITS) -> int | None:
    """Smallest d ≤ *max_digits* with every element a decimal of d digits (NaN ignored), or None.

    A decimal of d digits is within rounding error of an integer of 10^-d and reads back
    exactly from it; anything else does not. The candidate d comes from a sample, and the
    whole array is verified at it (one pass in the usual case). Magnitudes are not checked
    here: the callers bound their integer arithmetic below 2^53 (:func:`fits`,
    :func:`max_abs`).
    """
    x = np.asarray(a, dtype=np.float64)
    if x.size == 0:
        return 0
    sample = x.reshape(-1)[:4096]
    start = next((d for d in range(max_digits + 1) if _is_decimal(sample, d)), None)
    if start is None:
        return None
    return next((d for d in range(start, max_digits + 1) if _is_decimal(x, d)), None)


def common_units(
    arrays: Sequence[npt.ArrayLike], max_digits: int = MAX_DIGITS
) -> tuple[list[FloatArray], int] | None:
    """The arrays as exact integers of 10^-d (float64) at one common d, or None.

    None when an element is not a decimal of at most *max_digits* digits. NaN stays NaN.
    """
    ds = [decimal_digits(a, max_digits) for a in arrays]
    if any(d is None for d in ds):
        return None
    d = max(int(x) for x in ds if x is not None) if ds else 0
    scale = 10.0**d
    units = [np.rint(np.asarray(a, dtype=np.float64) * scale) for a in arrays]
    if any(max_abs(u) >= _BIG for u in units):
        return None
    return units, d


def fits(*arrays: npt.ArrayLike) -> bool:
    """Whether every finite element is an integer float below 2^53 in magnitude (exact)."""
    for a in arrays:
        x = np.asarray(a, dtype=np.float64)
        fin = x[np.isfinite(x)]
        if fin.size and np.abs(fin).max() >= _BIG:
            return False
    return True


def max_abs(a: npt.ArrayLike) -> float:
    """Largest finite magnitude (0 for none): bounds a product or a sum before it is formed."""
    x = np.asarray(a, dtype=np.float64)
    if x.size == 0:
        return 0.0
    m = float(np.nanmax(np.abs(x))) if not np.isnan(x).all() else 0.0
    return m


def near_decision(y: npt.ArrayLike, grid_digits: int = GRID_DIGITS) -> BoolArray:
    """Elements within :data:`RECHECK_TOLERANCE` (relative) of a multiple of ½·10^-grid_digits."""
    v = np.asarray(y, dtype=np.float64)
    g = 2.0 * 10.0**grid_digits
    with np.errstate(invalid="ignore", over="ignore"):
        s = v * g
        off = np.abs(s - np.rint(s))
        out = off <= RECHECK_TOLERANCE * np.maximum(np.abs(s), g)
    return np.asarray(out & np.isfinite(v), dtype=np.bool_)


def settle(
    approx: npt.ArrayLike,
    exact: Callable[[IntpArray], Iterable[Fraction | None]],
    grid_digits: int = GRID_DIGITS,
    *,
    known: npt.ArrayLike | None = None,
) -> FloatArray:
    """Float results made exact where it matters: near-decision elements recomputed exactly.

    Parameters
    ----------
    approx : array_like
        The float fast-path result.
    exact : callable
        Given the flat indices of the elements to recheck, their exact values (None: NaN).
    grid_digits : int
        See :func:`near_decision`.
    known : array_like of bool, optional
        Elements the caller knows to be exact already (e.g. a zero sum of non-negative
        terms); they are not rechecked.

    Returns
    -------
    numpy.ndarray of float64
        *approx* with the rechecked elements replaced by the float nearest their exact value.
    """
    out = np.array(approx, dtype=np.float64)
    near = near_decision(out, grid_digits)
    if known is not None:
        near &= ~np.asarray(known, dtype=np.bool_)
    idx = np.flatnonzero(near)
    if idx.size:
        flat = out.reshape(-1)
        for i, q in zip(idx, exact(idx), strict=True):
            flat[i] = math.nan if q is None else float(q)
    return out


def multiple(concentration: npt.ArrayLike, limit: npt.ArrayLike) -> FloatArray:
    """超标倍数 ``(C − S)/S``, unrounded: the float nearest the exact value [1].

    Parameters
    ----------
    concentration : array_like
        C [unit of the limit]; NaN stays NaN.
    limit : array_like
        S (broadcast) [same unit]; ≤ 0 or NaN gives NaN.
    """
    c0 = np.asarray(concentration, dtype=np.float64)
    s0 = np.asarray(limit, dtype=np.float64)
    u = common_units([c0, s0])  # before broadcasting: a scalar limit stays a scalar
    with np.errstate(invalid="ignore", divide="ignore"):
        if u is not None:
            (cu, su), _ = u
            num = cu - su
            if fits(num, su):
                return np.asarray(np.where(s0 > 0, num / su, np.nan), dtype=np.float64)
    c, s = np.broadcast_arrays(c0, s0)
    ok = s > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        approx = np.where(ok, (c - s) / s, np.nan)
    cf, sf = c.reshape(-1), s.reshape(-1)

    def ex(idx: IntpArray) -> list[Fraction | None]:
        return [(written(cf[i]) - written(sf[i])) / written(sf[i]) for i in idx]

    return settle(approx, ex)


def change_rate(now: npt.ArrayLike, before: npt.ArrayLike) -> FloatArray:
    """``(now − before)/before × 100`` [%], unrounded: the float nearest the exact value.

    NaN where *before* ≤ 0 or either is NaN.
    """
    a0 = np.asarray(now, dtype=np.float64)
    b0 = np.asarray(before, dtype=np.float64)
    u = common_units([a0, b0])
    with np.errstate(invalid="ignore", divide="ignore"):
        if u is not None:
            (au, bu), _ = u
            num = (au - bu) * 100.0
            if fits(num, bu):
                return np.asarray(np.where(b0 > 0, num / bu, np.nan), dtype=np.float64)
    a, b = np.broadcast_arrays(a0, b0)
    ok = b > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        approx = np.where(ok, (a - b) / b * 100.0, np.nan)
    af, bf = a.reshape(-1), b.reshape(-1)

    def ex(idx: IntpArray) -> list[Fraction | None]:
        return [(written(af[i]) - written(bf[i])) * 100 / written(bf[i]) for i in idx]

    return settle(approx, ex)
