"""Assessment statistics of HJ 663-2013 / HJ 663-2026 with the validity rules of GB 3095 Table 4.

Array layout. Hourly data is an array ``(..., hours)`` whose last axis starts at the first hour
of the first day: column ``24·d + h`` is the hourly mean over hour ``h`` of day ``d`` — the value
HJ 663 labels ``h+1`` o'clock (an hourly mean is labelled by the end of its hour, notes §4.3).
So the daily mean of day ``d`` averages columns ``24·d … 24·d+23`` (labels D 01:00 … D+1 00:00,
HJ 633-2012 §5.1.2 "当日零点前24小时"; HJ 633-2026 natural day). NaN marks a missing or invalid
hour. Daily data is ``(..., days)``. Leading axes are stations (or anything else).

Exactness. Values are read to 10^-3 of their unit (:data:`HOURLY_DIGITS`) and summed as exact
integers, so a mean is the float nearest to the exact rational mean and GB/T 8170 half-even
rounding of it decides ties exactly (MDA8 150.5 is a tie; 150.625 is not).

Rules implemented (clause → function):

* GB 3095 Table 4: hourly mean ≥ 45 minutes of sampling (:func:`hourly_valid`); daily mean
  ≥ 20 hourly values (:func:`daily_mean`); 8-hour mean ≥ 6 hourly values
  (:func:`eight_hour_means`); annual ≥ 324 daily values and ≥ 27 per month, ≥ 25 in February
  (:func:`period_validity`).
* HJ 663 §6.1.2 (both editions): MDA8 needs ≥ 14 valid 8-hour means in the day, or else counts
  only if it exceeds the limit (:func:`mda8`).
* HJ 663-2013 Annex A percentile ``k = 1 + (n−1)·p`` (:func:`percentile`).
* HJ 663 Table 1 annual statistics and GB 3095 Table 1 limits (:func:`assess`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np
import numpy.typing as npt

from bishui import exact
from bishui.air.editions import (
    DateLike,
    Edition,
    check_edition,
    data_day,
)
from bishui.air.rounding import round_gbt8170, round_units
from bishui.errors import InputError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

#: Decimals hourly and daily values are read to before exact summation.
HOURLY_DIGITS = 3
#: GB 3095 Table 4 minimums (identical in 2012 and 2026).
MIN_MINUTES_HOURLY = 45
MIN_HOURS_DAILY = 20
MIN_HOURS_8H = 6
MIN_DAYS_YEAR = 324
MIN_DAYS_MONTH = 27
MIN_DAYS_FEBRUARY = 25
#: HJ 663 §6.1.2: valid 8-hour means a day needs for its MDA8.
MIN_WINDOWS_MDA8 = 14
#: End label (o'clock) of the first 8-hour window of a day per edition: 8 → windows ending
#: 08:00 … 24:00, 17 windows, none reaching into the previous day (HJ 663-2013 Table A.1 via
#: GB/T 34302; GB 3095-2026 §3.9 "一个自然日内"; notes §4.3, A2.3).
MDA8_FIRST_END_HOUR: dict[Edition, int] = {"2012": 8, "2026": 8}


@dataclass(frozen=True)
class Stat:
    """A statistic with its validity.

    Attributes
    ----------
    value : numpy.ndarray of float64
        The statistic [µg/m³; CO mg/m³]; NaN where invalid — never a silently computed figure.
    valid : numpy.ndarray of bool
    count : numpy.ndarray of int64
        Valid inputs found (hours, 8-hour means or days).
    missing : numpy.ndarray of int64
        Further valid inputs the rule needs (0 where valid by count).
    rule : str
        The clause applied.
    """

    value: FloatArray
    valid: BoolArray
    count: IntArray
    missing: IntArray
    rule: str


def as_values(name: str, values: npt.ArrayLike) -> FloatArray:
    """Concentrations as float64; InputError for non-numeric, negative or infinite values."""
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(name, "values must be numeric", values) from None
    bad = (a < 0) | np.isinf(a)
    if bad.any():
        raise InputError(name, "concentrations must be finite and ≥ 0", float(a[bad][0]))
    return a


def _days(name: str, hourly: FloatArray) -> FloatArray:
    if hourly.ndim == 0 or hourly.shape[-1] % 24:
        raise InputError(
            name, "the hour axis must hold whole days (a multiple of 24)", hourly.shape
        )
    return hourly.reshape(*hourly.shape[:-1], hourly.shape[-1] // 24, 24)


def exact_sum(a: FloatArray, axis: int = -1) -> tuple[FloatArray, IntArray]:
    """Sum of the non-NaN values in units of 10^-HOURLY_DIGITS (exact) and their count."""
    units = round_units(a, HOURLY_DIGITS)
    ok = ~np.isnan(units)
    return np.where(ok, units, 0.0).sum(axis=axis), ok.sum(axis=axis)


def mean_of(total: FloatArray, count: IntArray) -> FloatArray:
    """Mean from an :func:`exact_sum` total and count (NaN where the count is 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / (count * 10.0**HOURLY_DIGITS), np.nan)


