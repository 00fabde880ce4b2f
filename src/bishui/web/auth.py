"""Who is asking, and may they: principals, the route-permission declaration, CSRF, rate limits.

Every route declares who may call it with :func:`requires`::

    @router.get("/sites")
    def sites(request: Request, p: Annotated[Principal, requires(*ALL_ROLES, scope="scoped")]):

``scope="all"`` means every allowed role sees the same thing; ``scope="scoped"`` means the
handler narrows what it returns with the principal's scope (:meth:`Principal.site_where`,
:meth:`Principal.can_see_site`): a county official sees their region's sites, an enterprise
its own outlets, and both (like the public) the published kinds. ``create_app`` refuses to
start if a route lacks exactly one declaration.

A request is authenticated by an ``Authorization: Bearer bsh_…`` API token, else by the
session cookie; without either it is the ``public`` role. A state-changing request that rides
on a session cookie must carry the CSRF token (form field ``csrf_token`` or header
``X-CSRF-Token``); token-authenticated requests need none (no ambient credential). The CSRF
token is an HMAC of a random nonce (its cookie) and of the session cookie, so it is bound to
the session.

A route publishing one kind of site data declares it, ``requires(*ALL_ROLES,
published=("air", "hour"))``: unless the caller is staff, the route answers only while that
kind (and period) is in ``public_kinds`` (``public_periods``) — the same settings that narrow
the sites (:meth:`Principal.site_where`).
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from bishui.errors import InputError, PermissionDenied
from bishui.registry.model import Site
from bishui.web import accounts
from bishui.web.accounts import ROLES, SESSION_COOKIE, User
from bishui.web.errors import RateLimited, Unauthenticated

ALL_ROLES: tuple[str, ...] = tuple(ROLES)
STAFF = ("admin", "analyst", "inspector", "chief")  # bureau staff: every site, read
LOGGED_IN = tuple(r for r in ROLES if r != "public")
#: The roles of the monitoring-and-enforcement loop — sources, findings, tasks and alerts: the
#: bureau's staff, a county for its region, an enterprise for its own sites. A domain office
#: (the exchange operator, the energy-saving office …) is not among them: it sees neither those
#: pages nor their links.
ENFORCEMENT_ROLES = (*STAFF, "county", "enterprise")
CSRF_COOKIE = "bishui_csrf"
CSRF_HEADER = "x-csrf-token"
SCOPES = ("all", "scoped")


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: an account (through a session or a token) or the public."""

    role: str
    username: str | None = None
    region: str | None = None
    enterprise: str | None = None
    via: str = "anonymous"  # "session" | "token" | "anonymous"
    regions: tuple[str, ...] = ()  # the county's region and the regions under it
    public_kinds: tuple[str, ...] = ("air", "water")
    public_periods: tuple[str, ...] = ("hour", "day")
    display_name: str | None = None

    @property
    def is_public(self) -> bool:
        return self.role == "public"

    @property
    def sees_everything(self) -> bool:
        return self.role in STAFF

    def owns_site(self, site: Site) -> bool:
        """Full access to this site's data (devices, every period)."""
        if self.sees_everything:
            return True
        if self.role == "county":
            return site.region in self.regions
        if self.role == "enterprise":
            return self.enterprise is not None and site.enterprise == self.enterprise
        return False

    def can_see_site(self, site: Site) -> bool:
        return self.owns_site(site) or site.kind in self.public_kinds

    def periods_for(self, site: Site) -> tuple[str, ...]:
        from bishui.store import PERIODS

        return PERIODS if self.owns_site(site) else self.public_periods

    def require_published(self, kind: str, period: str | None = None) -> None:
        """Refuse (401 for the public, 403 for a logged-in role) unless staff, or *kind* (and
        *period*) published: what ``requires(..., published=…)`` checks, and what a handler
        checks when the period comes with the request."""
        if self.sees_everything:
            return
        if kind not in self.public_kinds or (period and period not in self.public_periods):
            what = f"{kind} data" + (f" by {period}" if period else "")
            if self.is_public:
                raise Unauthenticated(f"{what} is not published; log in")
            raise PermissionDenied(f"{what} is not published")

    def site_where(self, alias: str = "") -> tuple[str, list[Any]]:
        """A SQL condition (``?`` parameters) selecting the sites this principal may see."""
        a = f"{alias}." if alias else ""
        kinds = ", ".join("?" for _ in self.public_kinds) or "NULL"
        published = f"{a}kind IN ({kinds})"
        if self.sees_everything:
            return "TRUE", []
        if self.role == "county":
            marks = ", ".join("?" for _ in self.regions) or "NULL"
            return f"({a}region IN ({marks}) OR {published})", [
                *self.regions,
                *self.public_kinds,
            ]
        if self.role == "enterprise":
            return f"({a}enterprise = ? OR {published})", [self.enterprise, *self.public_kinds]
        return published, list(self.public_kinds)


