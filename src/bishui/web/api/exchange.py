"""The environmental-resource exchange's API (``/api/v1/exchange``): the registry's accounts,
holdings and log, its hash-chain and rebuild check, the representatives' transfers, surrenders
and retirements, and the monthly market report.

Who is who (docs/exchange.md "Pages and API"):

* **an enterprise** (``enterprise``) sees the accounts its credit code holds and their log
  rows, and acts for them: the registry stores the enterprise *user's* username as an
  account's representative, and the registry itself refuses an actor who is not one
  (``not_representative``, 403). The web layer adds what the registry cannot know: an
  enterprise user acts only for accounts its own enterprise holds (others are 404, as a
  neighbour's site is).
* **the exchange operator** (``operator``, 交易机构) sees every account and the whole log,
  runs the hash-chain check, and acts for the accounts it represents (e.g. the government
  reserve).
* **the regulator** — the bureau's staff (``admin``, ``analyst``, ``inspector``, ``chief``)
  see everything (read) and run the check; a **county** official sees the accounts held by
  enterprises with sites in its region (and regions under it) and their log rows.

Quantities travel as exact decimal strings in the trading unit (t, tCO2e, tce;
``instruments.from_units``) beside the integer count of registry units; money as integer fen
and exact decimal 元 strings. A refused registry operation answers the one error shape with
``refusals``: each failed check's code and its English and Chinese message (409 ``refused``;
403 ``forbidden`` when the actor may not act for the account). Every write is one row of the
registry's hash-chained log with its actor and reason — the registry's audit trail.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from bishui.errors import InputError, NotFoundError
from bishui.exchange import log as xlog
from bishui.exchange import records, service
from bishui.exchange.instruments import (
    INSTRUMENTS,
    RIGHT_POLLUTANTS,
    Instrument,
    from_units,
    to_units,
)
from bishui.exchange.market import compliance as _compliance
from bishui.exchange.market.report import MonthRow, Trade, monthly_report
from bishui.exchange.model import Retire, Select, Surrender, Transaction, Transfer
from bishui.export_header import header_rows
from bishui.store import Store
from bishui.web import display
from bishui.web.api.common import ERRORS, ListPage, WebStore, iso
from bishui.web.auth import STAFF, Principal, requires
from bishui.web.export import table_response
from bishui.web.i18n import translator

router = APIRouter(prefix="/exchange", tags=["exchange"], responses=ERRORS)

#: the regulator: the ecology and environment bureau's staff (read everything)
REGULATORS = STAFF
#: who reads the registry (each narrowed by :func:`account_scope`)
READERS = (*STAFF, "county", "enterprise", "operator")
#: who may ask the registry to move units (the registry checks they represent the account)
ACTORS = ("enterprise", "operator")
#: who runs the hash-chain and rebuild check of the whole log
CHECKERS = (*STAFF, "operator")

ACCOUNT_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
QUANTITY = r"^\d{1,12}(\.\d{1,6})?$"

#: Where the market report's settled trades come from. Settlement (bidding awards and
#: agreement transfers with their price) is the exchange's service to come; each source
#: appended here returns the settled trades of one year. Until one is, the report is empty.
TRADE_SOURCES: list[Callable[[Store, int], Iterable[Trade]]] = []


# -- names ---------------------------------------------------------------------------------
def _lang(request: Request) -> str:
    return display.request_lang(request)


def instrument_name(inst: Instrument | str, lang: str) -> str:
    info = INSTRUMENTS[Instrument(inst)]
    return info.name_zh if lang == "zh" else info.name_en


def pollutant_name(code: str, lang: str) -> str:
    """An emission-rights pollutant by its name (``RIGHT_POLLUTANTS``); '' for none."""
    if not code:
        return ""
    if lang == "zh" and code in RIGHT_POLLUTANTS:
        return RIGHT_POLLUTANTS[code].name_zh
    return display.name("pollutant", code, lang) or code


#: The trading units by name, per language (the registry keeps the symbols).
UNIT_NAMES = {
    "t": ("吨", "t"),
    "tCO2e": ("吨二氧化碳当量", "tCO2e"),
    "tce": ("吨标准煤", "tce"),
}


def unit_name(inst: Instrument | str, lang: str) -> str:
    sym = INSTRUMENTS[Instrument(inst)].trading_unit
    pair = UNIT_NAMES.get(sym, (sym, sym))
    return pair[0] if lang == "zh" else pair[1]


def _region_name(regions: dict[str, tuple[str, str]], code: str, lang: str) -> str:
    pair = regions.get(code)
    return (pair[0] if lang == "zh" else pair[1]) if pair else code


def _word(table: str, code: str | None, lang: str) -> str | None:
    return display.name(table, code, lang)


def quantity_text(inst: Instrument | str, units: int) -> str:
    """*units* registry units as the exact quantity in the trading unit (no exponent)."""
    return format(from_units(Instrument(inst), int(units)), "f")


def _yuan(fen: int) -> str:
    return format(Decimal(int(fen)) / 100, "f")


# -- scope ---------------------------------------------------------------------------------
def account_scope(p: Principal, alias: str = "a") -> tuple[str, list[Any]]:
    """A SQL condition (``?`` parameters) on ``exchange_account`` rows the caller may see."""
    a = f"{alias}."
    if p.sees_everything or p.role == "operator":
        return "TRUE", []
    if p.role == "enterprise":
        return f"{a}holder = ?", [p.enterprise or ""]
    if p.role == "county":
        marks = ", ".join("?" for _ in p.regions) or "NULL"
        sql = f"{a}holder IN (SELECT enterprise FROM sites WHERE region IN ({marks}))"  # noqa: S608
        return sql, list(p.regions)
    return "FALSE", []


def _visible_account(store: Store, p: Principal, account: str) -> dict[str, Any]:
    where, args = account_scope(p)
    rows = store.query(
        "SELECT a.id, a.kind, a.holder, a.state FROM exchange_account a "  # noqa: S608
        f"WHERE a.id = ? AND {where}",
        [account, *args],
    )
    if not rows:
        raise NotFoundError(f"no exchange account {account!r}")
    return rows[0]


# -- reads ---------------------------------------------------------------------------------
def _holding_rows(
    store: Store, accounts: list[str], lang: str, status: str | None = "held"
) -> list[dict[str, Any]]:
    if not accounts:
        return []
    marks = ", ".join("?" for _ in accounts)
    cond = " AND status = ?" if status else ""
    rows = store.query(
        "SELECT account, instrument, pollutant, vintage, region, status, valid_until, "  # noqa: S608
        "SUM(end_serial - start_serial + 1) AS units, COUNT(*) AS blocks, "
        "MIN(start_serial) AS first_serial, MAX(end_serial) AS last_serial "
        f"FROM exchange_block WHERE account IN ({marks}){cond} "
        "GROUP BY account, instrument, pollutant, vintage, region, status, valid_until "
        "ORDER BY account, instrument, pollutant, vintage, region, status, valid_until",
        [*accounts, *([status] if status else [])],
    )
    regions = display.region_names(store)
    out = []
    for r in rows:
        inst = Instrument(r["instrument"])
        units = int(r["units"])
        vu = r["valid_until"]
        out.append(
            {
                "account": r["account"],
                "instrument": inst.value,
                "instrument_name": instrument_name(inst, lang),
                "pollutant": r["pollutant"],
                "pollutant_name": pollutant_name(r["pollutant"], lang),
                "vintage": int(r["vintage"]),
                "region": r["region"],
                "region_name": _region_name(regions, r["region"], lang),
                "status": r["status"],
                "status_name": _word("exchange_status", r["status"], lang),
                "valid_until": vu.isoformat() if isinstance(vu, dt.date) else vu,
                "units": units,
                "registry_unit": INSTRUMENTS[inst].registry_unit,
                "quantity": quantity_text(inst, units),
                "unit": INSTRUMENTS[inst].trading_unit,
                "unit_name": unit_name(inst, lang),
                "blocks": int(r["blocks"]),
                "first_serial": int(r["first_serial"]),
                "last_serial": int(r["last_serial"]),
            }
        )
    return out


def _account_rows(store: Store, p: Principal, lang: str) -> list[dict[str, Any]]:
    where, args = account_scope(p)
    rows = store.query(
        "SELECT a.id, a.kind, a.holder, a.state, e.name AS holder_name, e.kind AS holder_kind "  # noqa: S608
        "FROM exchange_account a LEFT JOIN exchange_entity e ON e.id = a.holder "
        f"WHERE {where} ORDER BY a.id",
        args,
    )
    ids = [r["id"] for r in rows]
    reps: dict[str, list[str]] = {}
    if ids:
        marks = ", ".join("?" for _ in ids)
        for r in store.query(
            "SELECT account, username FROM exchange_representative "  # noqa: S608
            f"WHERE account IN ({marks}) ORDER BY account, username",
            ids,
        ):
            reps.setdefault(r["account"], []).append(r["username"])
    held: dict[str, list[dict[str, Any]]] = {}
    for h in _holding_rows(store, ids, lang):
        held.setdefault(h["account"], []).append(h)
    out = []
    for r in rows:
        mine = p.username in reps.get(r["id"], [])
        out.append(
            {
                "id": r["id"],
                "kind": r["kind"],
                "kind_name": _word("exchange_account_kind", r["kind"], lang),
                "holder": r["holder"],
                "holder_name": r["holder_name"] or r["holder"],
                "state": r["state"],
                "state_name": _word("exchange_account_state", r["state"], lang),
                "representatives": reps.get(r["id"], []),
                "represented_by_me": mine,
                "holdings": held.get(r["id"], []),
            }
        )
    return out


class Holding(BaseModel):
    account: str
    instrument: str
    instrument_name: str
    pollutant: str = Field(description="HJ 212 code of an emission right's pollutant; '' else")
    pollutant_name: str
    vintage: int
    region: str
    region_name: str
    status: str
    status_name: str | None
    valid_until: str | None
    units: int = Field(description="registry units (serials)")
    registry_unit: str
    quantity: str = Field(description="exact decimal, in the trading unit")
    unit: str = Field(description="the trading unit")
    unit_name: str
    blocks: int
    first_serial: int
    last_serial: int


class AccountOut(BaseModel):
    id: str
    kind: str
    kind_name: str | None
    holder: str
    holder_name: str
    state: str
    state_name: str | None
    representatives: list[str]
    represented_by_me: bool
    holdings: list[Holding]


class AccountList(BaseModel):
    ok: bool = True
    items: list[AccountOut]


@router.get("/accounts", response_model=AccountList, summary="Registry accounts and holdings")
def accounts(
    request: Request, store: WebStore, p: Annotated[Principal, requires(*READERS, scope="scoped")]
) -> dict[str, Any]:
    """The accounts the caller may see (an enterprise its own; a county its region's
    enterprises'; staff and the operator every one), each with its units in circulation by
    instrument, pollutant, vintage, region and validity."""
    return {"ok": True, "items": _account_rows(store, p, _lang(request))}


class HoldingList(BaseModel):
    ok: bool = True
    account: str
    items: list[Holding]


@router.get(
    "/accounts/{account_id}/holdings",
    response_model=HoldingList,
    summary="One account's units, by status",
)
def account_holdings(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    account_id: Annotated[str, Path(pattern=ACCOUNT_ID)],
    status: Annotated[
        str | None, Query(pattern="^(held|surrendered|retired|cancelled|expired)$")
    ] = None,
) -> dict[str, Any]:
    """Every unit the account has or had (all statuses unless one is asked), summed by
    series, status and validity; 404 for an account out of the caller's scope."""
    acc = _visible_account(store, p, account_id)
    rows = _holding_rows(store, [acc["id"]], _lang(request), status)
    return {"ok": True, "account": acc["id"], "items": rows}


def _log_item(row: xlog.Row, lang: str) -> dict[str, Any]:
    t = xlog.from_row(row)
    insts = {m.series.instrument for m in t.moves}
    inst = next(iter(insts)) if len(insts) == 1 else None
    products = sorted({(m.series.instrument.value, m.series.pollutant) for m in t.moves})
    return {
        "seq": row.seq,
        "tx_id": row.tx_id,
        "kind": row.kind,
        "kind_name": _word("exchange_kind", row.kind, lang),
        "time": iso(row.ts),
        "actor": row.actor,
        "reason": row.reason,
        "source": row.source,
        "target": row.target,
        "units": t.quantity,
        "quantity": quantity_text(inst, t.quantity) if inst is not None else None,
        "unit": INSTRUMENTS[inst].trading_unit if inst is not None else None,
        "unit_name": unit_name(inst, lang) if inst is not None else None,
        "product_name": "、".join(
            instrument_name(i, lang) + (f"（{pollutant_name(pol, lang)}）" if pol else "")
            for i, pol in products
        ),
        "moves": [
            {
                "instrument": m.series.instrument.value,
                "pollutant": m.series.pollutant,
                "vintage": m.series.vintage,
                "region": m.series.region,
                "start": m.start,
                "end": m.end,
            }
            for m in t.moves
        ],
        "hash": row.hash,
    }


class LogItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    seq: int
    tx_id: str
    kind: str
    kind_name: str | None
    time: str | None
    actor: str
    reason: str
    source: str | None
    target: str | None
    units: int
    quantity: str | None
    unit: str | None
    unit_name: str | None
    product_name: str
    hash: str


class LogPage(BaseModel):
    ok: bool = True
    total: int
    limit: int
    offset: int
    items: list[LogItem]


@router.get("/log", response_model=LogPage, summary="The registry's transaction log, newest first")
def transaction_log(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    paging: ListPage,
) -> dict[str, Any]:
    """The hash-chained log, newest first and paged: the whole log for staff and the
    operator; for an enterprise or a county the rows whose source or target account is one
    it may see."""
    where, args = account_scope(p)
    if where == "TRUE":
        cond, cargs = "TRUE", []
    else:
        mine = f"SELECT a.id FROM exchange_account a WHERE {where}"  # noqa: S608
        cond, cargs = f"(source IN ({mine}) OR target IN ({mine}))", [*args, *args]
    total = store.query(f"SELECT COUNT(*) AS n FROM exchange_log WHERE {cond}", cargs)  # noqa: S608
    rows = store.query(
        f"SELECT {', '.join(xlog.COLUMNS)} FROM exchange_log WHERE {cond} "  # noqa: S608
        "ORDER BY seq DESC LIMIT ? OFFSET ?",
        [*cargs, paging.limit, paging.offset],
    )
    lang = _lang(request)
    items = [_log_item(xlog.Row(**{**r, "seq": int(r["seq"])}), lang) for r in rows]
    return paging.page(int(total[0]["n"]), items)


class Check(BaseModel):
    check: str
    name: str | None
    ok: bool
    detail: str


class Verification(BaseModel):
    ok: bool
    rows: int
    checks: list[Check]


def _state_signature(state: Any) -> tuple[Any, ...]:
    return (
        sorted(state.operators),
        sorted(state.entities.items()),
        sorted(state.accounts.items()),
        state.all_blocks(),
    )


@router.get("/verify", response_model=Verification, summary="Hash chain and rebuild check")
def verify(
    request: Request, store: WebStore, p: Annotated[Principal, requires(*CHECKERS)]
) -> dict[str, Any]:
    """Walk the hash chain of the whole log (the first broken row, if any) and rebuild the
    registry from the log alone, re-running every check, and compare it with the stored
    balances (``service.verify``, ``service.replayed``, ``service.stored``)."""
    lang = _lang(request)
    rows = service.log_rows(store)
    fault = xlog.verify_chain(rows)
    chain = {
        "check": "hash_chain",
        "name": _word("exchange_check", "hash_chain", lang),
        "ok": fault is None,
        "detail": "" if fault is None else f"seq {fault.seq}: {fault.reason}",
    }
    try:
        same = _state_signature(service.replayed(store)) == _state_signature(service.stored(store))
        detail = "" if same else "the stored balances differ from the log replayed"
    except Exception as exc:
        same, detail = False, f"the log does not replay: {exc}"
    rebuild = {
        "check": "rebuild",
        "name": _word("exchange_check", "rebuild", lang),
        "ok": same,
        "detail": detail,
    }
    rfault = records.verify(store)
    market = {
        "check": "records_chain",
        "name": _word("exchange_check", "records_chain", lang),
        "ok": rfault is None,
        "detail": "" if rfault is None else f"seq {rfault.seq}: {rfault.reason}",
    }
    ok = fault is None and same and rfault is None
    return {"ok": ok, "rows": len(rows), "checks": [chain, rebuild, market]}


# -- writes --------------------------------------------------------------------------------
class Units(BaseModel):
    """Which units: *quantity* of an instrument (and, when given, pollutant, vintage,
    region), taken first-in first-out (oldest vintage, lowest serial)."""

    model_config = ConfigDict(extra="forbid")

    instrument: Instrument
    quantity: str = Field(pattern=QUANTITY, description="in the trading unit, exact")
    pollutant: str | None = Field(default=None, pattern=r"^[a-z]\d{5}$")
    vintage: int | None = Field(default=None, ge=1990, le=2200)
    region: str | None = Field(default=None, min_length=1, max_length=64)
    reason: str = Field(default="", max_length=500)


class TransferBody(Units):
    target: str = Field(pattern=ACCOUNT_ID)


class RetireBody(Units):
    target: str = Field(pattern=ACCOUNT_ID, description="a retirement account")


class SurrenderBody(Units):
    compliance_year: int = Field(ge=2000, le=2100)


class Recorded(BaseModel):
    ok: bool = True
    tx_id: str
    kind: str
    kind_name: str | None
    units: int
    quantity: str
    unit: str
    unit_name: str
    source: str | None
    target: str | None


def _select(body: Units) -> Select:
    units = to_units(body.instrument, body.quantity)
    if units < 1:
        raise InputError("quantity", "more than 0", body.quantity)
    return Select(
        instrument=body.instrument,
        quantity=units,
        pollutant=body.pollutant,
        vintage=body.vintage,
        region=body.region,
    )


def _may_act(store: Store, p: Principal, account: str) -> None:
    """An enterprise user acts only for accounts its enterprise holds (404 otherwise, as for
    an account it cannot see); the registry then checks it is a representative."""
    if p.role == "enterprise":
        _visible_account(store, p, account)


def _recorded(t: Transaction, body: Units, lang: str) -> dict[str, Any]:
    return {
        "ok": True,
        "tx_id": t.id,
        "kind": t.kind,
        "kind_name": _word("exchange_kind", t.kind, lang),
        "units": t.quantity,
        "quantity": quantity_text(body.instrument, t.quantity),
        "unit": INSTRUMENTS[body.instrument].trading_unit,
        "unit_name": unit_name(body.instrument, lang),
        "source": t.source,
        "target": t.target,
    }


def _restrictions(store: Store, source: str, target: str) -> list[service.ExtraCheck]:
    """The Hubei restrictions (``trading.restriction_check``) on a plain transfer between two
    holders' holding accounts, as settlement applies them. Not applied: between two accounts
    of the same holder (no change of holder, not a trade) and with a government reserve
    account (as ``trading.settle``); nor when a holder has no trading profile recorded
    (``rights.set_party``) — the restrictions' facts are unknown (docs/exchange.md)."""
    from bishui.exchange import rights, trading

    rows = store.query(
        "SELECT id, holder, kind FROM exchange_account WHERE id IN (?, ?)", [source, target]
    )
    by_id = {r["id"]: r for r in rows}
    if len(by_id) < 2 or by_id[source]["holder"] == by_id[target]["holder"]:
        return []
    if "reserve" in (by_id[source]["kind"], by_id[target]["kind"]):
        return []
    try:
        seller = rights.get_party(store, by_id[source]["holder"])
        buyer = rights.get_party(store, by_id[target]["holder"])
    except NotFoundError:
        return []
    return [trading.restriction_check(seller, buyer)]


@router.post(
    "/accounts/{account_id}/transfer",
    response_model=Recorded,
    summary="Transfer units to another account (a representative of this one)",
)
def transfer(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ACTORS, scope="scoped")],
    account_id: Annotated[str, Path(pattern=ACCOUNT_ID)],
    body: Annotated[TransferBody, Body()],
) -> dict[str, Any]:
    _may_act(store, p, account_id)
    req = Transfer(account_id, body.target, _select(body))
    t = service.submit(
        store,
        req,
        actor=p.username or "",
        reason=body.reason,
        extra_checks=_restrictions(store, account_id, body.target),
    )
    return _recorded(t, body, _lang(request))


