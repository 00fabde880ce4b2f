"""``bishui compensation``: check agreements, run a period from an inputs file, explain.

File-based, so it works before storage is wired: ``run`` reads assessed inputs from JSON
(a list of :meth:`PeriodInputs.to_dict` objects) and writes statements as JSON; ``explain``
reads them back. The service replaces the files with the store and keeps the same ids.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from bishui.compensation.agreement import Agreement, load_agreements_dir
from bishui.compensation.engine import Statement, compute_period, verify_hash
from bishui.compensation.explain import explain, yuan
from bishui.compensation.inputs import PeriodInputs
from bishui.compensation.jingmen import AGREEMENTS_DIR, CITY_FILE, city_registry
from bishui.compensation.ledger import Ledger
from bishui.compensation.period import Period
from bishui.errors import InputError, NotFoundError

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
@_DIR
@_CITY
def agreements_cmd(directory: Path, city: Path) -> None:
    """Validate and list the agreements."""
    agreements, names = _load(directory, city)
    for a in agreements.values():
        parties = "、".join(names.get(p, p) for p in a.parties)
        click.echo(
            f"{a.id}\tv{a.version}\t{a.status}\t{a.period_kind}\t{a.point.key}\t{parties}\t{a.title}"
        )


@compensation.command("run")
@click.option("--period", "period_text", required=True, help="2025, 2025-Q1 or 2025-03.")
@click.option(
    "--inputs",
    "inputs_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="JSON list of period inputs (PeriodInputs.to_dict()).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write statements.")
@_DIR
@_CITY
def run_cmd(
    period_text: str, inputs_path: Path, out: Path | None, directory: Path, city: Path
) -> None:
    """Compute every agreement for every period inside --period."""
    period = Period.parse(period_text)
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


@compensation.command("explain")
@click.option("--statement", "statement_id", required=True, help="e.g. agreement/2025/v1")
@click.option(
    "--from",
    "source",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Statements JSON written by `run --out`.",
)
@_CITY
def explain_cmd(statement_id: str, source: Path, city: Path) -> None:
    """Print a statement's whole computation in words and numbers."""
    raw = _read_json(source, "--from")
    for d in raw if isinstance(raw, list) else []:
        if isinstance(d, dict) and d.get("id") == statement_id:
            if not verify_hash(d):
                raise InputError("statement", "content matching its hash", statement_id)
            click.echo(explain(Statement.from_dict(d), city_registry(city).names))
            return
    raise NotFoundError(f"statement {statement_id} not found in {source}")
