"""Ambient air: HJ 633 AQI, HJ 663 / GB 3095 assessment, the composite index and ranking.

Pure core, one module per standard (each cites its clauses; tables in ``data/``):

* :mod:`bishui.air.editions` — which edition applies to data of a date (switch 2026-03-01).
* :mod:`bishui.air.rounding` — GB/T 8170 half-even rounding, exact on the written decimal.
* :mod:`bishui.air.iaqi` — HJ 633 IAQI, exact and vectorised.
* :mod:`bishui.air.aqi` — HJ 633 AQI, primary pollutant, level, category, reports, NA rule.
* :mod:`bishui.air.limits` — GB 3095 Table 1 limits of both editions, 2026 phases.
* :mod:`bishui.air.assessment` — HJ 663 / GB 3095 Table 4: validity, daily means, MDA8,
  percentiles, period validity.
* :mod:`bishui.air.compliance` — period statistics against the limits, exceedances,
  compliance, good-days ratio.
* :mod:`bishui.air.ranking` — composite index (综合指数) and rankings.
* :mod:`bishui.air.period` — entry points for the service (hourly arrays in, reports out).

The functions ``iaqi`` and ``aqi`` shadow their modules' names on this package on purpose:
``bishui.air.iaqi(...)`` is the function; import the modules with ``import bishui.air.iaqi``
only through ``sys.modules`` or by their full ``from bishui.air.iaqi import …`` path.
"""

from bishui.air.aqi import AQIBatch, AQIReport, aqi, aqi_report, daily_report, realtime_report
from bishui.air.assessment import (
    daily_max,
    daily_mean,
    eight_hour_means,
    hourly_valid,
    mda8,
    percentile,
    period_validity,
    sliding_24h_means,
)
from bishui.air.compliance import assess, exceedance_multiple, good_days_ratio
from bishui.air.editions import edition_for, editions_for
from bishui.air.iaqi import POLLUTANTS, IAQIResult, iaqi
from bishui.air.limits import limit, limit_set
from bishui.air.period import assess_hourly, city_concentration, daily_aqi, daily_statistics
from bishui.air.ranking import change_rate, composite_index, rank
from bishui.air.rounding import round_gbt8170

__all__ = [
    "POLLUTANTS",
    "AQIBatch",
    "AQIReport",
    "IAQIResult",
    "aqi",
    "aqi_report",
    "assess",
    "assess_hourly",
    "change_rate",
    "city_concentration",
    "composite_index",
    "daily_aqi",
    "daily_max",
    "daily_mean",
    "daily_report",
    "daily_statistics",
    "edition_for",
    "editions_for",
    "eight_hour_means",
    "exceedance_multiple",
    "good_days_ratio",
    "hourly_valid",
    "iaqi",
    "limit",
    "limit_set",
    "mda8",
    "percentile",
    "period_validity",
    "rank",
    "realtime_report",
    "round_gbt8170",
    "sliding_24h_means",
]
