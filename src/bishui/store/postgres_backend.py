"""The production backend: PostgreSQL through psycopg 3.

One writer connection (under the store's lock) and a small pool of reader connections. Bulk
loads go through ``COPY`` into a temporary table, then one ``INSERT … ON CONFLICT``. An
optional *schema* isolates a deployment (or a test) inside one database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
from psycopg import sql as pgsql
from psycopg_pool import ConnectionPool

from bishui.errors import StorageError
from bishui.store.base import MEASUREMENT_COLUMNS, MEASUREMENT_KEY, Store

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _placeholders(sql: str) -> str:
    # The shared SQL uses "?"; psycopg wants "%s" (and a literal % doubled).
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresStore(Store):
    dialect = "postgresql"

    def __init__(self, url: str, schema: str | None = None, pool_size: int = 4) -> None:
        super().__init__()
        self.url = url
        self.schema = schema
        if schema is not None and not _SCHEMA_NAME.match(schema):
            raise StorageError(f"schema name {schema!r} is not a plain lower-case identifier")
        try:
            self._wcon = psycopg.connect(url, autocommit=True)
            if schema:
                self._wcon.execute(
                    pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pgsql.Identifier(schema))
                )
                self._set_path(self._wcon)
            self._pool = ConnectionPool(
                url,
                min_size=1,
                max_size=pool_size,
                kwargs={"autocommit": True},
                configure=self._set_path if schema else None,
                open=True,
            )
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to PostgreSQL: {_redact(str(exc))}") from exc

    def _set_path(self, con: psycopg.Connection[Any]) -> None:
        assert self.schema is not None
        con.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(self.schema)))

    def close(self) -> None:
        self._pool.close()
        self._wcon.close()

    def drop_schema(self) -> None:
        """Drop this store's schema and everything in it (tests only)."""
        if self.schema:
            self._wcon.execute(
                pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(self.schema))
            )

    @contextmanager
    def _write_tx(self) -> Iterator[Any]:
        try:
            with self._wcon.transaction(), self._wcon.cursor() as cur:
                yield cur
        except psycopg.Error as exc:
            raise StorageError(f"write failed: {exc}") from exc

    def _exec(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> None:
        cur.execute(_placeholders(sql), list(params))

    def _execmany(self, cur: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        cur.executemany(_placeholders(sql), [list(r) for r in rows])

    def _read(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        try:
            with self._pool.connection() as con, con.cursor() as cur:
                cur.execute(_placeholders(sql), list(params))
                rows = cur.fetchall() if cur.description else []
                names = [d.name for d in cur.description] if cur.description else []
        except psycopg.Error as exc:
            raise StorageError(f"query failed: {exc}") from exc
        return names, rows

    def _bulk_upsert_measurements(self, cur: Any, cols: dict[str, np.ndarray]) -> None:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS bishui_batch "
            "(LIKE measurement INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        names = ", ".join(MEASUREMENT_COLUMNS)
        n = len(cols["site_id"])
        with cur.copy(f"COPY bishui_batch ({names}) FROM STDIN") as copy:
            for i in range(n):
                copy.write_row([_pg_value(c, cols[c][i]) for c in MEASUREMENT_COLUMNS])
        updates = ", ".join(
            f"{c} = excluded.{c}" for c in MEASUREMENT_COLUMNS if c not in MEASUREMENT_KEY
        )
        cur.execute(
            f"INSERT INTO measurement ({names}) SELECT {names} FROM bishui_batch "
            f"ON CONFLICT ({', '.join(MEASUREMENT_KEY)}) DO UPDATE SET {updates}"
        )


def _pg_value(column: str, v: Any) -> Any:
    if column in ("value", "vmin", "vmax", "cou"):
        f = float(v)
        return None if f != f else f
    if column == "n_valid":
        i = int(v)
        return None if i < 0 else i
    if column in ("ts", "received_at"):
        return None if np.isnat(v) else v.astype("datetime64[us]").item()
    if column == "valid":
        return bool(v)
    return v


def _redact(message: str) -> str:
    # A connection error can echo the URL; never let a password reach a log or a page.
    return re.sub(r"(password=|://[^:/@]+:)[^@\s]+", r"\1***", message)
