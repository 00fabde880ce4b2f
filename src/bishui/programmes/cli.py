"""``bishui programmes``: ecological-damage cases and the project and fund register.

::

    bishui programmes cases [--county 420802]
    bishui programmes case-add FILE.json --by NAME           (one case, the API's fields)
    bishui programmes case-act CASE ACTION [--payload FILE.json] --by NAME [--finance]
    bishui programmes file case:ID|project:ID PATH --by NAME  (an evidence file)
    bishui programmes projects [--programme ww52] [--out p.xlsx]
    bishui programmes project-add FILE.json --by NAME        (a list of projects)
    bishui programmes project-act PROJECT ACTION [--payload FILE.json] --by NAME
    bishui programmes entry PROJECT allocate|disburse --fund F --amount-fen N --on DATE
                            --doc TEXT [--use USE] --by NAME
    bishui programmes ledger PROJECT
    bishui programmes supervise [--today DATE]               (overdue milestones → 督办 tasks)
    bishui programmes funds                                  (the fund rules file)
    bishui programmes verify                                 (the audit chain)

Every command that reads the store takes ``--db URL`` (``BISHUI_DB``). Money is integer fen.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from bishui.cli_options import db_option, render, write_and_say
from bishui.enforcement.evidence import EXTENSIONS
from bishui.errors import InputError
from bishui.programmes import funds, money, service

MAX_FILE = 10 * 1024 * 1024


@click.group()
def programmes() -> None:
    """Ecological-damage cases (生态环境损害赔偿), projects and funds (项目与资金)."""


def _open(db_url: str) -> Any:
    from bishui.store import open_store

    return open_store(db_url)


def _json(path: Path | None) -> Any:
    if path is None:
        return {}
    if path.stat().st_size > MAX_FILE:
        raise InputError("file", f"at most {MAX_FILE} bytes", path.stat().st_size)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError("file", "JSON", str(e)) from None


@programmes.command("cases")
@db_option
@click.option("--county", default=None, help="Only this region's cases.")
def cases_cmd(db_url: str, county: str | None) -> None:
    """The damage cases: stage, amounts, payments [元]."""
    store = _open(db_url)
    rows = []
    for c in service.list_cases(store, [county] if county else None):
        s = c.schedule
        rows.append([c.id, c.title, c.county, str(c.state),
                     money.fen_to_yuan(int(c.settlement["amount_fen"])) if c.settlement else "",
                     money.fen_to_yuan(s.paid_fen) if s else "",
                     money.fen_to_yuan(s.outstanding_fen) if s else ""])  # fmt: skip
    head = ["id", "案件", "区县", "state", "赔偿金额 元", "已付 元", "未付 元"]
    click.echo(render("生态环境损害赔偿案件", (head, rows)))


@programmes.command("case-add")
@db_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", required=True, help="Who registers it (audited).")
def case_add_cmd(db_url: str, path: Path, by: str) -> None:
    """Register the case in PATH (JSON: id, title, county, site, event_date, lead_source,
    liable, claimant)."""
    c = service.register_case(_open(db_url), _json(path), by)
    click.echo(f"case {c.id}: {c.state}")


@programmes.command("case-act")
@db_option
@click.argument("case_id")
@click.argument("action")
@click.option("--payload", "payload", type=click.Path(exists=True, dir_okay=False,
                                                      path_type=Path), default=None)  # fmt: skip
@click.option("--by", required=True, help="Who acts (audited).")
@click.option("--finance", is_flag=True, help="Act as the finance bureau (payments).")
def case_act_cmd(
    db_url: str, case_id: str, action: str, payload: Path | None, by: str, finance: bool
) -> None:
    """Take ACTION on CASE_ID (investigate, decline, assess, consult, meet, agree, sue, judge,
    confirm, schedule, pay, complete, close)."""
    c = service.act_case(_open(db_url), case_id, action, _json(payload), by,
                         "finance" if finance else "officer")  # fmt: skip
    click.echo(f"case {c.id}: {c.state}")


@programmes.command("file")
@db_option
@click.argument("subject")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", required=True, help="Who uploads (audited).")
def file_cmd(db_url: str, subject: str, path: Path, by: str) -> None:
    """Store the evidence file PATH on SUBJECT (case:ID or project:ID); prints its id."""
    mt = EXTENSIONS.get(path.suffix.lower(), "")
    if path.stat().st_size > MAX_FILE:
        raise InputError("file", f"at most {MAX_FILE} bytes", path.stat().st_size)
    rec, created = service.add_file(_open(db_url), subject, path.name, mt, path.read_bytes(), by,
                                    "officer")  # fmt: skip
    click.echo(f"{rec['id']} {rec['sha256']} {'stored' if created else 'already stored'}")


@programmes.command("projects")
@db_option
@click.option("--programme", default=None, help="Only this programme (e.g. ww52).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
def projects_cmd(db_url: str, programme: str | None, out: Path | None) -> None:
    """The project register: state, milestones, money [元]."""
    rows = []
    for x in service.list_projects(_open(db_url), None, programme):
        f = x["funds"].values()
        ms = x["milestones"]
        rows.append([x["id"], x["name"], x["county"], x["state"],
                     f"{sum(m['actual_on'] is not None for m in ms)}/{len(ms)}",
                     sum(m["overdue"] for m in ms), money.fen_to_yuan(x["budget_fen"]),
                     money.fen_to_yuan(sum(b["allocated_fen"] for b in f)),
                     money.fen_to_yuan(sum(b["disbursed_fen"] for b in f))])  # fmt: skip
    table = (["id", "项目", "区县", "state", "节点", "逾期", "预算 元", "下达 元", "拨付 元"], rows)
    if out is not None:
        write_and_say(out, [("项目与资金", table)])
    else:
        click.echo(render("项目与资金", table))


@programmes.command("project-add")
@db_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", required=True, help="Who registers them (audited).")
def project_add_cmd(db_url: str, path: Path, by: str) -> None:
    """Register the projects in PATH (a JSON list, the API's fields)."""
    rows = _json(path)
    if not isinstance(rows, list):
        raise InputError("file", "a JSON list of projects", type(rows).__name__)
    click.echo(f"{service.register_projects(_open(db_url), rows, by)} projects registered")


@programmes.command("project-act")
@db_option
@click.argument("project_id")
@click.argument("action")
@click.option("--payload", "payload", type=click.Path(exists=True, dir_okay=False,
                                                      path_type=Path), default=None)  # fmt: skip
@click.option("--by", required=True, help="Who acts (audited).")
def project_act_cmd(db_url: str, project_id: str, action: str, payload: Path | None,
                    by: str) -> None:  # fmt: skip
    """Take ACTION on PROJECT_ID (start, milestone, complete, accept, cancel)."""
    state = service.act_project(_open(db_url), project_id, action, _json(payload), by)
    click.echo(f"project {project_id}: {state}")


@programmes.command("entry")
@db_option
@click.argument("project_id")
@click.argument("kind", type=click.Choice(money.ENTRY_KINDS))
@click.option("--fund", required=True)
@click.option("--amount-fen", required=True, type=int)
@click.option("--on", "on", required=True, help="YYYY-MM-DD")
@click.option("--doc", required=True, help="The allocation document or voucher.")
@click.option("--use", default=None, help="A disbursement's use (see `funds`).")
@click.option("--by", required=True, help="Who enters it (audited).")
def entry_cmd(db_url: str, project_id: str, kind: str, fund: str, amount_fen: int, on: str,
              doc: str, use: str | None, by: str) -> None:  # fmt: skip
    """Allocate or disburse money of PROJECT_ID (the ledger conserves; caps and uses checked)."""
    rec = service.post_entry(_open(db_url), project_id, kind, {
        "fund": fund, "amount_fen": amount_fen, "on": on, "doc": doc, "use": use}, by)  # fmt: skip
    click.echo(f"{kind} {rec['amount_fen']} fen; {fund}: allocated {rec['allocated_fen']}, "
               f"disbursed {rec['disbursed_fen']}, available {rec['available_fen']}")  # fmt: skip


@programmes.command("ledger")
@db_option
@click.argument("project_id")
def ledger_cmd(db_url: str, project_id: str) -> None:
    """A project's fund entries with running balances [fen]."""
    rows = [[r["seq"], r["fund"], r["kind"], r["amount_fen"], r["use"] or "", r["on_date"],
             r["allocated_fen"], r["disbursed_fen"], r["available_fen"]]
            for r in service.ledger(_open(db_url), project_id)]  # fmt: skip
    head = ["seq", "fund", "kind", "fen", "use", "on", "allocated", "disbursed", "available"]
    click.echo(render(f"资金台账 {project_id}", (head, rows)))


@programmes.command("supervise")
@db_option
@click.option("--today", default=None, help="YYYY-MM-DD (default: today, Beijing time).")
def supervise_cmd(db_url: str, today: str | None) -> None:
    """Raise 督办 tasks (enforcement) for overdue milestones not yet supervised."""
    day = None if today is None else service.date(today, "today")
    tasks = service.supervise(_open(db_url), day)
    click.echo(f"{len(tasks)} tasks: {', '.join(tasks)}" if tasks else "no overdue milestones")


@programmes.command("funds")
def funds_cmd() -> None:
    """The funds, their eligible uses and caps, with their sources."""
    r = funds.load_rules()
    rows = [[f.code, f.name[0], ", ".join(f.uses),
             ", ".join(f"{u} ≤ {c.numerator}/{c.denominator}" for u, c in f.caps.items()),
             f.tag, f.source] for f in r.funds.values()]  # fmt: skip
    click.echo(render(f"专项资金规则 ({r.edition})",
                      (["code", "名称", "uses", "caps", "tag", "source"], rows)))  # fmt: skip


@programmes.command("verify")
@db_option
def verify_cmd(db_url: str) -> None:
    """Check the programmes' audit chain end to end."""
    n = service.verify_audit(_open(db_url))
    click.echo(f"audit chain intact: {n} events ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)")
