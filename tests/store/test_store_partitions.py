"""PostgreSQL's partitions of ``measurement`` (core migration 5) and the retention of minute data
(bishui.ingest.retention) — retention on both backends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg import sql as pgsql

from backends import PG_URL, new_pg_schema, require_pg
from bishui import readings
from bishui.ingest import aggregate
from bishui.ingest.retention import maintain, retention, unaggregated
from bishui.store import Store, open_store
from bishui.store.base import Batch
from bishui.store.base import Store as BaseStore
from bishui.store.schema import statements

T0 = dt.datetime(2025, 1, 1)


def row(period: str, ts: dt.datetime, value: float, origin: str = "logger", site: str = "A1",
        code: str = "a21026", received: dt.datetime | None = None) -> tuple[Any, ...]:  # fmt: skip
    return (site, code, period, ts, origin, value, None, None, None, "N", True, None, "t",
            received or ts)  # fmt: skip


def layout_matches(store: Store) -> None:
    """The series layout read (PostgreSQL: measurement_day) equals the generic read of
    ``measurement`` for every hourly and daily value."""
    args: Any = (["A1", "A2"], None, ["hour", "day"], ["logger", "platform"],
                 dt.datetime(2000, 1, 1), dt.datetime(2100, 1, 1))  # fmt: skip
    n1, fast = store.measurement_arrays(*args)
    n2, slow = BaseStore.measurement_arrays(store, *args)
    assert n1 == n2

    def key(c: dict[str, np.ndarray]) -> list[tuple[Any, ...]]:
        names = ("site_id", "parameter", "period", "origin", "ts", "value", "valid")
        return sorted(zip(*(c[k].tolist() for k in names), strict=True))

    assert key(fast) == key(slow)


def where(store: Store) -> dict[str, int]:
    rows = store.query(
        "SELECT tableoid::regclass::text AS part, COUNT(*) AS n FROM measurement GROUP BY 1"
    )
    return {r["part"]: int(r["n"]) for r in rows}


@pytest.fixture
def pg(backend: str, request: pytest.FixtureRequest) -> Store:
    if backend != "postgresql":
        pytest.skip("partitions are PostgreSQL's")
    store: Store = request.getfixturevalue("store")  # no DuckDB store made for a skip
    return store


@pytest.mark.postgres
def test_rows_land_in_their_partitions_and_the_layout_stays_exact(pg: Store) -> None:
    pg.write_batch(Batch(rows=[row("hour", T0 + dt.timedelta(hours=h), h) for h in range(30)]
                        + [row("min", T0 + dt.timedelta(minutes=m), m) for m in range(3)]
                        + [row("rt", dt.datetime(2025, 2, 3), 1.0)]))  # fmt: skip
    assert where(pg) == {"measurement_hourly_2025": 30, "measurement_minute_2025_01": 3,
                         "measurement_minute_2025_02": 1}  # fmt: skip
    layout_matches(pg)
    # a row of a time with no partition (a writer that does not create them) waits in the
    # default partition; maintenance moves it into its own, the layout untouched
    pg.execute(
        "INSERT INTO measurement (site_id, parameter, period, ts, origin, value, valid) "
        "VALUES ('A2', 'a21026', 'hour', ?, 'logger', 7, TRUE)",
        [dt.datetime(2019, 5, 5, 3)],
    )
    assert where(pg)["measurement_hourly_default"] == 1
    layout_matches(pg)
    created = pg.ensure_partitions(dt.datetime(2025, 1, 1), dt.datetime(2025, 2, 1))
    assert "measurement_hourly_2019" in created
    assert "measurement_hourly_default" not in where(pg)
    layout_matches(pg)
    # an update that moves a row to another partition (another year), a re-delivery that
    # changes a value (revision trigger on every partition), deletes across partitions
    pg.execute("UPDATE measurement SET ts = ? WHERE ts = ? AND period = 'hour'",
               [dt.datetime(2019, 5, 5, 4), T0 + dt.timedelta(hours=1)])  # fmt: skip
    layout_matches(pg)
    pg.write_batch(Batch(rows=[row("hour", T0 + dt.timedelta(hours=2), 99.0)]))
    assert pg.count("measurement_revision") == 1
    assert pg.query("SELECT revised FROM measurement WHERE ts = ?", [T0 + dt.timedelta(hours=2)])[
        0
    ]["revised"]
    layout_matches(pg)
    pg.execute("DELETE FROM measurement WHERE ts < ? OR ts >= ?",
               [dt.datetime(2019, 6, 1), T0 + dt.timedelta(hours=25)])  # fmt: skip
    layout_matches(pg)
    pg.execute("TRUNCATE measurement")
    assert pg.count("measurement_day") == 0


@pytest.mark.postgres
def test_the_aggregation_read_is_pruned_to_its_partition(pg: Store) -> None:
    pg.write_batch(Batch(rows=[row("min", dt.datetime(2025, m, 1, 0, 5), 1.0)
                               for m in range(1, 13)]))  # fmt: skip
    plan = "\n".join(
        r["QUERY PLAN"]
        for r in pg.query(
            "EXPLAIN " + aggregate._HOUR_SQL,
            ["air", "min", dt.datetime(2025, 3, 1), dt.datetime(2025, 3, 1, 4)],
        )
    )
    assert "measurement_minute_2025_03" in plan
    assert "measurement_minute_2025_04" not in plan and "measurement_hourly" not in plan


def _v4_schema(schema: str) -> None:
    """A schema as a store of core migration 4 left it, with some rows."""
    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(pgsql.SQL("CREATE SCHEMA {}").format(pgsql.Identifier(schema)))
        con.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(schema)))
        with con.transaction():
            con.execute(
                "CREATE TABLE schema_version (domain TEXT NOT NULL, version INTEGER NOT "
                "NULL, applied_at TIMESTAMP NOT NULL, PRIMARY KEY (domain, version))"
            )
            for v in range(1, 5):
                for s in statements("postgresql", v):
                    con.execute(s.replace("%", "%%"), [])
                con.execute("INSERT INTO schema_version VALUES ('core', %s, now())", [v])
            rows = [row("hour", T0 + dt.timedelta(hours=h), h, site=f"A{1 + h % 2}")
                    for h in range(48)] + [row("min", dt.datetime(2024, 12, 31, 23, m), m)
                                           for m in range(5)]  # fmt: skip
            with con.cursor() as cur:
                cur.executemany(
                    "INSERT INTO measurement (site_id, parameter, period, ts, origin, value, vmin,"
                    " vmax, cou, flag, valid, n_valid, source, received_at) VALUES "
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )


@pytest.mark.postgres
def test_migration_5_converts_a_stored_table() -> None:
    require_pg()
    schema = new_pg_schema()
    _v4_schema(schema)
    store = open_store(PG_URL, schema=schema)
    try:
        assert store.schema_version() >= 5
        assert where(store) == {"measurement_hourly_2025": 48, "measurement_minute_2024_12": 5}
        # migration 6 gave the partitions migration 5 made their autovacuum parameters
        assert reloptions(store)["measurement_hourly_2025"] == DEFAULT_STORAGE
        assert reloptions(store)["measurement_minute_2024_12"] == DEFAULT_STORAGE
        assert reloptions(store)["measurement_minute_default"] is None
        assert store.count("measurement_day") == 4  # two sites × two days, as before
        layout_matches(store)
        (kind,) = store.query("SELECT relkind FROM pg_class WHERE oid = 'measurement'::regclass")
        assert kind["relkind"] == "p"
        store.write_batch(Batch(rows=[row("hour", T0, 42.0)]))  # the revision trigger
        assert store.count("measurement_revision") == 1
        layout_matches(store)
    finally:
        store.drop_schema()  # type: ignore[attr-defined]
        store.close()


# -- retention (both backends) -------------------------------------------------------------


@pytest.fixture
def city(store: Store) -> Iterator[Store]:
    store.upsert("sites", [{"id": s, "kind": "air", "name": s, "region": "420800",
                            "drinking_source": False, "assessment": True}
                           for s in ("A1", "A2")])  # fmt: skip
    yield store


def minutes(day: dt.datetime, hours: int, site: str = "A1") -> list[tuple[Any, ...]]:
    return [row("min", day + dt.timedelta(minutes=m), 1.0 + m % 7, site=site)
            for m in range(0, 60 * hours)]  # fmt: skip


def test_retention_drops_aggregated_minute_data_and_keeps_hourly_data(city: Store) -> None:
    store = city
    old, recent = dt.datetime(2025, 1, 10), dt.datetime(2025, 6, 10)
    store.write_batch(Batch(rows=minutes(old, 2) + minutes(recent, 1)
                        + [row("rt", old, 3.0), row("hour", old, 5.0)]))  # fmt: skip
    now = dt.datetime(2025, 7, 1)
    # nothing aggregated yet: the pass aggregates the old hours first, then drops them
    assert unaggregated(store, dt.datetime(2025, 2, 1)) == (old, 2)
    dry = retention(store, now, 100, dry_run=True)
    assert dry.partitions == [] and dry.rows == 0 and dry.held_from == old
    report = retention(store, now, 100)
    assert report.aggregated_hours == 2 and report.held_from is None
    left = store.query("SELECT period, origin, COUNT(*) AS n FROM measurement "
                       "GROUP BY period, origin ORDER BY period, origin")  # fmt: skip
    assert [(r["period"], r["origin"], r["n"]) for r in left] == [
        ("day", "platform", 1),
        ("hour", "logger", 1),
        ("hour", "platform", 2),
        ("min", "logger", 60),
    ]
    if store.dialect == "postgresql":
        assert report.partitions == ["measurement_minute_2025_01"]
        assert report.boundary == dt.datetime(2025, 3, 1)
    else:
        assert report.rows == 121 and report.boundary == now - dt.timedelta(days=100)
    assert retention(store, now, None).boundary is None  # retention off: nothing removed


def test_retention_never_drops_what_is_not_aggregated(city: Store) -> None:
    store = city
    day = dt.datetime(2025, 1, 10)
    store.write_batch(Batch(rows=minutes(day, 1)))
    aggregate.hourly(store, day, day + dt.timedelta(hours=1), now=day + dt.timedelta(hours=1))
    assert unaggregated(store, dt.datetime(2025, 2, 1)) == (None, 0)
    # a late minute value received after the hourly value was computed: not aggregated again
    late = day + dt.timedelta(hours=5)
    store.write_batch(Batch(rows=[row("min", day + dt.timedelta(seconds=30), 9.0, received=late)]))
    assert unaggregated(store, dt.datetime(2025, 2, 1)) == (day, 1)
    report = retention(store, dt.datetime(2025, 7, 1), 100, aggregate_first=False)
    assert report.held_from == day and report.partitions == [] and report.rows == 0
    assert store.count("measurement", "period = 'min'") == 61
    report = maintain(store, dt.datetime(2025, 7, 1), 100)["retention"]
    assert report["hours_aggregated_first"] == 1 and report["held_from"] is None
    assert store.count("measurement", "period = 'min'") == 0
    assert store.count("measurement", "period = 'hour'") == 1


# -- readings.latest of minute data: bounded steps, the same answer (both backends) ----------


def _unbounded_latest(store: Store, site_ids: list[str], period: str) -> list[dict[str, Any]]:
    """The answer of readings.latest by its definition: one read of every stored time."""
    marks = ", ".join("?" for _ in site_ids)
    rows = store.query(
        "SELECT m.site_id, m.parameter, m.ts, m.value, m.flag, m.valid, m.origin FROM "
        "measurement m JOIN (SELECT site_id, parameter, MAX(ts) AS ts FROM measurement "
        f"WHERE period = ? AND site_id IN ({marks}) GROUP BY site_id, parameter) last "
        "ON m.site_id = last.site_id AND m.parameter = last.parameter AND m.ts = last.ts "
        "WHERE m.period = ?",
        [period, *site_ids, period],
    )
    order = {o: i for i, o in enumerate(readings.ORIGIN_ORDER)}
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: (r["site_id"], r["parameter"], order[r.pop("origin")])):
        best.setdefault((r["site_id"], r["parameter"]), r)
    return list(best.values())


def test_latest_minute_values_are_the_unbounded_answer_with_old_series(store: Store) -> None:
    new = dt.datetime(2025, 4, 10, 12)
    rows = [row("min", new - dt.timedelta(minutes=m), 10.0 + m, code=c, site=s)
            for s in ("A1", "A2") for c in ("a21026", "a34004") for m in range(5)]  # fmt: skip
    rows += [
        # a code whose newest minute value is two months older than the site's newest time,
        # sorting between the live ones and after them
        row("min", dt.datetime(2025, 2, 3, 4, 5), 3.5, site="A1", code="a21004"),
        row("min", dt.datetime(2025, 1, 2, 4, 5), 3.0, site="A1", code="a21004"),
        row("min", dt.datetime(2025, 2, 1), 8.0, site="A1", code="a99999"),
        # the same time from two origins: the logger's counts
        row("min", dt.datetime(2025, 2, 1), 9.0, origin="upload", site="A1", code="a99999"),
        # a site with nothing newer than three months before the other's newest time
        row("min", dt.datetime(2025, 1, 5), 1.25, site="A3", code="a21026"),
        row("hour", new + dt.timedelta(days=30), 2.0, site="A1"),  # another period
    ]
    store.write_batch(Batch(rows=rows))
    for sites in (["A1"], ["A1", "A2", "A3"], ["A3"], ["A9"], ["A2", "A1", "A2"]):
        got = readings.latest(store, sites, "min")
        assert got == _unbounded_latest(store, list(dict.fromkeys(sites)), "min"), sites
    by = {(r["site_id"], r["parameter"]): (r["ts"], r["value"])
          for r in readings.latest(store, ["A1", "A3"], "min")}  # fmt: skip
    assert by == {
        ("A1", "a21004"): (dt.datetime(2025, 2, 3, 4, 5), 3.5),
        ("A1", "a21026"): (new, 10.0),
        ("A1", "a34004"): (new, 10.0),
        ("A1", "a99999"): (dt.datetime(2025, 2, 1), 8.0),
        ("A3", "a21026"): (dt.datetime(2025, 1, 5), 1.25),
    }
    assert readings.latest(store, [], "min") == []
    hour = readings.latest(store, ["A1", "A2"], "hour")  # one read, as before
    assert hour == _unbounded_latest(store, ["A1", "A2"], "hour") and len(hour) == 1


@pytest.mark.postgres
def test_latest_minute_read_is_pruned_to_the_newest_partitions(pg: Store) -> None:
    pg.write_batch(Batch(rows=[row("min", dt.datetime(2025, m, 1, 0, 5), 1.0)
                               for m in range(1, 13)]))  # fmt: skip
    since = dt.datetime(2025, 12, 1, 0, 5) - readings.LATEST_WINDOW
    seen: list[str] = []
    real = pg.query

    def explain(sql: str, params: Any = ()) -> Any:
        out = real(sql, params)
        if "GROUP BY site_id, parameter" in sql and "AND ts >= ?" in sql:
            seen.append("\n".join(r["QUERY PLAN"] for r in real("EXPLAIN " + sql, params)))
        return out

    pg.query = explain  # type: ignore[method-assign]
    try:
        assert [r["ts"] for r in readings.latest(pg, ["A1"], "min")] == [
            dt.datetime(2025, 12, 1, 0, 5)
        ]
    finally:
        del pg.query  # type: ignore[attr-defined]
    (plan,) = seen
    assert since == dt.datetime(2025, 11, 30, 0, 5)
    assert "measurement_minute_2025_11" in plan and "measurement_minute_2025_12" in plan
    assert "measurement_minute_2025_10" not in plan and "measurement_minute_2025_01" not in plan
    assert "measurement_hourly" not in plan


# -- autovacuum per partition (core migration 6) ---------------------------------------------

DEFAULT_STORAGE = ["autovacuum_vacuum_scale_factor=0.02", "autovacuum_analyze_scale_factor=0.02",
                   "autovacuum_freeze_min_age=0"]  # fmt: skip


def reloptions(store: Store) -> dict[str, list[str] | None]:
    """Every partition's ``pg_class.reloptions``."""
    return {p["name"]: store.query("SELECT reloptions AS o FROM pg_class WHERE oid = ?::regclass",
                                   [p["name"]])[0]["o"]
            for p in store.measurement_partitions()}  # fmt: skip


