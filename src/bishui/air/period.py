"""Entry points for the service: hourly arrays (straight from SQL) in, reports and assessments out.

* :func:`daily_statistics` — hourly ``(stations, hours)`` → daily means, MDA8 and O3 daily
  max 1-hour, each with validity (GB 3095 Table 4; HJ 663 §6.1.2).
* :func:`daily_aqi` — the daily report of every station and day, each day by the edition in
  force on it (HJ 633-2012 before 2026-03-01, HJ 633-2026 from then).
* :func:`assess_hourly` — a whole period: the above, the good-days ratio and the per-pollutant
  assessment (HJ 663 Table 1; GB 3095 Table 1 limits).
* :func:`city_concentration` — the city (or county) value as the mean of its stations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from bishui.air.aqi import STATUS, daily_report
from bishui.air.assessment import Stat, daily_max, daily_mean, mda8
from bishui.air.compliance import GoodDays, PollutantAssessment, assess, good_days_ratio
from bishui.air.editions import SWITCH_2026, DateLike, Edition, check_edition, data_day
from bishui.air.limits import Phase
from bishui.errors import InputError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Hourly input keys (HJ 212 codes in brackets): SO2 (a21026), NO2 (a21004), PM10 (a34002),
#: PM2.5 (a34004), CO (a21005, mg/m³), O3 (a05024).
HOURLY_KEYS = ("SO2", "NO2", "PM10", "PM2.5", "CO", "O3")
HJ212_CODES = {
    "a21026": "SO2", "a21004": "NO2", "a34002": "PM10", "a34004": "PM2.5",
    "a21005": "CO", "a05024": "O3",
}  # fmt: skip


def _keyed(hourly: Mapping[str, npt.ArrayLike]) -> dict[str, npt.ArrayLike]:
    out: dict[str, npt.ArrayLike] = {}
    for k, v in hourly.items():
        key = HJ212_CODES.get(k, k)
        if key not in HOURLY_KEYS:
            raise InputError("pollutant", "must be one of " + ", ".join(HOURLY_KEYS), k)
        out[key] = v
    return out


def daily_statistics(
    hourly: Mapping[str, npt.ArrayLike],
    start: DateLike,
    *,
    mda8_limit: float | None = 160.0,
) -> dict[str, Stat]:
    """Daily statistics of every station and day from hourly arrays.

    Parameters
    ----------
    hourly : mapping pollutant → array_like, shape (..., 24·days)
        Keys :data:`HOURLY_KEYS` or their HJ 212 codes; layout of
        :mod:`bishui.air.assessment` (column 0 = hour 00-01 of *start*) [µg/m³; CO mg/m³].
    start : date
        First day.
    mda8_limit : float or None
        The limit of the HJ 663 §6.1.2 MDA8 exception (see :func:`bishui.air.assessment.mda8`).

    Returns
    -------
    dict of Stat
        ``SO2_24h … PM2.5_24h, CO_24h`` daily means, ``O3_8h`` MDA8 and ``O3_1h`` daily max
        1-hour, each shaped (..., days).
    """
    h = _keyed(hourly)
    ed: Edition = "2026" if data_day(start) >= SWITCH_2026 else "2012"
    out: dict[str, Stat] = {}
    for k, v in h.items():
        if k == "O3":
            out["O3_8h"] = mda8(v, ed, exceed_limit=mda8_limit)
            out["O3_1h"] = daily_max(v)
        else:
            out[f"{k}_24h"] = daily_mean(v)
    return out


@dataclass(frozen=True)
class DailyAQI:
    """Daily AQI of many stations and days (shape (..., days)); editions per day."""

    aqi: FloatArray
    published: BoolArray
    level: npt.NDArray[np.int8]
    status: npt.NDArray[np.int8]
    edition: npt.NDArray[np.str_]
    iaqi: dict[str, FloatArray]


def daily_aqi(
    daily: Mapping[str, Stat | npt.ArrayLike], start: DateLike, **kwargs: object
) -> DailyAQI:
    """Daily reports for an array of days, each day judged by the edition in force on it.

    Parameters
    ----------
    daily : mapping indicator → Stat or array_like, shape (..., days)
        As returned by :func:`daily_statistics` (invalid days are NaN).
    start : date
        Day 0.
    **kwargs
        Passed to :func:`bishui.air.aqi.daily_report` (``not_monitored``, ``missing_rule`` …).

    Returns
    -------
    DailyAQI
    """
    conc = {k: (v.value if isinstance(v, Stat) else np.asarray(v, float)) for k, v in daily.items()}
    ndays = next(iter(conc.values())).shape[-1]
    days = np.datetime64(data_day(start), "D") + np.arange(ndays)
    new = days >= np.datetime64(SWITCH_2026, "D")
    parts = {}
    for ed in ("2012", "2026"):
        use = new if ed == "2026" else ~new
        if not use.any():
            continue
        sub = {k: v for k, v in conc.items() if not (ed == "2026" and k == "O3_1h")}
        parts[ed] = daily_report(sub, ed, **kwargs)  # type: ignore[arg-type]
    if len(parts) == 1:
        ((ed, b),) = parts.items()
        shape = b.aqi.shape
        return DailyAQI(b.aqi, b.published, b.level, b.status, np.full(shape, ed), b.iaqi)
    a, b = parts["2012"], parts["2026"]
    iaqis = {k: np.where(new, b.iaqi.get(k, np.nan), a.iaqi.get(k, np.nan)) for k in a.iaqi}
    return DailyAQI(
        np.where(new, b.aqi, a.aqi),
        np.where(new, b.published, a.published),
        np.where(new, b.level, a.level),
        np.where(new, b.status, a.status),
        np.broadcast_to(np.where(new, "2026", "2012"), a.aqi.shape).copy(),
        iaqis,
    )


@dataclass(frozen=True)
class PeriodAssessment:
    """Everything a period assessment publishes, for many stations at once."""

    start: dt.date
    days: int
    daily: dict[str, Stat]
    aqi: DailyAQI
    good_days: GoodDays
    pollutants: dict[str, PollutantAssessment]


def assess_hourly(
    hourly: Mapping[str, npt.ArrayLike],
    start: DateLike,
    *,
    edition: Edition | Literal[2012, 2026] | None = None,
    phase: Phase | None = None,
    grade: int = 2,
    annual: bool | None = None,
    mda8_limit: float | None = 160.0,
) -> PeriodAssessment:
    """Assess a period from hourly arrays (stations × hours), e.g. one year of 100 stations.

    Parameters
    ----------
    hourly : mapping pollutant → array_like, shape (..., 24·days)
        See :func:`daily_statistics`.
    start : date
        First day of the period.
    edition, phase, grade, annual
        See :func:`bishui.air.assessment.assess`.
    mda8_limit : float or None
        See :func:`daily_statistics`.

    Returns
    -------
    PeriodAssessment
        Daily statistics, daily AQI (per-day edition), good-days ratio over the days whose
        indicators are all valid or whose AQI exceeds 100, and the per-pollutant assessment.
    """
    stats = daily_statistics(hourly, start, mda8_limit=mda8_limit)
    day_aqi = daily_aqi(stats, start)
    # A day counts when all its indicators are valid, or when the AQI of those present is
    # already above 100 (it cannot be a good day): the same rule in both editions.
    counted = (day_aqi.status == STATUS.index("complete")) | (day_aqi.aqi > 100)
    good = good_days_ratio(day_aqi.aqi, counted)
    daily = {k.split("_")[0]: s.value for k, s in stats.items() if k != "O3_1h"}
    pol = assess(
        daily,
        start,
        edition=check_edition(edition) if edition is not None else None,
        phase=phase,
        grade=grade,
        annual=annual,
    )
    ndays = next(iter(stats.values())).value.shape[-1]
    return PeriodAssessment(data_day(start), ndays, stats, day_aqi, good, pol)


def city_concentration(
    values: npt.ArrayLike, *, axis: int = 0, min_stations: int = 1
) -> FloatArray:
    """City (or county) concentration: arithmetic mean of its stations' valid values (HJ 663).

    Parameters
    ----------
    values : array_like
        Station values [µg/m³; CO mg/m³], NaN where invalid.
    axis : int
        The station axis.
    min_stations : int
        Valid stations needed, else NaN. HJ 663's own minimum could not be checked (notes A5);
        default 1 — set it to the rule the bureau applies.

    Returns
    -------
    numpy.ndarray of float64
    """
    a = np.asarray(values, dtype=np.float64)
    ok = ~np.isnan(a)
    n = ok.sum(axis=axis)
    s = np.where(ok, a, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= max(min_stations, 1), s / n, np.nan)
