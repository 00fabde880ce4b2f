"""Centralised drinking-water sources (集中式生活饮用水地表水源地): compliance and alerts.

A source is judged against GB 3838-2002 表1 at its target class (a first-level protection zone is
usually Class Ⅱ, a second-level zone Class Ⅲ — the target is configuration) plus the five
supplementary items of 表2. :func:`source_compliance` judges samples; :func:`source_alerts` turns
a source's time series into :class:`Alert` records that the enforcement module routes.

The alert rules are the platform's own early-warning rules, not a national standard; each
threshold is a field of :class:`AlertRules` with a documented default:

``exceedance``
    a single valid reading beyond the target-class limit (表1) or the 表2 limit; with
    ``episodes=True`` one alert per run of consecutive exceeding readings.
``trend``
    over the last ``trend_window`` valid readings the least-squares line moves towards the
    limit, the latest reading is still within it but at least ``trend_min_fraction`` of the way
    there, and the line reaches the limit within ``trend_horizon_hours``.
``gap``
    more than ``max_gap_hours`` between consecutive valid readings (or from the last one to
    ``now``); one alert per gap, naming every parameter that shares it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

from bishui.errors import InputError
from bishui.timeutil import to_beijing_naive
from bishui.water import tables as t
from bishui.water.classes import as_floats, check_values

#: Items judged for a surface drinking-water source by default: the 21 assessment items of
#: 表1 and the 5 items of 表2.
SOURCE_CODES: tuple[str, ...] = t.ASSESSMENT_CODES + tuple(t.TABLE2)

AlertKind = Literal["exceedance", "trend", "gap"]


@dataclass(frozen=True)
class Alert:
    """One alert about a drinking-water source, ready to be routed (enforcement).

    ``time`` is naive Beijing time: the first exceeding reading, the reading that completed the
    trend window, or the start of the gap. ``parameter`` is an HJ 212 code, or ``"*"`` for a
    gap shared by every parameter. ``evidence`` holds the numbers behind the alert.
    """

    kind: AlertKind
    parameter: str
    time: dt.datetime
    value: float | None
    limit: float | None
    evidence: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    target_class: int | None = None


@dataclass(frozen=True)
class AlertRules:
    """Thresholds of the alert rule set (platform defaults, configurable; docs/water.md)."""

    episodes: bool = True
    trend: bool = True
    trend_window: int = 6
    trend_horizon_hours: float = 24.0
    trend_min_fraction: float = 0.5
    gap: bool = True
    max_gap_hours: float = 6.0


@dataclass(frozen=True)
class Limits:
    """Per-column limits for a source: direction ``le``/``ge``/``range``/``""`` (not judged)."""

    codes: tuple[str, ...]
    direction: tuple[str, ...]
    limit: NDArray[np.float64]
    lo: NDArray[np.float64]
    hi: NDArray[np.float64]
    standard: tuple[str, ...]


def source_limits(
    codes: Sequence[str], target_class: int, body: str = "lake", items: Sequence[str] = SOURCE_CODES
) -> Limits:
    """Limits of each column for a source of ``target_class`` (1–5) and ``body``.

    表1 items take the target-class limit (DO a minimum, pH the 6–9 range); 表2 items their
    single limit; columns outside ``items`` are not judged.
    """
    if not isinstance(target_class, int | np.integer) or not 1 <= int(target_class) <= 5:
        raise InputError("target_class", "must be 1–5 (Ⅰ–Ⅴ)", target_class)
    table = t.table1(body)
    k = len(codes)
    direction: list[str] = []
    standard: list[str] = []
    limit = np.full(k, np.nan)
    lo = np.full(k, np.nan)
    hi = np.full(k, np.nan)
    for j, c in enumerate(codes):
        if c not in items:
            direction.append("")
            standard.append("")
        elif c in table:
            item = table[c]
            direction.append(item.direction)
            standard.append(f"{t.EDITION} 表1 {t.CLASS_LABELS[int(target_class)]}")
            if item.direction == "range":
                lo[j], hi[j] = item.lo, item.hi
            else:
                limit[j] = item.limits[int(target_class) - 1]
        elif c in t.TABLE2:
            direction.append("le")
            standard.append(f"{t.EDITION} 表2")
            limit[j] = t.TABLE2[c].limit
        else:
            direction.append("")
            standard.append("")
    return Limits(tuple(codes), tuple(direction), limit, lo, hi, tuple(standard))


def _exceeds(x: NDArray[np.float64], lim: Limits) -> NDArray[np.bool_]:
    out = np.zeros(x.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        for j, d in enumerate(lim.direction):
            col = x[..., j]
            if d == "le":
                out[..., j] = col > lim.limit[j]
            elif d == "ge":
                out[..., j] = col < lim.limit[j]
            elif d == "range":
                out[..., j] = (col < lim.lo[j]) | (col > lim.hi[j])
    return out


@dataclass(frozen=True)
class SourceCompliance:
    """Compliance of a source's samples: ``exceeds`` (n, k), ``compliant`` (n,), ``judged`` (n,).

    A sample is compliant when every judged item it has is within its limit; ``judged`` is False
    for a sample with no judged item (it is neither compliant nor not).
    """

    codes: tuple[str, ...]
    exceeds: NDArray[np.bool_]
    compliant: NDArray[np.bool_]
    judged: NDArray[np.bool_]

    @property
    def rate(self) -> float:
        """Share of judged samples that comply [-] (NaN with none)."""
        n = int(self.judged.sum())
        return float(self.compliant.sum() / n) if n else float("nan")

    def exceeding(self, i: int) -> tuple[str, ...]:
        """Codes of the items of sample ``i`` beyond their limit."""
        return tuple(c for j, c in enumerate(self.codes) if self.exceeds[i, j])


def source_compliance(
    values: ArrayLike,
    codes: Sequence[str],
    target_class: int,
    body: str = "lake",
    *,
    items: Sequence[str] = SOURCE_CODES,
    aliases: Mapping[str, str] | None = None,
) -> SourceCompliance:
    """Judge a source's samples against 表1 at ``target_class`` and 表2 (GB 3838-2002).

    Parameters
    ----------
    values : array_like, shape (n, k)
        Samples [unit of each item]; NaN = not measured. Values are judged as given (no rounding:
        apply :func:`~bishui.water.rounding.round_assessment` first for assessment values).
    codes : sequence of str
        HJ 212 code of each column.
    target_class : int
        1–5, the source's water-quality target.
    body : {"river", "lake"}
        River-type or lake/reservoir-type source (TP limits differ).
    items : sequence of str
        Items judged (default: 21 assessment items of 表1 + 5 items of 表2).

    Returns
    -------
    SourceCompliance
    """
    x = as_floats(values)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    cc = t.canonical_codes(codes, aliases)
    if x.shape[1] != len(cc):
        raise InputError("values", f"must have {len(cc)} columns to match codes", x.shape)
    check_values(x, cc)
    lim = source_limits(cc, target_class, body, items)
    ex = _exceeds(x, lim)
    judged_cols = np.array([d != "" for d in lim.direction], dtype=bool)
    judged = (~np.isnan(x) & judged_cols).any(axis=1)
    return SourceCompliance(tuple(cc), ex, judged & ~ex.any(axis=1), judged)


def _times(times: ArrayLike | Sequence[dt.datetime], n: int) -> NDArray[np.datetime64]:
    if isinstance(times, Sequence) and any(
        isinstance(x, dt.datetime) and x.tzinfo is not None for x in times
    ):
        # Aware times are converted to the store's naive Beijing time first.
        naive: list[Any] = [to_beijing_naive(x) if isinstance(x, dt.datetime) else x for x in times]
        return _times(naive, n)
    try:
        tt = np.asarray(times, dtype="datetime64[s]")
    except (TypeError, ValueError) as exc:
        raise InputError("times", "must be datetimes", str(exc)) from None
    if tt.shape != (n,):
        raise InputError("times", f"must have one time per row ({n})", tt.shape)
    if n > 1 and (np.diff(tt) <= np.timedelta64(0, "s")).any():
        i = int(np.argmax(np.diff(tt) <= np.timedelta64(0, "s"))) + 1
        raise InputError("times", "must be strictly increasing", str(tt[i]), row=i)
    return tt


def _py(t64: np.datetime64) -> dt.datetime:
    return dt.datetime.fromisoformat(str(t64.astype("datetime64[s]")))


def _hours(tt: NDArray[np.datetime64], t0: np.datetime64) -> NDArray[np.float64]:
    return np.asarray((tt - t0) / np.timedelta64(1, "s") / 3600.0, dtype=float)


def source_alerts(
    times: ArrayLike | Sequence[dt.datetime],
    values: ArrayLike,
    codes: Sequence[str],
    target_class: int,
    body: str = "lake",
    *,
    rules: AlertRules | None = None,
    source: str | None = None,
    now: dt.datetime | None = None,
    items: Sequence[str] = SOURCE_CODES,
    aliases: Mapping[str, str] | None = None,
) -> list[Alert]:
    """Alerts for one drinking-water source from its readings.

    Parameters
    ----------
    times : array_like of datetime, shape (n,)
        Reading times, naive Beijing time, strictly increasing.
    values : array_like, shape (n, k)
        Readings [unit of each item]; NaN = missing or invalid.
    codes : sequence of str
        HJ 212 code of each column.
    target_class : int
        The source's target class 1–5.
    body : {"river", "lake"}
        Source type.
    rules : AlertRules, optional
        Thresholds (defaults on :class:`AlertRules`).
    source : str, optional
        Source (section) identifier copied into each alert.
    now : datetime, optional
        Evaluation time; a gap from the last valid reading to ``now`` is reported too.

    Returns
    -------
    list of Alert
        Sorted by time, then kind, then parameter.
    """
    r = rules or AlertRules()
    x = as_floats(values)
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    cc = t.canonical_codes(codes, aliases)
    if x.shape[1] != len(cc):
        raise InputError("values", f"must have {len(cc)} columns to match codes", x.shape)
    check_values(x, cc)
    tt = _times(times, x.shape[0])
    if r.trend_window < 2:
        raise InputError("trend_window", "must be at least 2 readings", r.trend_window)
    lim = source_limits(cc, target_class, body, items)
    ex = _exceeds(x, lim)
    tc = int(target_class)
    alerts: list[Alert] = []
    gaps: dict[tuple[np.datetime64, np.datetime64 | None], list[str]] = {}
    t_now = np.datetime64(now, "s") if now is not None else None
    for j, c in enumerate(cc):
        d = lim.direction[j]
        if d == "":
            continue
        ok = ~np.isnan(x[:, j])
        tv, v, e = tt[ok], x[ok, j], ex[ok, j]
        limit = None if d == "range" else float(lim.limit[j])
        alerts += _exceedance_alerts(c, d, tv, v, e, lim, j, r, source, tc)
        if r.trend and d in ("le", "ge") and limit is not None:
            alerts += _trend_alerts(c, d, tv, v, limit, r, source, tc, lim.standard[j])
        if r.gap:
            for a, b in _gaps(tv, tt, t_now, r.max_gap_hours):
                gaps.setdefault((a, b), []).append(c)
    judged = [c for c, d in zip(cc, lim.direction, strict=True) if d]
    for (a, b), params in gaps.items():
        end = b if b is not None else t_now
        hours = float((end - a) / np.timedelta64(1, "s") / 3600.0) if end is not None else None
        alerts.append(
            Alert(
                "gap",
                params[0]
                if len(params) == 1
                else ("*" if len(params) == len(judged) else ",".join(params)),
                _py(a),
                None,
                r.max_gap_hours,
                {
                    "from": _py(a),
                    "to": _py(b) if b is not None else None,
                    "hours": hours,
                    "parameters": params,
                },
                source,
                tc,
            )
        )
    kinds = {"exceedance": 0, "trend": 1, "gap": 2}
    alerts.sort(key=lambda a: (a.time, kinds[a.kind], a.parameter))
    return alerts


def _exceedance_alerts(
    code: str,
    d: str,
    tv: NDArray[np.datetime64],
    v: NDArray[np.float64],
    e: NDArray[np.bool_],
    lim: Limits,
    j: int,
    r: AlertRules,
    source: str | None,
    tc: int,
) -> list[Alert]:
    if not e.any():
        return []
    starts = np.flatnonzero(e & ~np.r_[False, e[:-1]]) if r.episodes else np.flatnonzero(e)
    ends = np.flatnonzero(e & ~np.r_[e[1:], False]) if r.episodes else starts
    limit = (float(lim.lo[j]), float(lim.hi[j])) if d == "range" else float(lim.limit[j])
    out = []
    for s, f in zip(starts, ends, strict=True):
        run = v[s : f + 1]
        if d == "ge":
            peak = float(run.min())
        elif d == "range":  # pH: the reading farthest from neutral
            peak = float(run[np.argmax(np.abs(run - 7.0))])
        else:
            peak = float(run.max())
        out.append(
            Alert(
                "exceedance",
                code,
                _py(tv[s]),
                float(v[s]),
                limit if isinstance(limit, float) else None,
                {
                    "standard": lim.standard[j],
                    "range": limit if d == "range" else None,
                    "readings": int(f - s + 1),
                    "peak": peak,
                    "until": _py(tv[f]),
                },
                source,
                tc,
            )
        )
    return out


def _trend_alerts(
    code: str,
    d: str,
    tv: NDArray[np.datetime64],
    v: NDArray[np.float64],
    limit: float,
    r: AlertRules,
    source: str | None,
    tc: int,
    standard: str,
) -> list[Alert]:
    w = r.trend_window
    if v.size < w:
        return []
    h = _hours(tv, tv[0])
    hw = sliding_window_view(h, w)
    vw = sliding_window_view(v, w)
    hc = hw - hw.mean(axis=1, keepdims=True)
    sxx = (hc * hc).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (hc * (vw - vw.mean(axis=1, keepdims=True))).sum(axis=1) / sxx
    fitted_last = vw.mean(axis=1) + slope * hc[:, -1]
    projected = fitted_last + slope * r.trend_horizon_hours
    latest = vw[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        if d == "le":
            cond = (
                (slope > 0)
                & (latest <= limit)
                & (latest >= r.trend_min_fraction * limit)
                & (projected > limit)
            )
        else:  # DO: falling towards a minimum
            cond = (
                (slope < 0)
                & (latest >= limit)
                & (limit >= r.trend_min_fraction * latest)
                & (projected < limit)
            )
    starts = np.flatnonzero(cond & ~np.r_[False, cond[:-1]])
    out = []
    for i in starts:
        last = i + w - 1
        out.append(
            Alert(
                "trend",
                code,
                _py(tv[last]),
                float(v[last]),
                limit,
                {
                    "standard": standard,
                    "slope_per_hour": float(slope[i]),
                    "projected": float(projected[i]),
                    "horizon_hours": r.trend_horizon_hours,
                    "window": w,
                    "from": _py(tv[i]),
                },
                source,
                tc,
            )
        )
    return out


def _gaps(
    tv: NDArray[np.datetime64],
    all_times: NDArray[np.datetime64],
    now: np.datetime64 | None,
    max_hours: float,
) -> list[tuple[np.datetime64, np.datetime64 | None]]:
    """(start, end) of every gap longer than ``max_hours``; end None = still open at ``now``."""
    limit = np.timedelta64(round(max_hours * 3600), "s")
    out: list[tuple[np.datetime64, np.datetime64 | None]] = []
    if tv.size == 0:
        if all_times.size:
            end = now if now is not None else all_times[-1]
            if end - all_times[0] > limit:
                out.append((all_times[0], None if now is not None else all_times[-1]))
        return out
    dtv = np.diff(tv)
    for i in np.flatnonzero(dtv > limit):
        out.append((tv[i], tv[i + 1]))
    if now is not None and now - tv[-1] > limit:
        out.append((tv[-1], None))
    return out
