"""What every command group shares: the ``--db`` option and table output.

The domain CLIs (``bishui/<domain>/cli.py``) import this module, never the top-level
``bishui.core_cli`` or ``bishui.cli``: options and output helpers point down, commands up.
A table is ``(headers, rows)``; :func:`render` prints it aligned, :func:`write` saves tables as
one Excel workbook (one sheet each) or as CSV files (UTF-8 with BOM, so Excel opens the Chinese
headers correctly).
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from bishui.errors import InputError

Table = tuple[list[str], list[list[Any]]]

DEFAULT_DB = "bishui-data/bishui.duckdb"
db_option = click.option(
    "--db",
    "db_url",
    envvar="BISHUI_DB",
    default=DEFAULT_DB,
    show_default=True,
    help="store URL: duckdb:///path, postgresql://…, or a DuckDB file path",
)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def render(title: str, table: Table) -> str:
    """A table as aligned text (wide characters count double)."""
    headers, rows = table
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = [title]
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(v + " " * (w - _width(v)) for v, w in zip(row, widths, strict=True)).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write(path: Path, sheets: Sequence[tuple[str, Table]]) -> list[Path]:
    """Write tables to ``.xlsx`` (one sheet each) or ``.csv`` (the first table in *path*, the
    others beside it as ``<stem>-<n>.csv``). Returns the files written."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        for i, (name, (headers, rows)) in enumerate(sheets):
            ws = ws if i == 0 else wb.create_sheet()
            ws.title = name[:31]
            ws.append(headers)
            for r in rows:
                ws.append(list(r))
        wb.save(path)
        return [path]
    if suffix == ".csv":
        out = []
        for i, (_, (headers, rows)) in enumerate(sheets):
            p = path if i == 0 else path.with_name(f"{path.stem}-{i + 1}{path.suffix}")
            with p.open("w", encoding="utf-8-sig", newline="") as f:
                w = csv.writer(f)
                w.writerow(headers)
                w.writerows(rows)
            out.append(p)
        return out
    raise InputError("out", "must end in .xlsx or .csv", str(path))


def write_and_say(path: Path, sheets: Sequence[tuple[str, Table]]) -> None:
    """:func:`write` the tables and name each file written on stderr (the commands' ``--out``)."""
    for p in write(path, sheets):
        click.echo(f"wrote {p}", err=True)
