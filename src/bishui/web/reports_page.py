"""The reports page: stored PDF reports to download, and a form to generate one
(docs/reports.md).

The list is server-rendered: the reports the caller may read (:func:`bishui.web.api.reports.
visible_kinds`), newest first, each named in the page's language (the PDF itself is the
published Chinese document), with its period, version, generation time, the rules its figures
used, whether it rests on partial data, and a link to ``/api/v1/reports/{id}.pdf``.

Administrators and analysts also get a form (kind and period; ``static/js/reports.js``) that
calls ``POST /api/v1/reports`` with the page's CSRF token, shows a refusal in the page's
language and reloads the list with the new report marked. The sources' report is offered only
to those who may read it (staff), as the API enforces.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from bishui.reports import service
from bishui.reports.content import KINDS
from bishui.timeutil import now_beijing
from bishui.web.api.reports import GENERATORS, REPORT_ID, visible_kinds
from bishui.web.auth import ALL_ROLES, Principal, requires
from bishui.web.i18n import language, translator
from bishui.web.pages import NAV, NavItem, render

router = APIRouter(include_in_schema=False)

NAV.append(NavItem("/reports", "nav.reports", ALL_ROLES))
NAV.sort(key=lambda n: n.path == "/docs")  # keep the API docs link last


def kind_title(kind: str, lang: str) -> str:
    """A report kind's name in *lang* (the PDF's Chinese title, or its English name)."""
    spec = KINDS.get(kind)
    if spec is None:
        return kind
    return spec["title_en"] if lang == "en" else spec["title"]


def default_period(form: str, today: dt.date) -> str:
    """The newest period of *form* a report can be made for on *today* (Beijing): yesterday,
    this month, this year."""
    if form == "day":
        return (today - dt.timedelta(days=1)).isoformat()
    if form == "month":
        return today.strftime("%Y-%m")
    return str(today.year)


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    p: Annotated[Principal, requires(*ALL_ROLES, scope="scoped")],
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    new: Annotated[str | None, Query(pattern=REPORT_ID, max_length=48)] = None,
) -> HTMLResponse:
    """Stored reports to download; the generation form for administrators and analysts."""
    store = request.app.state.web.store
    kinds = visible_kinds(p)
    total, rows = service.list_reports(store, kinds=kinds, limit=100, offset=offset)
    lang = language(request, request.app.state.web.settings.language)
    for r in rows:  # the standards or rule set the figures used, in one line
        rules = r["rules"] or {}
        r["rules_text"] = rules.get("standards") or rules.get("edition") or rules.get("sources", "")
        r["name"] = kind_title(r["kind"], lang)
    t = translator(lang)
    today = now_beijing().date()
    can_generate = p.role in GENERATORS
    choices: list[dict[str, Any]] = []
    if can_generate:
        for k in kinds:
            form = KINDS[k]["period"]
            choices.append(
                {
                    "kind": k,
                    "name": kind_title(k, lang),
                    "form": form,
                    "default": default_period(form, today),
                }
            )
    text = {
        k: t(f"reports.{k}")
        for k in (
            "form_day",
            "form_month",
            "form_year",
            "not_closed",
            "forbidden",
            "failed",
            "generating",
            "generated",
        )
    }
    return render(
        request,
        "reports.html",
        {
            "T": t,
            "reports": rows,
            "total": total,
            "offset": offset,
            "new_id": new,
            "can_generate": can_generate,
            "choices": choices,
            "reports_text": text,
        },
        principal=p,
    )
