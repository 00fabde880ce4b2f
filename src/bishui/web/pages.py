"""Server-rendered pages (Jinja2): the overview map, the public page, login and logout.

Pages declare permissions like API routes. Data-heavy pages render a shell and fetch the JSON
API from ``static/js`` (polling every ``refresh_seconds``); the public page renders its table
on the server so it is cacheable and readable without JavaScript.

Extension points for later pages (air, water, sources, tasks, big screen): add a route to
:data:`router` (or a new router included by ``create_app``) with ``requires(...)``, a template
extending ``base.html``, and a :class:`NavItem` in :data:`NAV` naming the roles that see it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from bishui import export_header
from bishui.errors import BishuiError, PermissionDenied
from bishui.export_header import header_rows
from bishui.web import accounts, display
from bishui.web.api.air_public import advice_table
from bishui.web.api.common import (
    SNAPSHOT_FIELDS,
    PageLang,
    WebCtx,
    WebStore,
    cache_for,
    site_json,
)
from bishui.web.auth import (
    ALL_ROLES,
    LOGGED_IN,
    Principal,
    check_csrf,
    client_address,
    csrf_token,
    requires,
    resolve,
    resolve_without_store,
    rotate_csrf,
)
from bishui.web.colouring import legend
from bishui.web.errors import RateLimited, Unauthenticated
from bishui.web.export import table_response
from bishui.web.i18n import (
    LANG_COOKIE,
    LANGS,
    MESSAGES,
    PARAMETERS,
    language,
    parameter_name,
    translator,
)

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=__file__.rsplit("/", 1)[0] + "/templates")


@dataclass(frozen=True, slots=True)
class CachedPage:
    body: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class NavItem:
    path: str
    key: str  # i18n key of its label
    roles: tuple[str, ...]


#: The navigation bar; later pages append themselves here.
NAV: list[NavItem] = [
    NavItem("/", "nav.overview", ALL_ROLES),
    NavItem("/public", "nav.public", ALL_ROLES),
    NavItem("/docs", "nav.api", ALL_ROLES),
]


#: Pages whose tables a county user sees for its county only (the API scopes them): their
#: exports name the county; every other page's name the city (published figures of all sites).
SCOPED_PAGES = frozenset({"sources.html", "tasks.html", "alerts.html", "compensation.html"})


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    principal: Principal | None = None,
    need_csrf: bool = False,
    error_page: bool = False,
) -> HTMLResponse:
    """Render *template* with the common context.

    A CSRF token (and its cookie) is issued only where a form needs it — the login page, and
    any page of a logged-in user (the logout form) — so an anonymous page carries nothing
    personal and can be cached by anyone.
    """
    ctx = request.app.state.web
    lang = language(request, ctx.settings.language)
    try:
        # an error page may be rendered on the event loop: no query there
        p = (
            principal
            or (resolve_without_store(request) if error_page else resolve(request))
            or Principal("public")
        )
    except BishuiError:
        p = Principal("public")
    values = {
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "other_lang": LANGS[1 - LANGS.index(lang)],
        "t": translator(lang),
        "principal": p,
        "role_name": accounts.ROLES[p.role][LANGS.index(lang)],
        "nav": [n for n in NAV if p.role in n.roles],
        "path": request.url.path,
        "csrf_token": csrf_token(request) if (need_csrf or p.username) else "",
        "settings": ctx.settings,
        "param_name": lambda code: parameter_name(code, lang),
        "ui_text": {k[3:]: v[LANGS.index(lang)] for k, v in MESSAGES.items() if k[:3] == "ui."},
        # bishui.web.display: the names and decimals every page shows (no query on an error page)
        "display_rules": display.page_rules(None if error_page else ctx.store, lang),
        "fig": display.text,
        "unit_of": display.unit_for,
        "code_name": lambda table, code: display.name(table, code, lang, ctx.store),
        # bishui.export_header: the lines above a chart's PNG, as the table exports' rows
        "export_header": export_header.page_labels(
            lang,
            place=""
            if error_page
            else display.home_place(
                ctx.store, p.region if template in SCOPED_PAGES else None, lang
            ),
            source=translator(lang)("app.name"),
            synthetic=True,
        ),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    return response


def render_error(
    request: Request, status: int, body: dict[str, Any], headers: dict[str, str]
) -> Response:
    response = render(
        request, "error.html", {"status": status, "error": body}, status, error_page=True
    )
    response.headers.update(headers)
    return response


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never "//evil.example" or "https://…" (open redirect).
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target[:500]


@router.get("/", response_class=HTMLResponse)
def overview_page(
    request: Request,
    p: Annotated[Principal, requires(*ALL_ROLES, scope="scoped")],
    ctx: WebCtx,
    lang: PageLang,
) -> HTMLResponse:
    return render(
        request,
        "overview.html",
        {
            "legend": legend(lang),
            "param_names": {code: parameter_name(code, lang) for code in PARAMETERS},
            "geo_source": ctx.geo[f"source_{lang}"],
        },
    )


#: The columns of the public tables (HJ 212 codes), per layer.
PUBLIC_PARAMS = {
    "air": ("a34004", "a34002", "a21026", "a21004", "a21005", "a05024"),
    "water": ("w01009", "w01019", "w21003", "w21011"),
}


def public_rows(ctx: Any, snap: Any, lang: str) -> dict[str, list[dict[str, Any]]]:
    """The public tables' rows (published kinds only), by layer."""
    out: dict[str, list[dict[str, Any]]] = {"air": [], "water": []}
    for s in snap.sites:
        if s.kind not in ctx.settings.public_kinds or s.kind not in out:
            continue
        region = snap.regions.get(s.region, {})
        out[s.kind].append(
            {
                **site_json(s, SNAPSHOT_FIELDS),
                "region_name": region.get("name" if lang == "zh" else "name_en") or s.region,
                "mark": snap.marks[s.id],
                "values": snap.latest.get(s.id, {}),
            }
        )
    return out


