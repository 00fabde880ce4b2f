"""Ecological-damage cases and the project and fund register (issue 20 items 4–6;
``bishui.programmes``; docs/governance.md).

Who sees what: bureau staff (admin, analyst, inspector, chief) and the finance bureau see every
case and project; a county official those of its own region; an enterprise the damage cases in
which it is a liable party (赔偿义务人), nothing of the project register. Writes: the bureau's
case officers (admin, analyst, inspector, chief) move cases; the finance bureau records a
case's payments and a project's allocations and disbursements (with the administrator);
the register is kept by the administrator and analysts. Every write is audited in the
programmes' hash-chained log. Money is integer fen in and out.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from bishui.enforcement import evidence
from bishui.errors import InputError, NotFoundError
from bishui.export_header import header_rows
from bishui.programmes import damage as dm
from bishui.programmes import funds, money, service
from bishui.programmes import projects as pj
from bishui.web.api.common import ERRORS, EvidenceLimit, WebStore
from bishui.web.auth import STAFF, Principal, requires
from bishui.web.export import table_response

router = APIRouter(prefix="/programmes", tags=["programmes"], responses=ERRORS)

CASE_READERS = (*STAFF, "finance", "county", "enterprise")
OFFICERS = STAFF  # the designated department's case officers
CASE_ACTORS = (*OFFICERS, "finance")  # finance: only ``pay`` (the machine refuses the rest)
PROJECT_READERS = (*STAFF, "finance", "county")
REGISTRARS = ("admin", "analyst")
TREASURERS = ("admin", "finance")
FILE_UPLOADERS = (*OFFICERS, "finance")
ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"
FILE_ID = r"^[0-9a-f]{32}$"
FMT = r"^(csv|xlsx)$"  # the export formats (bishui.web.export)
MAX_ROWS = 1_000


def _role(p: Principal) -> dm.Role:
    return dm.Role.FINANCE if p.role == "finance" else dm.Role.OFFICER


def _by(p: Principal) -> str:
    return p.username or p.role


def counties_of(p: Principal) -> list[str] | None:
    return list(p.regions) if p.role == "county" else None


def visible_case(store: Any, p: Principal, case_id: str) -> dm.Case:
    """The case if *p* may see it; otherwise not found (its existence is not told)."""
    c = service.get_case(store, case_id)
    scope = counties_of(p)
    if (scope is not None and c.county not in scope) or (
        p.role == "enterprise" and (not p.enterprise or p.enterprise not in c.liable)
    ):
        raise NotFoundError(f"case {case_id} does not exist")
    return c


def visible_project(store: Any, p: Principal, project_id: str) -> dict[str, Any]:
    pr = service.get_project(store, project_id)
    scope = counties_of(p)
    if scope is not None and pr["county"] not in scope:
        raise NotFoundError(f"project {project_id} does not exist")
    return pr


def _subject(store: Any, p: Principal, kind: str, sid: str) -> str:
    if kind == "cases":
        visible_case(store, p, sid)
        return f"case:{sid}"
    if p.role == "enterprise":
        raise NotFoundError(f"project {sid} does not exist")
    visible_project(store, p, sid)
    return f"project:{sid}"


class Items(BaseModel):
    ok: bool = True
    items: list[dict[str, Any]]


class One(BaseModel):
    ok: bool = True
    item: dict[str, Any]


class Payload(BaseModel):
    payload: dict[str, Any] = Field(default_factory=dict, description="the action's fields")


class Rows(BaseModel):
    rows: list[dict[str, Any]] = Field(max_length=MAX_ROWS)


class Liable(BaseModel):
    liable: list[str] = Field(max_length=50, description="unified social credit codes")


# -- damage cases -------------------------------------------------------------------------------
@router.get("/cases", response_model=Items, summary="Ecological-damage cases (scoped)")
def list_cases(
    store: WebStore,
    p: Annotated[Principal, requires(*CASE_READERS, scope="scoped")],
    state: Annotated[str | None, Query(pattern="^[a-z_]{1,20}$")] = None,
) -> dict[str, Any]:
    uscc = (p.enterprise or "-") if p.role == "enterprise" else None
    cases = service.list_cases(store, counties_of(p), uscc, state)
    return {"ok": True, "items": [c.as_dict() for c in cases]}


@router.post("/cases", response_model=One, status_code=201, summary="Register a case (audited)")
def register_case(
    store: WebStore,
    p: Annotated[Principal, requires(*OFFICERS)],
    body: Annotated[dict[str, Any], Body(description="id, title, county, site, event_date, "
                                                     "lead_source, liable, claimant")],
) -> dict[str, Any]:  # fmt: skip
    c = service.register_case(store, body, _by(p), str(_role(p)))
    return {"ok": True, "item": c.as_dict()}


@router.get("/cases/export.{fmt}", summary="The cases as CSV or xlsx (scoped)")
def export_cases(
    store: WebStore,
    p: Annotated[Principal, requires(*CASE_READERS, scope="scoped")],
    fmt: Annotated[str, Path(pattern=FMT)],
) -> Response:
    uscc = (p.enterprise or "-") if p.role == "enterprise" else None
    head = ["编号", "案件", "区县", "地点", "损害发生日期", "线索来源", "赔偿义务人", "状态",
            "评估金额(元)", "协议/判决金额(元)", "已支付(元)", "未支付(元)"]  # fmt: skip
    rows = []
    for c in service.list_cases(store, counties_of(p), uscc):
        sch = c.schedule
        rows.append([
            c.id, c.title, c.county, c.site, c.event_date.isoformat(), c.lead_source,
            ";".join(c.liable), STATES_ZH[c.state],
            money.fen_to_yuan(int(c.appraisal["total_fen"])) if c.appraisal else "",
            money.fen_to_yuan(int(c.settlement["amount_fen"])) if c.settlement else "",
            money.fen_to_yuan(sch.paid_fen) if sch else "",
            money.fen_to_yuan(sch.outstanding_fen) if sch else "",
        ])  # fmt: skip
    return _export("damage-cases", fmt, "生态环境损害赔偿案件", head, rows)


@router.get("/cases/{case_id}", response_model=One, summary="One case with its audit trail")
def get_case(
    store: WebStore,
    p: Annotated[Principal, requires(*CASE_READERS, scope="scoped")],
    case_id: Annotated[str, Path(pattern=ID)],
) -> dict[str, Any]:
    c = visible_case(store, p, case_id)
    trail = [{"seq": e.seq, "time": e.time.isoformat(), "actor": e.actor, "action": e.action,
              "from": e.from_state, "to": e.to_state, "hash": e.hash}
             for e in service.audit_events(store, f"case:{case_id}", limit=500)]  # fmt: skip
    files = service.list_files(store, f"case:{case_id}")
    return {"ok": True, "item": {**c.as_dict(), "audit": trail, "files": files}}


@router.post("/cases/{case_id}/liable", response_model=One, summary="Name the liable parties")
def set_liable(
    store: WebStore,
    p: Annotated[Principal, requires(*OFFICERS)],
    case_id: Annotated[str, Path(pattern=ID)],
    body: Liable,
) -> dict[str, Any]:
    c = service.set_liable(store, case_id, body.liable, _by(p), str(_role(p)))
    return {"ok": True, "item": c.as_dict()}


@router.post("/cases/{case_id}/actions/{action}", response_model=One,
             summary="Take an action on a case (the state machine; audited)")  # fmt: skip
def act_case(
    store: WebStore,
    p: Annotated[Principal, requires(*CASE_ACTORS)],
    case_id: Annotated[str, Path(pattern=ID)],
    action: Annotated[str, Path(pattern="^[a-z_]{1,20}$")],
    body: Payload,
) -> dict[str, Any]:
    service.get_case(store, case_id)  # a missing case is 404 before anything else
    c = service.act_case(store, case_id, action, body.payload, _by(p), _role(p))
    return {"ok": True, "item": c.as_dict()}


# -- files (cases and projects) -----------------------------------------------------------------
_UPLOAD_BODY = {
    "required": True,
    "description": "the file's bytes; Content-Type is its media type",
    "content": {mt: {"schema": {"type": "string", "format": "binary"}}
                for mt in evidence.MEDIA_TYPES},
}  # fmt: skip
KIND = "^(cases|projects)$"


@router.post("/{kind}/{subject_id}/files", response_model=One, status_code=201,
             summary="Upload one evidence file (raw body, Content-Type its media type)",
             openapi_extra={"requestBody": _UPLOAD_BODY})  # fmt: skip
async def upload_file(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*FILE_UPLOADERS)],
    response: Response,
    kind: Annotated[str, Path(pattern=KIND)],
    subject_id: Annotated[str, Path(pattern=ID)],
    name: Annotated[str, Query(min_length=1, max_length=evidence.MAX_NAME)],
    limit: EvidenceLimit,
) -> dict[str, Any]:
    subject = await run_in_threadpool(_subject, store, p, kind, subject_id)
    content = await request.body()
    rec, created = await run_in_threadpool(
        service.add_file, store, subject, name, request.headers.get("content-type", ""), content,
        _by(p), str(_role(p)), max_bytes=limit,
    )  # fmt: skip
    if not created:
        response.status_code = 200
    return {"ok": True, "item": rec}


@router.get("/{kind}/{subject_id}/files", response_model=Items, summary="A subject's files")
def list_files(
    store: WebStore,
    p: Annotated[Principal, requires(*CASE_READERS, scope="scoped")],
    kind: Annotated[str, Path(pattern=KIND)],
    subject_id: Annotated[str, Path(pattern=ID)],
) -> dict[str, Any]:
    return {"ok": True, "items": service.list_files(store, _subject(store, p, kind, subject_id))}


@router.get("/{kind}/{subject_id}/files/{file_id}", summary="A file's bytes (attachment)")
def download_file(
    store: WebStore,
    p: Annotated[Principal, requires(*CASE_READERS, scope="scoped")],
    kind: Annotated[str, Path(pattern=KIND)],
    subject_id: Annotated[str, Path(pattern=ID)],
    file_id: Annotated[str, Path(pattern=FILE_ID)],
) -> Response:
    rec, content = service.read_file(store, _subject(store, p, kind, subject_id), file_id)
    return Response(content, media_type=rec["media_type"], headers={
        "Content-Disposition": evidence.content_disposition(rec["name"]),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Repr-Digest": evidence.repr_digest(rec["sha256"]),
    })  # fmt: skip


# -- projects and funds -------------------------------------------------------------------------
@router.get("/projects", response_model=Items, summary="The project register (scoped)")
def list_projects(
    store: WebStore,
    p: Annotated[Principal, requires(*PROJECT_READERS, scope="scoped")],
    programme: Annotated[str | None, Query(max_length=60)] = None,
) -> dict[str, Any]:
    return {"ok": True, "items": service.list_projects(store, counties_of(p), programme)}


@router.post("/projects", summary="Register projects (audited)", status_code=201)
def register_projects(
    store: WebStore, p: Annotated[Principal, requires(*REGISTRARS)], body: Rows
) -> dict[str, Any]:
    return {"ok": True, "rows": service.register_projects(store, body.rows, _by(p))}


@router.get("/projects/export.{fmt}", summary="The project register as CSV or xlsx (scoped)")
def export_projects(
    store: WebStore,
    p: Annotated[Principal, requires(*PROJECT_READERS, scope="scoped")],
    fmt: Annotated[str, Path(pattern=FMT)],
    programme: Annotated[str | None, Query(max_length=60)] = None,
) -> Response:
    head = ["编号", "项目", "类型", "区县", "业主", "计划", "状态", "预算(元)", "已下达(元)",
            "已拨付(元)", "结余(元)", "节点数", "已完成节点", "逾期节点", "督办任务",
            "示例数据"]  # fmt: skip
    rows = []
    for x in service.list_projects(store, counties_of(p), programme):
        f = x["funds"].values()
        ms = x["milestones"]
        rows.append([
            x["id"], x["name"], pj.KINDS[x["kind"]][0], x["county"], x["owner"], x["programme"],
            PROJECT_STATES_ZH[x["state"]], money.fen_to_yuan(x["budget_fen"]),
            money.fen_to_yuan(sum(b["allocated_fen"] for b in f)),
            money.fen_to_yuan(sum(b["disbursed_fen"] for b in f)),
            money.fen_to_yuan(sum(b["available_fen"] for b in f)), len(ms),
            sum(m["actual_on"] is not None for m in ms), sum(m["overdue"] for m in ms),
            ";".join(sorted({m["task_id"] for m in ms if m["task_id"]})),
            "是" if x["illustrative"] else "否",
        ])  # fmt: skip
    return _export("projects", fmt, "项目与资金", head, rows)


@router.get("/projects/{project_id}", response_model=One, summary="One project with its ledger")
def get_project(
    store: WebStore,
    p: Annotated[Principal, requires(*PROJECT_READERS, scope="scoped")],
    project_id: Annotated[str, Path(pattern=ID)],
) -> dict[str, Any]:
    pr = visible_project(store, p, project_id)
    files = service.list_files(store, f"project:{project_id}")  # photos, reports
    return {"ok": True, "item": {**pr, "ledger": service.ledger(store, project_id), "files": files}}


@router.post("/projects/{project_id}/actions/{action}", summary="A project transition (audited)")
def act_project(
    store: WebStore,
    p: Annotated[Principal, requires(*REGISTRARS)],
    project_id: Annotated[str, Path(pattern=ID)],
    action: Annotated[str, Path(pattern="^[a-z_]{1,20}$")],
    body: Payload,
) -> dict[str, Any]:
    state = service.act_project(store, project_id, action, body.payload, _by(p))
    return {"ok": True, "state": state}


@router.post("/projects/{project_id}/entries/{entry_kind}",
             summary="Allocate or disburse a project's money (audited; conserving)")  # fmt: skip
def post_entry(
    store: WebStore,
    p: Annotated[Principal, requires(*TREASURERS)],
    project_id: Annotated[str, Path(pattern=ID)],
    entry_kind: Annotated[str, Path(pattern="^(allocate|disburse)$")],
    body: Annotated[dict[str, Any], Body(description="fund, amount_fen, on, doc (, use)")],
) -> dict[str, Any]:
    if len(body) > 10:
        raise InputError("body", "at most 10 fields", len(body))
    rec = service.post_entry(store, project_id, entry_kind, body, _by(p), p.role)
    return {"ok": True, "entry": rec}


@router.get("/summary", summary="A programme's schedule and money at a glance (scoped)")
def summary(
    store: WebStore,
    p: Annotated[Principal, requires(*PROJECT_READERS, scope="scoped")],
    programme: Annotated[str, Query(min_length=1, max_length=60)] = "ww52",
) -> dict[str, Any]:
    return {"ok": True, **service.programme_summary(store, programme, counties_of(p))}


@router.get("/funds", summary="The funds, their eligible uses and caps (data file)")
def fund_rules(p: Annotated[Principal, requires(*PROJECT_READERS)]) -> dict[str, Any]:
    r = funds.load_rules()
    return {
        "ok": True, "edition": r.edition, "uses": {k: list(v) for k, v in r.uses.items()},
        "funds": [{"code": f.code, "name": list(f.name), "uses": list(f.uses),
                   "caps": {u: f"{c.numerator}/{c.denominator}" for u, c in f.caps.items()},
                   "source": f.source, "tag": f.tag} for f in r.funds.values()],
    }  # fmt: skip


@router.post("/supervise", summary="Raise 督办 tasks for overdue milestones (enforcement)")
def supervise(store: WebStore, p: Annotated[Principal, requires(*REGISTRARS)]) -> dict[str, Any]:
    return {"ok": True, "tasks": service.supervise(store)}


STATES_ZH = {
    dm.State.REGISTERED: "线索登记", dm.State.INVESTIGATING: "调查",
    dm.State.DECLINED: "不启动", dm.State.ASSESSED: "鉴定评估完成", dm.State.CONSULTING: "磋商",
    dm.State.LITIGATING: "诉讼", dm.State.SETTLED: "协议/裁判生效", dm.State.PERFORMING: "履行中",
    dm.State.RESTORED: "修复完成", dm.State.CLOSED: "结案",
}  # fmt: skip
PROJECT_STATES_ZH = {
    pj.State.PLANNED: "计划", pj.State.UNDER_CONSTRUCTION: "在建", pj.State.COMPLETED: "完工",
    pj.State.ACCEPTED: "已验收", pj.State.CANCELLED: "取消",
}  # fmt: skip


def _export(name: str, fmt: str, title: str, head: list[str], rows: list[list[Any]]) -> Response:
    # the one export path (bishui.web.export), as police, rivers and participation export: the
    # title preamble, the formula guard of every cell (= + - @, a leading TAB or CR), a BOM in
    # CSV, text cells in xlsx, the file name in RFC 5987 form
    return table_response(head, rows, name, fmt, header_rows(title))
