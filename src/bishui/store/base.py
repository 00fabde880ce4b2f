"""The storage interface every backend implements.

A narrow interface: the registry tables, one bulk writer for measurements, the raw log and
quarantine, and parameterised read queries. SQL is written once, with ``?`` placeholders, in
the subset DuckDB and PostgreSQL share; a backend supplies connections, the bulk-load path and
the translation of its own exceptions into :class:`bishui.errors.StorageError`.

Durability: :meth:`Store.write_batch` returns only after its transaction has committed. The
gateway acknowledges a packet (HJ 212 9014) only after that (see ``bishui.store.writer``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bishui.errors import InputError, NotFoundError, StorageError
from bishui.store import schema

log = logging.getLogger("bishui.store")

#: Columns of ``measurement`` in their table order; bulk writes take exactly these arrays.
MEASUREMENT_COLUMNS: tuple[str, ...] = (
    "site_id",
    "parameter",
    "period",
    "ts",
    "origin",
    "value",
    "vmin",
    "vmax",
    "cou",
    "flag",
    "valid",
    "n_valid",
    "source",
    "received_at",
)
MEASUREMENT_KEY = ("site_id", "parameter", "period", "ts", "origin")
#: The columns whose change makes a re-delivery a revision (the rest say where it came from).
MEASUREMENT_VALUES = ("value", "vmin", "vmax", "cou", "flag", "valid", "n_valid")
#: Origins whose re-delivered values are revised, never silently replaced (the platform's own
#: aggregates are recomputed as data arrives and are not revisions).
REVISED_ORIGINS = ("logger", "upload")

#: The periods a measurement can have (HJ 212: 2011 real-time, 2051 minute, 2061 hour, 2031 day).
PERIODS = ("rt", "min", "hour", "day")
#: The periods retention drops after a time (``store.minute_retention_days``): minute and
#: real-time values. Hourly and daily values are kept for ever.
MINUTE_PERIODS = ("min", "rt")
HOURLY_PERIODS = ("hour", "day")
#: Who produced a value: the data logger, the platform's own aggregation, or a file upload.
ORIGINS = ("logger", "platform", "upload")

REGISTRY_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # table: (columns, key)
    "regions": (("code", "name", "name_en", "kind", "parent", "central"), ("code",)),
    "enterprises": (
        (
            "uscc",
            "name",
            "industry",
            "region",
            "address",
            "lon",
            "lat",
            "key_unit",
            "legal_rep",
            "contact",
            "phone",
        ),
        ("uscc",),
    ),
    "sites": (
        (
            "id",
            "kind",
            "name",
            "region",
            "lon",
            "lat",
            "enterprise",
            "outlet",
            "river",
            "body",
            "target_class",
            "control",
            "drinking_source",
            "assessment",
            "attrs",
        ),
        ("id",),
    ),
    "devices": (("mn", "site_id", "pw", "st", "edition", "crc_policy", "active"), ("mn",)),
    "device_parameters": (
        ("mn", "parameter", "unit", "range_min", "range_max"),
        ("mn", "parameter"),
    ),
}


# Table names are composed into SQL, so they must be plain identifiers (never user input).
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One thing received, exactly as received (``raw_log``)."""

    received_at: dt.datetime
    channel: str  # "hj212" | "upload"
    raw: bytes
    verdict: str  # "accepted" | "partial" | "rejected"
    peer: str | None = None
    mn: str | None = None
    qn: str | None = None
    cn: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """Something refused, with why, and enough to release it after review."""

    received_at: dt.datetime
    channel: str
    reason: str
    message: str
    peer: str | None = None
    mn: str | None = None
    site_id: str | None = None
    field: str | None = None
    value: str | None = None
    payload: dict[str, Any] | None = None  # a measurement row to release, when there is one
    raw: bytes | None = None


@dataclass(slots=True)
class Batch:
    """What one durable write contains: raw-log entries, measurement rows and quarantine."""

    raw: list[RawEntry] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)  # MEASUREMENT_COLUMNS order
    quarantine: list[QuarantineEntry] = field(default_factory=list)

    def extend(self, other: Batch) -> None:
        self.raw.extend(other.raw)
        self.rows.extend(other.rows)
        self.quarantine.extend(other.quarantine)

    def __len__(self) -> int:
        return len(self.raw) + len(self.rows) + len(self.quarantine)


#: Bounds on text that comes from the wire into raw-log and quarantine columns [characters].
TEXT_LIMIT = 256
MESSAGE_LIMIT = 2000


