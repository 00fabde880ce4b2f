"""create_app: every app has its own state over its own store; the route objects are built once
per process and shared (bishui.web.app._routes) — sharing must not leak one app's store, settings
or limits into another's."""

from __future__ import annotations

from pathlib import Path

from web_support import client_for, drop_store, make_store

from bishui.web import Settings, create_app


async def test_two_apps_answer_from_their_own_store_with_their_own_limits(tmp_path: Path) -> None:
    one, _, _ = make_store("duckdb", tmp_path / "one")
    other, _, _ = make_store("postgresql", tmp_path / "other")
    try:
        strict = create_app(one, Settings(secret="", api_rate="2/60"))
        lax = create_app(other, Settings(secret=""))
        assert strict.state.web is not lax.state.web
        shared = [r for r in strict.routes if r in lax.routes]
        assert len(shared) >= len(strict.routes) - 3  # all but /docs, /static, /openapi.json
        async with client_for(strict) as a, client_for(lax) as b:
            assert (await a.get("/api/v1/health")).json()["store"] == "duckdb"
            assert (await b.get("/api/v1/health")).json()["store"] == "postgresql"
            assert (await a.get("/api/v1/health")).status_code == 200
            assert (await a.get("/api/v1/health")).status_code == 429  # strict's third
            for _ in range(3):  # the other app's limit is its own
                assert (await b.get("/api/v1/health")).status_code == 200
            spec = (await b.get("/api/v1/openapi.json")).json()
            assert "/api/v1/health" in spec["paths"]
    finally:
        drop_store(one)
        drop_store(other)
