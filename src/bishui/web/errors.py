"""One exception → response handler and one JSON error shape.

Every error the web layer returns under ``/api`` is ``{"ok": false, "error": <code>,
"message": <text>}`` (plus ``field``/``rule``/``value`` for bad input), with the HTTP status
of :data:`STATUS`. Pages get the same information as an HTML page, and an unauthenticated
page request is redirected to the login page.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from bishui.errors import (
    BishuiError,
    ConfigError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDenied,
    ProtocolError,
    StorageError,
    TooLarge,
)

log = logging.getLogger("bishui.web")


class Unauthenticated(BishuiError):
    """The route needs a logged-in user or an API token and the request has neither."""

    code = "unauthenticated"


class RateLimited(BishuiError):
    """Too many requests from one client (login attempts or API calls)."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


#: HTTP status of each error class; a subclass not listed takes its nearest listed base.
STATUS: dict[type[BishuiError], int] = {
    BishuiError: 400,
    InputError: 400,
    ConfigError: 400,
    TooLarge: 413,
    NotFoundError: 404,
    ConflictError: 409,
    PermissionDenied: 403,
    ProtocolError: 400,
    StorageError: 503,
    Unauthenticated: 401,
    RateLimited: 429,
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def status_of(exc: BishuiError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500  # pragma: no cover - BishuiError itself is listed


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": code, "message": message, **extra}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
        "accept", ""
    )


def localised(body: dict[str, Any], lang: str, exc: BaseException | None = None) -> dict[str, Any]:
    """*body* with ``message`` in *lang* (zh by default, en on the English switch) and the
    server's own text in ``detail`` (the technical reason: a guard, a rule, a field).

    The message names the error by its code (``display-labels.toml`` ``[error]``); a refused
    task transition says which action the task's state does not allow, by their names.
    """
    from bishui.enforcement.tasks import TransitionRefused
    from bishui.web import display

    out = dict(body)
    code = str(body.get("error") or "error")
    out["detail"] = str(body.get("message") or "")
    if lang == "en":
        return out  # the English text is the server's own
    if isinstance(exc, TransitionRefused):
        reason = display.guard_reason(exc.why, lang)
        if reason is not None:  # a guard refused: its reason, in words
            out["message"] = (display.name("error", "guard", lang) or "").format(
                task=exc.task_id, action=display.name("task_action", str(exc.action), lang),
                reason=reason,
            )  # fmt: skip
            return out
        text = display.name("error", "transition", lang) or ""
        out["message"] = text.format(
            task=exc.task_id,
            state=display.name("task_state", str(exc.state), lang),
            action=display.name("task_action", str(exc.action), lang),
        )
        return out
    named = display.name("error", code, lang)
    msg = named if named and named != code else display.name("error", "error", lang) or code
    if body.get("field"):
        msg += (display.name("error", "field", lang) or "").format(field=body["field"])
    out["message"] = msg
    return out


def _lang(request: Request) -> str:
    from bishui.web.display import request_lang

    return request_lang(request)


def body_for(request: Request, code: str, message: str, **extra: Any) -> dict[str, Any]:
    """:func:`error_body` in the caller's language (for responses built outside the handlers)."""
    return localised(error_body(code, message, **extra), _lang(request))


def _respond(
    request: Request, status: int, body: dict[str, Any], exc: BaseException | None = None
) -> Response:
    body = localised(body, _lang(request), exc)
    headers = {"Cache-Control": "no-store"}
    if status == 429 and "retry_after" in body:
        headers["Retry-After"] = str(body["retry_after"])
    if _wants_json(request):
        return JSONResponse(body, status_code=status, headers=headers)
    if status == 401:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    from bishui.web.pages import render_error

    return render_error(request, status, body, headers)


async def bishui_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BishuiError)
    extra: dict[str, Any] = {}
    if isinstance(exc, InputError):
        extra = exc.as_dict()
    if isinstance(exc, RateLimited):
        extra["retry_after"] = exc.retry_after
    refusals = getattr(exc, "refusals", None)
    if refusals:  # the exchange registry's failed checks: code, English and Chinese message
        from bishui.exchange.checks import CODES

        extra["refusals"] = [
            {
                **r.as_dict(),
                "reason": CODES[r.code].message_en,
                "reason_zh": CODES[r.code].message_zh,
            }
            for r in refusals
        ]
    status = status_of(exc)
    if status >= 500:
        log.error("%s on %s: %s", exc.code, request.url.path, exc.message)
    return _respond(request, status, error_body(exc.code, exc.message, **extra), exc)


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    rule = str(first.get("msg", "invalid"))
    value = first.get("input")
    if not isinstance(value, str | int | float | bool) or value is None:
        value = None
    elif isinstance(value, str) and len(value) > 100:
        value = value[:100] + "…"  # never echo a huge input back
    body = error_body("invalid_input", f"{where}: {rule}", field=where, rule=rule, value=value)
    return _respond(request, 422, body)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code
    return _respond(request, exc.status_code, error_body(code, message))


async def unexpected_error(request: Request, exc: Exception) -> Response:
    # The traceback goes to the log; the client learns nothing about the internals.
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _respond(request, 500, error_body("internal", "internal error"))


def install(app: FastAPI) -> None:
    """Register the one handler for each exception family."""
    app.add_exception_handler(BishuiError, bishui_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
