"""``bishui permits`` and ``bishui sources``: permits and source checks at the shell.

::

    bishui permits import permits.xlsx|permits.csv      # every version, validated together
    bishui permits export out.xlsx|out.csv [--history]
    bishui permits list [--on 2026-07-01] [--history]
    bishui permits show 91420802…001P
    bishui sources check --period 2026-11|2026-11-20 [--out findings.xlsx] [--no-alerts]

Every command takes ``--db URL`` (``BISHUI_DB``). The tasks the checks open are worked with
``bishui tasks`` (:mod:`bishui.enforcement.cli`).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from bishui.cli_options import db_option, write_and_say
from bishui.errors import InputError
from bishui.store import Store, open_store

RULE_NAMES = {
    "EXC": "浓度超标", "CAP": "超许可排放量", "NOPERMIT": "无证排污", "FLAT": "数据恒值",
    "STUCK": "贴限值", "ZFLOW": "零流量有浓度", "ZCONC": "有流量零浓度", "DILUTE": "稀释排放",
    "CALSHARE": "校准维护占比异常", "TWIN": "曲线雷同", "GAPX": "超标前断数", "RANGE": "超量程",
}  # fmt: skip


def _open(db_url: str) -> Store:
    return open_store(db_url)


def _write(out: Path, sheets: list[tuple[str, tuple[list[str], list[list[Any]]]]]) -> None:
    write_and_say(out, sheets)


# ------------------------------------------------------------------------------ permits
@click.group()
def permits() -> None:
    """Discharge permits (排污许可证): import, export, list, show — every version kept."""


@permits.command("import")
@db_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", default="cli", show_default=True, help="recorded as the importer")
def permits_import(db_url: str, path: Path, by: str) -> None:
    """Import permit versions from CSV or Excel (permits_io.COLUMNS)."""
    from bishui.sources import permits_io
    from bishui.sources.permit_store import record_permits

    items = (
        permits_io.read_xlsx(path) if path.suffix.lower() == ".xlsx" else permits_io.read_csv(path)
    )
    store = _open(db_url)
    try:
        counts = record_permits(store, items, by=by)
    finally:
        store.close()
    click.echo(", ".join(f"{v} {k}" for k, v in counts.items()))


@permits.command("export")
@db_option
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def permits_export(db_url: str, path: Path) -> None:
    """Write every stored version (current revision) to CSV or Excel."""
    from bishui.sources import permits_io
    from bishui.sources.permit_store import load_permits

    store = _open(db_url)
    try:
        items = load_permits(store)
    finally:
        store.close()
    if path.suffix.lower() == ".xlsx":
        permits_io.write_xlsx(items, path)
    else:
        permits_io.write_csv(items, path)
    click.echo(f"wrote {path} ({len(items)} versions)", err=True)


@permits.command("list")
@db_option
@click.option("--on", "on_text", help="date the version is in force (default today)")
@click.option("--history", is_flag=True, help="every version")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="x.xlsx | x.csv")
def permits_list(db_url: str, on_text: str | None, history: bool, out: Path | None) -> None:
    """Permits: number, version, enterprise, class, validity, outlets, quantities."""
    from bishui.sources.permit_store import list_permits

    on = _date(on_text, "on") if on_text else None
    store = _open(db_url)
    try:
        _, rows = list_permits(store, history=history, on=on, limit=100_000)
    finally:
        store.close()
    headers = ["许可证编号", "版本", "单位名称", "管理类别", "有效期起", "有效期止", "排放口",
               "许可排放量(t/a)", "现行"]  # fmt: skip
    table = [
        [r["permit_no"], r["version"], r["enterprise"], r["management_class"], r["valid_from"],
         r["valid_to"], " ".join(o["outlet_id"] for o in r["outlets"]),
         "; ".join(f"{k} {v}" for k, v in r["annual_caps_t"].items()),
         "是" if r["in_force"] else "否"]
        for r in rows
    ]  # fmt: skip
    from bishui.cli_options import render

    click.echo(render(f"排污许可证 ({len(table)})", (headers, table)))
    if out:
        _write(out, [("排污许可证", (headers, table))])


@permits.command("show")
@db_option
@click.argument("permit_no")
def permits_show(db_url: str, permit_no: str) -> None:
    """Every version and revision of one permit, as JSON."""
    from bishui.sources.permit_store import permit_history

    store = _open(db_url)
    try:
        rows = permit_history(store, permit_no)
    finally:
        store.close()
    click.echo(json.dumps(rows, ensure_ascii=False, indent=1, default=str))


def _date(text: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(field, "an ISO date YYYY-MM-DD", text) from None


# ------------------------------------------------------------------------------ checks
@click.group()
def sources() -> None:
    """Pollution-source checks: exceedance, quantity, no permit, data-fraud signatures."""


@sources.command("check")
@db_option
@click.option("--period", required=True, help="2026, 2026-11 or 2026-11-20")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="x.xlsx | x.csv")
@click.option("--no-alerts", is_flag=True, help="store findings only; raise no alerts/tasks")
@click.option("--all", "show_all", is_flag=True, help="print every finding of the period")
def sources_check(
    db_url: str, period: str, out: Path | None, no_alerts: bool, show_all: bool
) -> None:
    """Run the checks over a period, store findings, raise alerts and tasks, print findings."""
    from bishui.cli_options import render
    from bishui.enforcement.notify import LoggingSender
    from bishui.sources import service

    start, end = service.parse_period(period)
    store = _open(db_url)
    try:
        r = service.run_checks(
            store, start, end, options=service.CheckOptions(raise_alerts=not no_alerts),
            sender=LoggingSender(),
        )  # fmt: skip
    finally:
        store.close()
    shown = r.findings if show_all else r.new
    headers = ["规则", "规则名称", "严重程度", "站点编码", "排放口", "污染物", "开始", "结束",
               "许可证版本", "说明", "规则版本", "编号"]  # fmt: skip
    table = [
        [f.rule_id, RULE_NAMES.get(f.rule_id, ""), f.severity, f.outlet.site_code,
         f.outlet.outlet_id, f.pollutant, f"{f.start:%Y-%m-%d %H:%M}", f"{f.end:%Y-%m-%d %H:%M}",
         f"{f.permit_no} v{f.permit_version}" if f.permit_no else "",
         _measured(f.measured), f.rule_version, f.key]
        for f in sorted(shown, key=lambda f: (f.start, f.outlet, f.rule_id))
    ]  # fmt: skip
    title = f"{period} 污染源核查{'全部' if show_all else '新增'}问题 ({len(table)})"
    click.echo(render(title, (headers, table)))
    click.echo(
        f"\n{r.outlets} outlets ({r.resolution['hour']} hourly, {r.resolution['min']} minute); "
        f"{len(r.findings)} findings, {len(r.new)} new events, {r.merged} merged into stored "
        f"events; {r.alerts} alerts; tasks: {', '.join(r.tasks) or 'none'}; rules "
        f"{r.ruleset_version}"
    )
    if out:
        _write(out, [("污染源核查问题", (headers, table))])


def _measured(m: Any) -> str:
    keys = ("peak", "limit", "multiple", "periods", "days", "reason", "share", "total_t", "cap_t",
            "level", "twins", "max_day_share")  # fmt: skip
    parts = []
    for k in keys:
        if k in m and m[k] is not None:
            v = m[k]
            parts.append(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}")
    return " ".join(parts)
