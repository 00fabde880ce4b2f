"""Helpers of the water service tests: small stores with the model city or hand-built rows.

The root ``tests/conftest.py`` is loaded under its own module name (as tests/web does), for
``make_store``/``drop_store`` in module-scoped fixtures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from bishui.demo import city, history
from bishui.store import Store, rows_to_columns

_spec = importlib.util.spec_from_file_location(
    "bishui_tests_root_conftest_water", Path(__file__).resolve().parents[1] / "conftest.py"
)
assert _spec and _spec.loader
root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(root)
make_store, drop_store = root.make_store, root.drop_store


def load_model_city(
    store: Store, start: dt.datetime, end: dt.datetime, sites: set[str] | None = None
) -> city.ModelCity:
    """The model city's regions, water sections (and one enterprise, for an enterprise
    account) and the synthetic history of its water sections only.

    Not the whole registry: loading every outlet and data logger costs seconds on DuckDB and
    the water service reads none of them.
    """
    model = city.build()
    reg = model.registry
    store.upsert("regions", [dataclasses.asdict(r) for r in reg.regions])
    store.upsert("enterprises", [dataclasses.asdict(e) for e in reg.enterprises[:1]])
    store.upsert("sites", [dataclasses.asdict(s) for s in reg.sites if s.kind == "water"])
    hours = history.hour_range(start, end)
    ids = [s.id for s in model.registry.sites if s.kind == "water"]
    ids = [i for i in ids if sites is None or i in sites]
    for chunk in np.array_split(hours, max(1, len(hours) // (30 * 24))):
        parts = [history.site_columns(model, i, chunk)[0] for i in ids]
        store.write_measurements({k: np.concatenate([p[k] for p in parts]) for k in parts[0]})
    return model


def registry(store: Store, sections: list[dict[str, Any]]) -> None:
    """A city, its counties and the given water sections (hand-built tests)."""
    store.upsert(
        "regions",
        [
            {"code": "420800", "name": "荆门市", "kind": "city", "central": False, "parent": None},
            {
                "code": "420822",
                "name": "沙洋县",
                "kind": "county",
                "parent": "420800",
                "central": False,
            },
            {
                "code": "420881",
                "name": "钟祥市",
                "kind": "county_city",
                "parent": "420800",
                "central": False,
            },
        ],
    )
    rows = []
    for s in sections:
        rows.append(
            {
                "kind": "water",
                "region": "420822",
                "body": "river",
                "target_class": 3,
                "control": "national",
                "assessment": True,
                "drinking_source": False,
                "attrs": {},
                **s,
            }
        )
    store.upsert("sites", rows)


def write(store: Store, rows: list[tuple[Any, ...]]) -> None:
    """Rows (site, parameter, ts, value[, origin[, valid[, period]]]) into ``measurement``."""
    full = []
    for r in rows:
        site, param, ts, value = r[:4]
        origin = r[4] if len(r) > 4 else "logger"
        valid = r[5] if len(r) > 5 else True
        period = r[6] if len(r) > 6 else "hour"
        full.append(
            (
                site,
                param,
                period,
                ts,
                origin,
                value,
                None,
                None,
                None,
                "N" if valid else "D",
                valid,
                None,
                "test",
                ts + dt.timedelta(minutes=65),
            )
        )
    store.write_measurements(rows_to_columns(full))


def four_hourly(
    site: str, param: str, day: dt.date, values: list[float] | float, n: int = 6
) -> list[tuple[Any, ...]]:
    """*n* automatic readings of one day (00:00, 04:00, …)."""
    vals = values if isinstance(values, list) else [values] * n
    t0 = dt.datetime.combine(day, dt.time())
    return [(site, param, t0 + dt.timedelta(hours=4 * i), v) for i, v in enumerate(vals)]
