"""River and lake chiefs (河长制 / 湖长制) and volunteer supervisors API (issue 20, item 1 and
the volunteers of item 3; docs/governance.md).

Who sees what (:func:`bishui.rivers.service.scope_sections`): staff every section; a county
official its region's; a chief (``river_chief``) his sections and those under them; a
volunteer his area. A section, patrol or problem outside the caller's scope answers 404 as if
it did not exist. Patrols and problems are recorded by chiefs and volunteers on their own
sections; the registry (bodies, sections, chiefs, assignments, volunteers) is the
administrator's. Every write is audited (``river_audit``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from bishui.enforcement.evidence import content_disposition
from bishui.export_header import header_rows
from bishui.rivers import service
from bishui.rivers.rules import load_rules
from bishui.web.api.common import ERRORS, Day, WebStore
from bishui.web.auth import STAFF, Principal, requires
from bishui.web.export import table_response

router = APIRouter(prefix="/rivers", tags=["rivers"], responses=ERRORS)

READERS = (*STAFF, "county", "river_chief", "volunteer")
PATROLLERS = ("river_chief", "volunteer")
ADMIN = ("admin",)
PATROL_ID = r"^RP-[0-9a-f]{12}$"
PROBLEM_ID = r"^RQ-[0-9a-f]{12}$"
IDENT = r"^[A-Za-z0-9._-]{1,64}$"
MONTH = r"^(20\d{2}|2100)-(0[1-9]|1[0-2])$"
FMT = r"^(csv|xlsx)$"
EXPORT_MAX = 10_000  # rows in one download


def who(p: Principal) -> service.Who:
    return service.Who(p.username or p.role, p.role, tuple(p.regions))


class Items(BaseModel):
    ok: bool = True
    items: list[dict[str, Any]]


class Registry(BaseModel):
    bodies: list[dict[str, Any]] = Field(default_factory=list, max_length=500)
    sections: list[dict[str, Any]] = Field(default_factory=list, max_length=5000)
    chiefs: list[dict[str, Any]] = Field(default_factory=list, max_length=5000)
    assignments: list[dict[str, Any]] = Field(default_factory=list, max_length=5000)
    volunteers: list[dict[str, Any]] = Field(default_factory=list, max_length=5000)
    joint: list[dict[str, Any]] = Field(default_factory=list, max_length=100)


class Assign(BaseModel):
    chief: str = Field(pattern=IDENT)
    section: str = Field(pattern=IDENT)
    start: Day


class End(BaseModel):
    end: Day
    reason: str = Field(min_length=1, max_length=500)


class Volunteer(BaseModel):
    id: str = Field(pattern=IDENT)
    name: str = Field(min_length=1, max_length=100)
    username: str | None = Field(default=None, max_length=64)
    area: list[str] = Field(min_length=1, max_length=100)
    start: Day


class Start(BaseModel):
    section: str = Field(pattern=IDENT)


class Points(BaseModel):
    points: list[dict[str, Any]] = Field(min_length=1, max_length=2000)


class ProblemIn(BaseModel):
    category: str = Field(pattern=r"^[a-z_]{1,32}$")
    description: str = Field(min_length=1, max_length=2000)
    lat: float | None = None
    lon: float | None = None
    photos: list[str] = Field(default_factory=list, max_length=30)


class Note(BaseModel):
    note: str = Field(default="", max_length=2000)


class Reason(BaseModel):
    reason: str = Field(default="", max_length=500)


@router.get("/sections", response_model=Items, summary="Sections (河段/湖片) with their chiefs")
def sections(store: WebStore, p: Annotated[Principal, requires(*READERS, scope="scoped")]
             ) -> dict[str, Any]:  # fmt: skip
    return {"ok": True, "items": service.sections(store, who(p))}


@router.get("/chiefs", response_model=Items, summary="Chiefs and their assignments")
def chiefs(store: WebStore, p: Annotated[Principal, requires(*READERS, scope="scoped")]
           ) -> dict[str, Any]:  # fmt: skip
    return {"ok": True, "items": service.chiefs(store, who(p))}


@router.get("/chief", summary="A chief's page: sections, water quality, problems, coverage")
def chief(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    chief: Annotated[str | None, Query(pattern=IDENT)] = None,
    month: Annotated[str | None, Query(pattern=MONTH)] = None,
) -> dict[str, Any]:
    return {"ok": True, **service.chief_page(store, who(p), chief_id=chief, month=month)}


@router.get("/joint", response_model=Items, summary="Joint-control groups (联防联控) one may open")
def joint(store: WebStore, p: Annotated[Principal, requires(*READERS, scope="scoped")]
          ) -> dict[str, Any]:  # fmt: skip
    return {"ok": True, "items": service.joint_groups(store, who(p))}


@router.get("/joint/{group_id}", summary="One joint-control group: every member's sections")
def joint_group(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    group_id: Annotated[str, Path(pattern=IDENT)],
    month: Annotated[str | None, Query(pattern=MONTH)] = None,
) -> dict[str, Any]:
    return {"ok": True, **service.joint_view(store, who(p), group_id, month=month)}


@router.get("/patrols", response_model=Items, summary="Patrols of the visible sections")
def patrols(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    section: Annotated[str | None, Query(pattern=IDENT)] = None,
) -> dict[str, Any]:
    return {"ok": True, "items": service.patrols(store, who(p), section=section)}


@router.get("/patrols/export.{fmt}", summary="Patrols of the visible sections (CSV or xlsx)")
def export_patrols(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    fmt: Annotated[str, Path(pattern=FMT)],
    section: Annotated[str | None, Query(pattern=IDENT)] = None,
) -> Response:
    """Declared before ``/patrols/{patrol_id}`` so that path does not capture it."""
    from bishui.web.rivers_page import _WORDS

    def w(key: Any) -> str:
        return _WORDS.get(key, (str(key),))[0]

    head = ["编号", "河段", "巡河人类别", "巡河人", "状态", "开始时间", "结束时间",
            "里程(km)", "时长(min)", "有效"]  # fmt: skip
    rows = [[x["id"], x["section_name"], "河湖长" if x["patroller_kind"] == "chief" else
             "义务监督员" if x["patroller_kind"] == "volunteer" else x["patroller_kind"],
             x["username"], w(x["state"]), x["started"][:16].replace("T", " "),
             (x["ended"] or "")[:16].replace("T", " "), f"{x['distance_m'] / 1000:.1f}",
             str(x["duration_s"] // 60), w(x["valid"])]
            for x in service.patrols(store, who(p), section=section, limit=EXPORT_MAX)]  # fmt: skip
    return table_response(head, rows, "巡河记录", fmt, header_rows("巡河记录", synthetic=True))


@router.get("/patrols/{patrol_id}", summary="One patrol: track, photos, problems")
def patrol(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    patrol_id: Annotated[str, Path(pattern=PATROL_ID)],
) -> dict[str, Any]:
    return {"ok": True, **service.patrol(store, who(p), patrol_id)}


@router.get("/patrols/{patrol_id}/photos/{photo_id}", summary="A patrol photo's bytes")
def photo(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    patrol_id: Annotated[str, Path(pattern=PATROL_ID)],
    photo_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
) -> Response:
    rec, content = service.read_photo(store, who(p), patrol_id, photo_id)
    return Response(content, media_type=rec["media_type"],
                    headers={"Content-Disposition": content_disposition(rec["name"]),
                             "X-Content-Type-Options": "nosniff"})  # fmt: skip


@router.post("/patrols", summary="Start a patrol of one's own section (audited)")
def start(
    store: WebStore, p: Annotated[Principal, requires(*PATROLLERS)], body: Annotated[Start, Body()]
) -> dict[str, Any]:
    return {"ok": True, **service.start_patrol(store, who(p), body.section)}


@router.post("/patrols/{patrol_id}/points", summary="Append track points (size-limited)")
def points(
    store: WebStore,
    p: Annotated[Principal, requires(*PATROLLERS)],
    patrol_id: Annotated[str, Path(pattern=PATROL_ID)],
    body: Annotated[Points, Body()],
) -> dict[str, Any]:
    return {"ok": True, **service.add_points(store, who(p), patrol_id, body.points)}


@router.post("/patrols/{patrol_id}/photos", summary="Upload a patrol photo (checked, hashed)")
async def upload_photo(
    request: Request,
    p: Annotated[Principal, requires(*PATROLLERS)],
    patrol_id: Annotated[str, Path(pattern=PATROL_ID)],
    file: UploadFile,
) -> dict[str, Any]:
    from starlette.concurrency import run_in_threadpool

    limit = load_rules().max_photo_bytes
    content = await file.read(limit + 1)
    store = request.app.state.web.store
    name, media_type = file.filename or "photo", file.content_type or ""
    rec = await run_in_threadpool(
        service.add_photo, store, who(p), patrol_id, name, media_type, content
    )
    return {"ok": True, **rec}


@router.post("/patrols/{patrol_id}/problems", summary="Record a problem → enforcement task")
def problem(
    store: WebStore,
    p: Annotated[Principal, requires(*PATROLLERS)],
    patrol_id: Annotated[str, Path(pattern=PATROL_ID)],
    body: Annotated[ProblemIn, Body()],
) -> dict[str, Any]:
    q = service.record_problem(store, who(p), patrol_id, body.category, body.description,
                               lat=body.lat, lon=body.lon, photos=body.photos)  # fmt: skip
    return {"ok": True, **q}


@router.post("/patrols/{patrol_id}/submit", summary="Submit (end) a patrol")
def submit(
    store: WebStore,
    p: Annotated[Principal, requires(*PATROLLERS)],
    patrol_id: Annotated[str, Path(pattern=PATROL_ID)],
    body: Annotated[Note, Body()],
) -> dict[str, Any]:
    return {"ok": True, **service.submit_patrol(store, who(p), patrol_id, body.note)}


@router.post("/patrols/{patrol_id}/{action}", summary="Cancel (patroller) or void (admin)")
def close(
    store: WebStore,
    p: Annotated[Principal, requires(*PATROLLERS, *ADMIN)],
    patrol_id: Annotated[str, Path(pattern=PATROL_ID)],
    action: Annotated[str, Path(pattern=r"^(cancel|void)$")],
    body: Annotated[Reason, Body()],
) -> dict[str, Any]:
    return {"ok": True, **service.close_patrol(store, who(p), patrol_id, action, body.reason)}


@router.get("/problems", response_model=Items, summary="Problems with their task's state")
def problems(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    state: Annotated[str | None, Query(pattern=r"^[a-z]{1,16}$")] = None,
    section: Annotated[str | None, Query(pattern=IDENT)] = None,
) -> dict[str, Any]:
    return {"ok": True, "items": service.problems(store, who(p), state=state, section=section)}


@router.get("/problems/export.{fmt}", summary="Problems with their task (CSV or xlsx)")
def export_problems(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    fmt: Annotated[str, Path(pattern=FMT)],
    state: Annotated[str | None, Query(pattern=r"^[a-z]{1,16}$")] = None,
    section: Annotated[str | None, Query(pattern=IDENT)] = None,
) -> Response:
    from bishui.web.rivers_page import _WORDS

    cats = load_rules().categories
    head = ["编号", "河段", "问题类型", "情况描述", "责任部门", "状态", "执法任务", "任务状态",
            "办结时限", "记录人", "记录时间"]  # fmt: skip
    rows = [[q["id"], q["section_name"],
             cats[q["category"]].zh if q["category"] in cats else q["category"],
             q["description"], q["department"], _WORDS.get(q["state"], (q["state"],))[0],
             q["task_id"] or "", q["task_state"] or "", q["task_deadline"] or "",
             q["recorded_by"], (q["recorded_at"] or "")[:16].replace("T", " ")]
            for q in service.problems(store, who(p), state=state, section=section,
                                      limit=EXPORT_MAX)]  # fmt: skip
    return table_response(head, rows, "巡河问题", fmt, header_rows("巡河问题", synthetic=True))


@router.post("/problems/{problem_id}/{action}", summary="Confirm, dispute or withdraw a problem")
def problem_action(
    store: WebStore,
    p: Annotated[Principal, requires(*PATROLLERS, *ADMIN, scope="scoped")],
    problem_id: Annotated[str, Path(pattern=PROBLEM_ID)],
    action: Annotated[str, Path(pattern=r"^(confirm|dispute|withdraw)$")],
    body: Annotated[Reason, Body()],
) -> dict[str, Any]:
    return {"ok": True,
            **service.act_on_problem(store, who(p), problem_id, action, body.reason)}  # fmt: skip


@router.post("/registry", summary="Load bodies, sections, chiefs, assignments … (admin)")
def registry(
    store: WebStore, p: Annotated[Principal, requires(*ADMIN)], body: Annotated[Registry, Body()]
) -> dict[str, Any]:
    return {"ok": True, **service.load_registry(store, body.model_dump(), who(p))}


@router.post("/assignments", summary="Assign a chief to a section (admin)")
def assign(
    store: WebStore, p: Annotated[Principal, requires(*ADMIN)], body: Annotated[Assign, Body()]
) -> dict[str, Any]:
    aid = service.assign(store, who(p), body.chief, body.section, body.start)
    return {"ok": True, "id": aid}


@router.post("/assignments/{assignment_id}/end", summary="End an assignment (admin)")
def end(
    store: WebStore,
    p: Annotated[Principal, requires(*ADMIN)],
    assignment_id: Annotated[str, Path(pattern=r"^RA-[0-9a-f]{12}$")],
    body: Annotated[End, Body()],
) -> dict[str, Any]:
    service.end_assignment(store, who(p), assignment_id, body.end, body.reason)
    return {"ok": True, "id": assignment_id, "state": "ended"}


@router.post("/volunteers", summary="Enrol a volunteer supervisor with an area (admin)")
def enrol(
    store: WebStore, p: Annotated[Principal, requires(*ADMIN)],
    body: Annotated[Volunteer, Body()],
) -> dict[str, Any]:  # fmt: skip
    vid = service.enrol_volunteer(store, who(p), body.model_dump())
    return {"ok": True, "id": vid}


@router.post("/volunteers/{volunteer_id}/end", summary="End a volunteer's service (admin)")
def end_volunteer(
    store: WebStore,
    p: Annotated[Principal, requires(*ADMIN)],
    volunteer_id: Annotated[str, Path(pattern=IDENT)],
    body: Annotated[End, Body()],
) -> dict[str, Any]:
    service.end_volunteer(store, who(p), volunteer_id, body.end, body.reason)
    return {"ok": True, "id": volunteer_id, "state": "ended"}
