"""All checks for one pollutant over a block of minute data: the pipeline the service runs.

::

    minute C, O2, flow ──HOUR──▶ hourly means (valid = N, ≥ 45 min) ──O2REF──▶ converted
         │                                  │                                   │
         │                                  ├──MASS──▶ hourly/daily mass [t]    ├──EXC (hour)
         │                                  └─────────▶ DILUTE                  ├──DAY──▶ EXC (day)
         ├──▶ FLAT, ZFLOW, ZCONC, CALSHARE, GAPX, RANGE, TWIN signatures        └──STUCK
         └──▶ discharging days ──NOPERMIT

The block is ``(outlets, minutes)`` from 00:00 of ``start`` over whole days; the service cuts
a year into blocks by outlets (memory) and pools twin signatures and daily masses across
blocks (:func:`bishui.sources.fraud.check_twins`, :func:`bishui.sources.quantity.check_caps`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bishui.errors import InputError
from bishui.sources import averaging, conversion, exceedance, fraud, nopermit, pollutants, quantity
from bishui.sources.findings import Finding, OutletRef
from bishui.sources.limits import limit_grid
from bishui.sources.permits import Permit
from bishui.sources.rules import RuleSet

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class BlockResult:
    """Findings of a block and the intermediate arrays the caller pools or stores.

    ``hourly`` [check unit] and ``hourly_converted`` (to the reference O2 where one applies)
    are ``(outlets, hours)``; ``daily_mass_t`` [t] and ``missing_mass_hours`` are
    ``(outlets, days)``; ``twin_signatures`` is ``(outlets, days)``.
    """

    findings: list[Finding]
    hourly: averaging.Hourly
    hourly_converted: NDArray[np.float64]
    daily_mass_t: NDArray[np.float64] | None
    missing_mass_hours: NDArray[np.int16] | None
    twin_signatures: NDArray[np.uint64]


def check_block(
    ruleset: RuleSet,
    permits: Sequence[Permit],
    outlets: Sequence[OutletRef],
    pollutant: str,
    start: dt.datetime,
    conc: NDArray[np.float64],
    conc_flags: NDArray[np.uint8],
    *,
    o2: NDArray[np.float64] | None = None,
    o2_flags: NDArray[np.uint8] | None = None,
    flow: NDArray[np.float64] | None = None,
    flow_flags: NDArray[np.uint8] | None = None,
    range_low: ArrayLike = np.nan,
    range_high: ArrayLike = np.nan,
    twins: bool = True,
) -> BlockResult:
    """Run every rule on one pollutant's minute data.

    Parameters
    ----------
    conc, conc_flags : ndarray, shape (O, days·1440)
        Measured minute concentration [mg/m³ dry standard state, or mg/L] and HJ 212 flags.
    o2, o2_flags : ndarray, shape (O, M), optional
        Minute O2 [% dry]; needed wherever a limit has a reference O2 (otherwise those hours
        cannot be converted and are not judged).
    flow, flow_flags : ndarray, shape (O, M), optional
        Minute flow [m³/h, dry standard state for flue gas]; needed for mass and the flow rules.
    range_low, range_high : array_like
        Instrument range, broadcastable to (O, M).
    twins : bool
        Also group twin signatures within this block (set False when pooling across blocks).
    """
    if start.time() != dt.time():
        raise InputError("start", "a block starts at 00:00", start.isoformat())
    if conc.ndim != 2 or conc.shape[1] % 1440 or conc.shape[0] != len(outlets):
        raise InputError("conc", f"({len(outlets)} outlets, whole days of minutes)", conc.shape)
    medium = pollutants.get(pollutant).medium
    hour_rule, day_rule = ruleset["HOUR"], ruleset["DAY"]
    valid_flags = tuple(hour_rule["valid_flags"])
    water = medium == "water"
    min_minutes = hour_rule["min_valid_minutes_water" if water else "min_valid_minutes"]
    strict = water and bool(hour_rule["water_any_abnormal_invalidates"])
    m = conc.shape[1]
    hours, days = m // 60, m // 1440

    hc = averaging.hourly(conc, conc_flags, min_minutes, valid_flags, strict)
    ho2 = hq = None
    if o2 is not None and o2_flags is not None:
        ho2 = averaging.hourly(o2, o2_flags, min_minutes, valid_flags).mean
    if flow is not None and flow_flags is not None:
        hq = averaging.hourly(flow, flow_flags, min_minutes, valid_flags, strict).mean

    grid_h = limit_grid(permits, outlets, pollutant, start, hours, HOUR, averaging="hour")
    grid_d = limit_grid(permits, outlets, pollutant, start, days, DAY, averaging="day")
    # Reference O2 of whichever limit applies to the hour (hourly or daily averaging).
    ref_h = np.where(np.isnan(grid_h.ref_o2), np.repeat(grid_d.ref_o2, 24, axis=1), grid_h.ref_o2)
    o2_air = ruleset["O2REF"]["o2_air"]
    if ho2 is None:
        conv = np.where(np.isnan(ref_h), hc.mean, np.nan)
    else:
        conv = conversion.reference_o2(hc.mean, ho2, ref_h, o2_air)

    findings: list[Finding] = []
    min_h = day_rule["min_valid_hours_air" if medium == "air" else "min_valid_hours_water"]
    weights = hq if (medium == "water" and day_rule["water_flow_weighted"]) else None
    findings += exceedance.judge(outlets, pollutant, start, conv, grid_h, grid_d, ruleset,
                                 min_h, weights)  # fmt: skip

    daily_t = missing = None
    if hq is not None:
        daily_t, missing = quantity.daily_mass(hc.mean, hq, medium)

    discharging = nopermit.discharging_days(
        conc, conc_flags, flow, ruleset["NOPERMIT"]["min_discharge_minutes"]
    )
    findings += nopermit.check(permits, outlets, pollutant, start.date(), discharging, ruleset)

    upper_h = np.where(np.isnan(grid_h.upper), np.repeat(grid_d.upper, 24, axis=1), grid_h.upper)
    upper_min = np.repeat(upper_h, 60, axis=1)
    conc_for_limit = None
    if o2 is not None:
        ref_min = np.repeat(ref_h, 60, axis=1)
        conc_for_limit = conversion.reference_o2(conc, o2, ref_min, o2_air, exact=False)
    findings += fraud.check_minutes(
        ruleset, outlets, pollutant, start, conc, conc_flags, upper_min,
        flow=flow, flow_flags=flow_flags, conc_for_limit=conc_for_limit,
        range_low=range_low, range_high=range_high,
    )  # fmt: skip
    findings += fraud.check_hours(ruleset, outlets, pollutant, start, conv, upper_h,
                                  hc.mean if medium == "air" else None, ho2)  # fmt: skip
    sig = fraud.twin_signatures(conc, conc_flags, ruleset["TWIN"])
    if twins:
        findings += fraud.check_twins(ruleset, outlets, pollutant, start, sig)
    return BlockResult(findings, hc, conv, daily_t, missing, sig)


def site_daily_mass(
    outlets: Sequence[OutletRef], daily_t: NDArray[np.float64]
) -> dict[str, NDArray[np.float64]]:
    """Sum ``(outlets, days)`` masses [t] by site code (a permit's caps cover the site)."""
    sites = sorted({o.site_code for o in outlets})
    index = np.array([sites.index(o.site_code) for o in outlets])
    out = np.zeros((len(sites), daily_t.shape[1]))
    np.add.at(out, index, np.nan_to_num(daily_t))
    return {s: out[i] for i, s in enumerate(sites)}
