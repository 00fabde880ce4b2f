"""The platform's own hourly and daily values, with their valid-data counts.

Hourly values are computed from minute data (2051), as HJ 212-2017 Appendix D derives hourly
from minute values; real-time data (2011) is for display and is not aggregated. Daily values
are computed from hourly data. Only valid values (flag N) enter a mean; ``n_valid`` records
how many did, and the result is valid when the site kind's rule
(``data/aggregation-rules.toml``) is met. Results are stored with ``origin = 'platform'``
beside whatever the logger sent for the same period, which is kept too. Recomputing a window
replaces the platform's values for it (idempotent).

For a day, the logger's own hourly value is preferred over the platform's where both exist.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from dataclasses import dataclass
from importlib import resources

import numpy as np

from bishui.store import Store


@dataclass(frozen=True, slots=True)
class Rule:
    hour_expected: int
    hour_min_valid: int
    day_expected: int
    day_min_valid: int
    source: str


@functools.cache
def rules() -> dict[str, Rule]:
    """Site kind → validity rule (editable data file; docs/ingest.md)."""
    with resources.files("bishui.ingest").joinpath("data/aggregation-rules.toml").open("rb") as f:
        data = tomllib.load(f)
    return {kind: Rule(**v) for kind, v in data.items()}


_HOUR_SQL = """
SELECT m.site_id, m.parameter, date_trunc('hour', m.ts) AS ts,
       AVG(m.value) FILTER (WHERE m.valid) AS value,
       MIN(m.value) FILTER (WHERE m.valid) AS vmin,
       MAX(m.value) FILTER (WHERE m.valid) AS vmax,
       SUM(m.cou) FILTER (WHERE m.valid) AS cou,
       COUNT(*) FILTER (WHERE m.valid) AS n_valid
FROM measurement m JOIN sites s ON s.id = m.site_id
WHERE s.kind = ? AND m.period = ? AND m.origin = 'logger' AND m.ts >= ? AND m.ts < ?
GROUP BY m.site_id, m.parameter, date_trunc('hour', m.ts)
"""

# The logger's own hourly value where there is one, else the platform's (an anti-join rather
# than DISTINCT ON: a hash join where a sort of the whole year would be needed).
_DAY_SQL = """
WITH h AS (
    SELECT m.site_id, m.parameter, m.ts, m.value, m.valid
    FROM measurement m
    WHERE m.period = 'hour' AND m.origin = 'logger' AND m.ts >= ? AND m.ts < ?
    UNION ALL
    SELECT p.site_id, p.parameter, p.ts, p.value, p.valid
    FROM measurement p
    WHERE p.period = 'hour' AND p.origin = 'platform' AND p.ts >= ? AND p.ts < ?
      AND NOT EXISTS (SELECT 1 FROM measurement l WHERE l.period = 'hour'
                      AND l.origin = 'logger' AND l.site_id = p.site_id
                      AND l.parameter = p.parameter AND l.ts = p.ts)
)
SELECT h.site_id, h.parameter, s.kind, date_trunc('day', h.ts) AS ts,
       AVG(h.value) FILTER (WHERE h.valid) AS value,
       MIN(h.value) FILTER (WHERE h.valid) AS vmin,
       MAX(h.value) FILTER (WHERE h.valid) AS vmax,
       CAST(NULL AS DOUBLE PRECISION) AS cou,
       COUNT(*) FILTER (WHERE h.valid) AS n_valid
FROM h JOIN sites s ON s.id = h.site_id
GROUP BY h.site_id, h.parameter, s.kind, date_trunc('day', h.ts)
"""


def _write(
    store: Store,
    period: str,
    cols: dict[str, np.ndarray],
    min_valid: np.ndarray | int,
    now: dt.datetime,
) -> int:
    n = len(cols.get("site_id", ()))
    if n == 0:
        return 0
    n_valid = np.nan_to_num(cols["n_valid"].astype(np.float64)).astype(np.int32)
    valid = n_valid >= min_valid
    out = {
        "site_id": cols["site_id"].astype(object),
        "parameter": cols["parameter"].astype(object),
        "period": np.full(n, period, dtype=object),
        "ts": cols["ts"].astype("datetime64[us]"),
        "origin": np.full(n, "platform", dtype=object),
        "value": cols["value"].astype(np.float64),
        "vmin": cols["vmin"].astype(np.float64),
        "vmax": cols["vmax"].astype(np.float64),
        "cou": cols["cou"].astype(np.float64),
        "flag": np.full(n, None, dtype=object),
        "valid": valid,
        "n_valid": n_valid,
        "source": np.full(n, "aggregate", dtype=object),
        "received_at": np.full(n, np.datetime64(now, "us")),
    }
    return store.write_measurements(out)


def hourly(store: Store, start: dt.datetime, end: dt.datetime, *, now: dt.datetime) -> int:
    """Compute platform hourly values for hours in ``[start, end)`` from minute data."""
    written = 0
    for kind, rule in rules().items():
        cols = store.query_columns(_HOUR_SQL, [kind, "min", start, end])
        written += _write(store, "hour", cols, rule.hour_min_valid, now)
    return written


def daily(store: Store, start: dt.date, end: dt.date, *, now: dt.datetime) -> int:
    """Compute platform daily values for days in ``[start, end)`` from hourly data."""
    a = dt.datetime.combine(start, dt.time())
    b = dt.datetime.combine(end, dt.time())
    cols = store.query_columns(_DAY_SQL, [a, b, a, b])
    if not len(cols.get("site_id", ())):
        return 0
    need = {kind: r.day_min_valid for kind, r in rules().items()}
    min_valid = np.array([need.get(k, 24) for k in cols["kind"]], dtype=np.int32)
    return _write(store, "day", cols, min_valid, now)