@router.post(
    "/accounts/{account_id}/surrender",
    response_model=Recorded,
    summary="Surrender units for a compliance year (履约清缴)",
)
def surrender(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ACTORS, scope="scoped")],
    account_id: Annotated[str, Path(pattern=ACCOUNT_ID)],
    body: Annotated[SurrenderBody, Body()],
) -> dict[str, Any]:
    _may_act(store, p, account_id)
    req = Surrender(account_id, body.compliance_year, _select(body))
    t = service.submit(store, req, actor=p.username or "", reason=body.reason)
    return _recorded(t, body, _lang(request))


@router.post(
    "/accounts/{account_id}/retire",
    response_model=Recorded,
    summary="Retire units into a retirement account (自愿注销)",
)
def retire(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ACTORS, scope="scoped")],
    account_id: Annotated[str, Path(pattern=ACCOUNT_ID)],
    body: Annotated[RetireBody, Body()],
) -> dict[str, Any]:
    _may_act(store, p, account_id)
    req = Retire(account_id, body.target, _select(body))
    t = service.submit(store, req, actor=p.username or "", reason=body.reason)
    return _recorded(t, body, _lang(request))


# -- the monthly market report ------------------------------------------------------------
def report_rows(store: Store, year: int, lang: str) -> list[dict[str, Any]]:
    """``market.report.monthly_report`` over the settled trades of *year*, with names and
    exact text for every figure."""
    trades = [t for src in TRADE_SOURCES for t in src(store, year)]
    out = []
    for r in monthly_report(trades):
        if not r.month.startswith(f"{year:04d}-"):
            continue
        out.append(_report_row(r, lang))
    return out


