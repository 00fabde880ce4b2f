"""Pollution sources and enforcement API: permits, findings, alerts, tasks and transitions.

Who sees what (``requires(..., scope="scoped")`` routes narrow by the caller):

* admin and analyst: everything (an admin also imports permits and acts as the supervisor on
  tasks: assign, reopen, escalate);
* inspector: every permit, finding and alert; the tasks assigned to them or to a team (the
  accounts carry no team membership, so every inspector is on the city brigade's regional
  teams ``team:<region>``) and unassigned ones — a task assigned to another inspector by name
  is not theirs; works the transitions (visit, evidence, dispose, verify, close);
* county official: what belongs to outlets and drinking-water sources of its region (read
  only);
* enterprise: its own permits, findings, alerts and tasks — never a drinking-water source's
  (``subject_kind = 'water_source'``: no enterprise) — and of its tasks only the declared
  subset of ``bishui.web.api.task_views``; may submit rectification evidence (files uploaded
  by ``bishui.web.api.evidence``, then ``POST /tasks/{id}/submit_rectification`` citing their
  ids);
* the public: nothing.

Each action is its own route, ``POST /tasks/{id}/<action>``, with its own declared body
(:data:`ACTION_BODIES`, unknown fields refused): only those fields reach the task machine and
the audit log, as a mapping. A refused transition
(:class:`~bishui.enforcement.tasks.TransitionRefused`) is 409 with the reason; a role that may
not take the action is 403.
"""

from __future__ import annotations

import datetime as dt
import inspect
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from bishui.enforcement import notify
from bishui.enforcement import service as enf
from bishui.enforcement import tasks as tk
from bishui.errors import InputError, NotFoundError
from bishui.sources import permit_store, permits_io, service, standards
from bishui.store import Store
from bishui.timeutil import now_beijing
from bishui.web import display
from bishui.web.api.common import ERRORS, YEAR, Day, ListPage, WebStore, cache_for
from bishui.web.api.task_views import (
    enforcement_scope,
    events_view,
    notifications_view,
    scope,
    task_scope,
    task_view,
    visible_task,
)
from bishui.web.auth import ENFORCEMENT_ROLES, Principal, requires

router = APIRouter(tags=["sources"], responses=ERRORS)

TASK_STATES = "^(" + "|".join(tk.State) + ")$"
READERS = ENFORCEMENT_ROLES
ACTORS = ("admin", "inspector", "chief", "enterprise")  # the task machine decides the rest
PERIOD = rf"^{YEAR}(-(0[1-9]|1[0-2])(-\d{{2}})?)?$"
TASK_ID = r"^T\d{8}-\d{4}$"
KEY = r"^[0-9a-f]{20}$"
ALERT_ID = r"^[0-9a-f]{20}([0-9a-f]{4})?$"  # a finding's key (20), a water alert's (24)
PERMIT_NO = r"^[0-9A-Za-z]{22}$"
ACTIONS = "|".join(a.value for a in tk.Action)
SEVERITY = r"^(info|low|medium|high)$"


class Page(BaseModel):
    ok: bool = True
    total: int
    limit: int
    offset: int
    items: list[dict[str, Any]]


# ------------------------------------------------------------------------------ permits
@router.get("/permits", response_model=Page, summary="Discharge permits (the version in force, "
            "or every version with history=true)")  # fmt: skip
def permits(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    response: Response,
    page: ListPage,
    history: bool = False,
    on: Annotated[Day | None, Query(description="date the version is in force")] = None,
) -> dict[str, Any]:
    where, params = scope(p, "e.region", "p.uscc")
    total, rows = permit_store.list_permits(
        store, where, params, history=history, on=on, limit=page.limit,
        offset=page.offset,
    )  # fmt: skip
    cache_for(response, p, request)
    lang = display.request_lang(request)
    for row in rows:  # the cited standard by its name beside the text as written
        for outlet in row.get("outlets") or ():
            for limit in outlet.get("limits") or ():
                limit["standard_name"] = standards.standard_name(limit.get("standard"), lang)
    return page.page(total, rows)


class CapUsage(BaseModel):
    ok: bool = True
    as_of: str
    items: list[dict[str, Any]] = Field(
        description="one row per permit in force and capped "
        "pollutant: cap_t, total_t, share, reached, projected"
    )


@router.get("/caps", response_model=CapUsage,
            summary="Use of the annual permitted quantities, year to date")  # fmt: skip
