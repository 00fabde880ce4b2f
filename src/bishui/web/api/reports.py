"""PDF reports: list, download, generate on demand (docs/reports.md).

Air and water bulletins are published figures: every role (the public too) lists and downloads
them. The sources' monthly compliance report names enterprises and their exceedances: bureau
staff only (the route is ``scoped``: other roles do not see those rows, and get 403 for the
file). Generating a report on demand is for administrators and analysts.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from bishui.errors import PermissionDenied
from bishui.reports import service
from bishui.reports.content import KINDS
from bishui.web.api.common import ERRORS, ListPage, WebStore
from bishui.web.auth import ALL_ROLES, STAFF, Principal, requires

router = APIRouter(tags=["reports"], responses=ERRORS)

KIND_PATTERN = "^(" + "|".join(k.replace("-", r"\-") for k in KINDS) + ")$"
PERIOD_PATTERN = r"^(20\d{2}|2100)(-\d{2}(-\d{2})?)?$"
REPORT_ID = r"^[a-z]+-[a-z]+-(20\d{2}|2100)(-\d{2}){0,2}-v\d{1,6}$"
GENERATORS = ("admin", "analyst")


def visible_kinds(p: Principal) -> tuple[str, ...]:
    """The report kinds the caller may read here (the departure-audit summaries, audience
    ``audit``, are listed and read per term under /assessment/terms, scoped to the county)."""
    return tuple(
        k
        for k, v in KINDS.items()
        if v["audience"] == "public" or (v["audience"] == "staff" and p.role in STAFF)
    )


class ReportOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    kind: str
    kind_name: str
    period: str
    version: int
    title: str
    as_of: str = Field(description="cut-off day of a period not over when it was made")
    created: str = Field(description="Beijing time printed in the report")
    requested_by: str
    rules: dict[str, Any] = Field(description="rule sets and editions the figures used")
    partial: bool = Field(description="some figure rests on partial data (the PDF says which)")
    sha256: str
    size: int


class ReportList(BaseModel):
    ok: bool = True
    total: int
    limit: int
    offset: int
    items: list[ReportOut]


@router.get("/reports", response_model=ReportList, summary="Stored reports, newest first")
def reports_list(
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES, scope="scoped")],
    page: ListPage,
    kind: Annotated[str | None, Query(pattern=KIND_PATTERN, max_length=16)] = None,
) -> dict[str, Any]:
    kinds = visible_kinds(p)
    if kind is not None:
        kinds = tuple(k for k in kinds if k == kind)
    total, rows = service.list_reports(store, kinds=kinds, limit=page.limit, offset=page.offset)
    return page.page(total, rows)


@router.get(
    "/reports/{report_id}.pdf",
    response_class=Response,
    summary="A stored report's PDF",
    responses={200: {"content": {"application/pdf": {}}}},
)
def report_pdf(
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES, scope="scoped")],
    report_id: Annotated[str, Path(pattern=REPORT_ID, max_length=48)],
) -> Response:
    meta, data = service.get_report(store, report_id)
    if meta["kind"] not in visible_kinds(p):
        raise PermissionDenied("this report is for bureau staff")
    name = quote(f"{meta['title']}-v{meta['version']}.pdf")
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
            "Cache-Control": "private, max-age=300",
        },
    )


class GenerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(pattern=KIND_PATTERN, max_length=16, description=", ".join(KINDS))
    period: str = Field(
        pattern=PERIOD_PATTERN, max_length=10, description="YYYY-MM-DD, YYYY-MM or YYYY"
    )


class Generated(BaseModel):
    ok: bool = True
    report: ReportOut


@router.post(
    "/reports",
    response_model=Generated,
    status_code=201,
    summary="Generate a report now (a new version of its kind and period)",
)
async def reports_generate(
    store: WebStore,
    p: Annotated[Principal, requires(*GENERATORS)],
    body: GenerateIn,
) -> dict[str, Any]:
    g = await run_in_threadpool(
        service.generate, store, body.kind, body.period, requested_by=p.username or p.role
    )
    return {"ok": True, "report": g.meta}
