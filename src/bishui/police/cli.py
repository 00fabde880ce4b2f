"""``bishui police``: case transfer to the police and joint operations.

::

    bishui police basis
    bishui police cases [--police]
    bishui police propose TASK_ID --report TEXT --officer A --officer B --article ord310-5 --by NAME
    bishui police act CASE_ID ACTION [--reason …] [--case-no …] [--outcome …] --by NAME --role ROLE
    bishui police package CASE_ID [--version N] [--out package.json]
    bishui police operations
    bishui police plan SPEC.json --by NAME
    bishui police op-act OP_ID ACTION [--reason …] [--summary …] --by NAME
    bishui police visit OP_ID VISIT.json --by NAME [--role police]
    bishui police verify

``--role`` is the web role the actor acts as (``inspector``, ``chief``, ``admin``, ``police``);
the case machine refuses what that role may not do. Every write is audited (``police_audit``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from bishui.cli_options import db_option, render
from bishui.errors import InputError

MAX_FILE = 1024 * 1024
ROLES = ("inspector", "chief", "admin", "police")


def _open(db_url: str) -> Any:
    from bishui.store import open_store

    return open_store(db_url)


def _json_file(path: Path) -> Any:
    if path.stat().st_size > MAX_FILE:
        raise InputError("file", f"at most {MAX_FILE} bytes", path.stat().st_size)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError("file", f"JSON ({e.msg})", str(path)) from None


@click.group()
def police() -> None:
    """Environmental police: case transfer (移送) and joint operations (联合执法, 零点行动)."""


@police.command("basis")
def basis() -> None:
    """The legal basis of transfers, with sources and verification tags."""
    from bishui.police.rules import load_rules

    rules = load_rules()
    rows = [[a.id, a.number, a.article, a.tag, a.document] for a in rules.articles.values()]
    click.echo(render(f"法律依据 (edition {rules.edition})",
                      (["id", "number", "article", "tag", "document"], rows)))  # fmt: skip


@police.command("cases")
@db_option
@click.option("--police", "as_police", is_flag=True, help="only cases the police see")
def cases(db_url: str, as_police: bool) -> None:
    """Transfer cases, newest first."""
    from bishui.police import service

    store = _open(db_url)
    _, items = service.list_cases(store, police_only=as_police, limit=500)
    rows = [[c["id"], c["task_id"], c["state"], c["package_version"], c["police_case_no"],
             c["outcome"]] for c in items]  # fmt: skip
    click.echo(render("移送案件", (["case", "task", "state", "package", "police no", "outcome"],
                                   rows)))  # fmt: skip


@police.command("propose")
@db_option
@click.argument("task_id")
@click.option("--report", required=True)
@click.option("--officer", "officers", multiple=True, required=True)
@click.option("--article", "articles", multiple=True, required=True)
@click.option("--by", required=True)
@click.option("--role", type=click.Choice(ROLES[:3]), default="inspector", show_default=True)
def propose(db_url: str, task_id: str, report: str, officers: tuple[str, ...],
            articles: tuple[str, ...], by: str, role: str) -> None:  # fmt: skip
    """Propose transferring an enforcement task to the police."""
    from bishui.police import service

    c = service.propose(_open(db_url), task_id, report, list(officers), list(articles), by=by,
                        role=role)  # fmt: skip
    click.echo(f"{c.id}: {c.state} (task {c.task_id})")


@police.command("act")
@db_option
@click.argument("case_id")
@click.argument("action")
@click.option("--reason")
@click.option("--note")
@click.option("--case-no", "police_case_no")
@click.option("--outcome")
@click.option("--by", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
def act(db_url: str, case_id: str, action: str, reason: str | None, note: str | None,
        police_case_no: str | None, outcome: str | None, by: str, role: str) -> None:  # fmt: skip
    """Take ACTION on a case (approve, transfer, accept, return, conclude …)."""
    from bishui.police import service

    payload = {k: v for k, v in (("reason", reason), ("note", note),
               ("police_case_no", police_case_no), ("outcome", outcome)) if v}  # fmt: skip
    c = service.act(_open(db_url), case_id, action, payload, by=by, role=role)
    extra = f", package v{c.package_version} {c.package_sha256}" if c.package_version else ""
    click.echo(f"{c.id}: {c.state}{extra}")


@police.command("package")
@db_option
@click.argument("case_id")
@click.option("--version", type=int)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path))
def package(db_url: str, case_id: str, version: int | None, out: Path | None) -> None:
    """A case's evidence package, verified (exit 1 if it does not verify)."""
    from bishui.police import service

    got = service.get_package(_open(db_url), case_id, version)
    if out:
        out.write_text(json.dumps(got, ensure_ascii=False, indent=2), encoding="utf-8")
    click.echo(f"{case_id} v{got['version']} sha256 {got['sha256']}: "
               f"{len(got['package']['files'])} files, {len(got['package']['audit'])} events, "
               + ("verified" if got["verified"] else "NOT verified"))  # fmt: skip
    for p in got["problems"]:
        click.echo(f"  {p}")
    if not got["verified"]:
        raise SystemExit(1)


