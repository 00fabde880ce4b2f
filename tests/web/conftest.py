"""Fixtures of the web tests: the model city in each backend, one account per role, clients.

The city (registry plus a few hours of synthetic history ending now) is loaded once per
backend for the session; tests that change accounts or lockout state use the function-scoped
``store`` of the root conftest instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from web_support import client_for, drop_store, load_city, make_store

from bishui.store import Store
from bishui.web import Settings, create_app


@pytest.fixture(
    scope="session", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def city_db(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    cheap_argon2: None,
) -> Iterator[tuple[Store, dict[str, dict[str, Any]]]]:
    store, _, _ = make_store(str(request.param), tmp_path_factory.mktemp("city"))
    try:
        yield store, load_city(store)
    finally:
        drop_store(store)


@pytest.fixture
def settings() -> Settings:
    return Settings(secret="")


@pytest.fixture
def city_store(city_db: tuple[Store, dict[str, Any]]) -> Store:
    return city_db[0]


@pytest.fixture
def app(city_store: Store, settings: Settings) -> Any:
    return create_app(city_store, settings)


@pytest.fixture
def users(city_db: tuple[Store, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return city_db[1]


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c
