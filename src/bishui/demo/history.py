"""Writing the model city's synthetic history into a store.

The history is what the loggers would have sent as hourly data (HJ 212 CN 2061; water
automatic stations every four hours): stored with ``origin = 'logger'``, ``period = 'hour'``
and ``source = 'synthetic'``, so it is never mistaken for real data.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bishui.demo.city import ModelCity
from bishui.demo.synth import Event, hours_of
from bishui.store import Store

Progress = Callable[[int, int, int], None]  # (slices done, slices total, values of the slice)


def hour_range(start: dt.datetime, end: dt.datetime) -> np.ndarray:
    """Hours since the epoch covering ``start <= t < end`` (whole hours)."""
    a = np.datetime64(start.replace(minute=0, second=0, microsecond=0), "h")
    b = np.datetime64(end, "h")
    return hours_of(np.arange(a, b, np.timedelta64(1, "h")))


def site_columns(
    model: ModelCity, site_id: str, hours: np.ndarray
) -> tuple[dict[str, np.ndarray], list[Event]]:
    """One site's values at *hours* as measurement columns (missing hours left out)."""
    step = model.cadence_hours(site_id)
    hours = hours[hours % step == 0]
    series, events = model.series(site_id, hours)
    ts = hours.astype("datetime64[h]").astype("datetime64[us]")
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("parameter", "ts", "value", "flag")}
    for code, (values, flags) in series.items():
        keep = ~np.isnan(values)
        parts["parameter"].append(np.full(int(keep.sum()), code, dtype=object))
        parts["ts"].append(ts[keep])
        parts["value"].append(values[keep])
        parts["flag"].append(flags[keep])
    cols = {k: np.concatenate(v) if v else np.array([]) for k, v in parts.items()}
    n = len(cols["value"])
    nan = np.full(n, np.nan)
    cols.update(
        site_id=np.full(n, site_id, dtype=object),
        period=np.full(n, "hour", dtype=object),
        origin=np.full(n, "logger", dtype=object),
        vmin=nan,
        vmax=nan,
        cou=nan,
        valid=cols["flag"] == "N",
        n_valid=np.full(n, -1, dtype=np.int32),
        source=np.full(n, "synthetic", dtype=object),
        # Hourly data arrives a few minutes after its hour closes.
        received_at=cols["ts"] + np.timedelta64(65, "m"),
    )
    return cols, events


def generate(
    store: Store,
    model: ModelCity,
    start: dt.datetime,
    end: dt.datetime,
    *,
    progress: Progress | None = None,
    events_file: Path | None = None,
) -> dict[str, int]:
    """Write every site's synthetic hourly history for ``start <= t < end``.

    Written in monthly slices across all sites, so each slice of the table covers a short time
    range (DuckDB's zone maps then prune queries by time). Every value is a pure function of
    its time, so slicing changes nothing but a flat-lined sensor whose episode crosses a month
    boundary (it sticks at a new level there).
    """
    hours = hour_range(start, end)
    sites = [s.id for s in model.registry.sites]
    total = 0
    events: list[Event] = []
    slices = np.array_split(hours, max(1, round(len(hours) / (30 * 24))))
    for i, chunk in enumerate(slices):
        batch = [site_columns(model, site_id, chunk) for site_id in sites]
        cols = {k: np.concatenate([b[0][k] for b in batch]) for k in batch[0][0]}
        n = store.write_measurements(cols)
        total += n
        events.extend(e for b in batch for e in b[1])
        if progress:
            progress(i + 1, len(slices), n)
    # A window that crosses a slice boundary is reported by both slices: keep it once.
    events = list({(e.kind, e.site_id, e.parameter, str(e.start)): e for e in events}.values())
    if events_file is not None:
        events_file.write_text(
            json.dumps(
                [
                    {
                        "kind": e.kind,
                        "site_id": e.site_id,
                        "parameter": e.parameter,
                        "start": str(e.start),
                        "end": str(e.end),
                        "detail": e.detail,
                    }
                    for e in events
                ],
                ensure_ascii=False,
                indent=0,
            ),
            encoding="utf-8",
        )
    return {"sites": len(sites), "values": total, "events": len(events)}
