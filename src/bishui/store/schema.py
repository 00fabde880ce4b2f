"""The store's schema and its migrations.

Each migration is a list of SQL statements written once for both backends; the few type names
that differ are written as ``{BLOB}`` and ``{JSON}`` and filled in per dialect. A migration is
applied once, in order, and recorded in ``schema_version``; never edit a released migration,
add a new one. A step that SQL cannot express (hashing stored rows into a chain, say) may be a
function instead of a statement: it is called with the migration's open
:class:`~bishui.store.base.Transaction`, between the statements around it, and commits or rolls
back with them.

Tables (docs/data-model.md explains every column):

``raw_log``         append-only log of everything received: bytes, time, peer, device, verdict
``measurement``     long-form series: site × parameter (HJ 212 code) × period × time × origin
``quarantine``      what was rejected, why, with the raw input, and its review state
``measurement_revision``  the previous values of re-delivered measurements that changed
``gateway_alert``   platform alerts the HJ 212 gateway raised (password guessing …)
``regions`` ``enterprises`` ``sites`` ``devices`` ``device_parameters``   the registry
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bishui.errors import StorageError

# DuckDB keeps no index on ``measurement``: an ART index over its key is ~9× the size of the
# data itself and slows every bulk load, while DuckDB's zone maps already prune time ranges.
# Its writer keeps the key unique instead (delete-then-insert in one transaction, see
# duckdb_backend). PostgreSQL keeps the primary key and upserts with ON CONFLICT.
TYPES = {
    "duckdb": {"BLOB": "BLOB", "JSON": "TEXT", "MEASUREMENT_KEY": ""},
    "postgresql": {
        "BLOB": "BYTEA",
        "JSON": "TEXT",
        "MEASUREMENT_KEY": ",\n            PRIMARY KEY (site_id, parameter, period, ts, origin)",
    },
}

MIGRATIONS: list[list[str]] = [
    # 1 — the platform core
    [
        "CREATE SEQUENCE raw_log_id_seq",
        """CREATE TABLE raw_log (
            id BIGINT PRIMARY KEY DEFAULT nextval('raw_log_id_seq'),
            received_at TIMESTAMP NOT NULL,
            channel TEXT NOT NULL,
            peer TEXT,
            mn TEXT,
            qn TEXT,
            cn TEXT,
            verdict TEXT NOT NULL,
            reason TEXT,
            raw {BLOB} NOT NULL
        )""",
        """CREATE TABLE measurement (
            site_id TEXT NOT NULL,
            parameter TEXT NOT NULL,
            period TEXT NOT NULL,
            ts TIMESTAMP NOT NULL,
            origin TEXT NOT NULL,
            value DOUBLE PRECISION,
            vmin DOUBLE PRECISION,
            vmax DOUBLE PRECISION,
            cou DOUBLE PRECISION,
            flag TEXT,
            valid BOOLEAN NOT NULL,
            n_valid INTEGER,
            source TEXT,
            received_at TIMESTAMP{MEASUREMENT_KEY}
        )""",
        "CREATE SEQUENCE quarantine_id_seq",
        """CREATE TABLE quarantine (
            id BIGINT PRIMARY KEY DEFAULT nextval('quarantine_id_seq'),
            received_at TIMESTAMP NOT NULL,
            channel TEXT NOT NULL,
            peer TEXT,
            mn TEXT,
            site_id TEXT,
            reason TEXT NOT NULL,
            message TEXT NOT NULL,
            field TEXT,
            value TEXT,
            payload {JSON},
            raw {BLOB},
            status TEXT NOT NULL DEFAULT 'held',
            reviewed_at TIMESTAMP,
            reviewed_by TEXT,
            review_note TEXT
        )""",
        """CREATE TABLE regions (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            name_en TEXT,
            kind TEXT NOT NULL,
            parent TEXT,
            central BOOLEAN NOT NULL DEFAULT FALSE
        )""",
        """CREATE TABLE enterprises (
            uscc TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            industry TEXT NOT NULL,
            region TEXT NOT NULL,
            address TEXT,
            lon DOUBLE PRECISION,
            lat DOUBLE PRECISION,
            key_unit BOOLEAN NOT NULL DEFAULT FALSE
        )""",
        """CREATE TABLE sites (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            region TEXT NOT NULL,
            lon DOUBLE PRECISION,
            lat DOUBLE PRECISION,
            enterprise TEXT,
            outlet TEXT,
            river TEXT,
            body TEXT,
            target_class INTEGER,
            control TEXT,
            drinking_source BOOLEAN NOT NULL DEFAULT FALSE,
            assessment BOOLEAN NOT NULL DEFAULT FALSE,
            attrs {JSON}
        )""",
        """CREATE TABLE devices (
            mn TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            pw TEXT NOT NULL,
            st TEXT NOT NULL,
            edition TEXT NOT NULL,
            crc_policy TEXT NOT NULL,
            active BOOLEAN NOT NULL DEFAULT TRUE
        )""",
        """CREATE TABLE device_parameters (
            mn TEXT NOT NULL,
            parameter TEXT NOT NULL,
            unit TEXT NOT NULL,
            range_min DOUBLE PRECISION,
            range_max DOUBLE PRECISION,
            PRIMARY KEY (mn, parameter)
        )""",
        # DuckDB prunes range scans with its zone maps and pays for every ART index on bulk
        # upserts, so the secondary indexes are PostgreSQL's only.
        "-- postgresql\nCREATE INDEX measurement_ts ON measurement (period, ts)",
        "-- postgresql\nCREATE INDEX quarantine_status ON quarantine (status, received_at)",
    ],
    # 2 — history is never rewritten silently (issue 13): a re-delivery that changes a
    # stored logger or upload value keeps the previous one here and marks the value revised
    [
        "ALTER TABLE measurement ADD COLUMN revised BOOLEAN DEFAULT FALSE",
        "CREATE SEQUENCE measurement_revision_id_seq",
        """CREATE TABLE measurement_revision (
            id BIGINT PRIMARY KEY DEFAULT nextval('measurement_revision_id_seq'),
            site_id TEXT NOT NULL,
            parameter TEXT NOT NULL,
            period TEXT NOT NULL,
            ts TIMESTAMP NOT NULL,
            origin TEXT NOT NULL,
            old_value DOUBLE PRECISION,
            old_vmin DOUBLE PRECISION,
            old_vmax DOUBLE PRECISION,
            old_cou DOUBLE PRECISION,
            old_flag TEXT,
            old_valid BOOLEAN,
            old_source TEXT,
            old_received_at TIMESTAMP,
            new_value DOUBLE PRECISION,
            new_flag TEXT,
            new_source TEXT,
            revised_at TIMESTAMP,
            revised_by TEXT
        )""",
        "-- postgresql\nCREATE INDEX measurement_revision_key "
        "ON measurement_revision (site_id, parameter, period, ts)",
        # PostgreSQL keeps the previous values in a trigger on the upsert's UPDATE, so the
        # lookup of the stored row is the conflict arbiter's (the primary key), never a join
        # the planner may run through another index. Only in a transaction that asked for
        # revisions (SET LOCAL bishui.revisions = 'on': Store.write_batch).
        """-- postgresql
