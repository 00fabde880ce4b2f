"""The public page's air extras: a scope's 24-hour trend and HJ 633's health advice.

* ``GET /air/trend?code=…&hours=24`` — the real-time report of one station (county, the city)
  for each of the last *hours* complete hours, oldest first, each labelled by the **end** of its
  hour (HJ 663; CNEMC's convention), each judged by the edition in force on it
  (:func:`bishui.air.service.trend`), with the health advice of the newest published hour.
* ``GET /air/advice?level=…&date=…`` — the 对健康影响情况 and 建议采取的措施 of an AQI level, from
  the edition in force on *date* (default today): HJ 633-2012 Table 2 or HJ 633-2026 Tables 1
  and 2 (:mod:`bishui.air.advice`).

Kept apart from ``bishui.web.api.air`` (the engine's published reports) like the calendar.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from bishui.air import service
from bishui.air.advice import advice, health_table
from bishui.air.editions import edition_for
from bishui.errors import InputError
from bishui.timeutil import current_hour, now_beijing
from bishui.web.api.common import ERRORS, Day, Moment, WebStore, cache_for, iso
from bishui.web.auth import ALL_ROLES, Principal, requires

router = APIRouter(prefix="/air", tags=["air"], responses=ERRORS)

CODE = r"^[0-9A-Za-z_-]{1,40}$"


class TrendHour(BaseModel):
    time: str = Field(description="end-of-hour label (the hour 09:00–10:00 is 10:00)")
    aqi: int | None = Field(description="None where the report shows NA or has no data")
    level: int | None
    category: str | None
    colour: str | None
    primary: list[str] | None = Field(description="primary pollutants (SO2, NO2, CO, O3 …)")
    status: str = Field(description="complete, incomplete, NA or missing")
    edition: str


class AdviceBody(BaseModel):
    ok: bool = True
    edition: str
    level: int
    category: str
    health_effect: str = Field(description="对健康影响情况")
    measures: str = Field(description="建议采取的措施")
    citation: str
    sensitive_groups: dict[str, str] = Field(description="HJ 633-2026 Table 2 (2026 only)")


class Trend(BaseModel):
    ok: bool = True
    code: str
    name: str
    scope: str
    end: str
    hours: list[TrendHour]
    advice: dict[str, Any] | None = Field(
        description="health advice of the newest hour with a published AQI (None: none)"
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "ok": True,
                    "code": "AQ01",
                    "name": "市监测站",
                    "scope": "station",
                    "end": "2026-11-22T10:00:00",
                    "hours": [
                        {"time": "2026-11-22T10:00:00", "aqi": 82, "level": 2, "category": "良",
                         "colour": "#FFFF00", "primary": ["PM2.5"], "status": "complete",
                         "edition": "2026"},
                    ],
                    "advice": None,
                }
            ]
        }
    }  # fmt: skip


def _pollutant(key: str) -> str:
    return key.split("_", 1)[0]


@router.get(
    "/trend",
    response_model=Trend,
    summary="A station's (county's, the city's) AQI and primary pollutant over the last hours",
    description="One real-time report per hour (HJ 633-2012 §5.1.3 / HJ 633-2026 §4.2.3), "
    "labelled by the end of the hour; `end` defaults to the newest complete hour.",
)
def trend(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES, published=("air", "hour"))],
    response: Response,
    code: Annotated[str, Query(pattern=CODE, description="station id or region code")],
    hours: Annotated[int, Query(ge=1, le=168)] = 24,
    end: Annotated[Moment | None, Query(description="end-of-hour label of the newest hour")] = None,
) -> dict[str, Any]:
    newest = current_hour()  # the hour in progress is never published
    if end is not None:
        end = end.replace(tzinfo=None) if end.tzinfo is None else _beijing(end)
        if end.replace(minute=0, second=0, microsecond=0) > newest:
            raise InputError("end", "an hour that has ended", end.isoformat())
    sc, rows = service.trend(store, code, end or newest, hours)
    out = []
    for r in rows:
        rep = r.report
        out.append(
            {
                "time": iso(r.time),
                "aqi": rep.aqi,
                "level": rep.level,
                "category": rep.category,
                "colour": rep.hex,
                "primary": None
                if rep.primary is None
                else sorted({_pollutant(k) for k in rep.primary}),
                "status": rep.status,
                "edition": rep.edition,
            }
        )
    last = next((r for r in reversed(rows) if r.report.level is not None), None)
    tip = None
    if last is not None and last.report.level is not None:
        over = tuple(k for k, v in last.report.iaqi.items() if v is not None and v > 100)
        tip = advice(last.report.level, edition=last.report.edition, over_100=over).as_dict()
    cache_for(response, p, request)
    return {
        "ok": True,
        "code": sc.code,
        "name": sc.name,
        "scope": sc.kind,
        "end": iso(rows[-1].time) if rows else None,
        "hours": out,
        "advice": tip,
    }


def _beijing(t: dt.datetime) -> dt.datetime:
    from bishui.timeutil import to_beijing_naive

    return to_beijing_naive(t)


@router.get(
    "/advice",
    response_model=AdviceBody,
    summary="Health effect and recommended measures of an AQI level (HJ 633)",
    description="HJ 633-2012 Table 2 for dates before 2026-03-01, HJ 633-2026 Table 1 (and "
    "Table 2's sensitive groups for `over` pollutants) from then.",
)
def level_advice(
    request: Request,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    response: Response,
    level: Annotated[int, Query(ge=1, le=6, description="AQI level 1–6")],
    date: Annotated[Day | None, Query(description="the data's day (default today)")] = None,
    over: Annotated[
        list[str] | None,
        Query(max_length=6, description="pollutants with IAQI over 100: SO2 NO2 CO O3 PM10 PM2.5"),
    ] = None,
) -> dict[str, Any]:
    day = date or now_beijing().date()
    a = advice(level, when=day, over_100=tuple(over or ()))
    cache_for(response, p, request)
    return {"ok": True, **a.as_dict()}


def advice_table(when: dt.date | dt.datetime) -> dict[str, Any]:
    """The six levels' advice in force for data of *when* (a day or an end-of-hour label;
    the public page's table)."""
    ed = edition_for(when)
    return {
        "edition": ed,
        "citation": advice(1, edition=ed).citation,
        "rows": [
            {"level": lv, "category": cat, "health_effect": eff, "measures": mea}
            for lv, cat, eff, mea in health_table(ed)
        ],
    }