def hourly_valid(
    sampling_minutes: npt.ArrayLike, *, min_minutes: int = MIN_MINUTES_HOURLY
) -> BoolArray:
    """Whether an hourly mean is valid: GB 3095 Table 4, ≥ 45 minutes of sampling in the hour.

    Parameters
    ----------
    sampling_minutes : array_like
        Minutes of valid sampling behind each hourly value [min].
    min_minutes : int
        GB 3095 Table 4: 45 (SO2, NO2, CO, O3, NOx).

    Returns
    -------
    numpy.ndarray of bool
        Mask the hourly values with it (``np.where(valid, value, np.nan)``) before the daily
        statistics.
    """
    m = np.asarray(sampling_minutes, dtype=np.float64)
    if ((m < 0) | (m > 60)).any():
        raise InputError(
            "sampling_minutes", "must be within 0 … 60", float(m[(m < 0) | (m > 60)][0])
        )
    return np.asarray(m >= min_minutes)


def daily_mean(hourly: npt.ArrayLike, *, min_hours: int = MIN_HOURS_DAILY) -> Stat:
    """Daily (24-hour) means from hourly values, with the GB 3095 Table 4 validity rule.

    Parameters
    ----------
    hourly : array_like, shape (..., 24·days)
        Hourly means [µg/m³; CO mg/m³], NaN where missing (layout in the module docstring).
    min_hours : int
        Valid hourly values a day needs (GB 3095 Table 4: 20).

    Returns
    -------
    Stat
        Shape (..., days).
    """
    d = _days("hourly", as_values("hourly", hourly))
    total, count = exact_sum(d)
    valid = count >= min_hours
    return Stat(
        np.where(valid, mean_of(total, count), np.nan),
        valid,
        count,
        np.maximum(min_hours - count, 0),
        f"GB 3095 Table 4: daily mean needs ≥ {min_hours} hourly values",
    )


def daily_max(hourly: npt.ArrayLike, *, min_hours: int = MIN_HOURS_DAILY) -> Stat:
    """Daily maximum hourly value (O3 1-hour, 2012 daily report, HJ 633-2012 §5.1.2).

    Validity: the day needs *min_hours* valid hours (the 24-hour rule of GB 3095 Table 4 applied
    by analogy — HJ 663's own rule for this statistic was not available; docs/air.md).
    """
    d = _days("hourly", as_values("hourly", hourly))
    count = (~np.isnan(d)).sum(axis=-1)
    mx = np.fmax.reduce(d, axis=-1)
    valid = count >= min_hours
    return Stat(
        np.where(valid, mx, np.nan),
        valid,
        count,
        np.maximum(min_hours - count, 0),
        f"daily max 1-hour: ≥ {min_hours} hourly values (interpretation)",
    )


def sliding_means(hourly: npt.ArrayLike, hours: int, *, min_hours: int) -> FloatArray:
    """Sliding means over *hours* hours ending at each hour of the series (exact sums).

    Parameters
    ----------
    hourly : array_like, shape (..., n)
        Hourly means [µg/m³; CO mg/m³], NaN where missing.
    hours : int
        Window length [h].
    min_hours : int
        Valid hourly values a window needs.

    Returns
    -------
    numpy.ndarray, shape (..., n)
        Element ``i`` averages columns ``i−hours+1 … i``; NaN where fewer than *min_hours* of
        them are valid. Windows reaching before the first column count those hours as missing.
    """
    a = as_values("hourly", hourly)
    if hours < 1 or not 1 <= min_hours <= hours:
        raise InputError("min_hours", f"must be within 1 … {hours}", min_hours)
    units = round_units(a, HOURLY_DIGITS)
    ok = ~np.isnan(units)
    pad = [(0, 0)] * (a.ndim - 1) + [(hours - 1, 0)]
    v = np.pad(np.where(ok, units, 0.0), pad)
    c = np.pad(ok.astype(np.int64), pad)
    win_v = np.lib.stride_tricks.sliding_window_view(v, hours, axis=-1).sum(axis=-1)
    win_c = np.lib.stride_tricks.sliding_window_view(c, hours, axis=-1).sum(axis=-1)
    return np.where(win_c >= min_hours, mean_of(win_v, win_c), np.nan)