@pytest.mark.postgres
def test_new_partitions_get_the_autovacuum_parameters_of_their_kind(pg: Store) -> None:
    assert pg.partition_storage() == {
        k: dict(o.split("=") for o in DEFAULT_STORAGE) for k in ("hourly", "minute")
    }
    # by the writer
    pg.write_batch(Batch(rows=[row("min", dt.datetime(2025, 3, 1), 1.0),
                               row("hour", dt.datetime(2025, 3, 1), 1.0)]))  # fmt: skip
    # by `bishui store partitions` and the maintenance pass
    pg.ensure_partitions(dt.datetime(2025, 4, 1), dt.datetime(2025, 5, 1))
    opts = reloptions(pg)
    assert opts == {"measurement_hourly_2025": DEFAULT_STORAGE,
                    "measurement_hourly_default": None,
                    "measurement_minute_2025_03": DEFAULT_STORAGE,
                    "measurement_minute_2025_04": DEFAULT_STORAGE,
                    "measurement_minute_default": None}  # fmt: skip
    # configured: kept for new partitions, set on the existing ones, dropped names reset
    changed = pg.set_partition_storage("minute", {"autovacuum_vacuum_insert_scale_factor": "0.05"})
    assert changed == ["measurement_minute_2025_03", "measurement_minute_2025_04"]
    pg.write_batch(Batch(rows=[row("min", dt.datetime(2025, 7, 1), 1.0)]))
    opts = reloptions(pg)
    for m in ("03", "04", "07"):
        assert opts[f"measurement_minute_2025_{m}"] == [
            "autovacuum_vacuum_insert_scale_factor=0.05"
        ]
    assert opts["measurement_hourly_2025"] == DEFAULT_STORAGE
    pg.set_partition_storage("minute", {})  # the server's settings
    assert reloptions(pg)["measurement_minute_2025_07"] is None
    pg.ensure_partitions(dt.datetime(2025, 9, 1), dt.datetime(2025, 10, 1))
    assert reloptions(pg)["measurement_minute_2025_09"] is None


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("kind", "options", "field"),
    [
        ("daily", {"autovacuum_vacuum_scale_factor": "0.1"}, "kind"),
        ("minute", {"fillfactor": "50"}, "storage"),
        ("minute", {"autovacuum_vacuum_scale_factor": "0.1) ; DROP TABLE sites; --"}, None),
        ("minute", {"autovacuum_vacuum_scale_factor": "-1"}, "autovacuum_vacuum_scale_factor"),
        ("minute", {"autovacuum_no_such_thing": "1"}, "storage"),  # PostgreSQL refuses it
        ("minute", {"autovacuum_vacuum_scale_factor": "200"}, "storage"),  # out of range
    ],
)
def test_partition_storage_refuses_what_is_not_an_autovacuum_number(
    pg: Store, kind: str, options: dict[str, str], field: str | None
) -> None:
    from bishui.errors import InputError

    with pytest.raises(InputError) as err:
        pg.set_partition_storage(kind, options)
    assert err.value.field == (field or "autovacuum_vacuum_scale_factor")
    assert pg.partition_storage()["minute"] == dict(o.split("=") for o in DEFAULT_STORAGE)
    pg.write_batch(Batch(rows=[row("min", dt.datetime(2025, 3, 1), 1.0)]))  # still creatable
    assert reloptions(pg)["measurement_minute_2025_03"] == DEFAULT_STORAGE


@pytest.mark.postgres
def test_store_partitions_command_sets_and_lists_the_storage() -> None:
    from click.testing import CliRunner

    from bishui.cli import main

    require_pg()
    url = f"{PG_URL}?schema={new_pg_schema()}"
    store = open_store(url)
    try:
        run = CliRunner().invoke
        r = run(main, ["store", "partitions", "--db", url, "--months", "0",
                       "--storage", "hourly:autovacuum_analyze_scale_factor=0.05"])  # fmt: skip
        assert r.exit_code == 0, r.output
        assert "new hourly partitions: autovacuum_analyze_scale_factor=0.05\n" in r.output
        assert f"new minute partitions: {', '.join(DEFAULT_STORAGE)}\n" in r.output
        made = {k: v for k, v in reloptions(store).items() if not k.endswith("_default")}
        assert made and all(
            v == (["autovacuum_analyze_scale_factor=0.05"] if "hourly" in k else DEFAULT_STORAGE)
            for k, v in made.items()
        )
        r = run(main, ["store", "partitions", "--db", url, "--storage", "minute"])
        assert r.exit_code == 2 and "KIND:NAME=VALUE" in r.output
        r = run(main, ["store", "partitions", "--db", url, "--storage", "minute:fillfactor=5"])
        assert r.exit_code != 0 and "fillfactor" in r.output
        r = run(main, ["store", "partitions", "--db", url, "--storage", "hourly:"])
        assert r.exit_code == 0 and "new hourly partitions: the server's\n" in r.output
    finally:
        store.drop_schema()  # type: ignore[attr-defined]
        store.close()