def caps(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    response: Response,
    on: Annotated[Day | None, Query(description="as of this day (default today)")] = None,
) -> dict[str, Any]:
    from bishui.sources.service import cap_usage

    day = on or now_beijing().date()
    usccs: list[str] | None = None
    if p.role == "enterprise":
        usccs = [p.enterprise or ""]
    elif p.role == "county":
        regions = set(p.regions)
        usccs = [e["uscc"] for e in store.rows("enterprises") if e["region"] in regions]
    cache_for(response, p, request)
    return {"ok": True, "as_of": day.isoformat(), "items": cap_usage(store, day, usccs=usccs)}


class PermitHistory(BaseModel):
    ok: bool = True
    permit_no: str
    versions: list[dict[str, Any]] = Field(description="every version and revision, oldest first")


@router.get("/permits/{permit_no}", response_model=PermitHistory,
            summary="One permit: every version and revision")  # fmt: skip
def permit(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    response: Response,
    permit_no: Annotated[str, Path(pattern=PERMIT_NO)],
) -> dict[str, Any]:
    rows = permit_store.permit_history(store, permit_no)
    if p.role == "enterprise" and rows[0]["uscc"] != p.enterprise:
        raise NotFoundError(f"permit {permit_no} does not exist")
    if p.role == "county":
        reg = store.query("SELECT region FROM enterprises WHERE uscc = ?", [rows[0]["uscc"]])
        if not reg or reg[0]["region"] not in p.regions:
            raise NotFoundError(f"permit {permit_no} does not exist")
    cache_for(response, p, request)
    return {"ok": True, "permit_no": rows[0]["permit_no"], "versions": rows}


class PermitImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    permits: list[dict[str, Any]] = Field(
        description="permit versions in the form of GET /permits (permits_io.permit_to_dict)",
        max_length=10_000,
    )


class ImportResult(BaseModel):
    ok: bool = True
    new: int
    revised: int
    unchanged: int


@router.post("/permits", response_model=ImportResult, summary="Import permit versions (admin)")
def import_permits(
    store: WebStore,
    p: Annotated[Principal, requires("admin")],
    body: Annotated[PermitImport, Body()],
) -> dict[str, Any]:
    items = []
    for i, d in enumerate(body.permits):
        try:
            items.append(permits_io.permit_from_dict(d))
        except InputError as e:
            raise InputError(f"permits[{i}].{e.field}", e.rule, e.value) from None
    counts = permit_store.record_permits(store, items, by=p.username or "admin")
    return {"ok": True, **counts}


# ------------------------------------------------------------------------------ findings
@router.get("/findings", response_model=Page, summary="Findings of the source checks")
def findings(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    response: Response,
    page: ListPage,
    period: Annotated[
        str | None, Query(pattern=PERIOD, description="2026, 2026-11, 2026-11-20")
    ] = None,
    site: Annotated[
        str | None, Query(max_length=40, description="outlet site id, site code or credit code")
    ] = None,
    rule: Annotated[str | None, Query(pattern=r"^[A-Z0-9]{2,12}$")] = None,
    severity: Annotated[str | None, Query(pattern=SEVERITY)] = None,
    pollutant: Annotated[str | None, Query(pattern=r"^[aw]\d{5}$")] = None,
) -> dict[str, Any]:
    start, end = service.parse_period(period) if period else (None, None)
    where, params = scope(p)
    total, rows = service.list_findings(
        store, where, params, start=start, end=end, site=site, rule=rule,
        severity=severity, pollutant=pollutant, limit=page.limit, offset=page.offset,
    )  # fmt: skip
    cache_for(response, p, request)
    lang = display.request_lang(request)
    return page.page(total, display.findings_display([_plain(r) for r in rows], lang, store))


def _plain(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.datetime | dt.date) else v for k, v in r.items()}


class FindingDetail(BaseModel):
    ok: bool = True
    finding: dict[str, Any] = Field(description="the stored row and its evidence (body)")


@router.get("/findings/{key}", response_model=FindingDetail,
            summary="One finding with its evidence, rule version and parameters")  # fmt: skip
def finding(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    response: Response,
    key: Annotated[str, Path(pattern=KEY)],
) -> dict[str, Any]:
    where, params = scope(p)
    total, _ = service.list_findings(store, f"{where} AND finding_key = ?",
                                     [*params, key], limit=1)  # fmt: skip
    f = service.get_finding(store, key) if total else None
    if f is None:
        raise NotFoundError(f"finding {key} does not exist")
    cache_for(response, p, request)
    return {"ok": True, "finding": _plain(f)}


# ------------------------------------------------------------------------------ alerts
@router.get("/alerts", response_model=Page, summary="Alerts raised from findings and from "
            "drinking-water source alerts (subject_kind)")  # fmt: skip
def alerts(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    response: Response,
    page: ListPage,
    state: Annotated[str | None, Query(pattern=r"^(new|tasked|dismissed)$")] = None,
) -> dict[str, Any]:
    where, params = enforcement_scope(p)
    total, rows = enf.list_alerts(store, where, params, state=state,
                                  limit=page.limit, offset=page.offset)  # fmt: skip
    cache_for(response, p, request)
    lang = display.request_lang(request)
    items = [_plain(r) for r in rows]
    if p.role == "enterprise":  # who of the bureau acknowledged, and when, is internal
        for a in items:
            a.pop("ack_by", None)
            a.pop("ack_at", None)
    return page.page(total, display.findings_display(items, lang, store))


# ------------------------------------------------------------------------------ tasks
class Dismissal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="why no task is needed")


@router.post("/alerts/{alert_id}/dismiss", summary="Dismiss a new alert with its reason "
             "(inspector, admin)")  # fmt: skip
def dismiss_alert(
    store: WebStore,
    p: Annotated[Principal, requires("admin", "inspector")],
    alert_id: Annotated[str, Path(pattern=ALERT_ID)],
    body: Dismissal,
) -> dict[str, Any]:
    actor = tk.Actor(p.username or p.role, enf.TASK_ROLES[p.role], p.enterprise or "")
    return {"ok": True, **enf.dismiss_alert(store, alert_id, actor, body.reason)}


@router.get("/tasks", response_model=Page, summary="Enforcement tasks (snapshots)")
def tasks(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    response: Response,
    page: ListPage,
    state: Annotated[str | None, Query(pattern=TASK_STATES)] = None,
) -> dict[str, Any]:
    where, params = task_scope(p)
    total, rows = enf.list_tasks(store, where, params, state=state,
                                 limit=page.limit, offset=page.offset)  # fmt: skip
    cache_for(response, p, request)
    lang = display.request_lang(request)
    return page.page(total, display.tasks_display([task_view(r, p) for r in rows], lang, store))


class TaskDetail(BaseModel):
    ok: bool = True
    task: dict[str, Any] = Field(description="the task with its allowed_actions")
    events: list[dict[str, Any]] = Field(description="its audit events, in order")
    notifications: list[dict[str, Any]]
    alerts: list[dict[str, Any]] = Field(
        default_factory=list,
        description="the alerts that opened or joined it (an alert's task_id), oldest first",
    )


@router.get("/tasks/{task_id}", response_model=TaskDetail,
            summary="One task: state, visits, evidence, disposal, audit trail")  # fmt: skip
def task(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    response: Response,
    task_id: Annotated[str, Path(pattern=TASK_ID)],
) -> dict[str, Any]:
    t = visible_task(store, p, task_id)
    events = [
        {"seq": e.seq, "time": e.time.isoformat(), "actor": e.actor, "role": str(e.role),
         "action": e.action, "from": e.from_state, "to": e.to_state, "payload": dict(e.payload),
         "hash": e.hash}
        for e in enf.audit_events(store, t.subject)
    ]  # fmt: skip
    notes = notifications_view((_plain(n) for n in enf.notifications(store, task_id)), p)
    lang = display.request_lang(request)
    view = display.tasks_display([task_view(t, p)], lang, store)[0]
    events = display.decorate(
        events_view(events, t.as_dict(), p), lang, store,
        {"action": "task_action", "from": "task_state", "to": "task_state"},
    )  # fmt: skip
    # The task's own alert_ids are those it was opened with; alerts that joined it later point
    # to it (task_id), so the inspector sees every episode behind the task here.
    _, linked = enf.list_alerts(store, "task_id = ?", [task_id], limit=1000)
    alerts = sorted((_plain(a) for a in linked), key=lambda a: (str(a["start_ts"]), a["id"]))
    alerts = display.findings_display(alerts, lang, store)
    cache_for(response, p, request)
    return {"ok": True, "task": view, "events": events, "notifications": notes,
            "alerts": alerts}  # fmt: skip


class Transitioned(BaseModel):
    ok: bool = True
    task: dict[str, Any]
    event: dict[str, Any]


