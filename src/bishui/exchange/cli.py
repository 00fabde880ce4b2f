"""``bishui exchange``: accounts, determination, fees, bidding sessions, transfers, surrender,
compliance, the monthly market report, and the log's integrity (verify, rebuild).

Every command opens the store (``--db``) and calls the exchange's services
(``bishui.exchange.rights``, ``trading``, ``carbon``, ``compliance_board``, ``ledger``,
``service``) — the same functions the web pages call. ``--actor`` names the platform user the
registry records (its checks decide whether that user may act).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from bishui.cli_options import db_option, render, write_and_say
from bishui.errors import InputError
from bishui.exchange import carbon, compliance_board, ledger, records, rights, service, trading
from bishui.exchange.instruments import INSTRUMENTS, Instrument, from_units
from bishui.exchange.market import report as mreport
from bishui.exchange.market.determination import DeterminationMethod
from bishui.exchange.registry import balances
from bishui.store import Store, open_store

_ACTOR = click.option("--actor", required=True, help="The platform user acting.")


def _dt(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError("time", "an ISO date-time, e.g. 2026-04-01T09:00", text) from None


def _yuan(fen: int) -> str:
    return f"{Decimal(int(fen)) / 100:.2f}"


def _echo(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=1, default=str))


@click.group("exchange")
def exchange() -> None:
    """环境资源交易：排污权、碳排放权、节能量（登记簿、核定、交易、履约）。"""


@exchange.command("accounts")
@db_option
def accounts_cmd(db_url: str) -> None:
    """Entities, registry accounts with their holdings, and cash balances."""
    store = open_store(db_url)
    try:
        names = {r["id"]: r["name"] for r in store.query("SELECT id, name FROM exchange_entity")}
        rows = []
        for (acc, status, inst, vintage, pol, region), n in sorted(
            balances(service.stored(store)).items()
        ):
            q = from_units(Instrument(inst), n)
            unit = INSTRUMENTS[Instrument(inst)].trading_unit
            rows.append([acc, status, inst, pol, vintage, region, f"{q} {unit}"])
        click.echo(render("持有（registry）", (["账户", "状态", "品种", "污染物", "年度", "区域",
                                                  "数量"], rows)))  # fmt: skip
        cash = [[r["id"], r["kind"], names.get(r["holder"], r["holder"]), _yuan(r["balance_fen"])]
                for r in ledger.cash_accounts(store)]  # fmt: skip
        click.echo(render("资金（元）", (["资金账户", "类别", "持有人", "余额"], cash)))
    finally:
        store.close()


@exchange.command("determine")
@click.option("--pollutant", required=True, help="HJ 212 code: w01018, w21003, a21026, a21002.")
@click.option("--vintage", type=int, required=True)
@click.option("--cap-kg", type=int, required=True, help="The area's cap [kg/a].")
@click.option("--history-years", type=int, required=True)
@click.option("--factor", required=True, help="Multiplier on the historical mean.")
@click.option("--basis", required=True, help="The decision the method's values come from.")
@click.option("--on", "on", required=True, help="Determination date (YYYY-MM-DD).")
@_ACTOR
@db_option
def determine_cmd(
    pollutant: str, vintage: int, cap_kg: int, history_years: int, factor: str, basis: str,
    on: str, actor: str, db_url: str,
) -> None:  # fmt: skip
    """Determine and issue one pollutant's rights from the permits in force (and amend them)."""
    store = open_store(db_url)
    try:
        method = DeterminationMethod(history_years, Decimal(factor), basis)
        out = rights.determine_rights(
            store, pollutant=pollutant, vintage=vintage, cap_kg=cap_kg, method=method,
            on=dt.date.fromisoformat(on), actor=actor,
        )  # fmt: skip
        _echo([d.__dict__ for d in out])
    finally:
        store.close()


@exchange.command("fees")
@click.option("--holder", default=None, help="One holder's fees (统一社会信用代码).")
@click.option("--pay", nargs=2, default=None, help="FEE_ID NUMBER: pay that instalment.")
@click.option("--actor", default="", help="Who pays (with --pay).")
@db_option
def fees_cmd(holder: str | None, pay: tuple[str, str] | None, actor: str, db_url: str) -> None:
    """List fee assessments and instalments, or pay one instalment (--pay)."""
    store = open_store(db_url)
    try:
        if pay:
            _echo(rights.pay_instalment(store, pay[0], int(pay[1]), actor=actor))
        else:
            _echo(rights.fees_of(store, holder))
    finally:
        store.close()


