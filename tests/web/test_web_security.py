"""Issue 14: the holes found when the web platform was attacked, each as a regression test on
both backends. The concurrency findings run real concurrent requests against a real uvicorn
server on loopback (threads), not mocks.

Finding → tests (the issue's table):

1. lockout race → test_concurrent_guesses_are_counted_before_they_are_checked (real server)
2. tokens outlive a password change, never expire, minted without the password → test_tokens_*
3. client JSON spread into keyword arguments → tests/sources/test_sources_security.py
4. a stranger locks ``admin`` out → test_a_stranger_cannot_lock_an_account_out (and above)
5. rate limits keyed on X-Forwarded-For → test_rate_limits_key_on_the_peer_not_on_forwarded_*,
   test_forwarded_headers_only_from_a_trusted_proxy
6. publication settings ignored by /air and /water → test_publication_settings_guard_*
7. 500s on year-1 dates, deep JSON, lone surrogates → test_dates_*, test_json_* (and the
   schemathesis walk in test_web_schemathesis.py)
8. ``Admin`` beside ``admin``; weak passwords → test_usernames_and_passwords
9. anonymous GETs write cache rows → test_a_get_of_an_empty_period_writes_nothing
10. an enterprise reads the inspectors' working file → tests/sources/test_sources_security.py
11. exports leave formula-like headers and TAB/CR cells → test_exports_neutralise_every_cell
12. secret, CSRF binding, /docs CSP, Permissions-Policy, server banner → test_secret_*,
    test_the_demo_secret_file, test_csrf_*, test_headers_*, the real-server rate-limit test
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from web_support import PASSWORD, client_for, csrf_of, login

from bishui.cli import main
from bishui.errors import ConfigError, ConflictError, InputError
from bishui.registry import Region, Registry, apply
from bishui.store import Store
from bishui.web import Settings, accounts, create_app, schema
from bishui.web.accounts import SESSION_COOKIE
from bishui.web.auth import CSRF_COOKIE
from bishui.web.errors import Unauthenticated
from bishui.web.settings import ensure_secret_file

SECRET_VALUE = "s" * 40
SECRET = "env:BISHUI_TEST_WEB_SECRET"


@pytest.fixture(autouse=True)
def web_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BISHUI_TEST_WEB_SECRET", SECRET_VALUE)


@pytest.fixture
def small(store: Store) -> Store:
    """Two regions, the web tables and two analysts (per test: lockout state is per test)."""
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
    accounts.add_user(store, "bob", PASSWORD, "admin")
    return store


# -- a real server on loopback ------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(app: Any) -> Iterator[str]:
    """*app* served by uvicorn (as ``bishui serve`` runs it) in a thread; yields its base URL."""
    import time

    import uvicorn

    from bishui.web.app import uvicorn_options

    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
        lifespan="off", **uvicorn_options(app.state.web.settings),
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):  # wait for it to listen (polling readiness, not timing anything)
        if server.started:
            break
        time.sleep(0.01)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class CountingHasher(PasswordHasher):
    """argon2 as in the tests, counting verifications against one hash (the account's)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=64, parallelism=1)
        self.target = ""
        self.checked = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        if hash == self.target:
            with self._lock:
                self.checked += 1
        return super().verify(hash, password)


def _login_form(base: str, username: str, password: str, **headers: str) -> httpx.Client:
    """A client holding a CSRF token for the login form; returns it with the form ready."""
    c = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    page = c.get("/login", headers={"Accept": "text/html", **headers})
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    c.headers.update({"Accept": "text/html", **headers})
    c.form = {"username": username, "password": password, "csrf_token": token}  # type: ignore[attr-defined]
    return c


def _burst(clients: list[httpx.Client]) -> list[int]:
    """Every client posts its login form at once (a barrier releases them together)."""
    barrier = threading.Barrier(len(clients))
    codes: list[int] = [0] * len(clients)

    def go(i: int) -> None:
        barrier.wait()
        codes[i] = clients[i].post("/login", data=clients[i].form).status_code  # type: ignore[attr-defined]

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return codes


# -- 1, 4, 5: the lockout under concurrency, per address, behind a trusted proxy -----------------
def test_concurrent_guesses_are_counted_before_they_are_checked(small: Store) -> None:
    old = accounts._hasher
    hasher = CountingHasher()
    accounts.use_hasher(hasher)
    try:
        accounts.set_password(small, "ana", PASSWORD)  # hashed by the counting hasher
        hasher.target = small.query("SELECT password_hash FROM users WHERE username = 'ana'")[0][
            "password_hash"
        ]
        settings = Settings(
            secret=SECRET, lockout_after=5, login_rate="1000/60", login_delay_max=0,
            trusted_proxies=("127.0.0.1",),
        )  # fmt: skip
        app = create_app(small, settings)
        with running(app) as base:
            attacker = {"X-Forwarded-For": "198.51.100.7"}
            clients = [_login_form(base, "ana", f"guess {i}", **attacker) for i in range(24)]
            codes = _burst(clients)
            assert codes == [401] * 24
            # the race: before, ~20 of 24 concurrent guesses were checked; now at most 5 are
            assert 1 <= hasher.checked <= settings.lockout_after, hasher.checked
            # that address is locked, even with the right password ...
            right = _login_form(base, "ana", PASSWORD, **attacker)
            assert right.post("/login", data=right.form).status_code == 401  # type: ignore[attr-defined]
            # ... but ana, elsewhere, is not (4: a stranger cannot lock an account out)
            ana = _login_form(base, "ana", PASSWORD, **{"X-Forwarded-For": "203.0.113.20"})
            r = ana.post("/login", data=ana.form)  # type: ignore[attr-defined]
            assert r.status_code == 303 and SESSION_COOKIE in r.cookies
            # an administrator lifts the attacker's lock
            assert accounts.unlock(small, "ana") >= 24
            again = _login_form(base, "ana", PASSWORD, **attacker)
            assert again.post("/login", data=again.form).status_code == 303  # type: ignore[attr-defined]
            for c in [*clients, right, ana, again]:
                c.close()
    finally:
        accounts.use_hasher(old)


async def test_a_stranger_cannot_lock_an_account_out(small: Store) -> None:
    settings = Settings(secret=SECRET, lockout_after=3, login_rate="100/60", login_delay_max=0.05)
    app = create_app(small, settings)
    # wrong logins from four addresses and five from one: admin logs in from its own (after
    # the account's delay, awaited by the login page)
    for address in ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"] + [
        "198.51.100.9"
    ] * 5:
        async with client_for(app, client=(address, 1234)) as c:
            assert (await login(c, "bob", "wrong password")).status_code == 401
    async with client_for(app, client=("198.51.100.9", 1234)) as c:
        assert (await login(c, "bob")).status_code == 401  # that address is locked
    async with client_for(app, client=("10.0.0.5", 1234)) as c:
        assert (await login(c, "bob")).status_code == 303  # the account is not
    # the admin API unlocks
    _, token = accounts.new_token(small, "bob", "ops")
    async with client_for(app, client=("198.51.100.9", 1234)) as c:
        auth = {"Authorization": f"Bearer {token}"}
        r = await c.post("/api/v1/users/ana/unlock", headers=auth)
        assert r.status_code == 200 and r.json()["cleared"] == 0
        r = await c.post("/api/v1/users/bob/unlock", headers=auth)
        # nine failures and the attempt refused while locked (it counts: it was a guess)
        assert r.status_code == 200 and r.json()["cleared"] == 10
        assert (await login(c, "bob")).status_code == 303