@router.get("/public", response_class=HTMLResponse)
def public_page(
    request: Request, p: Annotated[Principal, requires(*ALL_ROLES)], ctx: WebCtx, lang: PageLang
) -> HTMLResponse:
    """Published figures only, whoever asks: the same content for everyone."""
    snap = ctx.snapshot()
    key = (snap.serial, lang)
    if p.is_public and key in ctx.public_pages:
        # the same bytes for every anonymous visitor until the snapshot changes
        cached = ctx.public_pages[key]
        response = HTMLResponse(cached.body, headers={"Content-Type": cached.content_type})
        cache_for(response, p, request)
        return response
    rows = public_rows(ctx, snap, lang)
    response = render(
        request,
        "public.html",
        {
            "air": rows["air"],
            "water": rows["water"],
            "air_params": PUBLIC_PARAMS["air"],
            "water_params": PUBLIC_PARAMS["water"],
            "at": snap.at,
            "advice": advice_table(snap.at),
        },
    )
    if p.is_public:
        ctx.public_pages.clear()  # keep only the current snapshot's pages
        ctx.public_pages[key] = CachedPage(bytes(response.body), response.headers["content-type"])
    cache_for(response, p, request)
    return response


@router.get("/public/{table}.{fmt}")
def public_export(
    request: Request,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    table: Annotated[str, PathParam(pattern="^(air|water)$")],
    fmt: Annotated[str, PathParam(pattern="^(csv|xlsx)$")],
    ctx: WebCtx,
    lang: PageLang,
) -> Response:
    """The public page's tables as CSV or Excel."""
    t = translator(lang)
    snap = ctx.snapshot()
    rows = public_rows(ctx, snap, lang)[table]
    params = PUBLIC_PARAMS[table]
    first = t("public.station" if table == "air" else "public.section")
    header = [
        t("detail.id"),
        first,
        t("public.region"),
        *(["AQI"] if table == "air" else []),
        t("public.category"),
        *([t("public.target")] if table == "water" else []),
        *(f"{parameter_name(c, lang)} ({c})" for c in params),
        t("public.time"),
    ]
    body = []
    for r in rows:
        m = r["mark"]
        label = m.label_zh if lang == "zh" else m.label_en
        body.append(
            [
                r["id"],
                r["name"],
                r["region_name"],
                *([None if m.value is None else int(m.value)] if table == "air" else []),
                label,
                *([r["target_class"]] if table == "water" else []),
                # rounded as published (bishui.web.display: CNEMC integers, CO one decimal)
                *(
                    display.rounded(r["values"][c]["value"], c) if c in r["values"] else None
                    for c in params
                ),
                m.ts.strftime("%Y-%m-%d %H:%M") if m.ts else None,
            ]
        )
    name = f"bishui-{table}-{snap.at.strftime('%Y%m%d%H%M')}"
    preamble = header_rows(
        t(f"public.{table}"),
        place=display.home_place(ctx.store, None, lang),
        period=snap.at.strftime("%Y-%m-%d %H:%M"),
        units=t(f"public.{table}_units"),
        source=t("app.name"),
        synthetic=True,
        lang=lang,
    )
    response = table_response(header, body, name, fmt, preamble)
    cache_for(response, p, request)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, p: Annotated[Principal, requires(*ALL_ROLES)], next: str | None = None
) -> HTMLResponse:
    return render(
        request, "login.html", {"next": _safe_next(next), "message": None}, need_csrf=True
    )


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    ctx: WebCtx,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    target = _safe_next(next)

    def again(key: str, status: int) -> HTMLResponse:
        return render(
            request,
            "login.html",
            {"next": target, "message": key, "username": username},
            status,
            need_csrf=True,
        )

    try:
        check_csrf(request, csrf_token)
    except PermissionDenied:
        return await run_in_threadpool(again, "login.csrf", 403)
    peer = client_address(request)
    try:
        ctx.login_limiter.hit(peer, "login attempts")
        # The store is queried in the thread pool (the loop may carry the HJ 212 gateway);
        # the login delay is waited on the loop, so delayed attempts hold no worker thread.
        attempt = await run_in_threadpool(
            accounts.begin_login, ctx.store, ctx.settings, username, password, peer
        )
        await asyncio.sleep(attempt.delay)
        user = await run_in_threadpool(accounts.finish_login, ctx.store, attempt, password)
    except RateLimited as exc:
        r = await run_in_threadpool(again, "login.limited", 429)
        r.headers["Retry-After"] = str(exc.retry_after)
        return r
    except Unauthenticated:
        return await run_in_threadpool(again, "login.failed", 401)
    return await run_in_threadpool(_logged_in, request, user, target)


def _logged_in(request: Request, user: accounts.User, target: str) -> Response:
    ctx = request.app.state.web
    # Session fixation: whatever session cookie came in is ended; a fresh id is issued.
    old = request.cookies.get(accounts.SESSION_COOKIE)
    if old:
        accounts.end_session(ctx.store, old)
    token = accounts.new_session(ctx.store, ctx.settings, user.username, client_address(request))
    rotate_csrf(request)
    response = RedirectResponse(target, status_code=303)
    from bishui.web.app import secure_cookies

    response.set_cookie(
        accounts.SESSION_COOKIE,
        token,
        max_age=int(ctx.settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )
    return response


@router.post("/logout")
def logout(
    request: Request,
    p: Annotated[Principal, requires(*LOGGED_IN)],
    store: WebStore,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    token = request.cookies.get(accounts.SESSION_COOKIE)
    if token:
        accounts.end_session(store, token)
    rotate_csrf(request)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(accounts.SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def switch_language(
    request: Request,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    code: str,
    next: str | None = None,
) -> Response:
    if code not in LANGS:
        code = "zh"
    response = RedirectResponse(quote(_safe_next(next), safe="/?=&"), status_code=303)
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax", path="/")
    return response
