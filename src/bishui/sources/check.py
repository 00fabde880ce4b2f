"""All checks for one pollutant over a block of data: the one pipeline the service runs.

:func:`check_block` takes the block's *resolution*: ``"minute"`` (HJ 212 CN 2051) or
``"hour"`` (the loggers' hourly values, CN 2061). Everything from the hourly values on is
written once — the limit grids, O2REF, EXC hour and day, DAY, MASS, NOPERMIT, STUCK, DILUTE and
the minute-level signatures — and only the first step and the signatures' durations depend on
the resolution::

    minute C, O2, flow ──HOUR──▶ hourly means (valid = N, ≥ 45 min) ──O2REF──▶ converted
         │                                  │                                   │
         │                                  ├──MASS──▶ hourly/daily mass [t]    ├──EXC (hour)
         │                                  └─────────▶ DILUTE                  ├──DAY──▶ EXC (day)
         ├──▶ FLAT, ZFLOW, ZCONC, CALSHARE, GAPX, RANGE, TWIN signatures        └──STUCK
         └──▶ discharging days ──NOPERMIT

**Minutes.** The hourly means are formed here (rule HOUR, ≥ 45 valid minutes).

**Hours.** Many stores hold only the loggers' hourly values — the model city's history among
them. Those values already *are* the hourly means the standard defines, so the pipeline starts
one step later and never invents minutes: an hour is valid when its value is present and its
HJ 212 flag is one of the rule's ``valid_flags`` (the logger applied the 45-minute rule when it
formed it). The minute-level signatures run on the hourly grid with their durations converted
to whole hours (at least the minute rule's span) and the variant marked in the finding (rule
version ``…+hourly``; its ``params`` say ``resolution = "hour"`` and give the hour counts
actually used; :func:`hourly_ruleset`):

========  ===============================================================================
FLAT      ``min_minutes`` → ``flat_min_hours`` (default 6): a logger's hourly mean repeats by
          chance far more often than a minute value, so the span is longer than 60 min
ZFLOW     ``min_minutes`` 60 → 1 hour
ZCONC     ``min_minutes`` 60 → 1 hour
CALSHARE  share of the day's *hours* flagged C/M above ``max_share``
GAPX      ``min_gap_minutes`` 30 → 1 hour; ``lookback_minutes`` 15 → 2 hours (a rise needs two
          values)
RANGE     per hour (flag T, or a value outside the instrument's range)
TWIN      the same signature built from the 24 hourly values (``min_valid_minutes`` 720 → 12
          valid hours)
NOPERMIT  a day with ≥ ceil(``min_discharge_minutes``/60) valid hours of flow or emission
========  ===============================================================================

The block is ``(outlets, periods)`` from 00:00 of ``start`` over whole days; the service cuts
a period into blocks by outlets (memory) and pools twin signatures and daily masses across
blocks (:func:`bishui.sources.fraud.check_twins`, :func:`bishui.sources.quantity.check_caps`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bishui.errors import InputError
from bishui.sources import averaging, conversion, exceedance, fraud, nopermit, pollutants, quantity
from bishui.sources import flags as fl
from bishui.sources.findings import Finding, OutletRef
from bishui.sources.limits import limit_grid
from bishui.sources.permits import Permit
from bishui.sources.rules import Rule, RuleSet

MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
#: The resolutions a block may have: minute data (CN 2051) or the loggers' hourly values
#: (CN 2061).
Resolution = Literal["minute", "hour"]
STEPS: dict[str, dt.timedelta] = {"minute": MINUTE, "hour": HOUR}
#: Least run of identical valid hourly values for FLAT on hourly data [h] (platform default,
#: unverified like FLAT itself; the model city's flat-lined analysers stick for 8–36 h).
FLAT_MIN_HOURS = 6


def hourly_rule(rule: Rule, **hours: Any) -> Rule:
    """The hourly variant of a minute rule: version ``+hourly``, params naming the hours."""
    params = dict(rule.params) | {"resolution": "hour"} | hours
    return dataclasses.replace(
        rule, params=MappingProxyType(params), version=rule.version.split("+")[0] + "+hourly"
    )


def hourly_ruleset(ruleset: RuleSet, flat_min_hours: int = FLAT_MIN_HOURS) -> RuleSet:
    """*ruleset* with the minute-level rules converted to hours (see the module table)."""
    r = ruleset
    h = lambda m: max(1, math.ceil(r[m[0]][m[1]] / 60))  # noqa: E731
    changed = {
        "FLAT": hourly_rule(r["FLAT"], min_minutes=flat_min_hours),
        "ZFLOW": hourly_rule(r["ZFLOW"], min_minutes=h(("ZFLOW", "min_minutes"))),
        "ZCONC": hourly_rule(r["ZCONC"], min_minutes=h(("ZCONC", "min_minutes"))),
        "CALSHARE": hourly_rule(r["CALSHARE"]),
        "GAPX": hourly_rule(
            r["GAPX"],
            min_gap_minutes=h(("GAPX", "min_gap_minutes")),
            lookback_minutes=max(2, h(("GAPX", "lookback_minutes"))),
        ),
        "RANGE": hourly_rule(r["RANGE"], min_minutes=h(("RANGE", "min_minutes"))),
        "TWIN": hourly_rule(
            r["TWIN"], min_valid_minutes=math.ceil(r["TWIN"]["min_valid_minutes"] / 60)
        ),
        "NOPERMIT": hourly_rule(
            r["NOPERMIT"], min_discharge_minutes=h(("NOPERMIT", "min_discharge_minutes"))
        ),
    }
    return dataclasses.replace(r, rules=MappingProxyType(dict(r.rules) | changed))


def valid_hours(values: NDArray[np.float64], flags: NDArray[np.uint8],
                valid_flags: Sequence[str]) -> NDArray[np.float64]:  # fmt: skip
    """Hourly values with every hour not valid (absent, or flagged other than *valid_flags*)
    set to NaN."""
    ok = averaging.valid_minutes(values, flags, tuple(valid_flags))
    return np.where(ok, values, np.nan)


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
    resolution: Resolution = "minute",
    o2: NDArray[np.float64] | None = None,
    o2_flags: NDArray[np.uint8] | None = None,
    flow: NDArray[np.float64] | None = None,
    flow_flags: NDArray[np.uint8] | None = None,
    range_low: ArrayLike = np.nan,
    range_high: ArrayLike = np.nan,
    twins: bool = True,
    flat_min_hours: int = FLAT_MIN_HOURS,
) -> BlockResult:
    """Run every rule on one pollutant's minute or hourly data.

    Parameters
    ----------
    conc, conc_flags : ndarray, shape (O, P)
        Measured concentration [mg/m³ dry standard state, or mg/L] and HJ 212 flags (uint8
        codes), P = days·1440 minutes or days·24 hours; NaN and
        :data:`~bishui.sources.flags.MISSING` for a period without a record; the first column
        is 00:00 of *start*.
    resolution : ``"minute"`` or ``"hour"``
        What one column is: a minute value, or the logger's hourly value (see the module).
    o2, o2_flags : ndarray, shape (O, P), optional
        O2 [% dry]; needed wherever a limit has a reference O2 (otherwise those hours cannot be
        converted and are not judged).
    flow, flow_flags : ndarray, shape (O, P), optional
        Flow [m³/h, dry standard state for flue gas]; needed for mass and the flow rules.
    range_low, range_high : array_like
        Instrument range, broadcastable to (O, P).
    twins : bool
        Also group twin signatures within this block (set False when pooling across blocks).
    flat_min_hours : int
        FLAT's least run on hourly data [h] (unused on minutes).

    Returns
    -------
    BlockResult
        ``twin_signatures`` are of the block's resolution (comparable only with others of it).
    """
    if resolution not in STEPS:
        raise InputError("resolution", "'minute' or 'hour'", resolution)
    step = STEPS[resolution]
    per_day = int(DAY / step)
    if start.time() != dt.time():
        raise InputError("start", "a block starts at 00:00", start.isoformat())
    if conc.ndim != 2 or conc.shape[1] % per_day or conc.shape[0] != len(outlets):
        what = "minutes" if resolution == "minute" else "hours"
        raise InputError("conc", f"({len(outlets)} outlets, whole days of {what})", conc.shape)
    rs = ruleset if resolution == "minute" else hourly_ruleset(ruleset, flat_min_hours)
    medium = pollutants.get(pollutant).medium
    days = conc.shape[1] // per_day
    hours = days * 24

    # The one step that differs: the hourly values and their validity.
    if resolution == "minute":
        hourly, ho2, hq = _minute_means(rs, medium, conc, conc_flags, o2, o2_flags, flow,
                                        flow_flags)  # fmt: skip
    else:
        hourly, ho2, hq = _logger_hours(rs, conc, conc_flags, o2, o2_flags, flow, flow_flags)
    hc = hourly.mean

    grid_h = limit_grid(permits, outlets, pollutant, start, hours, HOUR, averaging="hour")
    grid_d = limit_grid(permits, outlets, pollutant, start, days, DAY, averaging="day")
    # Reference O2 of whichever limit applies to the hour (hourly or daily averaging).
    ref_h = np.where(np.isnan(grid_h.ref_o2), np.repeat(grid_d.ref_o2, 24, axis=1), grid_h.ref_o2)
    o2_air = rs["O2REF"]["o2_air"]
    if ho2 is None:
        conv = np.where(np.isnan(ref_h), hc, np.nan)
    else:
        conv = conversion.reference_o2(hc, ho2, ref_h, o2_air)

    findings: list[Finding] = []
    day_rule = rs["DAY"]
    min_h = day_rule["min_valid_hours_air" if medium == "air" else "min_valid_hours_water"]
    weights = hq if (medium == "water" and day_rule["water_flow_weighted"]) else None
    findings += exceedance.judge(outlets, pollutant, start, conv, grid_h, grid_d, rs, min_h,
                                 weights)  # fmt: skip

    daily_t = missing = None
    if hq is not None:
        daily_t, missing = quantity.daily_mass(hc, hq, medium)

    min_discharge = int(rs["NOPERMIT"]["min_discharge_minutes"])
    if resolution == "minute":
        discharging = nopermit.discharging_days(conc, conc_flags, flow, min_discharge)
    else:
        # Valid hours only (flow too): an hourly value stands for a whole hour.
        with np.errstate(invalid="ignore"):
            active = ~np.isnan(hc) & (hc > 0)
            if hq is not None:
                active |= hq > 0
        discharging = active.reshape(len(outlets), days, 24).sum(axis=2) >= min_discharge
    findings += nopermit.check(permits, outlets, pollutant, start.date(), discharging, rs)

    upper_h = np.where(np.isnan(grid_h.upper), np.repeat(grid_d.upper, 24, axis=1), grid_h.upper)
    per_hour = per_day // 24
    upper = np.repeat(upper_h, per_hour, axis=1) if per_hour > 1 else upper_h
    # GAPX judges the approach on the limit's scale: converted where a reference O2 applies.
    if resolution == "minute":
        scaled = None
        if o2 is not None:
            ref_min = np.repeat(ref_h, 60, axis=1)
            scaled = conversion.reference_o2(conc, o2, ref_min, o2_air, exact=False)
    else:
        # Measured hourly values where no conversion applies (conv is NaN only there, or
        # where the hour is invalid anyway).
        scaled = np.where(np.isnan(conv) & ~np.isnan(conc), conc, conv)
    findings += fraud.check_signatures(
        rs, outlets, pollutant, start, conc, conc_flags, upper, step=step,
        flow=flow, flow_flags=flow_flags, conc_for_limit=scaled,
        range_low=range_low, range_high=range_high,
    )  # fmt: skip
    findings += fraud.check_hours(rs, outlets, pollutant, start, conv, upper_h,
                                  hc if medium == "air" else None, ho2)  # fmt: skip
    sig = fraud.twin_signatures(conc, conc_flags, rs["TWIN"], per_day)
    if twins:
        findings += fraud.check_twins(rs, outlets, pollutant, start, sig)
    return BlockResult(findings, hourly, conv, daily_t, missing, sig)


def _minute_means(
    rs: RuleSet, medium: str, conc: NDArray[np.float64], conc_flags: NDArray[np.uint8],
    o2: NDArray[np.float64] | None, o2_flags: NDArray[np.uint8] | None,
    flow: NDArray[np.float64] | None, flow_flags: NDArray[np.uint8] | None,
) -> tuple[averaging.Hourly, NDArray[np.float64] | None, NDArray[np.float64] | None]:  # fmt: skip
    """Rule HOUR on minutes: the hourly means of concentration, O2 and flow."""
    hour_rule = rs["HOUR"]
    valid_flags = tuple(hour_rule["valid_flags"])
    water = medium == "water"
    min_minutes = hour_rule["min_valid_minutes_water" if water else "min_valid_minutes"]
    strict = water and bool(hour_rule["water_any_abnormal_invalidates"])
    hc = averaging.hourly(conc, conc_flags, min_minutes, valid_flags, strict)
    ho2 = hq = None
    if o2 is not None and o2_flags is not None:
        ho2 = averaging.hourly(o2, o2_flags, min_minutes, valid_flags).mean
    if flow is not None and flow_flags is not None:
        hq = averaging.hourly(flow, flow_flags, min_minutes, valid_flags, strict).mean
    return hc, ho2, hq


def _logger_hours(
    rs: RuleSet, conc: NDArray[np.float64], conc_flags: NDArray[np.uint8],
    o2: NDArray[np.float64] | None, o2_flags: NDArray[np.uint8] | None,
    flow: NDArray[np.float64] | None, flow_flags: NDArray[np.uint8] | None,
) -> tuple[averaging.Hourly, NDArray[np.float64] | None, NDArray[np.float64] | None]:  # fmt: skip
    """The loggers' hourly values as they are, invalid hours set to NaN (one "minute" an hour
    in the counts, so :class:`~bishui.sources.averaging.Hourly` reads as on minutes)."""
    valid_flags = tuple(rs["HOUR"]["valid_flags"])
    hc = valid_hours(conc, conc_flags, valid_flags)
    ho2 = None if o2 is None or o2_flags is None else valid_hours(o2, o2_flags, valid_flags)
    hq = None if flow is None or flow_flags is None else valid_hours(flow, flow_flags, valid_flags)
    counts = np.zeros((*conc.shape, fl.N_FLAGS), dtype=np.int16)
    np.put_along_axis(counts, conc_flags[..., None].astype(np.intp), 1, axis=2)
    hourly = averaging.Hourly(hc, np.where(np.isnan(hc), 0, 1).astype(np.int16), counts)
    return hourly, ho2, hq


def site_daily_mass(
    outlets: Sequence[OutletRef], daily_t: NDArray[np.float64]
) -> dict[str, NDArray[np.float64]]:
    """Sum ``(outlets, days)`` masses [t] by site code (a permit's caps cover the site)."""
    sites = sorted({o.site_code for o in outlets})
    index = np.array([sites.index(o.site_code) for o in outlets])
    out = np.zeros((len(sites), daily_t.shape[1]))
    np.add.at(out, index, np.nan_to_num(daily_t))
    return {s: out[i] for i, s in enumerate(sites)}
