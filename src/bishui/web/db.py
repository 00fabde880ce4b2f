"""The few writes the web layer makes, through the store's one writer.

The store's public interface has reads (``query``) and registry upserts, but no general
statement; the account tables need ``INSERT``/``UPDATE``/``DELETE``. Until the store grows a
public ``execute``, these helpers use its write transaction and lock (the same single writer
every other write goes through), with ``?`` placeholders only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bishui.store import Store


def execute(store: Store, sql: str, params: Sequence[Any] = ()) -> None:
    """Run one parameterised write statement in its own committed transaction."""
    with store._write_lock, store._write_tx() as cur:
        store._exec(cur, sql, params)


def execute_many_statements(store: Store, statements: Sequence[str]) -> None:
    with store._write_lock, store._write_tx() as cur:
        for sql in statements:
            store._exec(cur, sql, ())


def table_exists(store: Store, table: str) -> bool:
    rows = store.query(
        "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = ?"  # noqa: S608 - fixed SQL fragments; values are bound
        + (" AND table_schema = current_schema()" if store.dialect == "postgresql" else ""),
        [table],
    )
    return bool(rows[0]["n"])
