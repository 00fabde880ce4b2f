"""Natural-resource asset tables (自然资源资产负债表, 国办发〔2015〕82号; notes §3 [S]).

Per county, year and resource: the opening stock (期初存量), increases and decreases each with
a cause (本期增加量 / 本期减少量), and the closing stock (期末存量), per category (land by use,
forest by origin, water by kind, soil by quality grade, minerals by mineral). The balance

    期初存量 + 本期增加量 − 本期减少量 = 期末存量

is checked exactly (quantities are decimals as surveyed, never floats), and the opening stock
must equal the previous year's closing stock when that year is on file (notes §3 [S]).

Survey data arrive as CSV or Excel, one movement per row::

    county,year,resource,category,item,cause,quantity,unit
    420802,2026,land,耕地,opening,,41234.56,hm2
    420802,2026,land,耕地,decrease,human,12.30,hm2
    420802,2026,land,耕地,closing,,41222.26,hm2

``item`` is ``opening``, ``increase``, ``decrease`` or ``closing``; ``cause`` (increases and
decreases only) is ``human`` (人为因素, e.g. planting, felling, construction), ``natural``
(自然因素) or ``other`` (e.g. reclassification, survey revision) — the notes give the first two
[S/U]; ``other`` is this platform's, for what fits neither. A file is loaded whole or not at
all: every bad row is reported with its row number, field, rule and value.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from bishui.errors import InputError, TooLarge

#: resource → (Chinese name, English name, unit of quantity). Quality accounts count areas by
#: grade (soil: 耕地质量等别) or sections by class (water quality, GB 3838-2002 Ⅰ–劣Ⅴ).
RESOURCES: dict[str, tuple[str, str, str]] = {
    "land": ("土地资源", "land by use", "hm2"),
    "forest": ("林木资源", "forest stock", "m3"),
    "water": ("水资源", "water resources", "1e4 m3"),
    "soil": ("土壤质量", "soil quality (farmland grade)", "hm2"),
    "mineral": ("矿产资源", "mineral resources", "t"),
    "water_quality": ("水环境质量", "water quality classes", "section"),
}
ITEMS = ("opening", "increase", "decrease", "closing")
CAUSES = {"human": "人为因素", "natural": "自然因素", "other": "其他"}
COLUMNS = ("county", "year", "resource", "category", "item", "cause", "quantity", "unit")
MAX_ROWS = 20_000
_COUNTY = re.compile(r"^[0-9]{6}(-[A-Z0-9]{1,8})?$")
MAX_BYTES = 5_000_000


@dataclass
class Line:
    """One category of one resource: the stock and its movements."""

    county: str
    year: int
    resource: str
    category: str
    unit: str
    opening: Decimal | None = None
    closing: Decimal | None = None
    increase: dict[str, Decimal] = field(default_factory=dict)  # cause → quantity
    decrease: dict[str, Decimal] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.county, self.year, self.resource, self.category)

    @property
    def expected_closing(self) -> Decimal | None:
        if self.opening is None:
            return None
        return (
            self.opening
            + sum(self.increase.values(), Decimal(0))
            - sum(self.decrease.values(), Decimal(0))
        )

    @property
    def balanced(self) -> bool:
        return self.closing is not None and self.expected_closing == self.closing

    def as_dict(self) -> dict[str, Any]:
        return {
            "county": self.county,
            "year": self.year,
            "resource": self.resource,
            "category": self.category,
            "unit": self.unit,
            "opening": str(self.opening),
            "increase": {k: str(v) for k, v in sorted(self.increase.items())},
            "decrease": {k: str(v) for k, v in sorted(self.decrease.items())},
            "closing": str(self.closing),
        }


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    rule: str
    value: Any

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "rule": self.rule, "value": self.value}


def _rows_csv(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError("columns", f"the header names {', '.join(COLUMNS)}", missing)
    return [dict(r) for r in reader]


def _rows_xlsx(data: bytes) -> list[dict[str, str]]:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(it, ())]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputError("columns", f"the header names {', '.join(COLUMNS)}", missing)
    out = []
    for r in it:
        if r is None or all(v is None for v in r):
            continue
        out.append({h: "" if v is None else str(v) for h, v in zip(header, r, strict=False)})
    return out


def parse_survey(data: bytes, kind: str = "csv") -> list[Line]:
    """Parse a survey file into balanced lines, or raise :class:`InputError` listing every bad
    row (field ``rows``; value: the row errors) — nothing is half-loaded."""
    if len(data) > MAX_BYTES:
        raise TooLarge("file", f"at most {MAX_BYTES} bytes", len(data))
    if kind not in ("csv", "xlsx"):
        raise InputError("kind", "csv or xlsx", kind)
    try:
        raw = _rows_csv(data) if kind == "csv" else _rows_xlsx(data)
    except InputError:
        raise
    except UnicodeDecodeError:
        raise InputError("file", "UTF-8 text", None) from None
    except Exception:
        # a damaged or foreign workbook: openpyxl and zipfile raise many kinds of error
        raise InputError("file", "an Excel workbook (.xlsx)", None) from None
    if len(raw) > MAX_ROWS:
        raise TooLarge("rows", f"at most {MAX_ROWS}", len(raw))
    errors: list[RowError] = []
    lines: dict[tuple[str, int, str, str], Line] = {}
    first_row: dict[tuple[str, int, str, str], int] = {}
    for n, r in enumerate(raw, start=2):  # row 1 is the header
        bad = len(errors)
        county = (r.get("county") or "").strip()
        if not _COUNTY.match(county):
            errors.append(RowError(n, "county", "a region code (GB/T 2260 or internal)", county))
        try:
            year = int((r.get("year") or "").strip())
            if not 1949 <= year <= 2100:
                raise ValueError
        except ValueError:
            errors.append(RowError(n, "year", "a year 1949–2100", r.get("year")))
            year = 0
        res = (r.get("resource") or "").strip()
        if res not in RESOURCES:
            errors.append(RowError(n, "resource", f"one of {', '.join(RESOURCES)}", res))
        cat = (r.get("category") or "").strip()
        if not cat or len(cat) > 64:
            errors.append(RowError(n, "category", "1–64 characters", cat))
        item = (r.get("item") or "").strip()
        if item not in ITEMS:
            errors.append(RowError(n, "item", f"one of {', '.join(ITEMS)}", item))
        cause = (r.get("cause") or "").strip()
        if item in ("increase", "decrease") and cause not in CAUSES:
            errors.append(RowError(n, "cause", f"one of {', '.join(CAUSES)}", cause))
        if item in ("opening", "closing") and cause:
            errors.append(RowError(n, "cause", "empty for a stock", cause))
        unit = (r.get("unit") or "").strip()
        if res in RESOURCES and unit != RESOURCES[res][2]:
            errors.append(RowError(n, "unit", f"{RESOURCES[res][2]} for {res}", unit))
        try:
            q = Decimal((r.get("quantity") or "").strip())
            if not q.is_finite() or q < 0 or q.as_tuple().exponent < -6:  # type: ignore[operator]
                raise InvalidOperation
        except InvalidOperation:
            errors.append(
                RowError(n, "quantity", "a non-negative decimal, ≤ 6 decimals", r.get("quantity"))
            )
            q = Decimal(0)
        if len(errors) > bad:
            continue
        key = (county, year, res, cat)
        line = lines.get(key)
        if line is None:
            line = lines[key] = Line(county, year, res, cat, unit)
            first_row[key] = n
        if item in ("opening", "closing"):
            if getattr(line, item) is not None:
                errors.append(RowError(n, "item", f"one {item} stock per category", item))
                continue
            setattr(line, item, q)
        else:
            book = line.increase if item == "increase" else line.decrease
            book[cause] = book.get(cause, Decimal(0)) + q
    for key, line in lines.items():
        n = first_row[key]
        if line.opening is None or line.closing is None:
            errors.append(
                RowError(
                    n,
                    "item",
                    "an opening and a closing stock per category",
                    "/".join(map(str, key)),
                )
            )
        elif not line.balanced:
            errors.append(
                RowError(
                    n,
                    "closing",
                    "期初 + 增加 − 减少 = 期末 (exact)",
                    f"{line.expected_closing} ≠ {line.closing} ({'/'.join(map(str, key))})",
                )
            )
    if errors:
        raise InputError(
            "rows",
            f"{len(errors)} bad row(s); nothing was loaded",
            [e.as_dict() for e in errors[:200]],
        )
    return sorted(lines.values(), key=lambda x: x.key)


def check_continuity(
    lines: list[Line], previous: dict[tuple[str, str, str], Decimal]
) -> list[RowError]:
    """Opening stocks against the previous year's closing stocks ((county, resource, category)
    → closing); a category new this year has no previous closing and is not checked."""
    out = []
    for ln in lines:
        prev = previous.get((ln.county, ln.resource, ln.category))
        if prev is not None and ln.opening != prev:
            out.append(
                RowError(
                    0,
                    "opening",
                    "the previous year's closing stock",
                    f"{ln.opening} ≠ {prev} ({'/'.join(map(str, ln.key))})",
                )
            )
    return out


def summary(lines: list[Line]) -> dict[str, dict[str, Decimal]]:
    """Per resource and unit: opening, increase, decrease, closing summed over categories."""
    acc: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for ln in lines:
        a = acc[ln.resource]
        a["opening"] += ln.opening or 0
        a["increase"] += sum(ln.increase.values(), Decimal(0))
        a["decrease"] += sum(ln.decrease.values(), Decimal(0))
        a["closing"] += ln.closing or 0
    return {k: dict(v) for k, v in acc.items()}