def _report_row(r: MonthRow, lang: str) -> dict[str, Any]:
    info = INSTRUMENTS[r.instrument]
    return {
        "month": r.month,
        "instrument": r.instrument.value,
        "instrument_name": instrument_name(r.instrument, lang),
        "pollutant": r.pollutant,
        "pollutant_name": pollutant_name(r.pollutant, lang),
        "trades": r.trades,
        "volume_units": r.volume,
        "volume": quantity_text(r.instrument, r.volume),
        "unit": info.trading_unit,
        "unit_name": unit_name(r.instrument, lang),
        "value_fen": r.value_fen,
        "value": _yuan(r.value_fen),
        "vwap_fen": r.vwap_fen,
        "vwap": _yuan(r.vwap_fen),
    }


class ReportRow(BaseModel):
    month: str
    instrument: str
    instrument_name: str
    pollutant: str
    pollutant_name: str
    trades: int
    volume_units: int = Field(description="registry units")
    volume: str = Field(description="exact, in the trading unit")
    unit: str
    unit_name: str
    value_fen: int
    value: str = Field(description="元, exact")
    vwap_fen: int = Field(description="fen per trading unit")
    vwap: str = Field(description="元 per trading unit, exact")


class Report(BaseModel):
    ok: bool = True
    year: int
    items: list[ReportRow]


YearQ = Annotated[int, Query(ge=2000, le=2100)]


@router.get("/report", response_model=Report, summary="Monthly market report")
def report(
    request: Request, store: WebStore, p: Annotated[Principal, requires(*READERS)], year: YearQ
) -> dict[str, Any]:
    """Per month and product: trades, volume, value and volume-weighted average price of
    the settled trades (``market.report``; docs/exchange.md "Monthly market report")."""
    return {"ok": True, "year": year, "items": report_rows(store, year, _lang(request))}


def report_table(store: Store, year: int, lang: str) -> tuple[list[str], list[list[Any]]]:
    """The report as a table: column headers and rows, in *lang*."""
    t = translator(lang)
    header = [t(f"ex.rep.{k}") for k in REPORT_COLUMNS]
    rows = [
        [
            r["month"],
            r["instrument_name"] + (f"（{r['pollutant_name']}）" if r["pollutant_name"] else ""),
            r["trades"],
            r["volume"],
            r["unit_name"],
            r["value"],
            r["vwap"],
        ]
        for r in report_rows(store, year, lang)
    ]
    return header, rows


REPORT_COLUMNS = ("month", "product", "trades", "volume", "unit", "value", "vwap")


@router.get("/report.{fmt}", summary="Monthly market report as Excel or CSV")
def report_file(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS)],
    fmt: Annotated[str, Path(pattern="^(csv|xlsx)$")],
    year: YearQ,
) -> Response:
    """The report with the title rows of every export: title, place and period, units,
    source and the synthetic-data notice (``bishui.export_header``)."""
    lang = _lang(request)
    header, rows = report_table(store, year, lang)
    preamble = report_header(store, year, lang)
    return table_response(header, rows, f"exchange-report-{year}", fmt, preamble)


def report_header(store: Store, year: int, lang: str) -> list[list[str]]:
    """The rows above the report (title, place and period, units, source, notice)."""
    t = translator(lang)
    return header_rows(
        t("ex.report.title"),
        place=display.home_place(store, None, lang),
        period=str(year),
        units=t("ex.report.units"),
        source=t("app.name"),
        synthetic=True,
        lang=lang,
    )


# -- the exchange's services: sessions, transfers, fees, determinations, the board ---------
#: The regulator's decisions (approve / refuse an agreement transfer; the compliance board):
#: the bureau's staff. ``trading.act_on_transfer(role="regulator")`` trusts its caller, so
#: this role list is the guard.
APPROVERS = STAFF
#: the exchange operator (交易机构): lots, sessions, settlement
OPERATORS = ("operator",)
YUAN = r"^\d{1,12}(\.\d{1,2})?$"
OBJECT_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


def _fen(field: str, text: str) -> int:
    """A decimal 元 string as integer fen, exactly (the pattern allows two decimals)."""
    value = Decimal(text) * 100
    if value != value.to_integral_value():
        raise InputError(field, "whole fen", text)
    return int(value)


