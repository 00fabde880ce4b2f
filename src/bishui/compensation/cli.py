"""``bishui compensation``: agreements, run a period, explain, confirm, figures, exports.

Two forms of ``run`` and ``explain``:

- **store** (default, ``--db URL``): inputs are computed from the monitoring data in the store,
  statements are stored (versioned), posted to the ledger, and read back by ``explain``;
- **file** (``--inputs file.json`` / ``--from statements.json``): the pure core alone, with
  assessed inputs from JSON (a list of :meth:`PeriodInputs.to_dict` objects).

Ids are the same in both: ``<agreement>/<period>/v<version>``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from bishui.cli_options import db_option
from bishui.compensation import service
from bishui.compensation.agreement import Agreement, load_agreements_dir
from bishui.compensation.engine import Statement, compute_period, verify_hash
from bishui.compensation.explain import explain, yuan
from bishui.compensation.inputs import PeriodInputs
from bishui.compensation.jingmen import AGREEMENTS_DIR, CITY_FILE, city_registry
from bishui.compensation.ledger import Ledger
from bishui.compensation.period import Period
from bishui.errors import InputError, NotFoundError
from bishui.export_header import header_rows
from bishui.store import Store, open_store

_DIR = click.option(
    "--dir",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=AGREEMENTS_DIR,
    show_default=True,
    help="Directory of agreement TOML files.",
)
_CITY = click.option(
    "--city",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=CITY_FILE,
    show_default=True,
    help="City file giving the regions and monitoring points.",
)


def _load(directory: Path, city: Path) -> tuple[dict[str, Agreement], dict[str, str]]:
    reg = city_registry(city)
    return load_agreements_dir(directory, reg.regions, reg.points), reg.names


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(what, "a readable JSON file", f"{path}: {exc}") from None


@click.group("compensation")
def compensation() -> None:
    """生态补偿：协议校验、结算、说明。"""


@compensation.command("agreements")
@click.option("--stored", is_flag=True, help="List the versions recorded in the store (--db).")
@db_option
@_DIR
@_CITY
def agreements_cmd(stored: bool, db_url: str, directory: Path, city: Path) -> None:
    """Validate and list the agreements (the files, or with --stored the store's versions)."""
    if stored:
        store = _open(db_url)
        try:
            for r in service.stored_agreements(store):
                click.echo(
                    f"{r['id']}\tv{r['version']}\t{r['status']}\t{r['period_kind']}\t"
                    f"{r['rule_hash']}\t{r['loaded_at']}\t{r['loaded_by']}\t{r['title']}"
                )
        finally:
            store.close()
        return
    agreements, names = _load(directory, city)
    for a in agreements.values():
        parties = "、".join(names.get(p, p) for p in a.parties)
        click.echo(
            f"{a.id}\tv{a.version}\t{a.status}\t{a.period_kind}\t{a.point.key}\t{parties}\t{a.title}"
        )


@compensation.command("run")
@click.option("--period", "period_text", required=True, help="2026, 2026-Q3 or 2026-07.")
@click.option(
    "--inputs",
    "inputs_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File form: JSON list of period inputs (PeriodInputs.to_dict()); no store.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the statements: .json (file form), .xlsx or .csv.",
)
@click.option("--by", default="cli", show_default=True, help="Who runs it (recorded).")
@db_option
@_DIR
@_CITY
def run_cmd(
    period_text: str,
    inputs_path: Path | None,
    out: Path | None,
    by: str,
    db_url: str,
    directory: Path,
    city: Path,
) -> None:
    """Compute every agreement for every period inside --period.

    From the store (default): inputs from the stored monitoring data; each statement is stored
    as a new version only if it differs from the current one, and posted to the ledger.
    """
    period = Period.parse(period_text)
    if inputs_path is None:
        _run_store(period, out, by, db_url, directory)
        return
    agreements, names = _load(directory, city)
    raw = _read_json(inputs_path, "--inputs")
    if not isinstance(raw, list):
        raise InputError("--inputs", "a JSON list of period inputs", type(raw).__name__)
    by_period: dict[Period, PeriodInputs] = {}
    for item in raw:
        pi = PeriodInputs.from_dict(item)
        if pi.period in by_period:  # several files' worth for one period: merge the points
            pi = PeriodInputs(pi.period, {**by_period[pi.period].points, **pi.points})
        by_period[pi.period] = pi
    ledger = Ledger()
    statements = compute_period(agreements.values(), by_period, period)
    for s in statements:
        ledger.post(s)
        click.echo(f"{s.id}\t{s.status}\t{s.amount}")
    click.echo("")
    for party in sorted(
        {t for s in statements for t in s.evidence["rule"]["assessed"]}
        | {t for s in statements for t in s.evidence["rule"]["counterparty"]}
    ):
        ps = ledger.party_statement(party, period)
        click.echo(
            f"{names.get(party, party)}（{party}）\t付 {yuan(ps.pays)}\t收 {yuan(ps.receives)}"
            f"\t净 {yuan(ps.net)}"
        )
    if out is not None:
        out.write_text(
            json.dumps([s.to_dict() for s in statements], ensure_ascii=False, indent=1),
            encoding="utf-8",
        )


def _open(db_url: str) -> Store:
    return open_store(db_url)


def _run_store(period: Period, out: Path | None, by: str, db_url: str, directory: Path) -> None:
    store = _open(db_url)
    try:
        agreements = service.sync_agreements(store, directory, by=by)
        items = service.run(store, period, agreements=agreements, by=by)
        names = service.region_names(store)
        for it in items:
            s = it.statement
            diff = f"\t差额 {s.difference}" if it.action == "corrected" else ""
            click.echo(f"{s.id}\t{it.action}\t{s.status}\t{s.amount}{diff}")
        click.echo("")
        parties = sorted({p for a in agreements.values() for p in a.parties})
        statements = service.heads(store, period)
        for party in parties:
            ps = service.party_statement_of(store, party, period)
            click.echo(
                f"{names.get(party, party)}（{party}）\t付 {yuan(ps.pays)}\t"
                f"收 {yuan(ps.receives)}\t净 {yuan(ps.net)}"
            )
        if out is not None:
            _export(store, statements, parties, period, out, names)
    finally:
        store.close()


def _export(
    store: Store,
    statements: list[Statement],
    parties: list[str],
    period: Period,
    out: Path,
    names: dict[str, str],
) -> None:
    from bishui.compensation.export import (
        PARTY_HEADERS,
        STATEMENT_HEADERS,
        party_rows,
        statement_table_rows,
        write_table,
    )

    if out.suffix.lower() == ".json":
        out.write_text(
            json.dumps([s.to_dict() for s in statements], ensure_ascii=False, indent=1),
            encoding="utf-8",
        )
        return
    synthetic = any(
        "模拟数据" in json.dumps(s.evidence["inputs"], ensure_ascii=False) for s in statements
    )
    ps = [service.party_statement_of(store, p, period) for p in parties]
    write_table(
        out,
        {
            "结算单": (STATEMENT_HEADERS, statement_table_rows(statements, names)),
            "各方对账单": (PARTY_HEADERS, party_rows(ps, names)),
        },
        preamble=header_rows(
            "生态补偿结算单及各方对账单",
            period=str(period),
            units="元（人民币，两位小数）",
            source="碧水 生态补偿结算（按协议规则由监测数据计算）",
            synthetic=synthetic,
        ),
    )


@compensation.command("explain")
@click.option("--statement", "statement_id", required=True, help="e.g. agreement/2026/v1")
@click.option(
    "--from",
    "source",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File form: statements JSON written by `run --out`.",
)
@click.option(
    "--html",
    "html_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a printable HTML statement (store form).",
)
@db_option
@_CITY
def explain_cmd(
    statement_id: str, source: Path | None, html_out: Path | None, db_url: str, city: Path
) -> None:
    """Print a statement's whole computation in words and numbers (its hash verified)."""
    if source is None:
        store = _open(db_url)
        try:
            st = service.load_statement(store, statement_id)  # refuses a broken hash
            names = service.region_names(store)
            click.echo(explain(st, names))
            ok = service.verify_stored(store, statement_id)
            click.echo(f"重算核验：{'一致' if ok else '不一致'}")
            if html_out is not None:
                from bishui.compensation.export import statement_html

                conf = service.confirmation(store, statement_id)
                synthetic = "模拟数据" in json.dumps(st.evidence["inputs"], ensure_ascii=False)
                html_out.write_text(
                    statement_html(st, names, synthetic=synthetic, states=conf.states),
                    encoding="utf-8",
                )
        finally:
            store.close()
        return
    raw = _read_json(source, "--from")
    for d in raw if isinstance(raw, list) else []:
        if isinstance(d, dict) and d.get("id") == statement_id:
            if not verify_hash(d):
                raise InputError("statement", "content matching its hash", statement_id)
            click.echo(explain(Statement.from_dict(d), city_registry(city).names))
            return
    raise NotFoundError(f"statement {statement_id} not found in {source}")


@compensation.command("export")
@click.option("--period", "period_text", required=True, help="2026, 2026-Q3 or 2026-07.")
@click.option("--party", help="Only this party (region code): its statement.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help=".xlsx or .csv (statements and party statements), .html (a party's printable one).",
)
@db_option
def export_cmd(period_text: str, party: str | None, out: Path, db_url: str) -> None:
    """Export the current statements of a period from the store."""
    period = Period.parse(period_text)
    store = _open(db_url)
    try:
        names = service.region_names(store)
        statements = service.heads(store, period, [party] if party else None)
        parties = (
            [party]
            if party
            else sorted({p for s in statements for t in s.transfers for p in (t.payer, t.payee)})
        )
        if out.suffix.lower() == ".html":
            from bishui.compensation.export import party_html

            if not party:
                raise InputError("--party", "a region code for a printable statement", None)
            synthetic = any(
                "模拟数据" in json.dumps(s.evidence["inputs"], ensure_ascii=False)
                for s in statements
            )
            ps = service.party_statement_of(store, party, period)
            out.write_text(party_html(ps, names, synthetic=synthetic), encoding="utf-8")
        else:
            _export(store, statements, parties, period, out, names)
        click.echo(f"{out}: {len(statements)} statements")
    finally:
        store.close()


@compensation.command("ledger")
@click.option("--period", "period_text", help="Only entries of statements inside this period.")
@db_option
def ledger_cmd(period_text: str | None, db_url: str) -> None:
    """Print every party's ledger balance (positive: owed to it) and the total (always 0)."""
    store = _open(db_url)
    try:
        period = Period.parse(period_text) if period_text else None
        names = service.region_names(store)
        bal = service.balances(store, period=period)
        for code, v in bal.items():
            click.echo(f"{names.get(code, code)}（{code}）\t{yuan(v)}")
        click.echo(f"合计\t{yuan(sum(bal.values(), start=Decimal(0)))}")
    finally:
        store.close()


@compensation.command("confirm")
@click.option("--statement", "statement_id", required=True)
@click.option("--party", required=True, help="The party (region code) acting.")
@click.option("--dispute", "reason", help="Dispute with this reason (default: acknowledge).")
@click.option("--by", required=True, help="Who (recorded).")
@db_option
def confirm_cmd(statement_id: str, party: str, reason: str | None, by: str, db_url: str) -> None:
    """Acknowledge a statement for a party, or dispute it with a reason."""
    store = _open(db_url)
    try:
        action = "dispute" if reason is not None else "acknowledge"
        c = service.confirm(store, statement_id, party, action, by=by, reason=reason or "")
        click.echo(f"{statement_id}\t{party}\t{c.states[party]}\t总体 {c.state}")
    finally:
        store.close()


@compensation.command("figure")
@click.option("--point", required=True, help="Section id or air-station key (AQ01+AQ04).")
@click.option("--name", required=True, help="Figure name, e.g. forest_area_vs_2020, volume.")
@click.option("--period", "period_text", required=True)
@click.option("--value", required=True, help="Exact decimal value in the figure's unit.")
@click.option("--source", required=True, help="The document or office it comes from.")
@click.option("--by", required=True, help="Who enters it (recorded).")
@db_option
def figure_cmd(
    point: str, name: str, period_text: str, value: str, source: str, by: str, db_url: str
) -> None:
    """Enter a figure no monitoring series gives (used by the next run)."""
    store = _open(db_url)
    try:
        service.set_figure(store, point, name, period_text, value, source=source, by=by)
        click.echo(f"{point}\t{name}\t{period_text}\t{value}")
    finally:
        store.close()
