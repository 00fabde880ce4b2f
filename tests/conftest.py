"""Fixtures shared by the whole suite.

``store`` runs a test once against each backend: DuckDB (a fresh file) and PostgreSQL (a fresh
schema in the ``test`` database at 127.0.0.1:5432, or ``$BISHUI_TEST_PG``). Where no
PostgreSQL server answers, the PostgreSQL half is skipped with a message — unless ``CI`` is
set, where it fails: CI has the server, and a silent skip there would hide a broken backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bishui.app import register_domains
from bishui.store import Store, open_store

# The suite is an application: its stores carry every domain's tables (bishui.app).
register_domains()

PG_URL = os.environ.get("BISHUI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
_pg_ok: bool | None = None


def pg_available() -> bool:
    global _pg_ok
    if _pg_ok is None:
        try:
            import psycopg

            psycopg.connect(PG_URL, connect_timeout=3).close()
            _pg_ok = True
        except Exception:
            _pg_ok = False
    return _pg_ok


def require_pg() -> None:
    if not pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but PostgreSQL does not answer at {PG_URL}")
        pytest.skip(f"PostgreSQL does not answer at {PG_URL} (set CI=true to require it)")


def new_pg_schema() -> str:
    return f"t_{uuid.uuid4().hex[:16]}"


def make_store(backend: str, tmp_path: Path) -> tuple[Store, str, str | None]:
    """A fresh migrated store; returns (store, url, schema)."""
    if backend == "duckdb":
        url = str(tmp_path / "bishui.duckdb")
        return open_store(url), url, None
    require_pg()
    schema = new_pg_schema()
    return open_store(PG_URL, schema=schema), PG_URL, schema


def drop_store(store: Store) -> None:
    drop = getattr(store, "drop_schema", None)
    if drop is not None:
        drop()
    store.close()


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
