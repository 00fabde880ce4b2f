"""The checks on hourly data: the path for outlets whose loggers send hourly values only.

:func:`bishui.sources.check.check_block` starts from minute data (HJ 212 CN 2051) and forms
the hourly means itself (rule HOUR, ≥ 45 valid minutes). Many stores hold only the loggers'
hourly values (CN 2061) — the model city's history among them. Those values already *are*
the hourly means the standard defines, so :func:`check_block_hourly` starts one step later and
never invents minutes: an hour is valid when its value is present and its HJ 212 flag is one
of the rule's ``valid_flags`` (the logger applied the 45-minute rule when it formed it).

Every rule that is defined on hours runs unchanged: O2REF, EXC (hourly and daily), DAY, MASS,
STUCK, DILUTE. The minute-level signatures run on the hourly grid with their durations
converted to whole hours (at least the minute rule's span) and the variant marked in the
finding (rule version ``…+hourly``; its ``params`` say ``resolution = "hour"`` and give the
hour counts actually used):

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
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bishui.errors import InputError
from bishui.sources import averaging, conversion, exceedance, fraud, nopermit, pollutants, quantity
from bishui.sources import flags as fl
from bishui.sources.check import BlockResult
from bishui.sources.findings import Finding, OutletRef
from bishui.sources.limits import limit_grid
from bishui.sources.permits import Permit
from bishui.sources.rules import Rule, RuleSet

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
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


def twin_signatures_hourly(
    values: NDArray[np.float64], flags: NDArray[np.uint8], rule: Rule
) -> NDArray[np.uint64]:
    """64-bit signature of each ``(outlet, day)``'s 24 hourly values, as
    :func:`fraud.twin_signatures` builds it from minutes (differences rounded to ``decimals``,
    fixed weights, 0 = not eligible: fewer than ``min_valid_minutes`` valid hours, or flat)."""
    o, n = values.shape
    days = n // 24
    ok = fraud._valid(values, flags).reshape(o, days, 24)
    vd = values.reshape(o, days, 24)
    with np.errstate(invalid="ignore"):
        d = np.rint(np.diff(vd, axis=2) * 10.0 ** int(rule["decimals"]))
    both = ok[..., 1:] & ok[..., :-1]
    keys = np.where(both, d, -(2.0**52)).astype(np.int64).view(np.uint64)
    rng = np.random.default_rng(20261122)
    weights = rng.integers(1, 2**63, size=23, dtype=np.uint64) | np.uint64(1)
    with np.errstate(over="ignore"):
        sig = (keys * weights).sum(axis=2, dtype=np.uint64)
    eligible = (ok.sum(axis=2) >= rule["min_valid_minutes"]) & ((d != 0) & both).any(axis=2)
    out: NDArray[np.uint64] = np.where(
        eligible, np.where(sig == 0, np.uint64(1), sig), np.uint64(0)
    ).astype(np.uint64)
    return out


def _calshare_hours(
    ruleset: RuleSet, outlets: Sequence[OutletRef], pollutant: str, start: dt.datetime,
    flags: NDArray[np.uint8],
) -> list[Finding]:  # fmt: skip
    rule = ruleset["CALSHARE"]
    o, n = flags.shape
    share = np.isin(flags, fl.codes(rule["flags"])).reshape(o, n // 24, 24).mean(axis=2)
    runs = fl.runs(share > rule["max_share"])
    return fraud._emit(rule, ruleset, outlets, pollutant, start, DAY, runs, None, None,
                       {"max_day_share": fl.run_reduce(np.maximum, share, *runs)})  # fmt: skip


def check_block_hourly(
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
    flat_min_hours: int = FLAT_MIN_HOURS,
) -> BlockResult:
    """Run every rule on one pollutant's **hourly** data (the loggers' hourly means).

    Parameters
    ----------
    conc, conc_flags : ndarray, shape (O, days·24)
        Hourly concentration [mg/m³ measured, or mg/L] and HJ 212 flags (uint8 codes), NaN
        and :data:`~bishui.sources.flags.MISSING` for an hour without a record; the first
        column is 00:00 of *start*.
    o2, o2_flags : ndarray, shape (O, H), optional
        Hourly O2 [%]; needed where a limit has a reference O2.
    flow, flow_flags : ndarray, shape (O, H), optional
        Hourly flow [m³/h]; needed for mass, ZFLOW and ZCONC.
    flat_min_hours : int
        FLAT's least run on hourly data [h].

    Returns
    -------
    BlockResult
        As :func:`bishui.sources.check.check_block`; ``twin_signatures`` are the hourly ones
        (comparable only with other hourly signatures).
    """
    if start.time() != dt.time():
        raise InputError("start", "a block starts at 00:00", start.isoformat())
    if conc.ndim != 2 or conc.shape[1] % 24 or conc.shape[0] != len(outlets):
        raise InputError("conc", f"({len(outlets)} outlets, whole days of hours)", conc.shape)
    rs = hourly_ruleset(ruleset, flat_min_hours)
    medium = pollutants.get(pollutant).medium
    valid_flags = tuple(rs["HOUR"]["valid_flags"])
    hours, days = conc.shape[1], conc.shape[1] // 24
    hc = valid_hours(conc, conc_flags, valid_flags)
    ho2 = None if o2 is None or o2_flags is None else valid_hours(o2, o2_flags, valid_flags)
    hq = None if flow is None or flow_flags is None else valid_hours(flow, flow_flags, valid_flags)
    counts = np.zeros((*conc.shape, fl.N_FLAGS), dtype=np.int16)
    np.put_along_axis(counts, conc_flags[..., None].astype(np.intp), 1, axis=2)
    hourly = averaging.Hourly(hc, np.where(np.isnan(hc), 0, 1).astype(np.int16), counts)

    grid_h = limit_grid(permits, outlets, pollutant, start, hours, HOUR, averaging="hour")
    grid_d = limit_grid(permits, outlets, pollutant, start, days, DAY, averaging="day")
    ref_h = np.where(np.isnan(grid_h.ref_o2), np.repeat(grid_d.ref_o2, 24, axis=1), grid_h.ref_o2)
    o2_air = rs["O2REF"]["o2_air"]
    conv = (np.where(np.isnan(ref_h), hc, np.nan) if ho2 is None
            else conversion.reference_o2(hc, ho2, ref_h, o2_air))  # fmt: skip

    findings: list[Finding] = []
    day_rule = rs["DAY"]
    min_h = day_rule["min_valid_hours_air" if medium == "air" else "min_valid_hours_water"]
    weights = hq if (medium == "water" and day_rule["water_flow_weighted"]) else None
    findings += exceedance.judge(outlets, pollutant, start, conv, grid_h, grid_d, rs, min_h,
                                 weights)  # fmt: skip

    daily_t = missing = None
    if hq is not None:
        daily_t, missing = quantity.daily_mass(hc, hq, medium)

    with np.errstate(invalid="ignore"):
        active = ~np.isnan(hc) & (hc > 0)
        if hq is not None:
            active |= hq > 0
    discharging = active.reshape(len(outlets), days, 24).sum(axis=2) >= int(
        rs["NOPERMIT"]["min_discharge_minutes"]
    )
    findings += nopermit.check(permits, outlets, pollutant, start.date(), discharging, rs)

    upper_h = np.where(np.isnan(grid_h.upper), np.repeat(grid_d.upper, 24, axis=1), grid_h.upper)
    # Minute-level signatures on the hourly grid (rule variants from hourly_ruleset).
    findings += _hour_signatures(rs, outlets, pollutant, start, conc, conc_flags, upper_h,
                                 flow, flow_flags, conv, range_low, range_high)  # fmt: skip
    findings += fraud.check_hours(rs, outlets, pollutant, start, conv, upper_h,
                                  hc if medium == "air" else None, ho2)  # fmt: skip
    sig = twin_signatures_hourly(conc, conc_flags, rs["TWIN"])
    return BlockResult(findings, hourly, conv, daily_t, missing, sig)


def _hour_signatures(
    rs: RuleSet, outlets: Sequence[OutletRef], pollutant: str, start: dt.datetime,
    conc: NDArray[np.float64], cf: NDArray[np.uint8], upper: NDArray[np.float64],
    flow: NDArray[np.float64] | None, qf: NDArray[np.uint8] | None,
    conv: NDArray[np.float64], low: ArrayLike, high: ArrayLike,
) -> list[Finding]:  # fmt: skip
    emit = fraud._emit
    out: list[Finding] = []
    out += emit(rs["FLAT"], rs, outlets, pollutant, start, HOUR,
                fraud.flatline(conc, cf, rs["FLAT"]), conc, cf)  # fmt: skip
    if flow is not None and qf is not None:
        out += emit(rs["ZFLOW"], rs, outlets, pollutant, start, HOUR,
                    fraud.zero_flow(conc, cf, flow, qf, upper, rs["ZFLOW"]), conc, cf)  # fmt: skip
        out += emit(rs["ZCONC"], rs, outlets, pollutant, start, HOUR,
                    fraud.zero_concentration(conc, cf, flow, qf, upper, rs["ZCONC"]),
                    flow, qf)  # fmt: skip
    out += _calshare_hours(rs, outlets, pollutant, start, cf)
    # GAPX judges the look-back on the limit's scale: converted hourly values where a
    # reference O2 applies, measured ones elsewhere.
    scaled = np.where(np.isnan(conv) & ~np.isnan(conc), conc, conv)
    runs, mean = fraud.gap_at_exceedance(scaled, cf, upper, rs["GAPX"])
    out += emit(rs["GAPX"], rs, outlets, pollutant, start, HOUR, runs, None, None,
                {"lookback_mean": mean})  # fmt: skip
    out += emit(rs["RANGE"], rs, outlets, pollutant, start, HOUR,
                fraud.out_of_range(conc, cf, low, high, rs["RANGE"]), conc, cf)  # fmt: skip
    return out
