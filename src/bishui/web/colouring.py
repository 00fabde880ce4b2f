"""How the overview map colours each site — a function the domain engines replace.

The map calls ``colouring(store, sites, at) -> {site_id: Mark}`` (the :data:`Colouring`
signature); ``create_app(..., colouring=f)`` or ``app.state.web.colouring = f`` swaps it.
Until ``bishui.air``, ``bishui.water`` and ``bishui.sources`` are wired in, the default,
:func:`provisional_colouring`, colours from what the store already holds and says so in each
mark's ``basis``:

* **air stations** — a PM-only real-time AQI: the IAQI of the latest hourly PM2.5 and PM10
  against the 24-hour breakpoints (HJ 633-2026 §4.2.4, and CNEMC's practice since 2014 under
  the 2012 edition), rounded up (HJ 633-2012 §6.2), the larger of the two; category by
  HJ 633-2012 Table 2. The full AQI (SO2, NO2, CO, O3 too) is ``bishui.air``'s.
* **water sections** — a provisional single-factor class (GB 3838-2002 Table 1) over the
  latest values of DO, CODMn, COD, NH3-N and TP (river or lake/reservoir limits) only.
* **outlets** — the state of their data (reporting / flagged / none), not yet compliance.

A site without a value newer than its kind's window is "no current data".
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from bishui.air.editions import SWITCH_2026, check_edition
from bishui.air.tables import iaqi_table, level_table
from bishui.registry.model import Site
from bishui.store import Store
from bishui.timeutil import current_hour, hour_label, now_beijing
from bishui.water import tables as water_tables
from bishui.water.classes import single_factor_class

__all__ = ["Colouring", "Mark", "pm_iaqi", "single_factor_class"]


@dataclass(frozen=True, slots=True)
class Mark:
    """What the map shows for one site."""

    level: str  # category key ("1"…"6" AQI level, "3" water class, "normal", "nodata" …)
    color: str  # "#RRGGBB"
    label_zh: str
    label_en: str
    value: float | None = None  # the AQI or class behind the category, if any
    ts: dt.datetime | None = None  # time of the data it was judged on (air: the hour's end label)
    basis: str = ""  # how it was judged (shown in the details), English
    basis_zh: str = ""  # the same in Chinese


Colouring = Callable[[Store, Sequence[Site], dt.datetime], dict[str, Mark]]


@cache
def categories() -> dict[str, list[dict[str, Any]]]:
    """The display categories per layer. The AQI ones are the air core's HJ 633 levels (bands,
    names, Annex A colours); the others (water classes, outlet states, no data) are the data
    file's."""
    text = (resources.files("bishui.web") / "data" / "categories-2026-03-01.toml").read_text(
        encoding="utf-8"
    )
    cats: dict[str, list[dict[str, Any]]] = tomllib.loads(text)
    # HJ 633-2026 Table 1 keeps the bands and colours of HJ 633-2012 Table 2; the top band has
    # no upper bound in the standard.
    cats["aqi"] = [
        {"max": lv.aqi_max if lv.aqi_max is not None else 100_000, "level": str(lv.level),
         "name_zh": lv.category, "name_en": lv.category_en, "color": lv.hex}
        for lv in level_table("2026")
    ]  # fmt: skip
    return cats


def _mark(cat: dict[str, Any], **kw: Any) -> Mark:
    return Mark(
        level=str(cat.get("level", cat.get("class"))),
        color=cat["color"],
        label_zh=cat["name_zh"],
        label_en=cat["name_en"],
        **kw,
    )


def nodata_mark() -> Mark:
    return _mark(
        categories()["nodata"][0], basis="no value inside the window", basis_zh="时间窗内无数据"
    )


def aqi_category(aqi: float) -> dict[str, Any]:
    """The HJ 633-2012 Table 2 category of an (integer) AQI."""
    for cat in categories()["aqi"]:
        if aqi <= cat["max"]:
            return cat
    return categories()["aqi"][-1]


# -- air ------------------------------------------------------------------------------------
#: The 24-hour columns of the HJ 633 IAQI table (2012 Table 1, 2026 Table 3, read from the air
#: core) used for hourly PM10 (a34002) and PM2.5 (a34004).
PM_COLUMNS: dict[str, str] = {"a34002": "PM10_24h", "a34004": "PM2.5_24h"}
HJ633_2026_IN_FORCE = dt.datetime.combine(SWITCH_2026, dt.time())


@cache
def _pm_segments(edition: str, parameter: str) -> tuple[np.ndarray, np.ndarray]:
    seg = iaqi_table(check_edition(edition))[PM_COLUMNS[parameter]]
    return (np.array([float(c) for c in seg.conc], dtype=np.float64),
            np.array(seg.iaqi, dtype=np.float64))  # fmt: skip


