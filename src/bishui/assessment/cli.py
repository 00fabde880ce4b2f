"""``bishui assess``: county scorecards, fund allocation, asset tables, terms, accountability
cases and the departure-audit summary (docs/assessment.md)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from bishui.assessment import audit as au
from bishui.assessment import scorecard as sc
from bishui.assessment import service
from bishui.cli_options import db_option, render, write_and_say
from bishui.errors import InputError
from bishui.store import Store, open_store

_out = click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="also write the table(s) to .xlsx or .csv",
)
_who = click.option("--actor", default="cli", show_default=True, help="who does it (audited)")
_role = click.option(
    "--role", default="admin", show_default=True, help="the actor's role (audited)"
)


def _store(db_url: str) -> Store:
    return open_store(db_url)


def _date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(what, "YYYY-MM-DD", text) from None


@click.group()
def assess() -> None:
    """生态文明考核: scorecards, allocations, asset tables, departure audits."""


@assess.command("score")
@db_option
@click.argument("scorecard")
@click.option("--region", "regions", multiple=True, help="only these counties (repeatable)")
@_who
@_role
@_out
def score_cmd(
    db_url: str, scorecard: str, regions: tuple[str, ...], actor: str, role: str, out: Path | None
) -> None:
    """Score the counties by SCORECARD (a shipped id, e.g. scorecard_2026_demo, or a file)."""
    store = _store(db_url)
    try:
        rid = service.score_year(
            store, scorecard, by=actor, role=role, regions=list(regions) or None
        )
        tab = service.run_table(store, rid)
    finally:
        store.close()
    sheet = service.run_sheet(tab)
    click.echo(render(f"{tab['scorecard']['title']} — {rid}", sheet))
    if out:
        write_and_say(out, [("考核得分", sheet)])


@assess.command("show")
@db_option
@click.argument("run_id")
@_out
def show_cmd(db_url: str, run_id: str, out: Path | None) -> None:
    """A stored run: every county's points with the evidence value behind each."""
    store = _store(db_url)
    try:
        tab = service.run_table(store, run_id)
    finally:
        store.close()
    sheet = service.run_sheet(tab)
    click.echo(render(f"{tab['scorecard']['title']} — {run_id}", sheet))
    if out:
        write_and_say(out, [("考核得分", sheet)])


@assess.command("recompute")
@db_option
@click.argument("run_id")
def recompute_cmd(db_url: str, run_id: str) -> None:
    """Recompute a run's points from its stored evidence; exit 1 if any differs."""
    store = _store(db_url)
    try:
        ok = service.recompute(store, run_id)
    finally:
        store.close()
    click.echo("reproduced" if ok else "DIFFERS")
    if not ok:
        raise SystemExit(1)


@assess.command("scorecards")
def scorecards_cmd() -> None:
    """The scorecard files shipped with the platform."""
    for name in sc.available():
        card = sc.load_scorecard(name)
        click.echo(f"{name}\t{card.year}\t{card.title}")


@assess.command("allocate")
@db_option
@click.argument("run_id")
@click.option("--fund", required=True, help="the fund's name")
@click.option("--kind", type=click.Choice(sorted(service.FUND_KINDS)), required=True)
@click.option("--total-fen", type=click.IntRange(0), required=True, help="the fund [fen]")
@click.option(
    "--rule",
    "rule_json",
    required=True,
    help='the rule as JSON, e.g. {"kind": "above_floor", "floor": 60}',
)
@_who
@_role
@_out
def allocate_cmd(
    db_url: str,
    run_id: str,
    fund: str,
    kind: str,
    total_fen: int,
    rule_json: str,
    actor: str,
    role: str,
    out: Path | None,
) -> None:
    """Split a fund among the counties by RUN_ID's scores under a declared rule."""
    try:
        rule = json.loads(rule_json)
    except json.JSONDecodeError:
        raise InputError("--rule", "JSON", rule_json) from None
    if not isinstance(rule, dict):
        raise InputError("--rule", "a JSON object", rule_json)
    store = _store(db_url)
    try:
        aid = service.allocate(
            store, run_id, fund=fund, kind=kind, rule=rule, total_fen=total_fen, by=actor, role=role
        )
        a = service.allocation(store, aid)
    finally:
        store.close()
    sheet = (
        ["区县", "得分", "分配（分）", "分配（元）"],
        [[s["county"], s["score"], s["fen"], f"{int(s['fen']) / 100:.2f}"] for s in a["shares"]],
    )
    click.echo(render(f"{fund} — {aid}", sheet))
    if out:
        write_and_say(out, [("资金分配", sheet)])


