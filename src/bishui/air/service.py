"""The air service: real-time and daily AQI, period assessments and rankings, from the store.

Everything is computed from the stored hourly values on request, so a late value is included
the next time a report is asked for (no cached figure can go stale). The functions read one
``(pollutants, stations, hours)`` cube (:func:`bishui.air.store_io.hourly_cube`) and hand it to
the pure core (:mod:`bishui.air.period`, :mod:`bishui.air.aqi`, :mod:`bishui.air.compliance`,
:mod:`bishui.air.ranking`).

Scopes (:func:`bishui.air.store_io.network`): every air station; every region (district, county,
functional zone) with stations — the mean of its stations; the city — the mean of its
assessment stations (``sites.assessment``; HJ 663 城市点位). A county's or the city's value of an
hour or a day is the arithmetic mean of its stations' valid values of that hour or day
(:func:`bishui.air.period.city_concentration`), and its AQI is computed from those means:

* real-time: the mean of the stations' 1-hour values (2012 also the 8-hour O3 and 24-hour SO2
  sliding means, each the mean of the stations' own);
* daily and period: the mean of the stations' valid daily statistics (24-hour means, MDA8, O3
  daily max 1-hour), day by day; the period statistics are then computed from these daily
  series (interpretation 16 in docs/air.md).

Editions: a real-time report is judged by its hour, a daily report by its day, the daily AQI
behind a period's good-days ratio day by day, and a period's limits by the edition in force on
its last day (:func:`bishui.air.compliance.assess`). Every result records the edition(s) used.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from bishui.air.aqi import STATUS, AQIReport, daily_report, realtime_report
from bishui.air.assessment import eight_hour_means, sliding_24h_means
from bishui.air.compliance import assess, good_days_ratio
from bishui.air.editions import Edition, edition_for, editions_for
from bishui.air.period import city_concentration, daily_aqi, daily_statistics
from bishui.air.ranking import EQUAL_WEIGHTS, LIMITS_2012, composite_index, rank
from bishui.air.store_io import Network, Scope, hourly_cube, latest_hour, network
from bishui.errors import InputError, NotFoundError
from bishui.store import Store
from bishui.timeutil import current_hour, hour_label, now_beijing

FloatArray = npt.NDArray[np.float64]

#: Version of the service's rules (bumped when a computation changes); recorded in results.
RULE_VERSION = "air-service/1"
#: The standards behind each edition label.
STANDARDS: dict[Edition, str] = {
    "2012": "GB 3095-2012, HJ 633-2012, HJ 663-2013",
    "2026": "GB 3095-2026, HJ 633-2026, HJ 663-2026",
}
HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class ReportRow:
    """One published AQI report of a station, county or the city."""

    scope: str
    code: str
    name: str
    time: dt.datetime | dt.date  # real-time: end-of-hour label; daily: the day
    report: AQIReport
    stations: int  # stations of the scope with at least one indicator

    def as_dict(self) -> dict[str, Any]:
        r = self.report
        return {
            "scope": self.scope,
            "code": self.code,
            "name": self.name,
            "time": self.time.isoformat(),
            "edition": r.edition,
            "standards": STANDARDS[r.edition],
            "status": r.status,
            "aqi": r.aqi,
            "aqi_computed": r.aqi_computed,
            "primary": list(r.primary) if r.primary is not None else None,
            "level": r.level,
            "level_name": r.level_name,
            "category": r.category,
            "colour": r.hex,
            "exceeding": list(r.exceeding) if r.exceeding is not None else None,
            "concentration": r.concentration,
            "iaqi": r.iaqi,
            "missing": list(r.missing),
            "stations": self.stations,
        }


def _combine(values: FloatArray, net: Network, min_stations: int) -> FloatArray:
    """Station rows (stations, ...) → scope rows (scopes, ...), in ``net.scopes`` order."""
    out = []
    for sc in net.scopes:
        sub = values[list(sc.members)]
        need = 1 if sc.kind == "station" else min_stations
        out.append(city_concentration(sub, axis=0, min_stations=need))
    return np.stack(out) if out else np.empty((0, *values.shape[1:]))


def _present(conc: dict[str, FloatArray], net: Network) -> list[int]:
    """Stations of each scope with at least one indicator."""
    has = np.zeros(len(net.stations), bool)
    for v in conc.values():
        ok = ~np.isnan(v)
        has |= ok.reshape(len(ok), -1).any(axis=1)
    return [int(has[list(sc.members)].sum()) for sc in net.scopes]


# -- real-time report ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Realtime:
    hour: dt.datetime  # HJ 663 label: the end of the hour
    edition: Edition
    rows: list[ReportRow] = field(default_factory=list)


def realtime(
    store: Store,
    hour: dt.datetime | None = None,
    *,
    min_stations: int = 1,
    pm_from_24h_sliding: bool = False,
    now: dt.datetime | None = None,
) -> Realtime:
    """The real-time (hourly) report of every station, county and the city.

    Parameters
    ----------
    store : Store
    hour : datetime, optional
        End-of-hour label (HJ 663: the value labelled X covers (X−1h, X]); default the newest
        **complete** hour with data (:func:`bishui.timeutil.current_hour`: an hour in progress
        is never published, so at 14:20 the default is at most 14:00, the hour 13:00–14:00).
    min_stations : int
        Stations a county or the city needs for a value (see ``city_concentration``).
    pm_from_24h_sliding : bool
        2012 only; see :func:`bishui.air.aqi.realtime_report`.
    now : datetime, optional
        The clock (Beijing time) the default hour is chosen at; default now.

    Returns
    -------
    Realtime
        Rows in scope order (stations, counties, city); HJ 633-2012 §5.1.3 before 2026-03-01
        01:00, HJ 633-2026 §4.2.3 from then.
    """
    net = network(store)
    if hour is None:
        last = latest_hour(store, net.ids, before=current_hour(now))
        if last is None:
            raise NotFoundError("no hourly air data in the store")
        hour = hour_label(last)
    hour = hour.replace(minute=0, second=0, microsecond=0)
    ed = edition_for(hour)
    cube = hourly_cube(store, net.ids, hour - 24 * HOUR, 24)
    conc = {f"{k}_1h": v[:, -1] for k, v in cube.items()}
    if ed == "2012":
        # The 2012 real-time report also carries the 8-hour O3 and, for its > 800 rule and the
        # legacy PM option, the 24-hour sliding means (HJ 633-2012 §5.1.3, Table 1 note 2).
        conc["O3_8h"] = eight_hour_means(cube["O3"])[:, -1]
        conc["SO2_24h"] = sliding_24h_means(cube["SO2"])[:, -1]
        if pm_from_24h_sliding:
            conc["PM10_24h"] = sliding_24h_means(cube["PM10"])[:, -1]
            conc["PM2.5_24h"] = sliding_24h_means(cube["PM2.5"])[:, -1]
    present = _present({k: v for k, v in conc.items() if k.endswith("_1h")}, net)
    scoped = {k: _combine(v, net, min_stations) for k, v in conc.items()}
    batch = realtime_report(scoped, ed, pm_from_24h_sliding=pm_from_24h_sliding)
    rows = [
        ReportRow(sc.kind, sc.code, sc.name, hour, batch.report(i), present[i])
        for i, sc in enumerate(net.scopes)
    ]
    return Realtime(hour, ed, rows)


# -- a scope's last hours ------------------------------------------------------------------------
def trend(
    store: Store,
    code: str,
    end: dt.datetime | None = None,
    hours: int = 24,
    *,
    min_stations: int = 1,
) -> tuple[Scope, list[ReportRow]]:
    """The real-time reports of one station (county, the city) over *hours* hours.

    Parameters
    ----------
    store : Store
    code : str
        Station id, region code or the city's code.
    end : datetime, optional
        End-of-hour label of the newest hour (HJ 663); default the newest *complete* hour, the
        one that ended last (CNEMC publishes an hour once it has ended, HJ 633-2026 §5.2.2).
    hours : int
        1-168 hours, oldest first.

    Returns
    -------
    (Scope, list of ReportRow)
        One report per hour, each judged by the edition in force on its hour (a span across
        2026-03-01 is computed in two batches); hours without data have status ``missing``.
    """
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 168:
        raise InputError("hours", "1-168", hours)
    net = network(store)
    pick = next((i for i, s in enumerate(net.scopes) if s.code == code), None)
    if pick is None:
        raise NotFoundError(f"no air station or scope {code!r}")
    sc = net.scopes[pick]
    end = current_hour() if end is None else end.replace(minute=0, second=0, microsecond=0)
    first = end - (hours - 1) * HOUR
    labels = [first + i * HOUR for i in range(hours)]
    members = list(sc.members)
    ids = [net.ids[i] for i in members]
    # index 23 + i is the hour labelled labels[i] (it starts an hour before its label); the
    # 23 hours before the first label feed the 2012 sliding means
    cube = hourly_cube(store, ids, first - 24 * HOUR, 23 + hours)
    conc = {f"{k}_1h": v[:, 23:] for k, v in cube.items()}
    conc["O3_8h"] = eight_hour_means(cube["O3"])[:, 23:]
    conc["SO2_24h"] = sliding_24h_means(cube["SO2"])[:, 23:]
    need = 1 if sc.kind == "station" else min_stations
    has = np.zeros((len(ids), hours), bool)  # stations with at least one indicator
    for k, v in conc.items():
        if k.endswith("_1h"):
            has |= ~np.isnan(v)
    scoped = {k: city_concentration(v, axis=0, min_stations=need) for k, v in conc.items()}
    new = np.asarray(editions_for(np.array(labels, dtype="datetime64[h]")))
    reports: list[AQIReport | None] = [None] * hours
    for ed, mask in (("2012", ~new), ("2026", new)):
        idx = np.flatnonzero(mask)
        if not idx.size:
            continue
        part = {k: v[idx] for k, v in scoped.items() if ed == "2012" or k.endswith("_1h")}
        batch = realtime_report(part, ed)  # type: ignore[arg-type]
        for j, i in enumerate(idx):
            reports[int(i)] = batch.report(j)
    present = has.sum(axis=0)
    rows = [
        ReportRow(sc.kind, sc.code, sc.name, labels[i], r, int(present[i]))
        for i, r in enumerate(reports)
        if r is not None
    ]
    return sc, rows


# -- daily report ------------------------------------------------------------------------------
def _daily_scoped(
    store: Store, net: Network, start: dt.date, days: int, min_stations: int
) -> tuple[dict[str, FloatArray], list[int]]:
    """Daily statistics of every scope: indicator → (scopes, days)."""
    t0 = dt.datetime.combine(start, dt.time())
    cube = hourly_cube(store, net.ids, t0, 24 * days)
    stats = daily_statistics(cube, start)
    values = {k: s.value for k, s in stats.items()}
    present = _present(values, net)
    return {k: _combine(v, net, min_stations) for k, v in values.items()}, present


def daily(store: Store, day: dt.date, *, min_stations: int = 1) -> list[ReportRow]:
    """The daily report (日报) of *day* for every station, county and the city.

    Daily means need ≥ 20 valid hours, MDA8 ≥ 14 valid 8-hour windows (GB 3095 Table 4,
    HJ 663 §6.1.2); the day is judged by the edition in force on it (HJ 633-2012 §5.1.2 before
    2026-03-01, HJ 633-2026 §4.2.2 from then — without the O3 1-hour indicator).
    """
    net = network(store)
    scoped, present = _daily_scoped(store, net, day, 1, min_stations)
    ed = edition_for(day)
    conc = {k: v[:, 0] for k, v in scoped.items() if not (ed == "2026" and k == "O3_1h")}
    batch = daily_report(conc, ed)
    return [
        ReportRow(sc.kind, sc.code, sc.name, day, batch.report(i), present[i])
        for i, sc in enumerate(net.scopes)
    ]


# -- periods -----------------------------------------------------------------------------------
_PERIOD = re.compile(r"^(\d{4})(?:-(Q[1-4]|\d{2}))?$", re.ASCII)


@dataclass(frozen=True)
class Period:
    label: str
    start: dt.date
    end: dt.date  # exclusive
    complete: bool  # False when cut at today (year-, quarter- or month-to-date)

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def parse_period(text: str, *, today: dt.date | None = None) -> Period:
    """``2025`` (year), ``2025-Q3`` (quarter) or ``2025-07`` (month); cut at *today*.

    A period that has not ended is assessed up to yesterday (today's data is incomplete).
    """
    m = _PERIOD.match(text.strip())
    if not m:
        raise InputError("period", "must be YYYY, YYYY-Qn or YYYY-MM", text)
    year = int(m.group(1))
    if not 1900 <= year <= 9998:
        raise InputError("period", "year must be 1900…9998", text)
    part = m.group(2)
    if part is None:
        start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    elif part.startswith("Q"):
        q = int(part[1])
        start = dt.date(year, 3 * q - 2, 1)
        end = dt.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    else:
        month = int(part)
        if not 1 <= month <= 12:
            raise InputError("period", "month must be 01…12", text)
        start = dt.date(year, month, 1)
        end = dt.date(year + (month == 12), 1 if month == 12 else month + 1, 1)
    today = today or now_beijing().date()
    if start >= today:
        raise InputError("period", "must have begun before today", text)
    return Period(text.strip(), start, min(end, today), end <= today)


@dataclass(frozen=True)
class AssessmentRow:
    """The assessment of one scope over one period."""

    scope: str
    code: str
    name: str
    period: Period
    edition: Edition  # of the limits (GB 3095 / HJ 663), in force on the last day
    phase: str
    daily_editions: tuple[str, ...]  # editions of the daily AQI behind the good-days ratio
    good_days: int
    valid_days: int
    good_ratio: float | None
    pollutants: dict[str, dict[str, Any]]
    composite: float | None
    composite_max: str
    stations: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "code": self.code,
            "name": self.name,
            "period": self.period.label,
            "start": self.period.start.isoformat(),
            "end": (self.period.end - dt.timedelta(days=1)).isoformat(),
            "complete": self.period.complete,
            "edition": self.edition,
            "standards": STANDARDS[self.edition],
            "phase": self.phase,
            "daily_editions": list(self.daily_editions),
            "good_days": self.good_days,
            "valid_days": self.valid_days,
            "good_ratio": self.good_ratio,
            "composite_index": self.composite,
            "composite_max": self.composite_max or None,
            "pollutants": self.pollutants,
            "stations": self.stations,
            "rule_version": RULE_VERSION,
        }


def _num(x: Any, digits: int | None = None) -> float | None:
    v = float(x)
    if np.isnan(v):
        return None
    return round(v, digits) if digits is not None else v


def assessment(
    store: Store,
    period: str | Period,
    *,
    scope: Literal["all", "station", "county", "city"] = "all",
    min_stations: int = 1,
    grade: int = 2,
    limits: dict[str, float] | None = None,
    weights: dict[str, float] | None = None,
    today: dt.date | None = None,
    stations: list[str] | None = None,
) -> list[AssessmentRow]:
    """Monthly, quarterly or annual assessment of every station, county and the city.

    Parameters
    ----------
    store : Store
    period : str or Period
        ``2025``, ``2025-Q3``, ``2025-07`` (see :func:`parse_period`).
    scope : {"all", "station", "county", "city"}
        Which rows to return.
    min_stations : int
        Stations a county or the city needs on a day (``city_concentration``).
    grade : {1, 2}
        GB 3095 grade of the limits.
    limits, weights : mapping, optional
        Of the composite index (:func:`bishui.air.ranking.composite_index`; defaults: the
        GB 3095-2012 Grade II limits, equal weights).
    today : date, optional
        Cut-off for a period not yet ended (default: today, Beijing time).
    stations : list of str, optional
        Restrict to these stations (the counties and city are then means over them).

    Returns
    -------
    list of AssessmentRow
        HJ 663 Table 1 statistics per pollutant (period mean; 98th/95th/90th percentiles),
        validity (GB 3095 Table 4), compliance, exceedance days, the good-days ratio and the
        composite index, with the editions used.
    """
    per = period if isinstance(period, Period) else parse_period(period, today=today)
    if scope not in ("all", "station", "county", "city"):
        raise InputError("scope", "must be all, station, county or city", scope)
    net = network(store, stations=stations)
    scoped, present = _daily_scoped(store, net, per.start, per.days, min_stations)
    day_aqi = daily_aqi(scoped, per.start)
    # The good-days denominator of assess_hourly (docs/air.md interpretation 11).
    counted = (day_aqi.status == STATUS.index("complete")) | (day_aqi.aqi > 100)
    good = good_days_ratio(day_aqi.aqi, counted)
    daily = {k.split("_")[0]: v for k, v in scoped.items() if k != "O3_1h"}
    pol = assess(daily, per.start, grade=grade)
    conc = {
        p: (a.percentile if p in ("CO", "O3") else a.mean) for p, a in pol.items()
    }  # HJ 663 Table 1 statistic of each pollutant in the composite index
    ci = composite_index(conc, limits=limits or LIMITS_2012, weights=weights or EQUAL_WEIGHTS)
    eds = tuple(sorted(set(np.unique(day_aqi.edition).tolist())))
    first = next(iter(pol.values()))
    rows = []
    for i, sc in enumerate(net.scopes):
        if scope != "all" and sc.kind != scope:
            continue
        pols = {
            p: {
                "mean": _num(a.mean[i], 3),
                "percentile_p": a.percentile_p,
                "percentile": _num(a.percentile[i], 3),
                "mean_limit": a.mean_limit,
                "daily_limit": a.daily_limit,
                "status": str(a.status[i]),
                "valid_days": int(a.valid_days[i]),
                "missing_days": int(a.validity.missing[i]),
                "exceedance_days": int(a.exceedance_days[i]),
                "exceedance_rate": _num(a.exceedance_rate[i]),
                "max_daily": _num(a.max_daily[i]),
                "max_multiple": _num(a.max_multiple[i]),
            }
            for p, a in pol.items()
        }
        rows.append(
            AssessmentRow(
                scope=sc.kind,
                code=sc.code,
                name=sc.name,
                period=per,
                edition=first.edition,
                phase=first.phase,
                daily_editions=eds,
                good_days=int(good.good[i]),
                valid_days=int(good.valid[i]),
                good_ratio=_num(good.ratio[i]),
                pollutants=pols,
                composite=_num(ci.rounded[i]),
                composite_max=str(ci.max_pollutant[i]),
                stations=present[i],
            )
        )
    return rows


@dataclass(frozen=True)
class RankRow:
    rank: int  # 0: not ranked (an invalid statistic)
    row: AssessmentRow

    def as_dict(self) -> dict[str, Any]:
        r = self.row
        pm25 = r.pollutants["PM2.5"]["mean"]
        return {
            "rank": self.rank or None,
            "scope": r.scope,
            "code": r.code,
            "name": r.name,
            "period": r.period.label,
            "composite_index": r.composite,
            "composite_max": r.composite_max or None,
            "pm25": pm25,
            "good_ratio": r.good_ratio,
            "edition": r.edition,
        }


def ranking(
    store: Store,
    period: str | Period,
    *,
    level: Literal["county", "station"] = "county",
    **kwargs: Any,
) -> list[RankRow]:
    """Counties (or stations) ranked by the composite index, smallest first (ties share a rank).

    ``kwargs`` go to :func:`assessment` (``limits``, ``weights``, ``today`` …). Scopes whose
    index is invalid are listed last with rank 0.
    """
    if level not in ("county", "station"):
        raise InputError("level", "must be county or station", level)
    rows = assessment(store, period, scope=level, **kwargs)
    values = np.array([np.nan if r.composite is None else r.composite for r in rows])
    ranks = rank(values) if len(rows) else np.zeros(0, np.int64)
    order = sorted(range(len(rows)), key=lambda i: (ranks[i] == 0, ranks[i], rows[i].code))
    return [RankRow(int(ranks[i]), rows[i]) for i in order]


def scope_rows(rows: list[Any], scope: str) -> list[Any]:
    """Keep the rows of one scope kind ("all" keeps every row)."""
    return rows if scope == "all" else [r for r in rows if r.scope == scope]


__all__ = [
    "RULE_VERSION",
    "STANDARDS",
    "AssessmentRow",
    "Period",
    "RankRow",
    "Realtime",
    "ReportRow",
    "Scope",
    "assessment",
    "daily",
    "parse_period",
    "ranking",
    "realtime",
    "scope_rows",
    "trend",
]
