"""The alerts page's API: alerts grouped and filtered, acknowledgement, routing rules, the
delivery outbox and the in-app inbox (the bell) — issue 16 item 4, docs/alerts.md.

Who may do what:

* read the grouped alerts and a group's alerts: every logged-in role, scoped as the alert list
  is (a county its regions, an enterprise its own outlets — never a drinking-water source);
* acknowledge: admin, inspector and county officials (within their scope); the acknowledgement
  is recorded on the alert and in the audit chain;
* routing rules and the outbox (who was sent what, retries): admin only;
* the inbox: every logged-in account, its own messages only.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bishui.enforcement import delivery
from bishui.enforcement.senders import CHANNELS
from bishui.errors import InputError
from bishui.timeutil import now_beijing
from bishui.web.api.common import ERRORS, Day, ListPage, WebStore, cache_for
from bishui.web.api.task_views import enforcement_scope
from bishui.web.auth import ENFORCEMENT_ROLES, LOGGED_IN, Principal, requires

router = APIRouter(tags=["alerts"], responses=ERRORS)

READERS = ENFORCEMENT_ROLES  # as the alert list
ACKERS = ("admin", "inspector", "county")
SEVERITY = r"^(info|low|medium|high)$"
RULE = r"^[A-Za-z0-9._-]{1,64}$"
SITE = r"^[0-9A-Za-z._-]{1,64}$"
REGION = r"^[0-9A-Za-z-]{1,32}$"
KINDS = r"^(outlet|water_source|inspection_station)$"
ALERT_ID = r"^[0-9a-f]{20}([0-9a-f]{4})?$"


def _plain(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.datetime | dt.date) else v for k, v in r.items()}


def _now() -> dt.datetime:
    return now_beijing().replace(microsecond=0)


class Filters:
    """The filters shared by the group list and a group's alerts (query parameters)."""

    def __init__(
        self,
        state: Annotated[str | None, Query(pattern=r"^(new|tasked|dismissed)$")] = None,
        severity: Annotated[str | None, Query(pattern=SEVERITY, description="at least")] = None,
        rule: Annotated[str | None, Query(pattern=RULE, description="rule id or prefix")] = None,
        region: Annotated[str | None, Query(pattern=REGION)] = None,
        site: Annotated[str | None, Query(pattern=SITE)] = None,
        subject_kind: Annotated[str | None, Query(pattern=KINDS)] = None,
        start: Annotated[Day | None, Query(description="first day (of the alert's start)")] = None,
        end: Annotated[Day | None, Query(description="last day, inclusive")] = None,
        acked: Annotated[bool | None, Query(description="acknowledged or not")] = None,
    ) -> None:
        if start and end and end < start:
            raise InputError("end", "a day on or after start", end.isoformat())
        self.value = delivery.AlertFilter(state, severity, rule, region, site, subject_kind,
                                          start, end, acked)  # fmt: skip


class GroupPage(BaseModel):
    ok: bool = True
    total: int
    limit: int
    offset: int
    items: list[dict[str, Any]] = Field(
        description="one row per site, rule and day: n, n_new, n_unacked, severity (highest), "
        "first_start, last_end, site_name, region_name"
    )


@router.get("/alerts/groups", response_model=GroupPage,
            summary="Alerts grouped by site, rule and day, filtered and paged")  # fmt: skip
def alert_groups(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    response: Response,
    page: ListPage,
    filters: Annotated[Filters, Depends()],
) -> dict[str, Any]:
    where, params = enforcement_scope(p)
    total, rows = delivery.alert_groups(store, where, params, filters.value,
                                        limit=page.limit, offset=page.offset)  # fmt: skip
    cache_for(response, p, request)
    return page.page(total, [_plain(r) for r in rows])


@router.get("/alerts/items", response_model=GroupPage,
            summary="The alerts (one group: site, rule, start = end = day)")  # fmt: skip
def alert_items(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    response: Response,
    page: ListPage,
    filters: Annotated[Filters, Depends()],
) -> dict[str, Any]:
    where, params = enforcement_scope(p)
    total, rows = delivery.alerts_in_group(store, where, params, filters.value,
                                           limit=page.limit, offset=page.offset)  # fmt: skip
    cache_for(response, p, request)
    return page.page(total, [_plain(r) for r in rows])


