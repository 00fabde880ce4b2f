"""``bishui citizen``: the staff's side of citizen reports at the shell.

::

    bishui citizen list [--state received]
    bishui citizen show R20261207-0001
    bishui citizen accept R20261207-0001 [--severity medium] [--region 420802] --as NAME
    bishui citizen reject R20261207-0001 --reason duplicate --as NAME
    bishui citizen sync
    bishui citizen verify

Every command takes ``--db URL`` (``BISHUI_DB``). ``accept`` and ``reject`` act as ``--as
NAME`` with ``--role admin|inspector`` (default: admin); each is an audit event. A refused step
prints the reason and exits with status 2.
"""

from __future__ import annotations

import json

import click

from bishui.cli_options import db_option, render
from bishui.errors import ConflictError
from bishui.participation import reports as rp
from bishui.store import Store, open_store

STATES = [str(s) for s in rp.State]


def _open(db_url: str) -> Store:
    return open_store(db_url)


@click.group()
def citizen() -> None:
    """Citizen reports (公众举报): list, show, triage, and follow the enforcement loop."""


@citizen.command("list")
@db_option
@click.option("--state", type=click.Choice(STATES))
def citizen_list(db_url: str, state: str | None) -> None:
    """Reports, newest first (synced with enforcement first)."""
    from bishui.participation import service as svc

    store = _open(db_url)
    try:
        svc.sync(store)
        _, rows = svc.list_reports(store, state=state, limit=100_000)
    finally:
        store.close()
    headers = ["编号", "时间", "状态", "区域", "告警", "任务", "结果", "描述"]
    table = [
        [r["id"], r["created"], r["state"], r["region"] or "", r["alert_id"] or "",
         r["task_id"] or "", r["outcome"], str(r["description"])[:30]]
        for r in rows
    ]  # fmt: skip
    click.echo(render(f"公众举报 ({len(table)})", (headers, table)))


@citizen.command("show")
@db_option
@click.argument("report_id")
def citizen_show(db_url: str, report_id: str) -> None:
    """One report with its audit events, as JSON (the photo's bytes are not printed)."""
    from bishui.participation import service as svc

    store = _open(db_url)
    try:
        svc.sync(store, [report_id])
        click.echo(json.dumps(svc.get_report(store, report_id), ensure_ascii=False, indent=2))
    finally:
        store.close()


def _who(f: click.decorators.FC) -> click.decorators.FC:
    f = click.option("--as", "actor", required=True, help="who triages (a user name)")(f)
    return click.option("--role", type=click.Choice(["admin", "inspector"]), default="admin")(f)


@citizen.command("accept")
@db_option
@click.argument("report_id")
@click.option("--severity", type=click.Choice(["low", "medium", "high"]), default=None,
              help="the alert's severity (medium and high open a task at once)")  # fmt: skip
@click.option("--region", default=None, help="correct the report's region (GB/T 2260 code)")
@_who
def citizen_accept(
    db_url: str, report_id: str, severity: str | None, region: str | None, actor: str, role: str
) -> None:
    """Accept a received report: it becomes an enforcement alert."""
    from bishui.participation import service as svc

    store = _open(db_url)
    try:
        out = svc.accept(store, report_id, actor, role, severity=severity or "", region=region)
    except ConflictError as exc:
        raise click.exceptions.Exit(_refused(exc)) from exc
    finally:
        store.close()
    click.echo(json.dumps(out, ensure_ascii=False))


@citizen.command("reject")
@db_option
@click.argument("report_id")
@click.option("--reason", required=True, type=click.Choice(sorted(rp.load_rules().reject_reasons)))
@_who
def citizen_reject(db_url: str, report_id: str, reason: str, actor: str, role: str) -> None:
    """Refuse a received report with a reason category (the reporter sees the category)."""
    from bishui.participation import service as svc

    store = _open(db_url)
    try:
        out = svc.reject(store, report_id, actor, role, reason)
    except ConflictError as exc:
        raise click.exceptions.Exit(_refused(exc)) from exc
    finally:
        store.close()
    click.echo(json.dumps(out, ensure_ascii=False))


def _refused(exc: ConflictError) -> int:
    click.echo(f"refused: {exc.message}", err=True)
    return 2


@citizen.command("sync")
@db_option
def citizen_sync(db_url: str) -> None:
    """Move every report along as enforcement moved its alert and task."""
    from bishui.participation import service as svc

    store = _open(db_url)
    try:
        click.echo(f"{svc.sync(store)} steps")
    finally:
        store.close()


@citizen.command("verify")
@db_option
def citizen_verify(db_url: str) -> None:
    """Check the reports' audit chain."""
    from bishui.participation import service as svc

    store = _open(db_url)
    try:
        click.echo(f"audit chain intact: {svc.verify_audit(store)} events")
    finally:
        store.close()