def _units_of(inst: Instrument, text: str, field: str = "quantity", least: int = 1) -> int:
    try:
        units = to_units(inst, text)
    except InputError as e:  # name the caller's field, not the converter's
        raise InputError(field, e.rule, e.value) from None
    if units < least:
        raise InputError(field, "more than 0" if least == 1 else f"at least {least}", text)
    return units


def _visible_ids(store: Store, p: Principal) -> set[str] | None:
    """The account ids the caller may see; None for every one."""
    where, args = account_scope(p)
    if where == "TRUE":
        return None
    rows = store.query(f"SELECT a.id FROM exchange_account a WHERE {where}", args)  # noqa: S608
    return {r["id"] for r in rows}


def _visible_entities(store: Store, p: Principal) -> set[str] | None:
    where, args = account_scope(p)
    if where == "TRUE":
        return None
    rows = store.query(f"SELECT a.holder FROM exchange_account a WHERE {where}", args)  # noqa: S608
    out = {r["holder"] for r in rows}
    if p.role == "enterprise" and p.enterprise:
        out.add(p.enterprise)
    return out


def _ts(v: Any) -> str | None:
    return iso(v) if isinstance(v, dt.datetime) else (str(v) if v is not None else None)


def _product(inst: str, pollutant: str, lang: str) -> str:
    return instrument_name(inst, lang) + (
        f"（{pollutant_name(pollutant, lang)}）" if pollutant else ""
    )


def _lot_out(lot: dict[str, Any], lang: str, names: dict[str, str]) -> dict[str, Any]:
    inst = Instrument(lot["instrument"])
    out = {
        "id": lot["id"],
        "seller_account": lot["seller_account"],
        "seller_name": names.get(lot["seller_account"], lot["seller_account"]),
        "instrument": inst.value,
        "pollutant": lot["pollutant"],
        "product_name": _product(inst.value, lot["pollutant"], lang),
        "units": int(lot["units"]),
        "quantity": quantity_text(inst, int(lot["units"])),
        "unit_name": unit_name(inst, lang),
        "reserve_fen": int(lot["reserve_fen"]),
        "reserve": _yuan(int(lot["reserve_fen"])),
        "tick_fen": int(lot.get("tick_fen") or 1),
        "opens": _ts(lot["opens"]),
        "closes": _ts(lot["closes"]),
        "state": lot["state"],
        "state_name": _word("exchange_lot_state", lot["state"], lang),
    }
    if "bids" in lot:
        out["bids"] = [
            {
                "id": b["id"],
                "account": b["account"],
                "bidder_name": names.get(b["account"], b["account"]),
                "price_fen": int(b["price_fen"]),
                "price": _yuan(int(b["price_fen"])),
                "units": int(b["units"]),
                "quantity": quantity_text(inst, int(b["units"])),
                "time": _ts(b["ts"]),
                "awarded_units": b["awarded_units"],
                "awarded": None
                if b["awarded_units"] is None
                else quantity_text(inst, int(b["awarded_units"])),
            }
            for b in lot["bids"]
        ]
    return out


def _account_names(store: Store) -> dict[str, str]:
    rows = store.query(
        "SELECT a.id, e.name FROM exchange_account a LEFT JOIN exchange_entity e ON e.id = a.holder"
    )
    return {r["id"]: r["name"] or r["id"] for r in rows}


class Items(BaseModel):
    model_config = ConfigDict(extra="allow")

    ok: bool = True
    items: list[dict[str, Any]]


@router.get("/lots", response_model=Items, summary="Bidding sessions (电子竞价) and their lots")
def lots(
    request: Request, store: WebStore, p: Annotated[Principal, requires(*READERS, scope="scoped")]
) -> dict[str, Any]:
    """Every announced lot with its terms and state; the bids of a lot are shown to the
    regulator and the operator whole, to an enterprise or a county only for the accounts it
    may see (a bidder does not see its competitors' bids)."""
    from bishui.exchange import trading

    lang, names, mine = _lang(request), _account_names(store), _visible_ids(store, p)
    out = []
    for lot in trading.lots(store):
        full = trading.get_lot(store, lot["id"])
        if mine is not None:
            full["bids"] = [b for b in full["bids"] if b["account"] in mine]
        out.append(_lot_out(full, lang, names))
    return {"ok": True, "items": out}


class LotBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seller_account: str = Field(pattern=ACCOUNT_ID)
    seller_agent: str = Field(
        min_length=1, max_length=64, description="the seller's representative"
    )
    instrument: Instrument
    pollutant: str = Field(default="", pattern=r"^([a-z]\d{5})?$")
    quantity: str = Field(pattern=QUANTITY)
    reserve_price: str = Field(pattern=YUAN, description="元 per trading unit")
    opens: dt.datetime
    closes: dt.datetime
    tick: str = Field(default="0.01", pattern=YUAN)


@router.post("/lots", response_model=Items, summary="Announce a lot (竞价公告) — the operator")
def announce(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*OPERATORS)],
    body: Annotated[LotBody, Body()],
) -> dict[str, Any]:
    from bishui.exchange import trading

    if body.closes <= body.opens:
        raise InputError("closes", "after opens", body.closes.isoformat())
    lot = trading.announce_lot(
        store, seller_account=body.seller_account, seller_agent=body.seller_agent,
        instrument_=body.instrument.value, pollutant=body.pollutant,
        units=_units_of(body.instrument, body.quantity),
        reserve_fen=_fen("reserve_price", body.reserve_price), opens=body.opens,
        closes=body.closes, actor=p.username or "", tick_fen=max(1, _fen("tick", body.tick)),
    )  # fmt: skip
    full = trading.get_lot(store, lot["id"])
    return {"ok": True, "items": [_lot_out(full, _lang(request), _account_names(store))]}


class BidBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: str = Field(pattern=ACCOUNT_ID)
    price: str = Field(pattern=YUAN, description="元 per trading unit")
    quantity: str = Field(pattern=QUANTITY)


@router.post("/lots/{lot_id}/bids", response_model=Items, summary="Bid on an open lot")
def bid(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ACTORS, scope="scoped")],
    lot_id: Annotated[str, Path(pattern=OBJECT_ID)],
    body: Annotated[BidBody, Body()],
) -> dict[str, Any]:
    """A bid by a representative of the bidder's holding account (an enterprise only for its
    own accounts); refused with the bidding rules' codes (below the reserve, off the tick,
    outside the window)."""
    from bishui.exchange import trading

    _may_act(store, p, body.account)
    lot = trading.get_lot(store, lot_id)
    inst = Instrument(lot["instrument"])
    b = trading.place_bid(
        store, lot_id, account=body.account, price_fen=_fen("price", body.price),
        units=_units_of(inst, body.quantity), actor=p.username or "",
    )  # fmt: skip
    return {"ok": True, "items": [b]}


@router.post("/lots/{lot_id}/close", response_model=Items, summary="Close a session: award, settle")
def close(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*OPERATORS)],
    lot_id: Annotated[str, Path(pattern=OBJECT_ID)],
) -> dict[str, Any]:
    """At or after the window's close: award by price then time priority and settle each award
    (units, money and both parties' permits; ``trading.close_lot``)."""
    from bishui.exchange import trading

    trading.close_lot(store, lot_id, actor=p.username or "")
    full = trading.get_lot(store, lot_id)
    return {"ok": True, "items": [_lot_out(full, _lang(request), _account_names(store))]}


def _transfer_out(t: dict[str, Any], lang: str, names: dict[str, str]) -> dict[str, Any]:
    inst = Instrument(t["instrument"])
    units, price = int(t["units"]), int(t["price_fen"])
    return {
        "id": t["id"],
        "seller_account": t["seller_account"],
        "seller_name": names.get(t["seller_account"], t["seller_account"]),
        "buyer_account": t["buyer_account"],
        "buyer_name": names.get(t["buyer_account"], t["buyer_account"]),
        "product_name": _product(inst.value, t.get("pollutant") or "", lang),
        "instrument": inst.value,
        "pollutant": t.get("pollutant") or "",
        "units": units,
        "quantity": quantity_text(inst, units),
        "unit_name": unit_name(inst, lang),
        "price_fen": price,
        "price": _yuan(price),
        "state": t["state"],
        "state_name": _word("exchange_transfer_state", t["state"], lang),
        "history": [
            {**h, "action_name": _word("exchange_transfer_action", h.get("action"), lang)}
            for h in t.get("history", [])
            if isinstance(h, dict)
        ],
    }


@router.get("/transfers", response_model=Items, summary="Agreement transfers (协议转让)")
def transfer_list(
    request: Request, store: WebStore, p: Annotated[Principal, requires(*READERS, scope="scoped")]
) -> dict[str, Any]:
    """Every agreement transfer for the regulator and the operator; for an enterprise or a
    county those with a party it may see."""
    from bishui.exchange import trading

    lang, names, mine = _lang(request), _account_names(store), _visible_ids(store, p)
    out = [
        _transfer_out(t, lang, names)
        for t in trading.transfers(store)
        if mine is None or t["seller_account"] in mine or t["buyer_account"] in mine
    ]
    return {"ok": True, "items": out}


class ProposeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seller_account: str = Field(pattern=ACCOUNT_ID)
    buyer_account: str = Field(pattern=ACCOUNT_ID)
    instrument: Instrument
    pollutant: str = Field(default="", pattern=r"^([a-z]\d{5})?$")
    quantity: str = Field(pattern=QUANTITY)
    price: str = Field(pattern=YUAN, description="元 per trading unit")
    expires_at: dt.datetime


@router.post("/transfers", response_model=Items, summary="Propose an agreement transfer")
def propose(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ACTORS, scope="scoped")],
    body: Annotated[ProposeBody, Body()],
) -> dict[str, Any]:
    """A representative of the seller's or the buyer's account proposes (an enterprise for
    one of its own accounts)."""
    from bishui.exchange import trading

    if p.role == "enterprise":
        mine = _visible_ids(store, p) or set()
        if body.seller_account not in mine and body.buyer_account not in mine:
            raise NotFoundError("no exchange account of yours is a party")
    t = trading.propose_transfer(
        store, seller_account=body.seller_account, buyer_account=body.buyer_account,
        instrument_=body.instrument.value, pollutant=body.pollutant,
        units=_units_of(body.instrument, body.quantity), price_fen=_fen("price", body.price),
        expires_at=body.expires_at, actor=p.username or "",
    )  # fmt: skip
    return {"ok": True, "items": [_transfer_out(t, _lang(request), _account_names(store))]}


class ActBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=500)


PARTY_ACTIONS = "accept|decline|withdraw"
REGULATOR_ACTIONS = "approve|refuse"


def _act(
    request: Request, store: WebStore, p: Principal, tid: str, action: str, role: str, note: str
) -> dict[str, Any]:
    from bishui.exchange import trading

    if role == "party" and p.role == "enterprise":
        t = trading.get_transfer(store, tid)
        mine = _visible_ids(store, p) or set()
        if t["seller_account"] not in mine and t["buyer_account"] not in mine:
            raise NotFoundError(f"no transfer {tid!r}")
    t = trading.act_on_transfer(store, tid, action, actor=p.username or "", role=role, note=note)
    return {"ok": True, "items": [_transfer_out(t, _lang(request), _account_names(store))]}


@router.post(
    "/transfers/{transfer_id}/party/{action}",
    response_model=Items,
    summary="A party accepts, declines or withdraws a transfer",
)
def party_act(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ACTORS, scope="scoped")],
    transfer_id: Annotated[str, Path(pattern=OBJECT_ID)],
    action: Annotated[str, Path(pattern=f"^({PARTY_ACTIONS})$")],
    body: Annotated[ActBody, Body()],
) -> dict[str, Any]:
    return _act(request, store, p, transfer_id, action, "party", body.note)


@router.post(
    "/transfers/{transfer_id}/regulator/{action}",
    response_model=Items,
    summary="The regulator approves or refuses a transfer",
)
def regulator_act(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*APPROVERS)],
    transfer_id: Annotated[str, Path(pattern=OBJECT_ID)],
    action: Annotated[str, Path(pattern=f"^({REGULATOR_ACTIONS})$")],
    body: Annotated[ActBody, Body()],
) -> dict[str, Any]:
    """Only the bureau's staff (``requires``): the service trusts its caller for this role."""
    return _act(request, store, p, transfer_id, action, "regulator", body.note)


@router.post(
    "/transfers/{transfer_id}/settle",
    response_model=Items,
    summary="The exchange settles an approved transfer (units, money, permits)",
)
def settle_transfer(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*OPERATORS)],
    transfer_id: Annotated[str, Path(pattern=OBJECT_ID)],
    body: Annotated[ActBody, Body()],
) -> dict[str, Any]:
    return _act(request, store, p, transfer_id, "settle", "exchange", body.note)


def _fee_out(f: dict[str, Any], lang: str, names: dict[str, str]) -> dict[str, Any]:
    total = sum(int(i["amount_fen"]) for i in f["instalments"])
    return {
        "id": f["id"],
        "holder": f["holder"],
        "holder_name": names.get(f["holder"], f["holder"]),
        "vintage": f.get("vintage"),
        "total_fen": total,
        "total": _yuan(total),
        "instalments": [
            {
                "number": int(i["number"]),
                "due": str(i["due"]),
                "amount_fen": int(i["amount_fen"]),
                "amount": _yuan(int(i["amount_fen"])),
                "paid": i["paid_tx"] is not None,
                "status_name": _word(
                    "exchange_instalment", "paid" if i["paid_tx"] else "due", lang
                ),
            }
            for i in f["instalments"]
        ],
    }


def _entity_names(store: Store) -> dict[str, str]:
    return {r["id"]: r["name"] for r in store.query("SELECT id, name FROM exchange_entity")}


@router.get("/fees", response_model=Items, summary="Paid-use fees (有偿使用费) and instalments")
def fees(
    request: Request, store: WebStore, p: Annotated[Principal, requires(*READERS, scope="scoped")]
) -> dict[str, Any]:
    from bishui.exchange import rights

    lang, names, mine = _lang(request), _entity_names(store), _visible_entities(store, p)
    out = [
        _fee_out(f, lang, names)
        for f in rights.fees_of(store)
        if mine is None or f["holder"] in mine
    ]
    return {"ok": True, "items": out}


@router.post(
    "/fees/{fee_id}/instalments/{number}/pay",
    response_model=Items,
    summary="Pay an instalment (the holder's representative)",
)
def pay(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ACTORS, scope="scoped")],
    fee_id: Annotated[str, Path(pattern=OBJECT_ID)],
    number: Annotated[int, Path(ge=1, le=120)],
) -> dict[str, Any]:
    from bishui.exchange import rights

    f = rights.fee(store, fee_id)
    mine = _visible_entities(store, p)
    if mine is not None and f["holder"] not in mine:
        raise NotFoundError(f"no fee {fee_id!r}")
    rights.pay_instalment(store, fee_id, number, actor=p.username or "")
    return {
        "ok": True,
        "items": [_fee_out(rights.fee(store, fee_id), _lang(request), _entity_names(store))],
    }


@router.get("/determinations", response_model=Items, summary="Emission-rights determinations")
def determinations(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> dict[str, Any]:
    """Per enterprise and pollutant, the determined rights (t, exact) of a vintage."""
    from bishui.exchange import rights

    lang, names, mine = _lang(request), _entity_names(store), _visible_entities(store, p)
    out = []
    for d in rights.determinations(store, vintage=year):
        if mine is not None and d.get("holder") not in mine:
            continue
        kg = int(d["determined"])
        out.append(
            {
                **{
                    k: (str(v) if isinstance(v, dt.date | dt.datetime) else v) for k, v in d.items()
                },
                "holder_name": names.get(d.get("holder", ""), d.get("holder")),
                "pollutant_name": pollutant_name(d.get("pollutant", ""), lang),
                "quantity": quantity_text(Instrument.EMISSION_RIGHT, kg),
            }
        )
    return {"ok": True, "items": out}


@router.get("/board", response_model=Items, summary="The compliance board (履约) of a year")
def board(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*REGULATORS, "county", "enterprise", scope="scoped")],
    year: YearQ,
) -> dict[str, Any]:
    """Per entity, instrument and pollutant: status in words (履约 / 未足额履约 / 排放数据缺失
    / 无义务), what was due, covered and short, the finding or penalty."""
    from bishui.exchange import compliance_board

    lang = _lang(request)
    mine = _visible_entities(store, p)
    rows = compliance_board.board(store, year, None if mine is None else sorted(mine))
    out = []
    for r in rows:
        out.append(
            {
                **{
                    k: (str(v) if isinstance(v, dt.date | dt.datetime) else v) for k, v in r.items()
                },
                "product_name": _product(r["instrument"], r.get("pollutant") or "", lang),
                "status_name": STATUS_WORDS[r["status"]][0 if lang == "zh" else 1],
                "unit_name": unit_name(r["instrument"], lang),
                **{
                    f"{k}_quantity": quantity_text(r["instrument"], int(r[k]))
                    for k in ("due", "covered", "shortfall")
                    if r.get(k) is not None
                },
            }
        )
    penalties = []
    for r in out:
        b: Any = r.get("body")
        pen = b.get("penalty") if isinstance(b, dict) else None
        if not pen:
            continue
        penalties.append(
            {
                "name": r["name"],
                "product_name": r["product_name"],
                "shortfall_quantity": r.get("shortfall_quantity"),
                "unit_name": r["unit_name"],
                "penalty_min": _yuan(int(pen["min_fen"])),
                "penalty_max": _yuan(int(pen["max_fen"])),
                "deduction_quantity": quantity_text(r["instrument"], int(pen["deduction"])),
                "clause": pen.get("clause", ""),
            }
        )
    return {"ok": True, "year": year, "items": out, "penalties": penalties}


