"""Accounts, login, sessions, CSRF, rate limits, lockout and API tokens (issue 8 item 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from web_support import PASSWORD, client_for, csrf_of, login

from bishui.cli import main
from bishui.errors import ConflictError, InputError
from bishui.registry import Region, Registry, apply
from bishui.store import Store
from bishui.web import Settings, accounts, create_app
from bishui.web.accounts import SESSION_COOKIE


@pytest.fixture
def small(store: Store) -> Store:
    """A store with two regions and the web tables, no data (fast, per test)."""
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
    accounts.add_user(store, "ana", PASSWORD, "analyst")
    return store


def test_passwords_are_argon2id(small: Store) -> None:
    (row,) = small.query("SELECT password_hash FROM users WHERE username = 'ana'")
    assert row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in row["password_hash"]


def test_add_user_rules(small: Store) -> None:
    with pytest.raises(InputError, match="region"):
        accounts.add_user(small, "cty", PASSWORD, "county")  # no region
    with pytest.raises(InputError, match="region"):
        accounts.add_user(small, "cty", PASSWORD, "county", region="999999")
    with pytest.raises(InputError, match="enterprise"):
        accounts.add_user(small, "ent", PASSWORD, "enterprise")
    with pytest.raises(InputError, match="password"):
        accounts.add_user(small, "shorty", "short", "analyst")
    with pytest.raises(InputError, match="role"):
        accounts.add_user(small, "x1", PASSWORD, "public")
    with pytest.raises(InputError, match="username"):
        accounts.add_user(small, "bad name; --", PASSWORD, "analyst")
    with pytest.raises(ConflictError):
        accounts.add_user(small, "ana", PASSWORD, "analyst")
    accounts.add_user(small, "cty", PASSWORD, "county", region="420822")


async def test_login_sets_a_fresh_session_and_logout_ends_it(small: Store) -> None:
    app = create_app(small, Settings(secret=""))
    async with client_for(app) as c:
        # session fixation: a cookie planted before login is not the one after it
        c.cookies.set(SESSION_COOKIE, "attacker-chosen-value", domain="testserver.local")
        r = await login(c, "ana")
        assert r.status_code == 303 and r.headers["location"] == "/"
        set_cookie = r.headers["set-cookie"]
        assert "HttpOnly" in set_cookie and "samesite=lax" in set_cookie.lower()
        session = c.cookies[SESSION_COOKIE]
        assert session != "attacker-chosen-value" and len(session) >= 40
        assert (await c.get("/api/v1/me")).json()["username"] == "ana"
        # the session id is stored hashed only
        assert not small.query("SELECT * FROM sessions WHERE id_hash = ?", [session])
        token = await csrf_of(c, "/public")
        r = await c.post("/logout", data={"csrf_token": token})
        assert r.status_code == 303
        c.cookies.set(
            SESSION_COOKIE, session, domain="testserver.local"
        )  # replaying the old cookie gets nothing
        assert (await c.get("/api/v1/me")).status_code == 401


async def test_cookies_are_secure_over_https(small: Store) -> None:
    app = create_app(small, Settings(secret=""))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://bishui.example"
    ) as c:
        r = await login(c, "ana")
        assert "secure" in r.headers["set-cookie"].lower()


async def test_login_form_needs_its_csrf_token(small: Store) -> None:
    app = create_app(small, Settings(secret=""))
    async with client_for(app) as c:
        await c.get("/login")
        r = await c.post(
            "/login", data={"username": "ana", "password": PASSWORD, "csrf_token": "0" * 64}
        )
        assert r.status_code == 403 and SESSION_COOKIE not in c.cookies
        # a token from another browser (another CSRF cookie) does not work either
        async with client_for(app) as other:
            foreign = await csrf_of(other)
        r = await c.post(
            "/login", data={"username": "ana", "password": PASSWORD, "csrf_token": foreign}
        )
        assert r.status_code == 403


async def test_json_writes_on_a_session_need_the_csrf_header(small: Store) -> None:
    app = create_app(small, Settings(secret=""))
    async with client_for(app) as c:
        await login(c, "ana")
        body = {"name": "x", "password": PASSWORD}
        r = await c.post("/api/v1/me/tokens", json=body)
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
        token = await csrf_of(c, "/public")
        r = await c.post("/api/v1/me/tokens", json=body, headers={"X-CSRF-Token": token})
        assert r.status_code == 200 and r.json()["token"].startswith("bsh_")


async def test_lockout_after_failures_even_with_the_right_password(small: Store) -> None:
    settings = Settings(secret="", lockout_after=3, login_rate="100/60")
    app = create_app(small, settings)
    async with client_for(app) as c:
        for _ in range(3):
            assert (await login(c, "ana", "wrong password")).status_code == 401
        r = await login(c, "ana")
        assert r.status_code == 401 and SESSION_COOKIE not in c.cookies
        # the message is the same as for a wrong password: no hint which it was
        assert "锁定" in r.text
    # an administrator's password reset clears the failures
    accounts.set_password(small, "ana", PASSWORD + "!")
    async with client_for(app) as c:
        assert (await login(c, "ana", PASSWORD + "!")).status_code == 303


async def test_unknown_user_looks_like_a_wrong_password(small: Store) -> None:
    app = create_app(small, Settings(secret=""))
    async with client_for(app) as c:
        a = await login(c, "nobody", PASSWORD)
        b = await login(c, "ana", "wrong password")
        assert a.status_code == b.status_code == 401
        assert ("login-error" in a.text) and ("login-error" in b.text)


async def test_login_rate_limit_per_address(small: Store) -> None:
    app = create_app(small, Settings(secret="", login_rate="3/60", lockout_after=50))
    async with client_for(app) as c:
        for _ in range(3):
            await login(c, "ana", "wrong password")
        r = await login(c, "ana")  # even the right password: the address is limited
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


async def test_api_rate_limit(small: Store) -> None:
    app = create_app(small, Settings(secret="", api_rate="5/60"))
    async with client_for(app) as c:
        codes = [(await c.get("/api/v1/health")).status_code for _ in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]


async def test_api_tokens(small: Store) -> None:
    app = create_app(small, Settings(secret=""))
    tid, token = accounts.new_token(small, "ana", "etl")
    assert not small.query("SELECT * FROM api_tokens WHERE secret_hash = ?", [token])
    async with client_for(app) as c:
        auth = {"Authorization": f"Bearer {token}"}
        me = (await c.get("/api/v1/me", headers=auth)).json()
        assert me["username"] == "ana" and me["via"] == "token"
        # a token cannot mint tokens (issue 14: it used to, without the password)
        r = await c.post(
            "/api/v1/me/tokens", json={"name": "second", "password": PASSWORD}, headers=auth
        )
        assert r.status_code == 403
        accounts.new_token(small, "ana", "second")
        listed = (await c.get("/api/v1/me/tokens", headers=auth)).json()["items"]
        assert {t["name"] for t in listed} == {"etl", "second"}
        assert all(t["expires_at"] for t in listed)  # every token expires
        assert "secret" not in str(listed)
        bad = {"Authorization": f"Bearer {token[:-2]}xx"}
        assert (await c.get("/api/v1/me", headers=bad)).status_code == 401
        assert (await c.get("/api/v1/me", headers={"Authorization": "Basic x"})).status_code == 401
        assert (await c.delete(f"/api/v1/me/tokens/{tid}", headers=auth)).status_code == 200
        assert (await c.get("/api/v1/me", headers=auth)).status_code == 401


async def test_disable_ends_sessions_and_tokens(small: Store) -> None:
    app = create_app(small, Settings(secret=""))
    _, token = accounts.new_token(small, "ana", "etl")
    async with client_for(app) as c:
        await login(c, "ana")
        accounts.set_active(small, "ana", False)
        assert (await c.get("/api/v1/me")).status_code == 401
        r = await c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
        assert (await login(c, "ana")).status_code == 401


async def test_open_redirect_refused(small: Store) -> None:
    app = create_app(small, Settings(secret=""))
    async with client_for(app) as c:
        token = await csrf_of(c)
        r = await c.post(
            "/login",
            data={"username": "ana", "password": PASSWORD, "csrf_token": token, "next": "//x.io"},
        )
        assert r.headers["location"] == "/"


def test_demo_accounts_one_per_role(small: Store) -> None:
    from bishui.registry import Enterprise, uscc

    ent = Enterprise(uscc.generate("420822", 1), "x", "cement", "420822")
    apply(small, Registry(enterprises=[ent]))
    made = accounts.create_demo_accounts(small, region="420822", enterprise=ent.uscc)
    assert [r for _, r, _ in made] == list(accounts.ACCOUNT_ROLES)
    for user, _, password in made:
        assert accounts.authenticate(small, Settings(secret=""), user, password).username == user
    again = accounts.create_demo_accounts(small, region="420822", enterprise=ent.uscc)
    assert [p for *_, p in again] != [p for *_, p in made]


def test_cli_users(tmp_path: Any) -> None:
    db = str(tmp_path / "cli.duckdb")
    run = CliRunner().invoke
    r = run(
        main,
        ["users", "add", "li.si", "--db", db, "--role", "analyst", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert r.exit_code == 0, r.output
    r = run(main, ["users", "list", "--db", db])
    assert "li.si\tanalyst" in r.output
    r = run(main, ["users", "passwd", "li.si", "--db", db, "--password-stdin"], input="x\n")
    assert r.exit_code == 2 and "password" in r.output  # too short: refused with the rule
    r = run(
        main, ["users", "passwd", "li.si", "--db", db, "--password-stdin"], input=PASSWORD + "2\n"
    )
    assert r.exit_code == 0
    r = run(main, ["users", "token", "li.si", "--db", db, "--name", "etl"])
    assert r.output.startswith("bsh_")
    r = run(main, ["users", "disable", "li.si", "--db", db])
    assert r.exit_code == 0
    assert "(disabled)" in run(main, ["users", "list", "--db", db]).output
    r = run(main, ["users", "disable", "nobody", "--db", db])
    assert r.exit_code == 2 and "does not exist" in r.output


def test_migration_chains_into_the_store_format(store: Store) -> None:
    """The web migration, formatted as ``bishui.store.schema.statements`` does, applies twice."""
    from bishui.store import schema as store_schema
    from bishui.web import schema

    types = store_schema.TYPES[store.dialect]
    statements = [s.format(**types) for s in schema.MIGRATION]
    store.execute_many([(s, ()) for s in statements])
    store.execute_many([(s, ()) for s in statements])  # idempotent: IF NOT EXISTS throughout
    for table in schema.TABLES:
        assert store.table_exists(table)
    schema.ensure(store)  # finds them and does nothing


def test_settings_from_cli_and_env() -> None:
    import click

    from bishui.web.settings import click_options, from_cli, from_env

    seen: dict[str, Any] = {}

    @click.command()
    @click_options
    def serve(**values: Any) -> None:
        seen["settings"] = from_cli(values)

    r = CliRunner().invoke(serve, ["--port", "9000", "--public-kinds", "air"])
    assert r.exit_code == 0, r.output
    assert seen["settings"].port == 9000 and seen["settings"].public_kinds == ("air",)
    s = from_env({"BISHUI_WEB_PORT": "8100", "BISHUI_WEB_SESSION_HOURS": "2"})
    assert s.port == 8100 and s.session_hours == 2.0
    with pytest.raises(InputError, match=r"web\.secret"):
        Settings(secret="hunter2").resolve_secret()  # a secret itself, not a reference
    with pytest.raises(InputError, match="port"):
        from_env({"BISHUI_WEB_PORT": "99999"})


def test_web_schema_imports_without_the_store_or_the_web_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import bishui.web.schema as s; "
        "assert s.MIGRATION; "
        "bad = [m for m in ('bishui.store', 'bishui.web.app', 'fastapi') if m in sys.modules]; "
        "assert not bad, bad"
    )
    env_path = str(Path(__file__).resolve().parents[2] / "src")
    r = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": env_path},
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