CREATE FUNCTION measurement_keep_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('bishui.revisions', true) = 'on' AND (
        OLD.value, OLD.vmin, OLD.vmax, OLD.cou, OLD.flag, OLD.valid, OLD.n_valid
    ) IS DISTINCT FROM (
        NEW.value, NEW.vmin, NEW.vmax, NEW.cou, NEW.flag, NEW.valid, NEW.n_valid
    ) THEN
        INSERT INTO measurement_revision (site_id, parameter, period, ts, origin, old_value,
            old_vmin, old_vmax, old_cou, old_flag, old_valid, old_source, old_received_at,
            new_value, new_flag, new_source, revised_at, revised_by)
        VALUES (OLD.site_id, OLD.parameter, OLD.period, OLD.ts, OLD.origin, OLD.value,
            OLD.vmin, OLD.vmax, OLD.cou, OLD.flag, OLD.valid, OLD.source, OLD.received_at,
            NEW.value, NEW.flag, NEW.source, NEW.received_at, NEW.origin);
        NEW.revised := TRUE;
    END IF;
    RETURN NEW;
END
$$""",
        "-- postgresql\nCREATE TRIGGER measurement_revision BEFORE UPDATE ON measurement "
        "FOR EACH ROW WHEN (OLD.origin IN ('logger', 'upload')) "
        "EXECUTE FUNCTION measurement_keep_revision()",
        # platform alerts raised by the HJ 212 gateway (疑似口令猜测 …)
        "CREATE SEQUENCE gateway_alert_id_seq",
        """CREATE TABLE gateway_alert (
            id BIGINT PRIMARY KEY DEFAULT nextval('gateway_alert_id_seq'),
            raised_at TIMESTAMP NOT NULL,
            kind TEXT NOT NULL,
            title TEXT NOT NULL,
            message TEXT NOT NULL,
            peer TEXT,
            mn TEXT,
            count INTEGER,
            status TEXT NOT NULL DEFAULT 'new'
        )""",
    ],
    # 3 — who to meet at an enterprise (issue 16 item 9): its legal representative (法定代表人,
    # 排污许可管理条例 Art. 13) and an environmental contact with a telephone number
    [
        "ALTER TABLE enterprises ADD COLUMN legal_rep TEXT",
        "ALTER TABLE enterprises ADD COLUMN contact TEXT",
        "ALTER TABLE enterprises ADD COLUMN phone TEXT",
    ],
    # 4 — PostgreSQL's series layout (issue 15): the hourly and daily values of each site,
    # parameter, period, origin and day packed in one row (binary arrays), so a large read
    # aggregates one row a day instead of one a value. Derived from ``measurement`` (the source
    # of truth) and kept exactly in step with it in the writing statement's transaction by
    # statement-level triggers that re-form every day a statement touched. DuckDB reads its
    # column store directly and has no such table.
    [
        """-- postgresql
