"""File uploads (CSV and Excel) for manual and laboratory monitoring: all or nothing.

A file has one row per value, with a header row. Columns (Chinese or English names):

============  ===========  =====================================================
column        中文列名       content
============  ===========  =====================================================
site          站点编号       a registered site id (required)
parameter     监测项目       HJ 212 code, e.g. w21003 (required)
time          监测时间       ``YYYY-MM-DD HH:MM[:SS]`` Beijing time (required)
value         监测值         a number (required)
unit          单位           must match the unit registered for that parameter
flag          标记           HJ 212-2017 Table 8 data flag; default N
period        周期           rt | min | hour | day; default hour
============  ===========  =====================================================

Every row is checked before anything is written; the first error is reported with its row
number, column and rule, and nothing of the file is stored. A valid file is stored in one
transaction with ``origin = 'upload'``, its source the file's SHA-256, and the file itself
in the raw log. Uploading the same file again changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bishui.errors import InputError, TooLarge
from bishui.hj212.tables import data_flags
from bishui.registry import Device
from bishui.store import PERIODS, Batch, RawEntry, Store

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 1_000_000

COLUMNS = {
    "site": ("site", "site_id", "站点编号", "站点"),
    "parameter": ("parameter", "监测项目", "因子编码", "项目"),
    "time": ("time", "ts", "监测时间", "时间"),
    "value": ("value", "监测值", "数值"),
    "unit": ("unit", "单位"),
    "flag": ("flag", "标记", "数据标记"),
    "period": ("period", "周期"),
}
REQUIRED = ("site", "parameter", "time", "value")
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%Y%m%d%H%M%S",
)


@dataclass(frozen=True, slots=True)
class UploadResult:
    source: str
    rows: int
    duplicate_of_previous: bool


def _header_map(header: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        key = name.strip().lstrip("\ufeff").lower()
        for canonical, aliases in COLUMNS.items():
            if key in aliases:
                if canonical in index:
                    raise InputError(name, "column appears twice", name, row=1)
                index[canonical] = i
    for col in REQUIRED:
        if col not in index:
            raise InputError(
                col, f"required column missing (one of {', '.join(COLUMNS[col])})", None, row=1
            )
    return index


def _rows_csv(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")  # Excel on a Chinese Windows saves CSV as GBK
        except UnicodeDecodeError as exc:
            raise InputError("file", "not UTF-8 or GB 18030 text", None) from exc
    yield from csv.reader(io.StringIO(text))


def _rows_xlsx(data: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise InputError("file", "not a readable .xlsx workbook", type(exc).__name__) from exc
    ws = wb.worksheets[0]
    for r in ws.iter_rows(values_only=True):
        yield ["" if v is None else v for v in r]


#: Chinese column name of each field (the first Chinese alias of :data:`COLUMNS`).
FIELD_ZH = {k: next(a for a in v if not a.isascii()) for k, v in COLUMNS.items()} | {"file": "文件"}


class RowError(InputError):
    """A row that breaks a rule: field, rule and value, with the rule in Chinese too."""

    def __init__(self, field: str, rule: str, rule_zh: str, value: Any, row: int) -> None:
        super().__init__(field, rule, value, row=row)
        self.rule_zh = rule_zh

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "field_zh": FIELD_ZH.get(self.field, self.field),
                "rule_zh": self.rule_zh}  # fmt: skip


def _time(v: Any, row: int) -> dt.datetime:
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=None, microsecond=0)
    if isinstance(v, dt.date):
        return dt.datetime.combine(v, dt.time())
    text = str(v).strip()
    for fmt in _TIME_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise RowError(
        "time", "a time like 2025-07-01 08:00 (Beijing time)",
        "北京时间，格式如 2025-07-01 08:00", text, row,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Checked:
    """A whole file checked: its measurement rows, its source id, and every row error found
    (at most *max_errors*; none means the file may be stored)."""

    rows: list[tuple[Any, ...]]
    source: str
    errors: list[RowError]
    truncated: bool = False  # more errors than were kept


def check(
    data: bytes,
    filename: str,
    devices_by_site: dict[str, Device],
    *,
    now: dt.datetime,
    max_errors: int = 100,
    max_bytes: int = MAX_BYTES,
) -> Checked:
    """Check every row of a file and collect the row errors (a file-level problem — size,
    format, header, no rows — still raises :class:`InputError`)."""
    if len(data) > max_bytes:
        raise TooLarge("file", f"at most {max_bytes} bytes", len(data))
    source = "upload:" + hashlib.sha256(data).hexdigest()[:16]
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        rows: Iterable[list[Any]] = _rows_csv(data)
    elif suffix in (".xlsx", ".xlsm"):
        rows = _rows_xlsx(data)
    else:
        raise InputError("file", "a .csv or .xlsx file", filename)
    it = iter(rows)
    try:
        header = [str(h) for h in next(it)]
    except StopIteration:
        raise InputError("file", "the file is empty", filename) from None
    idx = _header_map(header)
    flags = data_flags("2017")
    out: list[tuple[Any, ...]] = []
    errors: list[RowError] = []
    truncated = False
    seen: set[tuple[str, str, str, dt.datetime]] = set()
    n_rows = 0
    for n, r in enumerate(it, start=2):
        if not any(str(c).strip() for c in r):
            continue  # blank line
        n_rows += 1
        if n_rows > MAX_ROWS:
            raise InputError("file", f"more than {MAX_ROWS} rows", None, row=n)
        try:
            out.append(_row(r, n, idx, devices_by_site, flags, seen, source, now))
        except RowError as exc:
            if len(errors) >= max_errors:
                truncated = True
                break
            errors.append(exc)
    if not out and not errors:
        raise InputError("file", "no data rows", filename)
    return Checked(out, source, errors, truncated)


def _row(
    r: list[Any],
    n: int,
    idx: dict[str, int],
    devices_by_site: dict[str, Device],
    flags: Any,
    seen: set[tuple[str, str, str, dt.datetime]],
    source: str,
    now: dt.datetime,
) -> tuple[Any, ...]:
    def cell(col: str) -> Any:
        i = idx.get(col)
        return r[i] if i is not None and i < len(r) else ""

    site = str(cell("site")).strip()
    dev = devices_by_site.get(site)
    if dev is None:
        raise RowError("site", "not a registered site", "不是已登记的站点", site, n)
    param = str(cell("parameter")).strip()
    known = {p.parameter: p for p in dev.parameters}
    if param not in known:
        raise RowError(
            "parameter", f"not registered for site {site}", f"站点 {site} 未登记该监测项目",
            param, n,
        )  # fmt: skip
    ts = _time(cell("time"), n)
    if ts > now + dt.timedelta(minutes=10):
        raise RowError("time", "in the future", "不能晚于当前时间", str(cell("time")), n)
    raw_value = cell("value")
    try:
        value = (
            float(str(raw_value).strip())
            if not isinstance(raw_value, int | float)
            else float(raw_value)
        )
    except ValueError:
        raise RowError("value", "a number", "应为数字", raw_value, n) from None
    if not math.isfinite(value):
        raise RowError("value", "a finite number", "应为有限的数字", raw_value, n)
    p = known[param]
    if (p.range_min is not None and value < p.range_min) or (
        p.range_max is not None and value > p.range_max
    ):
        raise RowError(
            "value",
            f"inside the instrument range {p.range_min}…{p.range_max}",
            f"应在仪器量程 {p.range_min}～{p.range_max} 之内",
            raw_value,
            n,
        )
    unit = str(cell("unit")).strip()
    if unit and unit != p.unit:
        raise RowError(
            "unit", f"the registered unit of {param} is {p.unit}",
            f"{param} 的登记单位为 {p.unit}", unit, n,
        )  # fmt: skip
    flag = str(cell("flag")).strip() or "N"
    if flag not in flags:
        raise RowError(
            "flag", "an HJ 212-2017 Table 8 data flag (N F M S D C T B)",
            "应为 HJ 212-2017 表8 的数据标记（N F M S D C T B）", flag, n,
        )  # fmt: skip
    period = str(cell("period")).strip() or "hour"
    if period not in PERIODS:
        raise RowError(
            "period", f"one of {', '.join(PERIODS)}", f"应为 {'、'.join(PERIODS)} 之一", period, n
        )
    key = (site, param, period, ts)
    if key in seen:
        raise RowError(
            "time",
            f"a second value for {site} {param} {period} at this time",
            f"{site} {param} {period} 在该时间已有一个值（重复行）",
            str(cell("time")),
            n,
        )
    seen.add(key)
    return (site, param, period, ts, "upload", value, None, None, None, flag, flag == "N",
            None, source, now)  # fmt: skip


def parse(
    data: bytes, filename: str, devices_by_site: dict[str, Device], *, now: dt.datetime
) -> tuple[list[tuple[Any, ...]], str]:
    """Check a whole file; return its measurement rows and its source id, or raise the first
    row error (:func:`check` collects them all)."""
    checked = check(data, filename, devices_by_site, now=now, max_errors=1)
    if checked.errors:
        raise checked.errors[0]
    return checked.rows, checked.source


def import_file(
    store: Store,
    data: bytes,
    filename: str,
    devices: dict[str, Device],
    *,
    now: dt.datetime,
    uploader: str | None = None,
) -> UploadResult:
    """Validate and store an uploaded file in one transaction (see module docstring).

    *uploader* (an account name) is recorded with the file in the raw log (its ``peer``:
    ``"<uploader>: <file name>"``).
    """
    by_site = {d.site_id: d for d in devices.values()}
    rows, source = parse(data, filename, by_site, now=now)
    return store_rows(store, data, filename, rows, source, now=now, uploader=uploader)


def store_rows(
    store: Store,
    data: bytes,
    filename: str,
    rows: list[tuple[Any, ...]],
    source: str,
    *,
    now: dt.datetime,
    uploader: str | None = None,
) -> UploadResult:
    """Store the rows of a file that passed :func:`check` with no error, and the file itself
    in the raw log, in one transaction."""
    peer = f"{uploader}: {filename}" if uploader else filename
    again = bool(store.query("SELECT 1 AS x FROM measurement WHERE source = ? LIMIT 1", [source]))
    store.write_batch(
        Batch(
            raw=[RawEntry(now, "upload", data, "accepted", peer=peer, qn=source)],
            rows=rows,
        )
    )
    return UploadResult(source=source, rows=len(rows), duplicate_of_previous=again)