@police.command("operations")
@db_option
def operations(db_url: str) -> None:
    """Joint and night operations, newest first."""
    from bishui.police import service

    store = _open(db_url)
    _, items = service.list_operations(store, limit=500)
    rows = [[o["id"], o["kind"], o["state"], o["start"], o["end"], len(o["targets"]),
             len(service.visits(store, o["id"]))] for o in items]  # fmt: skip
    click.echo(render("联合执法行动", (["id", "kind", "state", "start", "end", "targets",
                                        "visits"], rows)))  # fmt: skip


@police.command("plan")
@db_option
@click.argument("spec", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", required=True)
@click.option("--role", type=click.Choice(ROLES[:3]), default="inspector", show_default=True)
def plan(db_url: str, spec: Path, by: str, role: str) -> None:
    """Plan an operation from a JSON file {name, kind, start, end, targets, team}."""
    from bishui.police import service

    body = service.plan_operation(_open(db_url), _json_file(spec), by=by, role=role)
    click.echo(f"{body['id']}: {body['state']} ({body['start']} → {body['end']})")


@police.command("op-act")
@db_option
@click.argument("op_id")
@click.argument("action", type=click.Choice(["start", "finish", "cancel"]))
@click.option("--reason")
@click.option("--summary")
@click.option("--by", required=True)
@click.option("--role", type=click.Choice(ROLES[:3]), default="inspector", show_default=True)
def op_act(db_url: str, op_id: str, action: str, reason: str | None, summary: str | None,
           by: str, role: str) -> None:  # fmt: skip
    """Start, finish (--summary) or cancel (--reason) an operation."""
    from bishui.police import service

    payload = {k: v for k, v in (("reason", reason), ("summary", summary)) if v}
    body = service.operation_act(_open(db_url), op_id, action, payload, by=by, role=role)
    click.echo(f"{op_id}: {body['state']}")


@police.command("visit")
@db_option
@click.argument("op_id")
@click.argument("spec", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", required=True)
@click.option("--role", type=click.Choice(ROLES), default="inspector", show_default=True)
def visit(db_url: str, op_id: str, spec: Path, by: str, role: str) -> None:
    """Record a visit from a JSON file {site, at, note, findings: [{severity, description}]}."""
    from bishui.police import service

    v = service.record_visit(_open(db_url), op_id, _json_file(spec), by=by, role=role)
    tasks = [f["task_id"] for f in v["findings"] if f.get("task_id")]
    click.echo(f"{v['id']}: {len(v['findings'])} findings" +
               (f", tasks {', '.join(tasks)}" if tasks else ""))  # fmt: skip


@police.command("verify")
@db_option
def verify(db_url: str) -> None:
    """Check the police audit chain."""
    from bishui.police import service

    click.echo(f"police audit: {service.verify_audit(_open(db_url))} events, chain intact")