def eight_hour_means(hourly: npt.ArrayLike, *, min_hours: int = MIN_HOURS_8H) -> FloatArray:
    """8-hour sliding means (GB 3095 §3.8): the mean ending at each hour of the series.

    Parameters
    ----------
    hourly : array_like, shape (..., hours)
        Hourly means [µg/m³], NaN where missing.
    min_hours : int
        Valid hourly values a window needs (GB 3095 Table 4: 6 of 8).

    Returns
    -------
    numpy.ndarray, shape (..., hours)
        Element ``i`` averages columns ``i−7 … i`` (the value labelled ``i+1`` o'clock); NaN
        where fewer than *min_hours* of them are valid.
    """
    return sliding_means(hourly, 8, min_hours=min_hours)


def sliding_24h_means(hourly: npt.ArrayLike, *, min_hours: int = MIN_HOURS_DAILY) -> FloatArray:
    """24-hour sliding means for the 2012 real-time report (HJ 633-2012 §5.1.3: PM10, PM2.5).

    Validity: ≥ 20 hourly values, the GB 3095 Table 4 rule for a 24-hour mean (interpretation:
    the table names daily means; a sliding 24-hour mean is held to the same count).

    Returns
    -------
    numpy.ndarray, shape (..., hours)
        Element ``i`` averages columns ``i−23 … i`` [µg/m³].
    """
    return sliding_means(hourly, 24, min_hours=min_hours)


def mda8(
    hourly: npt.ArrayLike,
    edition: Edition | Literal[2012, 2026] = "2026",
    *,
    first_end_hour: int | None = None,
    min_hours: int = MIN_HOURS_8H,
    min_windows: int = MIN_WINDOWS_MDA8,
    exceed_limit: float | None = 160.0,
) -> Stat:
    """O3 daily maximum 8-hour mean (MDA8, 日最大8小时平均) with its validity.

    Parameters
    ----------
    hourly : array_like, shape (..., 24·days)
        Hourly O3 [µg/m³] (layout in the module docstring). For windows reaching into the
        previous day (*first_end_hour* < 8) the previous day's hours must be in the array.
    edition : "2012" or "2026"
        Selects the window set (:data:`MDA8_FIRST_END_HOUR`; 17 windows ending 08:00 … 24:00
        in both editions).
    first_end_hour : int, optional
        End label of the day's first window (1 … 8). Override of the edition's value: 1 gives
        24 windows ending 01:00 … 24:00, the first seven crossing midnight into day D−1.
    min_hours : int
        Hours an 8-hour mean needs (GB 3095 Table 4: 6).
    min_windows : int
        Valid 8-hour means the day needs (HJ 663 §6.1.2: 14).
    exceed_limit : float or None
        HJ 663 §6.1.2: with fewer windows the MDA8 is still valid when it exceeds "the limit";
        the text does not say which grade's — default 160 µg/m³ (GB 3095 Grade II MDA8).
        None disables the exception. The rounded MDA8 is compared.

    Returns
    -------
    Stat
        Shape (..., days): MDA8 (unrounded; round with :func:`round_gbt8170` to report).
    """
    ed = check_edition(edition)
    first = MDA8_FIRST_END_HOUR[ed] if first_end_hour is None else first_end_hour
    if not 1 <= first <= 24:
        raise InputError("first_end_hour", "must be 1 … 24", first)
    m8 = _days("hourly", eight_hour_means(hourly, min_hours=min_hours))
    win = m8[..., first - 1 :]
    count = (~np.isnan(win)).sum(axis=-1)
    mx = np.fmax.reduce(win, axis=-1)
    valid = count >= min_windows
    if exceed_limit is not None:
        valid |= round_gbt8170(mx, 0) > exceed_limit
    return Stat(
        np.where(valid, mx, np.nan),
        valid,
        count,
        np.where(valid, 0, np.maximum(min_windows - count, 0)),
        f"HJ 663-{'2013' if ed == '2012' else '2026'} §6.1.2: MDA8 over windows ending "
        f"{first:02d}:00-24:00 needs ≥ {min_windows} valid 8-hour means, or exceeds the limit",
    )


