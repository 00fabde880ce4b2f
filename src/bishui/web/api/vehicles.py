"""Vehicle-inspection supervision (docs/vehicles.md): uploads from stations, the file import,
the supervisor's analysis, ranking, findings, gas and patrol comparisons and the old-vehicle
register, and the public report-code lookup with the published keys.

Roles: the supervisor is bureau staff (``inspector`` — 环境监察 — with ``admin``, ``analyst``
and ``chief``); a county official reads its own region's stations (scoped). A station uploads
as an ``enterprise`` account whose credit code is the station's (scoped: its own station only).
The black box's JSON channel is an administrator's (a device) upload; its HJ 212 frames
(``POST /vehicles/frames``) are open to the box without a session: the Ed25519 signature of
each capture, checked against the box's registered key, is the authentication (rate-limited per
client address). The report lookup is public.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from bishui.errors import InputError, PermissionDenied
from bishui.store import Store
from bishui.vehicles import oldvehicles, selfcheck, service
from bishui.vehicles.model import Station
from bishui.web.api.common import ERRORS, WebStore
from bishui.web.api.common import Day as InRangeDay
from bishui.web.auth import ALL_ROLES, STAFF, Principal, SlidingWindow, client_address, requires

router = APIRouter(tags=["vehicles"], responses=ERRORS)

SUPERVISORS = ("admin", "analyst", "inspector", "chief", "county")
ANALYSTS = ("admin", "analyst", "inspector")
REPORT_NO = r"^[0-9A-Za-z]{6,32}$"
MAX_BATCH = 500


def _visible(p: Principal, stations: dict[str, Station]) -> set[str]:
    """The stations the caller may see: staff all, a county its regions', an enterprise its own."""
    if p.role in STAFF:
        return set(stations)
    if p.role == "county":
        return {c for c, s in stations.items() if s.region in p.regions or s.region == p.region}
    if p.role == "enterprise":
        return {c for c, s in stations.items() if s.uscc and s.uscc == p.enterprise}
    return set()


class UploadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inspections: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_BATCH)
    captures: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_BATCH)
    selfchecks: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_BATCH)


@router.post("/vehicles/uploads", status_code=201, summary="Upload inspection records")
def vehicles_upload(
    store: WebStore,
    p: Annotated[Principal, requires("admin", "enterprise", scope="scoped")],
    body: UploadIn,
) -> dict[str, Any]:
    """A station's records (an enterprise account: its own station only) and its daily
    self-checks (``selfchecks``, as ``POST /vehicles/selfchecks``; a bad one's row counts on
    after the records: row = number of records + its position); everything is checked before
    anything is stored. Black-box captures only from an administrator's (device) account, each
    signed by its registered box."""
    tests = []
    for n, d in enumerate(body.inspections, 1):  # a bad record names its row (1-based)
        try:
            tests.append(service.parse_inspection(d))
        except InputError as e:
            raise InputError(e.field, e.rule, e.value, row=n) from None
    mine = _visible(p, service.stations(store))
    if any(t.station not in mine for t in tests):
        raise PermissionDenied("a station uploads only its own records")
    checks = _selfchecks_in(store, body.selfchecks, mine, offset=len(body.inspections))
    caps = [service.parse_capture(d) for d in body.captures]
    if caps:  # the box's own channel: each capture signed by its registered device
        service.check_signatures(store, caps, [str(d.get("signature", "")) for d in body.captures])
    if caps and p.role != "admin":
        raise PermissionDenied("black-box captures come on the box's own channel")
    who = p.username or p.role
    n = service.upload(store, tests, who, "api") if tests else 0
    m = service.upload_captures(store, caps, who) if caps else 0
    k = service.record_selfchecks(store, checks, who) if checks else 0
    return {"ok": True, "inspections": n, "captures": m, "selfchecks": k}


def _selfchecks_in(
    store: Store, rows: list[dict[str, Any]], mine: set[str], offset: int = 0
) -> list[selfcheck.SelfCheck]:
    """Parsed self-checks of the caller's stations (*mine*), each on a registered lane of its
    station; an error names its row (*offset* + its 1-based position)."""
    checks = []
    for n, d in enumerate(rows, offset + 1):
        try:
            checks.append(service.parse_selfcheck(d))
        except InputError as e:
            raise InputError(e.field, e.rule, e.value, row=n) from None
    if any(c.station not in mine for c in checks):
        raise PermissionDenied("a station uploads only its own self-checks")
    try:
        service.check_lanes(store, checks)
    except InputError as e:
        raise InputError(e.field, e.rule, e.value, row=(e.row or 0) + offset) from None
    return checks


