"""The rules of the chief workflows, from a versioned data file (``data/rivers_rules_*.toml``).

Patrol intervals per section level, the validity thresholds of a patrol, the size limits of
what a phone sends, and the problem categories with the department each is routed to and its
enforcement severity. The file names the source of every value or says it is a choice.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from bishui.errors import ConfigError

DEFAULT_FILE = "rivers_rules_2026.12-1.toml"
LEVELS = ("city", "county", "township", "village")
INTERVALS = ("week", "month", "quarter")
SEVERITIES = ("low", "medium", "high")


@dataclass(frozen=True)
class Category:
    code: str
    zh: str
    en: str
    department: str
    severity: str


@dataclass(frozen=True)
class Rules:
    version: str
    interval: Mapping[str, str]
    interval_source: str
    min_minutes: int
    min_metres: int
    validity_source: str
    max_points: int
    max_points_per_request: int
    max_photos_per_patrol: int
    max_photo_bytes: int
    max_problems_per_patrol: int
    max_text: int
    categories: Mapping[str, Category] = field(default_factory=dict)

    def period(self, level: str, day: dt.date) -> tuple[dt.date, dt.date]:
        """The patrol period of a *level* section containing *day*: ``[first, last]``."""
        kind = self.interval[level]
        if kind == "week":
            first = day - dt.timedelta(days=day.weekday())
            return first, first + dt.timedelta(days=6)
        if kind == "month":
            first = day.replace(day=1)
        else:
            first = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        months = 1 if kind == "month" else 3
        y, m = divmod(first.month - 1 + months, 12)
        return first, dt.date(first.year + y, m + 1, 1) - dt.timedelta(days=1)


def parse_rules(doc: Mapping[str, Any]) -> Rules:
    try:
        pi, pv, lim = doc["patrol_interval"], doc["patrol_validity"], doc["limits"]
        interval = {lvl: str(pi[lvl]) for lvl in LEVELS}
        cats = {
            str(code): Category(
                str(code), str(c["zh"]), str(c["en"]), str(c["department"]), str(c["severity"])
            )
            for code, c in doc["categories"].items()
        }
        rules = Rules(
            version=str(doc["meta"]["version"]),
            interval=interval,
            interval_source=str(pi["source"]),
            min_minutes=int(pv["min_minutes"]),
            min_metres=int(pv["min_metres"]),
            validity_source=str(pv["source"]),
            max_points=int(lim["max_points"]),
            max_points_per_request=int(lim["max_points_per_request"]),
            max_photos_per_patrol=int(lim["max_photos_per_patrol"]),
            max_photo_bytes=int(lim["max_photo_bytes"]),
            max_problems_per_patrol=int(lim["max_problems_per_patrol"]),
            max_text=int(lim["max_text"]),
            categories=cats,
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError("rivers rules", f"malformed rules document: {e!r}", None) from None
    bad = {k: v for k, v in interval.items() if v not in INTERVALS}
    if bad:
        raise ConfigError("patrol_interval", "one of " + ", ".join(INTERVALS), bad)
    for c in cats.values():
        if c.severity not in SEVERITIES:
            raise ConfigError(f"categories.{c.code}.severity", ", ".join(SEVERITIES), c.severity)
    if not cats:
        raise ConfigError("categories", "at least one category", [])
    limits = (rules.max_points, rules.max_points_per_request, rules.max_photos_per_patrol,
              rules.max_photo_bytes, rules.max_problems_per_patrol, rules.max_text)  # fmt: skip
    if min(limits) <= 0 or rules.min_minutes < 0 or rules.min_metres < 0:
        raise ConfigError("limits", "positive limits, thresholds not negative", list(limits))
    return rules


def load_rules(path: str | Path | None = None) -> Rules:
    """The packaged rules, or a bureau's own file."""
    try:
        if path is None:
            text = (resources.files("bishui.rivers") / "data" / DEFAULT_FILE).read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
        return parse_rules(tomllib.loads(text))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("rivers rules", f"not valid TOML: {e}", str(path)) from None
    except OSError as e:
        raise ConfigError("rivers rules", f"cannot read: {e.strerror}", str(path)) from None
