"""What every command group shares: the ``--db`` option and table output, and how a setting
is declared (:class:`Setting`) and made a click option (:func:`option`).

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from bishui.errors import InputError

Table = tuple[list[str], list[list[Any]]]


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: ``group.name`` is how docs and errors name it. Every setting is gathered
    in :data:`bishui.settings.SETTINGS` (docs/settings.md)."""

    group: str  # platform, gateway, web, alerts or vehicles
    name: str
    default: Any
    help: str
    env: str  # the environment variable
    #: the command-line option (bishui serve, drain where it applies; --db: every command)
    option: str | None = None
    unit: str = ""
    #: the value's click type; None: taken from the default's type
    kind: Any = None
    #: a secret (read from the environment only; never shown or logged)
    secret: bool = False

    @property
    def key(self) -> str:
        return f"{self.group}.{self.name}"


def option(s: Setting, param: str | None = None, **extra: Any) -> Any:
    """A click option made from *s*: its flag, variable, default, type and help (*extra*
    overrides, e.g. ``required=True``, ``default=None`` where "not given" must be told apart)."""
    assert s.option is not None, s.key
    unit = f" [{s.unit}]" if s.unit else ""
    kwargs: dict[str, Any] = {
        "envvar": s.env,
        "default": s.default,
        "show_default": s.default is not None,
        "show_envvar": True,
        "help": s.help + unit,
    }
    if s.kind is bool:
        kwargs["is_flag"] = True
    elif s.kind is not None:
        kwargs["type"] = s.kind
    elif isinstance(s.default, int | float) and not isinstance(s.default, bool):
        kwargs["type"] = type(s.default)
    kwargs.update(extra)
    return click.option(s.option, param or s.name, **kwargs)


#: The store every command opens (``--db``, ``BISHUI_DB``).
DB = Setting(
    "platform",
    "db",
    "bishui-data/bishui.duckdb",
    "store URL: duckdb:///path, postgresql://…, or a DuckDB file path",
    "BISHUI_DB",
    "--db",
)
DEFAULT_DB: str = DB.default
db_option = option(DB, "db_url")


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