def percentile(values: npt.ArrayLike, p: float, *, axis: int = -1) -> FloatArray:
    """The p-th percentile by HJ 663-2013 Annex A, over the valid (non-NaN) values.

    Sort ascending ``X(1) ≤ … ≤ X(n)``; ``k = 1 + (n−1)·p%``; ``s`` = integer part of ``k``;
    ``m_p = X(s) + (X(s+1) − X(s))·(k − s)``. (numpy's ``linear`` method, but exact: ``k − s``
    is taken as the exact fraction and the result is the float nearest the exact rational
    value, so 160 + 5·0.1 is 160.5 and rounds to 160 — :mod:`bishui.exact`.)

    Parameters
    ----------
    values : array_like
        Daily values [µg/m³; CO mg/m³], NaN for invalid days.
    p : float
        Percentile (0-100).
    axis : int
        Axis of the days.

    Returns
    -------
    numpy.ndarray of float64
        NaN where there is no valid value.
    """
    if not 0 <= p <= 100:
        raise InputError("p", "percentile must be within 0 … 100", p)
    a = np.moveaxis(np.asarray(values, dtype=np.float64), axis, -1)
    x = np.sort(a, axis=-1)  # NaN sorts last
    n = (~np.isnan(x)).sum(axis=-1)
    if x.shape[-1] == 0:
        return np.full(n.shape, np.nan)
    # k − s exactly: p% = pn/pd, (n−1)·pn = q·pd + r, so s = 1 + q and k − s = r/pd.
    pq = exact.written(p) / 100
    pn, pd = pq.numerator, pq.denominator
    q, r = np.divmod((np.maximum(n, 1) - 1).astype(np.int64) * pn, pd)
    s = 1 + q
    lo = np.clip(s - 1, 0, x.shape[-1] - 1)
    hi = np.clip(np.minimum(s, n - 1), 0, x.shape[-1] - 1)
    x_lo = np.take_along_axis(x, lo[..., None], axis=-1)[..., 0]
    x_hi = np.take_along_axis(x, hi[..., None], axis=-1)[..., 0]
    rf = r.astype(np.float64)
    u = exact.common_units([x_lo, x_hi])
    if u is not None and pd < 2**20:
        (ul, uh), d = u
        num = ul * (pd - rf) + uh * rf
        den = float(pd) * 10.0**d
        if exact.fits(num, den):
            return np.where(n > 0, num / den, np.nan)
    approx = np.where(n > 0, x_lo + (x_hi - x_lo) * (rf / pd), np.nan)
    xl, xh, rr = x_lo.reshape(-1), x_hi.reshape(-1), r.reshape(-1)

    def ex(idx: npt.NDArray[np.intp]) -> list[Fraction | None]:
        return [
            exact.written(xl[i])
            + (exact.written(xh[i]) - exact.written(xl[i])) * Fraction(int(rr[i]), pd)
            for i in idx
        ]

    return exact.settle(approx, ex)


def period_validity(
    daily_valid: npt.ArrayLike,
    start: DateLike,
    *,
    annual: bool | None = None,
    min_year: int = MIN_DAYS_YEAR,
    min_month: int = MIN_DAYS_MONTH,
    min_february: int = MIN_DAYS_FEBRUARY,
) -> Stat:
    """Validity of a period of daily values (GB 3095 Table 4, annual row).

    Parameters
    ----------
    daily_valid : array_like of bool, shape (..., days)
        Which days have a valid daily value; day 0 is *start*.
    start : date
        First day of the period.
    annual : bool, optional
        Apply the ≥ 324 days a year rule (default: the period is a whole calendar year).
    min_year, min_month, min_february : int
        GB 3095 Table 4: 324 a year; 27 a month, 25 in February.

    Returns
    -------
    Stat
        ``value`` is the number of valid days (as float), ``missing`` the valid days short.

    Notes
    -----
    A month only partly inside the period (a year-to-date period) may miss as many days as a
    whole month may (31 → 4, 30 → 3, February 28 → 3, 29 → 4): interpretation, docs/air.md.
    """
    v = np.asarray(daily_valid, dtype=np.bool_)
    first = np.datetime64(data_day(start), "D")
    ndays = v.shape[-1]
    dates = first + np.arange(ndays)
    months = dates.astype("datetime64[M]")
    starts = np.flatnonzero(np.r_[True, months[1:] != months[:-1]])
    counts = np.add.reduceat(v.astype(np.int64), starts, axis=-1) if ndays else v.sum(-1)[..., None]
    mon = months[starts]
    in_month = (mon + 1).astype("datetime64[D]") - mon.astype("datetime64[D]")
    covered = np.diff(np.r_[starts, ndays])
    is_feb = (mon.astype(np.int64) % 12) == 1
    need_full = np.where(is_feb, min_february, min_month)
    allowed_missing = in_month.astype(np.int64) - need_full
    need = np.maximum(covered - allowed_missing, 0)
    short = np.maximum(need - counts, 0).sum(axis=-1) if ndays else np.zeros(v.shape[:-1], int)
    total = v.sum(axis=-1)
    if annual is None:
        d0 = data_day(start)
        annual = d0.month == 1 and d0.day == 1 and ndays == (366 if _leap(d0.year) else 365)
    if annual:
        short = np.maximum(short, min_year - total)
    short = np.asarray(short, dtype=np.int64)
    return Stat(
        total.astype(np.float64),
        short == 0,
        np.asarray(total, dtype=np.int64),
        short,
        f"GB 3095 Table 4: ≥ {min_month} daily values a month (February ≥ {min_february})"
        + (f", ≥ {min_year} a year" if annual else ""),
    )


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
