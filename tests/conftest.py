"""Fixtures shared by the whole suite.

``store`` runs a test once against each backend: DuckDB (a fresh file) and PostgreSQL (a fresh
schema in the ``test`` database at 127.0.0.1:5432, or ``$BISHUI_TEST_PG``). Where no
PostgreSQL server answers, the PostgreSQL half is skipped with a message — unless ``CI`` is
set, where it fails: CI has the server, and a silent skip there would hide a broken backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backends import drop_store, make_store
from bishui.app import register_domains
from bishui.store import Store

# The suite is an application: its stores carry every domain's tables (bishui.app).
register_domains()


@pytest.fixture(scope="session", autouse=True)
def cheap_argon2() -> Iterator[None]:
    """Minimal argon2 cost in every test (the domains' tests make accounts too): hashing stays
    argon2id, only the slower parameters are skipped."""
    from argon2 import PasswordHasher

    from bishui.web import accounts

    old = accounts._hasher
    accounts.use_hasher(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    yield
    accounts.use_hasher(old)


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[Store]:
    s, _, _ = make_store(backend, tmp_path)
    try:
        yield s
    finally:
        drop_store(s)
