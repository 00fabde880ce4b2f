"""The JSON API under ``/api/v1``: one router per domain.

To add a domain (air, water, sources, tasks …): write ``bishui/web/api/<domain>.py`` with an
``APIRouter`` whose every route declares ``requires(...)`` (``bishui.web.auth``), raise
``bishui.errors`` exceptions for failures (the one handler shapes them), and append the router
to :data:`ROUTERS`. Then add its routes to the permission matrix in
``tests/web/test_web_permissions.py`` — the test fails until every route is listed there.
"""

from __future__ import annotations

from fastapi import APIRouter

from bishui.web.api import (
    account,
    air,
    air_public,
    alerts,
    charts,
    compensation,
    core,
    energy,
    evidence,
    exchange,
    inspection,
    mapsearch,
    overview,
    participation,
    police,
    programmes,
    reports,
    rivers,
    sources,
    uploads,
    vehicles,
    water,
)
from bishui.web.api import assessment as assessment_api

ROUTERS: list[APIRouter] = [
    core.router,
    overview.router,
    mapsearch.router,  # the map's search box (issue 16 item 7)
    account.router,
    air.router,
    charts.router,
    air_public.router,
    water.router,
    compensation.router,
    inspection.router,  # the inspector's day (issue 16 item 9): …/party, …/records/{kind}
    alerts.router,
    reports.router,
    evidence.router,  # before sources: /tasks/{id}/files is not the transition /tasks/{id}/{action}
    sources.router,
    uploads.router,
    exchange.router,  # the environmental-resource exchange (docs/exchange.md "Pages and API")
    energy.router,  # energy accounts, dual control, reduction accounts (issue 18)
    vehicles.router,  # vehicle-inspection supervision (issue 19)
    assessment_api.router,  # county scorecards, allocation, asset tables, audits (issue 18)
    police.router,  # environmental police and joint operations (issue 20 item 2)
    rivers.router,  # river and lake chiefs, volunteer supervisors (issue 20)
    programmes.router,  # damage cases, projects and funds (issue 20)
    participation.router,  # citizen reports and the public disclosure (issue 20)
]
