"""Tables to CSV and Excel: what every exported table goes through.

``table_response(header, rows, name, fmt)`` answers a download: CSV in UTF-8 with a BOM (so
Excel opens Chinese text correctly) or an ``.xlsx`` workbook (openpyxl). A text cell — header
or body — that starts with ``=``, ``+``, ``-`` or ``@`` and is not a number, or with a TAB or
a carriage return, is prefixed with ``'`` so a spreadsheet never runs it as a formula (CSV
injection; OWASP's list of the characters a spreadsheet reads as the start of one).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


FORMULA_START = ("=", "+", "-", "@")
ALWAYS_QUOTED = ("\t", "\r")


def safe_cell(value: Any) -> Any:
    """*value*, neutralised if a spreadsheet could take it for a formula (module doc)."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in ALWAYS_QUOTED:
        return "'" + value
    if value[0] in FORMULA_START:
        try:
            float(value)  # a signed number stays a number
        except ValueError:
            return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([safe_cell(h) for h in header])
    for row in rows:
        w.writerow(["" if v is None else safe_cell(v) for v in row])
    return buf.getvalue().encode("utf-8")


def to_xlsx(header: Sequence[str], rows: Sequence[Sequence[Any]], sheet: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet[:31]  # Excel's limit on a sheet name
    ws.append([safe_cell(h) for h in header])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([safe_cell(v) for v in row])
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def table_response(
    header: Sequence[str], rows: Sequence[Sequence[Any]], name: str, fmt: str
) -> Response:
    """A download of the table as ``name.fmt``."""
    body = to_csv(header, rows) if fmt == "csv" else to_xlsx(header, rows, name)
    filename = quote(f"{name}.{fmt}")
    return Response(
        body,
        media_type=FORMATS[fmt],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )
