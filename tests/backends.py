"""The two storage backends of the suite: a fresh DuckDB file or a fresh PostgreSQL schema.

Imported by the root ``conftest.py`` and by the tests and support modules that open stores of
their own (``from backends import make_store, drop_store``): a module name of its own, because
``conftest`` names a different module in each test directory that has one.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from bishui.store import Store, open_store

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
