"""Surface water: section classes, rivers and lakes, CWQI rankings, drinking-water sources.

Published figures (section classes, river grades, CWQI) are public; drinking-water source
status and alerts are for bureau staff and, scoped to their region, county officials. Results
come from :func:`bishui.water.service.assess_cached` (recomputed whenever the period's data
changed, so late data is included).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from bishui.errors import InputError
from bishui.store import Store
from bishui.timeutil import now_beijing
from bishui.water.periods import WaterPeriod
from bishui.water.service import Assessment, assess_cached
from bishui.water.supervision import SupervisionRules, evaluate, stored_alerts
from bishui.web.api.common import ERRORS, YEAR, Moment, SettingsPage, WebStore, cache_for, iso
from bishui.web.auth import ALL_ROLES, STAFF, Principal, requires

router = APIRouter(tags=["water"], responses=ERRORS)

PERIOD = rf"^{YEAR}(-Q[1-4]|-\d{{2}}(-\d{{2}})?)?$"
REGION = r"^\d{6}(-[A-Z]{1,8})?$"
PeriodQuery = Annotated[
    str,
    Query(
        pattern=PERIOD,
        max_length=10,
        description="2026 (year), 2026-Q3 (quarter), 2026-07 (month) or 2026-07-15 (day)",
    ),
]


def _assessment(store: Store, p: Principal, period: str) -> Assessment:
    if len(period) == 10:  # a single day's assessment is the sections' daily data
        p.require_published("water", "day")
    return assess_cached(store, WaterPeriod.parse(period))


class SectionOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")

    section: str
    name: str
    river: str | None = None
    body: str = Field(description="river or lake (湖库)")
    region: str
    region_name: str
    target_class: int = Field(description="GB 3838 target class 1–5 (0: none)")
    klass: int = Field(alias="class", description="1–6 (6 = 劣Ⅴ); 0 = insufficient data")
    label: str = Field(description="Ⅰ类 … 劣Ⅴ类, or 'insufficient data'")
    status: str = Field(description="水质状况 优 … 重度污染")
    attainment: str = Field(description="达标 / 不达标 / 数据不足")
    main_pollutants: str
    samples: int = Field(description="days (day, month) or months (quarter, year) with data")
    cwqi: float | None
    cwqi_rank: int = Field(description="1 = best; 0 = not ranked")
    cwqi_previous: float | None = Field(description="same period of the previous year")
    delta_cwqi: float | None = Field(description="ΔCWQI [%]; negative = better")
    means: dict[str, float | None] = Field(description="period means by HJ 212 code")


_SECTION_EXAMPLE: dict[str, Any] = {
    "section": "WS05",
    "name": "漳河白石港",
    "river": "漳河",
    "body": "river",
    "region": "420800-ZH",
    "region_name": "漳河新区",
    "target_class": 2,
    "class": 2,
    "label": "Ⅱ类",
    "status": "优",
    "attainment": "达标",
    "main_pollutants": "",
    "samples": 31,
    "cwqi": 1.7892,
    "cwqi_rank": 5,
    "cwqi_previous": 1.7973,
    "delta_cwqi": -0.45,
    "means": {"w01001": 7.51, "w21003": 0.25},
}


class Sections(BaseModel):
    ok: bool = True
    period: str
    previous: str | None = Field(description="the base period of ΔCWQI, if it has data")
    rules_version: str
    edition: str
    method: str
    total: int
    items: list[SectionOut]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "ok": True,
                    "period": "2026-07",
                    "previous": "2025-07",
                    "rules_version": "water-service-1:ef3bb9579d",
                    "edition": "GB 3838-2002",
                    "method": "环办〔2011〕22号",
                    "total": 1,
                    "items": [_SECTION_EXAMPLE],
                }
            ]
        }
    }


@router.get(
    "/water/sections",
    response_model=Sections,
    summary="Section classes and target attainment for a period",
    description="Published figures: every role sees every section.",
)
def water_sections(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES, published=("water", None))],
    response: Response,
    period: PeriodQuery,
    region: Annotated[str | None, Query(pattern=REGION, max_length=20)] = None,
) -> dict[str, Any]:
    a = _assessment(store, p, period)
    items = [s for s in a.sections if region is None or s["region"] == region]
    cache_for(response, p, request)
    return {
        "ok": True,
        "period": a.period,
        "previous": a.previous,
        "rules_version": a.rules_version,
        "edition": a.edition,
        "method": a.method,
        "total": len(items),
        "items": items,
    }


class RiverOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")

    river: str
    body: str
    sections: int
    assessed: int
    share_good: float | None = Field(description="share of Ⅰ–Ⅲ sections [-]")
    share_bad: float | None = Field(description="share of 劣Ⅴ sections [-]")
    method: str = Field(description="shares (≥ 5 sections) or mean")
    status: str
    klass: int = Field(alias="class", description="class of the mean (mean method), else 0")
    label: str
    main_pollutants: str
    members: list[str]


class Rivers(BaseModel):
    ok: bool = True
    period: str
    items: list[RiverOut]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "ok": True,
                    "period": "2026-07",
                    "items": [
                        {
                            "river": "汉江",
                            "body": "river",
                            "sections": 3,
                            "assessed": 3,
                            "insufficient": 0,
                            "by_class": [0, 3, 0, 0, 0, 0],
                            "share_good": 1.0,
                            "share_bad": 0.0,
                            "method": "mean",
                            "status": "优",
                            "class": 2,
                            "label": "Ⅱ类",
                            "main_pollutants": "",
                            "members": ["WS07", "WS08", "WS13"],
                        }
                    ],
                }
            ]
        }
    }


@router.get(
    "/water/rivers",
    response_model=Rivers,
    summary="Rivers, lakes and reservoirs graded for a period",
)
def water_rivers(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES, published=("water", None))],
    response: Response,
    period: PeriodQuery,
) -> dict[str, Any]:
    a = _assessment(store, p, period)
    cache_for(response, p, request)
    return {"ok": True, "period": a.period, "items": a.rivers}


class AreaCwqi(BaseModel):
    model_config = ConfigDict(extra="allow")

    region: str
    name: str
    cwqi: float | None
    cwqi_previous: float | None
    delta_cwqi: float | None
    share_good: float | None
    share_bad: float | None


class SectionCwqi(BaseModel):
    section: str
    name: str
    region: str
    cwqi: float | None
    cwqi_rank: int
    cwqi_previous: float | None
    delta_cwqi: float | None


class Cwqi(BaseModel):
    ok: bool = True
    period: str
    previous: str | None
    city: AreaCwqi
    counties: list[AreaCwqi] = Field(description="ranked: cwqi_rank, change_rank (0: not ranked)")
    sections: list[SectionCwqi]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "ok": True,
                    "period": "2026",
                    "previous": "2025",
                    "city": {
                        "region": "420800",
                        "name": "荆门市",
                        "cwqi": 3.963,
                        "cwqi_previous": 4.0032,
                        "delta_cwqi": -1.0,
                        "share_good": 0.6,
                        "share_bad": 0.066667,
                    },
                    "counties": [
                        {
                            "region": "420881",
                            "name": "钟祥市",
                            "cwqi": 1.8571,
                            "cwqi_rank": 2,
                            "cwqi_previous": 1.8653,
                            "delta_cwqi": -0.44,
                            "change_rank": 0,
                            "share_good": 1.0,
                            "share_bad": 0.0,
                        }
                    ],
                    "sections": [
                        {
                            "section": "WS06",
                            "name": "漳河水库",
                            "region": "420800-ZH",
                            "cwqi": 1.4096,
                            "cwqi_rank": 1,
                            "cwqi_previous": 1.4175,
                            "delta_cwqi": -0.56,
                        }
                    ],
                }
            ]
        }
    }


@router.get(
    "/water/cwqi",
    response_model=Cwqi,
    summary="City water-quality index (CWQI): city, county and section rankings",
)
def water_cwqi(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES, published=("water", None))],
    response: Response,
    period: PeriodQuery,
) -> dict[str, Any]:
    a = _assessment(store, p, period)
    counties = sorted(a.counties, key=lambda c: (c["cwqi_rank"] == 0, c["cwqi_rank"]))
    sections = sorted(a.sections, key=lambda s: (s["cwqi_rank"] == 0, s["cwqi_rank"]))
    keys = ("section", "name", "region", "cwqi", "cwqi_rank", "cwqi_previous", "delta_cwqi")
    cache_for(response, p, request)
    return {
        "ok": True,
        "period": a.period,
        "previous": a.previous,
        "city": a.city,
        "counties": counties,
        "sections": [{k: s[k] for k in keys} for s in sections],
    }


class SourceStatus(BaseModel):
    model_config = ConfigDict(extra="allow")

    source: str
    name: str
    region: str
    target_class: int
    readings: int
    latest: str | None
    compliant: bool | None = Field(description="latest reading within every limit")
    exceeding: list[str]
    compliance_rate: float | None = Field(description="share of compliant readings [-]")
    alerts: int


class AlertOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    source: str | None
    kind: str = Field(description="exceedance, trend or gap")
    parameter: str = Field(description="HJ 212 code, or * for every parameter")
    time: str
    value: float | None
    limit: float | None
    evidence: dict[str, Any]
    state: str | None = Field(
        None, description="stored state: new, or routed into the enforcement loop"
    )
    task_id: str | None = Field(None, description="the enforcement task of a routed alert")


class Sources(BaseModel):
    ok: bool = True
    time: str
    window_days: float
    status: list[SourceStatus]
    total: int = Field(description="alerts in the window, over all pages (newest last)")
    limit: int
    offset: int
    alerts: list[AlertOut]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "ok": True,
                    "time": "2026-10-31T00:00:00+08:00",
                    "window_days": 7,
                    "total": 1,
                    "limit": 50,
                    "offset": 0,
                    "status": [
                        {
                            "source": "WS14",
                            "name": "惠亭水库",
                            "region": "420882",
                            "target_class": 2,
                            "readings": 42,
                            "latest": "2026-10-30T20:00:00",
                            "compliant": False,
                            "exceeding": ["w21003"],
                            "compliance_rate": 0.55,
                            "alerts": 6,
                        }
                    ],
                    "alerts": [
                        {
                            "id": "5f0c1e2d3a4b5c6d7e8f9a0b",
                            "source": "WS14",
                            "kind": "exceedance",
                            "parameter": "w21003",
                            "time": "2026-10-26T08:00:00",
                            "value": 0.715,
                            "limit": 0.5,
                            "evidence": {"readings": 26, "peak": 0.93},
                            "state": "new",
                        }
                    ],
                }
            ]
        }
    }


@router.get(
    "/water/sources",
    response_model=Sources,
    summary="Drinking-water sources: status and alerts over recent data",
    description="Bureau staff see every source; a county official the sources in their "
    "region. Alerts are evaluated on request; ``state`` is filled where the alert is stored.",
)
def water_sources(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*STAFF, "county", scope="scoped")],
    response: Response,
    page: SettingsPage,
    days: Annotated[float, Query(gt=0, le=90, description="window of data [d]")] = 7.0,
    now: Annotated[Moment | None, Query(description="evaluation time (default now)")] = None,
) -> dict[str, Any]:
    when = now_beijing().replace(microsecond=0) if now is None else now
    if when.tzinfo is not None:
        from bishui.timeutil import to_beijing_naive

        when = to_beijing_naive(when)
    if when > now_beijing() + dt.timedelta(days=1):
        raise InputError("now", "must not be in the future", when.isoformat())
    regions = None if p.sees_everything else tuple(p.regions)
    status, alerts = evaluate(
        store, now=when, rules=SupervisionRules(window_days=days), regions=regions
    )
    stored = {
        r["id"]: r
        for r in stored_alerts(store, since=when - dt.timedelta(days=days + 1), regions=regions)
    }
    for a in alerts:
        row = stored.get(a["id"], {})
        a["state"], a["task_id"] = row.get("state"), row.get("task_id")
    cache_for(response, p, request)
    return page.page(len(alerts), page.window(alerts), key="alerts", time=iso(when),
                     window_days=days, status=status)  # fmt: skip
