"""Helpers of the air service tests: a hand-built network and hourly rows written by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from bishui.air.store_io import CODES
from bishui.store import Store

#: A city (420800) with two districts; A and B are assessment stations in 420802, C is a
#: county station (not assessment) in 420822.
STATIONS = (("A", "420802", True), ("B", "420802", True), ("C", "420822", False))
#: A clean day's values of each pollutant [µg/m³; CO mg/m³].
BASE = {"SO2": 10.0, "NO2": 30.0, "PM10": 60.0, "PM2.5": 40.0, "CO": 0.8, "O3": 90.0}


def registry(store: Store) -> None:
    store.upsert(
        "regions",
        [
            {"code": "420800", "name": "荆门市", "kind": "city", "central": False},
            {"code": "420802", "name": "东宝区", "kind": "district", "parent": "420800",
             "central": True},
            {"code": "420822", "name": "沙洋县", "kind": "county", "parent": "420800",
             "central": False},
        ],
    )  # fmt: skip
    store.upsert(
        "sites",
        [
            {"id": s, "kind": "air", "name": f"站{s}", "region": r, "assessment": a,
             "drinking_source": False}
            for s, r, a in STATIONS
        ],
    )  # fmt: skip


def rows(
    site: str,
    pollutant: str,
    start: dt.datetime,
    values: Any,
    *,
    valid: Any = True,
    origin: str = "logger",
) -> dict[str, np.ndarray]:
    """Measurement columns of consecutive hourly values from *start* (None/NaN → no row)."""
    v = np.asarray(values, dtype=float)
    keep = ~np.isnan(v)
    n = int(keep.sum())
    ts = (np.datetime64(start, "h") + np.arange(len(v))[keep]).astype("datetime64[us]")
    ok = np.broadcast_to(np.asarray(valid, bool), v.shape)[keep]
    return {
        "site_id": np.full(n, site, dtype=object),
        "parameter": np.full(n, CODES[pollutant], dtype=object),
        "period": np.full(n, "hour", dtype=object),
        "ts": ts,
        "origin": np.full(n, origin, dtype=object),
        "value": v[keep],
        "vmin": np.full(n, np.nan),
        "vmax": np.full(n, np.nan),
        "cou": np.full(n, np.nan),
        "flag": np.where(ok, "N", "D").astype(object),
        "valid": ok.copy(),
        "n_valid": np.full(n, -1, np.int32),
        "source": np.full(n, "test", dtype=object),
        "received_at": ts,
    }


def write(store: Store, *parts: dict[str, np.ndarray]) -> None:
    store.write_measurements({k: np.concatenate([p[k] for p in parts]) for k in parts[0]})


def clean_days(
    store: Store, start: dt.date, days: int, overrides: dict[tuple[str, str], float] | None = None
) -> None:
    """Every station, every pollutant, every hour: BASE (or an override per station, pollutant)."""
    t0 = dt.datetime.combine(start, dt.time())
    parts = []
    for s, _, _ in STATIONS:
        for p, v in BASE.items():
            value = (overrides or {}).get((s, p), v)
            parts.append(rows(s, p, t0, np.full(24 * days, value)))
    write(store, *parts)
