"""Published answers kept in memory per process (issue 21 item 6; bishui.web.public_cache).

The middleware's rules on a small ASGI app of the test's own (what is kept, for whom, the
bounds, one computation per key), then through the real app: an anonymous repeat is answered
from memory until it expires, a logged-in or token request never is, a language is a key of
its own, and the ETag and 304 still hold.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from web_support import client_for, login

from bishui.errors import ConfigError
from bishui.store import Store
from bishui.web import Settings, create_app, public_cache
from bishui.web.public_cache import PublicCache, cache_key


class Counting:
    """An ASGI app answering ``GET /n?…`` with how many times it ran; its headers are set by
    the query: ``private``, ``cookie``, ``status=404``, ``big``, ``nonce``."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate: asyncio.Event | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        q = scope.get("query_string", b"").decode()
        headers = [(b"content-type", b"text/plain")]
        headers.append((b"cache-control", b"private" if "private" in q else b"public, max-age=60"))
        if "cookie" in q:
            headers.append((b"set-cookie", b"x=1"))
        if "nonce" in q:
            scope.setdefault("state", {})["csrf_nonce"] = "n"
        status = 404 if "status=404" in q else 200
        body = b"x" * (public_cache.MAX_BODY + 1) if "big" in q else str(self.calls).encode()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _get(app: Any, path: str = "/n", **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        return await client.get(path, headers=headers)


async def test_a_published_answer_is_kept_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inner = Counting()
    cache = PublicCache(inner, seconds=10)
    now = [1000.0]
    monkeypatch.setattr(public_cache.time, "monotonic", lambda: now[0])
    assert (await _get(cache)).text == "1"
    now[0] += 9.999
    assert (await _get(cache)).text == "1"  # from memory: the app did not run
    assert inner.calls == 1 and cache.hits == 1
    now[0] += 0.001  # at the expiry: computed again
    assert (await _get(cache)).text == "2"


@pytest.mark.parametrize(
    "query",
    ["private", "cookie", "status=404", "nonce", "big"],
    ids=["not public", "sets a cookie", "not 200", "issued a CSRF nonce", "over MAX_BODY"],
)
async def test_what_is_never_kept(query: str) -> None:
    inner = Counting()
    cache = PublicCache(inner, seconds=10)
    first = await _get(cache, f"/n?{query}")
    second = await _get(cache, f"/n?{query}")
    assert inner.calls == 2 and cache.hits == 0
    if query != "big":
        assert (first.text, second.text) == ("1", "2")
    else:
        assert len(second.content) == public_cache.MAX_BODY + 1  # passed through whole


async def test_credentials_and_other_methods_bypass_it() -> None:
    inner = Counting()
    cache = PublicCache(inner, seconds=10)
    await _get(cache)
    assert (await _get(cache, authorization="Bearer bsh_x")).text == "2"
    assert (await _get(cache, cookie="bishui_session=abc")).text == "3"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=cache), base_url="http://t"
    ) as client:
        assert (await client.head("/n")).status_code == 200
    assert inner.calls == 4 and cache.hits == 0


def test_the_key_is_path_query_and_language() -> None:
    def scope(path: str = "/p", query: bytes = b"", cookie: str | None = None) -> Any:
        headers = [(b"cookie", cookie.encode())] if cookie is not None else []
        return {"type": "http", "method": "GET", "path": path, "query_string": query,
                "headers": headers}  # fmt: skip

    assert cache_key(scope()) == ("/p", b"", "")
    assert cache_key(scope(query=b"lang=en")) == ("/p", b"lang=en", "")
    # other cookies (the CSRF cookie of an earlier form) do not split the key; the language does
    assert cache_key(scope(cookie="bishui_csrf=abc; bishui_lang=en")) == ("/p", b"", "en")
    assert cache_key(scope(cookie="bishui_session=s")) is None
    # read as the app reads it: a malformed part does not hide the session or the language
    assert cache_key(scope(cookie="a=1; bad cookie; bishui_session=s")) is None
    assert cache_key(scope(cookie="bad cookie; bishui_lang=en")) == ("/p", b"", "en")