# -- rate limiting ------------------------------------------------------------------------------
class SlidingWindow:
    """At most *count* events per *seconds* for each key, in this process's memory.

    A single-process limit: behind several workers each enforces its own share. Memory stays
    bounded: keys with no recent events are dropped when the table grows.
    """

    def __init__(self, count: int, seconds: float, max_keys: int = 100_000) -> None:
        self.count, self.seconds, self.max_keys = count, seconds, max_keys
        self._hits: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, what: str) -> None:
        now = time.monotonic()
        with self._lock:
            q = self._hits.get(key)
            if q is None:
                if len(self._hits) >= self.max_keys:
                    self._prune(now)
                q = self._hits[key] = collections.deque()
            while q and q[0] <= now - self.seconds:
                q.popleft()
            if len(q) >= self.count:
                retry = max(1, int(q[0] + self.seconds - now) + 1)
                raise RateLimited(f"too many {what}; retry in {retry} s", retry)
            q.append(now)

    def _prune(self, now: float) -> None:
        for k in [k for k, q in self._hits.items() if not q or q[-1] <= now - self.seconds]:
            del self._hits[k]


def client_address(request: Request) -> str:
    """The client's address: the TCP peer, unless the peer is a trusted proxy
    (``trusted_proxies``); then the right-most address of ``X-Forwarded-For`` that is not
    itself a trusted proxy (what the proxy nearest to us saw — entries further left are the
    client's own say and can be forged)."""
    peer = request.client.host if request.client else "unknown"
    settings = request.app.state.web.settings
    if not settings.is_trusted_proxy(peer):
        return str(peer)
    hops = [h.strip() for v in request.headers.getlist("x-forwarded-for") for h in v.split(",")]
    for hop in reversed(hops):
        if hop and not settings.is_trusted_proxy(hop):
            return hop[:64]
    return str(peer)


def forwarded_https(request: Request) -> bool:
    """Whether a trusted proxy says the client used https (``X-Forwarded-Proto``)."""
    peer = request.client.host if request.client else ""
    settings = request.app.state.web.settings
    proto = request.headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
    return proto == "https" and settings.is_trusted_proxy(peer)


# -- CSRF ----------------------------------------------------------------------------------------
def csrf_token(request: Request) -> str:
    """The CSRF token for this browser: an HMAC of its CSRF cookie (issued when missing)."""
    nonce = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_nonce", None)
    if not nonce or len(nonce) > 100:
        nonce = secrets.token_urlsafe(24)
        request.state.csrf_nonce = nonce  # the response middleware sets the cookie
    return _sign(request, nonce)


def rotate_csrf(request: Request) -> None:
    """A new CSRF nonce (at login and logout, so a token from before does not carry over)."""
    request.state.csrf_nonce = secrets.token_urlsafe(24)
    request.state.csrf_rotated = True


def _sign(request: Request, nonce: str) -> str:
    # Bound to the session: a token read from one session (or from before login) is worthless
    # in another, even with the same CSRF cookie.
    secret: bytes = request.app.state.web.secret
    session = hashlib.sha256(request.cookies.get(SESSION_COOKIE, "").encode()).hexdigest()
    return hmac.new(secret, f"{nonce}\n{session}".encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request, supplied: str | None) -> None:
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or not supplied or not hmac.compare_digest(_sign(request, nonce), supplied):
        raise PermissionDenied("missing or invalid CSRF token; reload the page and try again")


