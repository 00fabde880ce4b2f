"""The production backend: PostgreSQL through psycopg 3.

One writer connection (under the store's lock) and a small pool of reader connections. Bulk
loads go through ``COPY`` into a temporary table, then one ``INSERT … ON CONFLICT``. An
optional *schema* isolates a deployment (or a test) inside one database.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
from psycopg import sql as pgsql
from psycopg_pool import ConnectionPool

from bishui.errors import InputError, StorageError
from bishui.store.base import (
    HOURLY_PERIODS,
    MEASUREMENT_COLUMNS,
    MEASUREMENT_KEY,
    MEASUREMENT_VALUES,
    MINUTE_PERIODS,
    REVISED_ORIGINS,
    Store,
    _check_array_types,
    _check_names,
)

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
        # the (kind, start) of measurement partitions known to exist (core migration 5)
        self._partitions_seen: set[tuple[str, dt.datetime]] = set()
        self._partitions_ok: bool | None = None
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

    @contextmanager
    def _large_read(self) -> Iterator[Any]:
        """A binary cursor on a reader connection, in a transaction whose settings suit one
        large read: JIT off (compiling the expressions costs more than it saves on one scan;
        above ``jit_optimize_above_cost`` it cost hundreds of milliseconds) and a larger
        ``work_mem`` (a grouped read holds its groups' arrays until it sends them)."""
        with (
            self._pool.connection() as con,
            con.transaction(),
            con.cursor(binary=True) as cur,
        ):
            cur.execute(f"SET LOCAL work_mem = '{_READ_WORK_MEM}'")
            cur.execute("SET LOCAL jit = off")
            yield cur

    def query_arrays(
        self, sql: str, params: Sequence[Any], types: Mapping[str, str]
    ) -> dict[str, np.ndarray]:
        """Each column of the query aggregated on the server into one binary array
        (``array_send(array_agg(…))``, PostgreSQL docs, *Arrays* and ``array_send``) and parsed
        by numpy at once — no Python object per row. Every column is made fixed-width in SQL
        (floats: NULL → NaN); a NULL left in an integer or timestamp column is refused.

        Why not ``COPY … (FORMAT BINARY)``: the server sends one message per row and the driver
        hands each to Python, which was most of the time of a large read (issue 15)."""
        _check_array_types(types)
        aggs = ", ".join(
            f"array_send(array_agg(COALESCE(q.{n}::float8, 'NaN'::float8)))"
            if t == "f8"
            else f"array_send(array_agg(q.{n}::{_PG_TYPE[t]}))"
            for n, t in types.items()
        )
        stmt = f"SELECT {aggs} FROM ({_placeholders(sql)}) q"
        try:
            with self._large_read() as cur:
                cur.execute(stmt, list(params))
                row = cur.fetchone()
        except psycopg.Error as exc:
            raise StorageError(f"query failed: {exc}") from exc
        assert row is not None
        return {
            name: _parse_binary_array(buf, t, name)
            for (name, t), buf in zip(types.items(), row, strict=True)
        }

    def query_coded_arrays(
        self,
        sql: str,
        params: Sequence[Any],
        codes: Mapping[str, Sequence[str] | None],
        types: Mapping[str, str],
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, np.ndarray]]:
        """:meth:`Store.query_coded_arrays` by grouping on the server: one row per distinct
        combination of the text columns, holding each numeric column of its rows as one binary
        array (``array_send(array_agg(…))``). Nothing is coded row by row in SQL — a join to a
        ``VALUES`` list or a ``CASE`` per row was most of a large read's time (issue 15) — and
        the few groups are coded in Python, sorted by their codes, and their arrays joined.
        A column coded against the distinct values found (None) is ranked in SQL over the
        groups (``DENSE_RANK``), so its order is the database's text order."""
        _check_array_types(types)
        if not codes:
            raise InputError("codes", "at least one column", "{}")
        _check_names("query_coded_arrays", [*codes, *types])
        keys = list(codes)
        aggs = ", ".join(
            f"array_send(array_agg(COALESCE(q.{n}::float8, 'NaN'::float8))) AS a_{n}"
            if t == "f8"
            else f"array_send(array_agg(q.{n}::{_PG_TYPE[t]})) AS a_{n}"
            for n, t in types.items()
        )
        free = [k for k in keys if codes[k] is None]
        ranks = "".join(f", DENSE_RANK() OVER (ORDER BY g.{k})" for k in free)
        key_list = ", ".join(f"q.{k}" for k in keys)
        stmt = (
            f"SELECT g.*{ranks} FROM (SELECT {key_list}, {aggs} "
            f"FROM ({_placeholders(sql)}) q GROUP BY {key_list}) g"
        )
        try:
            with self._large_read() as cur:
                cur.execute(stmt, list(params))
                rows = cur.fetchall()
        except psycopg.Error as exc:
            raise StorageError(f"query failed: {exc}") from exc
        nk, nt = len(keys), len(types)
        rank_at = {k: nk + nt + free.index(k) for k in free}
        names, groups = _code_groups(rows, codes, rank_at, nk, nt)
        if not groups:
            return names, {
                **{k: np.zeros(0, np.int32) for k in keys},
                **{n: _parse_binary_array(None, t, n) for n, t in types.items()},
            }
        cols = {
            n: [_parse_binary_array(g[1][j], t, n) for g in groups]
            for j, (n, t) in enumerate(types.items())
        }
        lengths = np.array([len(a) for a in next(iter(cols.values()))], dtype=np.int64)
        out: dict[str, np.ndarray] = {}
        for i, k in enumerate(keys):
            out[k] = np.repeat(np.array([g[0][i] for g in groups], dtype=np.int32), lengths)
        for n, parts in cols.items():
            out[n] = np.concatenate(parts)
        return names, out

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
        """:meth:`Store.measurement_arrays` from the series layout ``measurement_day`` (core
        migration 4: one row per site, parameter, period, origin and day holding the day's
        values as packed binary arrays, kept in step with ``measurement`` by its triggers):
        the rows of the days in the window grouped by the text keys on the server, each
        group's days joined into one ``bytea`` per column (``string_agg``) and parsed by numpy
        at once — one row read a day, not one a value.

        Minute and real-time values are not in the layout, nor are flags that are not one
        ASCII character; those reads, and a read of every code over a window that does not
        start and end at midnight, take the generic path."""
        lut = _flag_lut(flags)
        one_day = dt.timedelta(days=1)
        aligned = start.time() == dt.time(0) and end.time() == dt.time(0)
        if (
            not site_ids
            or not origins
            or not periods
            or (parameters is not None and not parameters)
            or end <= start
            or any(p not in _DAY_PERIODS for p in periods)
            or (flags is not None and lut is None)
            or (parameters is None and not aligned)
        ):
            return super().measurement_arrays(
                site_ids, parameters, periods, origins, start, end, flags
            )
        first = start.date()
        last = (end - dt.timedelta(microseconds=1)).date() + one_day
        codes: dict[str, Sequence[str] | None] = {
            "site_id": tuple(site_ids),
            "parameter": None if parameters is None else tuple(parameters),
            "period": tuple(periods),
            "origin": tuple(origins),
        }
        where = (
            f"site_id IN ({_marks(site_ids)}) AND period IN ({_marks(periods)}) "
            f"AND origin IN ({_marks(origins)}) AND day >= %s AND day < %s"
        )
        args: list[Any] = [*site_ids, *periods, *origins, first, last]
        if parameters is not None:
            where += f" AND parameter IN ({_marks(parameters)})"
            args += list(parameters)
        rank = ", DENSE_RANK() OVER (ORDER BY parameter)" if parameters is None else ""
        stmt = (
            "SELECT site_id, parameter, period, origin, "
            "string_agg(ts, ''::bytea ORDER BY day), string_agg(value, ''::bytea ORDER BY day), "
            f"string_agg(vf, ''::bytea ORDER BY day){rank} FROM measurement_day WHERE {where} "
            "GROUP BY site_id, parameter, period, origin"
        )
        try:
            with self._large_read() as cur:
                cur.execute(stmt, args)
                rows = cur.fetchall()
        except psycopg.Error as exc:
            raise StorageError(f"query failed: {exc}") from exc
        names, groups = _code_groups(rows, codes, {"parameter": 7}, 4, 3)
        keys = list(codes)
        lengths = np.array([len(g[1][0]) // 8 for g in groups], dtype=np.int64)
        out: dict[str, np.ndarray] = {
            k: np.repeat(np.array([g[0][i] for g in groups], dtype=np.int32), lengths)
            for i, k in enumerate(keys)
        }
        micros = np.frombuffer(b"".join(bytes(g[1][0]) for g in groups), dtype=">i8")
        out["ts"] = _PG_EPOCH + micros.astype(np.int64).astype("timedelta64[us]")
        out["value"] = np.frombuffer(b"".join(bytes(g[1][1]) for g in groups), dtype=">f8").astype(
            np.float64
        )
        vf = np.frombuffer(b"".join(bytes(g[1][2]) for g in groups), dtype=">i2").astype(np.int16)
        out["valid"] = vf >= 256
        if lut is not None:
            out["flag_code"] = lut[vf & 255]
        if not aligned:
            inside = (out["ts"] >= np.datetime64(start, "us")) & (
                out["ts"] < np.datetime64(end, "us")
            )
            out = {k: v[inside] for k, v in out.items()}
        return names, out

    def _ensure_partitions(self, cur: Any, periods: np.ndarray, ts: np.ndarray) -> None:
        """Create, in the open transaction, the partitions of ``measurement`` (core migration
        5) that rows of *periods* at times *ts* need and that this store has not seen yet (a
        row without one would land in a default partition until ``bishui store partitions``
        moves it)."""
        if not len(ts) or not self._partitioned(cur):
            return
        minute = np.isin(periods, MINUTE_PERIODS)
        hourly = np.isin(periods, HOURLY_PERIODS)
        want: set[tuple[str, dt.datetime]] = set()
        for kind, mask, unit in (("minute", minute, "M"), ("hourly", hourly, "Y")):
            if mask.any():
                for t in np.unique(ts[mask].astype(f"datetime64[{unit}]")):
                    want.add((kind, t.astype("datetime64[us]").item()))
        for kind, t in sorted(want - self._partitions_seen):
            cur.execute("SELECT measurement_ensure_partition(%s, %s)", [kind, t])
            self._partitions_seen.add((kind, t))

    def _partitioned(self, cur: Any) -> bool:
        if self._partitions_ok is None:
            cur.execute("SELECT to_regproc('measurement_ensure_partition') IS NOT NULL")
            self._partitions_ok = bool(cur.fetchone()[0])
        return self._partitions_ok

    def measurement_partitions(self) -> list[dict[str, Any]]:
        """The time partitions of ``measurement`` (core migration 5): ``kind`` (``minute`` or
        ``hourly``), ``name``, ``start`` and ``end`` (None for a default partition) and the
        planner's estimate of its rows, by kind and time."""
        rows = self.query(
            "SELECT p.relname AS parent, c.relname AS name, c.reltuples AS rows, "
            "pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname IN ('measurement_minute', 'measurement_hourly') "
            "AND p.relnamespace = current_schema()::regnamespace ORDER BY c.relname"
        )
        out = []
        for r in rows:
            m = re.match(r"FOR VALUES FROM \('([^']+)'\) TO \('([^']+)'\)", r["bound"] or "")
            out.append(
                {
                    "kind": r["parent"].removeprefix("measurement_"),
                    "name": r["name"],
                    "start": dt.datetime.fromisoformat(m.group(1)) if m else None,
                    "end": dt.datetime.fromisoformat(m.group(2)) if m else None,
                    "rows": max(int(r["rows"]), 0),
                }
            )
        return out

    def ensure_partitions(self, start: dt.datetime, end: dt.datetime) -> list[str]:
        """Every partition of ``measurement`` for times in ``[start, end)`` (minute: each
        month; hourly: each year), and those for the rows waiting in the default partitions
        (moved into them); the names of the partitions created."""
        before = {p["name"] for p in self.measurement_partitions()}
        want: set[tuple[str, dt.datetime]] = set()
        t = dt.datetime(start.year, start.month, 1)
        while t < end:
            want.add(("minute", t))
            want.add(("hourly", dt.datetime(t.year, 1, 1)))
            t = dt.datetime(t.year + t.month // 12, t.month % 12 + 1, 1)
        for kind in ("minute", "hourly"):
            unit = "month" if kind == "minute" else "year"
            for r in self.query(
                f"SELECT DISTINCT date_trunc('{unit}', ts) AS t FROM measurement_{kind}_default"
            ):
                want.add((kind, r["t"]))
        with self._writing() as cur:
            for kind, t in sorted(want):
                cur.execute("SELECT measurement_ensure_partition(%s, %s)", [kind, t])
                self._partitions_seen.add((kind, t))
        return sorted({p["name"] for p in self.measurement_partitions()} - before)

    def partition_storage(self) -> dict[str, dict[str, str]]:
        """The storage parameters each kind of partition is created with (core migration 6:
        ``measurement_partition_storage``), as ``{kind: {name: value}}``."""
        if not self.query("SELECT to_regclass('measurement_partition_storage') IS NOT NULL AS t")[
            0
        ]["t"]:
            return {}
        rows = self.query("SELECT kind, options FROM measurement_partition_storage ORDER BY kind")
        return {r["kind"]: dict(o.split("=", 1) for o in r["options"]) for r in rows}

    def set_partition_storage(self, kind: str, options: Mapping[str, str]) -> list[str]:
        """Set the autovacuum storage parameters (``autovacuum_…``, plain numbers) of *kind*'s
        partitions (``minute`` or ``hourly``): kept for the partitions created from now on and
        set on the existing ones (parameters no longer named are reset to the server's).
        PostgreSQL itself checks names and ranges first (on a temporary table), so a bad one
        is an :class:`InputError` and never reaches a partition's creation. Returns the
        partitions changed."""
        if kind not in ("minute", "hourly"):
            raise InputError("kind", "minute or hourly", kind)
        for name, value in options.items():
            if not _STORAGE_NAME.fullmatch(name):
                raise InputError("storage", "an autovacuum_… parameter of a table", name)
            if not _STORAGE_VALUE.fullmatch(str(value)):
                raise InputError(name, "a number ≥ 0", value)
        new = [f"{k}={v}" for k, v in options.items()]
        with_ = pgsql.SQL(", ").join(pgsql.SQL(o) for o in new)  # checked above: name=number
        changed: list[str] = []
        with self._writing() as cur:
            cur.execute("SAVEPOINT bishui_storage")
            try:
                if new:
                    cur.execute(
                        pgsql.SQL(
                            "CREATE TEMP TABLE bishui_storage_check (x int) WITH ({})"
                        ).format(with_)
                    )
                    cur.execute("DROP TABLE bishui_storage_check")
            except psycopg.Error as exc:
                cur.execute("ROLLBACK TO SAVEPOINT bishui_storage")
                raise InputError("storage", "parameters PostgreSQL accepts", ", ".join(new),
                                 message=f"{exc}".strip()) from None  # fmt: skip
            cur.execute("SELECT options FROM measurement_partition_storage WHERE kind = %s", [kind])
            old = [o.split("=", 1)[0] for o in cur.fetchone()[0]]
            cur.execute(
                "UPDATE measurement_partition_storage SET options = %s WHERE kind = %s", [new, kind]
            )
            gone = [n for n in old if n not in options]
            for p in self.measurement_partitions():
                if p["kind"] != kind or p["start"] is None:
                    continue
                table = pgsql.Identifier(p["name"])
                if gone:
                    cur.execute(
                        pgsql.SQL("ALTER TABLE {} RESET ({})").format(
                            table, pgsql.SQL(", ").join(pgsql.SQL(n) for n in gone)
                        )
                    )
                if new:
                    cur.execute(pgsql.SQL("ALTER TABLE {} SET ({})").format(table, with_))
                changed.append(p["name"])
        return changed

    def drop_minute_data(self, before: dt.datetime) -> dict[str, Any]:
        """Drop every minute partition that ends at or before *before* (whole months: no row
        deleted one by one, nothing left for VACUUM) and delete the default partition's minute
        and real-time rows older than *before*. Returns the partitions dropped and the rows
        deleted."""
        dropped = [
            p["name"]
            for p in self.measurement_partitions()
            if p["kind"] == "minute" and p["end"] is not None and p["end"] <= before
        ]
        with self._writing() as cur:
            for name in dropped:
                cur.execute(pgsql.SQL("DROP TABLE {}").format(pgsql.Identifier(name)))
            cur.execute("DELETE FROM measurement_minute_default WHERE ts < %s", [before])
            deleted = cur.rowcount
        self._partitions_seen = {k for k in self._partitions_seen if k[0] != "minute"}
        return {"partitions": dropped, "rows": deleted}

    def minute_retention_boundary(self, cutoff: dt.datetime) -> dt.datetime:
        """Partitions are dropped whole: the start of *cutoff*'s month."""
        return dt.datetime(cutoff.year, cutoff.month, 1)

    def _bulk_upsert_measurements(
        self, cur: Any, cols: dict[str, np.ndarray], *, revisions: bool = False
    ) -> None:
        self._ensure_partitions(cur, cols["period"], cols["ts"])
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
        upsert = (
            f"INSERT INTO measurement ({names}) SELECT {names} FROM bishui_batch "
            f"ON CONFLICT ({', '.join(MEASUREMENT_KEY)}) DO UPDATE SET {updates}"
        )
        if revisions:
            # identical re-deliveries leave the stored row untouched; a changed one is kept in
            # measurement_revision by the trigger of core migration 2 (which marks it revised)
            differs = " OR ".join(
                f"measurement.{c} IS DISTINCT FROM excluded.{c}" for c in MEASUREMENT_VALUES
            )
            origins = ", ".join(f"'{o}'" for o in REVISED_ORIGINS)
            upsert += f" WHERE excluded.origin NOT IN ({origins}) OR {differs}"
            cur.execute("SET LOCAL bishui.revisions = 'on'")
            cur.execute(upsert)
            cur.execute("SET LOCAL bishui.revisions = 'off'")
            return
        cur.execute(upsert)


#: Storage parameters a partition of ``measurement`` may be given (migration 6's check too).
_STORAGE_NAME = re.compile(r"autovacuum_[a-z_]+")
_STORAGE_VALUE = re.compile(r"[0-9][0-9.]*")


def _code_groups(
    rows: Sequence[tuple[Any, ...]],
    codes: Mapping[str, Sequence[str] | None],
    rank_at: Mapping[str, int],
    nk: int,
    nt: int,
) -> tuple[dict[str, tuple[str, ...]], list[tuple[tuple[int, ...], tuple[Any, ...]]]]:
    """Code grouped rows (the *nk* key columns first, then *nt* arrays, then the ranks of the
    keys coded against the values found, at *rank_at*): the list each key is coded against,
    and each group's codes with its arrays, sorted by the codes."""
    keys = list(codes)
    names: dict[str, tuple[str, ...]] = {}
    for i, k in enumerate(keys):
        given = codes[k]
        if given is not None:
            names[k] = tuple(given)
            continue
        seen = {int(r[rank_at[k]]): r[i] for r in rows if r[i] is not None}
        names[k] = tuple(seen[x] for x in sorted(seen))
    # A name listed twice codes its rows twice, as the join of the generic path does.
    index: dict[str, dict[str, list[int]]] = {k: {} for k in keys}
    for k, ns in names.items():
        for j, n in enumerate(ns):
            index[k].setdefault(n, []).append(j)
    groups: list[tuple[tuple[int, ...], tuple[Any, ...]]] = []
    for r in rows:
        found = [index[k].get(r[i], []) for i, k in enumerate(keys)]
        groups += [(code, r[nk : nk + nt]) for code in itertools.product(*found)]
    groups.sort(key=lambda g: g[0])
    return names, groups


#: The periods PostgreSQL's series layout holds (core migration 4).
_DAY_PERIODS = ("hour", "day")


def _marks(xs: Sequence[Any]) -> str:
    return ", ".join("%s" for _ in xs)


def _flag_lut(flags: Sequence[str] | None) -> np.ndarray | None:
    """The code of each flag byte of the series layout (0: no flag; 255: a flag that is not
    one ASCII character) for *flags*: its first index in *flags*, else ``len(flags)``. None
    when a flag asked for is not one ASCII character (the layout cannot tell it apart)."""
    if flags is None:
        return np.zeros(256, np.int16)
    lut = np.full(256, len(flags), np.int16)
    for i, f in reversed(list(enumerate(flags))):
        if len(f.encode()) != 1:
            return None
        lut[ord(f)] = i
    return lut


#: ``work_mem`` of a grouped read (:meth:`PostgresStore.query_coded_arrays`): the groups'
#: arrays stay in memory until sent, about 30 bytes a row (a city-year: 4.4 M rows).
_READ_WORK_MEM = "256MB"
_PG_TYPE = {"i2": "int2", "i4": "int4", "i8": "int8", "f8": "float8", "ts": "timestamp"}
_BE = {"i2": ">i2", "i4": ">i4", "i8": ">i8", "f8": ">f8", "ts": ">i8"}
_PG_EPOCH = np.datetime64("2000-01-01T00:00:00", "us")  # binary timestamps count from here


def _parse_binary_array(buf: bytes | None, t: str, name: str) -> np.ndarray:
    """A one-dimensional array in PostgreSQL's binary send format → a numpy array.

    Layout: ndim, has-null flag, element type (int32 each); per dimension its length and lower
    bound (int32 each); then each element as an int32 length and its big-endian bytes.
    """
    out_dtype = np.dtype("datetime64[us]") if t == "ts" else np.dtype(_BE[t].replace(">", "="))
    if buf is None:  # array_agg over no rows is NULL
        return np.zeros(0, dtype=out_dtype)
    b = bytes(buf)
    ndim = int.from_bytes(b[0:4], "big")
    if ndim == 0:
        return np.zeros(0, dtype=out_dtype)
    if ndim != 1:
        raise StorageError(f"query_arrays: column {name} is not one-dimensional")
    if int.from_bytes(b[4:8], "big"):
        raise StorageError(f"query_arrays: NULL in column {name}")
    n = int.from_bytes(b[12:16], "big")
    width = np.dtype(_BE[t]).itemsize
    rec = np.frombuffer(b, dtype=[("len", ">i4"), ("x", _BE[t])], count=n, offset=20)
    if n and (rec["len"] != width).any():
        raise StorageError(f"query_arrays: wrong width in column {name}")
    v = rec["x"]
    if t == "ts":
        return _PG_EPOCH + v.astype(np.int64).astype("timedelta64[us]")
    return v.astype(out_dtype)


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
