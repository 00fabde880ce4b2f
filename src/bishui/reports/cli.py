"""``bishui report``: generate, list, download and reproduce the PDF reports (docs/reports.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from bishui.cli_options import db_option, render
from bishui.reports import service
from bishui.reports.content import KINDS
from bishui.reports.fonts import find_fonts
from bishui.store import Store, open_store


def _store(db_url: str) -> Store:

    return open_store(db_url)


@click.group()
def report() -> None:
    """PDF 日报 / 月报 / 年度公报 (air, water) and the sources' monthly compliance report."""


@report.command("generate")
@db_option
@click.argument("kind", type=click.Choice(sorted(KINDS)))
@click.argument("period")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="also write x.pdf")
@click.option("--no-store", is_flag=True, help="only write --out; keep nothing in the store")
@click.option(
    "--as-of", "as_of", help="cut-off day YYYY-MM-DD of a period not over (default today)"
)
@click.option("--font-cjk", help="Chinese font file (file.ttc#index for a collection)")
@click.option("--font-text", help="text font file that draws Ⅰ–Ⅴ (Latin, digits, units)")
def generate_cmd(
    db_url: str, kind: str, period: str, out: Path | None, no_store: bool, as_of: str | None,
    font_cjk: str | None, font_text: str | None,
) -> None:  # fmt: skip
    """Generate KIND for PERIOD (a day YYYY-MM-DD, a month YYYY-MM or a year YYYY)."""
    from bishui.errors import InputError

    fonts = find_fonts(font_cjk, font_text)
    try:
        cut = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise InputError("--as-of", "YYYY-MM-DD", as_of) from None
    store = _store(db_url)
    try:
        if no_store:
            if out is None:
                raise InputError("--out", "a file name when --no-store is given", None)
            _, data = service.build(store, kind, period, as_of=cut, fonts=fonts)
            click.echo(f"{kind} {period}: {len(data)} bytes")
        else:
            g = service.generate(store, kind, period, requested_by="cli", as_of=cut, fonts=fonts)
            data = g.pdf
            click.echo(f"stored {g.meta['id']} ({g.meta['size']} bytes, sha256 {g.meta['sha256']})")
        if out is not None:
            out.write_bytes(data)
            click.echo(f"wrote {out}", err=True)
    finally:
        store.close()


@report.command("list")
@db_option
@click.option("--kind", type=click.Choice(sorted(KINDS)))
@click.option("--limit", type=click.IntRange(1, service.MAX_LIST), default=50, show_default=True)
def list_cmd(db_url: str, kind: str | None, limit: int) -> None:
    """Stored reports, newest first."""
    store = _store(db_url)
    try:
        total, rows = service.list_reports(store, kinds=(kind,) if kind else None, limit=limit)
    finally:
        store.close()
    headers = ["编号", "报告", "时段", "版本", "生成时间", "部分数据", "大小(字节)"]
    body = [[r["id"], r["kind_name"], r["period"], r["version"], r["created"],
             "是" if r["partial"] else "", r["size"]] for r in rows]  # fmt: skip
    click.echo(render(f"报告 {len(rows)}/{total}", (headers, body)))


@report.command("get")
@db_option
@click.argument("report_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def get_cmd(db_url: str, report_id: str, out: Path) -> None:
    """Write a stored report's PDF to --out."""
    store = _store(db_url)
    try:
        _, data = service.get_report(store, report_id)
    finally:
        store.close()
    out.write_bytes(data)
    click.echo(f"wrote {out}", err=True)


@report.command("reproduce")
@db_option
@click.argument("report_id")
def reproduce_cmd(db_url: str, report_id: str) -> None:
    """Render a stored report again from its stored inputs; exit 1 if the bytes differ."""
    store = _store(db_url)
    try:
        same, _ = service.reproduce(store, report_id)
    finally:
        store.close()
    click.echo("identical" if same else "differs: the data behind it changed since it was made")
    if not same:
        raise SystemExit(1)
