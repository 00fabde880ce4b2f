"""Settlement periods: a month, a quarter or a year, written ``2025-03``, ``2025-Q1``, ``2025``."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bishui.errors import InputError

__all__ = ["PERIOD_KINDS", "Period"]

PERIOD_KINDS = ("month", "quarter", "year")

_FORMS = (
    (re.compile(r"^(\d{4})-(\d{2})$"), "month", 12),
    (re.compile(r"^(\d{4})-Q([1-4])$"), "quarter", 4),
    (re.compile(r"^(\d{4})$"), "year", 1),
)


@dataclass(frozen=True, order=True)
class Period:
    """One assessment period. ``index`` is the month (1–12), quarter (1–4) or 1 for a year."""

    year: int
    kind: str
    index: int = 1

    def __post_init__(self) -> None:
        if self.kind not in PERIOD_KINDS:
            raise InputError("period.kind", f"one of {', '.join(PERIOD_KINDS)}", self.kind)
        top = {"month": 12, "quarter": 4, "year": 1}[self.kind]
        if not 1 <= self.index <= top:
            raise InputError("period.index", f"1 to {top} for a {self.kind}", self.index)

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``2025-03`` (month), ``2025-Q1`` (quarter) or ``2025`` (year)."""
        for pattern, kind, _ in _FORMS:
            m = pattern.match(text.strip()) if isinstance(text, str) else None
            if m:
                index = int(m.group(2)) if kind != "year" else 1
                return cls(int(m.group(1)), kind, index)
        raise InputError("period", "written 2025-03, 2025-Q1 or 2025", text)

    @classmethod
    def in_year(cls, kind: str, year: int) -> tuple[Period, ...]:
        """Every period of *kind* in *year*, in order (12 months, 4 quarters or the year)."""
        top = {"month": 12, "quarter": 4, "year": 1}.get(kind)
        if top is None:
            raise InputError("period.kind", f"one of {', '.join(PERIOD_KINDS)}", kind)
        return tuple(cls(year, kind, i) for i in range(1, top + 1))

    def __str__(self) -> str:
        if self.kind == "month":
            return f"{self.year}-{self.index:02d}"
        if self.kind == "quarter":
            return f"{self.year}-Q{self.index}"
        return f"{self.year}"

    @property
    def zh(self) -> str:
        """The period in Chinese: 2025年3月, 2025年第1季度, 2025年."""
        if self.kind == "month":
            return f"{self.year}年{self.index}月"
        if self.kind == "quarter":
            return f"{self.year}年第{self.index}季度"
        return f"{self.year}年"

    @property
    def start(self) -> dt.date:
        month = {"month": self.index, "quarter": 3 * self.index - 2, "year": 1}[self.kind]
        return dt.date(self.year, month, 1)

    @property
    def end(self) -> dt.date:
        """The last day of the period (inclusive)."""
        month = {"month": self.index, "quarter": 3 * self.index, "year": 12}[self.kind]
        if month == 12:
            return dt.date(self.year, 12, 31)
        return dt.date(self.year, month + 1, 1) - dt.timedelta(days=1)

    def within(self, other: Period) -> bool:
        """True if this period lies inside *other* (a month inside its quarter or year …)."""
        return other.start <= self.start and self.end <= other.end