async def test_the_least_recently_used_key_goes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public_cache, "MAX_ENTRIES", 2)
    inner = Counting()
    cache = PublicCache(inner, seconds=10)
    for q in ("a", "b", "a", "c"):  # "a" used again, so "b" is the one dropped for "c"
        await _get(cache, f"/n?{q}")
    assert list(cache.kept) == [("/n", b"a", ""), ("/n", b"c", "")]


async def test_one_computation_per_key_under_concurrency() -> None:
    inner = Counting()
    inner.gate = asyncio.Event()
    cache = PublicCache(inner, seconds=10)
    tasks = [asyncio.create_task(_get(cache)) for _ in range(5)]
    await asyncio.sleep(0.05)
    inner.gate.set()
    answers = await asyncio.gather(*tasks)
    assert [r.text for r in answers] == ["1"] * 5
    assert inner.calls == 1


async def test_concurrent_requests_for_an_answer_that_cannot_be_kept() -> None:
    """Waiters on an answer that turns out not keepable compute their own, and the key then
    goes straight through for a while (no waiting behind a computation that cannot help)."""
    inner = Counting()
    inner.gate = asyncio.Event()
    cache = PublicCache(inner, seconds=10)
    tasks = [asyncio.create_task(_get(cache, "/n?private")) for _ in range(5)]
    await asyncio.sleep(0.05)
    assert inner.calls == 1  # the others wait for the first
    inner.gate.set()
    answers = await asyncio.gather(*tasks)
    assert sorted(r.text for r in answers) == ["1", "2", "3", "4", "5"]
    assert not cache.pending and ("/n", b"private", "") in cache.passing
    assert (await _get(cache, "/n?private")).text == "6"


async def test_zero_seconds_keeps_nothing() -> None:
    inner = Counting()
    cache = PublicCache(inner, seconds=0)
    await _get(cache)
    assert (await _get(cache)).text == "2"


def test_never_kept_longer_than_max_age() -> None:
    with pytest.raises(ConfigError, match=r"web\.public_cache_seconds"):
        Settings(secret="", public_cache_seconds=61, public_max_age=60)
    with pytest.raises(ConfigError, match=r"web\.public_cache_seconds"):
        Settings(secret="", public_cache_seconds=-1)


# -- through the app ---------------------------------------------------------------------------
async def test_the_app_keeps_anonymous_answers_only(
    city_store: Store, users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [5000.0]
    monkeypatch.setattr(public_cache.time, "monotonic", lambda: now[0])
    app = create_app(city_store, Settings(secret="", public_cache_seconds=10))
    row = city_store.query("SELECT code, name FROM regions ORDER BY code LIMIT 1")[0]
    hits = public_cache.ANSWERS.value(result="hit")
    try:
        async with client_for(app) as anon:
            first = await anon.get("/api/v1/regions")
            assert first.status_code == 200 and row["name"] in first.text
            city_store.execute(
                "UPDATE regions SET name = ? WHERE code = ?", ["改名区", row["code"]]
            )
            kept = await anon.get("/api/v1/regions")
            assert kept.content == first.content  # from memory, as declared by max-age
            assert kept.headers["x-content-type-options"] == "nosniff"  # headers still added
            assert public_cache.ANSWERS.value(result="hit") == hits + 1  # in /metrics
            again = await anon.get(
                "/api/v1/regions", headers={"If-None-Match": kept.headers["etag"]}
            )
            assert again.status_code == 304
            async with client_for(app) as staff:
                await login(staff, users["analyst"]["username"])
                fresh = await staff.get("/api/v1/regions")
                assert "改名区" in fresh.text  # a logged-in request is never served from memory
            now[0] += 10
            assert "改名区" in (await anon.get("/api/v1/regions")).text  # expired: recomputed
            en = await anon.get("/public?lang=en")
            zh = await anon.get("/public?lang=zh")
            assert en.content != zh.content  # each language its own key
    finally:
        city_store.execute("UPDATE regions SET name = ? WHERE code = ?", [row["name"], row["code"]])
