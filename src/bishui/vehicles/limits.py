"""Limits as a versioned table keyed by method, vehicle class, region and date.

The values are GB 18285-2018 Tables 1, 2 and 4 and the GB 3847-2018 opacity / NOx limits as the
reference notes (§A1, §A2) give them, tagged **[U]** there (not checked against the MEE PDF);
the λ window 0.95–1.05 is **[S]** (a station client's fixed values). Which set (a or b) applies
in a region from a date is data too: provincial platforms download the applicable limits per
vehicle (notes §A1, "获取联网限值"), so nothing legal is hard-coded here.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib import resources

from bishui.errors import InputError, NotFoundError

LIMITS_FILE = "limits_gb18285-2018_gb3847-2018.csv"
SETS_FILE = "limit_sets_2019-05-01.csv"


@dataclass(frozen=True)
class LimitRow:
    method: str
    item: str
    unit: str
    vehicle_class: str
    limit_set: str
    limit: float
    source: str
    tag: str


@dataclass(frozen=True)
class SetRow:
    region: str
    valid_from: dt.date
    valid_to: dt.date | None
    limit_set: str
    version: str
    source: str
    tag: str


@dataclass(frozen=True)
class Limits:
    """The limits applying to one test: item → value, the version and the set."""

    method: str
    version: str
    limit_set: str
    values: dict[str, float]
    tags: dict[str, str]


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("bishui.vehicles").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))


@cache
def limit_rows() -> tuple[LimitRow, ...]:
    return tuple(
        LimitRow(
            r["method"],
            r["item"],
            r["unit"],
            r["vehicle_class"],
            r["limit_set"],
            float(r["limit"]),
            r["source"],
            r["tag"],
        )
        for r in _rows(LIMITS_FILE)
    )


@cache
def set_rows() -> tuple[SetRow, ...]:
    return tuple(
        SetRow(
            r["region"],
            dt.date.fromisoformat(r["valid_from"]),
            dt.date.fromisoformat(r["valid_to"]) if r["valid_to"] else None,
            r["limit_set"],
            r["version"],
            r["source"],
            r["tag"],
        )
        for r in _rows(SETS_FILE)
    )


def applicable_set(region: str, on: dt.date, sets: tuple[SetRow, ...] | None = None) -> SetRow:
    """The set row for *region* on *on*: the county's own row, else its prefecture's
    (``4208xx`` → ``420800``), else ``*``."""
    rows = set_rows() if sets is None else sets
    for key in (region, region[:4] + "00" if len(region) == 6 else region, "*"):
        for r in rows:
            if r.region == key and r.valid_from <= on and (r.valid_to is None or on < r.valid_to):
                return r
    raise NotFoundError(f"no limit set for region {region} on {on}")


def limits_for(
    method: str,
    vehicle_class: str,
    region: str,
    on: dt.date,
    rows: tuple[LimitRow, ...] | None = None,
    sets: tuple[SetRow, ...] | None = None,
) -> Limits:
    """The limits of *method* for a vehicle of *vehicle_class* tested in *region* on *on*.

    A row for the exact vehicle class wins over the ``*`` row of the same item.
    """
    s = applicable_set(region, on, sets)
    values: dict[str, float] = {}
    tags: dict[str, str] = {}
    exact: set[str] = set()
    for r in limit_rows() if rows is None else rows:
        if r.method != method or r.limit_set != s.limit_set:
            continue
        if r.vehicle_class == vehicle_class:
            values[r.item], tags[r.item] = r.limit, r.tag
            exact.add(r.item)
        elif r.vehicle_class == "*" and r.item not in exact:
            values[r.item], tags[r.item] = r.limit, r.tag
    if not values:
        raise InputError("method", "a method with limits", method)
    return Limits(method, s.version, s.limit_set, values, tags)
