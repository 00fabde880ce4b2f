"""The domain pages: air, water, sources, tasks, compensation, and the big screen (大屏).

Each page is a server-rendered shell (title, period form, one card per table or chart) whose
tables and charts the page's script fills from the JSON API (``static/js/ui.js`` renders a
table from a column list given in the card's ``data-cols``; ``static/js/<page>.js`` draws the
charts). So a page shows exactly what its API routes let the caller see — the scoping lives in
one place, the API.

Every table exports to CSV and Excel (``POST /export.{csv,xlsx}``: the browser sends the table
as shown with its title, place, period and units, and gets a file back through
:func:`bishui.web.export.table_response`, the rows of :func:`bishui.export_header.header_rows`
first); every chart exports to PNG (ECharts' renderer, with the same lines drawn above it by
``static/js/ui.js`` from the page's ``export-header`` JSON). The model city's data carries the
"synthetic data" notice of ``base.html``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from bishui.enforcement.evidence import MEDIA_TYPES
from bishui.errors import InputError
from bishui.export_header import header_rows
from bishui.timeutil import now_beijing
from bishui.web.api.common import FIRST_DAY, LAST_DAY, EvidenceLimit, PageLang, WebCtx
from bishui.web.auth import (
    ALL_ROLES,
    CSRF_HEADER,
    ENFORCEMENT_ROLES,
    STAFF,
    Principal,
    check_csrf,
    requires,
)
from bishui.web.export import table_response
from bishui.web.i18n import PARAMETERS, language, parameter_name, translator
from bishui.web.pages import NAV, NavItem, render

router = APIRouter(include_in_schema=False)

STAFF_AND_COUNTY = (*STAFF, "county")

NAV.extend(
    [
        NavItem("/air", "nav.air", ALL_ROLES),
        NavItem("/water", "nav.water", ALL_ROLES),
        NavItem("/sources", "nav.sources", ENFORCEMENT_ROLES),
        NavItem("/tasks", "nav.tasks", ENFORCEMENT_ROLES),
        NavItem("/alerts", "nav.alerts", ENFORCEMENT_ROLES),
        NavItem("/compensation", "nav.compensation", STAFF_AND_COUNTY),
        NavItem("/bigscreen", "nav.bigscreen", STAFF),
    ]
)
# keep the API docs link last
NAV.sort(key=lambda n: n.path == "/docs")

YEAR = re.compile(r"^\d{4}$")
MONTH = re.compile(r"^\d{4}-\d{2}$")


def _year(text: str | None, default: int) -> int:
    if text is None or text == "":
        return default
    if not YEAR.match(text) or not 2000 <= int(text) <= 2100:
        raise InputError("year", "a year 2000–2100", text)
    return int(text)


def _month(text: str | None, default: str) -> str:
    if text is None or text == "":
        return default
    if not MONTH.match(text) or not 1 <= int(text[5:]) <= 12 or not 2000 <= int(text[:4]) <= 2100:
        raise InputError("month", "YYYY-MM, 2000-01 to 2100-12", text)
    return text


def _page(request: Request, template: str, p: Principal, **context: Any) -> HTMLResponse:
    lang = language(request, request.app.state.web.settings.language)
    t = translator(lang)
    return render(request, template, {"T": t, **context}, principal=p)


@router.get("/air", response_class=HTMLResponse)
def air_page(
    request: Request,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    year: str | None = None,
    date: str | None = None,
) -> HTMLResponse:
    """Real-time and daily AQI, calendar, pollutant series, ranking, annual assessment."""
    today = now_beijing().date()
    y = _year(year, today.year)
    yesterday = today - dt.timedelta(days=1)
    try:
        day = dt.date.fromisoformat(date) if date else yesterday
    except ValueError:
        raise InputError("date", "YYYY-MM-DD", date) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InputError("date", f"a date from {FIRST_DAY} to {LAST_DAY}", date)
    day = min(day, yesterday)
    return _page(request, "air.html", p, year=y, day=day.isoformat(), today=today.isoformat())


@router.get("/water", response_class=HTMLResponse)
def water_page(
    request: Request,
    p: Annotated[Principal, requires(*ALL_ROLES, scope="scoped")],
    month: str | None = None,
) -> HTMLResponse:
    """Section classes and attainment, river grades, CWQI ranking; drinking-water sources for
    staff and counties (the API scopes a county to its region)."""
    month_ = _month(month, now_beijing().strftime("%Y-%m"))
    drinking = p.role in STAFF_AND_COUNTY
    return _page(request, "water.html", p, month=month_, drinking=drinking)


@router.get("/sources", response_class=HTMLResponse)
def sources_page(
    request: Request,
    p: Annotated[Principal, requires(*ENFORCEMENT_ROLES, scope="scoped")],
    lang: PageLang,
    year: str | None = None,
) -> HTMLResponse:
    """Enterprises and outlets with permit limits and latest data, findings, cap usage."""
    y = _year(year, now_beijing().year)
    names = {code: parameter_name(code, lang) for code in PARAMETERS}
    return _page(request, "sources.html", p, year=y, param_names=names)


@router.get("/tasks", response_class=HTMLResponse)
def tasks_page(
    request: Request,
    p: Annotated[Principal, requires(*ENFORCEMENT_ROLES, scope="scoped")],
    limit: EvidenceLimit,
) -> HTMLResponse:
    """The inspector's inbox and the task workflow (actions through the tasks API)."""
    actor = p.role in ("admin", "inspector", "chief", "enterprise")
    return _page(request, "tasks.html", p, actor=actor, evidence_limit=limit,
                 evidence_types=list(MEDIA_TYPES))  # fmt: skip


