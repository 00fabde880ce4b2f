"""``GET /metrics``: this web process's metrics in the Prometheus text format (admin only).

The route shows :data:`bishui.metrics.REGISTRY` — the web's request latency histogram
(:class:`Timing`), and, in a process that also runs the gateway or the bus (``bishui serve``),
their counters. It is not public: an admin session or an admin's API token
(``Authorization: Bearer bsh_…``, which Prometheus sends with ``authorization.credentials``).
A process can instead offer an unauthenticated listener on a private address,
``--metrics-port`` (docs/deploy.md, "Metrics").
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bishui import metrics
from bishui.web.auth import Principal, requires

router = APIRouter()

LATENCY = metrics.REGISTRY.histogram(
    "bishui_web_request_seconds",
    "web request latency, by kind (api, page, static) and status class",
    labels=("kind", "status"),
)


@router.get("/metrics", include_in_schema=False)
def metrics_route(p: Annotated[Principal, requires("admin")]) -> Response:
    return Response(
        metrics.REGISTRY.render(),
        media_type=metrics.CONTENT_TYPE,
        headers={"Cache-Control": "no-store"},
    )


def _kind(path: str) -> str:
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/static/"):
        return "static"
    if path == "/metrics":
        return "metrics"
    return "page"


class Timing:
    """Times every HTTP request, from its arrival to the end of its response body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = [0]

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            LATENCY.observe(
                time.perf_counter() - t0,
                kind=_kind(scope["path"]),
                status=f"{status[0] // 100}xx" if status[0] else "none",
            )