CREATE TABLE measurement_day (
    site_id TEXT NOT NULL,
    parameter TEXT NOT NULL,
    period TEXT NOT NULL,
    origin TEXT NOT NULL,
    day DATE NOT NULL,
    n INTEGER NOT NULL,
    ts BYTEA NOT NULL,
    value BYTEA NOT NULL,
    vf BYTEA NOT NULL,
    PRIMARY KEY (site_id, parameter, period, origin, day)
)""",
        # Re-forms the days a statement touched (their keys gathered in a temporary table;
        # nested loops over the primary keys, never a scan) from measurement: ts as int8
        # microseconds since 2000-01-01 (timestamp_send), value as float8 (NULL → NaN), vf as
        # int2 = valid × 256 + the flag's byte (0: none; 255: not one ASCII character), each
        # big-endian, in time order. Days left with no row are dropped.
        """-- postgresql
CREATE FUNCTION measurement_day_sync() RETURNS trigger LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM measurement_day;
        RETURN NULL;
    END IF;
    IF to_regclass('pg_temp.bishui_day_keys') IS NULL THEN
        CREATE TEMP TABLE bishui_day_keys (site_id TEXT, parameter TEXT, period TEXT,
            origin TEXT, day DATE, first TIMESTAMP, state TEXT) ON COMMIT DELETE ROWS;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO bishui_day_keys SELECT site_id, parameter, period, origin, ts::date,
            min(ts), 'new' FROM m_new WHERE period IN ('hour', 'day')
            GROUP BY site_id, parameter, period, origin, ts::date;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO bishui_day_keys SELECT site_id, parameter, period, origin, ts::date,
            NULL::timestamp, 'reform' FROM m_new WHERE period IN ('hour', 'day')
            UNION SELECT site_id, parameter, period, origin, ts::date, NULL, 'reform'
            FROM m_old WHERE period IN ('hour', 'day');
    ELSE
        INSERT INTO bishui_day_keys SELECT DISTINCT site_id, parameter, period, origin,
            ts::date, NULL::timestamp, 'reform' FROM m_old WHERE period IN ('hour', 'day');
    END IF;
    IF NOT FOUND THEN  -- no hourly or daily value (minute data): nothing to re-form
        RETURN NULL;
    END IF;
    -- Concurrent writers of the same day: each waits for the other's commit before it
    -- re-forms the day (the next statement's snapshot then sees the other's rows), so the
    -- last to commit writes the whole day. Keys hashed to 1024 locks, taken in order.
    PERFORM pg_advisory_xact_lock(1651077992, b) FROM (SELECT DISTINCT
        abs(hashtext(site_id || '|' || parameter || '|' || period || '|' || origin || '|'
            || day::text) % 1024) AS b FROM bishui_day_keys ORDER BY b) locks;
    IF TG_OP = 'INSERT' THEN
        -- Inserted rows are new keys. A day the layout does not hold yet ('new') had no row
        -- before this statement, so its rows are all the statement's own (a bulk load):
        -- formed from those, without reading measurement back. When there is no such day, a
        -- day it holds whose new rows all come after its last stored one (hourly data
        -- arriving: 'append') gets them appended. Other days it holds are re-formed from
        -- measurement below.
        UPDATE bishui_day_keys k SET state = CASE
            WHEN ('x' || encode(substring(d.ts FROM octet_length(d.ts) - 7), 'hex'))
                ::bit(64)::bigint
            < ('x' || encode(timestamp_send(k.first), 'hex'))::bit(64)::bigint
            THEN 'append' ELSE 'reform' END
        FROM measurement_day d
        WHERE d.site_id = k.site_id AND d.parameter = k.parameter AND d.period = k.period
            AND d.origin = k.origin AND d.day = k.day;
        IF EXISTS (SELECT 1 FROM bishui_day_keys WHERE state = 'new') THEN
            -- a bulk load: its few days that continue stored ones are re-formed rather than
            -- the statement's rows aggregated twice
            UPDATE bishui_day_keys SET state = 'reform' WHERE state = 'append';
        ELSIF EXISTS (SELECT 1 FROM bishui_day_keys WHERE state = 'append') THEN
            -- the same test on the same stored rows as above: the same days
            UPDATE measurement_day d
            SET n = d.n + a.n, ts = d.ts || a.ts, value = d.value || a.value, vf = d.vf || a.vf
            FROM (SELECT site_id, parameter, period, origin, ts::date AS day, count(*) AS n,
                    min(ts) AS first,
                    string_agg(timestamp_send(ts), ''::bytea ORDER BY ts) AS ts,
                    string_agg(float8send(COALESCE(value, 'NaN'::float8)), ''::bytea
                        ORDER BY ts) AS value,
                    string_agg(int2send((CASE WHEN valid THEN 256 ELSE 0 END
                        + CASE WHEN flag IS NULL THEN 0 WHEN octet_length(flag) = 1
                               THEN ascii(flag) ELSE 255 END)::int2), ''::bytea ORDER BY ts)
                        AS vf
                FROM m_new WHERE period IN ('hour', 'day')
                GROUP BY site_id, parameter, period, origin, ts::date) a
            WHERE d.site_id = a.site_id AND d.parameter = a.parameter
                AND d.period = a.period AND d.origin = a.origin AND d.day = a.day
                AND ('x' || encode(substring(d.ts FROM octet_length(d.ts) - 7), 'hex'))
            ::bit(64)::bigint < ('x' || encode(timestamp_send(a.first), 'hex'))::bit(64)::bigint;
        END IF;
        IF EXISTS (SELECT 1 FROM bishui_day_keys WHERE state = 'new') THEN
            INSERT INTO measurement_day (site_id, parameter, period, origin, day, n, ts, value,
                vf)
            SELECT site_id, parameter, period, origin, ts::date, count(*),
                string_agg(timestamp_send(ts), ''::bytea ORDER BY ts),
                string_agg(float8send(COALESCE(value, 'NaN'::float8)), ''::bytea ORDER BY ts),
                string_agg(int2send((CASE WHEN valid THEN 256 ELSE 0 END
                    + CASE WHEN flag IS NULL THEN 0 WHEN octet_length(flag) = 1
                           THEN ascii(flag) ELSE 255 END)::int2), ''::bytea ORDER BY ts)
            FROM m_new WHERE period IN ('hour', 'day')
            GROUP BY site_id, parameter, period, origin, ts::date
            ON CONFLICT (site_id, parameter, period, origin, day) DO NOTHING;
        END IF;
    END IF;
    -- Re-formed days are deleted and inserted again (a day left with no row is not): no
    -- anti-join against measurement, which the planner ran through its (period, ts) index.
    DELETE FROM measurement_day d USING bishui_day_keys k
    WHERE k.state = 'reform' AND d.site_id = k.site_id AND d.parameter = k.parameter
        AND d.period = k.period AND d.origin = k.origin AND d.day = k.day;
    INSERT INTO measurement_day (site_id, parameter, period, origin, day, n, ts, value, vf)
    SELECT m.site_id, m.parameter, m.period, m.origin, k.day, count(*),
        string_agg(timestamp_send(m.ts), ''::bytea ORDER BY m.ts),
        string_agg(float8send(COALESCE(m.value, 'NaN'::float8)), ''::bytea ORDER BY m.ts),
        string_agg(int2send((CASE WHEN m.valid THEN 256 ELSE 0 END
            + CASE WHEN m.flag IS NULL THEN 0 WHEN octet_length(m.flag) = 1
                   THEN ascii(m.flag) ELSE 255 END)::int2), ''::bytea ORDER BY m.ts)
    FROM bishui_day_keys k JOIN measurement m ON m.site_id = k.site_id
        AND m.parameter = k.parameter AND m.period = k.period AND m.origin = k.origin
        AND m.ts >= k.day AND m.ts < k.day + 1
    WHERE k.state = 'reform'
    GROUP BY m.site_id, m.parameter, m.period, m.origin, k.day;
    DELETE FROM bishui_day_keys;
    RETURN NULL;
END
$$""",
        "-- postgresql\nCREATE TRIGGER measurement_day_insert AFTER INSERT ON measurement "
        "REFERENCING NEW TABLE AS m_new FOR EACH STATEMENT EXECUTE FUNCTION measurement_day_sync()",
        "-- postgresql\nCREATE TRIGGER measurement_day_update AFTER UPDATE ON measurement "
        "REFERENCING OLD TABLE AS m_old NEW TABLE AS m_new FOR EACH STATEMENT "
        "EXECUTE FUNCTION measurement_day_sync()",
        "-- postgresql\nCREATE TRIGGER measurement_day_delete AFTER DELETE ON measurement "
        "REFERENCING OLD TABLE AS m_old FOR EACH STATEMENT EXECUTE FUNCTION measurement_day_sync()",
        "-- postgresql\nCREATE TRIGGER measurement_day_truncate AFTER TRUNCATE ON measurement "
        "FOR EACH STATEMENT EXECUTE FUNCTION measurement_day_sync()",
        # existing databases: the layout of what is stored
        """-- postgresql
INSERT INTO measurement_day (site_id, parameter, period, origin, day, n, ts, value, vf)
SELECT site_id, parameter, period, origin, ts::date, count(*),
    string_agg(timestamp_send(ts), ''::bytea ORDER BY ts),
    string_agg(float8send(COALESCE(value, 'NaN'::float8)), ''::bytea ORDER BY ts),
    string_agg(int2send((CASE WHEN valid THEN 256 ELSE 0 END
        + CASE WHEN flag IS NULL THEN 0 WHEN octet_length(flag) = 1
               THEN ascii(flag) ELSE 255 END)::int2), ''::bytea ORDER BY ts)
FROM measurement WHERE period IN ('hour', 'day')
GROUP BY site_id, parameter, period, origin, ts::date""",
    ],
    # 5 — PostgreSQL at scale (issue 21): ``measurement`` partitioned, first by period (LIST:
    # ``measurement_minute`` holds minute and real-time values, which retention drops;
    # ``measurement_hourly`` hourly and daily ones, kept for ever; ``measurement_other`` any
    # other period), then by time (RANGE on ts: a month a partition for minute data — the unit
    # retention drops — and a year for hourly data). Each level has a DEFAULT partition that
    # catches rows of a time no partition covers yet; ``measurement_ensure_partition`` creates a
    # partition (moving its rows out of the default) and is called by the writer before it
    # writes a new month or year and by ``bishui store partitions`` ahead of time. The existing
    # rows are copied into the new table; the triggers of migrations 2 and 4 are created again
    # on it (statement-level triggers with transition tables on the partitioned root see the
    # rows of every partition). docs/postgresql.md, *Partitions*.
    [
        "-- postgresql\nALTER TABLE measurement RENAME TO measurement_unpartitioned",
        """-- postgresql
CREATE TABLE measurement (
    site_id TEXT NOT NULL,
    parameter TEXT NOT NULL,
    period TEXT NOT NULL,
    ts TIMESTAMP NOT NULL,
    origin TEXT NOT NULL,
    value DOUBLE PRECISION,
    vmin DOUBLE PRECISION,
    vmax DOUBLE PRECISION,
    cou DOUBLE PRECISION,
    flag TEXT,
    valid BOOLEAN NOT NULL,
    n_valid INTEGER,
    source TEXT,
    received_at TIMESTAMP,
    revised BOOLEAN DEFAULT FALSE
) PARTITION BY LIST (period)""",
        "-- postgresql\nCREATE TABLE measurement_minute PARTITION OF measurement "
        "FOR VALUES IN ('min', 'rt') PARTITION BY RANGE (ts)",
        "-- postgresql\nCREATE TABLE measurement_hourly PARTITION OF measurement "
        "FOR VALUES IN ('hour', 'day') PARTITION BY RANGE (ts)",
        "-- postgresql\nCREATE TABLE measurement_other PARTITION OF measurement DEFAULT",
        "-- postgresql\nCREATE TABLE measurement_minute_default PARTITION OF measurement_minute "
        "DEFAULT",
        "-- postgresql\nCREATE TABLE measurement_hourly_default PARTITION OF measurement_hourly "
        "DEFAULT",
        # The partition of *kind* ('minute' or 'hourly') holding time *t*, created if absent:
        # a plain table filled with the default partition's rows of its range (moved: the rows
        # stay the same, so the series layout is not touched), then attached (a SHARE UPDATE
        # EXCLUSIVE lock on the parent: reads and writes of other partitions go on). Two
        # writers creating the same partition are serialised by an advisory lock.
        """-- postgresql
CREATE FUNCTION measurement_ensure_partition(kind TEXT, t TIMESTAMP) RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
    lo TIMESTAMP;
    hi TIMESTAMP;
    parent TEXT := 'measurement_' || kind;
    name TEXT;
BEGIN
    IF kind = 'minute' THEN
        lo := date_trunc('month', t);
        hi := lo + interval '1 month';
        name := parent || '_' || to_char(lo, 'YYYY_MM');
    ELSIF kind = 'hourly' THEN
        lo := date_trunc('year', t);
        hi := lo + interval '1 year';
        name := parent || '_' || to_char(lo, 'YYYY');
    ELSE
        RAISE EXCEPTION 'measurement partitions are minute or hourly, not %', kind;
    END IF;
    IF to_regclass(name) IS NOT NULL THEN
        RETURN name;
    END IF;
    PERFORM pg_advisory_xact_lock(1651077993, hashtext(current_schema() || '.' || name));
    IF to_regclass(name) IS NOT NULL THEN
        RETURN name;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE measurement INCLUDING DEFAULTS)', name);
    EXECUTE format('WITH moved AS (DELETE FROM %I WHERE ts >= $1 AND ts < $2 RETURNING *) '
        'INSERT INTO %I SELECT * FROM moved', parent || '_default', name) USING lo, hi;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
        parent, name, lo, hi);
    RETURN name;
END
$$""",
        """-- postgresql
SELECT count(measurement_ensure_partition(k.kind, k.t)) FROM (
    SELECT DISTINCT CASE WHEN period IN ('min', 'rt') THEN 'minute' ELSE 'hourly' END AS kind,
        CASE WHEN period IN ('min', 'rt') THEN date_trunc('month', ts)
             ELSE date_trunc('year', ts) END AS t
    FROM measurement_unpartitioned WHERE period IN ('min', 'rt', 'hour', 'day')) k""",
        # the rows, then the keys and indexes (built once, not row by row)
        """-- postgresql
INSERT INTO measurement (site_id, parameter, period, ts, origin, value, vmin, vmax, cou, flag,
    valid, n_valid, source, received_at, revised)
SELECT site_id, parameter, period, ts, origin, value, vmin, vmax, cou, flag, valid, n_valid,
    source, received_at, revised FROM measurement_unpartitioned""",
        "-- postgresql\nDROP TABLE measurement_unpartitioned",
        "-- postgresql\nALTER TABLE measurement ADD PRIMARY KEY "
        "(site_id, parameter, period, ts, origin)",
        # Secondary indexes by kind (checked with EXPLAIN, docs/postgresql.md): hourly data
        # are read by period and time across every site (the daily aggregation); minute data
        # by site and time (the hourly aggregation per site of a kind, the source checks' and
        # the map's windows) — the primary key, led by site and code, would read all of a
        # site's month to find a few hours when no code is given.
        "-- postgresql\nCREATE INDEX measurement_hourly_ts ON measurement_hourly (period, ts)",
        "-- postgresql\nCREATE INDEX measurement_minute_site_ts ON measurement_minute "
        "(site_id, ts)",
        "-- postgresql\nCREATE TRIGGER measurement_revision BEFORE UPDATE ON measurement "
        "FOR EACH ROW WHEN (OLD.origin IN ('logger', 'upload')) "
        "EXECUTE FUNCTION measurement_keep_revision()",
        "-- postgresql\nCREATE TRIGGER measurement_day_insert AFTER INSERT ON measurement "
        "REFERENCING NEW TABLE AS m_new FOR EACH STATEMENT EXECUTE FUNCTION measurement_day_sync()",
        "-- postgresql\nCREATE TRIGGER measurement_day_update AFTER UPDATE ON measurement "
        "REFERENCING OLD TABLE AS m_old NEW TABLE AS m_new FOR EACH STATEMENT "
        "EXECUTE FUNCTION measurement_day_sync()",
        "-- postgresql\nCREATE TRIGGER measurement_day_delete AFTER DELETE ON measurement "
        "REFERENCING OLD TABLE AS m_old FOR EACH STATEMENT EXECUTE FUNCTION measurement_day_sync()",
        "-- postgresql\nCREATE TRIGGER measurement_day_truncate AFTER TRUNCATE ON measurement "
        "FOR EACH STATEMENT EXECUTE FUNCTION measurement_day_sync()",
    ],
    # 6 — autovacuum per time partition (issue 21 item 3; docs/postgresql.md, *Autovacuum of
    # the partitions*): ``measurement_partition_storage`` holds, per kind of partition, the
    # storage parameters every new partition of that kind is created with (``CREATE TABLE …
    # WITH``), in ``pg_class.reloptions``' own ``name=value`` form; only autovacuum
    # parameters with plain values are accepted (checked here, so the function can put them
    # into its DDL). ``measurement_ensure_partition`` is replaced to apply them, and the
    # partitions that exist get them now (a catalog change: ``ALTER TABLE … SET``). Change
    # them with ``bishui store partitions --storage`` (``Store.set_partition_storage``).
    [
        """-- postgresql
CREATE TABLE measurement_partition_storage (
    kind TEXT PRIMARY KEY CHECK (kind IN ('minute', 'hourly')),
    options TEXT[] NOT NULL CHECK (cardinality(options) = 0 OR array_to_string(options, ',')
        ~ '^autovacuum_[a-z_]+=[0-9][0-9.]*(,autovacuum_[a-z_]+=[0-9][0-9.]*)*$')
)""",
        # The defaults (docs/postgresql.md): ANALYZE and VACUUM after 2 % of a partition
        # changed, not the server's 10 % and 20 %; rows frozen by the first vacuum that
        # visits them (insert-mostly tables, PostgreSQL 15 documentation, *Routine
        # Vacuuming*, *The Autovacuum Daemon*).
        """-- postgresql
INSERT INTO measurement_partition_storage (kind, options) VALUES
    ('minute', ARRAY['autovacuum_vacuum_scale_factor=0.02',
        'autovacuum_analyze_scale_factor=0.02', 'autovacuum_freeze_min_age=0']),
    ('hourly', ARRAY['autovacuum_vacuum_scale_factor=0.02',
        'autovacuum_analyze_scale_factor=0.02', 'autovacuum_freeze_min_age=0'])""",
        """-- postgresql
CREATE OR REPLACE FUNCTION measurement_ensure_partition(kind TEXT, t TIMESTAMP) RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
    lo TIMESTAMP;
    hi TIMESTAMP;
    parent TEXT := 'measurement_' || kind;
    name TEXT;
    opts TEXT;
BEGIN
    IF kind = 'minute' THEN
        lo := date_trunc('month', t);
        hi := lo + interval '1 month';
        name := parent || '_' || to_char(lo, 'YYYY_MM');
    ELSIF kind = 'hourly' THEN
        lo := date_trunc('year', t);
        hi := lo + interval '1 year';
        name := parent || '_' || to_char(lo, 'YYYY');
    ELSE
        RAISE EXCEPTION 'measurement partitions are minute or hourly, not %', kind;
    END IF;
    IF to_regclass(name) IS NOT NULL THEN
        RETURN name;
    END IF;
    PERFORM pg_advisory_xact_lock(1651077993, hashtext(current_schema() || '.' || name));
    IF to_regclass(name) IS NOT NULL THEN
        RETURN name;
    END IF;
    -- the kind's storage parameters (checked by the table's constraint: name=number only)
    SELECT array_to_string(s.options, ', ') INTO opts FROM measurement_partition_storage s
    WHERE s.kind = measurement_ensure_partition.kind;
    EXECUTE format('CREATE TABLE %I (LIKE measurement INCLUDING DEFAULTS)%s', name,
        CASE WHEN coalesce(opts, '') = '' THEN '' ELSE ' WITH (' || opts || ')' END);
    EXECUTE format('WITH moved AS (DELETE FROM %I WHERE ts >= $1 AND ts < $2 RETURNING *) '
        'INSERT INTO %I SELECT * FROM moved', parent || '_default', name) USING lo, hi;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
        parent, name, lo, hi);
    RETURN name;
