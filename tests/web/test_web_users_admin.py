"""User management over the API and the /users page (issue 16 item 6): create, disable and
enable, reset a password, change role and scope — administrators only, every change audited."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from web_support import PASSWORD, client_for, csrf_of, login

from bishui.registry import Region, Registry, apply
from bishui.store import Store
from bishui.web import Settings, accounts, create_app

NEW_PASSWORD = "purple elephant umbrella"


@pytest.fixture
def small(store: Store) -> Store:
    from bishui.web import schema

    schema.ensure(store)
    apply(
        store,
        Registry(
            regions=[
                Region("420800", "荆门市", "city"),
                Region("420822", "沙洋县", "county", parent="420800"),
            ]
        ),
    )
    accounts.add_user(store, "boss", PASSWORD, "admin")
    accounts.add_user(store, "ana", PASSWORD, "analyst")
    return store


@pytest.fixture
def app(small: Store) -> Any:
    return create_app(small, Settings(secret=""))


@contextlib.asynccontextmanager
async def _admin(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        assert (await login(c, "boss")).status_code == 303
        c.headers["X-CSRF-Token"] = await csrf_of(c, "/users")
        yield c


async def _can_login(app: Any, username: str, password: str) -> bool:
    async with client_for(app) as c:
        return (await login(c, username, password)).status_code == 303


async def test_create_disable_enable_reset_and_audit(app: Any, small: Store) -> None:
    async with _admin(app) as c:
        r = await c.post(
            "/api/v1/users",
            json={"username": "li.si", "password": PASSWORD, "role": "county",
                  "region": "420822", "display_name": "李四"},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        assert await _can_login(app, "li.si", PASSWORD)
        assert (await c.post("/api/v1/users/li.si/disable")).status_code == 200
        assert not await _can_login(app, "li.si", PASSWORD)
        assert (await c.post("/api/v1/users/li.si/enable")).status_code == 200
        assert await _can_login(app, "li.si", PASSWORD)
        r = await c.post("/api/v1/users/li.si/password", json={"password": NEW_PASSWORD})
        assert r.status_code == 200, r.text
        assert not await _can_login(app, "li.si", PASSWORD)
        assert await _can_login(app, "li.si", NEW_PASSWORD)
        (row,) = small.query("SELECT password_hash FROM users WHERE username = 'li.si'")
        assert row["password_hash"].startswith("$argon2id$")
        audit = (await c.get("/api/v1/users/audit", params={"username": "li.si"})).json()["items"]
    assert [(a["actor"], a["action"]) for a in audit] == [
        ("boss", "reset_password"),
        ("boss", "enable"),
        ("boss", "disable"),
        ("boss", "create"),
    ]
    assert audit[-1]["detail"] == {"role": "county", "region": "420822", "enterprise": None,
                                   "display_name": "李四"}  # fmt: skip
    assert audit[0]["changed_at"].endswith("+08:00")
    text = str(small.query("SELECT * FROM account_audit"))
    assert PASSWORD not in text and NEW_PASSWORD not in text


async def test_role_change_takes_effect_and_is_audited(app: Any, small: Store) -> None:
    async with client_for(app) as ana:
        await login(ana, "ana")
        assert (await ana.get("/api/v1/me")).json()["role"] == "analyst"
        async with _admin(app) as c:
            r = await c.patch("/api/v1/users/ana", json={"role": "county", "region": "420822"})
            assert r.status_code == 200, r.text
            assert r.json()["user"]["role"] == "county"
            audit = (await c.get("/api/v1/users/audit")).json()["items"]
        # the session carries the new role from its next request
        me = (await ana.get("/api/v1/me")).json()
        assert (me["role"], me["region"]) == ("county", "420822")
    assert audit[0]["action"] == "change_role"
    assert audit[0]["detail"]["from"]["role"] == "analyst"
    assert audit[0]["detail"]["to"]["region"] == "420822"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("POST", "/api/v1/users", {"username": "x1", "password": PASSWORD, "role": "root"}, 400,
         "role"),
        ("POST", "/api/v1/users", {"username": "x1", "password": PASSWORD, "role": "county"}, 400,
         "region"),
        ("POST", "/api/v1/users", {"username": "x1", "password": "password1", "role": "analyst"},
         400, "password"),
        ("POST", "/api/v1/users", {"username": "bad name", "password": PASSWORD,
                                   "role": "analyst"}, 400, "username"),
        ("POST", "/api/v1/users", {"username": "ANA", "password": PASSWORD, "role": "analyst"},
         409, None),
        ("POST", "/api/v1/users", {"username": "x1", "password": PASSWORD, "role": "analyst",
                                   "admin": True}, 422, None),
        ("PATCH", "/api/v1/users/ana", {"role": "county", "region": "999999"}, 400, "region"),
        ("PATCH", "/api/v1/users/ana", {"role": "analyst", "enterprise": "x"}, 400,
         "enterprise"),
        ("PATCH", "/api/v1/users/nobody", {"role": "analyst"}, 404, None),
        ("PATCH", "/api/v1/users/boss", {"role": "analyst"}, 409, None),
        ("POST", "/api/v1/users/boss/disable", None, 409, None),
        ("POST", "/api/v1/users/nobody/enable", None, 404, None),
        ("POST", "/api/v1/users/ana/password", {"password": "ana"}, 422, None),
        ("POST", "/api/v1/users/ana/password", {"password": "anaanaana"}, 400, "password"),
    ],
)  # fmt: skip
async def test_bad_input_changes_nothing(
    app: Any, small: Store, method: str, path: str, body: Any, status: int, field: str | None
) -> None:
    cols = "SELECT username, role, region, enterprise, password_hash, active FROM users "
    before = small.query(cols + "ORDER BY username")
    async with _admin(app) as c:
        r = await c.request(method, path, json=body)
    assert r.status_code == status, r.text
    if field:
        assert r.json()["field"] == field
    assert small.query(cols + "ORDER BY username") == before
    assert small.count("account_audit") == 0


async def test_admin_only(app: Any, small: Store) -> None:
    async with client_for(app) as c:
        await login(c, "ana")
        c.headers["X-CSRF-Token"] = await csrf_of(c, "/")
        for method, path, body in (
            ("GET", "/api/v1/users/audit", None),
            ("POST", "/api/v1/users/boss/disable", None),
            ("POST", "/api/v1/users/ana/enable", None),
            ("POST", "/api/v1/users/boss/password", {"password": NEW_PASSWORD}),
            ("PATCH", "/api/v1/users/ana", {"role": "admin"}),
        ):
            r = await c.request(method, path, json=body)
            assert r.status_code == 403, (method, path)
        page = await c.get("/users", headers={"Accept": "text/html"})
        assert page.status_code == 403
        assert 'href="/users"' not in (await c.get("/", headers={"Accept": "text/html"})).text
    assert accounts.get_user(small, "ana").role == "analyst"
    # without the CSRF header a session changes nothing
    async with client_for(app) as c:
        await login(c, "boss")
        r = await c.post("/api/v1/users/ana/disable")
        assert r.status_code == 403
    assert accounts.get_user(small, "ana").active


async def test_users_page(app: Any) -> None:
    async with _admin(app) as c:
        page = await c.get("/users", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "用户管理" in page.text and "账号变更记录" in page.text
    assert "/static/js/users.js" in page.text
    assert "<script>" not in page.text  # no inline script (CSP)