def pm_iaqi(conc: np.ndarray, parameter: str, edition: str) -> np.ndarray:
    """IAQI of hourly PM concentrations against the 24 h breakpoints, rounded up.

    Parameters
    ----------
    conc : hourly concentrations [µg/m³]; NaN for missing
    parameter : "a34002" (PM10) or "a34004" (PM2.5)
    edition : "2012" or "2026" (HJ 633)

    Returns
    -------
    IAQI [-], NaN where *conc* is missing or negative; capped at 500 above the top breakpoint
    (the standard defines none above it).
    """
    bp, levels = _pm_segments(edition, parameter)
    c = np.asarray(conc, dtype=np.float64)
    raw = np.interp(c, bp, levels)  # HJ 633 formula (1), piecewise linear, continuous
    # ceil (HJ 633-2012 §6.2) with a guard so 57.000000001 from binary floats stays 57
    out = np.ceil(np.round(raw, 9))
    return np.where(np.isnan(c) | (c < 0), np.nan, out)


def _air_marks(latest: dict[str, dict[str, Any]], site_ids: Sequence[str]) -> dict[str, Mark]:
    out: dict[str, Mark] = {}
    for sid in site_ids:
        vals = {p: r for p, r in latest.get(sid, {}).items() if p in ("a34002", "a34004")}
        if not vals:
            continue
        ts = max(r["ts"] for r in vals.values())
        edition = "2026" if ts >= HJ633_2026_IN_FORCE else "2012"
        iaqis = [
            float(pm_iaqi(np.array([r["value"]], dtype=np.float64), p, edition)[0])
            for p, r in vals.items()
            if r["value"] is not None
        ]
        iaqis = [v for v in iaqis if not math.isnan(v)]
        if not iaqis:
            continue
        aqi = max(iaqis)
        out[sid] = _mark(
            aqi_category(aqi),
            value=aqi,
            ts=hour_label(ts),  # published by the end of the hour, as the air service's
            basis=f"provisional PM-only AQI (HJ 633-{edition}, hourly PM on 24 h breakpoints)",
            basis_zh=f"临时 AQI：仅 PM2.5、PM10 小时浓度按日均值分段（HJ 633-{edition}）",
        )
    return out


# -- water ----------------------------------------------------------------------------------
#: The items the provisional class is judged on (GB 3838-2002 Table 1, from the water core;
#: TP has the lake/reservoir limits at a lake section).
WATER_ITEMS: tuple[str, ...] = ("w01009", "w01019", "w01018", "w21003", "w21011")


def _water_marks(latest: dict[str, dict[str, Any]], sites: Sequence[Site]) -> dict[str, Mark]:
    by_class = {c["class"]: c for c in categories()["water"]}
    out: dict[str, Mark] = {}
    for s in sites:
        classes: list[int] = []
        times: list[dt.datetime] = []
        for p, r in latest.get(s.id, {}).items():
            if p not in WATER_ITEMS or r["value"] is None:
                continue
            body = "lake" if s.body == "lake" else "river"
            item = water_tables.table1(body)[p]
            classes.append(
                single_factor_class(float(r["value"]), item.limits, minimum=item.direction == "ge")
            )
            times.append(r["ts"])
        if classes:
            worst = max(classes)
            out[s.id] = _mark(
                by_class[worst],
                value=float(worst),
                ts=max(times),
                basis="provisional single-factor class over DO, CODMn, COD, NH3-N, TP "
                "(GB 3838-2002 Table 1)",
                basis_zh="临时类别：溶解氧、高锰酸盐指数、化学需氧量、氨氮、总磷单因子评价"
                "（GB 3838-2002 表1）",
            )
    return out


# -- outlets --------------------------------------------------------------------------------
def _source_marks(latest: dict[str, dict[str, Any]], site_ids: Sequence[str]) -> dict[str, Mark]:
    cats = {c["level"]: c for c in categories()["source"]}
    out: dict[str, Mark] = {}
    for sid in site_ids:
        rows = list(latest.get(sid, {}).values())
        if not rows:
            continue
        flagged = any((r["flag"] or "N") != "N" or not r["valid"] for r in rows)
        out[sid] = _mark(
            cats["flagged" if flagged else "normal"],
            ts=max(r["ts"] for r in rows),
            basis="state of the latest hourly data (compliance comes with bishui.sources)",
            basis_zh="最新小时数据的状态（达标判定待污染源引擎接入）",
        )
    return out


