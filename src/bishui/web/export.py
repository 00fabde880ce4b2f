"""Tables to CSV and Excel: what every exported table goes through.

``table_response(header, rows, name, fmt)`` answers a download: CSV in UTF-8 with a BOM (so
Excel opens Chinese text correctly) or an ``.xlsx`` workbook (openpyxl). A text cell — header
or body — that starts with ``=``, ``+``, ``-`` or ``@`` and is not a number, or with a TAB or
a carriage return, is prefixed with ``'`` so a spreadsheet never runs it as a formula (CSV
injection; OWASP's list of the characters a spreadsheet reads as the start of one;
:func:`bishui.export_header.safe_cell`, shared with the compensation CLI's files).

``preamble`` rows (:func:`bishui.export_header.header_rows`: title, place and period, units,
source, the synthetic-data notice) come first, one text cell each, then the column headers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response

from bishui.export_header import safe_cell

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


Preamble = Sequence[Sequence[str]]


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Any]], preamble: Preamble = ()) -> bytes:
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\r\n")
    for line in preamble:
        w.writerow([safe_cell(v) for v in line])
    w.writerow([safe_cell(h) for h in header])
    for row in rows:
        w.writerow(["" if v is None else safe_cell(v) for v in row])
    return buf.getvalue().encode("utf-8")


def to_xlsx(
    header: Sequence[str], rows: Sequence[Sequence[Any]], sheet: str, preamble: Preamble = ()
) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet[:31]  # Excel's limit on a sheet name
    for n, line in enumerate(preamble):
        ws.append([safe_cell(v) for v in line])
        ws.cell(row=n + 1, column=1).font = Font(bold=n == 0, size=14 if n == 0 else 10)
    ws.append([safe_cell(h) for h in header])
    for cell in ws[len(preamble) + 1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([safe_cell(v) for v in row])
    ws.freeze_panes = f"A{len(preamble) + 2}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def table_response(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    name: str,
    fmt: str,
    preamble: Preamble = (),
) -> Response:
    """A download of the table as ``name.fmt``, *preamble* rows first."""
    csv_ = fmt == "csv"
    body = to_csv(header, rows, preamble) if csv_ else to_xlsx(header, rows, name, preamble)
    filename = quote(f"{name}.{fmt}")
    return Response(
        body,
        media_type=FORMATS[fmt],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )
