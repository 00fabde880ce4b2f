"""The inspector's day (issue 16 item 9): who and where a task's enterprise is, the check-ins
with their distance from it, and the two on-site records (现场检查笔录, 调查询问笔录) filled
from the task as print-styled pages (:mod:`bishui.enforcement.inspection`).

The check-in itself is the task action ``check_in`` (``POST /tasks/{id}/check_in``, declared
with the other actions in :mod:`bishui.web.api.sources`).
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from bishui.enforcement import inspection
from bishui.enforcement import service as enf
from bishui.sources.cli import RULE_NAMES
from bishui.store import Store
from bishui.web.api.common import ERRORS, WebStore, cache_for
from bishui.web.api.sources import READERS, TASK_ID
from bishui.web.api.task_views import visible_task
from bishui.web.auth import STAFF, Principal, requires
from bishui.web.i18n import parameter_name

router = APIRouter(tags=["tasks"], responses=ERRORS)

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(FsPath(__file__).parent.parent / "templates"),
    autoescape=True,
)


def _findings(store: Store, task_id: str) -> list[str]:
    """The task's alerts in words (the facts the records put to the party)."""
    _, alerts = enf.list_alerts(store, "task_id = ?", [task_id], limit=1000)
    out = []
    for a in sorted(alerts, key=lambda a: (str(a["start_ts"]), a["id"])):
        start = str(a["start_ts"])[:16].replace("T", " ")
        end = str(a["end_ts"])[:16].replace("T", " ")
        what = RULE_NAMES.get(a["rule_id"], a["rule_id"])
        out.append(f"{start} 至 {end}，{parameter_name(a['pollutant'], 'zh')}{what}")
    return out


def _people(store: Store) -> dict[str, str]:
    return {
        r["username"]: r["display_name"] or r["username"]
        for r in store.query("SELECT username, display_name FROM users")
    }


class PartyOut(BaseModel):
    ok: bool = True
    party: dict[str, Any] = Field(
        description="name, uscc, address, legal_rep, contact, phone, region, lat, lon"
    )
    checkins: list[dict[str, Any]] = Field(
        description="the task's check-ins: lat, lon, accuracy [m], by, at, distance_m (from "
        "the registered location, when the registry has one)"
    )
    synthetic: bool = Field(description="the particulars are the demo's synthetic ones")


@router.get("/tasks/{task_id}/party", response_model=PartyOut,
            summary="Who and where a task's enterprise is, and the check-ins")  # fmt: skip
def task_party(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    response: Response,
    task_id: Annotated[str, Path(pattern=TASK_ID)],
) -> dict[str, Any]:
    t = visible_task(store, p, task_id)
    who = enf.party(store, t)
    cache_for(response, p, request)
    return {
        "ok": True,
        "party": {k: getattr(who, k) for k in who.__dataclass_fields__},
        "checkins": [dict(c) for c in t.checkins],
        "synthetic": "模拟" in who.name + who.address,
    }


@router.get(
    "/tasks/{task_id}/records/{kind}",
    response_class=HTMLResponse,
    summary="An on-site record filled from the task, as a printable page (zh-CN): "
    "inspection = 现场检查（勘察）笔录, inquiry = 调查询问笔录",
)
def task_record(
    store: WebStore,
    p: Annotated[Principal, requires(*STAFF, scope="scoped")],
    task_id: Annotated[str, Path(pattern=TASK_ID)],
    kind: Annotated[str, Path(pattern="^(inspection|inquiry)$")],
) -> HTMLResponse:
    t = visible_task(store, p, task_id)
    who = enf.party(store, t)
    record = inspection.fill(kind, t, who, _findings(store, task_id), _people(store))
    page = _ENV.get_template("record.html").render(
        r=record, synthetic="模拟" in who.name + who.address, rule_names=RULE_NAMES
    )
    return HTMLResponse(page, headers={"Cache-Control": "private, no-store"})
