"""The exchange's pages: ``/exchange`` (one page, its sections by role) and
``/exchange/report`` (the monthly market report, printable).

``/exchange`` shows an enterprise its holdings (持有), the transfer (转让) and compliance (履约:
surrender, voluntary retirement) forms for the accounts it represents and its own log rows;
the exchange operator (交易机构) every account (账户) and the log (交易日志); the regulator —
the bureau's staff, and a county official for its region's enterprises — the overview (总览)
and, for staff, the hash-chain check (哈希链校验). The tables are filled from
``/api/v1/exchange`` (``static/js/exchange.js``; sorting, search and paging by
``static/js/table.js``), so the page shows exactly what the API lets the caller see.

The trading sessions and agreement transfers, transfer requests (four-eyes) and the trusted
list, determinations and fees, the reserve, the compliance board with its penalties, and the
carbon mirror (positions, sink projects, energy savings) are tables and forms of
``exchange.html`` over the same API (docs/exchange.md "Pages and API").
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from bishui.exchange.instruments import RIGHT_POLLUTANTS, Instrument
from bishui.timeutil import now_beijing
from bishui.web.api.exchange import (
    APPROVERS,
    CHECKERS,
    READERS,
    REGULATORS,
    instrument_name,
    pollutant_name,
    report_header,
    report_rows,
)
from bishui.web.auth import Principal, requires
from bishui.web.i18n import language, translator
from bishui.web.pages import NAV, NavItem, render

router = APIRouter(include_in_schema=False)

NAV.append(NavItem("/exchange", "nav.exchange", READERS))
NAV.sort(key=lambda n: n.path == "/docs")  # keep the API docs link last


def _lang(request: Request) -> str:
    return language(request, request.app.state.web.settings.language)


@router.get("/exchange", response_class=HTMLResponse)
def exchange_page(
    request: Request, p: Annotated[Principal, requires(*READERS, scope="scoped")]
) -> HTMLResponse:
    """The exchange for an enterprise, the operator and the regulator (sections by role)."""
    lang = _lang(request)
    year = now_beijing().year
    config = {
        "role": p.role,
        "enterprise": p.role == "enterprise",
        "operator": p.role == "operator",
        "regulator": p.role in (*REGULATORS, "county"),
        "checker": p.role in CHECKERS,
        "actor": p.role in ("enterprise", "operator"),
        "approver": p.role in APPROVERS,
        "staff": p.role in REGULATORS,
        "year": year,
    }
    instruments = [(i.value, instrument_name(i, lang)) for i in Instrument]
    pollutants = [(c, pollutant_name(c, lang)) for c in RIGHT_POLLUTANTS]
    return render(
        request,
        "exchange.html",
        {
            "T": translator(lang),
            "config": config,
            "instruments": instruments,
            "pollutants": pollutants,
        },
        principal=p,
    )


@router.get("/exchange/report", response_class=HTMLResponse)
def exchange_report_page(
    request: Request,
    p: Annotated[Principal, requires(*READERS)],
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> HTMLResponse:
    """The monthly market report as a printable page (title, place, period, units, source
    and the synthetic-data notice, then the table)."""
    lang = _lang(request)
    y = year or now_beijing().year
    store = request.app.state.web.store
    rows = report_rows(store, y, lang)
    head = [r[0] for r in report_header(store, y, lang)]
    return render(
        request,
        "exchange_report.html",
        {"T": translator(lang), "year": y, "rows": rows, "head": head},
        principal=p,
    )
