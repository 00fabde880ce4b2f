"""The platform core's API: health, regions, sites (with devices and latest values), series."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from bishui import __version__, readings
from bishui.errors import InputError, NotFoundError
from bishui.registry.model import Site as SiteRecord
from bishui.store import Store
from bishui.store.base import REGISTRY_TABLES
from bishui.timeutil import current_hour, hour_label, now_beijing
from bishui.web.api.common import (
    ERRORS,
    Moment,
    SettingsPage,
    WebSettings,
    WebStore,
    beijing,
    cache_for,
    iso,
    site_json,
)
from bishui.web.auth import ALL_ROLES, Principal, requires
from bishui.web.colouring import latest_within

router = APIRouter(tags=["core"], responses=ERRORS)

SiteKind = Literal["air", "water", "source_gas", "source_water"]
Period = Literal["rt", "min", "hour", "day"]
SITE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
PARAMETER = r"^[a-z]{1,3}\d{2,6}[a-z]?$"
REGION = r"^\d{6}(-[A-Z]{1,8})?$"
# The registry's site columns, less the free-form attrs (not part of the published API).
#: How far back an air station's newest complete hour is looked for in its detail.
AIR_LATEST_WINDOW = dt.timedelta(days=31)
SITE_FIELDS = tuple(c for c in REGISTRY_TABLES["sites"][0] if c != "attrs")


class Health(BaseModel):
    ok: bool = True
    version: str
    store: str = Field(description="backend: duckdb or postgresql")
    schema_version: int
    time: str = Field(description="server time, Beijing")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "ok": True,
                    "version": "0.1.0",
                    "store": "duckdb",
                    "schema_version": 2,
                    "time": "2026-11-22T10:00:00+08:00",
                }
            ]
        }
    }


@router.get("/health", response_model=Health, summary="Is the service up")
def health(store: WebStore, p: Annotated[Principal, requires(*ALL_ROLES)]) -> dict[str, Any]:
    return {
        "ok": True,
        "version": __version__,
        "store": store.dialect,
        "schema_version": store.schema_version(),
        "time": iso(now_beijing().replace(microsecond=0)),
    }


class Region(BaseModel):
    code: str = Field(description="GB/T 2260 code, or <city>-<LETTERS> for a functional zone")
    name: str
    name_en: str | None = None
    kind: str
    parent: str | None = None
    central: bool = False


class Regions(BaseModel):
    ok: bool = True
    items: list[Region]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "ok": True,
                    "items": [
                        {
                            "code": "420802",
                            "name": "东宝区",
                            "name_en": "Dongbao District",
                            "kind": "district",
                            "parent": None,
                            "central": True,
                        }
                    ],
                }
            ]
        }
    }


@router.get("/regions", response_model=Regions, summary="The city's regions")
def regions(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    response: Response,
) -> dict[str, Any]:
    cache_for(response, p, request)
    return {"ok": True, "items": store.rows("regions")}


class Site(BaseModel):
    id: str
    kind: str = Field(description="air, water, source_gas or source_water")
    name: str
    region: str
    lon: float | None = None
    lat: float | None = None
    enterprise: str | None = Field(None, description="USCC of the outlet's enterprise")
    outlet: str | None = Field(None, description="HJ 608 outlet code, e.g. DA001")
    river: str | None = None
    body: str | None = None
    target_class: int | None = Field(None, description="GB 3838 target class 1–5")
    control: str | None = None
    drinking_source: bool = False
    assessment: bool = False


_SITE_EXAMPLE: dict[str, Any] = {
    "id": "AQ01",
    "kind": "air",
    "name": "竹园小学",
    "region": "420802",
    "lon": 112.199,
    "lat": 31.04,
    "enterprise": None,
    "outlet": None,
    "river": None,
    "body": None,
    "target_class": None,
    "control": None,
    "drinking_source": False,
    "assessment": True,
}


class SitePage(BaseModel):
    ok: bool = True
    total: int = Field(description="sites matching, over all pages")
    limit: int
    offset: int
    items: list[Site]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"ok": True, "total": 1, "limit": 50, "offset": 0, "items": [_SITE_EXAMPLE]}
            ]
        }
    }


def _site_query(p: Principal, kind: str | None, region: str | None) -> tuple[str, list[Any]]:
    where, params = p.site_where()
    if kind:
        where += " AND kind = ?"
        params.append(kind)
    if region:
        where += " AND (region = ? OR region IN (SELECT code FROM regions WHERE parent = ?))"
        params += [region, region]
    return where, params


@router.get(
    "/sites",
    response_model=SitePage,
    summary="Monitoring sites, filtered by kind and region, paged",
    description="A county official sees their region's sites, an enterprise its own outlets; "
    "both, like the public, also see the published kinds (air stations, water sections).",
)
def sites(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES, scope="scoped")],
    response: Response,
    page: SettingsPage,
    kind: SiteKind | None = None,
    region: Annotated[str | None, Query(pattern=REGION, max_length=20)] = None,
) -> dict[str, Any]:
    where, params = _site_query(p, kind, region)
    total = store.count("sites", where, params)
    items = store.query(
        f"SELECT {', '.join(SITE_FIELDS)} FROM sites WHERE {where} ORDER BY id LIMIT ? OFFSET ?",  # noqa: S608 - fixed SQL fragments; values are bound
        [*params, page.limit, page.offset],
    )
    cache_for(response, p, request)
    return page.page(total, items)


class DeviceParameter(BaseModel):
    parameter: str
    unit: str
    range_min: float | None = None
    range_max: float | None = None


class Device(BaseModel):
    mn: str = Field(description="HJ 212 device identifier (the password is never shown)")
    st: str
    edition: str
    active: bool
    parameters: list[DeviceParameter]


class Latest(BaseModel):
    parameter: str = Field(description="HJ 212 code")
    ts: str = Field(description="as stored (an hourly row: the start of its hour, HJ 212)")
    label: str = Field(
        description="as published: an hourly row by the end of its hour (the data of "
        "13:00–14:00 is 14:00, bishui.timeutil.hour_label); other periods as ts"
    )
    value: float | None
    flag: str | None = Field(description="HJ 212 data flag (N normal, …)")
    valid: bool


class SiteDetail(BaseModel):
    ok: bool = True
    site: Site
    devices: list[Device] | None = Field(
        description="the data loggers; null where the caller does not own the site"
    )
    period: str
    latest: list[Latest]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "ok": True,
                    "site": _SITE_EXAMPLE,
                    "devices": [
                        {
                            "mn": "42080000000001",
                            "st": "22",
                            "edition": "2017",
                            "active": True,
                            "parameters": [{"parameter": "a34004", "unit": "ug/m3"}],
                        }
                    ],
                    "period": "hour",
                    "latest": [
                        {
                            "parameter": "a34004",
                            "ts": "2026-11-22T09:00:00+08:00",
                            "label": "2026-11-22T10:00:00+08:00",
                            "value": 41.0,
                            "flag": "N",
                            "valid": True,
                        }
                    ],
                }
            ]
        }
    }


def visible_site(store: Store, p: Principal, site_id: str) -> SiteRecord:
    """The site if *p* may see it; otherwise 404, exactly as if it did not exist."""
    rows = readings.sites(store, "id = ?", [site_id])
    if not rows or not p.can_see_site(rows[0]):
        raise NotFoundError(f"site {site_id!r} does not exist")
    return rows[0]


@router.get(
    "/sites/{site_id}",
    response_model=SiteDetail,
    summary="One site with its devices and latest values",
)
def site_detail(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES, scope="scoped")],
    response: Response,
    site_id: Annotated[str, Path(pattern=SITE_ID)],
    period: Period = "hour",
) -> dict[str, Any]:
    site = visible_site(store, p, site_id)
    if period not in p.periods_for(site):
        raise InputError("period", f"one of {', '.join(p.periods_for(site))}", period)
    devices = None
    if p.owns_site(site):
        params: dict[str, list[dict[str, Any]]] = {}
        for row in store.query(
            "SELECT dp.mn, dp.parameter, dp.unit, dp.range_min, dp.range_max "
            "FROM device_parameters dp JOIN devices d ON d.mn = dp.mn WHERE d.site_id = ? "
            "ORDER BY dp.mn, dp.parameter",
            [site_id],
        ):
            params.setdefault(row.pop("mn"), []).append(row)
        devices = [
            {**d, "parameters": params.get(d["mn"], [])}
            for d in store.query(
                "SELECT mn, st, edition, active FROM devices WHERE site_id = ? ORDER BY mn",
                [site_id],
            )
        ]
    if site.kind == "air" and period == "hour":
        # an air station's hour in progress is never published: complete hours only
        end = current_hour()
        rows = latest_within(store, [site_id], end - AIR_LATEST_WINDOW, end)
        rows = [{k: v for k, v in r.items() if k != "origin"} for r in rows]
    else:
        rows = readings.latest(store, [site_id], period)
    latest = [
        {
            **{k: (iso(v) if k == "ts" else v) for k, v in r.items() if k != "site_id"},
            "label": iso(hour_label(r["ts"]) if period == "hour" else r["ts"]),
        }
        for r in rows
    ]
    cache_for(response, p, request)
    return {
        "ok": True,
        "site": site_json(site, SITE_FIELDS),
        "devices": devices,
        "period": period,
        "latest": latest,
    }


class Series(BaseModel):
    ok: bool = True
    site: str
    parameter: str
    period: str
    start: str
    end: str
    count: int
    ts: list[str] = Field(description="times, Beijing, ascending; one value per time")
    value: list[float | None]
    flag: list[str | None] = Field(description="HJ 212 data flags")
    valid: list[bool]
    origin: list[str] = Field(description="logger, platform or upload")
    revised: list[bool] = Field(
        default_factory=list,
        description="the value replaced an earlier, different one; the earlier values are at "
        "/api/v1/measurements/revisions",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "ok": True,
                    "site": "AQ01",
                    "parameter": "a34004",
                    "period": "hour",
                    "start": "2026-11-21T00:00:00+08:00",
                    "end": "2026-11-21T02:00:00+08:00",
                    "count": 2,
                    "ts": ["2026-11-21T00:00:00+08:00", "2026-11-21T01:00:00+08:00"],
                    "value": [38.0, None],
                    "flag": ["N", "D"],
                    "valid": [True, False],
                    "origin": ["logger", "logger"],
                }
            ]
        }
    }


@router.get(
    "/measurements",
    response_model=Series,
    summary="One site's series for one parameter and period, with flags",
    description="`start <= ts < end`, Beijing time (a time with an offset is converted). "
    "Without `end`, now; without `start`, 7 days before `end`. The range is at most "
    "`max_range_days` (366 by default). Where several origins hold a value for the same time, "
    "the logger's is returned, else the platform's, unless `origin` picks one.",
)
def measurements(
    request: Request,
    store: WebStore,
    settings: WebSettings,
    p: Annotated[Principal, requires(*ALL_ROLES, scope="scoped")],
    response: Response,
    site: Annotated[str, Query(pattern=SITE_ID)],
    parameter: Annotated[str, Query(pattern=PARAMETER, description="HJ 212 code, e.g. a34004")],
    period: Period = "hour",
    start: Moment | None = None,
    end: Moment | None = None,
    origin: Literal["logger", "platform", "upload"] | None = None,
) -> dict[str, Any]:
    row = visible_site(store, p, site)
    if period not in p.periods_for(row):
        raise InputError("period", f"one of {', '.join(p.periods_for(row))}", period)
    end_t = beijing(end) or now_beijing().replace(microsecond=0)
    start_t = beijing(start) or end_t - dt.timedelta(days=7)
    if end_t <= start_t:
        raise InputError("end", "must be after start", iso(end_t))
    max_days = settings.max_range_days
    if end_t - start_t > dt.timedelta(days=max_days):
        raise InputError("end", f"at most {max_days} days after start", iso(end_t))
    cols = store.series(site, parameter, period, start_t, end_t, origin)
    ts = cols.get("ts", np.array([], dtype="datetime64[us]"))
    if len(ts) > 1:
        # rows come ordered by (ts, origin): keep the first origin of each time
        keep = np.concatenate(([True], ts[1:] != ts[:-1]))
        cols = {k: v[keep] for k, v in cols.items()}
        ts = cols["ts"]
    values = cols.get("value", np.array([]))
    cache_for(response, p, request)
    return {
        "ok": True,
        "site": site,
        "parameter": parameter,
        "period": period,
        "start": iso(start_t),
        "end": iso(end_t),
        "count": len(ts),
        "ts": [iso(t) for t in ts.astype("datetime64[us]").tolist()],
        "value": [None if np.isnan(v) else float(v) for v in values.astype(np.float64)],
        "flag": [None if f is None else str(f) for f in cols.get("flag", [])],
        "valid": [bool(v) for v in cols.get("valid", [])],
        "origin": [str(o) for o in cols.get("origin", [])],
        "revised": [v is not None and bool(v) for v in cols.get("revised", [])],
    }


@router.get(
    "/measurements/revisions",
    summary="Earlier values of revised measurements at one site (who, when, which frame)",
    description="A re-delivery that changed a stored logger or upload value keeps the "
    "previous one: old value and flag, the QN (`old_source`/`new_source`) and receive time of "
    "both frames, who sent the new one (`revised_by`: origin) and when (`revised_at`). "
    "Newest first, at most 500.",
)
def measurement_revisions(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES, scope="scoped")],
    site: Annotated[str, Query(pattern=SITE_ID)],
    parameter: Annotated[str | None, Query(pattern=PARAMETER)] = None,
) -> dict[str, Any]:
    visible_site(store, p, site)
    rows = store.revisions(site, parameter)
    out = [{k: (iso(v) if isinstance(v, dt.datetime) else v) for k, v in r.items()} for r in rows]
    return {"ok": True, "site": site, "count": len(out), "revisions": out}
