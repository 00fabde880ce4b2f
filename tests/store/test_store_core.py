import datetime as dt

import numpy as np
import pytest

from bishui.app import DOMAINS
from bishui.errors import ConflictError, NotFoundError, StorageError
from bishui.store import (
    MEASUREMENT_COLUMNS,
    Batch,
    QuarantineEntry,
    RawEntry,
    Store,
    open_store,
    rows_to_columns,
)
from bishui.store.schema import MIGRATIONS

T0 = dt.datetime(2025, 7, 1, 8)


def row(
    ts: dt.datetime,
    value: float | None,
    *,
    site: str = "AQ01",
    origin: str = "logger",
    flag: str = "N",
    source: str = "QN1",
) -> tuple:
    return (
        site,
        "a34004",
        "hour",
        ts,
        origin,
        value,
        None,
        None,
        None,
        flag,
        flag == "N",
        None,
        source,
        ts,
    )


def test_migrate_is_idempotent(store: Store) -> None:
    assert store.schema_version() == len(MIGRATIONS)
    versions = store.migrate()
    assert versions["core"] == len(MIGRATIONS)
    assert set(versions) == {"core"} | {name for name, _ in DOMAINS}
    assert store.migrate() == versions
    assert store.schema_version() == len(MIGRATIONS)
    assert store.count("users") == 0  # the web domain's tables came with the store


def test_redelivery_is_idempotent(store: Store) -> None:
    batch = Batch(rows=[row(T0, 35.0), row(T0 + dt.timedelta(hours=1), 40.0)])
    store.write_batch(batch)
    store.write_batch(batch)
    assert store.count("measurement") == 2


def test_same_key_in_one_batch_keeps_the_last(store: Store) -> None:
    store.write_batch(Batch(rows=[row(T0, 35.0), row(T0, 36.0)]))
    s = store.series("AQ01", "a34004", "hour", T0, T0 + dt.timedelta(hours=1))
    assert s["value"].tolist() == [36.0]


def test_origins_are_kept_apart(store: Store) -> None:
    store.write_batch(Batch(rows=[row(T0, 35.0), row(T0, 34.5, origin="platform")]))
    s = store.series("AQ01", "a34004", "hour", T0, T0 + dt.timedelta(hours=1))
    assert s["origin"].tolist() == ["logger", "platform"]
    latest = store.latest(["AQ01"])
    assert [(r["site_id"], r["value"]) for r in latest] == [("AQ01", 35.0)]


def test_missing_value_is_null_not_nan(store: Store) -> None:
    store.write_batch(Batch(rows=[row(T0, None, flag="D")]))
    r = store.query("SELECT value, valid FROM measurement")
    assert r == [{"value": None, "valid": False}]


def test_series_bounds_are_half_open(store: Store) -> None:
    store.write_batch(Batch(rows=[row(T0 + dt.timedelta(hours=h), float(h)) for h in range(5)]))
    s = store.series(
        "AQ01", "a34004", "hour", T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=3)
    )
    assert s["value"].tolist() == [1.0, 2.0]
    assert s["ts"].dtype == np.dtype("datetime64[us]")


def test_raw_log_keeps_bytes_exactly(store: Store) -> None:
    raw = bytes(range(256))
    store.write_batch(
        Batch(raw=[RawEntry(T0, "hj212", raw, "rejected", peer="127.0.0.1:1", reason="not_hj212")])
    )
    got = store.query("SELECT raw, verdict, reason FROM raw_log")
    assert bytes(got[0]["raw"]) == raw
    assert got[0]["verdict"] == "rejected"


def test_quarantine_release_and_discard(store: Store) -> None:
    payload = dict(
        zip(
            MEASUREMENT_COLUMNS,
            row(T0, 9999.0, origin="upload"),
            strict=True,
        )
    )
    payload["ts"] = payload["received_at"] = T0.isoformat()
    store.write_batch(
        Batch(
            quarantine=[
                QuarantineEntry(
                    T0,
                    "upload",
                    "out_of_range",
                    "a34004 above the range",
                    site_id="AQ01",
                    field="value",
                    value="9999",
                    payload=payload,
                ),
                QuarantineEntry(T0, "hj212", "crc_mismatch", "CRC 1C81 != 1C80", raw=b"##0101"),
            ]
        )
    )
    ids = [r["id"] for r in store.query("SELECT id FROM quarantine ORDER BY id")]
    store.quarantine_release(ids[0], by="analyst", note="checked with the lab")
    assert store.series("AQ01", "a34004", "hour", T0, T0 + dt.timedelta(hours=1))[
        "value"
    ].tolist() == [9999.0]
    with pytest.raises(ConflictError):
        store.quarantine_release(ids[0], by="analyst", note="again")
    store.quarantine_discard(ids[1], by="analyst", note="noise")
    st = store.query("SELECT status, reviewed_by FROM quarantine ORDER BY id")
    assert [r["status"] for r in st] == ["released", "discarded"]
    with pytest.raises(NotFoundError):
        store.quarantine_release(10**9, by="x", note="y")