def _settled_trades(store: Store, year: int) -> Iterable[Trade]:
    """The trading service's stored trades of *year* (China Standard Time) for the report."""
    from bishui.exchange import trading

    start = dt.datetime(year, 1, 1)
    for t in trading.trades(store, since=start, until=dt.datetime(year + 1, 1, 1)):
        ts = t["ts"]
        ts = ts if isinstance(ts, dt.datetime) else dt.datetime.fromisoformat(str(ts))
        yield Trade(
            Instrument(t["instrument"]), t["pollutant"],
            ts if ts.tzinfo else ts.replace(tzinfo=_CST), int(t["price_fen"]), int(t["units"]),
        )  # fmt: skip


STATUS_WORDS = _compliance.STATUS
_CST = dt.timezone(dt.timedelta(hours=8))
TRADE_SOURCES.append(_settled_trades)


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, dt.date | dt.datetime) else v) for k, v in d.items()}


@router.get(
    "/carbon",
    response_model=Items,
    summary="Carbon positions, carbon-sink projects, energy savings",
)
def carbon_mirror(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*REGULATORS, "operator")],
    year: YearQ,
) -> dict[str, Any]:
    """The regulator's mirror: each covered firm's Hubei-pilot position of *year* (allocation,
    verified emissions, surrendered allowances and offsets, exact tCO2e), the carbon-sink
    projects with their issued credits and the confirmed energy savings (exact tce)."""
    from bishui.exchange import carbon

    names = _entity_names(store)
    co2, tce = Instrument.CARBON_ALLOWANCE, Instrument.ENERGY_SAVING
    positions = []
    for x in carbon.positions(store, year):
        d = _plain(x)
        d["name"] = names.get(x["entity"], x["entity"])
        for k in ("allocation", "verified", "surrendered_allowances", "surrendered_offsets"):
            if x.get(k) is not None:
                d[f"{k}_quantity"] = quantity_text(co2, int(x[k]))
        positions.append(d)
    savings = []
    for x in carbon.energy_savings(store):
        d = _plain(x)
        d["holder_name"] = names.get(x["holder"], x["holder"])
        d["quantity"] = quantity_text(tce, int(x["units"]))
        savings.append(d)
    sinks = [_plain({**x, "issuances": [_plain(i) for i in x["issuances"]]})
             for x in carbon.sink_projects(store)]  # fmt: skip
    return {
        "ok": True,
        "year": year,
        "items": positions,
        "sink_projects": sinks,
        "energy_savings": savings,
    }


class CloseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    average_price: str | None = Field(
        default=None, pattern=YUAN, description="the year's average allowance price [元/t]"
    )


@router.post(
    "/board/{year}/close",
    response_model=Items,
    summary="Close a compliance year (the regulator's decision, recorded by a registry operator)",
)
def close_year(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*REGULATORS)],
    year: Annotated[int, Path(ge=2000, le=2100)],
    body: Annotated[CloseBody | None, Body()] = None,
) -> dict[str, Any]:
    """``compliance_board.close_year``: the bureau's staff only, and the registry refuses a
    user who is not a registry operator (``not_operator``, 403). ``average_price`` [元/t] is
    the price a ``price_multiple`` penalty rule (the Hubei pilot's) multiplies; without it
    such a shortfall has no penalty figure."""
    from bishui.exchange import compliance_board

    avg = body.average_price if body is not None else None
    compliance_board.close_year(
        store, year, actor=p.username or "",
        average_price_fen=None if avg is None else _fen("average_price", avg),
    )  # fmt: skip
    return board(request, store, p, year)


# -- the regulator's issuing decisions (issue 17 §3, §5): determination, fees, reductions, the
# reserve, carbon positions, carbon-sink credits, confirmed energy savings --------------------
#: The regulator's decisions the registry records: the bureau's staff or the exchange operator;
#: the registry refuses a user who is not a registry operator (``not_operator``, 403).
DECIDERS = (*REGULATORS, "operator")
TEXT = r"^[^\x00-\x1f]{1,200}$"
FACTOR = r"^\d{1,3}(\.\d{1,4})?$"
SCHEDULE_ID = r"^[a-z0-9][a-z0-9-]{0,63}$"


def _plausible_day(field: str, day: dt.date) -> None:
    """A decision's date within 2000–2100 (five-year validity and instalments add to it)."""
    if not dt.date(2000, 1, 1) <= day <= dt.date(2100, 12, 31):
        raise InputError(field, "a date in 2000–2100", day.isoformat())


class DetermineBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pollutant: str = Field(pattern=r"^[a-z]\d{5}$", description="HJ 212 code")
    vintage: int = Field(ge=2000, le=2100)
    cap: str = Field(pattern=QUANTITY, description="the area's cap [t/a]")
    history_years: int = Field(ge=1, le=10)
    factor: str = Field(pattern=FACTOR, description="multiplier on the historical mean")
    basis: str = Field(pattern=TEXT, description="the decision the method's values come from")
    on: dt.date
    usccs: list[Annotated[str, Field(pattern=OBJECT_ID)]] | None = Field(
        default=None, max_length=500, description="only these enterprises (统一社会信用代码)"
    )


@router.post(
    "/determinations", response_model=Items, summary="Determine emission rights (排污权核定)"
)
def determine(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*DECIDERS)],
    body: Annotated[DetermineBody, Body()],
) -> dict[str, Any]:
    """``rights.determine_rights``: one pollutant's rights of a vintage for the permits in
    force, issued and confirmed in the permits in one store transaction; answers that
    vintage's determinations."""
    from bishui.exchange import rights
    from bishui.exchange.market.determination import DeterminationMethod

    rights.require_operator(store, p.username or "")
    _plausible_day("on", body.on)
    method = DeterminationMethod(body.history_years, Decimal(body.factor), body.basis)
    rights.determine_rights(
        store, pollutant=body.pollutant, vintage=body.vintage,
        cap_kg=_units_of(Instrument.EMISSION_RIGHT, body.cap, "cap"), method=method,
        on=body.on, actor=p.username or "", usccs=body.usccs,
    )  # fmt: skip
    out = determinations(request, store, p, year=body.vintage)
    out["items"] = [d for d in out["items"] if d["pollutant"] == body.pollutant]
    return out


class AssessBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    holder: str = Field(pattern=OBJECT_ID)
    vintage: int = Field(ge=2000, le=2100)
    schedule_id: str = Field(default="hn-zhuzhou-2017", pattern=SCHEDULE_ID)
    years: int = Field(default=5, ge=1, le=10)
    on: dt.date
    instalments: int = Field(default=1, ge=1, le=20)
    every_months: int = Field(default=12, ge=1, le=60)


@router.post("/fees", response_model=Items, summary="Assess a paid-use fee (有偿使用费核定)")
def assess(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*DECIDERS)],
    body: Annotated[AssessBody, Body()],
) -> dict[str, Any]:
    """``rights.assess_fee``: the 定额出让 fee of a holder's determined rights of a vintage, in
    instalments."""
    from bishui.exchange import rights

    _plausible_day("on", body.on)
    f = rights.assess_fee(
        store, body.holder, vintage=body.vintage, schedule_id=body.schedule_id, years=body.years,
        on=body.on, instalments=body.instalments, every_months=body.every_months,
        actor=p.username or "",
    )  # fmt: skip
    return {"ok": True, "items": [_fee_out(f, _lang(request), _entity_names(store))]}


class ReserveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reserve_account: str = Field(pattern=ACCOUNT_ID)
    account: str = Field(pattern=ACCOUNT_ID, description="the seller (buy-back) or buyer (sale)")
    agent: str = Field(
        min_length=1,
        max_length=64,
        description="the seller's (buy-back) or reserve's (sale) representative",
    )
    instrument: Instrument = Instrument.EMISSION_RIGHT
    pollutant: str = Field(default="", pattern=r"^([a-z]\d{5})?$")
    quantity: str = Field(pattern=QUANTITY)
    price: str = Field(pattern=YUAN, description="元 per trading unit")


def _trade_out(t: dict[str, Any], lang: str, names: dict[str, str]) -> dict[str, Any]:
    inst = Instrument(t["instrument"])
    d = _plain({k: v for k, v in t.items() if k != "permits"})
    d["permits"] = t.get("permits")
    d["product_name"] = _product(inst.value, t.get("pollutant") or "", lang)
    d["quantity"] = quantity_text(inst, int(t["units"]))
    d["unit_name"] = unit_name(inst, lang)
    for k in ("seller", "buyer"):
        acc = t.get(f"{k}_account")
        if acc is not None:
            d[f"{k}_name"] = names.get(acc, acc)
    return d


