"""The overview map's data (一张图): every visible site with its colour, and the boundaries."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from bishui.web.api.common import ERRORS, WebCtx, cache_for, iso, site_json
from bishui.web.auth import ALL_ROLES, Principal, requires
from bishui.web.colouring import legend

router = APIRouter(tags=["overview"], responses=ERRORS)


class MarkOut(BaseModel):
    level: str
    color: str
    label: str
    value: float | None = None
    ts: str | None = None
    basis: str = ""


class Feature(BaseModel):
    id: str
    kind: str
    name: str
    region: str
    lon: float | None
    lat: float | None
    mark: MarkOut


class Overview(BaseModel):
    ok: bool = True
    time: str
    features: list[Feature]
    legend: dict[str, list[dict[str, str]]] = Field(description="label and colour per layer")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "ok": True,
                    "time": "2026-11-22T10:00:00+08:00",
                    "features": [
                        {
                            "id": "AQ01",
                            "kind": "air",
                            "name": "竹园小学",
                            "region": "420802",
                            "lon": 112.199,
                            "lat": 31.04,
                            "mark": {
                                "level": "2",
                                "color": "#FFFF00",
                                "label": "良",
                                "value": 57,
                                "ts": "2026-11-22T09:00:00+08:00",
                                "basis": "provisional PM-only AQI (HJ 633-2026, …)",
                            },
                        }
                    ],
                    "legend": {"air": [{"label": "优", "color": "#00E400"}]},
                }
            ]
        }
    }


def overview_features(ctx: Any, p: Principal, lang: str) -> dict[str, Any]:
    snap = ctx.snapshot()
    features = []
    for s in snap.sites:
        if not p.can_see_site(s):
            continue
        m = snap.marks[s.id]
        features.append(
            {
                **site_json(s, ("id", "kind", "name", "region", "lon", "lat")),
                "mark": {
                    "level": m.level,
                    "color": m.color,
                    "label": m.label_zh if lang == "zh" else m.label_en,
                    "value": m.value,
                    "ts": iso(m.ts),
                    "basis": (m.basis_zh or m.basis) if lang == "zh" else m.basis,
                },
            }
        )
    return {"ok": True, "time": iso(snap.at), "features": features, "legend": legend(lang)}


@router.get(
    "/overview",
    response_model=Overview,
    summary="Every site the caller may see, coloured by its current state",
    description="Air stations by AQI category, water sections by class, outlets by state. "
    "The colouring is pluggable (see docs/web.md); `mark.basis` says how each was judged.",
)
def overview(
    request: Request,
    p: Annotated[Principal, requires(*ALL_ROLES, scope="scoped")],
    response: Response,
    ctx: WebCtx,
    lang: Literal["zh", "en"] = "zh",
) -> dict[str, Any]:
    cache_for(response, p, request)
    return overview_features(ctx, p, lang)


@router.get(
    "/geo/counties",
    summary="County boundaries (GeoJSON) and their source",
    description="A schematic map layer; `source` must be shown wherever it is drawn.",
)
def counties(
    request: Request,
    p: Annotated[Principal, requires(*ALL_ROLES)],
    response: Response,
    ctx: WebCtx,
    lang: Literal["zh", "en"] = "zh",
) -> dict[str, Any]:
    geo = ctx.geo
    response.headers["Cache-Control"] = "public, max-age=86400"
    return {"ok": True, "source": geo[f"source_{lang}"], "geojson": geo["geojson"]}
