"""Reading air data out of the store as arrays: stations, scopes and hourly cubes.

The thin shell under :mod:`bishui.air.service`. SQL returns integer indexes (station, hour,
pollutant) and values; numpy scatters them into a ``(pollutants, stations, hours)`` cube in one
step, so a year of 100 stations is never walked row by row in Python.

Which hourly value counts (docs/air.md, "The service"):

* ``period = 'hour'`` rows of the six HJ 212 codes (a21026 SO2, a21004 NO2, a34002 PM10,
  a34004 PM2.5, a21005 CO [mg/m³], a05024 O3);
* the logger's value where the logger sent one, else the platform's own hourly value (computed
  from minute data) — the logger's row decides even when it is marked invalid, as in
  ``bishui.ingest.aggregate.daily``;
* only ``valid = true`` rows count; a stored value below zero is treated as invalid (a broken
  reading must not stop the city's report; the pure core refuses negatives outright).
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from bishui.air.period import HOURLY_KEYS
from bishui.store import Store

FloatArray = npt.NDArray[np.float64]

#: HJ 212 code of each pollutant key, in :data:`bishui.air.period.HOURLY_KEYS` order.
CODES: dict[str, str] = {
    "SO2": "a21026", "NO2": "a21004", "PM10": "a34002", "PM2.5": "a34004",
    "CO": "a21005", "O3": "a05024",
}  # fmt: skip

ScopeKind = Literal["station", "county", "city"]
SCOPE_KINDS: tuple[ScopeKind, ...] = ("station", "county", "city")


@dataclass(frozen=True, slots=True)
class Scope:
    """A station, a county (or district, functional zone) or the city, and its stations.

    ``members`` index into :attr:`Network.stations`.
    """

    kind: ScopeKind
    code: str
    name: str
    members: tuple[int, ...]


@dataclass(frozen=True)
class Network:
    """The city's air stations and the scopes reports are published for."""

    stations: tuple[dict[str, Any], ...]
    scopes: tuple[Scope, ...]

    @property
    def ids(self) -> list[str]:
        return [s["id"] for s in self.stations]

    def of_kind(self, *kinds: str) -> list[Scope]:
        return [s for s in self.scopes if s.kind in kinds]


def network(store: Store, *, stations: list[str] | None = None) -> Network:
    """The air stations and scopes: each station, each region with stations, and the city.

    The city's value is the mean of its **assessment** stations (``sites.assessment``; HJ 663
    "城市点位"). A county's (district's, zone's) value is the mean of all the air stations in
    that region: counties have no national assessment stations of their own (interpretation 17).
    """
    rows = store.query(
        "SELECT id, name, region, assessment FROM sites WHERE kind = 'air' ORDER BY id", []
    )
    if stations is not None:
        wanted = set(stations)
        rows = [r for r in rows if r["id"] in wanted]
    regions = {r["code"]: r for r in store.query("SELECT code, name, kind FROM regions", [])}
    scopes = [Scope("station", r["id"], r["name"], (i,)) for i, r in enumerate(rows)]
    by_region: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_region.setdefault(r["region"], []).append(i)
    for code in sorted(by_region):
        name = regions.get(code, {}).get("name", code)
        scopes.append(Scope("county", code, name, tuple(by_region[code])))
    city = next((r for r in regions.values() if r["kind"] == "city"), None)
    members = tuple(i for i, r in enumerate(rows) if r["assessment"])
    if members:
        code, name = (city["code"], city["name"]) if city else ("city", "city")
        scopes.append(Scope("city", code, name, members))
    return Network(tuple(rows), tuple(scopes))


def _arrays(store: Store, sql: str, params: list[Any]) -> dict[str, np.ndarray]:
    """Result columns as numpy arrays; DuckDB hands them over without Python rows."""
    # DuckDB's query_columns hands over its numpy result directly (NULL numbers as NaN).
    return store.query_columns(sql, params)


def _pg_array(buf: Any, dtype: str) -> np.ndarray:
    """A 1-D PostgreSQL array in its binary send format (``array_send``), without NULLs."""
    b = bytes(buf)
    ndim, _hasnull, _oid = struct.unpack(">iii", b[:12])
    if ndim == 0:
        return np.empty(0, dtype=dtype.replace(">", "<"))
    (n,) = struct.unpack(">i", b[12:16])
    rec = np.frombuffer(b, dtype=[("len", ">i4"), ("x", dtype)], count=n, offset=20)
    return rec["x"].astype(dtype.replace(">", "<"))


def _pg_columns(
    store: Store, sql: str, params: list[Any], station_ids: list[str]
) -> dict[str, np.ndarray]:
    """Rows of (station, pollutant, binary arrays) → the flat columns of the DuckDB path."""
    rows = store.query(sql, params)
    if not rows:
        return {}
    index = {sid: i for i, sid in enumerate(station_ids)}
    h = [_pg_array(r["h"], ">i8") for r in rows]
    n = np.array([len(x) for x in h])
    return {
        "s": np.repeat([index[r["site_id"]] for r in rows], n),
        "p": np.repeat([r["p"] for r in rows], n),
        "h": np.concatenate(h),
        "value": np.concatenate([_pg_array(r["value"], ">f8") for r in rows]),
        "logger": np.concatenate([_pg_array(r["logger"], ">i4") for r in rows]),
    }


