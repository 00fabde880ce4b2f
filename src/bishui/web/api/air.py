"""Ambient air, as published: the real-time and daily AQI reports, assessments and rankings.

Every figure is published data (HJ 633 §5 publication), so every role sees the same thing and
public responses carry caching headers. Each request computes from the stored hourly values
(``bishui.air.service``), so late data appears as soon as it is stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from bishui.air import service
from bishui.air.editions import edition_for
from bishui.errors import InputError
from bishui.timeutil import current_hour, now_beijing
from bishui.web.api.common import ERRORS, YEAR, Day, Moment, WebStore, cache_for, iso
from bishui.web.auth import ALL_ROLES, Principal, requires

router = APIRouter(prefix="/air", tags=["air"], responses=ERRORS)

Scope = Literal["all", "station", "county", "city"]
PERIOD = rf"^{YEAR}(-(Q[1-4]|\d{{2}}))?$"


class Report(BaseModel):
    scope: str = Field(description="station, county or city")
    code: str = Field(description="station id, GB/T 2260 region code, or the city's code")
    name: str
    time: str = Field(description="real-time: end-of-hour label; daily: the day")
    edition: str = Field(description='"2012" or "2026": the rules the report was computed by')
    standards: str
    status: str = Field(description="complete, incomplete, NA (HJ 633-2026 §5.3.1) or missing")
    aqi: int | None = Field(description="None where the report shows NA")
    aqi_computed: int | None
    primary: list[str] | None
    level: int | None
    level_name: str | None
    category: str | None
    colour: str | None
    exceeding: list[str] | None = Field(description="2012 only (超标污染物)")
    concentration: dict[str, float | None] = Field(description="µg/m³; CO mg/m³; as reported")
    iaqi: dict[str, int | None]
    missing: list[str]
    stations: int = Field(description="stations of the scope with data")


class Reports(BaseModel):
    ok: bool = True
    time: str
    edition: str
    rows: list[Report]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "ok": True,
                    "time": "2026-11-22T10:00:00+08:00",
                    "edition": "2026",
                    "rows": [
                        {
                            "scope": "city",
                            "code": "420800",
                            "name": "荆门市",
                            "time": "2026-11-22T10:00:00",
                            "edition": "2026",
                            "standards": "GB 3095-2026, HJ 633-2026, HJ 663-2026",
                            "status": "complete",
                            "aqi": 82,
                            "aqi_computed": 82,
                            "primary": ["PM2.5_1h"],
                            "level": 2,
                            "level_name": "二级",
                            "category": "良",
                            "colour": "#FFFF00",
                            "exceeding": None,
                            "concentration": {"PM2.5_1h": 50.0},
                            "iaqi": {"PM2.5_1h": 82},
                            "missing": [],
                            "stations": 6,
                        }
                    ],
                }
            ]
        }
    }


def _rows(rows: list[Any], scope: str) -> list[dict[str, Any]]:
    return [r.as_dict() for r in service.scope_rows(rows, scope)]


@router.get(
    "/realtime",
    response_model=Reports,
    summary="Real-time (hourly) AQI of every station, county and the city",
    description="HJ 633-2012 §5.1.3 before 2026-03-01 01:00, HJ 633-2026 §4.2.3 from then. "
    "`hour` is the end-of-hour label (the data of 13:00–14:00 is `14:00`); default the newest "
    "complete hour with data. An hour still in progress is never published (400).",
)
def realtime(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES, published=("air", "hour"))],
    response: Response,
    hour: Moment | None = None,
    scope: Scope = "all",
) -> dict[str, Any]:
    if hour is not None:
        hour = hour.replace(tzinfo=None) if hour.tzinfo is None else _beijing(hour)
        if hour > current_hour():
            raise InputError(
                "hour", "must be an hour that has ended (end-of-hour label)", hour.isoformat()
            )
    rt = service.realtime(store, hour)
    cache_for(response, p, request)
    return {"ok": True, "time": iso(rt.hour), "edition": rt.edition, "rows": _rows(rt.rows, scope)}


def _beijing(t: dt.datetime) -> dt.datetime:
    from bishui.timeutil import to_beijing_naive

    return to_beijing_naive(t)


@router.get(
    "/daily",
    response_model=Reports,
    summary="Daily AQI report (日报) of every station, county and the city",
    description="HJ 633-2012 §5.1.2 for days before 2026-03-01, HJ 633-2026 §4.2.2 from then.",
)
def daily(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES, published=("air", "day"))],
    response: Response,
    date: Annotated[Day, Query(description="the day (Beijing)")],
    scope: Scope = "all",
) -> dict[str, Any]:
    if date > now_beijing().date():
        raise InputError("date", "must not be in the future", date.isoformat())
    rows = service.daily(store, date)
    cache_for(response, p, request)
    edition = rows[0].report.edition if rows else edition_for(date)
    return {"ok": True, "time": date.isoformat(), "edition": edition, "rows": _rows(rows, scope)}


class Assessment(BaseModel):
    ok: bool = True
    period: str
    rows: list[dict[str, Any]] = Field(
        description="per scope: HJ 663 statistics per pollutant, status (complies, exceeds, "
        "invalid), good-days ratio, composite index, the edition of the limits and the "
        "editions of the daily AQI"
    )


@router.get(
    "/assessment",
    response_model=Assessment,
    summary="Monthly, quarterly or annual assessment (HJ 663, GB 3095)",
    description="`period`: 2025, 2025-Q3 or 2025-07; a period not yet ended is assessed up to "
    "yesterday (`complete` false).",
)
def assessment(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES, published=("air", None))],
    response: Response,
    period: Annotated[str, Query(pattern=PERIOD, description="YYYY, YYYY-Qn or YYYY-MM")],
    scope: Scope = "all",
) -> dict[str, Any]:
    rows = service.assessment(store, period, scope=scope)
    cache_for(response, p, request)
    return {"ok": True, "period": period, "rows": [r.as_dict() for r in rows]}


class Ranking(BaseModel):
    ok: bool = True
    period: str
    level: str
    basis: str
    rows: list[dict[str, Any]]


@router.get(
    "/ranking",
    response_model=Ranking,
    summary="Counties (or stations) ranked by the composite index",
    description="环境空气质量综合指数, smallest first; equal published values share a rank; "
    "rank null where a statistic is invalid.",
)
def ranking(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES, published=("air", None))],
    response: Response,
    period: Annotated[str, Query(pattern=PERIOD, description="YYYY, YYYY-Qn or YYYY-MM")],
    level: Literal["county", "station"] = "county",
) -> dict[str, Any]:
    rows = service.ranking(store, period, level=level)
    cache_for(response, p, request)
    return {
        "ok": True,
        "period": period,
        "level": level,
        "basis": "equal weights, GB 3095-2012 Grade II limits (城市环境空气质量排名技术规定)",
        "rows": [r.as_dict() for r in rows],
    }
