"""The app factory: ``create_app(store, settings) -> FastAPI``.

The app holds one :class:`WebContext` at ``app.state.web`` (store, settings, resolved secret,
rate limiters, the overview's colouring function). Routers come from
:data:`bishui.web.api.ROUTERS` (JSON under ``/api/v1``) and :mod:`bishui.web.pages`; a domain
adds its routes by adding a router there, each route declaring its permission with
:func:`bishui.web.auth.requires` — the factory refuses routes that do not.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bishui import __version__, readings
from bishui.registry.model import Site
from bishui.store import Store
from bishui.timeutil import current_hour, now_beijing
from bishui.web import errors, schema
from bishui.web.auth import (
    ALL_ROLES,
    CSRF_COOKIE,
    Principal,
    SlidingWindow,
    check_routes,
    client_address,
    requires,
)
from bishui.web.colouring import Colouring, Mark, latest_within
from bishui.web.engine_colouring import engine_colouring
from bishui.web.settings import Settings, parse_rate

STATIC_DIR = Path(__file__).parent / "static"
HOUR = dt.timedelta(hours=1)
SWAGGER = "/static/vendor/swagger-ui-5.35.0"
# Pages run no inline script (configuration travels in data attributes and JSON blocks);
# ECharts sets inline styles on its canvas container.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)
#: Browser features no page uses (the evidence upload uses a file input, not the camera API);
#: the task page's check-in asks this site's pages only for the location.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(self), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
#: How deep a request's JSON may nest (the deepest declared body is a permit import: 4).
MAX_JSON_DEPTH = 32


@dataclass(frozen=True)
class Snapshot:
    """The current state of every site, as the overview and the public page show it."""

    at: dt.datetime
    sites: list[Site]  # ordered by kind, then id
    marks: dict[str, Mark]
    latest: dict[str, dict[str, dict[str, Any]]]  # site → parameter → newest hourly row
    regions: dict[str, dict[str, Any]]  # code → region
    serial: int = 0  # distinguishes snapshots (keys caches built on one)


#: The evidence uploads (``bishui.web.api.evidence``; a damage case's or a project's,
#: ``bishui.web.api.programmes``): their body may reach ``max_evidence_bytes``.
EVIDENCE_UPLOAD = re.compile(r"^/api/v1/(tasks|programmes/cases|programmes/projects)/[^/]+/files$")

#: The data-file upload (``bishui.web.api.uploads``) and the black boxes' HJ 212 frames
#: (``bishui.web.api.vehicles``): their bodies may reach ``max_upload_bytes``.
DATA_UPLOAD = re.compile(r"^/api/v1/(uploads|vehicles/frames)$")

#: The public report form and its API (``bishui.web.participation_pages``,
#: ``bishui.web.api.participation``): a body may reach ``max_report_photo_bytes`` more.
CITIZEN_REPORT = re.compile(r"^/(report|api/v1/citizen-reports)$")

#: How far back the public page looks for a site's newest values (water is sampled monthly).
LATEST_WINDOW = dt.timedelta(days=31)


@dataclass
class WebContext:
    store: Store
    settings: Settings
    secret: bytes
    colouring: Colouring
    login_limiter: SlidingWindow
    api_limiter: SlidingWindow
    geo: dict[str, Any] = field(default_factory=dict)
    _snapshot: Snapshot | None = None
    _snapshot_t: float = 0.0
    _snapshot_lock: threading.Lock = field(default_factory=threading.Lock)
    public_pages: dict[tuple[int, str], Any] = field(default_factory=dict)
    # credential hash → (monotonic expiry, accounts.generation(), Principal)
    auth_cache: dict[str, tuple[float, int, Any]] = field(default_factory=dict)

    def snapshot(self) -> Snapshot:
        """Every site with its mark and newest values, reused for ``snapshot_seconds``.

        One reader computes it; the others do not repeat the queries: before the first
        snapshot they wait for it, afterwards they keep answering from the previous one until
        the new one is ready (the engine colouring takes a few hundred milliseconds, which
        would otherwise stall every request arriving meanwhile — the overview is the page
        everyone opens at once).
        """
        snap, ttl = self._snapshot, self.settings.snapshot_seconds
        if snap is not None and time.monotonic() - self._snapshot_t < ttl:
            return snap
        if snap is None:
            self._snapshot_lock.acquire()
        elif not self._snapshot_lock.acquire(blocking=False):
            return snap  # another reader is refreshing it
        try:
            now = time.monotonic()
            snap = self._snapshot
            if snap is not None and now - self._snapshot_t < self.settings.snapshot_seconds:
                return snap
            at = now_beijing().replace(microsecond=0)
            sites = sorted(readings.sites(self.store), key=lambda s: (s.kind, s.id))
            marks = self.colouring(self.store, sites, at)
            latest: dict[str, dict[str, dict[str, Any]]] = {}
            public = [s for s in sites if s.kind in self.settings.public_kinds]
            # Air: the newest complete hour (bishui.timeutil.current_hour; an hour in progress
            # is never published), shown by its end-of-hour label; water as sampled.
            air = [s.id for s in public if s.kind == "air"]
            rest = [s.id for s in public if s.kind != "air"]
            for ids, end in ((air, current_hour(at)), (rest, at + HOUR)):
                for r in latest_within(self.store, ids, at - LATEST_WINDOW, end):
                    latest.setdefault(r["site_id"], {})[r["parameter"]] = r
            regions = {r["code"]: r for r in self.store.rows("regions")}
            serial = (snap.serial + 1) if snap else 1
            self._snapshot = Snapshot(at, sites, marks, latest, regions, serial)
            self._snapshot_t = now
            return self._snapshot
        finally:
            self._snapshot_lock.release()


def load_geo(settings: Settings) -> dict[str, Any]:
    """The county boundaries (packaged Jingmen file, or the one *settings* names) and source."""
    if settings.geojson:
        features = json.loads(Path(settings.geojson).read_text(encoding="utf-8"))
        src = settings.geojson_source or Path(settings.geojson).name
        return {"geojson": features, "source_zh": src, "source_en": src}
    data = resources.files("bishui.web") / "data"
    features = json.loads((data / "jingmen-420800.geojson").read_text(encoding="utf-8"))
    meta = tomllib.loads((data / "jingmen-420800.source.toml").read_text(encoding="utf-8"))
    return {"geojson": features, **meta}


def page_routers() -> list[APIRouter]:
    """Every router of the web, in matching order: the JSON API (under ``/api/v1``, listed in
    :data:`bishui.web.api.ROUTERS`), then the pages of each domain."""
    from bishui.web import (
        admin_pages,
        dashboards,
        energy_page,
        exchange_page,
        metrics_page,
        pages,
        participation_pages,
        police_page,
        programmes_page,
        reports_page,
        rivers_page,
        vehicles_page,
    )

    return [
        pages.router,
        dashboards.router,
        admin_pages.router,
        reports_page.router,
        exchange_page.router,  # the exchange (docs/exchange.md)
        energy_page.router,  # energy and dual control (issue 18)
        vehicles_page.router,
        police_page.router,  # environmental police and joint operations (issue 20)
        rivers_page.router,  # river and lake chiefs (issue 20)
        programmes_page.router,  # damage cases, projects and funds (issue 20)
        participation_pages.router,  # citizen reports, disclosure (issue 20)
        metrics_page.router,  # GET /metrics, admin (issue 21; docs/deploy.md)
    ]


def _routes() -> tuple[BaseRoute, ...]:
    """The web's routes, built once per process and shared by every app :func:`create_app`
    makes.

    FastAPI analyses each route's parameters and dependencies (pydantic adapters, signatures)
    when a router is included: about 0.3 s for the whole web on this project's machine, paid
    by every ``create_app`` before — hundreds of times in the test suite, which builds an app
    per test. The route objects hold no per-app state (the store, settings and limiters are
    ``app.state.web``; handlers read ``request.app``), so they are built on a throwaway app and
    appended to each new one. The one thing tied to that throwaway app: FastAPI's
    ``dependency_overrides`` — bishui uses none, so an app's ``dependency_overrides`` has no
    effect on these routes.
    """
    from bishui.web.api import ROUTERS

    routers = (*ROUTERS, None, *page_routers())  # None: the API's prefix ends there
    key = tuple(id(r) for r in routers)
    with _ROUTES_LOCK:
        built = _ROUTES.get(key)
        if built is None or any(a is not b for a, b in zip(built[0], routers, strict=True)):
            built = (routers, _build(routers))
            _ROUTES.clear()  # one route tree per process (a new one only when a test adds a router)
            _ROUTES[key] = built
    return built[1]


_ROUTES: dict[tuple[int, ...], tuple[tuple[APIRouter | None, ...], tuple[BaseRoute, ...]]] = {}
_ROUTES_LOCK = threading.Lock()


def _build(routers: tuple[APIRouter | None, ...]) -> tuple[BaseRoute, ...]:
    builder = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    first = len(builder.router.routes)
    prefix = "/api/v1"
    for router in routers:
        if router is None:
            prefix = ""
        else:
            builder.include_router(router, prefix=prefix)
    routes = tuple(builder.router.routes[first:])
    check_routes(routes)  # also builds FastAPI's per-route state, once
    return routes


def create_app(
    store: Store, settings: Settings | None = None, *, colouring: Colouring | None = None
) -> FastAPI:
    """Build the web app over *store*; *colouring* replaces the overview's engine colouring."""
    settings = settings or Settings()
    schema.ensure(store)
    app = FastAPI(
        title="bishui 碧水 API",
        version=__version__,
        description=(
            "JSON API of the bishui platform. Times are Beijing time (UTC+8). Errors share one "
            'shape: `{"ok": false, "error": <code>, "message": <text>}`. Authenticate with '
            "`Authorization: Bearer bsh_…` (an API token) or a browser session; without either "
            "you are the public role and see published data only."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.web = WebContext(
        store=store,
        settings=settings,
        secret=settings.resolve_secret(),
        colouring=colouring or engine_colouring,
        login_limiter=SlidingWindow(*parse_rate(settings.login_rate)),
        api_limiter=SlidingWindow(*parse_rate(settings.api_rate)),
        geo=load_geo(settings),
    )
    errors.install(app)

    # The routes are the same objects in every app of the process (built once, below): an app's
    # own state is ``app.state.web`` only.
    app.router.routes.extend(_routes())
    from bishui.web import metrics_page, pages

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request, p: Annotated[Principal, requires(*ALL_ROLES)]) -> HTMLResponse:
        # The vendored Swagger UI, set up by a script file (static/js/swagger-init.js): the
        # page runs no inline script, so it gets the same CSP as every page.
        return pages.templates.TemplateResponse(
            request, "docs.html", {"swagger": SWAGGER, "openapi_url": "/api/v1/openapi.json"}
        )

    from bishui.web.conditional import ConditionalGet  # ETag and 304 (issue 21 item 6)
    from bishui.web.public_cache import PublicCache  # published answers kept (item 6)

    # inside WebMiddleware: limits and headers apply to a kept answer too
    app.add_middleware(PublicCache, seconds=settings.public_cache_seconds)
    app.add_middleware(WebMiddleware)

    app.add_middleware(ConditionalGet)
    app.add_middleware(metrics_page.Timing)  # outermost: times the whole request
    check_routes(app.routes)
    return app


class WebMiddleware:
    """Per-request duties, as plain ASGI (cheaper than a BaseHTTPMiddleware on every call).

    Before: the body limit (``max_body_bytes``; ``max_evidence_bytes`` for an evidence upload),
    413 ``too_large`` over it, the API rate limit per client address, and a JSON body's depth
    and text (:func:`check_json`, 422). After: the CSRF
    cookie when a handler issued a nonce, security headers (CSP everywhere but ``/static``,
    ``Permissions-Policy``, no ``server``), and a ``Cache-Control`` default of ``no-store``
    (handlers of published data set their own).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path: str = scope["path"]
        settings = scope["app"].state.web.settings
        limit = settings.max_body_bytes
        if scope["method"] == "POST" and EVIDENCE_UPLOAD.match(path):
            limit = settings.max_evidence_bytes  # the routes that take files
        elif scope["method"] == "POST" and DATA_UPLOAD.match(path):
            limit = settings.max_upload_bytes
        elif scope["method"] == "POST" and CITIZEN_REPORT.match(path):
            limit = settings.max_body_bytes + settings.max_report_photo_bytes
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > limit:
            too_big = JSONResponse(
                errors.body_for(request, "too_large", f"request body over {limit} bytes"),
                status_code=413,
                headers={"Cache-Control": "no-store"},
            )
            await too_big(scope, receive, send)
            return
        received = 0

        async def bounded_receive() -> Message:
            # a chunked body has no Content-Length: count what arrives
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise errors.TooLarge("body", f"at most {limit} bytes", received)
            return message

        if path.startswith("/api/"):
            ctx: WebContext = scope["app"].state.web
            try:
                ctx.api_limiter.hit(client_address(request), "requests")
            except errors.RateLimited as exc:
                response = await errors.bishui_error(request, exc)
                await response(scope, receive, send)
                return

        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            # a NUL in a query value (no parameter takes one; PostgreSQL text cannot hold it)
            bad_query = JSONResponse(
                errors.body_for(
                    request, "invalid_input", "query: no parameter may contain U+0000",
                    field="query", rule="no U+0000", value=None,
                ),
                status_code=422,
                headers={"Cache-Control": "no-store"},
            )  # fmt: skip
            await bad_query(scope, receive, send)
            return

        if (
            _json_body(scope, request)
            and not EVIDENCE_UPLOAD.match(path)
            and not DATA_UPLOAD.match(path)
        ):
            # A JSON body is read here (it is bounded by the limit above) and checked before
            # any handler parses it: too deep a nesting or a string that is not text (a lone
            # UTF-16 surrogate, "\ud800") is 422 here instead of a crash further in.
            chunks: list[bytes] = []
            try:
                while True:
                    message = await bounded_receive()
                    if message["type"] != "http.request":
                        break
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body"):
                        break
            except errors.TooLarge as exc:
                response = await errors.bishui_error(request, exc)
                await response(scope, receive, send)
                return
            body = b"".join(chunks)
            problem = check_json(body)
            if problem is not None:
                bad = JSONResponse(
                    errors.body_for(
                        request,
                        "invalid_input",
                        f"body: {problem}",
                        field="body",
                        rule=problem,
                        value=None,
                    ),
                    status_code=422,
                    headers={"Cache-Control": "no-store"},
                )
                await bad(scope, receive, send)
                return
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            bounded_receive = replay

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                h = MutableHeaders(scope=message)
                nonce = scope.get("state", {}).get("csrf_nonce")
                if nonce and request.cookies.get(CSRF_COOKIE) != nonce:
                    cookie = Response()
                    cookie.set_cookie(
                        CSRF_COOKIE,
                        nonce,
                        httponly=True,
                        samesite="lax",
                        secure=secure_cookies(request),
                        path="/",
                    )
                    h.append("set-cookie", cookie.headers["set-cookie"])
                h.setdefault("X-Content-Type-Options", "nosniff")
                h.setdefault("Referrer-Policy", "same-origin")
                h.setdefault("X-Frame-Options", "DENY")
                h.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
                if "server" in h:
                    del h["server"]  # no banner naming the server and its version
                if path.startswith("/static/"):
                    h.setdefault("Cache-Control", "public, max-age=86400")
                else:
                    h.setdefault("Content-Security-Policy", CSP)
                h.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, bounded_receive, send_with_headers)


def _json_body(scope: Scope, request: Request) -> bool:
    if scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
        return False
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _json_depth(body: bytes, limit: int) -> int:
    """How deep the JSON text nests, counted outside strings, stopping past *limit*."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return 0  # it cannot nest deeper than it opens: no need to scan
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:  # bounded by max_body_bytes
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def check_json(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why a JSON request body is refused (nesting deeper than *max_depth*, a string that
    is not valid Unicode text), or None. Malformed JSON is left to the request validation.
    The depth is checked before parsing: the parser recurses."""
    if _json_depth(body, max_depth) > max_depth:
        return f"JSON nested deeper than {max_depth} levels"
    try:
        value = json.loads(body)
    except ValueError:
        return None
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return "strings must be valid Unicode text (no lone surrogates such as \\ud800)"
            if "\x00" in v:  # PostgreSQL text cannot hold it; no field needs it
                return "strings must not contain U+0000"
    return None


def secure_cookies(request: Request) -> bool:
    from bishui.web.auth import forwarded_https

    mode = request.app.state.web.settings.cookie_secure
    if mode != "auto":
        return mode == "always"
    return request.url.scheme == "https" or forwarded_https(request)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What every uvicorn running the app is told: no ``server`` banner, and no belief in
    forwarded headers — the app reads them itself, from ``trusted_proxies`` only
    (:func:`bishui.web.auth.client_address`)."""
    return {"server_header": False, "proxy_headers": False, "forwarded_allow_ips": ""}


def serve(store: Store, settings: Settings | None = None) -> None:
    """Run the app with uvicorn on ``settings.host:settings.port`` until interrupted."""
    import uvicorn

    settings = settings or Settings()
    settings.resolve_secret(required=True)  # refuse to start without a real secret
    uvicorn.run(
        create_app(store, settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        # the store has one writer; several worker processes would each open it
        workers=1,
        **uvicorn_options(settings),
    )
