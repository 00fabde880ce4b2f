"""Citizen reports and the public disclosure (``bishui.participation``; docs/governance.md).

Public (no account):

* ``POST /citizen-reports`` — ``multipart/form-data``: ``lat``, ``lon`` (WGS 84), ``description``,
  ``contact`` (optional), ``photo`` (optional; JPEG, PNG or WebP judged by its bytes, at most
  ``max_report_photo_bytes``). Limited per client address (``report_rate``) and for all
  addresses together (``report_global_rate``): 429 with ``Retry-After`` beyond either. 201 with
  the follow-up code, shown once.
* ``GET /citizen-reports/status/{follow_code}`` — the report's status as its reporter may see
  it (state, dates, outcome; no names, no contact, no ids).
* ``GET /disclosure/cases``, ``GET /disclosure/permits`` — the published lists.

Staff: ``GET /citizen-reports`` (list), ``GET /citizen-reports/{report_id}`` (with contact and
the audit events), ``GET …/{report_id}/photo``, and ``POST …/{report_id}/triage`` (admin,
inspector: accept as an alert, or reject with a reason category).

A browser session posting to the API sends its CSRF header like every JSON write
(``bishui.web.auth``); an anonymous call carries no ambient credential and needs none. The
page's form (``POST /report``) checks its ``csrf_token`` field as the login form does.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from bishui.errors import TooLarge
from bishui.export_header import header_rows
from bishui.participation import disclosure
from bishui.participation import reports as rp
from bishui.participation import service as svc
from bishui.web.api.common import ERRORS, PageLang, WebSettings, WebStore, cache_for
from bishui.web.auth import ALL_ROLES, STAFF, Principal, SlidingWindow, client_address, requires
from bishui.web.export import table_response
from bishui.web.settings import Settings, parse_rate

router = APIRouter(tags=["participation"], responses=ERRORS)

REPORT_ID = r"^R\d{8}-\d{4}$"
TRIAGERS = svc.TRIAGERS
FMT = r"^(csv|xlsx)$"
EXPORT_MAX = 10_000  # rows in one download


@lru_cache(maxsize=4)
def rules_for(path: str) -> rp.Rules:
    """The participation rules the settings name (the packaged ones by default)."""
    return rp.load_rules(path or None)


_LIMITS_LOCK = threading.Lock()


def limiters(request: Request) -> tuple[SlidingWindow, SlidingWindow]:
    """This app's report limiters: per client address, and for everyone together."""
    state = request.app.state
    found: tuple[SlidingWindow, SlidingWindow] | None = getattr(state, "report_limits", None)
    if found is None:
        with _LIMITS_LOCK:
            found = getattr(state, "report_limits", None)
            if found is None:
                s: Settings = state.web.settings
                found = (
                    SlidingWindow(*parse_rate(s.report_rate, "web.report_rate")),
                    SlidingWindow(*parse_rate(s.report_global_rate, "web.report_global_rate")),
                )
                state.report_limits = found
    return found


async def take_report(
    request: Request, settings: Settings, lat: str, lon: str, description: str, contact: str,
    photo: UploadFile | None,
) -> tuple[str, str]:  # fmt: skip
    """Rate limits, then the checks, then the store: ``(report id, follow-up code)``.

    The address's limit is checked before the global one, so one address flooding is refused
    without using up everyone's allowance.
    """
    per_address, everyone = limiters(request)
    per_address.hit(client_address(request), "reports from this address")
    everyone.hit("all", "reports; the form is busy")
    content: bytes | None = None
    declared = ""
    if photo is not None and (photo.filename or photo.size):
        limit = settings.max_report_photo_bytes
        content = await photo.read(limit + 1)
        if len(content) > limit:
            raise TooLarge("photo", f"at most {limit} bytes", f"over {limit}")
        declared = photo.content_type or ""
    rules = rules_for(settings.participation_rules)
    sub = rp.check_submission(rules, lat, lon, description, contact, content, declared,
                              settings.max_report_photo_bytes)  # fmt: skip
    store = request.app.state.web.store
    return await run_in_threadpool(svc.submit, store, rules, sub)


