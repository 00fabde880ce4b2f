"""Accounts over the API: who am I, my API tokens, and (administrators) user management.

Administrators list, create, disable and enable accounts, reset a password (argon2id, the
rules of :func:`bishui.web.accounts.check_password`; every session ends, every token is
revoked), change a role and its scope (county: a region; enterprise: a USCC) and unlock a
login. Each change is recorded in ``account_audit`` (who, when, what — never a password) and
listed by ``GET /users/audit``. An administrator cannot disable or demote their own account
(the platform would be left without one who can undo it).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from bishui.errors import ConflictError, PermissionDenied
from bishui.timeutil import to_beijing_naive
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
    accounts.record(store, _actor(p), "create", u.username, _scope_of(u))
    return {"ok": True, "username": u.username, "role": u.role}


def _actor(p: Principal) -> str:
    return p.username or p.role


def _scope_of(u: accounts.User) -> dict[str, Any]:
    return {"role": u.role, "region": u.region, "enterprise": u.enterprise,
            "display_name": u.display_name}  # fmt: skip


@router.post("/users/{username}/disable", summary="Disable an account (administrators)")
def disable_user(
    store: WebStore,
    p: Annotated[Principal, requires("admin")],
    username: Annotated[str, Path(max_length=64)],
) -> dict[str, Any]:
    if username == p.username:
        raise ConflictError("you cannot disable your own account")
    accounts.set_active(store, username, False)
    accounts.record(store, _actor(p), "disable", username, {})
    return {"ok": True}


@router.post("/users/{username}/enable", summary="Enable a disabled account (administrators)")
def enable_user(
    store: WebStore,
    p: Annotated[Principal, requires("admin")],
    username: Annotated[str, Path(max_length=64)],
) -> dict[str, Any]:
    accounts.set_active(store, username, True)
    accounts.record(store, _actor(p), "enable", username, {})
    return {"ok": True}


class NewPassword(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=accounts.MIN_PASSWORD, max_length=accounts.MAX_PASSWORD)


@router.post(
    "/users/{username}/password",
    summary="Reset an account's password (administrators); ends its sessions, revokes tokens",
)
def reset_password(
    store: WebStore,
    p: Annotated[Principal, requires("admin")],
    username: Annotated[str, Path(max_length=64)],
    body: Annotated[NewPassword, Body()],
) -> dict[str, Any]:
    accounts.set_password(store, username, body.password)
    accounts.record(store, _actor(p), "reset_password", username, {})
    return {"ok": True}


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Field(examples=["county"])
    region: str | None = Field(None, max_length=20, examples=["420822"])
    enterprise: str | None = Field(None, max_length=18)
    display_name: str | None = Field(None, max_length=100, description="omit to keep it")


@router.patch("/users/{username}", summary="Change an account's role and scope (administrators)")
def change_role(
    store: WebStore,
    p: Annotated[Principal, requires("admin")],
    username: Annotated[str, Path(max_length=64)],
    body: Annotated[RoleChange, Body()],
) -> dict[str, Any]:
    before = accounts.get_user(store, username)
    if username == p.username and body.role != "admin":
        raise ConflictError("you cannot take the administrator role from your own account")
    after = accounts.set_role(
        store, username, body.role, region=body.region, enterprise=body.enterprise,
        display_name=body.display_name,
    )  # fmt: skip
    accounts.record(
        store, _actor(p), "change_role", username,
        {"from": _scope_of(before), "to": _scope_of(after)},
    )  # fmt: skip
    return {"ok": True, "user": {"username": username, **_scope_of(after), "active": after.active}}


@router.get("/users/audit", summary="Changes to accounts, newest first (administrators)")
def users_audit(
    store: WebStore,
    p: Annotated[Principal, requires("admin")],
    username: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    items = accounts.audit_log(store, username, limit)
    for r in items:
        at = r["changed_at"]
        if isinstance(at, dt.datetime):
            r["changed_at"] = iso(to_beijing_naive(at.replace(tzinfo=dt.UTC)))
    return {"ok": True, "items": items}


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
    accounts.record(store, _actor(p), "unlock", username, {"cleared": n})
    return {"ok": True, "cleared": n}
