"""Concentration exceedance (超标) by the permit's averaging period.

A valid average **above** the permitted concentration is an exceedance; a value exactly at the
limit is not (排污许可证申请与核发技术规范 §12.2: compliance is
"任一小时浓度均值均满足许可排放浓度要求"; 条例 Art. 34).
Where the limit is a range (pH 6–9) a value below the lower bound is one too.
Consecutive exceeding periods merge into one event (rule EXC, ``merge_gap``).

The comparison is GB/T 8170-2008 §4.3 全数值比较法 (:data:`bishui.exact.CHECKS`
``"sources.exceedance"``): the exact mean — hourly, daily flow-weighted, converted to the
reference O2, each the float nearest its exact value — against the permitted value.

pH is never averaged away (:func:`judge`): a pH range is judged on every valid hour, whatever
the permit's averaging period. A daily arithmetic mean of pH has no chemical meaning (hours
at 3 and 11 average to a neutral 7), and no standard found prescribes a daily pH mean for
discharges (the H⁺ mean of 环办监测函〔2020〕82号 is for surface-water assessment).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bishui import exact as ex
from bishui.sources import averaging
from bishui.sources import findings as fd
from bishui.sources import flags as fl
from bishui.sources.findings import Finding, OutletRef
from bishui.sources.limits import LimitGrid
from bishui.sources.rules import RuleSet


@dataclass(frozen=True)
class Events:
    """Exceedance events: ``row``, periods ``start..stop-1``, ``peak`` value and its period,
    mean over the exceeding periods, and the number of exceeding periods."""

    row: NDArray[np.intp]
    start: NDArray[np.intp]
    stop: NDArray[np.intp]
    peak: NDArray[np.float64]
    mean: NDArray[np.float64]
    n_exceeding: NDArray[np.intp]


def exceeding(
    values: NDArray[np.float64],
    upper: NDArray[np.float64],
    lower: NDArray[np.float64] | None = None,
) -> NDArray[np.bool_]:
    """True where a valid value is strictly above *upper* (or strictly below *lower*).

    NaN values (invalid periods) and NaN limits (nothing permitted to judge against) are never
    exceedances. Arrays broadcast.
    """
    v = np.asarray(values, dtype=np.float64)
    out = ex.exceeds(v, upper, ex.CHECKS["sources.exceedance"], lower=lower)
    return np.asarray(out & ~np.isnan(v), dtype=np.bool_)


def events(
    values: NDArray[np.float64],
    upper: NDArray[np.float64],
    lower: NDArray[np.float64] | None = None,
    merge_gap: int = 0,
) -> Events:
    """Exceedance events over ``(outlets, periods)`` values, vectorised.

    Parameters
    ----------
    values : ndarray, shape (outlets, periods)
        Valid averages [check unit], NaN where invalid.
    upper, lower : ndarray, broadcastable to values
        Limits [check unit]; NaN where none.
    merge_gap : int
        Runs separated by at most this many periods merge.
    """
    v = np.asarray(values, dtype=np.float64)
    mask = exceeding(v, upper, lower)
    row, start, stop = fl.merge_runs(*fl.runs(mask), merge_gap)
    peak = fl.run_reduce(np.maximum, np.where(mask, v, -np.inf), row, start, stop)
    total = fl.run_reduce(np.add, np.where(mask, v, 0.0), row, start, stop)
    count = fl.run_reduce(np.add, mask.astype(np.float64), row, start, stop).astype(np.intp)
    if lower is not None and len(row):
        # Below a lower bound (pH) the worst value is the smallest one.
        up = np.broadcast_to(np.asarray(upper, dtype=np.float64), v.shape)[row, start]
        mins = fl.run_reduce(np.minimum, np.where(mask, v, np.inf), row, start, stop)
        with np.errstate(invalid="ignore"):
            peak = np.where(peak > up, peak, mins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    return Events(row, start, stop, peak, mean, count)


def check(
    outlets: Sequence[OutletRef],
    pollutant: str,
    start: dt.datetime,
    step: dt.timedelta,
    values: NDArray[np.float64],
    grid: LimitGrid,
    ruleset: RuleSet,
) -> list[Finding]:
    """Findings (rule EXC) for exceedances of *grid*'s limits by *values*.

    Parameters
    ----------
    outlets : sequence of OutletRef, length O
    pollutant : str
        HJ 212 code.
    start : datetime
        Start of period 0 (naive Beijing time).
    step : timedelta
        Period length (1 h or 1 day).
    values : ndarray, shape (O, P)
        Valid averages [mg/m³ converted to the reference O2, or mg/L], NaN where invalid.
    grid : LimitGrid
        Limits on the same grid (:func:`bishui.sources.limits.limit_grid`).

    Returns
    -------
    list of Finding
        One per event, ``measured`` holding ``peak``, ``mean``, ``limit``, ``multiple``
        (超标倍数 at the peak, ``(peak − limit)/limit``), ``ratio`` (peak/limit), ``periods``
        (exceeding periods) and ``duration_h`` (span length).
    """
    rule = ruleset["EXC"]
    ev = events(values, grid.upper, grid.lower, rule["merge_gap"])
    out: list[Finding] = []
    hours = step.total_seconds() / 3600
    for i in range(len(ev.row)):
        r, s, e = int(ev.row[i]), int(ev.start[i]), int(ev.stop[i])
        limit = float(grid.upper[r, s])
        peak = float(ev.peak[i])
        above = peak > limit
        permit = grid.permit_at(r, s)
        measured = {
            "peak": peak,
            "mean": float(ev.mean[i]),
            "limit": limit,
            "lower_limit": None if np.isnan(grid.lower[r, s]) else float(grid.lower[r, s]),
            # exact, then the nearest float (bishui.exact): 45 against 30 is 0.5, not 0.49…
            "multiple": float((ex.written(peak) - ex.written(limit)) / ex.written(limit))
            if above
            else None,
            "ratio": float(ex.written(peak) / ex.written(limit)) if above else None,
            "periods": int(ev.n_exceeding[i]),
            "duration_h": (e - s) * hours,
            "reference_o2": None if np.isnan(grid.ref_o2[r, s]) else float(grid.ref_o2[r, s]),
            "averaging": "hour" if hours == 1 else "day" if hours == 24 else f"{hours}h",
        }
        out.append(
            fd.make(
                rule, ruleset.version, outlets[r], pollutant,
                start + step * s, start + step * e, measured,
                fd.evidence_points(start, step, values[r], None, s, e, pollutant,
                                   rule["evidence_max_points"]),
                permit_no=permit.permit_no if permit else "",
                permit_version=permit.version if permit else 0,
            )
        )  # fmt: skip
    return out


#: HJ 212 code of pH (judged hour by hour, see the module docstring).
PH = "w01001"


def hourly_grid_for_ph(grid_h: LimitGrid, grid_d: LimitGrid) -> LimitGrid:
    """The hourly grid with the daily limits filled into hours that have no hourly limit."""
    per = grid_h.upper.shape[1] // max(grid_d.upper.shape[1], 1)

    def fill(h: NDArray[np.float64], d: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.where(np.isnan(h), np.repeat(d, per, axis=1), h)

    off = len(grid_h.versions)
    dv = np.repeat(grid_d.version, per, axis=1)
    version = np.where(grid_h.version >= 0, grid_h.version, np.where(dv >= 0, dv + off, -1))
    return LimitGrid(
        fill(grid_h.upper, grid_d.upper),
        fill(grid_h.lower, grid_d.lower),
        fill(grid_h.ref_o2, grid_d.ref_o2),
        version.astype(np.int32),
        (*grid_h.versions, *grid_d.versions),
    )


def judge(
    outlets: Sequence[OutletRef],
    pollutant: str,
    start: dt.datetime,
    hourly: NDArray[np.float64],
    grid_h: LimitGrid,
    grid_d: LimitGrid,
    ruleset: RuleSet,
    min_valid_hours: int,
    weights: NDArray[np.float64] | None,
) -> list[Finding]:
    """EXC findings of hourly values against the hourly limits and of daily means against the
    daily ones; pH (:data:`PH`) judged on every valid hour against whichever limit applies.

    Parameters
    ----------
    hourly : ndarray, shape (O, hours)
        Valid hourly means [check unit], converted to the reference O2 where one applies.
    weights : ndarray, optional
        Hourly flow [m³/h] for a flow-weighted daily mean (wastewater).
    """
    hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
    if pollutant == PH:
        grid = hourly_grid_for_ph(grid_h, grid_d)
        return check(outlets, pollutant, start, hour, hourly, grid, ruleset)
    out = check(outlets, pollutant, start, hour, hourly, grid_h, ruleset)
    if not np.isnan(grid_d.upper).all():
        dmean, _ = averaging.daily(hourly, min_valid_hours, weights)
        out += check(outlets, pollutant, start, day, dmean, grid_d, ruleset)
    return out