def test_bulk_columns_round_trip(store: Store) -> None:
    n = 1000
    ts = np.datetime64("2025-01-01T00:00", "us") + np.arange(n) * np.timedelta64(1, "h")
    cols = rows_to_columns([row(T0, 1.0)] * 0)  # empty shape check
    assert all(len(v) == 0 for v in cols.values())
    cols = {
        "site_id": np.full(n, "WS01", dtype=object),
        "parameter": np.full(n, "w21003", dtype=object),
        "period": np.full(n, "hour", dtype=object),
        "ts": ts,
        "origin": np.full(n, "logger", dtype=object),
        "value": np.linspace(0.1, 2.0, n),
        "vmin": np.full(n, np.nan),
        "vmax": np.full(n, np.nan),
        "cou": np.full(n, np.nan),
        "flag": np.full(n, "N", dtype=object),
        "valid": np.ones(n, dtype=bool),
        "n_valid": np.full(n, -1, dtype=np.int32),
        "source": np.full(n, "gen", dtype=object),
        "received_at": ts,
    }
    assert store.write_measurements(cols) == n
    assert store.write_measurements(cols) == n
    assert store.count("measurement") == n
    got = store.series(
        "WS01", "w21003", "hour", T0.replace(month=1, day=1, hour=0), T0.replace(year=2026)
    )
    np.testing.assert_allclose(got["value"], cols["value"])


def test_parameterised_queries_do_not_inject(store: Store) -> None:
    evil = "x'); DROP TABLE measurement; --"
    assert store.query("SELECT COUNT(*) AS n FROM measurement WHERE site_id = ?", [evil]) == [
        {"n": 0}
    ]
    assert store.count("measurement") == 0


def test_bad_sql_is_a_storage_error(store: Store) -> None:
    with pytest.raises(StorageError):
        store.query("SELECT * FROM no_such_table")


def test_unknown_url_scheme() -> None:
    with pytest.raises(StorageError, match="unsupported"):
        open_store("mysql://localhost/x")


def test_query_arrays_types_nulls_and_parameters(store: Store) -> None:
    """The large-read path: typed arrays, NULL floats as NaN, timestamps to the microsecond,
    parameters bound safely (PostgreSQL's COPY takes none server-side), empty results typed."""
    store.write_batch(Batch(rows=[row(T0, 1.5), row(T0 + dt.timedelta(hours=1), None),
                                  row(T0 + dt.timedelta(hours=2, microseconds=7), 3.0,
                                      site="AQ02")]))  # fmt: skip
    types = {"site": "i2", "ts": "ts", "value": "f8", "n": "i8"}
    sql = ("SELECT CAST(CASE site_id WHEN ? THEN 0 ELSE 1 END AS SMALLINT) AS site, ts, value, "
           "CAST(? AS BIGINT) AS n FROM measurement WHERE site_id <> ? ORDER BY ts")  # fmt: skip
    got = store.query_arrays(sql, ["AQ01", 2**40, "x'); DROP TABLE measurement; --"], types)
    assert list(got) == ["site", "ts", "value", "n"]
    assert got["site"].dtype == np.int16 and got["site"].tolist() == [0, 0, 1]
    assert got["ts"].dtype == np.dtype("datetime64[us]")
    assert got["ts"][2] == np.datetime64(T0 + dt.timedelta(hours=2, microseconds=7), "us")
    assert got["value"][0] == 1.5 and np.isnan(got["value"][1]) and got["value"][2] == 3.0
    assert got["n"].dtype == np.int64 and got["n"].tolist() == [2**40] * 3
    empty = store.query_arrays(sql + " LIMIT 0", ["AQ01", 1, ""], types)
    assert {k: (len(v), v.dtype) for k, v in empty.items()} == {
        "site": (0, np.int16), "ts": (0, np.dtype("datetime64[us]")), "value": (0, np.float64),
        "n": (0, np.int64)}  # fmt: skip


