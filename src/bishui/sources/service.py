"""The store-backed checks: read the outlets' data, run the rules, keep the findings.

:func:`run_checks` is the whole run for a period ``[start, end)`` (whole days):

1. permits from the store (:mod:`~bishui.sources.permit_store`), outlets from the registry
   (:func:`~bishui.sources.store_data.outlet_sites`);
2. the one pipeline (:func:`bishui.sources.check.check_block`) runs on minutes for the
   outlets that sent minute data in the period and on the loggers' hourly values for the
   others (its ``resolution``), in blocks of ``block_outlets``, each block one SQL read laid
   onto grids, then one call per pollutant;
3. twin signatures are pooled across blocks (per resolution and pollutant) and
   :func:`~bishui.sources.fraud.check_twins` runs once; daily masses are stored
   (``source_mass_daily``) and :func:`~bishui.sources.quantity.check_caps` runs per site and
   pollutant on the calendar year up to the end of the period (from 1 January, read back from
   the store, so a one-day run still judges the year's total);
4. new findings are stored once (:attr:`Finding.key`); a finding of an event already stored
   (same rule, outlet, pollutant and level, span overlapping or adjacent — a re-run over a
   shifted window) is stored with that event's key and raises nothing;
5. findings of new events become alerts and tasks (:func:`bishui.enforcement.service.
   raise_alerts`).

Re-running a period adds nothing. :func:`refresh` is what the platform's periodic task calls.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bishui.enforcement import notify
from bishui.enforcement import service as enf
from bishui.enforcement.policy import Policy
from bishui.errors import InputError
from bishui.sources import check, fraud, pollutants, quantity
from bishui.sources.findings import Finding, OutletRef
from bishui.sources.permit_store import load_permits
from bishui.sources.permits import Permit
from bishui.sources.rules import RuleSet, load_ruleset
from bishui.sources.store_data import (
    FLOW_CODES,
    O2_CODE,
    OutletSite,
    instrument_ranges,
    load_grids,
    outlet_sites,
    sites_with_minutes,
)
from bishui.store import Store
from bishui.timeutil import now_beijing

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class CheckOptions:
    """Parameters of a run (defaults documented in docs/sources.md)."""

    block_outlets_hour: int = 16
    block_outlets_min: int = 4
    flat_min_hours: int = check.FLAT_MIN_HOURS
    loop: enf.LoopOptions = field(default_factory=enf.LoopOptions)
    raise_alerts: bool = True


@dataclass
class RunReport:
    run_id: str
    start: dt.datetime
    end: dt.datetime
    ruleset_version: str
    outlets: int
    resolution: dict[str, int]
    findings: list[Finding]
    new: list[Finding]
    merged: int
    alerts: int
    tasks: list[str]


def _day_span(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, int]:
    a = dt.datetime.combine(start.date(), dt.time())
    b = dt.datetime.combine(end.date(), dt.time())
    if end.time() != dt.time():
        b += DAY
    if b <= a:
        raise InputError("end", "after start (whole days are checked)", end.isoformat())
    return a, (b - a).days


def _pollutants_of(codes: Iterable[str], medium: str) -> list[str]:
    out = []
    for c in codes:
        try:
            p = pollutants.get(c)
        except InputError:
            continue  # a channel the permit model does not know (temperature …)
        if p.role == "pollutant" and p.medium == medium:
            out.append(c)
    return sorted(out)


@dataclass
class _Pool:
    """What the blocks hand back for the pooled checks."""

    twins: dict[tuple[str, str], list[tuple[OutletRef, NDArray[np.uint64]]]] = field(
        default_factory=dict
    )
    mass: list[tuple[OutletRef, str, NDArray[np.float64], NDArray[np.int16]]] = field(
        default_factory=list
    )


def _run_block(
    store: Store, ruleset: RuleSet, permits: Sequence[Permit], block: Sequence[OutletSite],
    period: str, start: dt.datetime, days: int, options: CheckOptions, pool: _Pool,
) -> list[Finding]:  # fmt: skip
    ids = [o.site_id for o in block]
    ranges = instrument_ranges(store, ids)
    units = {k: v[2] for k, v in ranges.items() if k[1] in FLOW_CODES}
    g = load_grids(store, ids, period, start, days, units)
    found: list[Finding] = []
    for medium, kind, flow_code in (("air", "source_gas", "a00000"),
                                    ("water", "source_water", "w00000")):  # fmt: skip
        sel_kind = np.array([o.kind == kind for o in block])
        for pol in _pollutants_of(g.values, medium):
            rows = np.flatnonzero(sel_kind & g.present[pol]).tolist()
            if not len(rows):
                continue
            refs = [block[i].ref for i in rows]
            none = (np.nan, np.nan, "")
            lo = np.array([[ranges.get((block[i].site_id, pol), none)[0]] for i in rows])
            hi = np.array([[ranges.get((block[i].site_id, pol), none)[1]] for i in rows])
            kw: dict[str, Any] = {"range_low": lo, "range_high": hi}
            if flow_code in g.values:
                kw["flow"], kw["flow_flags"] = g.values[flow_code][rows], g.flags[flow_code][rows]
            if medium == "air" and O2_CODE in g.values:
                kw["o2"], kw["o2_flags"] = g.values[O2_CODE][rows], g.flags[O2_CODE][rows]
            conc, cf = g.values[pol][rows], g.flags[pol][rows]
            r = check.check_block(ruleset, permits, refs, pol, start, conc, cf,
                                  resolution="hour" if period == "hour" else "minute",
                                  twins=False, flat_min_hours=options.flat_min_hours,
                                  **kw)  # fmt: skip
            found += [f for f in r.findings if f.rule_id != "TWIN"]
            pool.twins.setdefault((period, pol), []).extend(
                zip(refs, r.twin_signatures, strict=True)
            )
            if r.daily_mass_t is not None and r.missing_mass_hours is not None:
                for j, ref in enumerate(refs):
                    pool.mass.append((ref, pol, r.daily_mass_t[j], r.missing_mass_hours[j]))
    return found


def _store_mass(store: Store, pool: _Pool, start: dt.datetime) -> None:
    """Replace the run's days of ``source_mass_daily`` for the outlets checked (one delete,
    one bulk insert)."""
    if not pool.mass:
        return
    days = len(pool.mass[0][2])
    dates = np.datetime64(start.date(), "D") + np.arange(days)
    day_list = dates.astype(object).tolist()
    codes = sorted({ref.site_code for ref, *_ in pool.mass})
    rows: list[list[Any]] = []
    for ref, pol, mass, missing in pool.mass:
        rows += [
            [ref.site_code, ref.outlet_id, pol, d, float(m), int(n)]
            for d, m, n in zip(day_list, mass.tolist(), missing.tolist(), strict=True)
        ]
    with store.transaction() as tx:
        for i in range(0, len(codes), 500):
            chunk = codes[i : i + 500]
            marks = ", ".join("?" for _ in chunk)
            tx.execute(
                f"DELETE FROM source_mass_daily WHERE site_code IN ({marks}) "  # noqa: S608
                "AND day >= ? AND day <= ?",
                [*chunk, day_list[0], day_list[-1]],
            )
        tx.insert_rows(
            "source_mass_daily",
            ("site_code", "outlet_id", "pollutant", "day", "mass_t", "missing_hours"),
            rows,
        )


def _caps(
    store: Store, ruleset: RuleSet, permits: Sequence[Permit], end_day: dt.date,
    first_day: dt.date,
) -> list[Finding]:  # fmt: skip
    """CAP per site and pollutant with a permitted quantity, for each calendar year the run
    touches, from 1 January to the run's last day (or the year's end)."""
    out: list[Finding] = []
    capped = {(p.site_code, pol) for p in permits for pol in p.annual_caps}
    for year in range(first_day.year, end_day.year + 1):
        jan1 = dt.date(year, 1, 1)
        last = min(end_day, dt.date(year, 12, 31))
        n = (last - jan1).days + 1
        rows = store.query_columns(
            "SELECT site_code, pollutant, day, SUM(mass_t) AS mass_t, "
            "SUM(missing_hours) AS missing FROM source_mass_daily WHERE day >= ? AND day <= ? "
            "GROUP BY site_code, pollutant, day",
            [jan1, last],
        )
        if not len(rows.get("site_code", ())):
            continue
        days = (rows["day"].astype("datetime64[D]") - np.datetime64(jan1, "D")).astype(np.int64)
        for site, pol in sorted(capped):
            sel = (rows["site_code"] == site) & (rows["pollutant"] == pol)
            if not sel.any():
                continue
            daily = np.zeros(n)
            np.add.at(daily, days[sel], rows["mass_t"][sel])
            missing = int(np.nansum(rows["missing"][sel]))
            with_data = len(np.unique(days[sel]))
            out += quantity.check_caps(permits, site, pol, daily, jan1, ruleset, missing,
                                       with_data)  # fmt: skip
    return out


class _Spans:
    """Stored spans of one event identity, sorted by start: which one a new span overlaps or
    touches, in O(log n + overlapping) instead of a scan."""

    def __init__(self) -> None:
        self.starts: list[dt.datetime] = []
        self.items: list[tuple[dt.datetime, str]] = []  # (end, event key), same order
        self.longest = dt.timedelta(0)

    def add(self, start: dt.datetime, end: dt.datetime, key: str) -> None:
        i = bisect.bisect_right(self.starts, start)
        self.starts.insert(i, start)
        self.items.insert(i, (end, key))
        self.longest = max(self.longest, end - start)

    def touching(self, start: dt.datetime, end: dt.datetime) -> str | None:
        j = bisect.bisect_right(self.starts, end) - 1
        while j >= 0 and self.starts[j] >= start - self.longest:
            if self.items[j][0] >= start:
                return self.items[j][1]
            j -= 1
        return None


def _identity(f: Finding | dict[str, Any]) -> tuple[str, ...]:
    if isinstance(f, Finding):
        return (f.rule_id, f.outlet.site_code, f.outlet.outlet_id, f.pollutant,
                str(f.measured.get("level", "")))  # fmt: skip
    level = json.loads(f["body"])["measured"].get("level", "") if f["body"] else ""
    return (f["rule_id"], f["site_code"], f["outlet_id"], f["pollutant"], str(level))


def _persist(
    store: Store, findings: Sequence[Finding], sites: Sequence[OutletSite], run_id: str,
    resolution: dict[OutletRef, str], now: dt.datetime,
) -> tuple[list[Finding], int]:  # fmt: skip
    """Store what is new; return the findings of new events and the number merged into
    stored events."""
    if not findings:
        return [], 0
    by_ref = {s.ref: s for s in sites}
    by_code = {s.ref.site_code: s for s in sites}
    lo = min(f.start for f in findings) - DAY
    hi = max(f.end for f in findings) + DAY
    stored = store.query(
        # the body (for the CAP level) only where it is needed: a year of findings is large
        "SELECT finding_key, event_key, rule_id, site_code, outlet_id, pollutant, start_ts, "
        "end_ts, CASE WHEN rule_id = 'CAP' THEN body END AS body FROM source_finding "
        "WHERE start_ts <= ? AND end_ts >= ?",
        [hi, lo],
    )
    have = {r["finding_key"] for r in stored}
    events: dict[tuple[str, ...], _Spans] = {}
    for r in stored:
        events.setdefault(_identity(r), _Spans()).add(r["start_ts"], r["end_ts"], r["event_key"])
    new_events: list[Finding] = []
    merged = 0
    rows = []
    keyed = sorted(((f.start, f.key, f) for f in findings), key=lambda x: (x[0], x[1]))
    for _, key, f in keyed:
        if key in have:
            continue
        have.add(key)
        ident = _identity(f)
        # Overlapping or adjacent span of the same identity: the same event, seen again.
        spans = events.setdefault(ident, _Spans())
        event = spans.touching(f.start, f.end)
        if event is None:
            event = key
            new_events.append(f)
        else:
            merged += 1
        spans.add(f.start, f.end, event)
        site = by_ref.get(f.outlet) or by_code.get(f.outlet.site_code)
        rows.append([
            key, event, f.rule_id, f.rule_version, f.ruleset_version, f.severity,
            f.outlet.site_code, f.outlet.outlet_id,
            site.site_id if site and f.outlet.outlet_id else None,
            f.outlet.site_code[:18], site.region if site else None, f.pollutant, f.start, f.end,
            f.permit_no or None, f.permit_version or None, f.message,
            json.dumps(f.as_dict(), ensure_ascii=False, default=str),
            resolution.get(f.outlet, "hour"), run_id, now,
        ])  # fmt: skip
    cols = ("finding_key", "event_key", "rule_id", "rule_version", "ruleset_version", "severity",
            "site_code", "outlet_id", "site_id", "uscc", "region", "pollutant", "start_ts",
            "end_ts", "permit_no", "permit_version", "message", "body", "resolution", "run_id",
            "found_at")  # fmt: skip
    if rows:
        with store.transaction() as tx:
            tx.insert_rows("source_finding", cols, rows)
    return new_events, merged


def run_checks(
    store: Store,
    start: dt.datetime,
    end: dt.datetime,
    ruleset: RuleSet | None = None,
    *,
    now: dt.datetime | None = None,
    policy: Policy | None = None,
    options: CheckOptions | None = None,
    sender: notify.Sender | None = None,
    site_ids: Sequence[str] | None = None,
) -> RunReport:
    """Check every outlet over ``[start, end)`` (extended to whole days); see module doc.

    Parameters
    ----------
    ruleset : RuleSet, optional
        Default: the packaged rule-set (:func:`~bishui.sources.rules.load_ruleset`).
    now : datetime, optional
        Time recorded on findings, alerts and tasks (naive Beijing; default now).
    site_ids : sequence of str, optional
        Check only these outlets (tests, a re-check of one enterprise).
    """
    ruleset = ruleset or load_ruleset()
    options = options or CheckOptions()
    at = (now or now_beijing()).replace(tzinfo=None, microsecond=0)
    t0 = now_beijing().replace(tzinfo=None, microsecond=0)
    first, days = _day_span(start, end)
    if days > 366:
        raise InputError("end", "at most 366 days after start", end.isoformat())
    permits = load_permits(store)
    sites = outlet_sites(store, permits, site_ids)
    minute_ids = sites_with_minutes(store, [s.site_id for s in sites], first,
                                    first + days * DAY)  # fmt: skip
    by_res = {"min": [s for s in sites if s.site_id in minute_ids],
              "hour": [s for s in sites if s.site_id not in minute_ids]}  # fmt: skip
    resolution = {s.ref: p for p, group in by_res.items() for s in group}
    pool = _Pool()
    findings: list[Finding] = []
    for period, group in by_res.items():
        size = options.block_outlets_min if period == "min" else options.block_outlets_hour
        for i in range(0, len(group), size):
            findings += _run_block(store, ruleset, permits, group[i : i + size], period, first,
                                   days, options, pool)  # fmt: skip
    for (_period, pol), items in sorted(pool.twins.items()):
        refs = [r for r, _ in items]
        sig = np.stack([s for _, s in items]) if items else np.zeros((0, days), np.uint64)
        findings += fraud.check_twins(ruleset, refs, pol, first, sig)
    _store_mass(store, pool, first)
    findings += _caps(store, ruleset, permits, (first + days * DAY).date() - DAY, first.date())
    run_id = uuid.uuid4().hex[:16]
    new, merged = _persist(store, findings, sites, run_id, resolution, at)
    alerts: list[Any] = []
    tasks: list[Any] = []
    if options.raise_alerts and new:
        regions = {s.ref.site_code: s.region for s in sites}
        alerts, tasks = enf.raise_alerts(store, new, regions, now=at, policy=policy,
                                         options=options.loop, sender=sender)  # fmt: skip
    new_alerts = [a for a in alerts if a.created == at]
    with store.transaction() as tx:
        tx.execute("INSERT INTO source_run (id, started_at, finished_at, period_start, period_end, "
            "ruleset_version, outlets, findings, new_findings, alerts, tasks) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, t0, now_beijing().replace(tzinfo=None, microsecond=0), first,
             first + days * DAY, ruleset.version, len(sites), len(findings), len(new),
             len(new_alerts), len(tasks)],
        )  # fmt: skip
    return RunReport(run_id, first, first + days * DAY, ruleset.version, len(sites),
                     {k: len(v) for k, v in by_res.items()}, findings, new, merged,
                     len(new_alerts), [t.id for t in tasks])  # fmt: skip


def checked_until(store: Store) -> dt.datetime | None:
    """End of the latest period any check run covered (None before the first run)."""
    t = store.query("SELECT MAX(period_end) AS t FROM source_run")[0]["t"]
    return None if t is None else dt.datetime.fromisoformat(str(t)).replace(tzinfo=None)


def run_checks_span(
    store: Store, start: dt.datetime, end: dt.datetime, *, chunk_days: int = 366,
    **kwargs: Any,
) -> list[RunReport]:  # fmt: skip
    """:func:`run_checks` over a span of any length, in runs of at most *chunk_days* days."""
    first, days = _day_span(start, end)
    out = []
    a = first
    stop = first + days * DAY
    while a < stop:
        b = min(a + chunk_days * DAY, stop)
        out.append(run_checks(store, a, b, **kwargs))
        a = b
    return out


def refresh(
    store: Store, now: dt.datetime | None = None, *, days: int = 2,
    every: dt.timedelta = dt.timedelta(hours=1), sender: notify.Sender | None = None,
    policy: Policy | None = None,
) -> RunReport | None:  # fmt: skip
    """The periodic task: check the last *days* complete days before *now* (at most once per
    *every* for the same days: the platform calls its refresh hooks every minute), then
    escalate overdue tasks. Safe to call as often as wanted (nothing is found twice).

    Catch-up: when the last run ended before those days (the platform was down, or the first
    run covered less), every unchecked day since the end of the last run is checked too, in
    runs of at most a year, so the year-to-date masses the CAP rule judges have no hole.

    Returns the last run's report, or None when the same days were checked less than *every*
    ago (wall-clock Beijing time of the last run's end).
    """
    at = (now or now_beijing()).replace(tzinfo=None, microsecond=0)
    end = dt.datetime.combine(at.date(), dt.time())
    sender = sender or notify.LoggingSender()
    start = end - days * DAY
    until = checked_until(store)
    report = None
    if until is not None and until < start:
        runs = run_checks_span(store, until, end, now=at, policy=policy, sender=sender)
        report = runs[-1] if runs else None
    else:
        last = store.query(
            "SELECT MAX(finished_at) AS t FROM source_run "
            "WHERE period_start = ? AND period_end = ?",
            [start, end],
        )[0]["t"]
        wall = now_beijing().replace(tzinfo=None)
        if last is None or wall - last >= every:
            report = run_checks(store, start, end, now=at, policy=policy, sender=sender)
    enf.escalate(store, at, policy, sender)
    return report


# ---------------------------------------------------------------- reading findings
FINDING_COLUMNS = (
    "finding_key, event_key, rule_id, rule_version, ruleset_version, severity, site_code, "
    "outlet_id, site_id, uscc, region, pollutant, start_ts, end_ts, permit_no, permit_version, "
    "message, resolution, found_at"
)


def list_findings(
    store: Store, where: str = "TRUE", params: Sequence[Any] = (), *,
    start: dt.datetime | None = None, end: dt.datetime | None = None,
    site: str | None = None, rule: str | None = None, severity: str | None = None,
    pollutant: str | None = None, limit: int = 100, offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """Stored findings overlapping ``[start, end)`` with the filters; newest first.

    *site* matches a registry site id (outlet), a site code or a credit code.
    """
    cond, args = [where], list(params)
    if start is not None:
        cond.append("end_ts > ?")
        args.append(start)
    if end is not None:
        cond.append("start_ts < ?")
        args.append(end)
    if site:
        cond.append("(site_id = ? OR site_code = ? OR uscc = ?)")
        args += [site, site, site]
    for col, v in (("rule_id", rule), ("severity", severity), ("pollutant", pollutant)):
        if v:
            cond.append(f"{col} = ?")
            args.append(v)
    w = " AND ".join(cond)
    total, rows = store.page(
        f"SELECT {FINDING_COLUMNS} FROM source_finding WHERE {w} "  # noqa: S608
        "ORDER BY start_ts DESC, finding_key",
        args,
        limit=limit,
        offset=offset,
    )
    return total, rows


def get_finding(store: Store, key: str) -> dict[str, Any] | None:
    rows = store.query(
        f"SELECT {FINDING_COLUMNS}, body FROM source_finding WHERE finding_key = ?",  # noqa: S608
        [key],
    )
    if not rows:
        return None
    r = rows[0]
    return {**r, "body": json.loads(r["body"])}


def parse_period(text: str) -> tuple[dt.datetime, dt.datetime]:
    """``2026`` | ``2026-11`` | ``2026-11-20`` → ``[start, end)`` (naive Beijing time)."""
    s = (text or "").strip()
    try:
        if len(s) == 4:
            y = int(s)
            return dt.datetime(y, 1, 1), dt.datetime(y + 1, 1, 1)
        if len(s) == 7:
            y, m = int(s[:4]), int(s[5:7])
            a = dt.datetime(y, m, 1)
            return a, dt.datetime(y + m // 12, m % 12 + 1, 1)
        d = dt.date.fromisoformat(s)
        a = dt.datetime.combine(d, dt.time())
        return a, a + DAY
    except ValueError:
        raise InputError("period", "YYYY, YYYY-MM or YYYY-MM-DD", text) from None


def cap_usage(
    store: Store,
    on: dt.date,
    *,
    usccs: Sequence[str] | None = None,
    levels: Sequence[float] = (0.8, 0.9, 1.0),
) -> list[dict[str, Any]]:
    """Year-to-date emitted mass against each annual permitted quantity, as of *on*.

    One row per permit in force on *on* and capped pollutant: the cap [t/a], the mass emitted
    from 1 January to *on* [t] (``source_mass_daily``, the same sums the CAP rule judges), the
    share used, the levels reached with their dates, and the date the cap will be reached at
    the last 30 days' rate (:func:`bishui.sources.quantity.cap_status`), and the coverage the
    total rests on: ``days_with_data`` / ``days_elapsed`` (a total over a partly checked year
    says so). *usccs* limits the rows to those enterprises (a caller's scope).
    """
    jan1 = dt.date(on.year, 1, 1)
    n = (on - jan1).days + 1
    permits = [p for p in load_permits(store) if p.is_in_force(on) and p.annual_caps]
    if usccs is not None:
        allowed = set(usccs)
        permits = [p for p in permits if p.uscc in allowed]
    rows = store.query_columns(
        "SELECT site_code, pollutant, day, SUM(mass_t) AS mass_t FROM source_mass_daily "
        "WHERE day >= ? AND day <= ? GROUP BY site_code, pollutant, day",
        [jan1, on],
    )
    have = len(rows.get("site_code", ()))
    days = (
        (rows["day"].astype("datetime64[D]") - np.datetime64(jan1, "D")).astype(np.int64)
        if have
        else np.zeros(0, dtype=np.int64)
    )
    out: list[dict[str, Any]] = []
    for p in permits:
        for pol, cap in sorted(p.annual_caps.items()):
            daily = np.zeros(n)
            with_data = 0
            if have:
                sel = (rows["site_code"] == p.site_code) & (rows["pollutant"] == pol)
                np.add.at(daily, days[sel], rows["mass_t"][sel])
                with_data = len(np.unique(days[sel]))
            st = quantity.cap_status(daily, jan1, cap, levels, days_with_data=with_data)
            out.append({
                "permit_no": p.permit_no, "version": p.version, "uscc": p.uscc,
                "enterprise": p.enterprise, "pollutant": pol, "cap_t": str(st.cap_t),
                "total_t": str(st.total_t), "share": round(st.share, 4),
                "reached": [{"level": lv, "date": d.isoformat(), "total_t": str(t)}
                            for lv, d, t in st.crossings],
                "projected": st.projected.isoformat() if st.projected else None,
                "as_of": on.isoformat(), "days_with_data": st.days_with_data,
                "days_elapsed": st.days_elapsed, "coverage": st.coverage,
            })  # fmt: skip
    return out


def annual_mass(
    store: Store, year: int, pollutant_codes: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Each site's emitted mass of a calendar year from online monitoring, per pollutant: the
    sum of ``source_mass_daily`` (the same daily masses the CAP rule judges) in integer grams
    (:func:`bishui.sources.quantity.grams` per day, then an exact sum), with the days that have
    data and the missing hours — what a reduction account needs to say how complete the figure
    is (issue 18 item 2)."""
    codes = list(pollutant_codes or [])
    where = "day >= ? AND day <= ?"
    params: list[Any] = [dt.date(year, 1, 1), dt.date(year, 12, 31)]
    if codes:
        where += f" AND pollutant IN ({', '.join('?' for _ in codes)})"
        params += codes
    rows = store.query_columns(
        "SELECT site_code, pollutant, day, SUM(mass_t) AS mass_t, "  # noqa: S608
        f"SUM(missing_hours) AS missing FROM source_mass_daily WHERE {where} "
        "GROUP BY site_code, pollutant, day ORDER BY site_code, pollutant, day",
        params,
    )
    if not len(rows.get("site_code", ())):
        return []
    g = quantity.grams(rows["mass_t"].astype(np.float64))
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for site, pol, grams_, miss in zip(
        rows["site_code"].tolist(), rows["pollutant"].tolist(), g.tolist(),
        rows["missing"].tolist(), strict=True,
    ):  # fmt: skip
        r = out.setdefault((site, pol), {"site_code": site, "pollutant": pol, "grams": 0,
                                         "days_with_data": 0, "missing_hours": 0})  # fmt: skip
        r["grams"] += int(grams_)
        r["days_with_data"] += 1
        r["missing_hours"] += int(miss)
    return list(out.values())