def storable(text: Any, limit: int = TEXT_LIMIT) -> Any:
    """*text* made storable in any backend: NUL written ``\\x00``, lone surrogates (invalid
    UTF-8 carried through ``surrogateescape``) written ``\\udcXX``, at most *limit* characters
    (a cut is marked ``…``). Anything but a ``str`` is returned as is.

    PostgreSQL refuses NUL in ``text`` and DuckDB invalid UTF-8; one such value must never
    fail a transaction that carries other loggers' data (issue 13).
    """
    if not isinstance(text, str):
        return text
    cut = len(text) > limit
    text = text[:limit]
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(text) > limit:  # the escapes made it longer
        text, cut = text[:limit], True
    return text + "…" if cut else text


def rows_to_columns(rows: Sequence[tuple[Any, ...]]) -> dict[str, np.ndarray]:
    """Measurement rows (tuples in MEASUREMENT_COLUMNS order) → column arrays for bulk load."""
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in MEASUREMENT_COLUMNS]
    out: dict[str, np.ndarray] = {}
    for name, values in zip(MEASUREMENT_COLUMNS, cols, strict=True):
        if name in ("value", "vmin", "vmax", "cou"):
            out[name] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        elif name == "n_valid":
            out[name] = np.array([-1 if v is None else v for v in values], dtype=np.int32)
        elif name == "valid":
            out[name] = np.array(values, dtype=bool)
        elif name in ("ts", "received_at"):
            # Through object: several times faster than numpy parsing each datetime.
            out[name] = np.array(values, dtype=object).astype("datetime64[us]")
        else:
            out[name] = np.array(values, dtype=object)
    return out


def revision_sql(batch: str, columns: Mapping[str, str] | None = None) -> str:
    """The statement that copies stored rows about to be changed by the batch relation
    *batch* (alias ``b``) into ``measurement_revision``. *columns* maps a value column to the
    SQL expression reading it from the batch (default ``b.<column>``; a backend may hold
    NULL as NaN or -1)."""
    col = {c: f"b.{c}" for c in MEASUREMENT_VALUES} | dict(columns or {})
    key = " AND ".join(f"m.{c} = b.{c}" for c in MEASUREMENT_KEY)
    differs = " OR ".join(f"m.{c} IS DISTINCT FROM {col[c]}" for c in MEASUREMENT_VALUES)
    origins = ", ".join(f"'{o}'" for o in REVISED_ORIGINS)
    return (
        "INSERT INTO measurement_revision (site_id, parameter, period, ts, origin, old_value, "
        "old_vmin, old_vmax, old_cou, old_flag, old_valid, old_source, old_received_at, "
        "new_value, new_flag, new_source, revised_at, revised_by) "
        "SELECT m.site_id, m.parameter, m.period, m.ts, m.origin, m.value, m.vmin, m.vmax, "
        f"m.cou, m.flag, m.valid, m.source, m.received_at, {col['value']}, b.flag, b.source, "
        f"b.received_at, b.origin FROM measurement m JOIN {batch} b ON {key} "
        f"WHERE b.origin IN ({origins}) AND ({differs})"
    )


