"""County scorecards, fund allocation, natural-resource asset tables and departure audits
(issue 18; docs/assessment.md).

Who sees what: bureau staff and the finance bureau see every county; a county official sees its
own county's scores, evidence, shares, asset tables, terms and cases. Scoring and loading survey
data are the analysts' (and admin's); allocating a fund is the finance bureau's (and admin's);
terms and accountability cases are kept by the admin. Every write is audited
(``assessment_audit``). Money is integer fen; points and quantities are decimal text.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from bishui.assessment import audit as au
from bishui.assessment import scorecard as sc
from bishui.assessment import service
from bishui.errors import InputError, PermissionDenied
from bishui.web.api.common import ERRORS, WebStore, iso
from bishui.web.auth import STAFF, Principal, requires
from bishui.web.export import table_response

router = APIRouter(prefix="/assessment", tags=["assessment"], responses=ERRORS)

READERS = (*STAFF, "finance", "county")
SCORERS = ("admin", "analyst")
ALLOCATORS = ("admin", "finance")
KEEPERS = ("admin",)
RUN_ID = r"^[a-z0-9_]{1,80}:\d{4}:v\d{1,6}$"
REGION = r"^\d{6}(-[A-Z0-9]{1,8})?$"
HEX = r"^[0-9a-f]{12,16}$"
MAX_SURVEY = 5_000_000


def _regions(p: Principal) -> list[str] | None:
    """None for staff and the finance bureau (every county); the county's regions otherwise."""
    return None if p.sees_everything or p.role == "finance" else list(p.regions)


def _own(p: Principal, county: str) -> None:
    r = _regions(p)
    if r is not None and county not in r:
        raise PermissionDenied("a county sees its own county only")


@router.get("/scorecards", summary="The scorecard files shipped (indicator sets per year)")
def scorecards(p: Annotated[Principal, requires(*READERS)]) -> dict[str, Any]:
    items = []
    for name in sc.available():
        c = sc.load_scorecard(name)
        items.append(
            {
                "id": name,
                "year": c.year,
                "title": c.title,
                "basis": c.basis,
                "indicators": [
                    {
                        "code": i.code,
                        "name": i.name,
                        "source": i.source,
                        "weight": str(i.weight),
                        "curve": i.curve,
                    }
                    for i in c.indicators
                ],
            }
        )
    return {"ok": True, "items": items}


class ScoreBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scorecard: str = Field(pattern=r"^scorecard_[a-z0-9_]{1,60}$", description="a shipped id")


@router.post("/runs", status_code=201, summary="Score every county by a scorecard (stored)")
def score(
    store: WebStore,
    p: Annotated[Principal, requires(*SCORERS)],
    body: Annotated[ScoreBody, Body()],
) -> dict[str, Any]:
    if body.scorecard not in sc.available():
        raise InputError("scorecard", f"one of {', '.join(sc.available())}", body.scorecard)
    rid = service.score_year(store, body.scorecard, by=p.username or "", role=p.role)
    return {"ok": True, "run": rid}


@router.get("/runs", summary="Scoring runs, newest year first")
def runs(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS)],
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> dict[str, Any]:
    rows = service.runs(store, year)
    for r in rows:
        r["computed_at"] = iso(r["computed_at"])
    return {"ok": True, "items": rows}


@router.get("/runs/{run_id}", summary="A run: every county's points with the evidence behind each")
def run(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    run_id: Annotated[str, Path(pattern=RUN_ID)],
) -> dict[str, Any]:
    tab = service.run_table(store, run_id, _regions(p))
    tab["run"]["computed_at"] = iso(tab["run"]["computed_at"])
    return {"ok": True, **tab}


@router.get("/runs/{run_id}/export.{fmt}", summary="A run as a spreadsheet (xlsx or csv)")
def run_export(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    run_id: Annotated[str, Path(pattern=RUN_ID)],
    fmt: Annotated[str, Path(pattern=r"^(csv|xlsx)$")],
) -> Response:
    tab = service.run_table(store, run_id, _regions(p))
    header, rows = service.run_sheet(tab)
    name = f"考核得分-{tab['run']['year']}-v{tab['run']['version']}"
    return table_response(header, rows, name, fmt)


@router.get("/allocations/{allocation_id}/export.{fmt}", summary="An allocation as a spreadsheet")
def allocation_export(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    allocation_id: Annotated[str, Path(pattern=HEX)],
    fmt: Annotated[str, Path(pattern=r"^(csv|xlsx)$")],
) -> Response:
    a = service.allocation(store, allocation_id, _regions(p))
    names = {r["code"]: r["name"] for r in store.rows("regions")}
    rows = [
        [
            names.get(s["county"], s["county"]),
            s["score"],
            int(s["fen"]),
            f"{int(s['fen']) // 100}.{int(s['fen']) % 100:02d}",
        ]
        for s in a["shares"]
    ]
    return table_response(
        ["区县", "得分", "分配（分）", "分配（元）"], rows, f"资金分配-{a['fund']}", fmt
    )


