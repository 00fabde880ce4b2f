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
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from bishui.errors import InputError, NotFoundError
from bishui.exchange import log as xlog
from bishui.exchange import service
from bishui.exchange.instruments import (
    INSTRUMENTS,
    RIGHT_POLLUTANTS,
    Instrument,
    from_units,
    to_units,
)
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
    return {"ok": fault is None and same, "rows": len(rows), "checks": [chain, rebuild]}


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
    t = service.submit(store, req, actor=p.username or "", reason=body.reason)
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