#: posts of frames allowed per client address: (count, seconds) [M] — a lane's box sends a
#: capture a test (a few minutes each), so a station's address stays far below it
FRAMES_RATE = (60, 60.0)

_FRAMES_BODY = {
    "required": True,
    "description": "HJ 212 frames of one or more signed captures (docs/vehicles.md)",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


def _frames_limiter(request: Request) -> SlidingWindow:
    state = request.app.state
    lim = getattr(state, "vehicles_frames_limiter", None)
    if lim is None:
        lim = state.vehicles_frames_limiter = SlidingWindow(*FRAMES_RATE)
    return lim


@router.post(
    "/vehicles/frames",
    status_code=201,
    summary="A black box's signed captures as HJ 212 frames",
    openapi_extra={"requestBody": _FRAMES_BODY},
)
async def vehicles_frames(
    request: Request, store: WebStore, p: Annotated[Principal, requires(*ALL_ROLES)]
) -> dict[str, Any]:
    """The box's own channel: no session — each capture's Ed25519 signature, checked against
    its registered box, authenticates it; all captures of the body are stored or none.
    The body is bounded by ``max_upload_bytes``; posts are rate-limited per client address."""
    address = client_address(request)
    _frames_limiter(request).hit(address, "black-box uploads")
    data = await request.body()
    who = p.username or f"blackbox@{address}"
    n = await run_in_threadpool(service.upload_capture_frames, store, data, who)
    return {"ok": True, "captures": n}


class SelfChecksIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checks: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


@router.post("/vehicles/selfchecks", status_code=201, summary="Upload daily equipment self-checks")
def vehicles_selfchecks(
    store: WebStore,
    p: Annotated[Principal, requires("admin", "enterprise", scope="scoped")],
    body: SelfChecksIn,
) -> dict[str, Any]:
    """A station's coast-down, leak and opacimeter-zero checks (an enterprise account: its own
    station's registered lanes only); each judged on the way in."""
    checks = _selfchecks_in(store, body.checks, _visible(p, service.stations(store)))
    n = service.record_selfchecks(store, checks, p.username or p.role)
    failed = sum(not selfcheck.passed(c) for c in checks)
    return {"ok": True, "selfchecks": n, "failed": failed}


class RegistryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stations: list[dict[str, Any]] = Field(default_factory=list, max_length=1000)
    lanes: list[dict[str, Any]] = Field(default_factory=list, max_length=5000)
    vehicles: list[dict[str, Any]] = Field(default_factory=list, max_length=10000)


@router.post("/vehicles/registry", status_code=201, summary="Register stations, lanes, vehicles")
def vehicles_registry(
    store: WebStore, p: Annotated[Principal, requires("admin")], body: RegistryIn
) -> dict[str, Any]:
    return {"ok": True, **service.register(store, body.model_dump(), p.username or p.role)}


class BoxIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    serial: str = Field(min_length=1, max_length=64)
    lane: str = Field(min_length=1, max_length=64)
    ed25519: str = Field(min_length=43, max_length=44, description="public key, base64url")


@router.post("/vehicles/boxes", status_code=201, summary="Register a black box and its public key")
def vehicles_box(
    store: WebStore, p: Annotated[Principal, requires("admin")], body: BoxIn
) -> dict[str, Any]:
    service.register_box(store, body.serial, body.lane, body.ed25519, p.username or p.role)
    return {"ok": True}


class ImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=20_000_000, description="JSON lines (docs/vehicles.md)")


@router.post("/vehicles/import", status_code=201, summary="Import a JSON-lines file")
def vehicles_import(
    store: WebStore, p: Annotated[Principal, requires("admin", "analyst")], body: ImportIn
) -> dict[str, Any]:
    return {"ok": True, **service.import_jsonl(store, body.text, p.username or p.role)}


class AnalyseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first: InRangeDay
    last: InRangeDay
    alerts: bool = False


