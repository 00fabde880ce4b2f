"""A small store for the service tests: the model city's registry and a short synthetic history.

The history is :func:`bishui.demo.history.generate` over the city's air stations and water
sections only (the outlets play no part in compensation and would triple the load time). The
model city's sections do not measure COD (w01018) or flow, which three agreements need; the
helper adds them, derived from the stored CODMn (COD ≈ 3 × CODMn, a model assumption for the
test, not a conversion factor) and a steady synthetic flow, marked ``source = 'synthetic'``.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bishui.compensation import service
from bishui.demo import city, history
from bishui.registry import Registry, apply
from bishui.store import Store

_spec = importlib.util.spec_from_file_location(
    "bishui_tests_root_conftest_comp", Path(__file__).resolve().parents[1] / "conftest.py"
)
assert _spec and _spec.loader
root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(root)

START = dt.datetime(2026, 7, 1)
END = dt.datetime(2026, 7, 16)
FLOW_SECTIONS = ("WS02", "WS08")


def load_city(store: Store, start: dt.datetime = START, end: dt.datetime = END) -> None:
    """Registry + hourly history of the air stations and water sections for [start, end)."""
    sub = load_registry(store)
    history.generate(store, sub, start, end)
    add_cod_and_flow(store, start, end)
    service.set_figure(
        store,
        "WS06",
        "forest_area_vs_2020",
        str(start.year),
        "1.02",
        source="测试：林业部门公益林面积核查（模拟）",
        by="test",
    )


def load_registry(store: Store) -> city.ModelCity:
    """The model city's regions, air stations and water sections (no outlets, no devices):
    all compensation reads, and a fraction of the registry's load time on DuckDB."""
    model = city.build()
    sub = copy.copy(model)
    sub.registry = Registry(
        regions=list(model.registry.regions),
        sites=[s for s in model.registry.sites if s.kind in ("air", "water")],
    )
    apply(store, sub.registry)
    return sub


def add_cod_and_flow(store: Store, start: dt.datetime, end: dt.datetime) -> None:
    c = store.query_columns(
        "SELECT site_id, ts, value, valid, flag, received_at FROM measurement WHERE "
        "parameter = 'w01019' AND period = 'hour' AND origin = 'logger' AND ts >= ? AND ts < ?",
        [start, end],
    )
    n = len(c["site_id"])
    cod = np.round(c["value"] * 3.0, 1)
    flows = np.isin(c["site_id"], FLOW_SECTIONS)
    hours = c["ts"].astype("datetime64[h]").astype(np.int64)
    flow = np.round(3000.0 + 500.0 * np.sin(hours / 50.0), 2)[flows]
    rows: dict[str, Any] = {
        "site_id": np.concatenate([c["site_id"], c["site_id"][flows]]).astype(object),
        "parameter": np.array(["w01018"] * n + ["w00000"] * int(flows.sum()), dtype=object),
        "ts": np.concatenate([c["ts"], c["ts"][flows]]),
        "value": np.concatenate([cod, flow]),
        "valid": np.concatenate([c["valid"], c["valid"][flows]]).astype(bool),
        "flag": np.concatenate([c["flag"], c["flag"][flows]]).astype(object),
        "received_at": np.concatenate([c["received_at"], c["received_at"][flows]]),
    }
    register_flow_unit(store, FLOW_SECTIONS, "L/s")
    m = len(rows["site_id"])
    rows.update(
        period=np.full(m, "hour", dtype=object),
        origin=np.full(m, "logger", dtype=object),
        vmin=np.full(m, np.nan),
        vmax=np.full(m, np.nan),
        cou=np.full(m, np.nan),
        n_valid=np.full(m, -1, dtype=np.int32),
        source=np.full(m, "synthetic", dtype=object),
    )
    store.write_measurements(rows)


def register_flow_unit(store: Store, sections: Sequence[str], unit: str) -> None:
    """Register a flow logger on each section with its flow series (w00000) in *unit*."""
    with store.transaction() as tx:
        for site in sections:
            mn = f"FLOW{site}"
            tx.execute("DELETE FROM device_parameters WHERE mn = ?", [mn])
            tx.execute("DELETE FROM devices WHERE mn = ?", [mn])
            tx.execute(
                "INSERT INTO devices (mn, site_id, pw, st, edition, crc_policy, active) "
                "VALUES (?, ?, '123456', '21', '2017', 'strict', TRUE)",
                [mn, site],
            )
            tx.execute(
                "INSERT INTO device_parameters (mn, parameter, unit, range_min, range_max) "
                "VALUES (?, 'w00000', ?, 0, 100000)",
                [mn, unit],
            )


def change_value(store: Store, site: str, parameter: str, ts: dt.datetime, value: float) -> None:
    """A late correction: the logger re-sends one hourly value."""
    row = store.query(
        "SELECT * FROM measurement WHERE site_id = ? AND parameter = ? AND period = 'hour' "
        "AND ts = ? AND origin = 'logger'",
        [site, parameter, ts],
    )[0]
    cols = {k: np.array([v], dtype=object) for k, v in row.items()}
    for k in ("value", "vmin", "vmax", "cou"):
        cols[k] = np.array([np.nan if row[k] is None else row[k]], dtype=np.float64)
    cols["value"] = np.array([value])
    cols["valid"] = np.array([True])
    cols["n_valid"] = np.array([row["n_valid"] or -1], dtype=np.int32)
    cols["ts"] = np.array([ts], dtype="datetime64[us]")
    cols["received_at"] = np.array([ts + dt.timedelta(days=20)], dtype="datetime64[us]")
    store.write_measurements(cols)