class Acknowledgement(BaseModel):
    """Either ``ids`` or one group (``site_code``, ``rule_id``, ``day``)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[str, Field(pattern=ALERT_ID)]] | None = Field(
        default=None, min_length=1, max_length=1000
    )
    site_code: str | None = Field(default=None, pattern=SITE)
    rule_id: str | None = Field(default=None, pattern=RULE)
    day: Day | None = None
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _one_way(self) -> Acknowledgement:
        group = (self.site_code, self.rule_id, self.day)
        if (self.ids is None) == (None in group):
            raise ValueError("give ids, or site_code, rule_id and day (one group)")
        return self


@router.post("/alerts/acknowledge",
             summary="Acknowledge alerts by id or a group (admin, inspector, county)")  # fmt: skip
def acknowledge(
    store: WebStore,
    p: Annotated[Principal, requires(*ACKERS, scope="scoped")],
    body: Annotated[Acknowledgement, Body()],
) -> dict[str, Any]:
    where, params = enforcement_scope(p)
    if body.ids is not None:
        ids = body.ids
    else:
        assert body.day is not None
        flt = delivery.AlertFilter(rule=body.rule_id, site=body.site_code, day_from=body.day,
                                   day_to=body.day, acked=False)  # fmt: skip
        _, rows = delivery.alerts_in_group(store, where, params, flt, limit=1000, offset=0)
        ids = [r["id"] for r in rows if r["rule_id"] == body.rule_id]  # the rule, not a prefix
        if not ids:
            total, _ = delivery.alert_groups(
                store, where, params, delivery.AlertFilter(rule=body.rule_id, site=body.site_code,
                                                           day_from=body.day, day_to=body.day),
                limit=1, offset=0,
            )  # fmt: skip
            if not total:
                raise InputError("day", "a group with alerts", body.day.isoformat())
            return {"ok": True, "acknowledged": [], "count": 0}  # all acknowledged already
    done = delivery.acknowledge(store, ids, p.username or p.role, p.role, _now(), where,
                                params, body.note)  # fmt: skip
    return {"ok": True, "acknowledged": done, "count": len(done)}


# ------------------------------------------------------------------------------ routing rules
class RouteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    min_severity: str = Field(default="medium", pattern=SEVERITY)
    rule_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]{0,64}$")
    subject_kind: str = Field(default="", pattern=r"^(|outlet|water_source|inspection_station)$")
    region: str = Field(default="", pattern=r"^[0-9A-Za-z-]{0,32}$")
    recipients: list[str] = Field(min_length=1, max_length=100,
                                  description="role:<role>, user:<name>, tel:<number>")  # fmt: skip
    channels: list[str] = Field(min_length=1, max_length=len(CHANNELS),
                                description=f"among {', '.join(CHANNELS)}")  # fmt: skip
    enabled: bool = True

    def route(self, route_id: int = 0) -> delivery.Route:
        return delivery.Route(
            name=self.name, min_severity=self.min_severity, rule_prefix=self.rule_prefix,
            subject_kind=self.subject_kind, region=self.region,
            recipients=tuple(self.recipients), channels=tuple(dict.fromkeys(self.channels)),
            enabled=self.enabled, id=route_id,
        )  # fmt: skip


@router.get("/alert-routes", summary="Routing rules of alert messages (admin)")
def routes(store: WebStore, p: Annotated[Principal, requires("admin")]) -> dict[str, Any]:
    items = [r.as_dict() for r in delivery.list_routes(store)]
    return {"ok": True, "items": items, "channels": list(CHANNELS)}


@router.post("/alert-routes", summary="Add a routing rule (admin)", status_code=201)
def add_route(
    store: WebStore, p: Annotated[Principal, requires("admin")], body: Annotated[RouteBody, Body()]
) -> dict[str, Any]:
    r = delivery.save_route(store, body.route(), p.username or "admin", p.role, _now())
    return {"ok": True, "route": r.as_dict()}


@router.put("/alert-routes/{route_id}", summary="Replace a routing rule (admin)")
def put_route(
    store: WebStore,
    p: Annotated[Principal, requires("admin")],
    route_id: Annotated[int, Path(ge=1, le=2**62)],
    body: Annotated[RouteBody, Body()],
) -> dict[str, Any]:
    r = delivery.save_route(store, body.route(route_id), p.username or "admin", p.role, _now())
    return {"ok": True, "route": r.as_dict()}


@router.delete("/alert-routes/{route_id}", summary="Delete a routing rule (admin)")
def delete_route(
    store: WebStore,
    p: Annotated[Principal, requires("admin")],
    route_id: Annotated[int, Path(ge=1, le=2**62)],
) -> dict[str, Any]:
    delivery.delete_route(store, route_id, p.username or "admin", p.role, _now())
    return {"ok": True}


# ------------------------------------------------------------------------------ outbox
@router.get("/deliveries", summary="Messages sent or waiting on the outside channels (admin)")
def deliveries(
    store: WebStore,
    p: Annotated[Principal, requires("admin")],
    page: ListPage,
    status: Annotated[str | None, Query(pattern=r"^(pending|sent|failed)$")] = None,
    channel: Annotated[str | None, Query(pattern=r"^(log|sms|wecom|dingtalk)$")] = None,
) -> dict[str, Any]:
    total, rows = delivery.list_deliveries(store, status=status, channel=channel,
                                           limit=page.limit, offset=page.offset)  # fmt: skip
    return page.page(total, [_plain(r) for r in rows])


@router.post("/deliveries/{delivery_id}/retry", summary="Send a failed message again (admin)")
def retry(
    store: WebStore,
    p: Annotated[Principal, requires("admin")],
    delivery_id: Annotated[int, Path(ge=1, le=2**62)],
) -> dict[str, Any]:
    delivery.retry_delivery(store, delivery_id, _now())
    return {"ok": True}


# ------------------------------------------------------------------------------ inbox (the bell)
def _reader(p: Principal) -> delivery.Reader:
    return delivery.Reader(p.username or "", p.role, p.enterprise or "")


@router.get("/inbox", summary="The caller's in-app messages and their unread count")
def inbox(
    store: WebStore,
    p: Annotated[Principal, requires(*LOGGED_IN)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    box = delivery.inbox(store, _reader(p), limit, offset)
    return {"ok": True, **box, "items": [_plain(r) for r in box["items"]]}


class Seen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    upto: int | None = Field(default=None, ge=0, le=2**62, description="default: all")


@router.post("/inbox/seen", summary="Mark the caller's messages seen (up to an id)")
def inbox_seen(
    store: WebStore, p: Annotated[Principal, requires(*LOGGED_IN)], body: Annotated[Seen, Body()]
) -> dict[str, Any]:
    return {"ok": True, "seen_id": delivery.mark_seen(store, _reader(p), body.upto)}
