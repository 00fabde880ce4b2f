"""One error shape for everything the API can fail with."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter
from web_support import client_for

import bishui.errors as errs
from bishui.web import Settings, api, create_app
from bishui.web.auth import ALL_ROLES, requires
from bishui.web.errors import STATUS, RateLimited, Unauthenticated, status_of


def _all_subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub, *_all_subclasses(sub)}
    return out


def test_every_error_class_has_a_status() -> None:
    for cls in {errs.BishuiError, *_all_subclasses(errs.BishuiError)}:
        # each class listed itself or inherits from a listed one with a deliberate status
        assert any(base in STATUS for base in cls.__mro__), cls
    assert STATUS[errs.NotFoundError] == 404
    assert STATUS[errs.PermissionDenied] == 403
    assert STATUS[errs.StorageError] == 503
    assert status_of(Unauthenticated("x")) == 401
    assert status_of(RateLimited("x", 3)) == 429


@pytest.fixture
def failing_app(city_store: Any) -> Any:
    """The app with one extra route that raises whatever the test asks for."""
    router = APIRouter()
    raising: dict[str, Exception] = {}

    @router.get("/raise")
    def boom(p: Any = requires(*ALL_ROLES)) -> None:  # noqa: B008
        raise raising["exc"]

    api.ROUTERS.append(router)
    try:
        app = create_app(city_store, Settings(secret=""))
    finally:
        api.ROUTERS.remove(router)
    app.state.raising = raising
    return app


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (errs.InputError("start", "ISO 8601", "x"), 400, "invalid_input"),
        (errs.ConfigError("rule.x", "bad", 1), 400, "invalid_config"),
        (errs.NotFoundError("no site"), 404, "not_found"),
        (errs.ConflictError("closed"), 409, "conflict"),
        (errs.PermissionDenied("no"), 403, "forbidden"),
        (errs.ProtocolError("crc"), 400, "protocol_error"),
        (errs.StorageError("down"), 503, "storage_error"),
        (RuntimeError("secret internals /etc/passwd"), 500, "internal"),
    ],
)
async def test_error_shape(failing_app: Any, exc: Exception, status: int, code: str) -> None:
    failing_app.state.raising["exc"] = exc
    async with client_for(failing_app, raise_app_exceptions=False) as c:
        r = await c.get("/api/v1/raise")
    assert r.status_code == status
    body = r.json()
    assert body["ok"] is False and body["error"] == code and body["message"]
    assert "passwd" not in r.text  # internals never reach the client
    if isinstance(exc, errs.InputError):
        assert body["field"] == exc.field and body["rule"] == exc.rule


async def test_unknown_path_and_method(client: Any) -> None:
    r = await client.get("/api/v1/nowhere")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = await client.delete("/api/v1/health")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


async def test_pages_get_html_errors_and_a_login_redirect(client: Any) -> None:
    r = await client.get("/nowhere", headers={"Accept": "text/html"})
    assert r.status_code == 404 and "<html" in r.text and 'charset="utf-8"' in r.text
    r = await client.post("/logout", headers={"Accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


async def test_request_bodies_are_bounded(client: Any) -> None:
    r = await client.post("/login", content=b"x" * 70_000, headers={"Accept": "text/html"})
    assert r.status_code == 413 and r.json()["error"] == "too_large"

    async def chunks() -> Any:
        for _ in range(100):
            yield b"y" * 1000

    r = await client.post(
        "/api/v1/users", content=chunks(), headers={"Content-Type": "application/json"}
    )
    # a chunked JSON body is read (and counted) at the edge before it is checked: 413
    assert r.status_code == 413 and r.json()["error"] == "too_large"
