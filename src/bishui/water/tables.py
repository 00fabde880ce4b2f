"""GB 3838-2002 tables, the assessment item lists of 环办〔2011〕22号, and the HJ 212 codes.

The normative numbers live in CSV files beside this module (``data/``), with the edition in the
file name:

``gb3838-2002_table1.csv``
    GB 3838-2002 表1, 地表水环境质量标准基本项目标准限值 (24 items; TP has a river and a
    lake/reservoir row; water temperature has no per-class limits and is absent).
``gb3838-2002_table2.csv``
    GB 3838-2002 表2, 集中式生活饮用水地表水源地补充项目标准限值 (5 items).
``statistics-2020_decimals.csv``
    decimal places of assessment values, 环办监测函〔2020〕82号 (see :mod:`bishui.water.rounding`).

Parameters are named by their HJ 212 codes (``w21003`` 氨氮 …). Some implementations use other
codes for the metals (e.g. ``w20138`` for copper); such codes are not guessed here: callers map
them with the ``aliases`` argument of the public functions (:func:`canonical_codes`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from bishui.errors import InputError

EDITION = "GB 3838-2002"
METHOD = "环办〔2011〕22号"

Body = Literal["river", "lake"]
BODIES: tuple[str, ...] = ("river", "lake")

#: Class labels, index = class number (0 = no class: no data / insufficient data).
CLASS_LABELS: tuple[str, ...] = ("", "Ⅰ类", "Ⅱ类", "Ⅲ类", "Ⅳ类", "Ⅴ类", "劣Ⅴ类")

#: 水质状况 by class, 环办〔2011〕22号 表1 (断面水质定性评价): Ⅰ–Ⅱ 优, Ⅲ 良好, Ⅳ 轻度污染,
#: Ⅴ 中度污染, 劣Ⅴ 重度污染. Index = class number.
CLASS_STATUS: tuple[str, ...] = ("", "优", "优", "良好", "轻度污染", "中度污染", "重度污染")

#: 表征颜色 by class (same table). The colours are from recollection in the notes ([R]); they are
#: presentation only and never enter a computation.
CLASS_COLOURS: tuple[str, ...] = ("", "蓝", "蓝", "绿", "黄", "橙", "红")

#: Label used instead of a class when a period has too few samples.
INSUFFICIENT = "insufficient data"
INSUFFICIENT_ZH = "数据不足"

#: The 21 water-quality assessment items of 环办〔2011〕22号 一(一)1: GB 3838-2002 表1 without
#: 水温, 总氮 and 粪大肠菌群, in the table's order. The same 21 items enter CWQI
#: (环办监测〔2017〕51号).
ASSESSMENT_CODES: tuple[str, ...] = (
    "w01001", "w01009", "w01019", "w01018", "w01017", "w21003", "w21011",
    "w20122", "w20123", "w21017", "w20128", "w20141", "w20111", "w20115",
    "w20117", "w20120", "w21016", "w23002", "w22001", "w19002", "w21019",
)  # fmt: skip

#: Reference items (参考指标, assessed separately, never setting the class): 水温, 总氮 (lakes
#: and reservoirs only; river TN is not assessed at all) and 粪大肠菌群 — 环办〔2011〕22号 一(一)1.
REFERENCE_CODES: tuple[str, ...] = ("w01010", "w21001", "w02003")

#: Trophic-state items (营养状态评价指标), 环办〔2011〕22号 一(一)2: 叶绿素a, 总磷, 总氮, 透明度,
#: 高锰酸盐指数.
TROPHIC_CODES: tuple[str, ...] = ("w01016", "w21011", "w21001", "w01004", "w01019")

#: Parameters known to bishui's water engine that have no GB 3838 class: water temperature,
#: transparency, chlorophyll a, algal density. They are accepted, never classified.
OTHER_CODES: dict[str, str] = {
    "w01010": "水温",
    "w01004": "透明度",
    "w01016": "叶绿素a",
    "w19011": "藻密度",
}

#: 超标倍数 is not computed for 水温, pH and 溶解氧 (环办〔2011〕22号 二(三)).
NO_MULTIPLE_CODES: frozenset[str] = frozenset({"w01010", "w01001", "w01009"})

#: Items that take priority as main pollutants when they exceed Class Ⅲ: "氰化物或铅、铬等重金属"
#: (环办〔2011〕22号). The text lists cyanide, lead and chromium "and other heavy metals"; which
#: others is an interpretation (docs/water.md): the metals of Table 1 plus arsenic.
PRIORITY_POLLUTANTS: frozenset[str] = frozenset(
    {"w21016", "w20120", "w20117", "w20111", "w20115", "w20141", "w20122", "w20123"}
)

PH = "w01001"
DO = "w01009"
TP = "w21011"
TN = "w21001"


@dataclass(frozen=True)
class Item:
    """One row of GB 3838-2002 表1.

    ``limits`` are the Ⅰ…Ⅴ limits ([unit]); for pH (``direction == "range"``) ``lo``/``hi``
    hold the 6–9 range and ``limits`` is empty.
    """

    code: str
    key: str
    name: str
    unit: str
    direction: Literal["le", "ge", "range"]
    limits: tuple[float, ...]
    lo: float = float("nan")
    hi: float = float("nan")


@dataclass(frozen=True)
class SupplementaryItem:
    """One row of GB 3838-2002 表2 (drinking-water sources): a single limit [mg/L]."""

    code: str
    key: str
    name: str
    unit: str
    limit: float


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("bishui.water").joinpath("data", name).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


def _load_table1() -> tuple[dict[str, Item], dict[str, Item]]:
    river: dict[str, Item] = {}
    lake: dict[str, Item] = {}
    for r in _rows("gb3838-2002_table1.csv"):
        direction = r["direction"]
        assert direction in ("le", "ge", "range")
        cols = [r[c] for c in ("I", "II", "III", "IV", "V")]
        if direction == "range":
            lo, hi = (float(x) for x in cols[0].split("~"))
            item = Item(r["code"], r["key"], r["name_zh"], r["unit"], "range", (), lo, hi)
        else:
            limits = tuple(float(x) for x in cols)
            item = Item(r["code"], r["key"], r["name_zh"], r["unit"], direction, limits)  # type: ignore[arg-type]
        if r["body"] in ("any", "river"):
            river[item.code] = item
        if r["body"] in ("any", "lake"):
            lake[item.code] = item
    return river, lake


def _load_table2() -> dict[str, SupplementaryItem]:
    return {
        r["code"]: SupplementaryItem(
            r["code"], r["key"], r["name_zh"], r["unit"], float(r["limit"])
        )
        for r in _rows("gb3838-2002_table2.csv")
    }


def _load_decimals() -> dict[str, int]:
    return {r["code"]: int(r["decimals"]) for r in _rows("statistics-2020_decimals.csv")}


TABLE1_RIVER, TABLE1_LAKE = _load_table1()
TABLE2: dict[str, SupplementaryItem] = _load_table2()
DECIMALS_2020: dict[str, int] = _load_decimals()

#: Every parameter code the engine recognises (anything else is reported as unknown).
KNOWN_CODES: frozenset[str] = (
    frozenset(TABLE1_RIVER) | frozenset(TABLE1_LAKE) | frozenset(TABLE2) | frozenset(OTHER_CODES)
)


def table1(body: str) -> dict[str, Item]:
    """GB 3838-2002 表1 for a water body: ``"river"`` or ``"lake"`` (湖、库; TP and TN differ)."""
    return TABLE1_LAKE if check_body(body) == "lake" else TABLE1_RIVER


def name(code: str) -> str:
    """The Chinese name of a parameter code (the code itself when unknown)."""
    for table in (TABLE1_RIVER, TABLE1_LAKE):
        if code in table:
            return table[code].name
    if code in TABLE2:
        return TABLE2[code].name
    return OTHER_CODES.get(code, code)


def check_body(body: str) -> Body:
    """Validate a water-body type. A 河流型水库 is assessed as a river (notes A1.1 rule 4)."""
    if body == "river":
        return "river"
    if body == "lake":
        return "lake"
    raise InputError("body", "must be 'river' or 'lake' (湖、库)", body)


def lake_mask(body: str | Sequence[str] | NDArray[np.generic], n: int) -> NDArray[np.bool_]:
    """A boolean array (n,) that is True for lake/reservoir rows.

    ``body`` is one type for every row or one per row (strings, or booleans meaning "lake").
    """
    if isinstance(body, str):
        return np.full(n, check_body(body) == "lake")
    arr = np.asarray(body)
    if arr.shape != (n,):
        raise InputError("body", f"must be one value or {n} values (one per row)", arr.shape)
    if arr.dtype == np.bool_:
        return arr.astype(bool)
    bad = ~np.isin(arr, BODIES)
    if bad.any():
        raise InputError(
            "body", "must be 'river' or 'lake' (湖、库)", arr[bad][0], row=int(np.argmax(bad))
        )
    return np.asarray(arr == "lake", dtype=bool)


def canonical_codes(codes: Iterable[str], aliases: Mapping[str, str] | None = None) -> list[str]:
    """Map parameter codes through ``aliases`` (other code → HJ 212 code used here)."""
    if not aliases:
        return list(codes)
    return [aliases.get(c, c) for c in codes]


def class_limit(code: str, klass: int, body: str = "river") -> float:
    """The GB 3838-2002 表1 limit of ``code`` for class ``klass`` (1–5) [unit of the item].

    For DO the value is a minimum; pH has no per-class limit (use :data:`TABLE1_RIVER` ``lo/hi``).
    """
    items = table1(body)
    if code not in items or items[code].direction == "range":
        raise InputError("parameter", "has no per-class limit in GB 3838-2002 表1", code)
    if not 1 <= klass <= 5:
        raise InputError("target_class", "must be 1–5 (Ⅰ–Ⅴ)", klass)
    return items[code].limits[klass - 1]