def _dedupe_last(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Keep the last row of each measurement key: a batch may carry a re-delivery of itself."""
    n = len(cols["site_id"])
    if n < 2:
        return cols
    last: dict[tuple[Any, ...], int] = {}
    for i, k in enumerate(zip(*(cols[c].tolist() for c in MEASUREMENT_KEY), strict=True)):
        last[k] = i
    if len(last) == n:
        return cols
    keep = np.fromiter(sorted(last.values()), dtype=np.int64, count=len(last))
    return {k: v[keep] for k, v in cols.items()}


class Store(ABC):
    """One database: the registry, the series, the raw log and quarantine."""

    dialect: str
    url: str

    def __init__(self) -> None:
        #: The single writer's lock: every write holds it (through :meth:`transaction` or the
        #: store's own writes). Hold it yourself only to keep writers out (maintenance, tests).
        self.writer_lock = threading.Lock()
        # The thread inside a transaction, if any: the lock is not re-entrant, so a nested
        # transaction in the same thread would wait for itself forever — refuse it instead.
        self._writer: int | None = None

    # -- backend hooks ------------------------------------------------------------------
    @abstractmethod
    @contextmanager
    def _write_tx(self) -> Iterator[Any]:
        """A cursor inside one write transaction; commits on exit, rolls back on error."""

    @abstractmethod
    def _read(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a read query; (column names, rows)."""

    @abstractmethod
    def _bulk_upsert_measurements(
        self, cur: Any, cols: dict[str, np.ndarray], *, revisions: bool = False
    ) -> None:
        """Insert measurement columns, replacing rows with the same key.

        With *revisions*: a row of a :data:`REVISED_ORIGINS` origin whose values differ from
        the stored row's keeps the stored one in ``measurement_revision`` and is marked
        ``revised``; a row identical in :data:`MEASUREMENT_VALUES` leaves the stored row as
        it is (an identical re-delivery is a no-op).
        """

    @abstractmethod
    def close(self) -> None: ...

    def _exec(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> None:
        cur.execute(sql, list(params))

    def _execmany(self, cur: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        cur.executemany(sql, [list(r) for r in rows])

    def _insert_rows(
        self, cur: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Append rows to *table* (a backend may override this with a bulk path)."""
        marks = ", ".join("?" for _ in columns)
        self._execmany(cur, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def _insert_columns(self, cur: Any, table: str, cols: Mapping[str, np.ndarray]) -> None:
        """Append equal-length columns to *table* (a backend may override this with a bulk
        path); here, as rows."""
        names = list(cols)
        rows = list(zip(*(np.asarray(cols[c]).tolist() for c in names), strict=True))
        self._insert_rows(cur, table, names, rows)

    # -- transactions ---------------------------------------------------------------------
    @contextmanager
    def _writing(self) -> Iterator[Any]:
        """The writer lock, then a backend cursor inside one write transaction."""
        me = threading.get_ident()
        if self._writer == me:
            raise NestedTransactionError(
                "a write transaction is already open in this thread; do the work inside it"
            )
        with self.writer_lock:
            self._writer = me
            try:
                with self._write_tx() as cur:
                    yield cur
            finally:
                self._writer = None

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One write transaction through the store's single writer.

        Takes the writer lock, yields a :class:`Transaction`, commits when the block ends and
        rolls back if it raises (the exception propagates). Opening a transaction inside
        another one in the same thread — or calling a store write such as :meth:`execute` or
        :meth:`upsert` inside one — raises :class:`NestedTransactionError`: a write needs the
        lock the open transaction holds.

        >>> with store.transaction() as tx:
        ...     (n,) = tx.fetch_one("SELECT COUNT(*) FROM sites") or (0,)
        ...     tx.execute("INSERT INTO audit (n) VALUES (?)", [n])
        """
        with self._writing() as cur:
            tx = Transaction(self, cur)
            try:
                yield tx
            finally:
                tx._closed = True

    # -- schema -------------------------------------------------------------------------
    def migrate(self) -> dict[str, int]:
        """Apply every registered domain's migrations not yet applied (``core`` first, then in
        the order :func:`bishui.store.schema.register` received them); return each domain's
        version."""
        with self._writing() as cur:
            self._exec(
                cur,
                "CREATE TABLE IF NOT EXISTS schema_version (domain TEXT NOT NULL, "
                "version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL, "
                "PRIMARY KEY (domain, version))",
            )
            versions: dict[str, int] = {}
            for domain in schema.registered():
                self._exec(
                    cur,
                    "SELECT COALESCE(MAX(version), 0) FROM schema_version WHERE domain = ?",
                    [domain],
                )
                current = int(cur.fetchone()[0])
                migrations = schema.domain_migrations(domain)
                for version in range(current + 1, len(migrations) + 1):
                    for step in schema.steps(self.dialect, version, domain):
                        if isinstance(step, str):
                            self._exec(cur, step)
                        else:  # a Python step, inside the same transaction
                            tx = Transaction(self, cur)
                            try:
                                step(tx)
                            finally:
                                tx._closed = True
                    self._exec(
                        cur,
                        "INSERT INTO schema_version (domain, version, applied_at) VALUES (?, ?, ?)",
                        [domain, version, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
                    )
                    log.info("schema of %s migrated to version %d", domain, version)
                versions[domain] = len(migrations)
        return versions

    def schema_version(self, domain: str = "core") -> int:
        _, rows = self._read(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version WHERE domain = ?", [domain]
        )
        return int(rows[0][0])

    # -- maintenance of the series ---------------------------------------------------------
    def measurement_partitions(self) -> list[dict[str, Any]]:
        """The time partitions of ``measurement`` (PostgreSQL, core migration 5); DuckDB has
        none (its zone maps prune time ranges)."""
        return []

    def ensure_partitions(self, start: dt.datetime, end: dt.datetime) -> list[str]:
        """Create the partitions of ``measurement`` for ``[start, end)`` ahead of the data
        (PostgreSQL); the names created. Nothing to do on DuckDB."""
        return []

    def partition_storage(self) -> dict[str, dict[str, str]]:
        """The storage parameters new partitions of ``measurement`` get, by kind (PostgreSQL,
        core migration 6: autovacuum per partition); DuckDB has no partitions."""
        return {}

    def set_partition_storage(self, kind: str, options: Mapping[str, str]) -> list[str]:
        """Set the storage parameters of *kind*'s partitions, new and existing (PostgreSQL);
        the partitions changed. Nothing to do on DuckDB."""
        return []

    def minute_retention_boundary(self, cutoff: dt.datetime) -> dt.datetime:
        """Where retention of minute data older than *cutoff* can cut: *cutoff* itself
        (rows are deleted); PostgreSQL drops whole monthly partitions and cuts at the month's
        start."""
        return cutoff

    def drop_minute_data(self, before: dt.datetime) -> dict[str, Any]:
        """Remove minute and real-time values older than *before* (hourly and daily ones are
        never removed): here one ``DELETE``. Returns ``{"partitions": [], "rows": n}``."""
        marks = _marks(MINUTE_PERIODS)
        with self._writing() as cur:
            self._exec(
                cur,
                f"SELECT COUNT(*) FROM measurement WHERE period IN ({marks}) AND ts < ?",
                [*MINUTE_PERIODS, before],
            )
            n = int(cur.fetchone()[0])
            self._exec(
                cur,
                f"DELETE FROM measurement WHERE period IN ({marks}) AND ts < ?",
                [*MINUTE_PERIODS, before],
            )
        return {"partitions": [], "rows": n}

    # -- generic reads ------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts. Parameterised SQL only (``?`` placeholders)."""
        names, rows = self._read(sql, params)
        return [dict(zip(names, r, strict=True)) for r in rows]

    def query_columns(self, sql: str, params: Sequence[Any] = ()) -> dict[str, np.ndarray]:
        """Columns as numpy arrays (timestamps as datetime64[us], NULL floats as NaN)."""
        names, rows = self._read(sql, params)
        out: dict[str, np.ndarray] = {}
        cols = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        for name, values in zip(names, cols, strict=True):
            out[name] = _column(values)
        return out

    def query_arrays(
        self, sql: str, params: Sequence[Any], types: Mapping[str, str]
    ) -> dict[str, np.ndarray]:
        """Numeric columns of a large read, as typed numpy arrays, by the fastest path the
        backend has (DuckDB: its numpy result; PostgreSQL: one binary array per column).

        *types* names every column of the query's result, in order, with its type: ``i2``,
        ``i4``, ``i8`` (integers, never NULL), ``f8`` (NULL → NaN) or ``ts`` (a timestamp, never
        NULL; ``datetime64[us]``). Text columns do not belong here: code them in the SQL.
        """
        _check_array_types(types)
        return _typed(self.query_columns(sql, params), types)

    def query_coded_arrays(
        self,
        sql: str,
        params: Sequence[Any],
        codes: Mapping[str, Sequence[str] | None],
        types: Mapping[str, str],
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, np.ndarray]]:
        """A large read whose text columns come back coded: :meth:`query_arrays` for the
        numeric columns *types*, and each text column named in *codes* as the ``int32`` index
        of its value in the list *codes* gives it (None: in the column's distinct values,
        sorted by the database's text order).

        *sql*'s result has the *codes* columns and the *types* columns (any order). A row whose
        coded value is not in its list (or NULL) is not returned. Rows come in no promised
        order. Returns ``(names, arrays)``: the list each coded column was coded against, and
        the arrays, coded columns included.

        The fastest way differs by backend: DuckDB codes the columns by joins to small
        ``VALUES`` lists in SQL; PostgreSQL groups the rows by the text columns and sends one
        binary array per group and column (see ``postgres_backend``).
        """
        _check_array_types(types)
        names = self._code_names(sql, params, codes, types)
        if any(not n for n in names.values()):
            return names, _empty_coded(names, types)
        # One packed BIGINT carries every code (fewer columns: each costs on a large read).
        packed, joins, filters = "CAST(0 AS BIGINT)", [], []
        args_join: list[Any] = []
        args_where: list[Any] = []
        for i, (col, ns) in enumerate(names.items()):
            if len(ns) == 1:
                filters.append(f"q.{col} = ?")
                args_where.append(ns[0])
                continue
            vals = ", ".join("(CAST(? AS TEXT), CAST(? AS INTEGER))" for _ in ns)
            for j, n in enumerate(ns):
                args_join += [n, j]
            joins.append(f"JOIN (VALUES {vals}) AS k_{i}(name, code) ON q.{col} = k_{i}.name")
            packed = f"({packed} * {len(ns)} + k_{i}.code)"
        cols = ", ".join(f"q.{n}" for n in types)
        where = f" WHERE {' AND '.join(filters)}" if filters else ""
        got = self.query_arrays(
            f"SELECT {packed} AS bishui_packed, {cols} FROM ({sql}) q {' '.join(joins)}{where}",
            [*params, *args_join, *args_where],
            {"bishui_packed": "i8", **types},
        )
        rest = got.pop("bishui_packed")
        coded: dict[str, np.ndarray] = {}
        for col, ns in reversed(names.items()):
            rest, code = np.divmod(rest, len(ns))
            coded[col] = code.astype(np.int32)
        return names, {**{c: coded[c] for c in names}, **got}

    def _code_names(
        self,
        sql: str,
        params: Sequence[Any],
        codes: Mapping[str, Sequence[str] | None],
        types: Mapping[str, str],
    ) -> dict[str, tuple[str, ...]]:
        if not codes:
            raise InputError("codes", "at least one column", "{}")
        _check_names("query_coded_arrays", [*codes, *types])
        names: dict[str, tuple[str, ...]] = {}
        for col, ns in codes.items():
            if ns is None:
                _, rows = self._read(
                    f"SELECT DISTINCT q.{col} FROM ({sql}) q "
                    f"WHERE q.{col} IS NOT NULL ORDER BY q.{col}",
                    params,
                )
                ns = [r[0] for r in rows]
            names[col] = tuple(ns)
        return names

    def measurement_arrays(
        self,
        site_ids: Sequence[str],
        parameters: Sequence[str] | None,
        periods: Sequence[str],
        origins: Sequence[str],
        start: dt.datetime,
        end: dt.datetime,
        flags: Sequence[str] | None = None,
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, np.ndarray]]:
        """Every stored row of ``measurement`` with ``start <= ts < end`` at *site_ids*, of
        *parameters* (None: every code), *periods* and *origins*, as typed arrays — the raw
        rows the read model (``bishui.readings``) chooses from, by each backend's fastest path.

        Returns ``(names, arrays)`` as :meth:`query_coded_arrays` does: ``site_id``,
        ``parameter``, ``period`` and ``origin`` coded (``int32``) against *site_ids*,
        *parameters* (None: the codes found, in the database's text order), *periods* and
        *origins*; ``ts`` (``datetime64[us]``), ``value`` (``float64``, NULL → NaN),
        ``valid`` (``bool``) and, with *flags*, ``flag_code`` (``int16``): the HJ 212 flag's
        index in *flags*, ``len(flags)`` for any other flag and for none. Rows come in no
        promised order.

        This generic form is one :meth:`query_coded_arrays`; PostgreSQL reads its series
        layout instead where it can (``postgres_backend``, core migration 4).
        """
        empty_codes = parameters is not None and not parameters
        if not site_ids or not periods or not origins or empty_codes:
            names = {
                "site_id": tuple(site_ids),
                "parameter": tuple(parameters or ()),
                "period": tuple(periods),
                "origin": tuple(origins),
            }
            types = {"ts": "ts", "value": "f8"}
            out = _empty_coded(names, types)
            out["valid"] = np.zeros(0, bool)
            if flags is not None:
                out["flag_code"] = np.zeros(0, np.int16)
            return names, out
        where = (
            f"site_id IN ({_marks(site_ids)}) AND period IN ({_marks(periods)}) "
            f"AND origin IN ({_marks(origins)}) AND ts >= ? AND ts < ?"
        )
        args: list[Any] = [*site_ids, *periods, *origins, start, end]
        if parameters is not None:
            where += f" AND parameter IN ({_marks(parameters)})"
            args += list(parameters)
        # The validity and the flag's code travel packed in one small integer (each column
        # costs on a large read).
        n_flags = 1 if flags is None else len(flags) + 1
        small = f"CAST(valid AS INTEGER) * {n_flags}"
        flag_args: list[Any] = []
        if flags is not None:
            whens = " ".join("WHEN ? THEN ?" for _ in flags)
            for i, f in enumerate(flags):
                flag_args += [f, i]
            small += f" + COALESCE(CASE flag {whens} END, {len(flags)})"
        names, c = self.query_coded_arrays(
            "SELECT site_id, parameter, period, origin, "
            f"{small} AS small, ts, value FROM measurement WHERE {where}",
            [*flag_args, *args],
            {
                "site_id": tuple(site_ids),
                "parameter": None if parameters is None else tuple(parameters),
                "period": tuple(periods),
                "origin": tuple(origins),
            },
            {"small": "i4", "ts": "ts", "value": "f8"},
        )
        valid, flag_code = np.divmod(c.pop("small"), n_flags)
        c["valid"] = valid == 1
        if flags is not None:
            c["flag_code"] = flag_code.astype(np.int16)
        return names, c

    def page(
        self, sql: str, params: Sequence[Any] = (), *, limit: int, offset: int = 0
    ) -> tuple[int, list[dict[str, Any]]]:
        """One page of a listing: (the number of rows *sql* selects, rows ``offset`` to
        ``offset + limit`` of them as dicts). *sql* must order its rows completely (a page of
        an unordered result is not reproducible). Never takes the writer."""
        if limit < 0 or offset < 0:
            raise InputError("limit" if limit < 0 else "offset", "a number ≥ 0", min(limit, offset))
        _, counted = self._read(f"SELECT COUNT(*) FROM ({sql}) AS listing", params)
        rows = self.query(f"{sql} LIMIT ? OFFSET ?", [*params, int(limit), int(offset)])
        return int(counted[0][0]), rows

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one parameterised write statement in its own transaction (a domain's tables)."""
        with self._writing() as cur:
            self._exec(cur, sql, params)

    def execute_many(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Run several parameterised write statements in one transaction."""
        with self._writing() as cur:
            for sql, params in statements:
                self._exec(cur, sql, params)

    def table_exists(self, table: str) -> bool:
        """Whether *table* exists (in this store's schema, on PostgreSQL)."""
        sql = "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = ?"
        if self.dialect == "postgresql":
            sql += " AND table_schema = current_schema()"
        _, rows = self._read(sql, [table])
        return bool(rows[0][0])

    # -- registry -----------------------------------------------------------------------
    def upsert(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or replace registry rows (``regions``, ``sites``, ``devices`` …)."""
        columns, key = REGISTRY_TABLES[table]
        if not rows:
            return
        values = [[_registry_value(r.get(c)) for c in columns] for r in rows]
        with self._writing() as cur:
            self._upsert_rows(cur, table, columns, key, values)

    def _upsert_rows(
        self,
        cur: Any,
        table: str,
        columns: Sequence[str],
        key: Sequence[str],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """Insert rows, replacing those with the same key (a backend may bulk this)."""
        placeholders = ", ".join("?" for _ in columns)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
        )
        self._execmany(cur, sql, rows)

    def delete(self, table: str, key_values: dict[str, Any]) -> int:
        _, key = REGISTRY_TABLES[table]
        where = " AND ".join(f"{k} = ?" for k in key)
        n = self.count(table, where, [key_values[k] for k in key])
        if n == 0:
            raise NotFoundError(f"{table}: no row with {key_values}")
        with self._writing() as cur:
            self._exec(cur, f"DELETE FROM {table} WHERE {where}", [key_values[k] for k in key])
        return n

    def rows(self, table: str, where: str = "", params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        columns, key = REGISTRY_TABLES[table]
        sql = f"SELECT {', '.join(columns)} FROM {table}"
        if where:
            sql += f" WHERE {where}"
        sql += f" ORDER BY {', '.join(key)}"
        out = self.query(sql, params)
        for r in out:
            if "attrs" in r:
                r["attrs"] = json.loads(r["attrs"]) if r["attrs"] else {}
        return out

    def count(self, table: str, where: str = "", params: Sequence[Any] = ()) -> int:
        if not _IDENTIFIER.match(table):
            raise StorageError(f"not a table name: {table!r}")
        sql = f"SELECT COUNT(*) FROM {table}" + (f" WHERE {where}" if where else "")
        _, rows = self._read(sql, params)
        return int(rows[0][0])

    # -- the write path -----------------------------------------------------------------
    def write_batch(self, batch: Batch) -> None:
        """Write raw-log entries, measurements and quarantine in one committed transaction."""
        if not len(batch):
            return
        with self._writing() as cur:
            self._write_batch(cur, batch)

    def _write_batch(self, cur: Any, batch: Batch) -> None:
        """:meth:`write_batch`'s statements, inside the open transaction of *cur*."""
        cols = rows_to_columns(batch.rows) if batch.rows else None
        if batch.raw:
            self._insert_rows(
                cur,
                "raw_log",
                (
                    "received_at",
                    "channel",
                    "peer",
                    "mn",
                    "qn",
                    "cn",
                    "verdict",
                    "reason",
                    "raw",
                ),
                [
                    (
                        e.received_at,
                        e.channel,
                        storable(e.peer),
                        storable(e.mn),
                        storable(e.qn),
                        storable(e.cn),
                        e.verdict,
                        storable(e.reason, MESSAGE_LIMIT),
                        e.raw,
                    )
                    for e in batch.raw
                ],
            )
        if cols is not None:
            self._bulk_upsert_measurements(cur, _dedupe_last(cols), revisions=True)
        if batch.quarantine:
            self._insert_quarantine(cur, batch.quarantine)

    def write_measurements(self, cols: dict[str, np.ndarray]) -> int:
        """Bulk-load measurement columns (the platform's aggregates, the demo generator);
        idempotent. Replaces without revisions: what comes from a device or an upload goes
        through :meth:`write_batch`."""
        n = len(cols["site_id"])
        if n:
            with self._writing() as cur:
                self._bulk_upsert_measurements(cur, _dedupe_last(cols))
        return n

    def _insert_quarantine(self, cur: Any, entries: Sequence[QuarantineEntry]) -> None:
        self._insert_rows(
            cur,
            "quarantine",
            (
                "received_at",
                "channel",
                "peer",
                "mn",
                "site_id",
                "reason",
                "message",
                "field",
                "value",
                "payload",
                "raw",
            ),
            [
                (
                    q.received_at,
                    q.channel,
                    storable(q.peer),
                    storable(q.mn),
                    storable(q.site_id),
                    storable(q.reason),
                    storable(q.message, MESSAGE_LIMIT),
                    storable(q.field),
                    storable(q.value, MESSAGE_LIMIT),
                    storable(json.dumps(q.payload, ensure_ascii=False, default=str), 100_000)
                    if q.payload
                    else None,
                    q.raw,
                )
                for q in entries
            ],
        )

    # -- quarantine review ----------------------------------------------------------------
    def quarantine_release(self, qid: int, by: str, note: str) -> None:
        """Release a held measurement into the series after review (kept as ``upload``)."""
        rows = self.query("SELECT status, payload FROM quarantine WHERE id = ?", [qid])
        if not rows:
            raise NotFoundError(f"quarantine entry {qid} does not exist")
        if rows[0]["status"] != "held":
            from bishui.errors import ConflictError

            raise ConflictError(f"quarantine entry {qid} is {rows[0]['status']}, not held")
        payload = json.loads(rows[0]["payload"]) if rows[0]["payload"] else None
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        with self._writing() as cur:
            if payload:
                row = tuple(payload.get(c) for c in MEASUREMENT_COLUMNS)
                cols = rows_to_columns([row])
                cols["ts"] = np.array([np.datetime64(payload["ts"], "us")])
                cols["received_at"] = np.array([np.datetime64(payload["received_at"], "us")])
                cols["valid"] = np.array([True])
                self._bulk_upsert_measurements(cur, cols, revisions=True)
            self._exec(
                cur,
                "UPDATE quarantine SET status = 'released', reviewed_at = ?, reviewed_by = ?, "
                "review_note = ? WHERE id = ?",
                [now, by, note, qid],
            )

    def quarantine_discard(self, qid: int, by: str, note: str) -> None:
        if not self.query("SELECT id FROM quarantine WHERE id = ?", [qid]):
            raise NotFoundError(f"quarantine entry {qid} does not exist")
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        with self._writing() as cur:
            self._exec(
                cur,
                "UPDATE quarantine SET status = 'discarded', reviewed_at = ?, reviewed_by = ?, "
                "review_note = ? WHERE id = ? AND status = 'held'",
                [now, by, note, qid],
            )

    def revisions(
        self,
        site_id: str,
        parameter: str | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """Previous values of revised measurements at *site_id*, newest revision first."""
        sql = "SELECT * FROM measurement_revision WHERE site_id = ?"
        params: list[Any] = [site_id]
        if parameter:
            sql += " AND parameter = ?"
            params.append(parameter)
        if start is not None:
            sql += " AND ts >= ?"
            params.append(start)
        if end is not None:
            sql += " AND ts < ?"
            params.append(end)
        params.append(int(limit))
        return self.query(sql + " ORDER BY id DESC LIMIT ?", params)

    # -- series reads ---------------------------------------------------------------------
    def series(
        self,
        site_id: str,
        parameter: str,
        period: str,
        start: dt.datetime,
        end: dt.datetime,
        origin: str | None = None,
    ) -> dict[str, np.ndarray]:
        """One site's series for one parameter and period, ``start <= ts < end``, by time."""
        sql = (
            "SELECT ts, value, flag, valid, n_valid, origin, source, revised FROM measurement "
            "WHERE site_id = ? AND parameter = ? AND period = ? AND ts >= ? AND ts < ?"
        )
        params: list[Any] = [site_id, parameter, period, start, end]
        if origin:
            sql += " AND origin = ?"
            params.append(origin)
        return self.query_columns(sql + " ORDER BY ts, origin", params)

    def latest(self, site_ids: Sequence[str], period: str = "hour") -> list[dict[str, Any]]:
        """The newest value of each parameter at each site, for one period (services read
        :func:`bishui.readings.latest`, which applies the same origin order)."""
        if not site_ids:
            return []
        marks = ", ".join("?" for _ in site_ids)
        sql = (
            "SELECT m.site_id, m.parameter, m.ts, m.value, m.flag, m.valid FROM measurement m "
            "JOIN (SELECT site_id, parameter, MAX(ts) AS ts FROM measurement "
            f"WHERE period = ? AND site_id IN ({marks}) GROUP BY site_id, parameter) last "
            "ON m.site_id = last.site_id AND m.parameter = last.parameter AND m.ts = last.ts "
            "WHERE m.period = ? ORDER BY m.site_id, m.parameter, "
            "CASE m.origin WHEN 'logger' THEN 0 WHEN 'platform' THEN 1 ELSE 2 END"
        )
        rows = self.query(sql, [period, *site_ids, period])
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        # one row a (site, parameter): the logger's, else the platform's, else an upload's
        for r in rows:
            seen.setdefault((r["site_id"], r["parameter"]), r)
        return list(seen.values())


class NestedTransactionError(StorageError):
    """A write transaction was opened (or a store write made) inside an open one."""


class Transaction:
    """The statements of one write transaction (from :meth:`Store.transaction`).

    SQL is parameterised with ``?`` placeholders only; table and column names passed to the
    row helpers are plain identifiers written in code, never input. The object is valid only
    inside its ``with`` block.
    """

    __slots__ = ("_closed", "_cur", "_store")

    def __init__(self, store: Store, cur: Any) -> None:
        self._store = store
        self._cur = cur
        self._closed = False

    def _live(self) -> Any:
        if self._closed:
            raise StorageError("the transaction has ended; open a new one")
        return self._cur

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement."""
        self._store._exec(self._live(), sql, params)

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once for each parameter row."""
        if rows:
            self._store._execmany(self._live(), sql, rows)

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query inside the transaction (it sees the transaction's own writes); every
        row, as tuples — fetched to the end, as DuckDB refuses new work on an open result."""
        cur = self._live()
        self._store._exec(cur, sql, params)
        return list(cur.fetchall())

    def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of :meth:`fetch`, or None."""
        rows = self.fetch(sql, params)
        return rows[0] if rows else None

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Append *rows* (values in *columns* order) to *table*, in bulk where the backend
        can."""
        _check_names(table, columns)
        if rows:
            self._store._insert_rows(self._live(), table, columns, rows)

    def insert_columns(self, table: str, columns: Mapping[str, np.ndarray]) -> int:
        """Append rows given as equal-length numpy *columns* (name → array) to *table*, in
        bulk (on DuckDB one statement from the arrays, no Python row); returns the row count.
        Values are stored as given: a float NaN stays NaN (use ``NULLIF`` in a following
        ``INSERT … SELECT`` where it means "no value")."""
        _check_names(table, list(columns))
        sizes = {len(v) for v in columns.values()}
        if len(sizes) > 1:
            raise StorageError(f"columns of different lengths: {sorted(sizes)}")
        n = sizes.pop() if sizes else 0
        if n:
            self._store._insert_columns(self._live(), table, columns)
        return n

    def write_batch(self, batch: Batch) -> None:
        """Write raw-log entries, measurements and quarantine (what :meth:`Store.write_batch`
        writes) inside this transaction, beside the caller's own statements."""
        if len(batch):
            self._store._write_batch(self._live(), batch)

    def upsert_rows(
        self,
        table: str,
        columns: Sequence[str],
        key: Sequence[str],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """Insert *rows*, replacing stored rows with the same *key* (the last of the batch
        wins)."""
        _check_names(table, columns)
        if rows:
            self._store._upsert_rows(self._live(), table, columns, key, rows)


def _check_names(table: str, columns: Sequence[str]) -> None:
    # Names are composed into SQL: refuse anything but plain identifiers.
    for name in (table, *columns):
        if not _IDENTIFIER.match(name):
            raise StorageError(f"not a plain identifier: {name!r}")


def _registry_value(v: Any) -> Any:
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return v


#: ``query_arrays`` column types → numpy dtypes.
ARRAY_TYPES: dict[str, np.dtype[Any]] = {
    "i2": np.dtype(np.int16), "i4": np.dtype(np.int32), "i8": np.dtype(np.int64),
    "f8": np.dtype(np.float64), "ts": np.dtype("datetime64[us]"),
}  # fmt: skip


def _check_array_types(types: Mapping[str, str]) -> None:
    if not types:
        raise InputError("types", "at least one column", "{}")
    for name, t in types.items():
        if t not in ARRAY_TYPES:
            raise InputError(f"types.{name}", "one of " + ", ".join(ARRAY_TYPES), t)


def _typed(cols: Mapping[str, np.ndarray], types: Mapping[str, str]) -> dict[str, np.ndarray]:
    if len(cols) != len(types) or list(cols) != list(types):
        raise InputError("types", "the query's columns, in order", ", ".join(cols))
    out: dict[str, np.ndarray] = {}
    for name, t in types.items():
        col = np.asarray(cols[name])
        if t == "f8":
            col = col.astype(np.float64, copy=False) if col.dtype != object else np.array(
                [np.nan if v is None else v for v in col], dtype=np.float64)  # fmt: skip
        elif t != "ts" and len(col) and col.dtype.kind == "f" and np.isnan(col).any():
            raise StorageError(f"query_arrays: NULL in integer column {name}")
        out[name] = col.astype(ARRAY_TYPES[t], copy=False)
    return out


def _empty_coded(
    names: Mapping[str, Sequence[str]], types: Mapping[str, str]
) -> dict[str, np.ndarray]:
    return {
        **{c: np.zeros(0, np.int32) for c in names},
        **{n: np.zeros(0, ARRAY_TYPES[t]) for n, t in types.items()},
    }


def _marks(xs: Sequence[Any]) -> str:
    return ", ".join("?" for _ in xs)


def _column(values: Sequence[Any]) -> np.ndarray:
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, bool):
        if any(v is None for v in values):
            return np.array(values, dtype=object)
        return np.array(values, dtype=bool)
    if isinstance(sample, float | int) and not isinstance(sample, bool):
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    if isinstance(sample, dt.datetime):
        return np.array(values, dtype=object).astype("datetime64[us]")
    return np.array(values, dtype=object)
