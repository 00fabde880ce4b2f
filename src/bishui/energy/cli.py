"""``bishui energy``: energy accounts, dual control and the total-emission reduction accounts.

::

    bishui energy coefficients
    bishui energy convert raw_coal 1000 [--equal-value 0.3050]
    bishui energy load KIND FILE.csv --by NAME   (KIND: units, uses, gdp, targets, measures,
                                                 emissions, emission-targets, projects)
    bishui energy equal-value 2025 0.3020 --source "…" --by NAME
    bishui energy accounts --county 420802 --years 2020-2025 [--basis equal_value] [--out a.xlsx]
    bishui energy attainment --year 2025 [--no-feedstock] [--no-renewable] [--out d.xlsx]
    bishui energy reduction --year 2025 [--out r.xlsx]

Every command that reads the store takes ``--db URL`` (``BISHUI_DB``). Files are CSV (UTF-8,
one header row with the service's field names) or Excel (first sheet).
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from bishui.cli_options import Table, db_option, render, write_and_say
from bishui.energy import accounts as ea
from bishui.energy import service
from bishui.errors import InputError

LOADERS = {
    "units": service.add_units,
    "uses": service.record_uses,
    "gdp": service.set_gdp,
    "targets": service.set_targets,
    "measures": service.add_measures,
    "emissions": service.record_emissions,
    "emission-targets": service.set_emission_targets,
    "projects": service.add_projects,
}
MAX_FILE = 20 * 1024 * 1024


@click.group()
def energy() -> None:
    """Energy accounts (GB/T 2589-2020), dual control (双控), total-emission reduction."""


def _open(db_url: str) -> Any:
    from bishui.store import open_store

    return open_store(db_url)


def read_table(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV or the first sheet of an Excel file, as dicts by header."""
    if path.stat().st_size > MAX_FILE:
        raise InputError("file", f"at most {MAX_FILE} bytes", path.stat().st_size)
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        ws = load_workbook(path, read_only=True, data_only=True).active
        assert ws is not None
        it = ws.iter_rows(values_only=True)
        head = [str(h).strip() for h in next(it, ())]
        return [dict(zip(head, r, strict=False)) for r in it if any(v is not None for v in r)]
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            return list(csv.DictReader(f))
    raise InputError("file", "must end in .csv or .xlsx", str(path))


def _years(text: str) -> list[int]:
    try:
        if "-" in text:
            a, b = (int(x) for x in text.split("-", 1))
            if not 0 <= b - a <= 50:
                raise ValueError
            return list(range(a, b + 1))
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise InputError("years", "YYYY-YYYY or YYYY,YYYY", text) from None


def _out(title: str, table: Table, out: Path | None) -> None:
    if out is not None:
        write_and_say(out, [(title, table)])
    else:
        click.echo(render(title, table))


@energy.command("coefficients")
def coefficients_cmd() -> None:
    """The standard-coal coefficients (GB/T 2589-2020 Annex A) with their source and tag."""
    rows = [[c.code, c.name_zh, c.unit, c.kgce_per_unit, c.valid_from, c.source, c.tag]
            for c in ea.coefficients().values()]  # fmt: skip
    head = ["code", "名称", "unit", "kgce", "valid_from", "source", "tag"]
    click.echo(render("折标准煤系数 kgce/unit", (head, rows)))


@energy.command("convert")
@click.argument("fuel")
@click.argument("quantity", type=int)
@click.option("--equal-value", default=None, help="Electricity equal-value coefficient kgce/kWh.")
def convert_cmd(fuel: str, quantity: int, equal_value: str | None) -> None:
    """Convert QUANTITY (integer, in the fuel's unit) of FUEL to kgce on both bases."""
    rate = None if equal_value is None else Decimal(equal_value)
    t = ea.totals([ea.Use("cli", fuel, quantity)], rate)
    c = ea.coefficient(fuel)
    ev = "—" if t.equal_value_kgce is None else t.equal_value_kgce
    click.echo(
        f"{quantity} {c.unit} {c.name_zh}: 当量值 {t.equivalent_kgce} kgce; 等价值 {ev} kgce"
    )


