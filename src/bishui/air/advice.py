"""Health advice per AQI category: HJ 633's 对健康影响情况 and 建议采取的措施.

The texts are the standard's, kept as data files beside this module:

* HJ 633-2012 Table 2 (``data/hj633-2012_table2_health.csv``), for data before 2026-03-01;
* HJ 633-2026 Table 1 (``data/hj633-2026_table1_health.csv``), from 2026-03-01 — levels 3-6
  reworded (敏感人群, 心血管系统, 青少年儿童);
* HJ 633-2026 Table 2 (``data/hj633-2026_table2_sensitive.csv``): the sensitive groups of each
  pollutant whose IAQI exceeds 100 (no such table in 2012).

Which edition applies is decided by the data's date (:func:`bishui.air.editions.edition_for`),
as for the AQI itself.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from bishui.air.editions import DateLike, Edition, check_edition, edition_for
from bishui.air.tables import read_csv
from bishui.errors import InputError

#: Health table file per edition: 2012 Table 2, 2026 Table 1.
HEALTH_TABLE_FILES: dict[Edition, str] = {
    "2012": "hj633-2012_table2_health.csv",
    "2026": "hj633-2026_table1_health.csv",
}
SENSITIVE_FILE = "hj633-2026_table2_sensitive.csv"
#: Where each edition's text stands.
CITATION: dict[Edition, str] = {
    "2012": "HJ 633-2012 表2",
    "2026": "HJ 633-2026 表1",
}


@dataclass(frozen=True, slots=True)
class Advice:
    """The health effect and recommended measures of one AQI level under one edition."""

    edition: Edition
    level: int
    category: str
    health_effect: str
    measures: str
    citation: str
    sensitive_groups: dict[str, str]  # pollutant → groups (2026 Table 2; empty for 2012)

    def as_dict(self) -> dict[str, object]:
        return {
            "edition": self.edition,
            "level": self.level,
            "category": self.category,
            "health_effect": self.health_effect,
            "measures": self.measures,
            "citation": self.citation,
            "sensitive_groups": self.sensitive_groups,
        }


@functools.cache
def health_table(edition: Edition) -> tuple[tuple[int, str, str, str], ...]:
    """(level, category, health effect, measures) of levels 1-6 under *edition*."""
    return tuple(
        (int(r["level"]), r["category"], r["health_effect"], r["measures"])
        for r in read_csv(HEALTH_TABLE_FILES[check_edition(edition)])
    )


@functools.cache
def sensitive_groups() -> dict[str, str]:
    """HJ 633-2026 Table 2: pollutant (SO2, NO2, CO, O3, PM10, PM2.5) → its sensitive groups."""
    return {r["pollutant"]: r["sensitive_groups"] for r in read_csv(SENSITIVE_FILE)}


def advice(
    level: int,
    *,
    edition: Edition | None = None,
    when: DateLike | None = None,
    over_100: tuple[str, ...] = (),
) -> Advice:
    """The advice for AQI *level* (1-6) under *edition*, or the edition in force at *when*.

    Parameters
    ----------
    level : int
        HJ 633 AQI level (一级 … 六级).
    edition, when
        One of them: the edition, or the date / end-of-hour label of the data.
    over_100 : tuple of str
        Pollutants (``SO2``, ``NO2``, ``CO``, ``O3``, ``PM10``, ``PM2.5``, with or without an
        averaging suffix such as ``_1h``) whose IAQI exceeds 100: under 2026 their sensitive
        groups (Table 2) are added.
    """
    if edition is None:
        if when is None:
            raise InputError("edition", "give an edition or the data's date", None)
        edition = edition_for(when)
    ed = check_edition(edition)
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 6:
        raise InputError("level", "an AQI level 1-6", level)
    lv, category, effect, measures = health_table(ed)[level - 1]
    groups: dict[str, str] = {}
    if ed == "2026":
        table = sensitive_groups()
        for key in over_100:
            pol = key.split("_", 1)[0]
            if pol in table:
                groups[pol] = table[pol]
    return Advice(ed, lv, category, effect, measures, CITATION[ed], groups)
