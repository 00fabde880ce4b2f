"""One storage interface, two backends, chosen by a URL.

>>> store = open_store("duckdb:///var/bishui/bishui.duckdb")      # embedded, the default
>>> store = open_store("postgresql://bishui@db.example/bishui")   # production
>>> store = open_store("postgresql://bishui@db.example/bishui?schema=jingmen")

A bare filesystem path means DuckDB. ``open_store`` migrates the schema unless told not to.
"""

from __future__ import annotations

from pathlib import Path
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
        store = DuckDBStore(":memory:" if path in ("", ":memory:", "/:memory:") else path)
    elif "://" in text:
        raise StorageError(f"unsupported store URL scheme in {text.split('://')[0]!r}://…")
    else:
        from bishui.store.duckdb_backend import DuckDBStore

        store = DuckDBStore(text)
    if migrate:
        store.migrate()
    return store