@energy.command("load")
@click.argument("kind", type=click.Choice(sorted(LOADERS)))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", required=True, help="Who enters the data (audited).")
@db_option
def load_cmd(kind: str, path: Path, by: str, db_url: str) -> None:
    """Load a CSV/Excel file of KIND into the store (validated, audited, all or nothing)."""
    n = LOADERS[kind](_open(db_url), read_table(path), by)
    click.echo(f"{kind}: {n} rows")


@energy.command("equal-value")
@click.argument("year", type=int)
@click.argument("rate")
@click.option("--source", required=True)
@click.option("--by", required=True)
@db_option
def equal_value_cmd(year: int, rate: str, source: str, by: str, db_url: str) -> None:
    """Enter the year's electricity equal-value coefficient (供电煤耗, kgce/kWh)."""
    service.set_equal_value(_open(db_url), year, rate, source, by)
    click.echo(f"{year}: {rate} kgce/kWh")


@energy.command("accounts")
@click.option("--county", required=True)
@click.option("--years", required=True, help="2016-2025 or 2016,2020")
@click.option("--basis", type=click.Choice(list(ea.BASES)), default=ea.EQUIVALENT)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path))
@db_option
def accounts_cmd(county: str, years: str, basis: str, out: Path | None, db_url: str) -> None:
    """A county's energy accounts per year (totals, GDP, intensity, rates)."""
    rows = service.accounts(_open(db_url), county, _years(years), basis)
    head = ["年份", "当量值 kgce", "等价值 kgce", "GDP 现价 万元", "GDP 可比价 万元",
            "价格基期", "强度(可比价) tce/万元", "强度(现价)", "年降幅 %", "累计 %",
            "可再生占比 %"]  # fmt: skip
    body = [[r["year"], r["equivalent_kgce"], r["equal_value_kgce"], r["gdp_current_wan"],
             r["gdp_comparable_wan"], r["price_base"], r["intensity_comparable"],
             r["intensity_current"], r["annual_rate_pct"], r["chained_pct"], r["renewable_share"]]
            for r in rows]  # fmt: skip
    _out(f"能源账户 {county} ({ea.BASES[basis][0]})", (head, body), out)


@energy.command("attainment")
@click.option("--year", type=int, required=True)
@click.option("--no-feedstock", is_flag=True, help="Do not deduct 原料用能.")
@click.option("--no-renewable", is_flag=True, help="Do not deduct new renewable electricity.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path))
@db_option
def attainment_cmd(
    year: int, no_feedstock: bool, no_renewable: bool, out: Path | None, db_url: str
) -> None:
    """Dual-control attainment of every county target of YEAR."""
    ex = ea.Exclusions(feedstock=not no_feedstock, renewable=not no_renewable)
    rows = service.attainment(_open(db_url), year, exclusions=ex)
    head = ["区县", "基期", "目标降幅 %", "实际降幅 %", "完成率 %", "强度目标", "激励目标",
            "总量", "状态"]  # fmt: skip
    body = [[r["county"], r["base_year"], r["target_fall_pct"], r.get("fall_pct"),
             r.get("completion_pct"), r.get("intensity_met"), r.get("incentive_met"),
             r.get("total_met"), r["status"]] for r in rows]  # fmt: skip
    _out(f"能耗双控 {year}", (head, body), out)


@energy.command("reduction")
@click.option("--year", type=int, required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path))
@db_option
def reduction_cmd(year: int, out: Path | None, db_url: str) -> None:
    """Main-pollutant totals per county with their bases, and the targets judged."""
    store = _open(db_url)
    acc = service.reduction_accounts(store, year)
    res = service.reduction_results(store, year)
    t1: Table = (["区县", "污染物", "排放量 t", "来源构成 g", "源数"],
                 [[t["county"], t["pollutant"], t["tonnes"], t["by_basis"], t["sources"]]
                  for t in acc["totals"]])  # fmt: skip
    t2: Table = (["区县", "污染物", "基年", "形式", "目标", "总量削减 t", "工程减排 t", "达标"],
                 [[r["county"], r["pollutant"], r["base_year"], r["kind"], r["target"],
                   r["total_cut_t"], r["project_cut_t"], r["met"]] for r in res])  # fmt: skip
    if out is not None:
        write_and_say(out, [(f"减排核算 {year}", t1), ("目标", t2)])
    else:
        click.echo(render(f"主要污染物排放量 {year}", t1))
        click.echo(render("减排目标", t2))