@exchange.group("sessions")
def sessions() -> None:
    """电子竞价：announce a lot, bid, close (award and settle), list."""


@sessions.command("list")
@db_option
def sessions_list(db_url: str) -> None:
    """Every lot."""
    store = open_store(db_url)
    try:
        _echo(trading.lots(store))
    finally:
        store.close()


@sessions.command("announce")
@click.option("--seller-account", required=True)
@click.option("--seller-agent", required=True)
@click.option("--instrument", "inst", default="emission_right", show_default=True)
@click.option("--pollutant", default="")
@click.option("--units", type=int, required=True, help="Registry units (kg, tCO2e, kgce).")
@click.option("--reserve-fen", type=int, required=True, help="Reserve [fen per trading unit].")
@click.option("--opens", required=True)
@click.option("--closes", required=True)
@_ACTOR
@db_option
def sessions_announce(
    seller_account: str, seller_agent: str, inst: str, pollutant: str, units: int,
    reserve_fen: int, opens: str, closes: str, actor: str, db_url: str,
) -> None:  # fmt: skip
    """Announce a lot."""
    store = open_store(db_url)
    try:
        _echo(trading.announce_lot(
            store, seller_account=seller_account, seller_agent=seller_agent, instrument_=inst,
            pollutant=pollutant, units=units, reserve_fen=reserve_fen, opens=_dt(opens),
            closes=_dt(closes), actor=actor,
        ))  # fmt: skip
    finally:
        store.close()


@sessions.command("bid")
@click.argument("lot_id")
@click.option("--account", required=True)
@click.option("--price-fen", type=int, required=True)
@click.option("--units", type=int, required=True)
@_ACTOR
@db_option
def sessions_bid(lot_id: str, account: str, price_fen: int, units: int, actor: str,
                 db_url: str) -> None:  # fmt: skip
    """Bid on an open lot."""
    store = open_store(db_url)
    try:
        _echo(trading.place_bid(store, lot_id, account=account, price_fen=price_fen,
                                units=units, actor=actor))  # fmt: skip
    finally:
        store.close()


@sessions.command("close")
@click.argument("lot_id")
@_ACTOR
@db_option
def sessions_close(lot_id: str, actor: str, db_url: str) -> None:
    """Award the lot at its close and settle each award."""
    store = open_store(db_url)
    try:
        _echo(trading.close_lot(store, lot_id, actor=actor))
    finally:
        store.close()


@exchange.group("transfers")
def transfers() -> None:
    """协议转让：propose, act (accept, approve, settle …), list."""


@transfers.command("list")
@db_option
def transfers_list(db_url: str) -> None:
    """Every agreement transfer."""
    store = open_store(db_url)
    try:
        _echo(trading.transfers(store))
    finally:
        store.close()


@transfers.command("propose")
@click.option("--seller-account", required=True)
@click.option("--buyer-account", required=True)
@click.option("--instrument", "inst", default="emission_right", show_default=True)
@click.option("--pollutant", default="")
@click.option("--units", type=int, required=True)
@click.option("--price-fen", type=int, required=True)
@click.option("--expires", required=True)
@_ACTOR
@db_option
def transfers_propose(
    seller_account: str, buyer_account: str, inst: str, pollutant: str, units: int,
    price_fen: int, expires: str, actor: str, db_url: str,
) -> None:  # fmt: skip
    """Propose a transfer."""
    store = open_store(db_url)
    try:
        _echo(trading.propose_transfer(
            store, seller_account=seller_account, buyer_account=buyer_account, instrument_=inst,
            pollutant=pollutant, units=units, price_fen=price_fen, expires_at=_dt(expires),
            actor=actor,
        ))  # fmt: skip
    finally:
        store.close()


@transfers.command("act")
@click.argument("transfer_id")
@click.argument("action")
@click.option("--role", type=click.Choice(["party", "regulator", "exchange"]), required=True)
@click.option("--note", default="")
@_ACTOR
@db_option
def transfers_act(transfer_id: str, action: str, role: str, note: str, actor: str,
                  db_url: str) -> None:  # fmt: skip
    """accept, decline, withdraw, approve, refuse, settle or expire a transfer."""
    store = open_store(db_url)
    try:
        _echo(trading.act_on_transfer(store, transfer_id, action, actor=actor, role=role,
                                      note=note))  # fmt: skip
    finally:
        store.close()