@router.get("/runs/{run_id}/recompute", summary="Recompute a run's points from stored evidence")
def recompute(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS)],
    run_id: Annotated[str, Path(pattern=RUN_ID)],
) -> dict[str, Any]:
    return {"ok": True, "reproduced": service.recompute(store, run_id)}


@router.get("/year-on-year", summary="Each county's total and rank this year and the year before")
def year_on_year(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> dict[str, Any]:
    return {"ok": True, "items": service.year_on_year(store, year, _regions(p))}


class AllocateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run: str = Field(pattern=RUN_ID)
    fund: str = Field(min_length=1, max_length=100)
    kind: str = Field(pattern=r"^(transfer|compensation)$")
    total_fen: int = Field(ge=0, le=10**15)
    rule: dict[str, Any] = Field(description='e.g. {"kind": "above_floor", "floor": 60}')


@router.post("/allocations", status_code=201, summary="Split a fund by a run's scores (fen)")
def allocate(
    store: WebStore,
    p: Annotated[Principal, requires(*ALLOCATORS)],
    body: Annotated[AllocateBody, Body()],
) -> dict[str, Any]:
    if len(str(body.rule)) > 2000:
        raise InputError("rule", "at most 2000 characters", len(str(body.rule)))
    aid = service.allocate(
        store,
        body.run,
        fund=body.fund,
        kind=body.kind,
        rule=body.rule,
        total_fen=body.total_fen,
        by=p.username or "",
        role=p.role,
    )
    return {"ok": True, "id": aid}


@router.get("/allocations/{allocation_id}", summary="An allocation and each county's share")
def allocation(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    allocation_id: Annotated[str, Path(pattern=HEX)],
) -> dict[str, Any]:
    a = service.allocation(store, allocation_id, _regions(p))
    a["created"] = iso(a["created"])
    if _regions(p) is not None:
        a.pop("by_user", None)
    return {"ok": True, **a}


@router.post("/assets", status_code=201, summary="Load a survey file (CSV / Excel), all or none")
async def load_assets(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*SCORERS)],
    name: Annotated[
        str, Query(min_length=5, max_length=200, pattern=r"(?i)^[^/\\\x00]+\.(csv|xlsx)$")
    ],
) -> dict[str, Any]:
    data = await request.body()
    if len(data) > MAX_SURVEY:
        raise InputError("file", f"at most {MAX_SURVEY} bytes", len(data))
    kind = "xlsx" if name.lower().endswith(".xlsx") else "csv"
    bid = await run_in_threadpool(
        lambda: service.load_assets(
            store, data, filename=name, kind=kind, by=p.username or "", role=p.role
        )
    )
    return {"ok": True, "batch": bid}


@router.get("/assets", summary="A county's asset table for a year, with the balance check")
def assets(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    county: Annotated[str, Query(pattern=REGION)],
    year: Annotated[int, Query(ge=1949, le=2100)],
) -> dict[str, Any]:
    _own(p, county)
    return {"ok": True, "items": service.asset_lines(store, county, year)}