# -- resolving and checking the caller -----------------------------------------------------------
def _credential_key(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    cookie = request.cookies.get(SESSION_COOKIE)
    credential = auth or (f"cookie {cookie}" if cookie else "")
    return hashlib.sha256(credential.encode()).hexdigest() if credential else ""


def _public(settings: Any) -> Principal:
    return Principal(
        "public", public_kinds=settings.public_kinds, public_periods=settings.public_periods
    )


def resolve_without_store(request: Request) -> Principal | None:
    """The principal if it is known without a query: cached, or no credential at all."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    ctx = request.app.state.web
    key = _credential_key(request)
    if not key:
        p = _public(ctx.settings)
        request.state.principal = p
        return p
    hit = ctx.auth_cache.get(key)
    if hit and hit[0] > time.monotonic() and hit[1] == accounts.generation():
        request.state.principal = hit[2]
        return hit[2]
    return None


def resolve(request: Request) -> Principal:
    """The principal behind *request* (cached on it); may query the store."""
    known = resolve_without_store(request)
    if known is not None:
        return known
    ctx = request.app.state.web
    user: User | None = None
    via = "anonymous"
    auth = request.headers.get("authorization", "")
    cookie = request.cookies.get(SESSION_COOKIE)
    key = _credential_key(request)
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer":
            raise Unauthenticated("Authorization must be 'Bearer <token>'")
        user = accounts.token_user(ctx.store, token.strip())
        if user is None:
            raise Unauthenticated("invalid, expired or revoked API token")
        via = "token"
    elif cookie:
        user = accounts.session_user(ctx.store, cookie)
        if user:
            via = "session"
    settings = ctx.settings
    if user is None:
        p = _public(settings)
    else:
        regions: tuple[str, ...] = ()
        if user.region:
            rows = ctx.store.query(
                "SELECT code FROM regions WHERE code = ? OR parent = ?", [user.region] * 2
            )
            regions = (user.region, *(r["code"] for r in rows if r["code"] != user.region))
        p = Principal(
            user.role,
            user.username,
            user.region,
            user.enterprise,
            via,
            regions,
            settings.public_kinds,
            settings.public_periods,
            user.display_name,
        )
    if user is not None and ctx.settings.auth_cache_seconds > 0:
        if len(ctx.auth_cache) > 10_000:
            ctx.auth_cache.clear()
        expires = time.monotonic() + ctx.settings.auth_cache_seconds
        ctx.auth_cache[key] = (expires, accounts.generation(), p)
    request.state.principal = p
    return p


@dataclass(frozen=True)
class Access:
    """The permission a route declares: which roles, and whether its data is scoped."""

    roles: frozenset[str]
    scope: str
    csrf_exempt: bool = field(default=False)
    published: tuple[str, str | None] | None = None  # (site kind, period or None)

    async def __call__(self, request: Request) -> Principal:
        # A lookup in the store runs in the thread pool: the event loop may be shared with the
        # HJ 212 gateway (bishui.runtime), which must never wait on a query.
        known = resolve_without_store(request)
        p: Principal = known if known is not None else await run_in_threadpool(resolve, request)
        if p.role not in self.roles:
            if p.is_public:
                raise Unauthenticated("log in or send an API token")
            raise PermissionDenied(f"the {p.role} role may not use this")
        if self.published is not None:
            p.require_published(*self.published)
        if (
            p.via == "session"
            and request.method not in ("GET", "HEAD", "OPTIONS")
            and not self.csrf_exempt
            and request.url.path.startswith("/api/")
        ):
            # Forms check their csrf_token field themselves; JSON calls send the header.
            check_csrf(request, request.headers.get(CSRF_HEADER))
        return p


def requires(
    *roles: str,
    scope: str = "all",
    csrf_exempt: bool = False,
    published: tuple[str, str | None] | None = None,
) -> Any:
    """Declare the roles a route allows, whether it scopes its data, and which published kind
    (and period) of site data it serves (see module doc)."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise InputError("roles", f"one or more of {', '.join(ROLES)}", sorted(unknown))
    if scope not in SCOPES:
        raise InputError("scope", f"one of {', '.join(SCOPES)}", scope)
    return Depends(Access(frozenset(roles), scope, csrf_exempt, published))


def route_access(route: Any) -> list[Access]:
    """Every :class:`Access` declared on a route (its dependency tree, walked)."""
    found: list[Access] = []
    stack: list[Any] = [route.dependant]
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Access):
            found.append(dep.call)
        stack.extend(dep.dependencies)
    return found


def api_routes(routes: Sequence[Any]) -> list[tuple[str, Any]]:
    """Every FastAPI route as (full path, route), through included routers."""
    from fastapi.routing import APIRoute

    try:  # FastAPI ≥ 0.160 keeps included routers as nodes of the route tree
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI copies routes into a flat list
        return [(r.path, r) for r in routes if isinstance(r, APIRoute)]
    return [
        (c.path or c.original_route.path, c.original_route)
        for c in iter_route_contexts(routes)
        if isinstance(c.original_route, APIRoute)
    ]


def check_routes(routes: Sequence[Any]) -> None:
    """Refuse an app where some API route or page does not declare exactly one permission."""
    for path, route in api_routes(routes):
        n = len(route_access(route))
        if n != 1:
            raise PermissionDenied(
                f"route {sorted(route.methods or ())} {path} declares {n} permissions; "
                "every route must declare exactly one with requires(...)"
            )
