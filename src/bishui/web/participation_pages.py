"""The public report form, the status lookup and the disclosure page (docs/governance.md).

``/report`` (everyone, no account): a place picked on the map (the vendored ECharts and the
packaged county boundaries; the latitude and longitude fields work without script), a photo,
a description and an optional contact. ``POST /report`` checks the form's ``csrf_token`` as
the login form does, then the rate limits and the checks of ``POST /api/v1/citizen-reports``;
it answers with the follow-up code, shown once. ``/report/status`` looks a code up.
``/disclosure`` (信息公开) lists the closed cases with their penalties and the discharge
permits. Everything a citizen typed is shown through Jinja's autoescape only (never marked
safe), so a script in a description is text.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from bishui.errors import InputError, NotFoundError, PermissionDenied
from bishui.participation import disclosure
from bishui.participation import reports as rp
from bishui.participation import service as svc
from bishui.web.api.common import PageLang, WebCtx
from bishui.web.api.participation import rules_for, take_report
from bishui.web.auth import ALL_ROLES, STAFF, Principal, check_csrf, requires
from bishui.web.errors import RateLimited
from bishui.web.i18n import MESSAGES
from bishui.web.pages import NAV, NavItem, render

router = APIRouter(include_in_schema=False)

MESSAGES["nav.report"] = ("公众举报", "Report pollution")
MESSAGES["nav.disclosure"] = ("信息公开", "Disclosure")
NAV.append(NavItem("/report", "nav.report", ALL_ROLES))
NAV.append(NavItem("/disclosure", "nav.disclosure", ALL_ROLES))
MESSAGES["nav.citizen_reports"] = ("举报受理", "Citizen reports")
NAV.append(NavItem("/citizen-reports", "nav.citizen_reports", STAFF))
NAV.sort(key=lambda n: n.path == "/docs")  # keep the API docs link last

TEXT: dict[str, tuple[str, str]] = {
    "title": ("公众举报", "Report pollution"),
    "intro": (
        "无需注册。请在地图上点选位置，描述所见，可附照片；联系方式可不填。"
        "提交后会得到一个查询码，凭码可查看办理进度。举报人信息依法保密。",
        "No account needed. Pick the place on the map, describe what you saw, add a photo if "
        "you can; a contact is optional. You get a follow-up code to see how the report is "
        "handled. Reporters are protected.",
    ),
    "map": ("点击地图选择位置", "Click the map to pick the place"),
    "lat": ("纬度", "latitude"),
    "lon": ("经度", "longitude"),
    "description": ("情况描述", "What you saw"),
    "photo": ("照片（JPEG/PNG/WebP，可选）", "Photo (JPEG/PNG/WebP, optional)"),
    "contact": ("联系方式（可选，仅执法人员可见）", "Contact (optional, seen by staff only)"),
    "submit": ("提交举报", "Send the report"),
    "done": ("举报已收到", "Report received"),
    "code": ("查询码", "Follow-up code"),
    "keep": (
        "请记下查询码：它只显示这一次，凭它查询办理进度。",
        "Keep this code: it is shown only once; use it to follow the report.",
    ),
    "status": ("举报进度查询", "Report status"),
    "lookup": ("查询", "Look up"),
    "state": ("当前状态", "Status"),
    "submitted": ("提交时间", "Sent"),
    "region": ("所在区域", "Area"),
    "outcome": ("办理结果", "Outcome"),
    "steps": ("办理过程", "Steps"),
    "unknown": ("没有与此查询码对应的举报。", "No report has this code."),
    "limited": ("提交过于频繁，请稍后再试。", "Too many reports; please try again later."),
    "csrf": ("页面已过期，请刷新后重新提交。", "The page expired; reload it and send again."),
    "invalid": ("请检查：", "Please check: "),
    "disclosure": ("信息公开", "Public disclosure"),
    "cases": ("执法案件与行政处罚（已办结）", "Closed enforcement cases and penalties"),
    "permits": ("排污许可证", "Discharge permits"),
    "case": ("案件编号", "Case"),
    "enterprise": ("企业名称", "Enterprise"),
    "uscc": ("统一社会信用代码", "Credit code"),
    "closed": ("办结日期", "Closed"),
    "disposal": ("处理结果", "Decision"),
    "article": ("处罚依据", "Legal basis"),
    "amount": ("罚款（元）", "Fine (yuan)"),
    "due": ("整改期限", "Rectify by"),
    "permit_no": ("许可证编号", "Permit no."),
    "class": ("管理类别", "Management class"),
    "valid": ("有效期", "Valid"),
    "in_force": ("是否有效", "In force"),
    "yes": ("有效", "yes"),
    "no": ("失效", "no"),
    "none": ("暂无。", "None yet."),
    "search": ("按企业名称、信用代码或许可证编号查找", "Search by name, credit code or permit no."),
    "withheld": (
        "依法隐去个人信息：不公开执法人员、企业联系人及举报人信息。",
        "Personal data withheld: no staff, enterprise contacts or reporters are shown.",
    ),
    "disposal.penalty": ("行政处罚", "penalty"),
    "disposal.rectification_order": ("责令改正", "rectification order"),
    "staff": ("公众举报受理", "Citizen reports"),
    "id": ("编号", "No."),
    "created": ("时间", "Sent"),
    "place": ("位置", "Place"),
    "task": ("任务", "Task"),
    "accept": ("受理（转为告警）", "Accept (alert)"),
    "reject": ("不予受理", "Reject"),
    "severity": ("严重程度", "Severity"),
    "reason": ("理由", "Reason"),
    "photo_link": ("照片", "Photo"),
    "export": ("导出", "Export"),
    "export_note": (
        "导出文件不含举报人联系方式（仅在本页向执法人员显示）。",
        "The file holds no reporter contact (shown on this page to staff only).",
    ),
}

FIELD_TEXT = {
    "lat": ("位置（纬度）", "place (latitude)"),
    "lon": ("位置（经度）", "place (longitude)"),
    "description": ("情况描述", "description"),
    "contact": ("联系方式", "contact"),
    "photo": ("照片", "photo"),
}


def _t(lang: str) -> dict[str, str]:
    i = 0 if lang == "zh" else 1
    return {k: v[i] for k, v in TEXT.items()}


def _form(
    request: Request, lang: str, p: Principal, status: int = 200, message: str = "",
    values: dict[str, Any] | None = None,
) -> HTMLResponse:  # fmt: skip
    rules = rules_for(request.app.state.web.settings.participation_rules)
    return render(
        request, "report.html",
        {"T": _t(lang), "message": message, "values": values or {}, "rules": rules,
         "max_photo": request.app.state.web.settings.max_report_photo_bytes},
        status, principal=p, need_csrf=True,
    )  # fmt: skip


@router.get("/report", response_class=HTMLResponse)
def report_form(
    request: Request, p: Annotated[Principal, requires(*ALL_ROLES)], lang: PageLang
) -> HTMLResponse:
    return _form(request, lang, p)


@router.post("/report", response_class=HTMLResponse)
async def report_submit(
    request: Request,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    ctx: WebCtx,
    lang: PageLang,
    lat: Annotated[str, Form(max_length=40)] = "",
    lon: Annotated[str, Form(max_length=40)] = "",
    description: Annotated[str, Form(max_length=20_000)] = "",
    contact: Annotated[str, Form(max_length=200)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    T = _t(lang)
    values = {"lat": lat, "lon": lon, "description": description, "contact": contact}
    try:
        check_csrf(request, csrf_token)
    except PermissionDenied:
        return await run_in_threadpool(_form, request, lang, p, 403, T["csrf"], values)
    try:
        _, code = await take_report(request, ctx.settings, lat, lon, description, contact, photo)
    except RateLimited as exc:
        r = await run_in_threadpool(_form, request, lang, p, 429, T["limited"], values)
        r.headers["Retry-After"] = str(exc.retry_after)
        return r
    except InputError as exc:
        if exc.code == "too_large":
            raise
        name = FIELD_TEXT.get(exc.field, (exc.field, exc.field))[0 if lang == "zh" else 1]
        msg = f"{T['invalid']}{name} — {exc.rule}"
        return await run_in_threadpool(_form, request, lang, p, 400, msg, values)
    shown = rp.grouped(code)
    r = render(request, "report_done.html", {"T": T, "code": shown}, 201, principal=p)
    r.headers["Cache-Control"] = "no-store"
    return r


@router.get("/report/status", response_class=HTMLResponse)
def report_status_page(
    request: Request,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    ctx: WebCtx,
    lang: PageLang,
    code: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    T = _t(lang)
    status: dict[str, Any] | None = None
    message = ""
    if code:
        try:
            status = svc.status(ctx.store, code, lang=lang,
                                rules=rules_for(ctx.settings.participation_rules))  # fmt: skip
        except (NotFoundError, InputError):
            message = T["unknown"]
    r = render(request, "report_status.html",
               {"T": T, "code": code, "status": status, "message": message},
               404 if message else 200, principal=p)  # fmt: skip
    r.headers["Cache-Control"] = "no-store"
    r.headers["Referrer-Policy"] = "no-referrer"
    return r


@router.get("/disclosure", response_class=HTMLResponse)
def disclosure_page(
    request: Request,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    ctx: WebCtx,
    lang: PageLang,
    q: Annotated[str, Query(max_length=60)] = "",
) -> HTMLResponse:
    T = _t(lang)
    rules = rules_for(ctx.settings.participation_rules)
    _, cases = disclosure.closed_cases(ctx.store, rules, limit=200)
    for c in cases:
        c["disposal_label"] = T.get(f"disposal.{c['disposal']}", c["disposal"])
        c["region_label"] = c["region_name"] if lang == "zh" else c["region_name_en"]
    n_permits, permits = disclosure.permits(ctx.store, q=q.strip(), limit=200)
    return render(request, "disclosure.html",
                  {"T": T, "cases": cases, "permits": permits, "n_permits": n_permits, "q": q},
                  principal=p)  # fmt: skip


@router.get("/citizen-reports", response_class=HTMLResponse)
def staff_page(
    request: Request,
    p: Annotated[Principal, requires(*STAFF)],
    ctx: WebCtx,
    lang: PageLang,
    state: Annotated[str, Query(pattern="^(|received|accepted|in_progress|closed)$")] = "",
) -> HTMLResponse:
    """The bureau's list of reports, newest first; inspectors and admins triage here."""
    rules = rules_for(ctx.settings.participation_rules)
    svc.sync(ctx.store)
    total, items = svc.list_reports(ctx.store, state=state or None, limit=200)
    i = 0 if lang == "zh" else 1
    for r in items:
        r["state_label"] = rp.STATE_LABELS[rp.State(r["state"])][i]
    return render(request, "citizen_reports.html", {
        "T": _t(lang), "items": items, "total": total, "state": state,
        "can_triage": p.role in svc.TRIAGERS,
        "reasons": {k: v[i] for k, v in rules.reject_reasons.items()},
        "states": {str(k): v[i] for k, v in rp.STATE_LABELS.items()},
    }, principal=p)  # fmt: skip


@router.post("/citizen-reports/{report_id}/triage")
def staff_triage(
    request: Request,
    p: Annotated[Principal, requires(*svc.TRIAGERS)],
    ctx: WebCtx,
    report_id: Annotated[str, PathParam(pattern=r"^R\d{8}-\d{4}$")],
    decision: Annotated[str, Form(pattern="^(accept|reject)$")],
    severity: Annotated[str, Form(pattern="^(|low|medium|high)$")] = "",
    reason: Annotated[str, Form(max_length=40)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The page's triage form (its csrf_token checked); back to the list."""
    check_csrf(request, csrf_token)
    rules = rules_for(ctx.settings.participation_rules)
    who = p.username or p.role
    if decision == "accept":
        svc.accept(ctx.store, report_id, who, p.role, severity=severity, rules=rules)
    else:
        svc.reject(ctx.store, report_id, who, p.role, reason, rules=rules)
    return RedirectResponse("/citizen-reports", status_code=303)
