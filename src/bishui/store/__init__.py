"""One storage interface, two backends, chosen by a URL.

>>> store = open_store("duckdb:///var/bishui/bishui.duckdb")      # embedded, the default
>>> store = open_store("postgresql://bishui@db.example/bishui")   # production
>>> store = open_store("postgresql://bishui@db.example/bishui?schema=jingmen")

A bare filesystem path means DuckDB. ``open_store`` migrates the schema unless told not to.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bishui.errors import StorageError
from bishui.store.base import (
    MEASUREMENT_COLUMNS,
    ORIGINS,
    PERIODS,
    Batch,
    NestedTransactionError,
    QuarantineEntry,
    RawEntry,
    Store,
    Transaction,
    rows_to_columns,
    storable,
)

__all__ = [
    "MEASUREMENT_COLUMNS",
    "ORIGINS",
    "PERIODS",
    "Batch",
    "NestedTransactionError",
    "QuarantineEntry",
    "RawEntry",
    "Store",
    "Transaction",
    "open_store",
    "rows_to_columns",
    "storable",
]

#: DuckDB files held open by this process and lent to commands run in it (``lending``).
_LENT: dict[str, Store] = {}
_LENT_LOCK = threading.Lock()


class _Borrowed:
    """A running store lent to a command: every call goes to it, except ``close``."""

    def __init__(self, store: Store) -> None:
        self.__dict__["_owner"] = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_owner"], name)

    def close(self) -> None:
        """The lender closes it, not the borrower."""


@contextmanager
def lending(store: Store, path: str | Path) -> Iterator[None]:
    """While inside, :func:`open_store` of the DuckDB file *path* in this process returns
    *store* (whose ``close`` does nothing) instead of opening the file again.

    The running platform holds its DuckDB file (one process may open it); the commands it runs
    for ``bishui`` processes (``bishui.control``) use its store, so their writes queue behind
    the platform's own on one writer.
    """
    key = os.path.realpath(path)
    with _LENT_LOCK:
        _LENT[key] = store
    try:
        yield
    finally:
        with _LENT_LOCK:
            _LENT.pop(key, None)


def _lent(path: str) -> Store | None:
    if path in ("", ":memory:", "/:memory:") or not _LENT:
        return None
    with _LENT_LOCK:
        store = _LENT.get(os.path.realpath(path))
    return None if store is None else cast(Store, _Borrowed(store))


def open_store(url: str | Path, *, schema: str | None = None, migrate: bool = True) -> Store:
    """Open the store at *url* (``duckdb:///path``, ``postgresql://…`` or a file path)."""
    text = str(url)
    store: Store
    if text.startswith(("postgresql://", "postgres://")):
        from bishui.store.postgres_backend import PostgresStore

        # ``?schema=NAME`` selects a schema inside the database (a deployment, or a test).
        parts = urlsplit(text)
        query = parse_qsl(parts.query, keep_blank_values=True)
        schema = next((v for k, v in query if k == "schema"), schema)
        rest = urlencode([(k, v) for k, v in query if k != "schema"])
        text = urlunsplit(parts._replace(query=rest))
        store = PostgresStore(text, schema=schema)
    elif text.startswith("duckdb://"):
        from bishui.store.duckdb_backend import DuckDBStore

        path = text.removeprefix("duckdb://")
        if path.startswith("/") and not path.startswith("//"):
            path = path[1:] if path.startswith("/:memory:") else path
        lent = _lent(path)
        if lent is not None:
            return lent
        store = DuckDBStore(":memory:" if path in ("", ":memory:", "/:memory:") else path)
    elif "://" in text:
        raise StorageError(f"unsupported store URL scheme in {text.split('://')[0]!r}://…")
    else:
        from bishui.store.duckdb_backend import DuckDBStore

        lent = _lent(text)
        if lent is not None:
            return lent
        store = DuckDBStore(text)
    if migrate:
        store.migrate()
    return store
