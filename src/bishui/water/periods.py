"""Assessment periods of the water service: a day, a month, a quarter or a year.

Written ``2026-07-15``, ``2026-07``, ``2026-Q3`` or ``2026``; times are naive Beijing time and
a period covers ``start <= t < end`` (环办〔2011〕22号 一(二): monthly, quarterly and annual
assessment; the daily form serves the automatic stations' daily values).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bishui.errors import InputError

KINDS = ("day", "month", "quarter", "year")

_FORMS = (
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), "day"),
    (re.compile(r"^(\d{4})-(\d{2})$"), "month"),
    (re.compile(r"^(\d{4})-[Qq]([1-4])$"), "quarter"),
    (re.compile(r"^(\d{4})$"), "year"),
)


@dataclass(frozen=True, order=True)
class WaterPeriod:
    """One period: ``kind`` and its first day ``first`` (a day, month, quarter or year start)."""

    kind: str
    first: dt.date

    @classmethod
    def parse(cls, text: str) -> WaterPeriod:
        """``2026-07-15`` (day), ``2026-07`` (month), ``2026-Q3`` (quarter), ``2026`` (year)."""
        s = text.strip() if isinstance(text, str) else ""
        for pattern, kind in _FORMS:
            m = pattern.match(s)
            if not m:
                continue
            year = int(m.group(1))
            if not 1900 <= year <= 2200:
                break
            try:
                if kind == "day":
                    first = dt.date(year, int(m.group(2)), int(m.group(3)))
                elif kind == "month":
                    first = dt.date(year, int(m.group(2)), 1)
                elif kind == "quarter":
                    first = dt.date(year, 3 * int(m.group(2)) - 2, 1)
                else:
                    first = dt.date(year, 1, 1)
            except ValueError:
                break
            return cls(kind, first)
        raise InputError("period", "written 2026 (year), 2026-Q3, 2026-07 or 2026-07-15", text)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time())

    @property
    def end(self) -> dt.datetime:
        """The first instant after the period."""
        f = self.first
        if self.kind == "day":
            return self.start + dt.timedelta(days=1)
        months = {"month": 1, "quarter": 3, "year": 12}[self.kind]
        m = f.month - 1 + months
        return dt.datetime(f.year + m // 12, m % 12 + 1, 1)

    @property
    def months(self) -> int:
        """Calendar months the period spans (0 for a day)."""
        return {"day": 0, "month": 1, "quarter": 3, "year": 12}[self.kind]

    def previous_year(self) -> WaterPeriod:
        """The same period one year earlier (上年同期); 29 February maps to 28 February."""
        f = self.first
        try:
            return WaterPeriod(self.kind, f.replace(year=f.year - 1))
        except ValueError:
            return WaterPeriod(self.kind, f.replace(year=f.year - 1, day=28))

    def __str__(self) -> str:
        f = self.first
        if self.kind == "day":
            return f.isoformat()
        if self.kind == "month":
            return f"{f.year}-{f.month:02d}"
        if self.kind == "quarter":
            return f"{f.year}-Q{(f.month - 1) // 3 + 1}"
        return str(f.year)

    @property
    def zh(self) -> str:
        f = self.first
        if self.kind == "day":
            return f"{f.year}年{f.month}月{f.day}日"
        if self.kind == "month":
            return f"{f.year}年{f.month}月"
        if self.kind == "quarter":
            return f"{f.year}年第{(f.month - 1) // 3 + 1}季度"
        return f"{f.year}年"
