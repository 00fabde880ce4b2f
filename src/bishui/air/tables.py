"""The normative tables of HJ 633 and GB 3095, loaded from the CSV files in ``data/``.

Every file carries its standard, edition and table number in its name and its first comment
lines; this module only parses them. Values are kept as exact integers or ``Fraction``.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources

from bishui.air.editions import Edition

#: HJ 633 table file per edition: 2012 Table 1, 2026 Table 3.
IAQI_TABLE_FILES: dict[Edition, str] = {
    "2012": "hj633-2012_table1_iaqi.csv",
    "2026": "hj633-2026_table3_iaqi.csv",
}
#: HJ 633 AQI level tables: 2012 Table 2, 2026 Table 1 (identical bands and colours).
LEVEL_TABLE_FILES: dict[Edition, str] = {
    "2012": "hj633-2012_table2_levels.csv",
    "2026": "hj633-2026_table1_levels.csv",
}
#: GB 3095 Table 1 per edition.
LIMIT_TABLE_FILES: dict[Edition, str] = {
    "2012": "gb3095-2012_table1_limits.csv",
    "2026": "gb3095-2026_table1_limits.csv",
}


def read_csv(name: str) -> list[dict[str, str]]:
    """Rows of a package data file, skipping the ``#`` comment lines at its top."""
    text = resources.files("bishui.air").joinpath("data", name).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(lines))


@dataclass(frozen=True)
class Segments:
    """One column of the IAQI table: breakpoints ``conc[i]`` ↔ ``iaqi[i]``, ascending."""

    conc: tuple[Fraction, ...]
    iaqi: tuple[int, ...]


@functools.cache
def iaqi_table(edition: Edition) -> dict[str, Segments]:
    """The IAQI breakpoint columns of one edition, keyed by the table's column name."""
    rows = read_csv(IAQI_TABLE_FILES[edition])
    columns = [c for c in rows[0] if c != "iaqi"]
    out: dict[str, Segments] = {}
    for col in columns:
        pairs = [(Fraction(r[col]), int(r["iaqi"])) for r in rows if r[col].strip()]
        out[col] = Segments(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))
    return out


@dataclass(frozen=True)
class Level:
    """One AQI band of HJ 633 (level 1-6)."""

    level: int
    aqi_max: int | None
    level_name: str
    category: str
    category_en: str
    colour: str
    colour_en: str
    rgb: tuple[int, int, int]
    cmyk: tuple[int, int, int, int]
    hex: str


@functools.cache
def level_table(edition: Edition) -> tuple[Level, ...]:
    """The six AQI levels of one edition, level 1 first."""
    out = []
    for r in read_csv(LEVEL_TABLE_FILES[edition]):
        rgb = tuple(int(v) for v in r["rgb"].split())
        cmyk = tuple(int(v) for v in r["cmyk"].split())
        out.append(
            Level(
                level=int(r["level"]),
                aqi_max=int(r["aqi_max"]) if r["aqi_max"] else None,
                level_name=r["level_name"],
                category=r["category"],
                category_en=r["category_en"],
                colour=r["colour"],
                colour_en=r["colour_en"],
                rgb=(rgb[0], rgb[1], rgb[2]),
                cmyk=(cmyk[0], cmyk[1], cmyk[2], cmyk[3]),
                hex=r["hex"],
            )
        )
    return tuple(out)


@functools.cache
def limit_table(edition: Edition) -> dict[tuple[str, str, str], tuple[Fraction, Fraction]]:
    """GB 3095 Table 1: ``(pollutant, period, phase) → (grade I, grade II)`` limits."""
    out = {}
    for r in read_csv(LIMIT_TABLE_FILES[edition]):
        out[(r["pollutant"], r["period"], r["phase"])] = (
            Fraction(r["grade1"]),
            Fraction(r["grade2"]),
        )
    return out