END
$$""",
        # the partitions that exist (not the default ones, which are kept empty)
        """-- postgresql
DO $$
DECLARE
    r RECORD;
BEGIN
    FOR r IN SELECT c.relname, array_to_string(s.options, ', ') AS opts
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        JOIN measurement_partition_storage s ON 'measurement_' || s.kind = p.relname
        WHERE p.relnamespace = current_schema()::regnamespace
            AND c.relname <> p.relname || '_default' AND cardinality(s.options) > 0
    LOOP
        EXECUTE format('ALTER TABLE %I SET (%s)', r.relname, r.opts);
    END LOOP;
END
$$""",
    ],
]


#: The migrations the store applies, by domain, in the order they were registered: ``core``
#: (this module's :data:`MIGRATIONS`) first, then each domain the application hands over at
#: start-up with :func:`register` (``bishui.app`` registers every domain of the platform). The
#: store never names a domain above it; versions are counted per domain in ``schema_version``.
#: A step of a migration written in Python: called with the open transaction (a
#: :class:`~bishui.store.base.Transaction`) of the migration it belongs to.
MigrationStep = Callable[[Any], None]
Migrations = Sequence[Sequence[str | MigrationStep]]
#: A domain's migrations, or a function returning them when the store migrates (so a domain
#: can hand over "my module's MIGRATIONS" and the list is read at migration time).
MigrationSource = Migrations | Callable[[], Migrations]

_REGISTRY: dict[str, MigrationSource] = {"core": MIGRATIONS}


def _resolve(source: MigrationSource) -> Migrations:
    return source() if callable(source) else source


def register(domain: str, migrations: MigrationSource) -> None:
    """Hand *domain*'s migrations (each a list of SQL statements in the format above, or a
    function returning them) to the store; :meth:`Store.migrate` applies those not yet
    applied. Registering the same source or an equal list again is a no-op; other migrations
    under a registered name are an error (a domain's migrations are one append-only
    sequence)."""
    if not domain.replace("_", "").isalnum() or not domain.isascii():
        raise StorageError(f"not a domain name: {domain!r}")
    have = _REGISTRY.get(domain)
    if have is None:
        _REGISTRY[domain] = migrations
    elif have is not migrations and list(_resolve(have)) != list(_resolve(migrations)):
        raise StorageError(f"domain {domain!r} is registered with other migrations")


def registered() -> list[str]:
    """Every registered domain, in registration order (``core`` first)."""
    return list(_REGISTRY)


def domain_migrations(domain: str) -> Migrations:
    """*domain*'s migrations as they are now."""
    try:
        return _resolve(_REGISTRY[domain])
    except KeyError:
        raise StorageError(f"no migrations registered for domain {domain!r}") from None


def statements(dialect: str, version: int, domain: str = "core") -> list[str]:
    """The SQL of *domain*'s migration *version* (1-based) for *dialect* (its Python steps
    left out: :func:`steps` has them)."""
    return [s for s in steps(dialect, version, domain) if isinstance(s, str)]


def steps(dialect: str, version: int, domain: str = "core") -> list[str | MigrationStep]:
    """*domain*'s migration *version* (1-based) for *dialect*, in order: SQL statements and
    Python steps."""
    types = TYPES[dialect]
    out: list[str | MigrationStep] = []
    for s in domain_migrations(domain)[version - 1]:
        if not isinstance(s, str):
            out.append(s)
            continue
        if s.startswith("-- "):
            only, _, s = s.partition("\n")
            if only[3:].strip() != dialect:
                continue
        out.append(s.format(**types))
    return out
