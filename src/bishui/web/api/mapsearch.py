"""Search on the map (issue 16 item 7): by enterprise name, unified social credit code
(GB 32100-2015), site name or site code, among the sites the caller may see.

The match is a case-insensitive substring of the site's name or code, or of its enterprise's
name or credit code (``strpos``, so ``%`` and ``_`` in a query are plain characters on both
backends). An exact code (site id or credit code) ranks first. The scope is the map's own
(:meth:`~bishui.web.auth.Principal.site_where`): the public finds the published air and water
sites only, an enterprise its own outlets and the published sites, a county its region's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from bishui.web.api.common import ERRORS, WebStore, cache_for
from bishui.web.auth import ALL_ROLES, Principal, requires

router = APIRouter(tags=["overview"], responses=ERRORS)

#: At most this many hits (the map shows a short list under the box).
MAX_HITS = 20


class Hit(BaseModel):
    id: str
    kind: str
    name: str
    region: str
    region_name: str | None
    lon: float | None
    lat: float | None
    uscc: str | None = Field(description="the enterprise's credit code (outlets only)")
    enterprise: str | None = Field(description="the enterprise's name (outlets only)")


class Hits(BaseModel):
    ok: bool = True
    q: str
    items: list[Hit]


@router.get("/search", response_model=Hits,
            summary="Find sites by enterprise name, credit code or site name")  # fmt: skip
def search(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES, scope="scoped")],
    response: Response,
    q: Annotated[str, Query(min_length=1, max_length=60, description="what to look for")],
) -> dict[str, Any]:
    needle = q.strip().lower()
    if not needle:
        return {"ok": True, "q": q, "items": []}
    where, params = p.site_where("s")
    found = (
        "(strpos(lower(s.name), ?) > 0 OR strpos(lower(s.id), ?) > 0 "
        "OR strpos(lower(coalesce(e.name, '')), ?) > 0 "
        "OR strpos(lower(coalesce(s.enterprise, '')), ?) > 0)"
    )
    rows = store.query(
        "SELECT s.id, s.kind, s.name, s.region, r.name AS region_name, s.lon, s.lat, "  # noqa: S608
        "s.enterprise AS uscc, e.name AS enterprise FROM sites s "
        "LEFT JOIN enterprises e ON e.uscc = s.enterprise "
        "LEFT JOIN regions r ON r.code = s.region "
        f"WHERE {where} AND {found} "
        "ORDER BY CASE WHEN lower(s.id) = ? OR lower(coalesce(s.enterprise, '')) = ? "
        "THEN 0 ELSE 1 END, s.kind, s.id LIMIT ?",
        [*params, needle, needle, needle, needle, needle, needle, MAX_HITS],
    )
    cache_for(response, p, request)
    return {"ok": True, "q": q, "items": rows}
