"""City ambient-air composite index (环境空气质量综合指数) and rankings.

环办〔2014〕64号《城市环境空气质量排名技术规定》 and its later revision (notes ``air.md`` §5)::

    I_i = C_i / S_i,    I_sum = Σ w_i · I_i

over the six pollutants: ``C_i`` is the period mean for SO2, NO2, PM10 and PM2.5 with ``S_i``
their *annual* Grade II limit; the CO daily-mean 95th percentile with the CO daily limit; the O3
MDA8 90th percentile with the O3 MDA8 limit. All weights are 1 in the published rule. Ranking:
ascending ``I_sum``; equal values share a rank ("数值相同的城市以并列计").

Both the weights and the limit set are parameters. Defaults: equal weights and the GB 3095-2012
Grade II limits (SO2 60, NO2 40, PM10 70, PM2.5 35 µg/m³; CO 4 mg/m³; O3 160 µg/m³) — the
published rule — until an official text for 2026 is confirmed. :data:`WEIGHTS_UNVERIFIED_2026`
(PM2.5 ×3, NO2 ×2, O3 ×2) is an UNVERIFIED variant found in one commercial codebase.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bishui import exact
from bishui.air.rounding import round_gbt8170, round_units
from bishui.errors import InputError

FloatArray = npt.NDArray[np.float64]

#: GB 3095-2012 Table 1 Grade II: annual (SO2, NO2, PM10, PM2.5), daily (CO), MDA8 (O3).
LIMITS_2012: dict[str, float] = {
    "SO2": 60.0, "NO2": 40.0, "PM10": 70.0, "PM2.5": 35.0, "CO": 4.0, "O3": 160.0,
}  # fmt: skip
#: GB 3095-2026 Table 1 Grade II, transition phase (2026-03-01 … 2030-12-31).
LIMITS_2026_TRANSITION: dict[str, float] = LIMITS_2012 | {"PM10": 60.0, "PM2.5": 30.0}
#: GB 3095-2026 Table 1 Grade II, final phase (from 2031-01-01).
LIMITS_2026_FINAL: dict[str, float] = {
    "SO2": 20.0, "NO2": 30.0, "PM10": 50.0, "PM2.5": 25.0, "CO": 4.0, "O3": 160.0,
}  # fmt: skip
EQUAL_WEIGHTS: dict[str, float] = dict.fromkeys(LIMITS_2012, 1.0)
#: UNVERIFIED (notes §5): labelled "HJ 663-2026" in one commercial codebase only.
WEIGHTS_UNVERIFIED_2026: dict[str, float] = EQUAL_WEIGHTS | {"PM2.5": 3.0, "NO2": 2.0, "O3": 2.0}


@dataclass(frozen=True)
class CompositeIndex:
    """Composite index with its parts.

    Attributes
    ----------
    total : numpy.ndarray of float64
        I_sum, unrounded [1]; NaN where a pollutant is missing.
    rounded : numpy.ndarray of float64
        I_sum rounded to *digits* decimals (GB/T 8170) [1].
    single : dict of numpy.ndarray
        I_i = C_i / S_i per pollutant (unweighted) [1].
    limits, weights : dict of float
        What was used.
    max_pollutant : numpy.ndarray of str
        The pollutant with the largest weighted single index ("" where the total is NaN).
    """

    total: FloatArray
    rounded: FloatArray
    single: dict[str, FloatArray]
    limits: dict[str, float]
    weights: dict[str, float]
    max_pollutant: npt.NDArray[np.str_]


def composite_index(
    conc: Mapping[str, npt.ArrayLike],
    *,
    limits: Mapping[str, float] | None = None,
    weights: Mapping[str, float] | None = None,
    digits: int = 2,
) -> CompositeIndex:
    """Composite index of a period (城市环境空气质量排名技术规定).

    Parameters
    ----------
    conc : mapping pollutant → array_like
        ``SO2, NO2, PM10, PM2.5`` period means [µg/m³], ``CO`` daily 95th percentile [mg/m³],
        ``O3`` MDA8 90th percentile [µg/m³]. Use unrounded (or 1-decimal) statistics: official
        indices are computed from them (notes §7.6).
    limits : mapping, optional
        S_i (default :data:`LIMITS_2012`).
    weights : mapping, optional
        w_i (default :data:`EQUAL_WEIGHTS`).
    digits : int
        Decimals of ``rounded`` (published with 2).

    Returns
    -------
    CompositeIndex
    """
    lim = dict(limits or LIMITS_2012)
    w = dict(weights or EQUAL_WEIGHTS)
    missing = set(LIMITS_2012) - set(conc)
    if missing:
        raise InputError("conc", "the composite index needs all six pollutants", sorted(missing))
    single: dict[str, FloatArray] = {}
    for p in LIMITS_2012:
        if p not in lim or lim[p] <= 0:
            raise InputError("limits", f"needs a positive limit for {p}", lim.get(p))
        try:
            c = np.asarray(conc[p], dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(p, "concentration must be numeric", conc[p]) from None
        if (c < 0).any():
            raise InputError(p, "concentration must be ≥ 0", float(c[c < 0][0]))
        single[p] = c / lim[p]
    names = list(LIMITS_2012)
    weighted = np.stack(np.broadcast_arrays(*(single[p] * w.get(p, 0.0) for p in names)))
    total = _exact_total(conc, names, lim, w)
    if total is None:
        total = weighted.sum(axis=0)
    nan = np.isnan(total)
    top = np.asarray(names)[np.argmax(np.where(np.isnan(weighted), -np.inf, weighted), axis=0)]
    return CompositeIndex(
        total=total,
        rounded=round_gbt8170(total, digits),
        single=single,
        limits=lim,
        weights=w,
        max_pollutant=np.where(nan, "", top),
    )


def _exact_total(
    conc: Mapping[str, npt.ArrayLike],
    names: list[str],
    lim: Mapping[str, float],
    w: Mapping[str, float],
) -> FloatArray | None:
    """Σ w·C/S exactly: the float nearest to the rational sum (so 3.425 rounds to 3.42).

    Concentrations are read to 10^-3 as integers n; with L = lcm of the (integer) limits the
    sum is ``Σ w·n·(L/S) / (1000·L)``, an exact integer numerator divided once. None when a limit
    or weight is not an integer (the caller then sums floats).
    """
    if not all(float(lim[p]).is_integer() and float(w.get(p, 0.0)).is_integer() for p in names):
        return None
    big_l = 1
    for p in names:
        big_l = math.lcm(big_l, int(lim[p]))
    parts = [
        round_units(np.asarray(conc[p], dtype=np.float64), 3)
        * (int(w.get(p, 0.0)) * (big_l // int(lim[p])))
        for p in names
    ]
    num = np.stack(np.broadcast_arrays(*parts)).sum(axis=0)
    if np.nanmax(np.abs(num), initial=0.0) >= 2.0**53:
        return None
    return np.asarray(num / (1000.0 * big_l), dtype=np.float64)


def rank(
    values: npt.ArrayLike, *, ascending: bool = True, digits: int | None = 2
) -> npt.NDArray[np.int64]:
    """Competition ranking with ties ("1, 2, 2, 4"); 0 for NaN (not ranked).

    Parameters
    ----------
    values : array_like, 1-D
        Composite index, PM2.5 or another figure [any].
    ascending : bool
        True: smallest first (composite index, PM2.5); False: largest first (good-days ratio).
    digits : int or None
        Compare the values rounded as published (GB/T 8170) so that equal published figures tie;
        None compares the raw values.

    Returns
    -------
    numpy.ndarray of int64
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise InputError("values", "rank a 1-D array", v.shape)
    if digits is not None:
        v = round_gbt8170(v, digits)
    key = v if ascending else -v
    ok = ~np.isnan(key)
    ordered = np.sort(key[ok])
    r = np.searchsorted(ordered, key, side="left") + 1
    return np.where(ok, r, 0).astype(np.int64)


def change_rate(now: npt.ArrayLike, before: npt.ArrayLike, *, digits: int = 2) -> FloatArray:
    """Change of the composite index against the same period of the year before, in %.

    ``(I_now − I_before) / I_before × 100``; above 0 means worse (2017 变化程度排名方案).
    Computed exactly before the GB/T 8170 rounding (:func:`bishui.exact.change_rate`): 1.09
    against 1.60 is −31.875 → −31.88.
    """
    return round_gbt8170(exact.change_rate(now, before), digits)