def test_query_coded_arrays_codes_text_columns_on_both_backends(store: Store) -> None:
    """Text columns come back as indexes into the lists given (a value outside its list, or
    NULL, drops the row), or into the distinct values found in the database's text order
    (None); numeric columns as query_arrays types them. DuckDB codes by joins, PostgreSQL by
    grouping: the same answer either way (order aside: none is promised)."""
    t1, t2 = T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=2)
    store.write_batch(Batch(rows=[
        row(T0, 1.5), row(t1, None, flag="D"), row(T0, 2.5, site="AQ02", origin="platform"),
        row(t2, 3.0, site="AQ02"), row(T0, 9.0, site="AQ03"),
    ]))  # fmt: skip
    sql = ("SELECT site_id, origin, CASE flag WHEN 'D' THEN NULL ELSE flag END AS flag, ts, "
           "value, CAST(? AS INTEGER) AS n FROM measurement WHERE source <> ?")  # fmt: skip
    args = [7, "x'); DROP TABLE measurement; --"]
    names, got = store.query_coded_arrays(
        sql, args, {"site_id": ["AQ02", "AQ01"], "origin": None}, {"ts": "ts", "value": "f8"}
    )
    assert names == {"site_id": ("AQ02", "AQ01"), "origin": ("logger", "platform")}
    assert list(got) == ["site_id", "origin", "ts", "value"]
    assert got["site_id"].dtype == np.int32 and got["origin"].dtype == np.int32
    assert got["ts"].dtype == np.dtype("datetime64[us]") and got["value"].dtype == np.float64
    rows = sorted(
        (int(s), int(o), t.item(), "nan" if np.isnan(v) else float(v))
        for s, o, t, v in zip(got["site_id"], got["origin"], got["ts"], got["value"], strict=True)
    )
    assert rows == [(0, 0, t2, 3.0), (0, 1, T0, 2.5), (1, 0, T0, 1.5), (1, 0, t1, "nan")]
    # NULL coded values are dropped, and never named; one-value lists; integer columns
    names, got = store.query_coded_arrays(
        sql, args, {"flag": None, "site_id": ["AQ01"]}, {"value": "f8", "n": "i4"}
    )
    assert names == {"flag": ("N",), "site_id": ("AQ01",)}
    assert got["value"].tolist() == [1.5] and got["n"].tolist() == [7]
    assert got["flag"].tolist() == [0] and got["site_id"].tolist() == [0]
    # nothing selected, or an empty list: typed empty arrays
    for codes in ({"site_id": ["XX"]}, {"site_id": []}, {"site_id": None, "origin": ["none"]}):
        names, got = store.query_coded_arrays(sql, args, codes, {"ts": "ts", "n": "i8"})
        assert {k: (len(v), v.dtype) for k, v in got.items()} == {
            **dict.fromkeys(codes, (0, np.int32)),
            "ts": (0, np.dtype("datetime64[us]")), "n": (0, np.int64)}  # fmt: skip
    assert store.query_coded_arrays(sql, args, {"site_id": None}, {"n": "i4"})[0] == {
        "site_id": ("AQ01", "AQ02", "AQ03")
    }
    # a name listed twice codes its rows under both indexes (the generic path's join)
    _, got = store.query_coded_arrays(sql, args, {"site_id": ["AQ03", "AQ03"]}, {"value": "f8"})
    assert sorted(got["site_id"].tolist()) == [0, 1] and got["value"].tolist() == [9.0, 9.0]


def test_query_coded_arrays_refuses_bad_names_and_types(store: Store) -> None:
    from bishui.errors import InputError

    store.write_batch(Batch(rows=[row(T0, 1.5)]))
    sql = "SELECT site_id, value FROM measurement"
    with pytest.raises(InputError):
        store.query_coded_arrays(sql, [], {}, {"value": "f8"})
    with pytest.raises(InputError):
        store.query_coded_arrays(sql, [], {"site_id": None}, {"value": "text"})
    with pytest.raises(StorageError, match="identifier"):
        store.query_coded_arrays(sql, [], {"site_id; --": None}, {"value": "f8"})
    with pytest.raises(StorageError, match="identifier"):
        store.query_coded_arrays(sql, [], {"site_id": None}, {"value) --": "f8"})


def test_query_arrays_refuses_what_it_cannot_type(store: Store) -> None:
    from bishui.errors import InputError

    store.write_batch(Batch(rows=[row(T0, 1.5)]))
    with pytest.raises(InputError) as e:
        store.query_arrays("SELECT value FROM measurement", [], {"value": "text"})
    assert e.value.field == "types.value"
    with pytest.raises(InputError):
        store.query_arrays("SELECT value FROM measurement", [], {})
    with pytest.raises(StorageError, match="NULL"):  # an integer column may not be NULL
        store.query_arrays("SELECT CAST(NULL AS INTEGER) AS n FROM measurement", [], {"n": "i4"})
