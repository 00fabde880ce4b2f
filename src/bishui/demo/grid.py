"""The model city's grid sensors: micro-stations (微型站) over the central city and
construction-dust monitors (扬尘监测点) at building sites, publishing over MQTT.

Positions are schematic, like the rest of the model city's map: a 6 × 4 grid of micro-stations
over the central city (东宝区 north of 31.00° N, 掇刀区 south of it, as the model city's own
assumption), and dust monitors at fictional building sites in the central city and beside
the county towns' air stations. Their values follow the nearest air station of the model
(its hourly PM2.5 and PM10, the same synthetic weather and haze; the next nearest for an hour
the nearest has no value) with a local factor: a grid
station reads 0.85–1.25 × the station, a building site's PM10 1.3–1.9 × and its TSP
1.5–1.8 × its PM10. Synthetic, and labelled so (``source = 'synthetic'``; docs/grid.md).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bishui.demo.city import ModelCity
from bishui.demo.history import hour_range
from bishui.demo.synth import hours_of, key_of, normal
from bishui.grid.simulator import Sensor
from bishui.hj212.auth import generate_password
from bishui.registry import Device, DeviceParameter, Registry, Site, apply
from bishui.store import Store

CITY = "420800"
#: code → (unit, decimals, instrument range max); µg/m³ as ambient stations report (docs/grid.md)
GRID_PARAMETERS = {"a34004": ("μg/m³", 0, 1000.0), "a34002": ("μg/m³", 0, 2000.0)}
DUST_PARAMETERS = {**GRID_PARAMETERS, "a34001": ("μg/m³", 0, 5000.0)}
#: Days of hourly history written for the grid at each start (the live sensors continue it).
HISTORY_DAYS = 7
#: Building sites: (name, region, lon, lat) — fictional.
_DUST_SITES = [
    ("象山大道棚改项目工地", "420802", 112.214, 31.047),
    ("泉口路学校扩建工地", "420802", 112.187, 31.021),
    ("白庙安置房工地", "420804", 112.225, 30.968),
    ("掇刀物流园工地", "420804", 112.246, 30.958),
    ("漳河新区文旅项目工地", "420800-ZH", 112.151, 30.987),
    ("子陵铺道路工地", "420802", 112.170, 31.060),
    ("沙洋城区管网工地", "420822", 112.596, 30.712),
    ("沙洋汉江大道工地", "420822", 112.583, 30.700),
    ("钟祥郢中新城工地", "420881", 112.592, 31.174),
    ("钟祥莫愁湖片区工地", "420881", 112.575, 31.160),
    ("京山新市工业园工地", "420882", 113.120, 31.025),
    ("京山城南安置区工地", "420882", 113.106, 31.008),
]


@dataclass(frozen=True, slots=True)
class GridSite:
    site: Site
    device: Device
    #: the model's air stations its values follow, nearest first (the next one fills an hour
    #: the nearest has no value for: a sensor does not go silent with a station's analyser)
    stations: tuple[str, ...]
    factors: dict[str, float]


def _mn(kind: str, n: int) -> str:
    # 24 characters as HJ 212 MNs: 4208 · GR (grid) / YC (扬尘) · serial
    return f"4208{'GR' if kind == 'grid' else 'YC'}{n:018d}"


def build(model: ModelCity) -> list[GridSite]:
    """The model city's grid sensors (same seed, same grid)."""
    rng = random.Random(model.seed * 7 + 212)
    stations = [s for s in model.registry.sites if s.kind == "air" and s.lon and s.lat]

    def nearest(lon: float, lat: float) -> tuple[str, ...]:
        by = sorted(stations, key=lambda s: math.hypot(s.lon - lon, s.lat - lat))  # type: ignore[operator]
        return tuple(s.id for s in by[:3])

    out: list[GridSite] = []
    n = 0
    for row in range(4):
        for col in range(6):
            n += 1
            lon = round(112.150 + col * 0.020 + rng.uniform(-0.004, 0.004), 4)
            lat = round(30.965 + row * 0.027 + rng.uniform(-0.004, 0.004), 4)
            region = "420802" if lat > 31.0 else "420804"
            site = Site(id=f"WG{n:02d}", kind="grid", name=f"网格微站 {row + 1}-{col + 1}",
                        region=region, lon=lon, lat=lat, attrs={"model": True})  # fmt: skip
            f = rng.uniform(0.85, 1.25)
            out.append(_entry(site, "grid", n, nearest(lon, lat), {"a34004": f, "a34002": f}))
    for i, (name, region, lon, lat) in enumerate(_DUST_SITES, start=1):
        site = Site(id=f"YC{i:02d}", kind="dust", name=f"{name}（模拟）", region=region,
                    lon=lon, lat=lat, attrs={"model": True})  # fmt: skip
        pm10 = rng.uniform(1.3, 1.9)
        factors = {"a34004": rng.uniform(1.0, 1.2), "a34002": pm10,
                   "a34001": pm10 * rng.uniform(1.5, 1.8)}  # fmt: skip
        out.append(_entry(site, "dust", i, nearest(lon, lat), factors))
    return out


