"""Accounts over the API: who am I, my API tokens, and (administrators) the user list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from bishui.errors import PermissionDenied
from bishui.web import accounts
from bishui.web.api.common import ERRORS, WebStore, iso
from bishui.web.auth import LOGGED_IN, Principal, client_address, requires

router = APIRouter(tags=["accounts"], responses=ERRORS)


class Me(BaseModel):
    ok: bool = True
    username: str
    role: str
    region: str | None = None
    enterprise: str | None = None
    via: str = Field(description="session or token")


@router.get("/me", response_model=Me, summary="The caller's account")
def me(
    p: Annotated[Principal, requires(*LOGGED_IN)],
) -> dict[str, Any]:
    return {
        "ok": True,
        "username": p.username,
        "role": p.role,
        "region": p.region,
        "enterprise": p.enterprise,
        "via": p.via,
    }


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["logger-import"])
    days: float = Field(
        accounts.TOKEN_DAYS, gt=0, le=accounts.MAX_TOKEN_DAYS, description="lifetime [d]"
    )
    password: str = Field(
        min_length=1,
        max_length=accounts.MAX_PASSWORD,
        description="the caller's password again: a stolen session cannot mint a token",
    )


@router.post(
    "/me/tokens",
    summary="Issue an API token for the caller (shown once; needs the password again)",
    description="Send it as `Authorization: Bearer <token>`. Only from a browser session (with "
    "its `X-CSRF-Token` header) and with the account's password: a token cannot issue tokens. "
    "Every token expires (`days`, default 90). A wrong password counts as a failed login.",
)
def create_token(
    request: Request,
    p: Annotated[Principal, requires(*LOGGED_IN)],
    body: Annotated[NewToken, Body()],
) -> dict[str, Any]:
    assert p.username is not None
    if p.via != "session":
        raise PermissionDenied("an API token cannot issue tokens; log in to the web platform")
    ctx = request.app.state.web
    ctx.login_limiter.hit(client_address(request), "login attempts")
    accounts.authenticate(
        ctx.store, ctx.settings, p.username, body.password, client_address(request)
    )
    tid, token = accounts.new_token(ctx.store, p.username, body.name, body.days)
    return {"ok": True, "id": tid, "token": token}


@router.get("/me/tokens", summary="The caller's API tokens (never their secrets)")
def my_tokens(store: WebStore, p: Annotated[Principal, requires(*LOGGED_IN)]) -> dict[str, Any]:
    assert p.username is not None
    items = accounts.list_tokens(store, p.username)
    for t in items:
        t["created_at"], t["expires_at"] = iso(t["created_at"]), iso(t["expires_at"])
    return {"ok": True, "items": items}


@router.delete("/me/tokens/{token_id}", summary="Revoke one of the caller's tokens")
def revoke_token(
    store: WebStore,
    p: Annotated[Principal, requires(*LOGGED_IN)],
    token_id: Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")],
) -> dict[str, Any]:
    assert p.username is not None
    accounts.revoke_token(store, p.username, token_id)
    return {"ok": True}


@router.get("/users", summary="Every account (administrators)")
def users(store: WebStore, p: Annotated[Principal, requires("admin")]) -> dict[str, Any]:
    items = [
        {
            "username": u.username,
            "role": u.role,
            "region": u.region,
            "enterprise": u.enterprise,
            "display_name": u.display_name,
            "active": u.active,
        }
        for u in accounts.list_users(store)
    ]
    return {"ok": True, "items": items}


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64, examples=["zhang.san"])
    password: str = Field(min_length=accounts.MIN_PASSWORD, max_length=accounts.MAX_PASSWORD)
    role: str = Field(examples=["county"])
    region: str | None = Field(None, max_length=20, examples=["420822"])
    enterprise: str | None = Field(None, max_length=18)
    display_name: str | None = Field(None, max_length=100)


@router.post("/users", summary="Create an account (administrators)", status_code=201)
def add_user(
    store: WebStore,
    p: Annotated[Principal, requires("admin")],
    body: Annotated[NewUser, Body()],
) -> dict[str, Any]:
    u = accounts.add_user(
        store,
        body.username,
        body.password,
        body.role,
        region=body.region,
        enterprise=body.enterprise,
        display_name=body.display_name,
    )
    return {"ok": True, "username": u.username, "role": u.role}


@router.post("/users/{username}/disable", summary="Disable an account (administrators)")
def disable_user(
    store: WebStore,
    p: Annotated[Principal, requires("admin")],
    username: Annotated[str, Path(max_length=64)],
) -> dict[str, Any]:
    accounts.set_active(store, username, False)
    return {"ok": True}


@router.post(
    "/users/{username}/unlock",
    summary="Clear an account's failed logins: lifts its lockouts and delay (administrators)",
)
def unlock_user(
    store: WebStore,
    p: Annotated[Principal, requires("admin")],
    username: Annotated[str, Path(max_length=64)],
) -> dict[str, Any]:
    n = accounts.unlock(store, username)
    return {"ok": True, "cleared": n}
