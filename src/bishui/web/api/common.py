"""What the API routers share: response helpers, time formatting, paging, caching."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from pydantic import AfterValidator, BaseModel, Field

from bishui.errors import InputError
from bishui.registry.model import Site
from bishui.store import Store
from bishui.timeutil import to_beijing_naive
from bishui.web.auth import Principal
from bishui.web.i18n import language
from bishui.web.settings import Settings

#: The platform's range of dates: every date, time and period a request names falls in it
#: (422 otherwise — year 1 or 9999 would overflow the arithmetic of a window around it).
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2100, 12, 31)
#: A period's year in the same range, for the period patterns (YYYY, YYYY-MM, …).
YEAR = r"(20\d{2}|2100)"


def _in_range_day(d: dt.date) -> dt.date:
    if not FIRST_DAY <= d <= LAST_DAY:
        raise ValueError(f"a date from {FIRST_DAY} to {LAST_DAY}")
    return d


def _in_range_time(t: dt.datetime) -> dt.datetime:
    # the wall date first: converting year 1 or 9999 to Beijing time would itself overflow
    _in_range_day(t.date())
    if t.tzinfo is not None:
        _in_range_day(to_beijing_naive(t).date())
    return t


#: A date query parameter (or body field) within the platform's range.
Day = Annotated[dt.date, AfterValidator(_in_range_day)]
#: A date-time query parameter (or body field) within the platform's range.
Moment = Annotated[dt.datetime, AfterValidator(_in_range_time)]


# ------------------------------------------------------------------------------ sites
#: The fields of a site the overview snapshot's tables show (the public page's rows).
SNAPSHOT_FIELDS = ("id", "kind", "name", "region", "lon", "lat", "body", "target_class",
                   "enterprise")  # fmt: skip


def site_json(site: Site, fields: Sequence[str]) -> dict[str, Any]:
    """*fields* of a :class:`~bishui.registry.model.Site` as a JSON-ready dict: sites travel as
    records through the web layer and become dicts only at the response edge."""
    return {k: getattr(site, k) for k in fields}


# ------------------------------------------------------------------------------ preambles
def _web_store(request: Request) -> Store:
    store: Store = request.app.state.web.store
    return store


#: the application's store as a route parameter (``store: WebStore``), instead of each route
#: looking it up on ``request.app.state``
WebStore = Annotated[Store, Depends(_web_store)]


def _web_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.web.settings
    return settings


#: the application's settings as a route parameter (``settings: WebSettings``)
WebSettings = Annotated[Settings, Depends(_web_settings)]


def _web_context(request: Request) -> Any:
    return request.app.state.web


#: the application's web context (``bishui.web.app.WebContext``: store, settings, snapshot,
#: map layer, limiters) as a route parameter (``ctx: WebCtx``)
WebCtx = Annotated[Any, Depends(_web_context)]


def _page_language(request: Request, settings: WebSettings) -> str:
    return language(request, settings.language)


#: a page's language as a route parameter (``lang: PageLang``): the ``lang`` query parameter,
#: else the language cookie, else the settings' default (``web.language``)
PageLang = Annotated[str, Depends(_page_language)]


def _evidence_limit(settings: WebSettings) -> int:
    return settings.max_evidence_bytes


#: the largest evidence file accepted, the declared setting ``web.max_evidence_bytes``, as a
#: route parameter (``limit: EvidenceLimit``; the middleware enforces the same figure on the
#: upload's body before any handler runs)
EvidenceLimit = Annotated[int, Depends(_evidence_limit)]


# ------------------------------------------------------------------------------ paging
MAX_OFFSET = 10_000_000


@dataclass(frozen=True)
class Paging:
    """The one paging of the list routes: ``limit`` rows from ``offset``, and the page body."""

    limit: int
    offset: int

    def page(
        self, total: int, items: list[Any], key: str = "items", **before: Any
    ) -> dict[str, Any]:
        """``{"ok", **before, "total", "limit", "offset", key: items}``."""
        return {"ok": True, **before, "total": total, "limit": self.limit,
                "offset": self.offset, key: items}  # fmt: skip

    def window(self, rows: list[Any]) -> list[Any]:
        """This page of rows already in memory."""
        return rows[self.offset : self.offset + self.limit]


def _list_paging(
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Paging:
    return Paging(limit, offset)


def _settings_paging(
    request: Request,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Paging:
    settings = request.app.state.web.settings
    limit = limit or settings.page_size
    if limit > settings.max_page_size:
        raise InputError("limit", f"at most {settings.max_page_size}", limit)
    return Paging(limit, offset)


#: a page of a list the service pages: at most 1000 rows, 100 by default
ListPage = Annotated[Paging, Depends(_list_paging)]
#: a page sized by the settings: ``page_size`` by default, at most ``max_page_size``
SettingsPage = Annotated[Paging, Depends(_settings_paging)]


def iso(t: Any) -> str | None:
    """A stored (naive Beijing) time as ISO 8601 with its +08:00 offset."""
    if t is None:
        return None
    if isinstance(t, dt.datetime):
        return t.replace(tzinfo=None).isoformat() + "+08:00"
    return str(t)


def beijing(t: dt.datetime | None) -> dt.datetime | None:
    return None if t is None else to_beijing_naive(t)


def cache_for(response: Response, principal: Principal, request: Request) -> None:
    """Published (public) responses may be cached by anyone for a while; others never."""
    if principal.is_public:
        age = request.app.state.web.settings.public_max_age
        response.headers["Cache-Control"] = f"public, max-age={age}"
    else:
        response.headers["Cache-Control"] = "private, no-store"
    response.headers["Vary"] = "Cookie, Authorization"


class ErrorBody(BaseModel):
    """The one error shape."""

    ok: bool = False
    error: str = Field(description="machine-readable code, e.g. invalid_input, not_found")
    message: str = Field(
        description="for a person, in the caller's language (zh unless ?lang=en or the "
        "English switch's cookie)"
    )
    detail: str = Field("", description="the server's technical reason, in English")
    field: str | None = None
    rule: str | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "ok": False,
                    "error": "invalid_input",
                    "message": "end: at most 366 days after start (got '2027-06-01T00:00:00')",
                    "field": "end",
                    "rule": "at most 366 days after start",
                }
            ]
        }
    }


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "bad input"},
    401: {"model": ErrorBody, "description": "log in or send an API token"},
    403: {"model": ErrorBody, "description": "the role may not do this"},
    404: {"model": ErrorBody, "description": "not found (or not yours to see)"},
    422: {"model": ErrorBody, "description": "a parameter failed validation"},
    429: {"model": ErrorBody, "description": "rate limited"},
}