def test_the_login_delay_grows_with_failures_from_every_address() -> None:
    s = Settings(secret="", lockout_after=5, login_delay_max=4.0)
    delays = [accounts.login_delay(s, n) for n in range(4, 12)]
    assert delays == [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_failed_logins_are_forgotten_after_the_window(small: Store) -> None:
    import datetime as dt

    old = accounts._now() - dt.timedelta(days=1)
    for i in range(50):
        small.execute(
            "INSERT INTO login_failures (username, failed_at, peer) VALUES (?, ?, ?)",
            [f"sprayed{i}", old, "198.51.100.1"],
        )
    with pytest.raises(Unauthenticated):
        accounts.authenticate(small, Settings(secret=""), "ana", "wrong password", "192.0.2.1")
    rows = small.query("SELECT username FROM login_failures")
    assert [r["username"] for r in rows] == ["ana"]  # the table stays bounded by the window


def test_rate_limits_key_on_the_peer_not_on_forwarded_headers(small: Store) -> None:
    app = create_app(small, Settings(secret=SECRET, api_rate="5/60"))
    with running(app) as base, httpx.Client(base_url=base, timeout=30) as c:
        codes = [
            c.get("/api/v1/health", headers={"X-Forwarded-For": f"192.0.2.{i}"}).status_code
            for i in range(7)
        ]
        r = c.get("/api/v1/health")
    # uvicorn no longer believes X-Forwarded-For from loopback: one peer, one budget
    assert codes == [200] * 5 + [429] * 2
    assert "server" not in r.headers  # 12: no banner


async def test_forwarded_headers_only_from_a_trusted_proxy(small: Store) -> None:
    proxied = Settings(secret="", trusted_proxies=("10.0.0.0/8",), cookie_secure="auto")
    app = create_app(small, proxied)
    fwd = {"X-Forwarded-For": "1.2.3.4, 203.0.113.5, 10.0.0.7"}

    async def attempt(peer: str, password: str) -> httpx.Response:
        async with client_for(app, client=(peer, 1)) as c:
            page = await c.get("/login", headers={"Accept": "text/html", **fwd})
            token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
            return await c.post(
                "/login",
                data={"username": "ana", "password": password, "csrf_token": token},
                headers={"Accept": "text/html", **fwd},
            )

    assert (await attempt("10.0.0.2", "wrong password")).status_code == 401  # via the proxy
    assert (await attempt("192.0.2.8", "wrong password")).status_code == 401  # not a proxy
    peers = [r["peer"] for r in small.query("SELECT peer FROM login_failures ORDER BY failed_at")]
    # the right-most address the trusted proxies did not add; an untrusted peer is itself
    assert peers == ["203.0.113.5", "192.0.2.8"]
    # https at the proxy (X-Forwarded-Proto): cookies are Secure — believed from a proxy only
    for peer, secure in (("10.0.0.2", True), ("192.0.2.8", False)):
        async with client_for(app, client=(peer, 1)) as c:
            r = await c.get("/login", headers={"Accept": "text/html", "X-Forwarded-Proto": "https"})
            assert ("secure" in r.headers["set-cookie"].lower()) is secure, peer


# -- 2: tokens -----------------------------------------------------------------------------------
async def test_tokens_end_with_a_password_change_and_expire(small: Store) -> None:
    app = create_app(small, Settings(secret=""))
    _, token = accounts.new_token(small, "ana", "etl")
    (row,) = small.query("SELECT created_at, expires_at FROM api_tokens")
    assert (row["expires_at"] - row["created_at"]).days == 90  # a default lifetime
    auth = {"Authorization": f"Bearer {token}"}
    async with client_for(app) as c:
        assert (await c.get("/api/v1/me", headers=auth)).status_code == 200
        accounts.set_password(small, "ana", PASSWORD + " again")
        assert (await c.get("/api/v1/me", headers=auth)).status_code == 401
    with pytest.raises(InputError, match="days"):
        accounts.new_token(small, "ana", "forever", days=10_000)


async def test_tokens_need_a_session_and_the_password(small: Store) -> None:
    app = create_app(small, Settings(secret="", login_rate="100/60"))
    _, token = accounts.new_token(small, "ana", "etl")
    async with client_for(app) as c:
        body = {"name": "x", "password": PASSWORD}
        r = await c.post(
            "/api/v1/me/tokens", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 403 and "token" in r.json()["detail"]
        await login(c, "ana")
        csrf = {"X-CSRF-Token": await csrf_of(c, "/public")}
        r = await c.post("/api/v1/me/tokens", json={"name": "x"}, headers=csrf)
        assert r.status_code == 422 and r.json()["field"] == "body.password"
        r = await c.post(
            "/api/v1/me/tokens", json={**body, "password": "not it at all"}, headers=csrf
        )
        assert r.status_code == 401
        # the wrong password counts as a failed login of ana from this address
        assert small.query("SELECT COUNT(*) AS n FROM login_failures")[0]["n"] == 1
        r = await c.post("/api/v1/me/tokens", json={**body, "extra": 1}, headers=csrf)
        assert r.status_code == 422
        r = await c.post("/api/v1/me/tokens", json=body, headers=csrf)
        assert r.status_code == 200 and r.json()["token"].startswith("bsh_")


# -- 8: usernames and passwords ------------------------------------------------------------------
def test_usernames_and_passwords(small: Store) -> None:
    with pytest.raises(ConflictError, match="ignore case"):
        accounts.add_user(small, "ANA", PASSWORD, "analyst")
    with pytest.raises(ConflictError):
        accounts.add_user(small, "Bob", PASSWORD, "admin")
    for weak in ("aaaaaaaa", "password1", "qwertyuiop", "12345678", "abcd1234"):
        with pytest.raises(InputError, match="password"):
            accounts.add_user(small, "carol", weak, "analyst")
    with pytest.raises(InputError, match="not the username"):
        accounts.add_user(small, "carol.wang", "Carol.Wang", "analyst")
    with pytest.raises(InputError, match="password"):
        accounts.set_password(small, "ana", "ana")
    accounts.add_user(small, "carol", "长江 碧水 三峡 2026", "analyst")
    # a refused password is never echoed
    with pytest.raises(InputError) as e:
        accounts.add_user(small, "dave", "password1", "analyst")
    assert e.value.value == "***"


def test_case_variants_created_at_once_make_one_account(small: Store) -> None:
    names = ["carol", "Carol", "CAROL", "cArol", "caRol", "carOl"]
    barrier = threading.Barrier(len(names))
    outcome: dict[str, str] = {}

    def add(name: str) -> None:
        barrier.wait()
        try:
            accounts.add_user(small, name, "长江 碧水 三峡 2026", "analyst")
            outcome[name] = "made"
        except ConflictError:
            outcome[name] = "refused"

    threads = [threading.Thread(target=add, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcome.values()) == ["made"] + ["refused"] * (len(names) - 1)
    rows = small.query("SELECT username FROM users WHERE lower(username) = 'carol'")
    assert len(rows) == 1


# -- 6: publication ------------------------------------------------------------------------------
async def test_publication_settings_guard_air_and_water(
    city_store: Store, users: dict[str, Any]
) -> None:
    paths = {
        "/api/v1/air/realtime": "air",
        "/api/v1/air/daily?date=2026-01-01": "air",
        "/api/v1/air/ranking?period=2026": "air",
        "/api/v1/air/assessment?period=2026": "air",
        "/api/v1/air/calendar?year=2026": "air",
        "/api/v1/water/sections?period=2026-01": "water",
        "/api/v1/water/rivers?period=2026-01": "water",
        "/api/v1/water/cwqi?period=2026-01": "water",
    }
    only_water = create_app(city_store, Settings(secret="", public_kinds=("water",)))
    async with client_for(only_water) as c:
        for path, kind in paths.items():
            r = await c.get(path)
            if kind == "air":
                assert r.status_code == 401 and "not published" in r.json()["detail"], path
            else:
                assert r.status_code == 200, (path, r.text[:200])
        await login(c, users["enterprise"]["username"])
        r = await c.get("/api/v1/air/realtime")
        assert r.status_code == 403  # an enterprise sees only what is published elsewhere
    async with client_for(only_water) as c:
        await login(c, users["analyst"]["username"])
        assert (await c.get("/api/v1/air/realtime")).status_code == 200  # staff see everything
    day_only = create_app(city_store, Settings(secret="", public_periods=("day",)))
    async with client_for(day_only) as c:
        assert (await c.get("/api/v1/air/realtime")).status_code == 401  # hourly: withdrawn
        assert (await c.get("/api/v1/air/daily?date=2026-01-01")).status_code == 200
    hour_only = create_app(city_store, Settings(secret="", public_periods=("hour",)))
    async with client_for(hour_only) as c:
        # a day's water assessment is the sections' daily data: withdrawn with "day"
        assert (await c.get("/api/v1/water/sections?period=2026-01-05")).status_code == 401
        assert (await c.get("/api/v1/water/sections?period=2026-01")).status_code == 200


# -- 7: dates, JSON depth, lone surrogates -------------------------------------------------------
async def test_dates_outside_the_platform_range_are_422(client: httpx.AsyncClient) -> None:
    for url in (
        "/api/v1/measurements?site=AQ01&parameter=a34004&end=0001-01-01",
        "/api/v1/measurements?site=AQ01&parameter=a34004&start=9999-12-31T23:59:59",
        "/api/v1/air/realtime?hour=0001-01-01T00:00:00",
        "/api/v1/air/realtime?hour=0001-01-01T00:00:00%2B14:00",
        "/api/v1/air/daily?date=0001-01-01",
        "/api/v1/air/assessment?period=0001",
        "/api/v1/water/sections?period=1901-02-03",
    ):
        r = await client.get(url)
        assert r.status_code == 422 and r.json()["error"] == "invalid_input", (url, r.text)
        assert "2000-01-01" in r.json()["detail"] or "pattern" in r.json()["detail"], url
    # the pages that take a date say so too (400, the field named)
    for url in ("/air?date=0001-01-01", "/air?date=9999-12-31", "/water?month=0001-01"):
        r = await client.get(url)
        assert r.status_code == 400 and r.json()["field"] in ("date", "month"), url


async def test_json_too_deep_or_not_text_is_422_at_the_edge(client: httpx.AsyncClient) -> None:
    deep = b"[" * 500 + b"]" * 500
    for body in (deep, b'{"note": "\\ud800"}', b'{"\\udc00": 1}', b'{"a": [' + deep + b"]}"):
        for path in ("/api/v1/users", "/api/v1/tasks/T20260101-0001/visit", "/export.csv"):
            r = await client.post(path, content=body, headers={"Content-Type": "application/json"})
            assert r.status_code == 422 and r.json()["field"] == "body", (path, r.text)
    # a string with an escaped pair is fine text: it reaches the route (401: public)
    r = await client.post(
        "/api/v1/users",
        content=b'{"note": "\\ud83d\\ude00"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 401


async def test_nul_is_refused_before_the_store(small: Store) -> None:
    """PostgreSQL text cannot hold U+0000: it is refused at the edge (query, JSON) or never
    reaches a query (login), on both backends."""
    app = create_app(small, Settings(secret="", login_rate="100/60"))
    async with client_for(app) as c:
        r = await c.get("/api/v1/findings?site=a%00b")
        assert r.status_code == 422 and r.json()["field"] == "query"
        r = await c.post(
            "/api/v1/users", content=b'{"note": "a\\u0000b"}',
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        assert r.status_code == 422 and "U+0000" in r.json()["detail"]
        assert (await login(c, "ana\x00")).status_code == 401
        assert (await login(c, "ana\n")).status_code == 401
        assert (await login(c, "ana")).status_code == 303
    with pytest.raises(InputError, match="username"):
        accounts.add_user(small, "eve\n", PASSWORD, "analyst")


# -- 9: GETs never write -------------------------------------------------------------------------
async def test_a_get_of_an_empty_period_writes_nothing(
    client: httpx.AsyncClient, city_store: Store
) -> None:
    def count() -> int:
        return int(city_store.query("SELECT COUNT(*) AS n FROM water_results")[0]["n"])

    before = count()
    # the writer is busy for the whole request: a GET that needed it would never answer
    with city_store.writer_lock:
        r = await asyncio.wait_for(client.get("/api/v1/water/sections?period=2001-02-03"), 60)
    assert r.status_code == 200 and r.json()["period"] == "2001-02-03"
    assert count() == before


# -- 11: exports ---------------------------------------------------------------------------------
DANGEROUS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", '=HYPERLINK("http://x")']


async def test_exports_neutralise_every_cell(client: httpx.AsyncClient) -> None:
    from openpyxl import load_workbook

    table = {
        "name": "t",
        "title": "=HYPERLINK(1)",  # the title row is a cell too
        "header": [*DANGEROUS, "站点", "-1.5"],
        "rows": [[*DANGEROUS, "竹园小学", "-1.5"], [1, 2.5, None, "-3", "ok", "", "x", "y", "z"]],
    }
    r = await client.post("/export.xlsx", json=table)
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    cells = [c for row in ws.iter_rows() for c in row]
    assert len(cells) == 54  # 3 rows above the table (title, source, notice), 3 of it; 9 wide
    for c in cells:
        assert c.data_type != "f", c.coordinate  # no formula anywhere
        if isinstance(c.value, str) and c.value != "-1.5" and c.value != "-3":
            assert c.value[:1] not in ("=", "+", "-", "@", "\t", "\r"), (c.coordinate, c.value)
    assert ws["A1"].value == "'=HYPERLINK(1)"
    assert ws["A4"].value == "'=1+1" and ws["E5"].value == "'\tx" and ws["I4"].value == "-1.5"
    r = await client.post("/export.csv", json=table)
    text = r.content.decode("utf-8-sig")
    import csv

    for row in csv.reader(io.StringIO(text)):
        for v in row:
            if v not in ("-1.5", "-3"):
                assert v[:1] not in ("=", "+", "-", "@", "\t", "\r"), v


# -- 12: secrets, CSRF, headers ------------------------------------------------------------------
def test_secret_is_required_to_serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BISHUI_SECRET", raising=False)
    with pytest.raises(ConfigError, match="32 bytes"):
        Settings().resolve_secret(required=True)
    monkeypatch.setenv("BISHUI_SECRET", "short")
    with pytest.raises(ConfigError, match="32 bytes"):
        Settings().resolve_secret(required=True)
    with pytest.raises(ConfigError, match="32 bytes"):
        Settings().resolve_secret()  # a short secret is refused even in-process
    monkeypatch.setenv("BISHUI_SECRET", SECRET_VALUE)
    assert Settings().resolve_secret(required=True) == SECRET_VALUE.encode()
    monkeypatch.delenv("BISHUI_SECRET")
    r = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "x.duckdb"), "--port", "8765"])
    assert r.exit_code == 2 and "32 bytes" in r.output and "BISHUI_SECRET" in r.output


def test_the_demo_secret_file(tmp_path: Path) -> None:
    path = tmp_path / "d" / "web-secret"
    ref = ensure_secret_file(path)
    assert ref == f"file:{path}" and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    first = path.read_text()
    assert ensure_secret_file(path) == ref and path.read_text() == first  # reused
    assert len(Settings(secret=ref).resolve_secret(required=True)) == 64
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="owner only"):
        ensure_secret_file(path)


async def test_csrf_tokens_are_bound_to_the_session(small: Store) -> None:
    app = create_app(small, Settings(secret=SECRET))
    async with client_for(app) as a, client_for(app) as b:
        await login(a, "ana")
        await login(b, "bob")
        token_a = await csrf_of(a, "/public")
        # b presents a's CSRF cookie and token with its own session: refused
        b.cookies.set(CSRF_COOKIE, a.cookies[CSRF_COOKIE])
        body = {"name": "x", "password": PASSWORD}
        r = await b.post("/api/v1/me/tokens", json=body, headers={"X-CSRF-Token": token_a})
        assert r.status_code == 403 and "CSRF" in r.json()["detail"]
        r = await a.post("/api/v1/me/tokens", json=body, headers={"X-CSRF-Token": token_a})
        assert r.status_code == 200


async def test_headers_and_the_docs_page(client: httpx.AsyncClient) -> None:
    for path in ("/docs", "/public", "/api/v1/health", "/static/js/swagger-init.js"):
        r = await client.get(path, headers={"Accept": "text/html"})
        assert r.status_code == 200, path
        assert "camera=()" in r.headers["permissions-policy"], path
        assert "server" not in r.headers
    docs = await client.get("/docs")
    csp = docs.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    # no inline script: every <script> has a src, and nothing comes from another host
    scripts = docs.text.split("<script")[1:]
    assert scripts and all(s.lstrip().startswith("src=") for s in scripts)
    assert "http" not in docs.text.replace("http-equiv", "")
    assert "/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js" in docs.text
    init = await client.get("/static/js/swagger-init.js")
    assert "SwaggerUIBundle" in init.text and "data-openapi-url" in init.text
    assert json.loads((await client.get("/api/v1/openapi.json")).text)["openapi"]


class CountingLock:
    """The store's writer lock, counting who takes it."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.taken = inner, 0

    def acquire(self, *a: Any, **kw: Any) -> bool:
        self.taken += 1
        return bool(self.inner.acquire(*a, **kw))

    def release(self) -> None:
        self.inner.release()

    def __enter__(self) -> CountingLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


#: Query strings of the GET routes, naming periods without data (2001).
SWEEP_QUERY = {
    "/api/v1/measurements": "site=AQ01&parameter=a34004",
    "/api/v1/air/daily": "date=2001-01-01",
    "/api/v1/air/assessment": "period=2001",
    "/api/v1/air/ranking": "period=2001",
    "/api/v1/air/calendar": "year=2001",
    "/api/v1/water/sections": "period=2001-02",
    "/api/v1/water/rivers": "period=2001-02-03",
    "/api/v1/water/cwqi": "period=2001-Q1",
    "/api/v1/water/sources": "now=2001-01-01T00:00:00",
}


async def test_no_get_takes_the_writer(city_store: Store, users: dict[str, Any], app: Any) -> None:
    """Every GET of the API, as the public and as an analyst's token: the writer lock is never
    taken (finding 9 in general; a login would write its session, so a token is used)."""
    from test_web_permissions import EXPECTED, PATH_VALUES

    _, token = accounts.new_token(city_store, users["analyst"]["username"], "sweep", days=1)
    gets = sorted(p for m, p in EXPECTED if m == "GET" and p.startswith("/api/"))
    lock = CountingLock(city_store.writer_lock)
    city_store.writer_lock = lock  # type: ignore[assignment]
    try:
        async with client_for(app) as c:
            for path in gets:
                url = path
                for name, value in PATH_VALUES.items():
                    url = url.replace("{" + name + "}", value)
                if path in SWEEP_QUERY:
                    url += "?" + SWEEP_QUERY[path]
                for headers in ({}, {"Authorization": f"Bearer {token}"}):
                    r = await c.get(url, headers=headers)
                    assert r.status_code < 500, (url, r.text[:200])
                    assert lock.taken == 0, (url, headers)
    finally:
        city_store.writer_lock = lock.inner
    assert len(gets) >= 25