@router.post(
    "/reserve/{action}",
    response_model=Items,
    summary="The government reserve buys back (回购) or sells (出让) units",
)
def reserve(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*DECIDERS)],
    action: Annotated[str, Path(pattern=r"^(buy-back|sale)$")],
    body: Annotated[ReserveBody, Body()],
) -> dict[str, Any]:
    """``trading.reserve_buy_back`` / ``reserve_sale``: units and money settle at once (money
    from or to ``GOV-RESERVE``); the answer is the settled trade."""
    from bishui.exchange import trading

    select = Select(
        instrument=body.instrument, quantity=_units_of(body.instrument, body.quantity),
        pollutant=body.pollutant or None,
    )  # fmt: skip
    price, actor = _fen("price", body.price), p.username or ""
    if action == "buy-back":
        t = trading.reserve_buy_back(
            store, reserve_account=body.reserve_account, seller_account=body.account,
            seller_agent=body.agent, select=select, price_fen=price, actor=actor,
        )  # fmt: skip
    else:
        t = trading.reserve_sale(
            store, reserve_account=body.reserve_account, reserve_agent=body.agent,
            buyer_account=body.account, select=select, price_fen=price, actor=actor,
        )  # fmt: skip
    return {"ok": True, "items": [_trade_out(t, _lang(request), _account_names(store))]}


def _reduction_out(r: dict[str, Any], lang: str, names: dict[str, str]) -> dict[str, Any]:
    d = _plain(r)
    d["holder_name"] = names.get(r["holder"], r["holder"])
    d["pollutant_name"] = pollutant_name(r["pollutant"], lang)
    for k in ("verified", "held", "registered"):
        d[f"{k}_quantity"] = quantity_text(Instrument.EMISSION_RIGHT, int(r[k]))
    return d


@router.get("/reductions", response_model=Items, summary="Registered reductions (减排登记)")
def reduction_list(
    request: Request, store: WebStore, p: Annotated[Principal, requires(*READERS, scope="scoped")]
) -> dict[str, Any]:
    from bishui.exchange import rights

    lang, names, mine = _lang(request), _entity_names(store), _visible_entities(store, p)
    out = [
        _reduction_out(r, lang, names)
        for r in rights.reductions(store)
        if mine is None or r["holder"] in mine
    ]
    return {"ok": True, "items": out}


class ReductionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    holder: str = Field(pattern=OBJECT_ID)
    pollutant: str = Field(pattern=r"^[a-z]\d{5}$")
    year: int = Field(ge=2000, le=2100)


@router.post("/reductions", response_model=Items, summary="Register a reduction (减排登记)")
def register_reduction(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*DECIDERS)],
    body: Annotated[ReductionBody, Body()],
) -> dict[str, Any]:
    """``rights.register_reduction``: rights held on 31 December less the year's verified
    emissions from the platform's own monitoring, when positive."""
    from bishui.exchange import rights

    r = rights.register_reduction(
        store, body.holder, body.pollutant, body.year, actor=p.username or ""
    )
    return {"ok": True, "items": [_reduction_out(r, _lang(request), _entity_names(store))]}


class PositionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: str = Field(pattern=OBJECT_ID)
    year: int = Field(ge=2000, le=2100)
    allocation: str = Field(pattern=QUANTITY, description="initial allocation [tCO2e]")
    rules_id: str = Field(pattern=SCHEDULE_ID, description="a packaged compliance rule set")
    source: str = Field(pattern=TEXT, description="the pilot's allocation notice")


@router.post(
    "/carbon/positions", response_model=Items, summary="Mirror a carbon position (配额镜像)"
)
def mirror_position(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*DECIDERS)],
    body: Annotated[PositionBody, Body()],
) -> dict[str, Any]:
    """``carbon.mirror_position``: a covered firm's Hubei-pilot allocation of a year issued
    into its holding account (once per firm and year)."""
    from bishui.exchange import carbon

    x = carbon.mirror_position(
        store, body.entity, body.year,
        allocation=_units_of(Instrument.CARBON_ALLOWANCE, body.allocation, "allocation"),
        rules_id=body.rules_id, source=body.source, actor=p.username or "",
    )  # fmt: skip
    d = _plain(x)
    d["name"] = _entity_names(store).get(x["entity"], x["entity"])
    d["allocation_quantity"] = quantity_text(Instrument.CARBON_ALLOWANCE, int(x["allocation"]))
    return {"ok": True, "items": [d]}


class VerifiedBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verified: str = Field(pattern=QUANTITY, description="verified emissions [tCO2e], whole")


@router.post(
    "/carbon/positions/{entity}/{year}/verified",
    response_model=Items,
    summary="Enter a carbon position's verified emissions (核查排放量)",
)
def report_verified(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*DECIDERS)],
    entity: Annotated[str, Path(pattern=OBJECT_ID)],
    year: Annotated[int, Path(ge=2000, le=2100)],
    body: Annotated[VerifiedBody, Body()],
) -> dict[str, Any]:
    """``carbon.report_verified``: the verifier's figure for a mirrored position (registry
    operators only; 404 without a position of that firm and year)."""
    from bishui.exchange import carbon

    co2 = Instrument.CARBON_ALLOWANCE
    units = _units_of(co2, body.verified, "verified", least=0)
    carbon.report_verified(store, entity, year, units, actor=p.username or "")
    x = carbon.position(store, entity, year)
    d = _plain(x)
    d["name"] = _entity_names(store).get(x["entity"], x["entity"])
    for k in ("allocation", "verified"):
        if x.get(k) is not None:
            d[f"{k}_quantity"] = quantity_text(co2, int(x[k]))
    return {"ok": True, "items": [d]}


class SinkBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_id: str = Field(pattern=OBJECT_ID)
    name: str = Field(pattern=TEXT)
    owner: str = Field(pattern=OBJECT_ID)
    area: str = Field(pattern=TEXT)
    methodology: str = Field(pattern=TEXT)


def _sink_out(x: dict[str, Any]) -> dict[str, Any]:
    return _plain({**x, "issuances": [_plain(i) for i in x["issuances"]]})


@router.post(
    "/carbon/sinks", response_model=Items, summary="Register a carbon-sink project (林业碳汇)"
)
def register_sink(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*DECIDERS)],
    body: Annotated[SinkBody, Body()],
) -> dict[str, Any]:
    from bishui.exchange import carbon

    if store.query("SELECT id FROM exchange_sink_project WHERE id = ?", [body.project_id]):
        raise InputError("project_id", "a project not yet registered", body.project_id)
    x = carbon.register_sink_project(
        store, body.project_id, name=body.name, owner=body.owner, area=body.area,
        methodology=body.methodology, actor=p.username or "",
    )  # fmt: skip
    return {"ok": True, "items": [_sink_out(x)]}


class CreditBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vintage: int = Field(ge=2000, le=2100)
    quantity: str = Field(pattern=QUANTITY, description="verified credits [tCO2e]")
    verification: str = Field(pattern=TEXT, description="the verification report's reference")


@router.post(
    "/carbon/sinks/{project_id}/credits",
    response_model=Items,
    summary="Issue a project's verified carbon-sink credits (签发)",
)
def issue_sink_credits(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*DECIDERS)],
    project_id: Annotated[str, Path(pattern=OBJECT_ID)],
    body: Annotated[CreditBody, Body()],
) -> dict[str, Any]:
    from bishui.exchange import carbon

    if store.query(
        "SELECT id FROM exchange_issuance_record WHERE id = ?", [f"CS-{project_id}-{body.vintage}"]
    ):
        raise InputError("vintage", "one issuance per project and vintage", body.vintage)
    x = carbon.issue_sink_credits(
        store, project_id, vintage=body.vintage,
        units=_units_of(Instrument.CARBON_SINK, body.quantity), verification=body.verification,
        actor=p.username or "",
    )  # fmt: skip
    return {"ok": True, "items": [_sink_out(x)]}


class ProductBody(BaseModel):
    """A further product's energy [tce, exact] and output in both periods."""

    model_config = ConfigDict(extra="forbid")

    product: str = Field(pattern=TEXT)
    baseline_energy: str = Field(pattern=QUANTITY, description="E0 [tce]")
    baseline_output: str = Field(pattern=QUANTITY, description="Q0 (> 0) [product unit]")
    reporting_energy: str = Field(pattern=QUANTITY, description="E1 [tce]")
    reporting_output: str = Field(pattern=QUANTITY, description="Q1 [the same unit]")


