"""Retention of minute data, and the store's periodic maintenance.

Minute (2051) and real-time (2011) values older than ``platform.minute_retention_days`` are
removed; hourly and daily values — the platform's and the loggers' — are kept for ever. Nothing
is removed that the aggregation has not yet turned into hourly values: an hour of a logger's
minute data at a site of a kind the aggregation covers (``data/aggregation-rules.toml``) counts
as aggregated when the platform's hourly value for it exists and was computed after the hour's
last minute value was received (late minute data make an hour unaggregated again). Before it
removes anything, retention aggregates such hours (and their days) itself; an hour that still
does not count as aggregated stops the cut at that hour.

On PostgreSQL minute data live in monthly partitions (core migration 5) and are dropped a whole
month at a time (no row deleted one by one, nothing left for VACUUM): minute data are kept for
the retention period and up to a month more. DuckDB deletes the rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from bishui.ingest import aggregate
from bishui.store import Store

#: The aggregation state of the minute data before a time: every (site, code, hour) of a
#: logger's minute values whose platform hourly value is missing or older than the last
#: minute value received for it.
_UNAGGREGATED_SQL = """
WITH mins AS (
    SELECT m.site_id, m.parameter, date_trunc('hour', m.ts) AS hour,
           MAX(m.received_at) AS last_received
    FROM measurement m JOIN sites s ON s.id = m.site_id
    WHERE m.period = 'min' AND m.origin = 'logger' AND m.ts < ? AND s.kind IN ({kinds})
    GROUP BY m.site_id, m.parameter, date_trunc('hour', m.ts)
)
SELECT MIN(mins.hour) AS first, MAX(mins.hour) AS last, COUNT(*) AS n
FROM mins LEFT JOIN measurement p ON p.period = 'hour' AND p.origin = 'platform'
    AND p.site_id = mins.site_id AND p.parameter = mins.parameter AND p.ts = mins.hour
WHERE p.site_id IS NULL OR p.received_at < mins.last_received
"""


@dataclass
class RetentionReport:
    """What one retention pass did."""

    cutoff: dt.datetime | None  # minute data older than this were due (None: retention off)
    boundary: dt.datetime | None = None  # what was removed: everything before this
    partitions: list[str] = field(default_factory=list)  # PostgreSQL partitions dropped
    rows: int = 0  # rows deleted one by one (DuckDB; PostgreSQL's default partition)
    aggregated_hours: int = 0  # hours aggregated first (they were not yet)
    held_from: dt.datetime | None = None  # the first hour kept because it is not aggregated
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "cutoff": _iso(self.cutoff),
            "boundary": _iso(self.boundary),
            "partitions_dropped": self.partitions,
            "rows_deleted": self.rows,
            "hours_aggregated_first": self.aggregated_hours,
            "held_from": _iso(self.held_from),
            "dry_run": self.dry_run,
        }


def _iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.isoformat(sep=" ")


def unaggregated(store: Store, before: dt.datetime) -> tuple[dt.datetime | None, int]:
    """The first hour before *before* whose minute data the aggregation has not yet turned
    into the platform's hourly value (None: none), and how many (site, code, hour) are so."""
    first, _, n = _unaggregated(store, before)
    return first, n


def _unaggregated(
    store: Store, before: dt.datetime
) -> tuple[dt.datetime | None, dt.datetime | None, int]:
    kinds = sorted(aggregate.rules())
    sql = _UNAGGREGATED_SQL.format(kinds=", ".join("?" for _ in kinds))
    (row,) = store.query(sql, [before, *kinds])
    return row["first"], row["last"], int(row["n"] or 0)


def retention(
    store: Store,
    now: dt.datetime,
    days: int | None,
    *,
    aggregate_first: bool = True,
    dry_run: bool = False,
) -> RetentionReport:
    """Remove minute and real-time values older than *days* before *now* (Beijing time), never
    what is not yet aggregated (module docstring). *days* None: nothing is removed."""
    if days is None:
        return RetentionReport(cutoff=None, dry_run=dry_run)
    cutoff = now - dt.timedelta(days=days)
    report = RetentionReport(cutoff=cutoff, dry_run=dry_run)
    boundary = store.minute_retention_boundary(cutoff)
    first, last, n = _unaggregated(store, boundary)
    if n and aggregate_first and not dry_run and first is not None and last is not None:
        end = last + dt.timedelta(hours=1)
        aggregate.hourly(store, first, end, now=now)
        aggregate.daily(store, first.date(), end.date() + dt.timedelta(days=1), now=now)
        report.aggregated_hours = n
        first, _, n = _unaggregated(store, boundary)
    if n and first is not None:
        report.held_from = first
        boundary = min(boundary, store.minute_retention_boundary(first))
    report.boundary = boundary
    if not dry_run:
        done = store.drop_minute_data(boundary)
        report.partitions, report.rows = list(done["partitions"]), int(done["rows"])
    return report


#: How far ahead the maintenance pass creates the store's partitions [months].
PARTITIONS_AHEAD = 3


def maintain(store: Store, now: dt.datetime, minute_retention_days: int | None) -> dict[str, Any]:
    """The store's periodic maintenance: partitions for this month and the next
    :data:`PARTITIONS_AHEAD` (PostgreSQL; rows waiting in a default partition moved), then
    retention. What it did, by step."""
    start = dt.datetime(now.year, now.month, 1)
    end = start
    for _ in range(PARTITIONS_AHEAD + 1):
        end = dt.datetime(end.year + end.month // 12, end.month % 12 + 1, 1)
    created = store.ensure_partitions(start, end)
    report = retention(store, now, minute_retention_days)
    return {"partitions_created": created, "retention": report.as_dict()}