def _entry(
    site: Site, kind: str, n: int, stations: tuple[str, ...], factors: dict[str, float]
) -> GridSite:
    table = GRID_PARAMETERS if kind == "grid" else DUST_PARAMETERS
    device = Device(
        mn=_mn(kind, n),
        site_id=site.id,
        # HJ 212 needs a password; an MQTT sensor never sends one: a random one nobody holds
        pw=generate_password(),
        st="22" if kind == "grid" else "39",
        parameters=tuple(DeviceParameter(c, u, 0.0, hi) for c, (u, _, hi) in table.items()),
    )
    return GridSite(site, device, stations, factors)


def registry(grid: list[GridSite]) -> Registry:
    reg = Registry(sites=[g.site for g in grid], devices=[g.device for g in grid])
    return reg


def sensors(grid: list[GridSite]) -> list[Sensor]:
    """The simulator's sensors."""
    return [
        Sensor(g.device.mn, CITY, {p.parameter: (p.unit, 0) for p in g.device.parameters})
        for g in grid
    ]


class GridValues:
    """``(device, code, minute) → value``: the nearest station's hourly model value × the
    site's factor, with a small hashed minute jitter (±5 %)."""

    def __init__(self, model: ModelCity, grid: list[GridSite], cache_size: int = 512) -> None:
        self.model = model
        self.by_mn = {g.device.mn: g for g in grid}
        self._cache: OrderedDict[tuple[str, int], dict[str, float]] = OrderedDict()
        self._size = cache_size

    def hourly(self, station: str, hours: np.ndarray) -> dict[str, np.ndarray]:
        series, _ = self.model.series(station, hours)
        return {c: v for c, (v, _) in series.items() if c in ("a34004", "a34002")}

    def _station(self, station: str, hour: int) -> dict[str, float]:
        key = (station, hour)
        got = self._cache.get(key)
        if got is None:
            vals = self.hourly(station, np.array([hour], dtype=np.int64))
            got = self._cache[key] = {c: float(v[0]) for c, v in vals.items()}
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return got

    def __call__(self, device: str, code: str, t: dt.datetime) -> float | None:
        g = self.by_mn.get(device)
        if g is None or code not in g.factors:
            return None
        hour = int(hours_of(np.array([np.datetime64(t, "h")]))[0])
        want = "a34002" if code == "a34001" else code
        base = float("nan")
        for station in g.stations:
            base = self._station(station, hour).get(want, float("nan"))
            if base == base:
                break
        if base != base:  # no station near it has a value for this hour
            return None
        minute = np.array([int(t.replace(tzinfo=dt.UTC).timestamp() // 60)])
        jitter = 1.0 + 0.05 * float(normal(key_of(self.model.seed, g.site.id, code), minute)[0])
        return max(0.0, base * g.factors[code] * jitter)


def history(store: Store, model: ModelCity, grid: list[GridSite], end: dt.datetime) -> int:
    """Write the grid's hourly synthetic history for the :data:`HISTORY_DAYS` before *end*."""
    values = GridValues(model, grid)
    hours = hour_range(end - dt.timedelta(days=HISTORY_DAYS), end)
    if not len(hours):
        return 0
    ts = hours.astype("datetime64[h]").astype("datetime64[us]")
    parts: dict[str, list[Any]] = {k: [] for k in ("site_id", "parameter", "ts", "value")}
    by_station: dict[str, dict[str, np.ndarray]] = {}
    for g in grid:
        for station in g.stations:
            if station not in by_station:
                by_station[station] = values.hourly(station, hours)
        for code, f in g.factors.items():
            want = "a34002" if code == "a34001" else code
            base = by_station[g.stations[0]][want].copy()
            for station in g.stations[1:]:  # an hour the nearest lacks, from the next
                base = np.where(np.isnan(base), by_station[station][want], base)
            base = base * f
            keep = ~np.isnan(base)
            k = int(keep.sum())
            parts["site_id"].append(np.full(k, g.site.id, dtype=object))
            parts["parameter"].append(np.full(k, code, dtype=object))
            parts["ts"].append(ts[keep])
            parts["value"].append(np.round(base[keep]))
    cols: dict[str, np.ndarray] = {k: np.concatenate(v) for k, v in parts.items()}
    n = len(cols["value"])
    cols.update(
        period=np.full(n, "hour", dtype=object),
        origin=np.full(n, "logger", dtype=object),
        vmin=np.full(n, np.nan),
        vmax=np.full(n, np.nan),
        cou=np.full(n, np.nan),
        flag=np.full(n, "N", dtype=object),
        valid=np.ones(n, dtype=bool),
        n_valid=np.full(n, -1, dtype=np.int32),
        source=np.full(n, "synthetic", dtype=object),
        received_at=cols["ts"] + np.timedelta64(65, "m"),
    )
    return store.write_measurements(cols)


def setup(
    store: Store,
    model: ModelCity,
    end: dt.datetime,
    *,
    echo: Callable[[str], Any] = print,
) -> list[GridSite]:
    """Register the grid (idempotent) and write its recent hourly history."""
    grid = build(model)
    apply(store, registry(grid))
    n = history(store, model, grid, end)
    kinds = sum(1 for g in grid if g.site.kind == "grid")
    echo(f"      grid sensors: {kinds} micro-stations, {len(grid) - kinds} dust monitors, "
         f"{n:,} hourly values of the last {HISTORY_DAYS} days")  # fmt: skip
    return grid