class SavingBody(BaseModel):
    """One product's energy [tce, exact] and output in the baseline and the reporting period
    (GB/T 28750: the baseline adjusted to the reporting period's output), with the audits;
    ``more_products`` the further products of the same saving (each adjusted on its own
    output, the savings summed — ``market.energy.energy_saving``)."""

    model_config = ConfigDict(extra="forbid")

    holder: str = Field(pattern=OBJECT_ID)
    year: int = Field(ge=2000, le=2100)
    product: str = Field(pattern=TEXT)
    baseline_energy: str = Field(pattern=QUANTITY, description="E0 [tce]")
    baseline_output: str = Field(pattern=QUANTITY, description="Q0 (> 0) [product unit]")
    reporting_energy: str = Field(pattern=QUANTITY, description="E1 [tce]")
    reporting_output: str = Field(pattern=QUANTITY, description="Q1 [the same unit]")
    baseline_audit: str = Field(pattern=TEXT)
    audit_report: str = Field(pattern=TEXT)
    auditor: str = Field(pattern=TEXT)
    more_products: list[ProductBody] = Field(default_factory=list, max_length=19)


@router.post(
    "/energy-savings", response_model=Items, summary="Confirm and issue an energy saving (确权)"
)
def confirm_energy_saving(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*DECIDERS)],
    body: Annotated[SavingBody, Body()],
) -> dict[str, Any]:
    """``carbon.confirm_energy_saving``: measured, confirmed with both audits' references and
    issued in kgce into the holder's account; answers the confirmed saving."""
    from bishui.exchange import carbon
    from bishui.exchange.market.energy import ProductPeriods

    tce = Instrument.ENERGY_SAVING
    products: list[ProductPeriods] = []
    first = ProductBody(
        product=body.product, baseline_energy=body.baseline_energy,
        baseline_output=body.baseline_output, reporting_energy=body.reporting_energy,
        reporting_output=body.reporting_output,
    )  # fmt: skip
    for i, b in enumerate([first, *body.more_products]):
        if b.product in {x.product for x in products}:
            raise InputError(f"more_products[{i - 1}].product", "a product named once", b.product)
        products.append(
            ProductPeriods(
                b.product,
                to_units(tce, b.baseline_energy, "baseline_energy"),
                Decimal(b.baseline_output),
                to_units(tce, b.reporting_energy, "reporting_energy"),
                Decimal(b.reporting_output),
            )
        )
    x = carbon.confirm_energy_saving(
        store, body.holder, products=products, year=body.year,
        baseline_audit=body.baseline_audit, audit_report=body.audit_report,
        auditor=body.auditor, actor=p.username or "",
    )  # fmt: skip
    d = _plain(x)
    d["holder_name"] = _entity_names(store).get(x["holder"], x["holder"])
    d["quantity"] = quantity_text(tce, int(x["units"]))
    return {"ok": True, "items": [d]}


# -- four-eyes approval and the trusted-account list (EU practice, notes §A4) ---------------
REQUEST_ACTIONS = "approve|cancel"
TRUSTED_ACTIONS = "approve|remove"


def _request_out(r: dict[str, Any], lang: str, names: dict[str, str]) -> dict[str, Any]:
    d = _plain(r)
    sel = json.loads(r["body"])
    inst = Instrument(sel["instrument"]) if sel.get("instrument") else None
    d.pop("body", None)
    d.update(
        instrument=inst.value if inst else None,
        instrument_name=instrument_name(inst, lang) if inst else None,
        pollutant=sel.get("pollutant"),
        pollutant_name=pollutant_name(sel.get("pollutant") or "", lang),
        quantity=quantity_text(inst, int(r["units"])) if inst else str(r["units"]),
        source_name=names.get(r["source"], r["source"]),
        target_name=names.get(r["target"], r["target"]),
        state_name=_word("exchange_request_state", r["state"], lang),
    )
    return d


def _own_account(store: Store, p: Principal, account: str) -> None:
    """An enterprise acts only for its own accounts (404 otherwise); the service then checks
    the actor is a representative."""
    if p.role == "enterprise":
        _visible_account(store, p, account)


@router.get(
    "/transfer-requests",
    response_model=Items,
    summary="Transfer requests awaiting a second representative or their delay",
)
def transfer_requests(
    request: Request, store: WebStore, p: Annotated[Principal, requires(*READERS, scope="scoped")]
) -> dict[str, Any]:
    """Every request for the regulator and the operator; for an enterprise or a county those
    from or to an account it may see (``approvals.requests``)."""
    from bishui.exchange import approvals

    mine = _visible_ids(store, p)
    rows = approvals.requests(store, None if mine is None else sorted(mine))
    lang, names = _lang(request), _account_names(store)
    return {"ok": True, "items": [_request_out(r, lang, names) for r in rows]}


@router.post(
    "/accounts/{account_id}/transfer-requests",
    response_model=Items,
    summary="Request a transfer (four-eyes above the threshold; delayed to untrusted accounts)",
)
def request_transfer(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ACTORS, scope="scoped")],
    account_id: Annotated[str, Path(pattern=ACCOUNT_ID)],
    body: Annotated[TransferBody, Body()],
) -> dict[str, Any]:
    """``approvals.request_transfer``: above ``four_eyes_above_units`` it waits for a second
    representative; to a trusted account it executes at once, else after 26 hours."""
    from bishui.exchange import approvals

    _own_account(store, p, account_id)
    r = approvals.request_transfer(
        store, account_id, body.target, _select(body), actor=p.username or "",
        checks_for=_restrictions,
    )  # fmt: skip
    return {"ok": True, "items": [_request_out(r, _lang(request), _account_names(store))]}


@router.post("/transfer-requests/release", response_model=Items, summary="Release due transfers")
def release_requests(
    request: Request, store: WebStore, p: Annotated[Principal, requires(*OPERATORS)]
) -> dict[str, Any]:
    """The operator executes every delayed request whose 26 hours have passed."""
    from bishui.exchange import approvals

    rows = approvals.release_due(store, actor=p.username or "", checks_for=_restrictions)
    lang, names = _lang(request), _account_names(store)
    return {"ok": True, "items": [_request_out(r, lang, names) for r in rows]}


@router.post(
    "/transfer-requests/{request_id}/{action}",
    response_model=Items,
    summary="A second representative approves, or a representative cancels, a request",
)
def act_on_request(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ACTORS, scope="scoped")],
    request_id: Annotated[str, Path(pattern=OBJECT_ID)],
    action: Annotated[str, Path(pattern=f"^({REQUEST_ACTIONS})$")],
) -> dict[str, Any]:
    from bishui.exchange import approvals

    r = approvals.get_request(store, request_id)
    if p.role == "enterprise" and r["source"] not in (_visible_ids(store, p) or set()):
        raise NotFoundError(f"no transfer request {request_id!r}")
    r = approvals.act_on_request(
        store, request_id, action, actor=p.username or "", checks_for=_restrictions
    )
    return {"ok": True, "items": [_request_out(r, _lang(request), _account_names(store))]}


def _trusted_out(r: dict[str, Any], lang: str, names: dict[str, str]) -> dict[str, Any]:
    d = _plain(r)
    d["trusted_name"] = names.get(r["trusted"], r["trusted"])
    d["state_name"] = _word("exchange_trusted_state", r["state"], lang)
    return d


@router.get(
    "/accounts/{account_id}/trusted", response_model=Items, summary="An account's trusted list"
)
def trusted_list(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    account_id: Annotated[str, Path(pattern=ACCOUNT_ID)],
) -> dict[str, Any]:
    from bishui.exchange import approvals

    _visible_account(store, p, account_id)
    lang, names = _lang(request), _account_names(store)
    rows = approvals.trusted_list(store, account_id)
    return {"ok": True, "items": [_trusted_out(r, lang, names) for r in rows]}


class TrustedBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trusted: str = Field(pattern=ACCOUNT_ID)


@router.post(
    "/accounts/{account_id}/trusted",
    response_model=Items,
    summary="Propose an account for the trusted list (a second representative approves)",
)
def propose_trusted(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ACTORS, scope="scoped")],
    account_id: Annotated[str, Path(pattern=ACCOUNT_ID)],
    body: Annotated[TrustedBody, Body()],
) -> dict[str, Any]:
    from bishui.exchange import approvals

    _own_account(store, p, account_id)
    r = approvals.propose_trusted(store, account_id, body.trusted, actor=p.username or "")
    return {"ok": True, "items": [_trusted_out(r, _lang(request), _account_names(store))]}


@router.post(
    "/accounts/{account_id}/trusted/{trusted_id}/{action}",
    response_model=Items,
    summary="Approve (a second representative) or remove a trusted account",
)
def act_on_trusted(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ACTORS, scope="scoped")],
    account_id: Annotated[str, Path(pattern=ACCOUNT_ID)],
    trusted_id: Annotated[str, Path(pattern=ACCOUNT_ID)],
    action: Annotated[str, Path(pattern=f"^({TRUSTED_ACTIONS})$")],
) -> dict[str, Any]:
    from bishui.exchange import approvals

    _own_account(store, p, account_id)
    r = approvals.act_on_trusted(store, account_id, trusted_id, action, actor=p.username or "")
    return {"ok": True, "items": [_trusted_out(r, _lang(request), _account_names(store))]}
