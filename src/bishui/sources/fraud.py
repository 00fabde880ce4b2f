"""Data-quality and fraud signatures (数据质量与造假特征) on online monitoring data.

No standard defines these tests; they are platform heuristics (issue 6) and every threshold is
a parameter of the rule-set with ``status = "unverified"`` unless noted. Each test is
vectorised over ``(outlets, minutes)`` or ``(outlets, hours)`` grids that start at 00:00 and
returns :class:`~bishui.sources.findings.Finding` objects only for the (rare) events.

====== =========================================================================
FLAT   values unchanged (within ``tolerance``) for ``min_minutes`` or more
STUCK  a day whose valid hourly values sit mostly in ``[limit·(1−band), limit]``
ZFLOW  flow at zero while the concentration reads above ``conc_min_ratio·limit``
ZCONC  flow running while the concentration reads ``<= conc_zero_ratio·limit``
DILUTE raw concentration falls while O2 rises over ``window_hours`` (negatively correlated)
CALSHARE  share of minutes flagged C/M in a day above ``max_share``
TWIN   two outlets with the same minute curve on a day (up to a constant offset)
GAPX   a data gap starting right after values approach the limit
RANGE  values flagged T or outside the instrument's range
====== =========================================================================
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bishui.errors import InputError
from bishui.sources import findings as fd
from bishui.sources import flags as fl
from bishui.sources.findings import Finding, OutletRef
from bishui.sources.rules import Rule, RuleSet

MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
#: Evidence points kept per finding (spread over the span; the span itself is in the finding).
EVIDENCE_MAX = 240

Runs = tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]


def _grid(values: ArrayLike, per: int, name: str = "values") -> NDArray[np.float64]:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] % per:
        raise InputError(name, f"(outlets, periods) with whole blocks of {per}", v.shape)
    return v


def _valid(values: NDArray[np.float64], flags: NDArray[np.uint8]) -> NDArray[np.bool_]:
    out: NDArray[np.bool_] = (flags == fl.N) & ~np.isnan(values)
    return out


def emit(
    rule: Rule,
    ruleset: RuleSet,
    outlets: Sequence[OutletRef],
    pollutant: str,
    start: dt.datetime,
    step: dt.timedelta,
    runs: Runs,
    values: NDArray[np.float64] | None,
    flags: NDArray[np.uint8] | None,
    measured: dict[str, NDArray[np.float64] | NDArray[np.intp]] | None = None,
) -> list[Finding]:
    """One finding of *rule* per run ``(row, start, end)`` over a grid of *step* from 00:00 of
    *start*: ``measured`` holds ``periods``, ``step_min`` and one value per run of each array in
    *measured*; the evidence is up to :data:`EVIDENCE_MAX` points of *values* (none without)."""
    row, s, e = runs
    out = []
    for i in range(len(row)):
        r, a, b = int(row[i]), int(s[i]), int(e[i])
        m: dict[str, object] = {"periods": b - a, "step_min": step.total_seconds() / 60}
        for k, arr in (measured or {}).items():
            m[k] = arr[i].item()
        ev = (
            fd.evidence_points(start, step, values[r], None if flags is None else flags[r],
                               a, b, pollutant, EVIDENCE_MAX)
            if values is not None else ()
        )  # fmt: skip
        out.append(
            fd.make(rule, ruleset.version, outlets[r], pollutant, start + a * step,
                    start + b * step, m, ev)
        )  # fmt: skip
    return out


def _day_runs(mask: NDArray[np.bool_]) -> Runs:
    """Runs of flagged days (consecutive days merge into one finding)."""
    return fl.runs(mask)


# --------------------------------------------------------------------------------------------
def flatline(values: ArrayLike, flags: NDArray[np.uint8], rule: Rule) -> Runs:
    """Runs of minutes, all valid, whose consecutive values differ by ``<= tolerance``,
    lasting ``>= min_minutes`` and above ``min_level``."""
    v = _grid(values, 1)
    ok = _valid(v, flags) & (v > rule["min_level"])
    with np.errstate(invalid="ignore"):
        same = ok[:, 1:] & ok[:, :-1] & (np.abs(np.diff(v, axis=1)) <= rule["tolerance"])
    row, s, e = fl.runs(same)
    # A run of k equal differences spans k + 1 minutes.
    return fl.filter_min_length(row, s, e + 1, rule["min_minutes"])


def stuck_near_limit(
    hourly: ArrayLike, upper: ArrayLike, rule: Rule
) -> tuple[Runs, NDArray[np.float64]]:
    """Days (as runs over ``(outlets, days)``) whose valid hourly values sit in the band under
    the limit in at least ``min_share`` of ``>= min_valid_hours`` valid hours; and the share."""
    h = _grid(hourly, 24, "hourly")
    lim = np.broadcast_to(np.asarray(upper, dtype=np.float64), h.shape)
    o, n = h.shape
    valid = ~np.isnan(h) & ~np.isnan(lim)
    with np.errstate(invalid="ignore"):
        near = valid & (h <= lim) & (h >= lim * (1 - rule["band"]))
    nv = valid.reshape(o, n // 24, 24).sum(axis=2)
    nn = near.reshape(o, n // 24, 24).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(nv > 0, nn / np.maximum(nv, 1), 0.0)
    flagged = (nv >= rule["min_valid_hours"]) & (share >= rule["min_share"])
    return _day_runs(flagged), share


def zero_flow(
    conc: ArrayLike, conc_flags: NDArray[np.uint8], flow: ArrayLike, flow_flags: NDArray[np.uint8],
    limit: ArrayLike, rule: Rule,
) -> Runs:  # fmt: skip
    """Minutes where valid flow ``<= flow_zero`` but valid concentration
    ``> conc_min_ratio × limit``, in runs of ``>= min_minutes``."""
    c, q = _grid(conc, 1), _grid(flow, 1, "flow")
    lim = np.broadcast_to(np.asarray(limit, dtype=np.float64), c.shape)
    with np.errstate(invalid="ignore"):
        m = (_valid(c, conc_flags) & _valid(q, flow_flags) & (q <= rule["flow_zero"])
             & (c > rule["conc_min_ratio"] * lim))  # fmt: skip
    return fl.filter_min_length(*fl.runs(m), rule["min_minutes"])


def zero_concentration(
    conc: ArrayLike, conc_flags: NDArray[np.uint8], flow: ArrayLike, flow_flags: NDArray[np.uint8],
    limit: ArrayLike, rule: Rule,
) -> Runs:  # fmt: skip
    """Minutes where valid flow ``> flow_min`` but valid concentration
    ``<= conc_zero_ratio × limit``, in runs of ``>= min_minutes``."""
    c, q = _grid(conc, 1), _grid(flow, 1, "flow")
    lim = np.broadcast_to(np.asarray(limit, dtype=np.float64), c.shape)
    with np.errstate(invalid="ignore"):
        m = (_valid(c, conc_flags) & _valid(q, flow_flags) & (q > rule["flow_min"])
             & (c <= rule["conc_zero_ratio"] * lim))  # fmt: skip
    return fl.filter_min_length(*fl.runs(m), rule["min_minutes"])


def dilution(
    hourly_conc: ArrayLike, hourly_o2: ArrayLike, rule: Rule
) -> tuple[Runs, NDArray[np.float64]]:
    """Hours covered by windows of ``window_hours`` valid hours in which O2 rises by
    ``>= o2_rise`` points, the measured concentration falls by ``>= conc_fall_ratio`` of its
    first value, and their correlation is ``<= max_correlation``. Returns runs over
    ``(outlets, hours)`` and the correlation of each window ``(outlets, hours − w + 1)``."""
    c, o2 = _grid(hourly_conc, 1, "hourly_conc"), _grid(hourly_o2, 1, "hourly_o2")
    w = int(rule["window_hours"])
    if c.shape != o2.shape or c.shape[1] < w:
        raise InputError("hourly_o2", f"same shape as hourly_conc, >= {w} hours", o2.shape)
    cw = np.lib.stride_tricks.sliding_window_view(c, w, axis=1)
    ow = np.lib.stride_tricks.sliding_window_view(o2, w, axis=1)
    ok = ~(np.isnan(cw).any(axis=2) | np.isnan(ow).any(axis=2))
    cc = cw - cw.mean(axis=2, keepdims=True)
    oc = ow - ow.mean(axis=2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (cc * oc).sum(axis=2) / np.sqrt((cc**2).sum(axis=2) * (oc**2).sum(axis=2))
        hit = (ok & (ow[..., -1] - ow[..., 0] >= rule["o2_rise"])
               & (cw[..., -1] <= (1 - rule["conc_fall_ratio"]) * cw[..., 0])
               & (corr <= rule["max_correlation"]))  # fmt: skip
    # Spread each hit window over its w hours: a running count of window starts.
    starts = np.zeros((c.shape[0], c.shape[1] + 1), dtype=np.int32)
    starts[:, : hit.shape[1]] += hit
    starts[:, w : w + hit.shape[1]] -= hit
    covered = np.cumsum(starts, axis=1)[:, : c.shape[1]] > 0
    return fl.runs(covered), corr


def calibration_share(
    flags: NDArray[np.uint8], rule: Rule, per_day: int = 1440
) -> tuple[Runs, NDArray[np.float64]]:
    """Days whose share of periods (*per_day* a day: minutes, or 24 hours) flagged with
    ``flags`` (C, M) exceeds ``max_share``."""
    f = np.asarray(flags)
    if f.ndim != 2 or f.shape[1] % per_day:
        raise InputError("flags", "(outlets, periods) with whole days", f.shape)
    o, m = f.shape
    share = np.isin(f, fl.codes(rule["flags"])).reshape(o, m // per_day, per_day).mean(axis=2)
    return _day_runs(share > rule["max_share"]), share


def twin_signatures(
    values: ArrayLike, flags: NDArray[np.uint8], rule: Rule, per_day: int = 1440
) -> NDArray[np.uint64]:
    """A 64-bit signature per ``(outlet, day)`` of the day's curve (*per_day* values: minutes,
    or 24 hours), 0 when the day is not eligible (fewer than ``min_valid_minutes`` valid
    values, or flat).

    The signature hashes the differences between consecutive values rounded to ``decimals``, so
    a copy shifted by a constant has the same one; invalid values enter as a sentinel, so the
    gaps must coincide too. Signatures are comparable across chunks of outlets of the same
    resolution (never a minute signature with an hourly one).
    """
    v = _grid(values, per_day)
    o, m = v.shape
    days = m // per_day
    ok = _valid(v, flags)
    scale = 10.0 ** int(rule["decimals"])
    vd = v.reshape(o, days, per_day)
    okd = ok.reshape(o, days, per_day)
    with np.errstate(invalid="ignore"):
        d = np.rint(np.diff(vd, axis=2) * scale)
    both = okd[..., 1:] & okd[..., :-1]
    keys = np.where(both, d, -(2.0**52)).astype(np.int64).view(np.uint64)
    rng = np.random.default_rng(20261122)  # fixed: signatures must not change between runs
    weights = rng.integers(1, 2**63, size=keys.shape[-1], dtype=np.uint64) | np.uint64(1)
    with np.errstate(over="ignore"):
        sig = (keys * weights).sum(axis=2, dtype=np.uint64)
    eligible = (okd.sum(axis=2) >= rule["min_valid_minutes"]) & ((d != 0) & both).any(axis=2)
    # 0 marks "not eligible", so an eligible day whose hash happens to be 0 becomes 1.
    out: NDArray[np.uint64] = np.where(
        eligible, np.where(sig == 0, np.uint64(1), sig), np.uint64(0)
    ).astype(np.uint64)
    return out


def twin_groups(signatures: NDArray[np.uint64]) -> list[tuple[int, list[int]]]:
    """``(day, rows)`` for every day on which two or more outlets share a signature."""
    s = np.asarray(signatures, dtype=np.uint64)
    rows, days = np.nonzero(s)
    if len(rows) == 0:
        return []
    keys = np.stack([days.astype(np.uint64), s[rows, days]], axis=1)
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    out = []
    for g in np.nonzero(counts >= 2)[0]:
        members = np.nonzero(inverse == g)[0]
        out.append((int(days[members[0]]), sorted(int(rows[i]) for i in members)))
    return out


def gap_at_exceedance(
    values: ArrayLike, flags: NDArray[np.uint8], limit: ArrayLike, rule: Rule
) -> tuple[Runs, NDArray[np.float64]]:
    """Gaps (minutes not valid) of ``>= min_gap_minutes`` whose preceding ``lookback_minutes``
    are all valid, average ``>= approach_ratio × limit`` and rise (last > first).

    *values* are minute concentrations on the scale of *limit* (converted to the reference O2
    with the minute O2 for flue gas). Returns the gap runs and the look-back mean of each.
    """
    v = _grid(values, 1)
    o, m = v.shape
    lim = np.broadcast_to(np.asarray(limit, dtype=np.float64), v.shape)
    ok = _valid(v, flags)
    row, s, e = fl.filter_min_length(*fl.runs(~ok), rule["min_gap_minutes"])
    k = int(rule["lookback_minutes"])
    keep = s >= k
    row, s, e = row[keep], s[keep], e[keep]
    if len(row) == 0:
        return (row, s, e), np.empty(0)
    # Windowed sums from cumulative sums: no loop over gaps.
    cs = np.zeros((o, m + 1))
    cs[:, 1:] = np.cumsum(np.where(ok, v, 0.0), axis=1)
    cn = np.zeros((o, m + 1), dtype=np.int64)
    cn[:, 1:] = np.cumsum(ok, axis=1)
    n = cn[row, s] - cn[row, s - k]
    mean = (cs[row, s] - cs[row, s - k]) / np.maximum(n, 1)
    first, last = v[row, s - k], v[row, s - 1]
    limit_at = lim[row, s - 1]
    with np.errstate(invalid="ignore"):
        hit = (n == k) & (mean >= rule["approach_ratio"] * limit_at) & (last > first)
    return (row[hit], s[hit], e[hit]), mean[hit]


def out_of_range(
    values: ArrayLike, flags: NDArray[np.uint8], low: ArrayLike, high: ArrayLike, rule: Rule
) -> Runs:
    """Minutes flagged T (HJ 212-2017 Table 8, above the measuring range) or with a value
    outside ``[low, high]`` (the instrument's range, NaN = unknown), in runs."""
    v = _grid(values, 1)
    lo = np.broadcast_to(np.asarray(low, dtype=np.float64), v.shape)
    hi = np.broadcast_to(np.asarray(high, dtype=np.float64), v.shape)
    with np.errstate(invalid="ignore"):
        m = (flags == fl.T) | (~np.isnan(v) & ((v > hi) | (v < lo)))
    return fl.filter_min_length(*fl.runs(m), rule["min_minutes"])


# --------------------------------------------------------------------------------------------
def check_minutes(
    ruleset: RuleSet,
    outlets: Sequence[OutletRef],
    pollutant: str,
    start: dt.datetime,
    conc: NDArray[np.float64],
    conc_flags: NDArray[np.uint8],
    limit: ArrayLike,
    *,
    flow: NDArray[np.float64] | None = None,
    flow_flags: NDArray[np.uint8] | None = None,
    conc_for_limit: NDArray[np.float64] | None = None,
    range_low: ArrayLike = np.nan,
    range_high: ArrayLike = np.nan,
) -> list[Finding]:
    """:func:`check_signatures` on minute data (``step`` one minute)."""
    return check_signatures(ruleset, outlets, pollutant, start, conc, conc_flags, limit,
                            flow=flow, flow_flags=flow_flags, conc_for_limit=conc_for_limit,
                            range_low=range_low, range_high=range_high)  # fmt: skip


def check_signatures(
    ruleset: RuleSet,
    outlets: Sequence[OutletRef],
    pollutant: str,
    start: dt.datetime,
    conc: NDArray[np.float64],
    conc_flags: NDArray[np.uint8],
    limit: ArrayLike,
    *,
    step: dt.timedelta = MINUTE,
    flow: NDArray[np.float64] | None = None,
    flow_flags: NDArray[np.uint8] | None = None,
    conc_for_limit: NDArray[np.float64] | None = None,
    range_low: ArrayLike = np.nan,
    range_high: ArrayLike = np.nan,
) -> list[Finding]:
    """Run the minute-level signatures (FLAT, ZFLOW, ZCONC, CALSHARE, GAPX, RANGE) for one
    pollutant over ``(outlets, periods)`` data of *step* starting at 00:00 of *start*.

    On minutes (``step`` one minute) the rules are those of the rule-set; on hourly data
    (``step`` one hour) *ruleset* must carry their hourly variants
    (:func:`bishui.sources.check.hourly_ruleset`), whose durations are counts of hours.

    Parameters
    ----------
    conc : ndarray, shape (O, P)
        Measured concentrations [mg/m³ or mg/L], NaN where absent.
    conc_flags : ndarray of uint8, shape (O, P)
    limit : array_like, broadcastable to (O, P)
        Permitted concentration [check unit]; NaN where none.
    step : timedelta
        One minute or one hour.
    flow, flow_flags : ndarray, shape (O, P), optional
        Flow [m³/h] and its flags; ZFLOW/ZCONC run only when given.
    conc_for_limit : ndarray, shape (O, P), optional
        Concentrations on the limit's scale (converted to reference O2); default *conc*.
    range_low, range_high : array_like
        Instrument range [check unit], broadcastable to (O, P); NaN = unknown.
    """
    if step not in (MINUTE, HOUR):
        raise InputError("step", "one minute or one hour", step)
    per_day = int(DAY / step)
    conc = _grid(conc, per_day, "conc")
    out: list[Finding] = []
    out += emit(ruleset["FLAT"], ruleset, outlets, pollutant, start, step,
                flatline(conc, conc_flags, ruleset["FLAT"]), conc, conc_flags)  # fmt: skip
    if flow is not None and flow_flags is not None:
        out += emit(ruleset["ZFLOW"], ruleset, outlets, pollutant, start, step,
                    zero_flow(conc, conc_flags, flow, flow_flags, limit, ruleset["ZFLOW"]),
                    conc, conc_flags)  # fmt: skip
        out += emit(ruleset["ZCONC"], ruleset, outlets, pollutant, start, step,
                    zero_concentration(conc, conc_flags, flow, flow_flags, limit,
                                       ruleset["ZCONC"]),
                    flow, flow_flags)  # fmt: skip
    runs, share = calibration_share(conc_flags, ruleset["CALSHARE"], per_day)
    out += emit(ruleset["CALSHARE"], ruleset, outlets, pollutant, start, DAY, runs, None, None,
                {"max_day_share": fl.run_reduce(np.maximum, share, *runs)})  # fmt: skip
    scaled = conc if conc_for_limit is None else conc_for_limit
    runs, mean = gap_at_exceedance(scaled, conc_flags, limit, ruleset["GAPX"])
    gaps = emit(ruleset["GAPX"], ruleset, outlets, pollutant, start, step, runs, None, None,
                {"lookback_mean": mean})  # fmt: skip
    if step == MINUTE:
        k = int(ruleset["GAPX"]["lookback_minutes"])
        for f, (r, s) in zip(gaps, zip(runs[0].tolist(), runs[1].tolist(), strict=True),
                             strict=True):  # fmt: skip
            # The evidence of a gap is the look-back that approached the limit.
            ev = fd.evidence_points(start, MINUTE, scaled[r], conc_flags[r], s - k, s, pollutant)
            out.append(dataclasses.replace(f, evidence=ev))
    else:
        # On hourly data the look-back is two or three values: the finding's look-back mean
        # says as much, and the hourly path has never kept evidence points for GAPX.
        out += gaps
    out += emit(ruleset["RANGE"], ruleset, outlets, pollutant, start, step,
                out_of_range(conc, conc_flags, range_low, range_high, ruleset["RANGE"]),
                conc, conc_flags)  # fmt: skip
    return out


def check_hours(
    ruleset: RuleSet,
    outlets: Sequence[OutletRef],
    pollutant: str,
    start: dt.datetime,
    hourly_for_limit: NDArray[np.float64],
    upper: ArrayLike,
    hourly_measured: NDArray[np.float64] | None = None,
    hourly_o2: NDArray[np.float64] | None = None,
) -> list[Finding]:
    """Run the hour-level signatures STUCK (on values on the limit's scale) and, for flue gas
    with O2, DILUTE (on measured concentration and O2) over ``(outlets, hours)``."""
    out: list[Finding] = []
    runs, share = stuck_near_limit(hourly_for_limit, upper, ruleset["STUCK"])
    out += emit(ruleset["STUCK"], ruleset, outlets, pollutant, start, DAY, runs, None, None,
                 {"max_day_share": fl.run_reduce(np.maximum, share, *runs)})  # fmt: skip
    if hourly_measured is not None and hourly_o2 is not None:
        runs, _ = dilution(hourly_measured, hourly_o2, ruleset["DILUTE"])
        out += emit(ruleset["DILUTE"], ruleset, outlets, pollutant, start, HOUR, runs,
                     hourly_measured, None)  # fmt: skip
    return out


def check_twins(
    ruleset: RuleSet,
    outlets: Sequence[OutletRef],
    pollutant: str,
    start: dt.datetime,
    signatures: NDArray[np.uint64],
) -> list[Finding]:
    """TWIN findings from :func:`twin_signatures` of all outlets (rows align with *outlets*);
    one finding per outlet of each group, naming the others in ``measured["twins"]``."""
    rule = ruleset["TWIN"]
    out = []
    for day, rows in twin_groups(signatures):
        for r in rows:
            others = [f"{outlets[x].site_code}/{outlets[x].outlet_id}" for x in rows if x != r]
            out.append(
                fd.make(rule, ruleset.version, outlets[r], pollutant, start + day * DAY,
                        start + (day + 1) * DAY, {"twins": others})
            )  # fmt: skip
    return out