@exchange.command("surrender")
@click.argument("account")
@click.argument("year", type=int)
@click.argument("instrument", type=click.Choice(["carbon_allowance", "carbon_sink"]))
@click.argument("units", type=int)
@_ACTOR
@db_option
def surrender_cmd(account: str, year: int, instrument: str, units: int, actor: str,
                  db_url: str) -> None:  # fmt: skip
    """Surrender carbon allowances (or sink-credit offsets) for a compliance year."""
    store = open_store(db_url)
    try:
        _echo(carbon.surrender(store, account, year, instrument, units, actor=actor))
    finally:
        store.close()


@exchange.command("compliance")
@click.argument("year", type=int)
@click.option("--close", is_flag=True, help="Close the year first (operators).")
@click.option("--actor", default="")
@click.option("--average-price-fen", type=int, default=None)
@db_option
def compliance_cmd(year: int, close: bool, actor: str, average_price_fen: int | None,
                   db_url: str) -> None:  # fmt: skip
    """The compliance board of a year (with --close: judge it first)."""
    store = open_store(db_url)
    try:
        if close:
            compliance_board.close_year(store, year, actor=actor,
                                        average_price_fen=average_price_fen)  # fmt: skip
        rows = [[r["name"], r["instrument"], r["pollutant"], r["status"], r["status_zh"],
                 r["due"], r["covered"], r["shortfall"]]
                for r in compliance_board.board(store, year)]  # fmt: skip
        click.echo(render(f"{year}年度履约", (["单位", "品种", "污染物", "状态", "说明", "应履约",
                                            "已覆盖", "缺口"], rows)))  # fmt: skip
    finally:
        store.close()


def report_table(store: Store, month: str | None) -> tuple[list[str], list[list[Any]]]:
    """The monthly market report (``market.report.monthly_report``) of the settled trades, as a
    table: month, instrument, pollutant, trades, volume [trading unit], value and VWAP [CNY]."""
    trades = [
        mreport.Trade(Instrument(t["instrument"]), t["pollutant"],
                      t["ts"].replace(tzinfo=mreport.CST), int(t["price_fen"]), int(t["units"]))
        for t in trading.trades(store)
    ]  # fmt: skip
    rows = []
    for r in mreport.monthly_report(trades):
        if month is not None and r.month != month:
            continue
        inst = Instrument(r.instrument)
        rows.append([r.month, INSTRUMENTS[inst].name_zh, r.pollutant, r.trades,
                     f"{from_units(inst, r.volume)} {INSTRUMENTS[inst].trading_unit}",
                     _yuan(r.value_fen), _yuan(r.vwap_fen)])  # fmt: skip
    return ["月份", "品种", "污染物", "成交笔数", "成交量", "成交额（元）", "均价（元）"], rows


@exchange.command("report")
@click.option("--month", default=None, help="YYYY-MM (default: every month).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write .xlsx or .csv.")  # fmt: skip
@db_option
def report_cmd(month: str | None, out: Path | None, db_url: str) -> None:
    """The monthly market report (Excel or CSV with --out)."""
    store = open_store(db_url)
    try:
        table = report_table(store, month)
        if out is not None:
            write_and_say(out, [("交易月报", table)])
        else:
            click.echo(render("交易月报", table))
    finally:
        store.close()


@exchange.command("verify")
@db_option
def verify_cmd(db_url: str) -> None:
    """Check the registry log's, the money ledger's and the market records' hash chains (and
    that every lot, bid, transfer, fee and instalment matches its record); exit 1 on a break."""
    store = open_store(db_url)
    try:
        bad = False
        for name, fault in (("registry log", service.verify(store)),
                            ("money ledger", ledger.verify(store)),
                            ("market records", records.verify(store))):  # fmt: skip
            if fault is None:
                click.echo(f"{name}: chain intact")
            else:
                bad = True
                click.echo(f"{name}: broken at seq {fault.seq}: {fault.reason}")
        if bad:
            raise SystemExit(1)
    finally:
        store.close()


@exchange.command("rebuild")
@db_option
def rebuild_cmd(db_url: str) -> None:
    """Replay the log and the ledger and compare with the stored balances (exit 1 on a
    difference)."""
    store = open_store(db_url)
    try:
        units_ok = balances(service.replayed(store)) == balances(service.stored(store))
        stored_money = {k: v for k, v in ledger.balances(store).items() if v}
        money_ok = ledger.rebuilt_balances(ledger.ledger_rows(store)) == stored_money
        click.echo(f"units: {'replay = stored' if units_ok else 'DIFFERENT'}")
        click.echo(f"money: {'replay = stored' if money_ok else 'DIFFERENT'}")
        if not (units_ok and money_ok):
            raise SystemExit(1)
    finally:
        store.close()
