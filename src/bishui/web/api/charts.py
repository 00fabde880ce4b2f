"""Chart series the pages draw that no domain router serves: the air page's calendar.

Kept apart from ``bishui.web.api.air`` (the air engine's published reports) so that router
stays exactly the engine's; the figures here are computed by ``bishui.air`` all the same.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from bishui.air import service
from bishui.errors import InputError, NotFoundError
from bishui.timeutil import now_beijing
from bishui.web.api.common import ERRORS, WebStore, cache_for
from bishui.web.auth import ALL_ROLES, Principal, requires

router = APIRouter(prefix="/air", tags=["air"], responses=ERRORS)


class Calendar(BaseModel):
    ok: bool = True
    year: int
    code: str
    name: str
    days: list[str] = Field(description="every day of the year up to yesterday")
    aqi: list[int | None] = Field(description="daily AQI (None: no valid report that day)")
    level: list[int | None] = Field(description="AQI level 1–6")
    edition: list[str] = Field(description="HJ 633 edition each day was judged by")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "ok": True,
                    "year": 2026,
                    "code": "420800",
                    "name": "荆门市",
                    "days": ["2026-01-01", "2026-01-02"],
                    "aqi": [88, None],
                    "level": [2, None],
                    "edition": ["2012", "2012"],
                }
            ]
        }
    }


@router.get(
    "/calendar",
    response_model=Calendar,
    summary="Daily AQI of one scope for every day of a year (the calendar heat map)",
    description="Days of `year` up to yesterday, each judged by the edition in force on it "
    "(HJ 633-2012 §5.1.2 / HJ 633-2026 §4.2.2). `code`: the city (default), a county or a "
    "station.",
)
def calendar(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ALL_ROLES, published=("air", "day"))],
    response: Response,
    year: Annotated[int, Query(ge=2000, le=2100)],
    code: Annotated[str | None, Query(pattern=r"^[0-9A-Za-z-]{1,20}$")] = None,
) -> dict[str, Any]:
    import numpy as np

    from bishui.air.period import daily_aqi
    from bishui.air.store_io import network

    start = dt.date(year, 1, 1)
    last = min(dt.date(year, 12, 31), now_beijing().date() - dt.timedelta(days=1))
    if last < start:
        raise InputError("year", "must have begun before today", str(year))
    net = network(store)
    scopes = net.scopes
    pick = next((i for i, s in enumerate(scopes) if s.code == code), None)
    if code is None:
        pick = next((i for i, s in enumerate(scopes) if s.kind == "city"), None)
    if pick is None:
        raise NotFoundError(f"no air scope {code!r}")
    scoped, _ = service._daily_scoped(store, net, start, (last - start).days + 1, 1)
    day = daily_aqi({k: v[pick : pick + 1] for k, v in scoped.items()}, start)
    aqi = np.asarray(day.aqi, dtype=np.float64)[0]
    level = np.asarray(day.level, dtype=np.float64)[0]
    cache_for(response, p, request)
    return {
        "ok": True,
        "year": year,
        "code": scopes[pick].code,
        "name": scopes[pick].name,
        "days": [(start + dt.timedelta(days=i)).isoformat() for i in range(aqi.size)],
        "aqi": [None if np.isnan(v) else int(v) for v in aqi],
        "level": [None if np.isnan(v) or v <= 0 else int(v) for v in level],
        "edition": [str(e) for e in np.asarray(day.edition)[0]],
    }
