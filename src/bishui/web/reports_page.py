"""The reports page: stored PDF reports to download (docs/reports.md).

Server-rendered (no script): the reports the caller may read (:func:`bishui.web.api.reports.
visible_kinds`), newest first, each with its period, version, generation time, the rules its
figures used, whether it rests on partial data, and a link to ``/api/v1/reports/{id}.pdf``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from bishui.reports import service
from bishui.web.api.reports import visible_kinds
from bishui.web.auth import ALL_ROLES, Principal, requires
from bishui.web.i18n import language, translator
from bishui.web.pages import NAV, NavItem, render

router = APIRouter(include_in_schema=False)

NAV.append(NavItem("/reports", "nav.reports", ALL_ROLES))
NAV.sort(key=lambda n: n.path == "/docs")  # keep the API docs link last


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    p: Annotated[Principal, requires(*ALL_ROLES, scope="scoped")],
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> HTMLResponse:
    """Stored reports to download."""
    store = request.app.state.web.store
    total, rows = service.list_reports(store, kinds=visible_kinds(p), limit=100, offset=offset)
    for r in rows:  # the standards or rule set the figures used, in one line
        rules = r["rules"] or {}
        r["rules_text"] = rules.get("standards") or rules.get("edition") or rules.get("sources", "")
    lang = language(request, request.app.state.web.settings.language)
    return render(
        request,
        "reports.html",
        {"T": translator(lang), "reports": rows, "total": total, "offset": offset},
        principal=p,
    )