def alert_rule_names(lang: str) -> dict[str, str]:
    """Rule id → its name in *lang*: the sources' rules by their titles ("超标 concentration
    above …": the Chinese word, then the English), the drinking-water kinds from i18n."""
    from bishui.sources.rules import load_ruleset
    from bishui.web.i18n import ALERT_RULES

    out = {}
    for rid, rule in load_ruleset().rules.items():
        zh, _, en = rule.title.partition(" ")
        out[rid] = zh if lang == "zh" else (en or zh)
    i = 0 if lang == "zh" else 1
    out.update({rid: names[i] for rid, names in ALERT_RULES.items()})
    return out


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request, p: Annotated[Principal, requires(*ENFORCEMENT_ROLES, scope="scoped")]
) -> HTMLResponse:
    """Alerts grouped by site, rule and day (paged by the API), acknowledgement, and for the
    admin the routing rules and the outside channels' messages (docs/alerts.md)."""
    from bishui.web import accounts

    lang = language(request, request.app.state.web.settings.language)
    config = {
        "rules": alert_rule_names(lang),
        "params": {code: parameter_name(code, lang) for code in PARAMETERS},
        "roles": {r: names[0 if lang == "zh" else 1] for r, names in accounts.ROLES.items()},
        "can_ack": p.role in ("admin", "inspector", "county"),
        "admin": p.role == "admin",
    }
    return _page(request, "alerts.html", p, config=config)


@router.get("/compensation", response_class=HTMLResponse)
def compensation_page(
    request: Request, p: Annotated[Principal, requires(*STAFF_AND_COUNTY, scope="scoped")]
) -> HTMLResponse:
    """Statements traced to their data; acknowledge / dispute for county officials."""
    return _page(request, "compensation.html", p, can_confirm=p.role == "county")


@router.get("/bigscreen", response_class=HTMLResponse)
def bigscreen_page(
    request: Request, p: Annotated[Principal, requires(*STAFF)], ctx: WebCtx, lang: PageLang
) -> HTMLResponse:
    """One full-screen dashboard of the city's key figures, refreshing itself."""
    today = now_beijing().date()
    return _page(
        request,
        "bigscreen.html",
        p,
        year=today.year,
        month=today.strftime("%Y-%m"),
        yesterday=(today - dt.timedelta(days=1)).isoformat(),
        geo_source=ctx.geo[f"source_{lang}"],
    )


Cell = str | float | int | bool | None


class ExportTable(BaseModel):
    """A table as the page shows it, to be returned as a file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,80}$")
    title: str | None = Field(default=None, max_length=200, description="the card's title")
    units: str | None = Field(default=None, max_length=200)
    place: str | None = Field(default=None, max_length=200, description="city, county, station")
    period: str | None = Field(default=None, max_length=100)
    header: list[Annotated[str, Field(max_length=200)]] = Field(max_length=100)
    rows: list[Annotated[list[Cell], Field(max_length=100)]] = Field(max_length=5000)


@router.post("/export.{fmt}")
def export_table(
    request: Request,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    fmt: Annotated[str, PathParam(pattern="^(csv|xlsx)$")],
    table: ExportTable,
) -> Response:
    """A table the page already shows, as CSV or Excel (cells that would run as formulas are
    neutralised by :mod:`bishui.web.export`). The server adds nothing the caller did not send,
    so no permission beyond the page's own is involved; a session still needs its CSRF token.
    """
    if p.via == "session":
        check_csrf(request, request.headers.get(CSRF_HEADER))
    rows = [[None if isinstance(c, str) and c == "" else c for c in r] for r in table.rows]
    lang = language(request, request.app.state.web.settings.language)
    preamble = header_rows(
        table.title or table.name,
        place=table.place or "",
        period=table.period or "",
        units=table.units or "",
        source=translator(lang)("app.name"),
        synthetic=True,
        lang=lang,
    )
    return table_response(table.header, rows, table.name, fmt, preamble)


# -- county scorecards (issue 18): the finance bureau, staff and counties (their own) ----------
NAV.append(NavItem("/assessment", "nav.assessment", (*STAFF, "finance", "county")))
NAV.sort(key=lambda n: n.path == "/docs")


@router.get("/assessment", response_class=HTMLResponse)
def assessment_page(
    request: Request,
    p: Annotated[Principal, requires(*STAFF, "finance", "county", scope="scoped")],
    run: str | None = None,
) -> HTMLResponse:
    """Scores with their evidence, the allocations they drive, terms and cases."""
    from bishui.web.assessment_pages import page_context

    lang = language(request, request.app.state.web.settings.language)
    store = request.app.state.web.store
    if run is not None and len(run) > 100:
        raise InputError("run", "at most 100 characters", len(run))
    return _page(request, "assessment.html", p, **page_context(store, p, lang, run))
