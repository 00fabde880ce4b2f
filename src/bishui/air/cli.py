"""``bishui air``: the daily report, the real-time report, period assessments and rankings.

Each command prints a readable table and, with ``--out file.csv|file.xlsx``, writes it in the
layout a bureau publishes (Chinese headers first). Everything is computed from the store's
hourly values when asked (docs/air.md, "The service").
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from bishui.cli_options import db_option
from bishui.store import Store, open_store

SCOPES = click.Choice(["all", "station", "county", "city"])
OUT = click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="also write the table to this .csv or .xlsx file",
)


def _store(db_url: str) -> Store:
    return open_store(db_url)


def _emit(table: object, out: Path | None, title: str, sheet: str) -> None:
    from bishui.air.publish import Table

    assert isinstance(table, Table)
    click.echo(title)
    click.echo(table.text())
    if out is not None:
        table.write(out, sheet)
        click.echo(f"written to {out}")


@click.group()
def air() -> None:
    """Ambient air: AQI reports (HJ 633), assessment (HJ 663, GB 3095), ranking."""


@air.command("report")
@db_option
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True, help="the day")
@click.option("--scope", type=SCOPES, default="all", show_default=True)
@OUT
def report_cmd(db_url: str, day: dt.datetime, scope: str, out: Path | None) -> None:
    """The daily report (日报) of every station, county and the city."""
    from bishui.air import publish, service

    store = _store(db_url)
    try:
        rows = service.scope_rows(service.daily(store, day.date()), scope)
    finally:
        store.close()
    standards = service.STANDARDS[rows[0].report.edition] if rows else "—"
    _emit(
        publish.report_table(rows),
        out,
        f"环境空气质量日报 {day:%Y-%m-%d}（{standards}）",
        f"日报{day:%Y%m%d}",
    )


@air.command("realtime")
@db_option
@click.option(
    "--hour",
    type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H"]),
    help="end-of-hour label: the data of 13:00–14:00 is 14:00 (default: the newest complete "
    "hour with data; an hour in progress is never reported)",
)
@click.option("--scope", type=SCOPES, default="all", show_default=True)
@OUT
def realtime_cmd(db_url: str, hour: dt.datetime | None, scope: str, out: Path | None) -> None:
    """The real-time (hourly) report of the newest complete hour, or of --hour."""
    from bishui.air import publish, service

    store = _store(db_url)
    try:
        rt = service.realtime(store, hour)
    finally:
        store.close()
    rows = service.scope_rows(rt.rows, scope)
    _emit(
        publish.report_table(rows, realtime=True),
        out,
        f"环境空气质量实时报 {rt.hour:%Y-%m-%d %H:%M}（{service.STANDARDS[rt.edition]}）",
        f"实时报{rt.hour:%Y%m%d%H}",
    )


@air.command("assess")
@db_option
@click.option("--period", required=True, help="2025, 2025-Q3 or 2025-07")
@click.option("--scope", type=SCOPES, default="all", show_default=True)
@OUT
def assess_cmd(db_url: str, period: str, scope: str, out: Path | None) -> None:
    """Assessment tables (HJ 663): statistics, compliance, good days, composite index."""
    from bishui.air import publish, service

    store = _store(db_url)
    try:
        rows = service.assessment(store, period, scope=scope)  # type: ignore[arg-type]
    finally:
        store.close()
    title = f"环境空气质量评价 {period}"
    if rows:
        r = rows[0]
        end = r.period.end - dt.timedelta(days=1)
        title += f"（{r.period.start} 至 {end}；限值: {service.STANDARDS[r.edition]}"
        title += f"，{r.phase}；日 AQI: {'/'.join(r.daily_editions)}版）"
    _emit(publish.assessment_table(rows), out, title, f"评价{period}")


@air.command("rank")
@db_option
@click.option("--period", required=True, help="2025, 2025-Q3 or 2025-07")
@click.option(
    "--level", type=click.Choice(["county", "station"]), default="county", show_default=True
)
@OUT
def rank_cmd(db_url: str, period: str, level: str, out: Path | None) -> None:
    """Counties (or stations) ranked by the composite index (smallest first)."""
    from bishui.air import publish, service

    store = _store(db_url)
    try:
        rows = service.ranking(store, period, level=level)  # type: ignore[arg-type]
    finally:
        store.close()
    what = "区县" if level == "county" else "站点"
    _emit(
        publish.ranking_table(rows),
        out,
        f"{what}环境空气质量综合指数排名 {period}（等权重，GB 3095-2012 二级限值）",
        f"排名{period}",
    )
