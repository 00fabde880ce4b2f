"""Reading air data out of the store as arrays: stations, scopes and hourly cubes.

The thin shell under :mod:`bishui.air.service`. The read model (:mod:`bishui.readings`) returns
integer indexes (station, pollutant), times and values as typed arrays (binary on PostgreSQL);
numpy scatters them into a ``(pollutants, stations, hours)`` cube in one step, so a year of 100
stations is never walked row by row in Python.

Which hourly value counts (docs/air.md, "The service"):

* ``period = 'hour'`` rows of the six HJ 212 codes (a21026 SO2, a21004 NO2, a34002 PM10,
  a34004 PM2.5, a21005 CO [mg/m³], a05024 O3);
* the logger's value where the logger sent one, else the platform's own hourly value (computed
  from minute data) — the read model's one origin order, narrowed to the automatic network
  (uploads are not read); the logger's row decides even when it is marked invalid, as in
  ``bishui.ingest.aggregate.daily``;
* only ``valid = true`` rows count; a stored value below zero is treated as invalid (a broken
  reading must not stop the city's report; the pure core refuses negatives outright).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from bishui import readings
from bishui.air.period import HOURLY_KEYS
from bishui.registry.model import Site
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

    stations: tuple[Site, ...]
    scopes: tuple[Scope, ...]

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.stations]

    def of_kind(self, *kinds: str) -> list[Scope]:
        return [s for s in self.scopes if s.kind in kinds]


def network(store: Store, *, stations: list[str] | None = None) -> Network:
    """The air stations and scopes: each station, each region with stations, and the city.

    The city's value is the mean of its **assessment** stations (``sites.assessment``; HJ 663
    "城市点位"). A county's (district's, zone's) value is the mean of all the air stations in
    that region: counties have no national assessment stations of their own (interpretation 17).
    """
    rows = readings.sites(store, "kind = 'air'")
    if stations is not None:
        wanted = set(stations)
        rows = [r for r in rows if r.id in wanted]
    regions = {r["code"]: r for r in store.query("SELECT code, name, kind FROM regions", [])}
    scopes = [Scope("station", r.id, r.name, (i,)) for i, r in enumerate(rows)]
    by_region: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_region.setdefault(r.region, []).append(i)
    for code in sorted(by_region):
        name = regions.get(code, {}).get("name", code)
        scopes.append(Scope("county", code, name, tuple(by_region[code])))
    city = next((r for r in regions.values() if r["kind"] == "city"), None)
    members = tuple(i for i, r in enumerate(rows) if r.assessment)
    if members:
        code, name = (city["code"], city["name"]) if city else ("city", "city")
        scopes.append(Scope("city", code, name, members))
    return Network(tuple(rows), tuple(scopes))


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
    # One value per (station, pollutant, hour) by the read model's origin precedence, from the
    # automatic network only (bishui.readings.KIND_ORIGINS["air"]).
    r = readings.select(
        store,
        station_ids,
        [CODES[k] for k in HOURLY_KEYS],
        start,
        start + dt.timedelta(hours=hours),
        origins=readings.KIND_ORIGINS["air"],
        ordered=False,
    )
    if not len(r):
        return dict(zip(HOURLY_KEYS, cube, strict=True))
    h = (r.ts - np.datetime64(start, "us")) // np.timedelta64(1, "h")
    with np.errstate(invalid="ignore"):
        ok = r.valid & (r.value >= 0)  # NaN (NULL) compares False
    cube[r.parameter, r.site, h.astype(np.int64)] = np.where(ok, r.value, np.nan)
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
    # The origins the air service reads (an upload's later hour is not a report's hour).
    origins = readings.KIND_ORIGINS["air"]
    omarks = ", ".join("?" for _ in origins)
    rows = store.query(
        "SELECT MAX(ts) AS ts FROM measurement WHERE period = 'hour' "  # noqa: S608 - placeholders
        f"AND site_id IN ({marks}) AND parameter IN ({pmarks}) AND origin IN ({omarks}) "
        "AND ts < ?",
        [*station_ids, *codes, *origins, before or dt.datetime(9999, 1, 1)],
    )
    ts = rows[0]["ts"] if rows else None
    return ts if isinstance(ts, dt.datetime) else None