def latest_within(
    store: Store,
    site_ids: Sequence[str],
    start: dt.datetime,
    end: dt.datetime,
    period: str = "hour",
) -> list[dict[str, Any]]:
    """The newest value of each parameter at each site with ``start <= ts < end``.

    Like ``Store.latest`` but bounded in time, so a store with years of history is read only
    over the window (DuckDB prunes by its zone maps, PostgreSQL by its (period, ts) index).
    One row per (site, parameter): the logger's, else the platform's, else the upload's.
    """
    if not site_ids:
        return []
    marks = ", ".join("?" for _ in site_ids)

    def where(a: str) -> str:
        return f"{a}period = ? AND {a}ts >= ? AND {a}ts < ? AND {a}site_id IN ({marks})"

    # both sides filtered by the window, so neither scans the whole history
    sql = (
        "SELECT m.site_id, m.parameter, m.ts, m.value, m.flag, m.valid, m.origin "  # noqa: S608
        "FROM measurement m JOIN (SELECT site_id, parameter, MAX(ts) AS ts FROM measurement "
        f"WHERE {where('')} GROUP BY site_id, parameter) last ON m.site_id = last.site_id "
        f"AND m.parameter = last.parameter AND m.ts = last.ts WHERE {where('m.')} "
        "ORDER BY m.site_id, m.parameter, m.origin"
    )
    params = [period, start, end, *site_ids]
    rows = store.query(sql, [*params, *params])
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        seen.setdefault((r["site_id"], r["parameter"]), r)
    return list(seen.values())


@dataclass(frozen=True)
class ProvisionalColouring:
    """The default colouring (see module doc); windows in hours per site kind."""

    air_window_h: float = 3
    water_window_h: float = 24 * 31  # manual sections are sampled monthly
    source_window_h: float = 3
    #: grid sensors (bishui.grid): minute data this recent, else hourly data in source_window_h
    grid_window_min: float = 15

    def __call__(
        self, store: Store, sites: Sequence[Site], at: dt.datetime | None = None
    ) -> dict[str, Mark]:
        at = at or now_beijing()
        latest: dict[str, dict[str, Any]] = {}
        windows = {
            "air": self.air_window_h,
            "water": self.water_window_h,
            "source": self.source_window_h,
        }
        for key, hours in windows.items():
            ids = [s.id for s in sites if s.kind.startswith(key)]
            start = at - dt.timedelta(hours=hours)
            # air: complete hours only (an hour in progress is never published)
            end = current_hour(at) if key == "air" else at + dt.timedelta(hours=1)
            for r in latest_within(store, ids, start, end):
                latest.setdefault(r["site_id"], {})[r["parameter"]] = r
        marks: dict[str, Mark] = {}
        marks.update(_air_marks(latest, [s.id for s in sites if s.kind == "air"]))
        marks.update(_water_marks(latest, [s for s in sites if s.kind == "water"]))
        marks.update(_source_marks(latest, [s.id for s in sites if s.kind.startswith("source")]))
        marks.update(self._grid_marks(store, [s.id for s in sites if s.kind in GRID_KINDS], at))
        missing = nodata_mark()
        return {s.id: marks.get(s.id, missing) for s in sites}

    def _grid_marks(self, store: Store, ids: Sequence[str], at: dt.datetime) -> dict[str, Mark]:
        """Grid sensors by the state of their newest data (no limit judgement, docs/grid.md):
        minute data of the last ``grid_window_min`` minutes, else hourly data of the last
        ``source_window_h`` hours."""
        if not ids:
            return {}
        rows = latest_within(store, ids, at - dt.timedelta(minutes=self.grid_window_min),
                             at + dt.timedelta(minutes=5), period="min")  # fmt: skip
        have = {r["site_id"] for r in rows}
        rest = [i for i in ids if i not in have]
        if rest:
            rows += latest_within(store, rest, at - dt.timedelta(hours=self.source_window_h),
                                  at + dt.timedelta(hours=1))  # fmt: skip
        by_site: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            by_site.setdefault(r["site_id"], []).append(r)
        cats = {c["level"]: c for c in categories()["grid"]}
        out: dict[str, Mark] = {}
        for sid, got in by_site.items():
            flagged = any((r["flag"] or "N") != "N" or not r["valid"] for r in got)
            out[sid] = _mark(
                cats["flagged" if flagged else "reporting"],
                ts=max(r["ts"] for r in got),
                basis="state of the newest data; no limit judgement for grid sensors",
                basis_zh="最新数据的状态；网格微站、扬尘监测点不作限值判定",
            )
        return out


#: The site kinds of grid sensors (bishui.grid).
GRID_KINDS = ("grid", "dust")

provisional_colouring: Colouring = ProvisionalColouring()


def legend(lang: str = "zh") -> dict[str, list[dict[str, str]]]:
    """The categories per layer, for the map legend."""
    key = "name_zh" if lang == "zh" else "name_en"
    cats = categories()
    seen_water: dict[str, dict[str, str]] = {}
    for c in cats["water"]:
        seen_water.setdefault(c["color"] + c[key], {"label": c[key], "color": c["color"]})
    return {
        "air": [{"label": c[key], "color": c["color"]} for c in cats["aqi"]],
        "water": list(seen_water.values()),
        "source": [{"label": c[key], "color": c["color"]} for c in cats["source"]],
        "grid": [{"label": c[key], "color": c["color"]} for c in cats["grid"]],
        "nodata": [{"label": c[key], "color": c["color"]} for c in cats["nodata"]],
    }