@router.get("/assets/quality", summary="Quality accounts beside the platform's monitoring")
def quality(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    county: Annotated[str, Query(pattern=REGION)],
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> dict[str, Any]:
    _own(p, county)
    return {"ok": True, **service.quality_link(store, county, year)}


class TermBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    leader: str = Field(min_length=1, max_length=64)
    post: str = Field(min_length=1, max_length=64)
    county: str = Field(pattern=REGION)
    start: dt.date
    end: dt.date


@router.post("/terms", status_code=201, summary="Register a leader's term of office")
def add_term(
    store: WebStore,
    p: Annotated[Principal, requires(*KEEPERS)],
    body: Annotated[TermBody, Body()],
) -> dict[str, Any]:
    term = au.Term(body.leader, body.post, body.county, body.start, body.end)
    return {"ok": True, "id": service.add_term(store, term, by=p.username or "", role=p.role)}


@router.get("/terms", summary="Terms of office")
def terms(
    store: WebStore, p: Annotated[Principal, requires(*READERS, scope="scoped")]
) -> dict[str, Any]:
    rows = service.terms(store, _regions(p))
    for r in rows:
        r["start_date"], r["end_date"] = str(r["start_date"]), str(r["end_date"])
    return {"ok": True, "items": rows}


def _summary(store: Any, p: Principal, term_id: str) -> dict[str, Any]:
    s = service.departure_summary(store, term_id)
    _own(p, s["term"]["county"])
    return s


@router.get("/terms/{term_id}/summary", summary="The departure-audit summary of a term")
def summary(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    term_id: Annotated[str, Path(pattern=HEX)],
) -> dict[str, Any]:
    s = _summary(store, p, term_id)
    for c in s["cases"]:
        c["opened"] = str(c["opened"])
    return {"ok": True, **s}


@router.get(
    "/terms/{term_id}/print",
    response_class=HTMLResponse,
    summary="The departure-audit summary as a printable page (zh-CN)",
)
def summary_print(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    term_id: Annotated[str, Path(pattern=HEX)],
) -> HTMLResponse:
    from bishui.web.assessment_pages import summary_html

    s = _summary(store, p, term_id)
    names = {r["code"]: r["name"] for r in store.rows("regions")}
    return HTMLResponse(summary_html(s, names), headers={"Cache-Control": "no-store"})


@router.get("/terms/{term_id}/summary.pdf", summary="The departure-audit summary as a PDF")
async def summary_pdf(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    term_id: Annotated[str, Path(pattern=HEX)],
) -> Response:
    from bishui.timeutil import now_beijing
    from bishui.web.assessment_pages import summary_pdf as render_pdf

    s = await run_in_threadpool(_summary, store, p, term_id)
    names = {r["code"]: r["name"] for r in store.rows("regions")}
    data = await run_in_threadpool(render_pdf, s, names, now_beijing().replace(microsecond=0))
    return Response(data, media_type="application/pdf", headers={"Cache-Control": "no-store"})


# the summary stored as a versioned report (bishui.reports, kind departure-audit)
REPORTERS = ("admin", "analyst")


@router.post(
    "/terms/{term_id}/reports",
    status_code=201,
    summary="Store the departure-audit summary as the next version of its report",
)
async def summary_store(
    store: WebStore,
    p: Annotated[Principal, requires(*REPORTERS)],
    term_id: Annotated[str, Path(pattern=HEX)],
) -> dict[str, Any]:
    from bishui.reports import service as reports

    service.get_term(store, term_id)
    who = p.username or p.role
    g = await run_in_threadpool(reports.generate, store, "departure-audit", term_id,
                                requested_by=who)  # fmt: skip
    service.record_summary_report(
        store, term_id, g.meta["id"], g.meta["sha256"], by=who, role=p.role
    )
    return {"ok": True, "report": g.meta}


@router.get("/terms/{term_id}/reports", summary="The stored versions of a term's summary")
def summary_reports(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    term_id: Annotated[str, Path(pattern=HEX)],
) -> dict[str, Any]:
    from bishui.reports import service as reports

    _own(p, service.get_term(store, term_id).county)
    total, rows = reports.list_reports(store, kinds=("departure-audit",), period=term_id, limit=500)
    return {"ok": True, "total": total, "items": rows}


@router.get(
    "/terms/{term_id}/reports/{version}.pdf",
    response_class=Response,
    summary="A stored version of a term's summary (PDF)",
    responses={200: {"content": {"application/pdf": {}}}},
)
def summary_report_pdf(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    term_id: Annotated[str, Path(pattern=HEX)],
    version: Annotated[int, Path(ge=1, le=999_999)],
) -> Response:
    from urllib.parse import quote

    from bishui.reports import service as reports

    _own(p, service.get_term(store, term_id).county)
    meta, data = reports.get_report(store, f"departure-audit-{term_id}-v{version}")
    name = quote(f"{meta['title']}-v{meta['version']}.pdf")
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
            "Cache-Control": "private, no-store",
        },
    )


class CaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    leader: str = Field(min_length=1, max_length=64)
    county: str = Field(pattern=REGION)
    article: str = Field(pattern=r"^[0-9]{1,2}$")
    item: int = Field(ge=1, le=20)
    forms: list[str] = Field(min_length=1, max_length=9)
    facts: str = Field(min_length=1, max_length=4000)
    opened: dt.date
    term: str | None = Field(default=None, pattern=HEX)


@router.post("/cases", status_code=201, summary="Register an accountability case (责任追究)")
def open_case(
    store: WebStore,
    p: Annotated[Principal, requires(*KEEPERS)],
    body: Annotated[CaseBody, Body()],
) -> dict[str, Any]:
    cid = service.open_case(
        store,
        leader=body.leader,
        county=body.county,
        article=body.article,
        item=body.item,
        forms=body.forms,
        facts=body.facts,
        opened=body.opened,
        term_id=body.term,
        by=p.username or "",
        role=p.role,
    )
    return {"ok": True, "id": cid}


@router.get("/cases", summary="The accountability register (basis: 2015 measures, Arts. 5–8)")
def cases(
    store: WebStore, p: Annotated[Principal, requires(*READERS, scope="scoped")]
) -> dict[str, Any]:
    rows = service.cases(store, _regions(p))
    for r in rows:
        r["opened"] = str(r["opened"])
    return {"ok": True, "items": rows}