@assess.command("assets-load")
@db_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_who
@_role
def assets_load_cmd(db_url: str, file: Path, actor: str, role: str) -> None:
    """Load a natural-resource survey file (.csv or .xlsx), all rows or none."""
    kind = "xlsx" if file.suffix.lower() == ".xlsx" else "csv"
    store = _store(db_url)
    try:
        bid = service.load_assets(
            store, file.read_bytes(), filename=file.name, kind=kind, by=actor, role=role
        )
    finally:
        store.close()
    click.echo(f"loaded {file.name} as batch {bid}")


@assess.command("assets")
@db_option
@click.argument("county")
@click.argument("year", type=int)
@_out
def assets_cmd(db_url: str, county: str, year: int, out: Path | None) -> None:
    """COUNTY's asset table for YEAR: opening, changes by cause, closing, balance."""
    store = _store(db_url)
    try:
        lines = service.asset_lines(store, county, year)
    finally:
        store.close()
    sheet = (
        ["资源", "类别", "单位", "期初", "增加", "减少", "期末", "平衡"],
        [
            [
                r["resource"],
                r["category"],
                r["unit"],
                r["opening"],
                json.dumps(r["increase"], ensure_ascii=False),
                json.dumps(r["decrease"], ensure_ascii=False),
                r["closing"],
                "是" if r["balanced"] else "否",
            ]
            for r in lines
        ],
    )
    click.echo(render(f"自然资源资产表 {county} {year}", sheet))
    if out:
        write_and_say(out, [("资产表", sheet)])


@assess.command("term-add")
@db_option
@click.option("--leader", required=True)
@click.option("--post", required=True)
@click.option("--county", required=True)
@click.option("--start", required=True, help="YYYY-MM-DD")
@click.option("--end", required=True, help="YYYY-MM-DD")
@_who
@_role
def term_add_cmd(
    db_url: str, leader: str, post: str, county: str, start: str, end: str, actor: str, role: str
) -> None:
    """Register a leader's term of office."""
    term = au.Term(leader, post, county, _date(start, "start"), _date(end, "end"))
    store = _store(db_url)
    try:
        tid = service.add_term(store, term, by=actor, role=role)
    finally:
        store.close()
    click.echo(f"term {tid}")


@assess.command("case-open")
@db_option
@click.option("--leader", required=True)
@click.option("--county", required=True)
@click.option("--article", required=True, help="article of the 2015 measures (5–8)")
@click.option("--item", type=int, required=True)
@click.option("--form", "forms", multiple=True, required=True, help="form of accountability")
@click.option("--facts", required=True)
@click.option("--opened", required=True, help="YYYY-MM-DD")
@click.option("--term", "term_id")
@_who
@_role
def case_open_cmd(
    db_url: str,
    leader: str,
    county: str,
    article: str,
    item: int,
    forms: tuple[str, ...],
    facts: str,
    opened: str,
    term_id: str | None,
    actor: str,
    role: str,
) -> None:
    """Register an accountability case (责任追究) with its basis."""
    store = _store(db_url)
    try:
        cid = service.open_case(
            store,
            leader=leader,
            county=county,
            article=article,
            item=item,
            forms=list(forms),
            facts=facts,
            opened=_date(opened, "opened"),
            term_id=term_id,
            by=actor,
            role=role,
        )
    finally:
        store.close()
    click.echo(f"case {cid}")


@assess.command("summary")
@db_option
@click.argument("term_id")
def summary_cmd(db_url: str, term_id: str) -> None:
    """The departure-audit summary of a term, as JSON."""
    store = _store(db_url)
    try:
        s = service.departure_summary(store, term_id)
    finally:
        store.close()
    click.echo(json.dumps(s, ensure_ascii=False, indent=2, default=str))