# ---- the declared body of each action: nothing else reaches the machine or the audit log ----
Note = Annotated[str, Field(max_length=4000)]
FileIds = Annotated[
    list[Annotated[str, Field(max_length=64)]],
    Field(max_length=50, description="ids of files uploaded to this task (POST …/files)"),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssignBody(_Body):
    assignee: str = Field(min_length=1, max_length=100, description="inspector or team:<region>")
    kind: Literal["inspector", "team"] = "inspector"


class VisitBody(_Body):
    note: Note = Field(min_length=1)
    files: FileIds | None = None


class EvidenceBody(_Body):
    files: FileIds
    note: Note | None = None


class DisposeBody(_Body):
    kind: Literal["rectification_order", "penalty", "false_alarm"]
    due: Day | None = Field(None, description="rectification_order: the due date")
    reason: Note | None = Field(None, description="false_alarm: why")
    article: str | None = Field(None, max_length=200, description="penalty: the article")
    amount: Decimal | None = Field(
        None, ge=0, le=Decimal("1e10"), max_digits=14, decimal_places=2,
        description="penalty: the amount [yuan]",
    )  # fmt: skip
    requirement: Note | None = Field(
        None, description="rectification_order: what the enterprise must rectify"
    )
    note: Note | None = None


class RectificationBody(_Body):
    files: FileIds
    note: Note | None = None


class VerifyBody(_Body):
    accepted: bool = True
    note: Note | None = None


class NoteBody(_Body):
    note: Note | None = None


class ReopenBody(_Body):
    reason: Note | None = Field(None, description="required: why the task is reopened")


class RejectBody(_Body):
    reason: Note | None = Field(None, description="required: why the disposal is rejected")


class CheckInBody(_Body):
    """The device's position (browser Geolocation API, WGS 84) at the enterprise."""

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False, description="latitude [°]")
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False, description="longitude [°]")
    accuracy: float | None = Field(
        None, ge=0, le=1e7, allow_inf_nan=False, description="radius of 95 % confidence [m]"
    )
    fixed_at: dt.datetime | None = Field(None, description="when the device took the fix")


#: Every action's body model (``bishui.enforcement.tasks.Action``).
ACTION_BODIES: dict[tk.Action, type[_Body]] = {
    tk.Action.ASSIGN: AssignBody,
    tk.Action.VISIT: VisitBody,
    tk.Action.ADD_EVIDENCE: EvidenceBody,
    tk.Action.DISPOSE: DisposeBody,
    tk.Action.SUBMIT_RECTIFICATION: RectificationBody,
    tk.Action.VERIFY_RECTIFICATION: VerifyBody,
    tk.Action.CLOSE: NoteBody,
    tk.Action.ESCALATE: NoteBody,
    tk.Action.REOPEN: ReopenBody,
    tk.Action.APPROVE: NoteBody,
    tk.Action.REJECT: RejectBody,
    tk.Action.CHECK_IN: CheckInBody,
}


def _transition(
    store: Store, p: Principal, task_id: str, action: tk.Action, body: _Body | None
) -> dict[str, Any]:
    visible_task(store, p, task_id)
    actor = tk.Actor(p.username or p.role, enf.TASK_ROLES[p.role], p.enterprise or "")
    # Only the declared fields, as a mapping: never spread into keyword arguments.
    payload = body.model_dump(exclude_none=True, mode="python") if body is not None else {}
    t, ev = enf.act(store, task_id, action, actor, payload,
                    sender=notify.LoggingSender())  # fmt: skip
    return {"ok": True, "task": task_view(t, p),
            "event": {"seq": ev.seq, "action": ev.action, "from": ev.from_state,
                      "to": ev.to_state, "hash": ev.hash}}  # fmt: skip


def _action_route(action: tk.Action, model: type[_Body]) -> None:
    def handler(
        store: Store,
        p: Principal,
        task_id: str,
        body: _Body | None = None,
    ) -> dict[str, Any]:
        return _transition(store, p, task_id, action, body)

    # The signature FastAPI reads, with this action's own body model.
    handler.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("store", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                              annotation=WebStore),
            inspect.Parameter("p", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                              annotation=Annotated[Principal, requires(*ACTORS, scope="scoped")]),
            inspect.Parameter("task_id", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                              annotation=Annotated[str, Path(pattern=TASK_ID)]),
            inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                              annotation=Annotated[model | None, Body()]),
        ],
        return_annotation=dict[str, Any],
    )  # fmt: skip
    handler.__name__ = f"task_{action.value}"
    router.add_api_route(
        f"/tasks/{{task_id}}/{action.value}", handler, methods=["POST"],
        response_model=Transitioned, name=f"task_{action.value}",
        summary=f"Take the action {action.value} on a task (its declared body only)",
    )  # fmt: skip


for _action, _model in ACTION_BODIES.items():
    _action_route(_action, _model)