@router.post("/vehicles/analyse", summary="Run every rule over a period; store the findings")
async def vehicles_analyse(
    store: WebStore, p: Annotated[Principal, requires(*ANALYSTS)], body: AnalyseIn
) -> dict[str, Any]:
    if (body.last - body.first).days > 31 or body.last < body.first:
        raise PermissionDenied("a period of at most 31 days, first ≤ last")
    found = await run_in_threadpool(
        service.analyse, store, body.first, body.last, p.username or p.role
    )
    routed = await run_in_threadpool(service.route_alerts, store, found) if body.alerts else 0
    return {"ok": True, "findings": len(found), "alerts": routed}


Day = Annotated[InRangeDay, Query()]


@router.get("/vehicles/ranking", summary="Station risk ranking")
def vehicles_ranking(
    store: WebStore,
    p: Annotated[Principal, requires(*SUPERVISORS, scope="scoped")],
    first: Day,
    last: Day,
) -> dict[str, Any]:
    st = service.stations(store)
    seen = _visible(p, st)
    rows = [r for r in service.ranking(store, first, last) if r["station"] in seen]
    for r in rows:
        r["name"] = st[r["station"]].name if r["station"] in st else r["station"]
    return {"ok": True, "items": rows}


@router.get("/vehicles/findings", summary="Stored findings with their evidence")
def vehicles_findings(
    store: WebStore,
    p: Annotated[Principal, requires(*SUPERVISORS, scope="scoped")],
    station: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> dict[str, Any]:
    seen = _visible(p, service.stations(store))
    rows = [r for r in service.findings(store, station, limit) if r["station"] in seen]
    return {"ok": True, "items": rows}


@router.get("/vehicles/gas", summary="Standard-gas checks against certified values")
def vehicles_gas(
    store: WebStore, p: Annotated[Principal, requires(*SUPERVISORS, scope="scoped")]
) -> dict[str, Any]:
    seen = _visible(p, service.stations(store))
    return {"ok": True, "items": [r for r in service.gas_checks(store) if r["station"] in seen]}


@router.get("/vehicles/patrol", summary="Patrol-vehicle comparisons (both readings)")
def vehicles_patrol(
    store: WebStore, p: Annotated[Principal, requires(*SUPERVISORS, scope="scoped")]
) -> dict[str, Any]:
    seen = _visible(p, service.stations(store))
    s = service.patrol_summary(store)
    return {
        "ok": True,
        "reference": {k: v for k, v in s["reference"].items() if k in seen},
        "retest": {k: v for k, v in s["retest"].items() if k in seen},
    }


@router.get("/vehicles/old", summary="The old-vehicle register: progress by county")
def vehicles_old(
    store: WebStore,
    p: Annotated[Principal, requires(*SUPERVISORS, scope="scoped")],
    today: Day,
) -> dict[str, Any]:
    entries = service.old_register(store)
    if p.role == "county":
        entries = [e for e in entries if e.region in p.regions or e.region == p.region]
    return {
        "ok": True,
        "progress": oldvehicles.progress(entries, today),
        "overdue": len(oldvehicles.overdue(entries, today)),
    }


@router.get("/vehicles/keys", summary="The published report-signing public keys")
def vehicles_keys(store: WebStore, p: Annotated[Principal, requires(*ALL_ROLES)]) -> dict[str, Any]:
    return {"ok": True, "keys": [k.as_dict() for k in service.public_keys(store).values()]}


@router.get("/vehicles/reports/{report_no}", summary="Public lookup of a report (its QR code)")
def vehicles_report(
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    report_no: Annotated[str, Path(pattern=REPORT_NO)],
    s: Annotated[str | None, Query(max_length=1500)] = None,
) -> dict[str, Any]:
    """The stored summary; with the code's ``s`` also the verification of the printed code."""
    r = service.lookup(store, report_no)
    out: dict[str, Any] = {
        "ok": True,
        "report_no": report_no,
        "summary": r["summary"],
        "key_id": r["key_id"],
        "issued": r["issued"],
    }
    if s is not None:
        v = service.verify_code(store, f"/r/{report_no}?s={s}")
        out["verification"] = {"ok": v.ok, "reason": v.reason, "detail": v.detail}
    return out
