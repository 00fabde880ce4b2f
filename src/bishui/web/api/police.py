"""Environmental police and joint operations API (环保警察与联合执法, issue 20 item 2).

Who sees what: bureau staff see every transfer case and operation; the police (role
``police``) see only the cases transferred to them (:func:`bishui.police.service.get_case`
with ``police_only``: any other case is 404) and the operations, which they run with the
bureau. Inspectors (and the head, ``chief``/``admin``) propose and send transfers; the head
approves; the police accept, return, ask for materials and record the outcome — the case
machine (:mod:`bishui.police.transfer`) refuses what a role may not do. Every write is audited
(``police_audit``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from bishui.enforcement import evidence
from bishui.export_header import header_rows
from bishui.police import operations as op
from bishui.police import service
from bishui.police import transfer as tr
from bishui.police.rules import load_rules
from bishui.web.api.common import ERRORS, WebStore
from bishui.web.auth import STAFF, Principal, requires
from bishui.web.export import table_response

router = APIRouter(prefix="/police", tags=["police"], responses=ERRORS)

READERS = (*STAFF, "police")
CASE_ACTORS = ("admin", "chief", "inspector", "police")
PROPOSERS = ("admin", "chief", "inspector")
PLANNERS = ("admin", "chief", "inspector")
VISITORS = ("admin", "chief", "inspector", "police")
CASE_ID = r"^YS\d{8}-\d{3,6}$"
OP_ID = r"^OP\d{8}-\d{2,4}$"
ACTION = r"^[a-z_]{2,30}$"
FMT = r"^(csv|xlsx)$"
EXPORT_MAX = 10_000  # rows in one download


def police_only(p: Principal) -> bool:
    return p.role == "police"


class Items(BaseModel):
    ok: bool = True
    total: int = 0
    items: list[dict[str, Any]]


class One(BaseModel):
    ok: bool = True
    item: dict[str, Any]


class Proposal(BaseModel):
    task_id: str = Field(max_length=40, examples=["T20261207-0001"])
    report: str = Field(max_length=4000, examples=["现场发现暗管直排，涉嫌严重污染环境。"])
    officers: list[str] = Field(max_length=20, examples=[["张明", "李华"]])
    articles: list[str] = Field(max_length=20, examples=[["ord310-5", "jsi-2023-7"]])


class CaseAction(BaseModel):
    reason: str | None = Field(None, max_length=4000)
    note: str | None = Field(None, max_length=4000)
    police_case_no: str | None = Field(None, max_length=60)
    outcome: str | None = Field(None, max_length=40)


class Plan(BaseModel):
    name: str = Field(max_length=200, examples=["零点行动·竹皮河沿线"])
    kind: str = Field(pattern="^(joint|night)$", examples=["night"])
    start: str = Field(max_length=40, examples=["2026-12-07T22:00"])
    end: str = Field(max_length=40, examples=["2026-12-08T04:00"])
    targets: list[dict[str, str]] = Field(max_length=100, examples=[[{"uscc": "914208…"}]])
    team: list[dict[str, str]] = Field(
        max_length=100,
        examples=[[{"name": "张明", "agency": "bureau"}, {"name": "王强", "agency": "police"}]],
    )
    notes: str | None = Field(None, max_length=4000)


class OpAction(BaseModel):
    reason: str | None = Field(None, max_length=4000)
    summary: str | None = Field(None, max_length=4000)


class Visit(BaseModel):
    site: str = Field(max_length=40)
    at: str | None = Field(None, max_length=40, examples=["2026-12-08T00:30"])
    note: str | None = Field(None, max_length=4000)
    findings: list[dict[str, str]] = Field(default_factory=list, max_length=20)


@router.get("/legal-basis", response_model=Items,
            summary="The legal basis of transfers as data, with sources and tags")  # fmt: skip
def legal_basis(p: Annotated[Principal, requires(*READERS)]) -> dict[str, Any]:
    rules = load_rules()
    items = [a.as_dict() for a in rules.articles.values()]
    return {"ok": True, "total": len(items), "items": items}


@router.get("/cases", response_model=Items, summary="Transfer cases (the police: theirs only)")
def cases(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    state: Annotated[str | None, Query(pattern=ACTION)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    total, items = service.list_cases(store, police_only=police_only(p), state=state,
                                      limit=limit, offset=offset)  # fmt: skip
    return {"ok": True, "total": total, "items": items}


@router.post("/cases", response_model=One, status_code=201,
             summary="Propose transferring an enforcement task to the police")  # fmt: skip
def propose(
    store: WebStore,
    p: Annotated[Principal, requires(*PROPOSERS)],
    body: Annotated[Proposal, Body()],
) -> dict[str, Any]:
    c = service.propose(store, body.task_id, body.report, body.officers, body.articles,
                        by=p.username or "", role=p.role)  # fmt: skip
    return {"ok": True, "item": service.case_view(c, load_rules(), p.role)}


@router.get("/cases/export.{fmt}", summary="Transfer cases (CSV or xlsx; the police: theirs)")
def export_cases(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    fmt: Annotated[str, Path(pattern=FMT)],
    state: Annotated[str | None, Query(pattern=ACTION)] = None,
) -> Response:
    """Declared before ``/cases/{case_id}`` so that path does not capture it."""
    from bishui.web.police_page import STATE_NAMES

    rules = load_rules()
    _, raw = service.list_cases(store, police_only=police_only(p), state=state,
                                limit=EXPORT_MAX)  # fmt: skip
    usccs = sorted({d["uscc"] for d in raw if d.get("uscc")})
    names: dict[str, str] = {}
    if usccs:
        marks = ", ".join("?" for _ in usccs)
        rows_ = store.query(f"SELECT uscc, name FROM enterprises WHERE uscc IN ({marks})", usccs)  # noqa: S608
        names = {r["uscc"]: r["name"] for r in rows_}
    head = ["案件编号", "执法任务", "案件名称", "当事单位", "状态", "公安立案编号", "处理结果",
            "时限", "是否超时", "法律依据"]  # fmt: skip
    rows = []
    for d in raw:
        v = service.case_view(tr.case_from_dict(d), rules, p.role)
        arts = [rules.articles[a] for a in v["articles"] if a in rules.articles]
        rows.append([
            v["id"], v["task_id"], v["title"], names.get(v["uscc"], v["uscc"] or v["site_code"]),
            STATE_NAMES.get(v["state"], (v["state"],))[0], v.get("police_case_no") or "",
            rules.outcomes.get(v["outcome"], v["outcome"]) if v.get("outcome") else "",
            (v["deadline"] or "")[:16].replace("T", " "), "是" if v["overdue"] else "否",
            "；".join((a.number if "号" in a.number else a.document) + a.article for a in arts),
        ])  # fmt: skip
    title = "移送至公安机关的案件" if police_only(p) else "移送案件"
    return table_response(head, rows, title, fmt, header_rows(title, synthetic=True))


@router.get("/cases/{case_id}", response_model=One, summary="A case with its deadline")
def case(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    case_id: Annotated[str, Path(pattern=CASE_ID)],
) -> dict[str, Any]:
    c = service.get_case(store, case_id, police_only=police_only(p))
    return {"ok": True, "item": service.case_view(c, load_rules(), p.role)}


@router.get("/cases/{case_id}/package", response_model=One,
            summary="The evidence package sent to the police, with its verification")  # fmt: skip
def package(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    case_id: Annotated[str, Path(pattern=CASE_ID)],
    version: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> dict[str, Any]:
    service.get_case(store, case_id, police_only=police_only(p))
    return {"ok": True, "item": service.get_package(store, case_id, version)}


@router.get(
    "/cases/{case_id}/files/{file_id}", response_class=Response,
    summary="Download a file of the case's package (attachment, its media type)",
    responses={200: {"description": "the file's bytes",
                     "content": {mt: {} for mt in evidence.MEDIA_TYPES}}},
)  # fmt: skip
def case_file(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    case_id: Annotated[str, Path(pattern=CASE_ID)],
    file_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
) -> Response:
    c = service.get_case(store, case_id, police_only=police_only(p))
    rec, content = service.case_file(store, c, file_id)
    return Response(content, media_type=rec.media_type, headers={
        "Content-Disposition": evidence.content_disposition(rec.name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store", "Vary": "Cookie, Authorization",
        "Repr-Digest": evidence.repr_digest(rec.sha256),
    })  # fmt: skip


@router.post(
    "/cases/{case_id}/{action}",
    response_model=One,
    summary="Take an action on a case (the machine refuses what a role may not do)",
)
def case_action(
    store: WebStore,
    p: Annotated[Principal, requires(*CASE_ACTORS)],
    case_id: Annotated[str, Path(pattern=CASE_ID)],
    action: Annotated[str, Path(pattern=ACTION)],
    body: Annotated[CaseAction, Body()],
) -> dict[str, Any]:
    payload = {k: v for k, v in body.model_dump().items() if v is not None}
    c = service.act(store, case_id, action, payload, by=p.username or "", role=p.role)
    return {"ok": True, "item": service.case_view(c, load_rules(), p.role)}


@router.get("/operations", response_model=Items, summary="Joint and night operations")
def operations(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    total, items = service.list_operations(store, limit, offset)
    return {"ok": True, "total": total, "items": items}


@router.post(
    "/operations",
    response_model=One,
    status_code=201,
    summary="Plan an operation: targets, team, time window (Asia/Shanghai)",
)
def plan(
    store: WebStore,
    p: Annotated[Principal, requires(*PLANNERS)],
    body: Annotated[Plan, Body()],
) -> dict[str, Any]:
    item = service.plan_operation(store, body.model_dump(), by=p.username or "", role=p.role)
    return {"ok": True, "item": item}


@router.get("/operations/export.{fmt}", summary="Joint and night operations (CSV or xlsx)")
def export_operations(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS)],
    fmt: Annotated[str, Path(pattern=FMT)],
) -> Response:
    """Declared before ``/operations/{op_id}`` so that path does not capture it."""
    from bishui.web.police_page import STATE_NAMES

    _, ops = service.list_operations(store, limit=EXPORT_MAX)
    head = ["编号", "名称", "类型", "状态", "开始（北京时间）", "结束（北京时间）", "检查对象数",
            "检查记录数", "人员", "行动小结"]  # fmt: skip
    rows = [[o["id"], o["name"], op.KINDS.get(o["kind"], o["kind"]),
             STATE_NAMES.get(o["state"], (o["state"],))[0],
             o["start"].replace("T", " ")[:16], o["end"].replace("T", " ")[:16],
             len(o.get("targets") or []), len(service.visits(store, o["id"])),
             "、".join(f"{m['name']}（{op.AGENCIES.get(m.get('agency', ''), '')}）"
                      for m in o.get("team") or []),
             o.get("summary") or ""] for o in ops]  # fmt: skip
    return table_response(head, rows, "联合执法行动", fmt,
                          header_rows("联合执法行动", synthetic=True))  # fmt: skip


@router.get("/operations/{op_id}", response_model=One, summary="An operation with its visits")
def operation(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS)],
    op_id: Annotated[str, Path(pattern=OP_ID)],
) -> dict[str, Any]:
    return {"ok": True, "item": service.get_operation(store, op_id)}


@router.post(
    "/operations/{op_id}/visits",
    response_model=One,
    status_code=201,
    summary="Record a visit and its findings (findings may raise enforcement tasks)",
)
def visit(
    store: WebStore,
    p: Annotated[Principal, requires(*VISITORS)],
    op_id: Annotated[str, Path(pattern=OP_ID)],
    body: Annotated[Visit, Body()],
) -> dict[str, Any]:
    item = service.record_visit(store, op_id, body.model_dump(), by=p.username or "",
                                role=p.role)  # fmt: skip
    return {"ok": True, "item": item}


@router.post(
    "/operations/{op_id}/{action}",
    response_model=One,
    summary="Start, finish (summary) or cancel (reason) an operation",
)
def operation_action(
    store: WebStore,
    p: Annotated[Principal, requires(*PLANNERS)],
    op_id: Annotated[str, Path(pattern=OP_ID)],
    action: Annotated[str, Path(pattern=ACTION)],
    body: Annotated[OpAction, Body()],
) -> dict[str, Any]:
    payload = {k: v for k, v in body.model_dump().items() if v is not None}
    item = service.operation_act(store, op_id, action, payload, by=p.username or "",
                                 role=p.role)  # fmt: skip
    return {"ok": True, "item": item}
