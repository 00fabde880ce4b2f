"""``bishui rivers``: river and lake chiefs (河长制 / 湖长制) and volunteer supervisors.

::

    bishui rivers load FILE.toml                  the registry: bodies, sections, chiefs,
                                                  assignments, volunteers, joint groups
    bishui rivers sections                        sections with their chiefs
    bishui rivers coverage CHIEF [--day DATE]     patrol coverage of a chief's sections
    bishui rivers problems [--state STATE]        problems with their enforcement task
    bishui rivers sync                            resolve problems whose task closed; route
                                                  problems left unrouted
    bishui rivers rules                           the rules in force (intervals, thresholds,
                                                  categories → department, with sources)
    bishui rivers verify                          the audit chain (river_audit)

Every command takes ``--db URL`` (``BISHUI_DB``). Writes are audited as the ``system`` actor
with the administrator's rights (the command line is the platform's operator).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import click

from bishui.cli_options import db_option, render


@click.group()
def rivers() -> None:
    """River and lake chiefs, patrols, problems → enforcement tasks (docs/governance.md)."""


def _open(db_url: str) -> Any:
    from bishui.store import open_store

    return open_store(db_url)


@rivers.command("load")
@db_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load(db_url: str, file: Path) -> None:
    """Load a registry file (TOML; the model city's is bishui/demo/jingmen/rivers.toml)."""
    from bishui.rivers import service

    doc = tomllib.loads(file.read_text("utf-8"))
    store = _open(db_url)
    try:
        got = service.load_registry(store, doc, service.SYSTEM)
    finally:
        store.close()
    click.echo(", ".join(f"{k} {v}" for k, v in got.items()))


@rivers.command("sections")
@db_option
def sections(db_url: str) -> None:
    """Sections (河段/湖片) with their chiefs."""
    from bishui.rivers import service

    store = _open(db_url)
    try:
        rows = service.sections(store, service.Who("system", "admin"))
    finally:
        store.close()
    click.echo(render("河段 sections", (
        ["id", "河段", "河湖", "层级", "区县", "监测断面", "河湖长"],
        [[s["id"], s["name"], s["body_name"], s["level"], s["region"], ",".join(s["sites"]),
          "、".join(c["name"] for c in s["chiefs"])] for s in rows],
    )))  # fmt: skip


@rivers.command("coverage")
@db_option
@click.argument("chief")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), default=None, help="default today")
def coverage_cmd(db_url: str, chief: str, day: dt.datetime | None) -> None:
    """Patrol coverage of a chief's sections in the period containing DAY."""
    from bishui.rivers import service
    from bishui.timeutil import now_beijing

    store = _open(db_url)
    try:
        rows = service.coverage(store, chief, (day or now_beijing()).date())
    finally:
        store.close()
    click.echo(render(f"巡河覆盖 coverage · {chief}", (
        ["河段", "层级", "频次", "本期", "巡河次数", "已巡"],
        [[c["name"], c["level"], c["interval"], f"{c['first']}—{c['last']}", c["patrols"],
          "是" if c["covered"] else "否"] for c in rows],
    )))  # fmt: skip


@rivers.command("problems")
@db_option
@click.option("--state", default=None, help="recorded, routed, resolved, confirmed, withdrawn")
def problems_cmd(db_url: str, state: str | None) -> None:
    """Problems found on patrol with their enforcement task."""
    from bishui.rivers import service

    store = _open(db_url)
    try:
        rows = service.problems(store, None, state=state)
    finally:
        store.close()
    click.echo(render("问题 problems", (
        ["id", "河段", "类型", "部门", "状态", "任务", "任务状态", "时限"],
        [[q["id"], q["section_name"], q["category"], q["department"], q["state"], q["task_id"],
          q["task_state"], q["task_deadline"]] for q in rows],
    )))  # fmt: skip


@rivers.command("sync")
@db_option
def sync_cmd(db_url: str) -> None:
    """Resolve problems whose task is closed; route problems left unrouted."""
    from bishui.rivers import service

    store = _open(db_url)
    try:
        got = service.sync(store)
    finally:
        store.close()
    click.echo(f"resolved {got['resolved']}, routed {got['routed']}")


@rivers.command("rules")
def rules_cmd() -> None:
    """The rules in force, with their sources."""
    from bishui.rivers.rules import load_rules

    r = load_rules()
    click.echo(f"rules {r.version}")
    click.echo(f"patrol interval: {dict(r.interval)} — {r.interval_source}")
    click.echo(f"valid patrol: ≥ {r.min_minutes} min, ≥ {r.min_metres} m — {r.validity_source}")
    click.echo(render("问题类型 categories", (
        ["code", "类型", "部门", "severity"],
        [[c.code, c.zh, c.department, c.severity] for c in r.categories.values()],
    )))  # fmt: skip


@rivers.command("verify")
@db_option
def verify_cmd(db_url: str) -> None:
    """Check the chief system's audit chain (river_audit)."""
    from bishui.rivers import service

    store = _open(db_url)
    try:
        n = service.verify_audit(store)
    finally:
        store.close()
    click.echo(f"river audit: {n} events, chain intact")