class ReportReceived(BaseModel):
    ok: bool = True
    code: str = Field(description="the follow-up code (shown once; keep it)",
                      examples=["7KQM-2HXD-R9TB"])  # fmt: skip
    state: str = Field(examples=["received"])
    status_url: str = Field(examples=["/report/status?code=7KQM-2HXD-R9TB"])


@router.post("/citizen-reports", response_model=ReportReceived, status_code=201,
             summary="Report pollution (no account needed)")  # fmt: skip
async def post_report(
    request: Request,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    settings: WebSettings,
    lat: Annotated[str, Form(max_length=40)],
    lon: Annotated[str, Form(max_length=40)],
    description: Annotated[str, Form(max_length=20_000)],
    contact: Annotated[str, Form(max_length=200)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> dict[str, Any]:
    _, code = await take_report(request, settings, lat, lon, description, contact, photo)
    shown = rp.grouped(code)
    return {"ok": True, "code": shown, "state": "received",
            "status_url": f"/report/status?code={shown}"}  # fmt: skip


class ReportStatus(BaseModel):
    ok: bool = True
    status: dict[str, Any] = Field(
        examples=[{"state": "in_progress", "state_label": "已立任务，正在核查处理",
                   "submitted": "2026-12-07T09:12", "region": "东宝区", "outcome": "",
                   "outcome_label": "", "steps": [{"state": "received", "label": "已收到，待受理",
                                                   "at": "2026-12-07T09:12"}]}]
    )  # fmt: skip


@router.get("/citizen-reports/status/{follow_code}", response_model=ReportStatus,
            summary="A report's status, by its follow-up code")  # fmt: skip
def report_status(
    store: WebStore,
    settings: WebSettings,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    response: Response,
    lang: PageLang,
    follow_code: Annotated[str, Path(max_length=40)],
) -> dict[str, Any]:
    out = svc.status(store, follow_code, lang=lang, rules=rules_for(settings.participation_rules))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return {"ok": True, "status": out}


class ReportList(BaseModel):
    ok: bool = True
    total: int
    items: list[dict[str, Any]]


@router.get("/citizen-reports", response_model=ReportList, summary="Citizen reports (staff)")
def list_reports(
    store: WebStore,
    p: Annotated[Principal, requires(*STAFF)],
    state: Annotated[Literal["received", "accepted", "in_progress", "closed"] | None,
                     Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:  # fmt: skip
    svc.sync(store)
    total, items = svc.list_reports(store, state=state, limit=limit, offset=offset)
    return {"ok": True, "total": total, "items": items}


@router.get("/citizen-reports/export.{fmt}",
            summary="Citizen reports as CSV or xlsx (staff; no reporter contact)")  # fmt: skip
def export_reports(
    store: WebStore,
    p: Annotated[Principal, requires(*STAFF)],
    fmt: Annotated[str, Path(pattern=FMT)],
    state: Annotated[Literal["received", "accepted", "in_progress", "closed"] | None,
                     Query()] = None,
) -> Response:  # fmt: skip
    """Declared before ``/citizen-reports/{report_id}`` so that path does not capture it. The
    reporter's contact stays on the staff page: a file travels further than a screen."""
    from bishui.web.participation_pages import TEXT

    svc.sync(store)
    _, items = svc.list_reports(store, state=state, limit=EXPORT_MAX)
    regions = {r["code"]: r["name"] for r in store.query("SELECT code, name FROM regions")}
    head = [TEXT[k][0] for k in ("id", "created", "state", "region")] + [
        "纬度", "经度", TEXT["description"][0], TEXT["photo_link"][0], TEXT["task"][0],
        TEXT["outcome"][0]]  # fmt: skip
    rows = [[r["id"], str(r["created"])[:16].replace("T", " "),
             rp.STATE_LABELS[rp.State(r["state"])][0],
             regions.get(r["region"], r["region"]) if r["region"] else "",
             f"{r['lat']:.4f}", f"{r['lon']:.4f}", r["description"],
             "有" if r["photo_size"] else "", r["task_id"] or "", r["outcome"] or ""]
            for r in items]  # fmt: skip
    title = TEXT["staff"][0]
    return table_response(head, rows, title, fmt, header_rows(title, synthetic=True))


@router.get("/citizen-reports/{report_id}", summary="One citizen report with its events (staff)")
def get_report(
    store: WebStore,
    p: Annotated[Principal, requires(*STAFF)],
    report_id: Annotated[str, Path(pattern=REPORT_ID)],
) -> dict[str, Any]:
    svc.sync(store, [report_id])
    return {"ok": True, "report": svc.get_report(store, report_id)}


@router.get(
    "/citizen-reports/{report_id}/photo", response_class=Response,
    summary="A citizen report's photo (staff)",
    responses={200: {"content": {mt: {} for mt in rp.PHOTO_TYPES}}},
)  # fmt: skip
def report_photo(
    store: WebStore,
    p: Annotated[Principal, requires(*STAFF)],
    report_id: Annotated[str, Path(pattern=REPORT_ID)],
) -> Response:
    content, media_type = svc.photo(store, report_id)
    return Response(content, media_type=media_type, headers={
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'inline; filename="{report_id}"',
    })  # fmt: skip


class Triage(BaseModel):
    decision: Literal["accept", "reject"]
    severity: Literal["low", "medium", "high"] | None = Field(
        None, description="accept: the alert's severity (medium and high open a task at once)"
    )
    region: str | None = Field(None, max_length=12, description="accept: correct the region")
    reason: str | None = Field(None, max_length=40, description="reject: a reason category")


@router.post("/citizen-reports/{report_id}/triage", summary="Accept or reject a report (staff)")
def triage(
    store: WebStore,
    settings: WebSettings,
    p: Annotated[Principal, requires(*TRIAGERS)],
    report_id: Annotated[str, Path(pattern=REPORT_ID)],
    body: Triage,
) -> dict[str, Any]:
    rules = rules_for(settings.participation_rules)
    who = p.username or p.role
    if body.decision == "accept":
        out = svc.accept(store, report_id, who, p.role, severity=body.severity or "",
                         region=body.region, rules=rules)  # fmt: skip
    else:
        out = svc.reject(store, report_id, who, p.role, body.reason or "", rules=rules)
    return {"ok": True, "report": out}


class Published(BaseModel):
    ok: bool = True
    total: int
    items: list[dict[str, Any]]


@router.get("/disclosure/cases", response_model=Published,
            summary="Closed enforcement cases and penalties (published)")  # fmt: skip
def disclosure_cases(
    request: Request,
    store: WebStore,
    settings: WebSettings,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    response: Response,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    rules = rules_for(settings.participation_rules)
    total, items = disclosure.closed_cases(store, rules, limit=limit, offset=offset)
    cache_for(response, p, request)
    return {"ok": True, "total": total, "items": items}


@router.get("/disclosure/cases/export.{fmt}",
            summary="Closed cases and penalties as CSV or xlsx (published)")  # fmt: skip
def export_disclosure_cases(
    store: WebStore,
    settings: WebSettings,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    fmt: Annotated[str, Path(pattern=FMT)],
) -> Response:
    from bishui.web.participation_pages import TEXT

    rules = rules_for(settings.participation_rules)
    _, cases = disclosure.closed_cases(store, rules, limit=EXPORT_MAX)
    head = [TEXT[k][0] for k in ("case", "enterprise", "uscc", "region", "closed", "disposal",
                                 "article", "amount", "due")]  # fmt: skip
    rows = [[c["case"], c["enterprise"], c["uscc"], c["region_name"], c["closed"],
             TEXT.get(f"disposal.{c['disposal']}", (c["disposal"],))[0], c["article"] or "",
             c["amount_yuan"] or "", c["rectification_due"] or ""] for c in cases]  # fmt: skip
    title = TEXT["cases"][0]
    return table_response(head, rows, title, fmt, header_rows(title, synthetic=True))


@router.get("/disclosure/permits", response_model=Published,
            summary="Discharge permits (published)")  # fmt: skip
def disclosure_permits(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    response: Response,
    q: Annotated[str, Query(max_length=60)] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    total, items = disclosure.permits(store, q=q.strip(), limit=limit, offset=offset)
    cache_for(response, p, request)
    return {"ok": True, "total": total, "items": items}