def hourly_cube(
    store: Store, station_ids: list[str], start: dt.datetime, hours: int
) -> dict[str, FloatArray]:
    """Hourly values of *station_ids* for ``start <= ts < start + hours``.

    Parameters
    ----------
    store : Store
    station_ids : list of str
        Row order of the result.
    start : datetime
        Start of the first hour (naive Beijing time; the store labels an hour by its start).
    hours : int
        Number of hours.

    Returns
    -------
    dict pollutant → numpy.ndarray, shape (stations, hours)
        Keys :data:`bishui.air.period.HOURLY_KEYS` [µg/m³; CO mg/m³]; NaN where no valid value.
    """
    cube = np.full((len(HOURLY_KEYS), len(station_ids), hours), np.nan)
    if not station_ids or hours <= 0:
        return dict(zip(HOURLY_KEYS, cube, strict=True))
    site_values = ", ".join("(?, ?)" for _ in station_ids)
    cases = " ".join("WHEN ? THEN ?" for _ in HOURLY_KEYS)
    hour_sql = "CAST(FLOOR(EXTRACT(EPOCH FROM (m.ts - CAST(? AS TIMESTAMP))) / 3600) AS INTEGER)"
    value_sql = "CASE WHEN m.valid AND m.value >= 0 THEN m.value END"
    origin_sql = "CASE WHEN m.origin = 'logger' THEN 1 ELSE 0 END"
    where = (
        "m.period = 'hour' AND m.origin IN ('logger', 'platform') "
        f"AND m.parameter IN ({', '.join('?' for _ in HOURLY_KEYS)}) AND m.ts >= ? AND m.ts < ?"
    )
    params: list[Any] = [start]
    for i, key in enumerate(HOURLY_KEYS):
        params += [CODES[key], i]
    window = [*(CODES[k] for k in HOURLY_KEYS), start, start + dt.timedelta(hours=hours)]
    if store.dialect == "postgresql":
        # One row per (station, pollutant) with its hours, values and origins as binary
        # arrays: psycopg hands over bytes, not a Python object per value. Stations are
        # selected with IN, not joined: a join planned on stale statistics (right after a
        # bulk load) becomes a nested loop over every row.
        marks = ", ".join("?" for _ in station_ids)
        sql = (
            # ts travels as PostgreSQL's binary timestamp (µs since 2000-01-01): no per-row
            # numeric arithmetic on the server.
            "SELECT m.site_id, array_send(array_agg(m.ts)) AS h, "  # noqa: S608 - placeholders
            f"CASE m.parameter {cases} END AS p, array_send(array_agg(COALESCE({value_sql}, "
            "CAST('NaN' AS DOUBLE PRECISION)))) AS value, "
            f"array_send(array_agg({origin_sql})) AS logger FROM measurement m "
            f"WHERE m.site_id IN ({marks}) AND {where} GROUP BY m.site_id, m.parameter"
        )
        cols = _pg_columns(store, sql, [*params[1:], *station_ids, *window], station_ids)
        epoch = (start - dt.datetime(2000, 1, 1)) // dt.timedelta(microseconds=1)
        cols["h"] = (cols.get("h", np.zeros(0, np.int64)) - epoch) // 3_600_000_000
    else:
        sql = (
            f"SELECT v.idx AS s, {hour_sql} AS h, CASE m.parameter {cases} END AS p, "  # noqa: S608
            f"{value_sql} AS value, {origin_sql} AS logger "
            f"FROM measurement m JOIN (VALUES {site_values}) AS v(site_id, idx) "
            f"ON m.site_id = v.site_id WHERE {where}"
        )
        for i, sid in enumerate(station_ids):
            params += [sid, i]
        cols = _arrays(store, sql, [*params, *window])
    if len(cols.get("s", ())) == 0:
        return dict(zip(HOURLY_KEYS, cube, strict=True))
    s = np.asarray(cols["s"], dtype=np.int64)
    h = np.asarray(cols["h"], dtype=np.int64)
    p = np.asarray(cols["p"], dtype=np.int64)
    v = np.asarray(cols["value"], dtype=np.float64)
    logger = np.asarray(cols["logger"], dtype=np.int64) == 1
    # The platform's values first, the logger's over them: the logger's row wins its key.
    for sel in (~logger, logger):
        cube[p[sel], s[sel], h[sel]] = v[sel]
    return dict(zip(HOURLY_KEYS, cube, strict=True))


def latest_hour(
    store: Store, station_ids: list[str], before: dt.datetime | None = None
) -> dt.datetime | None:
    """Start of the newest hour with any air pollutant value at these stations.

    Hours starting at or after *before* are ignored (a logger with its clock ahead must not
    move the real-time report into the future).
    """
    if not station_ids:
        return None
    marks = ", ".join("?" for _ in station_ids)
    codes = list(CODES.values())
    pmarks = ", ".join("?" for _ in codes)
    rows = store.query(
        "SELECT MAX(ts) AS ts FROM measurement WHERE period = 'hour' "  # noqa: S608 - placeholders
        f"AND site_id IN ({marks}) AND parameter IN ({pmarks}) AND ts < ?",
        [*station_ids, *codes, before or dt.datetime(9999, 1, 1)],
    )
    ts = rows[0]["ts"] if rows else None
    return ts if isinstance(ts, dt.datetime) else None
