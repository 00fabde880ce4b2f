"""The embedded backend: one DuckDB file, one writer connection, cursors for readers.

DuckDB allows one process to open a file for writing; inside it, one connection writes (under
the store's lock, so writes are serialised as in Datasette's single write thread) and each
reading thread gets its own cursor. Bulk loads hand numpy columns to DuckDB directly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from bishui.errors import StorageError, StoreBusy
from bishui.store.base import (
    MEASUREMENT_COLUMNS,
    MEASUREMENT_KEY,
    MEASUREMENT_VALUES,
    REVISED_ORIGINS,
    Store,
    revision_sql,
)


class DuckDBStore(Store):
    dialect = "duckdb"

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = str(path)
        self.url = f"duckdb:///{self.path}" if self.path != ":memory:" else "duckdb://:memory:"
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(self.path)
        except duckdb.Error as exc:
            if "lock" in str(exc).lower():
                raise StoreBusy(
                    f"the DuckDB file {self.path} is in use by another process "
                    f"(a running `bishui demo` or `bishui serve`?): {exc}",
                    str(Path(self.path).resolve()),
                ) from exc
            raise StorageError(f"cannot open DuckDB file {self.path}: {exc}") from exc
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._cursors_lock = threading.Lock()

    def close(self) -> None:
        with self._cursors_lock:
            for c in self._cursors:
                with contextlib.suppress(duckdb.Error):  # already closed with its thread
                    c.close()
            self._cursors.clear()
        self._con.close()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cursor = cur
            with self._cursors_lock:
                self._cursors.append(cur)
        return cur

    @contextmanager
    def _write_tx(self) -> Iterator[Any]:
        cur = self._con
        try:
            cur.execute("BEGIN TRANSACTION")
            yield cur
            cur.execute("COMMIT")
        except duckdb.Error as exc:
            _rollback(cur)
            raise StorageError(f"write failed: {exc}") from exc
        except BaseException:
            _rollback(cur)
            raise

    def _read(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        try:
            cur = self._cursor().execute(sql, list(params))
            rows = cur.fetchall()
            names = [d[0] for d in cur.description] if cur.description else []
        except duckdb.Error as exc:
            raise StorageError(f"query failed: {exc}") from exc
        return names, rows

    def query_columns(self, sql: str, params: Sequence[Any] = ()) -> dict[str, np.ndarray]:
        try:
            raw = self._cursor().execute(sql, list(params)).fetchnumpy()
        except duckdb.Error as exc:
            raise StorageError(f"query failed: {exc}") from exc
        out: dict[str, np.ndarray] = {}
        for name, col in raw.items():
            if isinstance(col, np.ma.MaskedArray):
                kind = col.dtype.kind
                if kind in "fiu":
                    col = np.ma.filled(col.astype(np.float64), np.nan)
                elif kind == "M":
                    col = np.ma.filled(col, np.datetime64("NaT"))
                else:
                    col = np.ma.filled(col.astype(object), None)
            out[name] = np.asarray(col)
        return out

    def _upsert_rows(
        self,
        cur: Any,
        table: str,
        columns: Sequence[str],
        key: Sequence[str],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        # Keys are unique within a call (the last wins), then replaced in the table: delete
        # the batch's keys, insert the batch — as for measurements, and in bulk.
        last = {tuple(r[columns.index(k)] for k in key): r for r in rows}
        self._register(cur, "__bishui_rows", columns, list(last.values()))
        try:
            match = " AND ".join(f"t.{k} = b.{k}" for k in key)
            names = ", ".join(columns)
            cur.execute(f"DELETE FROM {table} t USING __bishui_rows b WHERE {match}")
            cur.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM __bishui_rows")
        finally:
            cur.unregister("__bishui_rows")

    def _insert_rows(
        self, cur: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        # DuckDB's executemany costs about a millisecond a row; a registered columnar batch
        # goes in at once.
        self._register(cur, "__bishui_rows", columns, rows)
        try:
            names = ", ".join(columns)
            cur.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM __bishui_rows")
        finally:
            cur.unregister("__bishui_rows")

    def _insert_columns(self, cur: Any, table: str, cols: Mapping[str, np.ndarray]) -> None:
        # the arrays themselves, registered as a relation: one INSERT … SELECT
        cur.register("__bishui_cols", {k: np.asarray(v) for k, v in cols.items()})
        try:
            names = ", ".join(cols)
            cur.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM __bishui_cols")
        finally:
            cur.unregister("__bishui_cols")

    @staticmethod
    def _register(
        cur: Any, name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        cols: dict[str, np.ndarray] = {}
        for col, values in zip(columns, zip(*rows, strict=True), strict=True):
            if any(isinstance(v, dt.datetime) for v in values):
                cols[col] = np.array(values, dtype=object).astype("datetime64[us]")
            else:
                cols[col] = np.array(values, dtype=object)
        cur.register(name, cols)

    def _bulk_upsert_measurements(
        self, cur: Any, cols: dict[str, np.ndarray], *, revisions: bool = False
    ) -> None:
        names = ", ".join(MEASUREMENT_COLUMNS)
        select = ", ".join(_SELECT.get(c, c) for c in MEASUREMENT_COLUMNS)
        key = " AND ".join(f"m.{c} = b.{c}" for c in MEASUREMENT_KEY)
        cur.register("__bishui_batch", cols)
        try:
            # The time bounds let DuckDB's zone maps skip old row groups.
            bounds = (
                "m.ts BETWEEN (SELECT MIN(ts) FROM __bishui_batch) "
                "AND (SELECT MAX(ts) FROM __bishui_batch)"
            )
            if not revisions:
                # Re-delivery replaces: the batch's keys are removed, then the batch goes
                # in, in the caller's transaction.
                cur.execute(
                    f"DELETE FROM measurement m USING __bishui_batch b WHERE {key} AND {bounds}"
                )
                cur.execute(
                    f"INSERT INTO measurement ({names}) SELECT {select} FROM __bishui_batch"
                )
                return
            # the common case, new data: one join finds no stored row, one insert
            cur.execute(
                f"SELECT COUNT(*) FROM measurement m JOIN __bishui_batch b ON {key} AND {bounds}"
            )
            if not int(cur.fetchone()[0]):
                cur.execute(
                    f"INSERT INTO measurement ({names}) SELECT {select} FROM __bishui_batch"
                )
                return
            v = {c: e.replace("(", "(b.", 1) for c, e in _SELECT.items()}
            cur.execute(revision_sql("__bishui_batch", v))
            revised = int(cur.fetchone()[0])
            differs = " OR ".join(
                f"m.{c} IS DISTINCT FROM {v.get(c, 'b.' + c)}" for c in MEASUREMENT_VALUES
            )
            origins = ", ".join(f"'{o}'" for o in REVISED_ORIGINS)
            # Changed (or not revision-kept) rows are replaced; identical ones stay as stored.
            cur.execute(
                f"DELETE FROM measurement m USING __bishui_batch b WHERE {key} AND {bounds} "
                f"AND (b.origin NOT IN ({origins}) OR {differs})"
            )
            cur.execute(
                f"INSERT INTO measurement ({names}) SELECT {select} FROM __bishui_batch b "
                f"WHERE NOT EXISTS (SELECT 1 FROM measurement m WHERE {key} AND {bounds})"
            )
            if revised:
                cur.execute(
                    "UPDATE measurement m SET revised = TRUE FROM __bishui_batch b "
                    f"WHERE {key} AND b.origin IN ({origins}) AND EXISTS (SELECT 1 FROM "
                    "measurement_revision r WHERE r.site_id = m.site_id AND "
                    "r.parameter = m.parameter AND r.period = m.period AND r.ts = m.ts "
                    "AND r.origin = m.origin)"
                )
        finally:
            cur.unregister("__bishui_batch")


_SELECT = {
    "value": "NULLIF(value, 'NaN'::DOUBLE)",
    "vmin": "NULLIF(vmin, 'NaN'::DOUBLE)",
    "vmax": "NULLIF(vmax, 'NaN'::DOUBLE)",
    "cou": "NULLIF(cou, 'NaN'::DOUBLE)",
    "n_valid": "NULLIF(n_valid, -1)",
}


def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # no transaction open
        cur.execute("ROLLBACK")
