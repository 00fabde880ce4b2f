"""Compliance figures of a period: HJ 663 Table 1 statistics against GB 3095 Table 1 limits,
exceedance days and multiples, and the good-days ratio (notes ``air.md`` §4.1, §4.5).

Input is daily data ``(..., days)`` as produced by :mod:`bishui.air.assessment` (valid daily
means, MDA8), NaN for invalid days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from bishui import exact
from bishui.air.assessment import (
    FloatArray,
    IntArray,
    Stat,
    as_values,
    exact_sum,
    mean_of,
    percentile,
    period_validity,
)
from bishui.air.editions import (
    SWITCH_2026,
    DateLike,
    Edition,
    check_edition,
    data_day,
    gb3095_phase,
)
from bishui.air.limits import Phase, limit
from bishui.air.rounding import round_gbt8170
from bishui.errors import InputError

#: HJ 663 Table 1: percentile of the daily values used in the annual assessment.
PERCENTILE: dict[str, int] = {"SO2": 98, "NO2": 98, "PM10": 95, "PM2.5": 95, "CO": 95, "O3": 90}
#: Pollutants with an annual-mean statistic (HJ 663 Table 1).
ANNUAL_MEAN = ("SO2", "NO2", "PM10", "PM2.5")
#: Decimals of the values compared with a limit (HJ 633-2026 §4.2.2: integers, CO 0.1).
COMPLIANCE_DIGITS: dict[str, int] = {"SO2": 0, "NO2": 0, "PM10": 0, "PM2.5": 0, "CO": 1, "O3": 0}


def exceedance_multiple(concentration: npt.ArrayLike, limit_value: float) -> FloatArray:
    """超标倍数 B = (C − S) / S, rounded to 2 decimals (GB/T 8170); NaN where C ≤ S.

    B is computed exactly (:func:`bishui.exact.multiple`) before the rounding, so CO 4.3
    against 4 mg/m³ is 0.075 → 0.08 and 4.9 is 0.225 → 0.22 (half to even).

    Parameters
    ----------
    concentration : array_like
        C [µg/m³; CO mg/m³].
    limit_value : float
        S, the limit [same unit].

    Returns
    -------
    numpy.ndarray of float64 [1]
    """
    c = np.asarray(concentration, dtype=np.float64)
    b = round_gbt8170(exact.multiple(c, limit_value), 2)
    with np.errstate(invalid="ignore"):
        return np.where(c > limit_value, b, np.nan)


@dataclass(frozen=True)
class GoodDays:
    """优良天数比例: days with AQI ≤ 100 over the valid days, in %, 1 decimal (notes §4.5)."""

    ratio: FloatArray
    good: IntArray
    valid: IntArray


def good_days_ratio(
    daily_aqi: npt.ArrayLike, valid: npt.ArrayLike | None = None, *, digits: int = 1
) -> GoodDays:
    """Good-days ratio (优良天数比例) over the last axis.

    Parameters
    ----------
    daily_aqi : array_like, shape (..., days)
        Daily AQI [1], NaN where the day has none.
    valid : array_like of bool, optional
        Days that count (default: AQI not NaN). Pass ``AQIBatch.published`` to leave out the
        2026 "NA" days.
    digits : int
        Decimals of the percentage (GB/T 8170).

    Returns
    -------
    GoodDays
        ``ratio`` [%], NaN where no day is valid.
    """
    a = np.asarray(daily_aqi, dtype=np.float64)
    ok = ~np.isnan(a) if valid is None else np.asarray(valid, dtype=np.bool_) & ~np.isnan(a)
    good = (ok & (a <= 100)).sum(axis=-1)
    n = ok.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = round_gbt8170(np.where(n > 0, good * 100.0 / n, np.nan), digits)
    return GoodDays(ratio, good, n)


@dataclass(frozen=True)
class PollutantAssessment:
    """Period assessment of one pollutant (HJ 663 Table 1; GB 3095 Table 1).

    ``status`` per element: "complies", "exceeds" or "invalid" (insufficient data: ``mean``
    and ``percentile`` are then NaN and ``validity.missing`` says how many valid days are
    short). The day counts (``exceedance_days``, ``valid_days``, ``exceedance_rate``,
    ``max_daily``) describe the valid days observed and are given even when the period is
    invalid. Concentrations in µg/m³ (CO mg/m³); multiples [1]; rate [%].
    """

    pollutant: str
    edition: Edition
    phase: Phase
    grade: int
    validity: Stat
    mean: FloatArray
    percentile_p: int
    percentile: FloatArray
    mean_limit: float | None
    daily_limit: float
    mean_multiple: FloatArray
    percentile_multiple: FloatArray
    exceedance_days: IntArray
    valid_days: IntArray
    exceedance_rate: FloatArray
    max_daily: FloatArray
    max_multiple: FloatArray
    status: npt.NDArray[np.str_]


def assess(
    daily: Mapping[str, npt.ArrayLike],
    start: DateLike,
    *,
    edition: Edition | Literal[2012, 2026] | None = None,
    phase: Phase | None = None,
    grade: int = 2,
    annual: bool | None = None,
    validity_for: tuple[str, ...] = ("SO2", "NO2", "PM10", "PM2.5", "CO", "O3"),
) -> dict[str, PollutantAssessment]:
    """Assessment of a period per pollutant: mean, percentile, validity, exceedances, compliance.

    Parameters
    ----------
    daily : mapping pollutant → array_like, shape (..., days)
        ``SO2, NO2, PM10, PM2.5, CO`` valid daily means and ``O3`` valid MDA8 values
        [µg/m³; CO mg/m³], NaN for invalid days; day 0 is *start*.
    start : date
        First day of the period.
    edition, phase : optional
        GB 3095 edition and phase of the limits. Default: in force on the period's last day
        (docs/air.md, "periods across 2026-03-01").
    grade : {1, 2}
    annual : bool, optional
        Apply the annual ≥ 324-day rule (default: whole calendar year).
    validity_for : tuple of str
        Pollutants the Table 4 period rule is applied to. Table 4 names SO2, NO2, PM10 and
        PM2.5; by default CO and O3 are held to it as well (no silently computed figure).

    Returns
    -------
    dict of PollutantAssessment

    Notes
    -----
    Statistics per HJ 663 Table 1 (:data:`PERCENTILE`, :data:`ANNUAL_MEAN`). A pollutant
    complies when each of its statistics, rounded by GB/T 8170 (:data:`COMPLIANCE_DIGITS`), is
    within its limit: annual mean ≤ annual limit, percentile ≤ daily (O3: MDA8) limit.
    Exceedance days count rounded daily values above the daily limit.
    """
    ndays = None
    for v in daily.values():
        ndays = np.shape(v)[-1]
    if ndays is None:
        raise InputError("daily", "needs at least one pollutant", None)
    last = data_day(start) + dt.timedelta(days=max(ndays - 1, 0))
    if edition is None and phase is None:
        phase = gb3095_phase(last)
    ed = check_edition(edition or ("2012" if phase == "all" else "2026"))
    ph: Phase = phase or ("all" if ed == "2012" else gb3095_phase(max(last, SWITCH_2026)))
    out = {}
    for pol, values in daily.items():
        if pol not in PERCENTILE:
            raise InputError("pollutant", "must be one of " + ", ".join(PERCENTILE), pol)
        x = as_values(pol, values)
        ok = ~np.isnan(x)
        digits = COMPLIANCE_DIGITS[pol]
        if pol in validity_for:
            val = period_validity(ok, start, annual=annual)
        else:
            n = ok.sum(axis=-1)
            val = Stat(n.astype(float), n > 0, n, np.where(n > 0, 0, 1), "no period rule")
        total, count = exact_sum(x)
        has_mean = pol in ANNUAL_MEAN
        mean = (
            np.where(val.valid, mean_of(total, count), np.nan)
            if has_mean
            else np.full(val.valid.shape, np.nan)
        )
        pct = np.where(val.valid, percentile(x, PERCENTILE[pol]), np.nan)
        mean_limit = limit(pol, "annual", grade, edition=ed, phase=ph) if has_mean else None
        daily_limit = limit(pol, "mda8" if pol == "O3" else "daily", grade, edition=ed, phase=ph)
        mean_r = round_gbt8170(mean, digits)
        pct_r = round_gbt8170(pct, digits)
        ok_stat = pct_r <= daily_limit
        mean_mult = np.full(mean.shape, np.nan)
        if mean_limit is not None:
            ok_stat &= mean_r <= mean_limit
            mean_mult = exceedance_multiple(mean_r, mean_limit)
        status = np.where(~val.valid, "invalid", np.where(ok_stat, "complies", "exceeds"))
        rounded = round_gbt8170(np.where(ok, x, 0.0), digits)
        exc = (ok & (rounded > daily_limit)).sum(axis=-1)
        valid_days = ok.sum(axis=-1)
        max_daily = np.where(valid_days > 0, np.where(ok, rounded, -1.0).max(axis=-1), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = round_gbt8170(np.where(valid_days > 0, exc * 100.0 / valid_days, np.nan), 1)
        out[pol] = PollutantAssessment(
            pollutant=pol,
            edition=ed,
            phase=ph,
            grade=grade,
            validity=val,
            mean=mean,
            percentile_p=PERCENTILE[pol],
            percentile=pct,
            mean_limit=mean_limit,
            daily_limit=daily_limit,
            mean_multiple=mean_mult,
            percentile_multiple=exceedance_multiple(pct_r, daily_limit),
            exceedance_days=exc,
            valid_days=valid_days,
            exceedance_rate=rate,
            max_daily=max_daily,
            max_multiple=exceedance_multiple(max_daily, daily_limit),
            status=status,
        )
    return out
