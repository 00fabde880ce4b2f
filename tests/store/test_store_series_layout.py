"""``Store.measurement_arrays`` returns exactly the stored rows, on both backends, after every
public write path: on PostgreSQL it reads the series layout (core migration 4), which must
never be stale — written, corrected and deleted through each path, the layout's read equals
the rows of ``measurement``."""

import datetime as dt
import math
from typing import Any

import numpy as np
import pytest

from bishui.store import MEASUREMENT_COLUMNS, Batch, QuarantineEntry, Store
from bishui.store.base import MEASUREMENT_KEY
from bishui.store.schema import statements

D0 = dt.datetime(2025, 3, 1)
SITES = ("AQ01", "AQ02", "WS01")
CODES = ("a34004", "a21026", "w01001")
PERIODS = ("hour", "day")
ORIGINS = ("logger", "platform", "upload")
FLAGS = ("N", "D", "M")


def row(
    site: str,
    code: str,
    ts: dt.datetime,
    value: float | None,
    *,
    period: str = "hour",
    origin: str = "logger",
    flag: str | None = "N",
) -> tuple[Any, ...]:
    valid = flag == "N" or (flag is None and origin == "platform")
    return (site, code, period, ts, origin, value, None, None, None, flag, valid, None, "t", ts)


def stored(
    store: Store, start: dt.datetime, end: dt.datetime, codes: tuple[str, ...] | None
) -> list[tuple[Any, ...]]:
    """The rows of ``measurement`` in the window, as the read should code them."""
    rows = store.query(
        "SELECT site_id, parameter, period, origin, ts, value, valid, flag FROM measurement "
        "WHERE period IN ('hour', 'day') AND ts >= ? AND ts < ?",
        [start, end],
    )
    out = []
    for r in rows:
        if codes is not None and r["parameter"] not in codes:
            continue
        value = None if r["value"] is None or math.isnan(r["value"]) else r["value"]
        code = FLAGS.index(r["flag"]) if r["flag"] in FLAGS else len(FLAGS)
        out.append(
            (r["site_id"], r["parameter"], r["period"], r["origin"], r["ts"], value,
             bool(r["valid"]), code)
        )  # fmt: skip
    return sorted(out, key=repr)


def read(
    store: Store, start: dt.datetime, end: dt.datetime, codes: tuple[str, ...] | None
) -> list[tuple[Any, ...]]:
    names, c = store.measurement_arrays(SITES, codes, PERIODS, ORIGINS, start, end, FLAGS)
    out = []
    for i in range(len(c["ts"])):
        v = float(c["value"][i])
        out.append(
            (names["site_id"][c["site_id"][i]], names["parameter"][c["parameter"][i]],
             names["period"][c["period"][i]], names["origin"][c["origin"][i]],
             c["ts"][i].astype("datetime64[us]").item(), None if math.isnan(v) else v,
             bool(c["valid"][i]), int(c["flag_code"][i]))
        )  # fmt: skip
    if codes is None:  # every code found, in text order, and only those
        assert list(names["parameter"]) == sorted({r[1] for r in out})
    return sorted(out, key=repr)


def check(store: Store) -> None:
    for start, end, codes in (
        (D0 - dt.timedelta(days=2), D0 + dt.timedelta(days=5), None),
        (D0, D0 + dt.timedelta(days=2), CODES),
        (D0 + dt.timedelta(hours=5), D0 + dt.timedelta(days=1, hours=3), CODES),
        (D0 + dt.timedelta(hours=5), D0 + dt.timedelta(hours=6), ("a34004",)),
    ):
        assert read(store, start, end, codes) == stored(store, start, end, codes)


def first_rows() -> list[tuple[Any, ...]]:
    rows = []
    for s in SITES:
        for c in CODES:
            for h in range(0, 48, 3):
                ts = D0 + dt.timedelta(hours=h)
                rows.append(row(s, c, ts, h + 0.5, flag="N" if h % 2 else "D"))
            rows.append(row(s, c, D0, 7.0, period="day", origin="upload", flag=None))
    rows.append(
        row("AQ01", "a34004", D0 + dt.timedelta(hours=1), None, origin="platform", flag=None)
    )
    rows.append(row("AQ02", "a21026", D0 + dt.timedelta(hours=2), 1.0, flag="XY"))
    rows.append(row("AQ02", "a21026", D0 + dt.timedelta(hours=4), 2.0, flag="T"))
    return rows


def test_series_read_equals_the_rows_after_every_write_path(store: Store) -> None:
    check(store)  # nothing stored
    # write_batch: new rows, then a re-delivery that changes some (a revision) and not others
    store.write_batch(Batch(rows=first_rows()))
    check(store)
    store.write_batch(
        Batch(rows=[row("AQ01", "a34004", D0 + dt.timedelta(hours=3), 99.0, flag="M"),
                    row("AQ01", "a34004", D0 + dt.timedelta(hours=6), 6.5, flag="D"),
                    row("WS01", "w01001", D0 + dt.timedelta(hours=50), 3.0)])
    )  # fmt: skip
    check(store)
    # write_measurements: the platform's aggregates, replaced without revisions
    n = 30
    ts = np.datetime64(D0, "us") + np.arange(n) * np.timedelta64(2, "h")
    cols = {
        "site_id": np.full(n, "AQ02", dtype=object),
        "parameter": np.full(n, "a34004", dtype=object),
        "period": np.full(n, "hour", dtype=object),
        "ts": ts,
        "origin": np.full(n, "platform", dtype=object),
        "value": np.linspace(1.0, 3.0, n),
        "vmin": np.full(n, np.nan),
        "vmax": np.full(n, np.nan),
        "cou": np.full(n, np.nan),
        "flag": np.full(n, None, dtype=object),
        "valid": np.arange(n) % 3 > 0,
        "n_valid": np.full(n, 45, dtype=np.int32),
        "source": np.full(n, "aggregate", dtype=object),
        "received_at": ts,
    }
    store.write_measurements(cols)
    check(store)
    cols["value"] = cols["value"] * 2
    store.write_measurements(cols)
    check(store)
    # hourly data arriving: later hours of stored days (appended), then an earlier one
    for h in (47, 46):
        store.write_batch(Batch(rows=[row(s, "a34004", D0 + dt.timedelta(hours=h), h / 2)
                                      for s in SITES]))  # fmt: skip
        check(store)
    store.write_batch(
        Batch(
            rows=[
                row("AQ01", "a21026", D0 + dt.timedelta(hours=1), 1.5),
                row("AQ01", "a21026", D0 + dt.timedelta(hours=47), 4.5),
                row("AQ01", "a21026", D0 + dt.timedelta(days=3), 9.5),
            ]
        )
    )
    check(store)
    # a transaction's inserts, upserts, column inserts, updates and deletes
    with store.transaction() as tx:
        tx.insert_rows(
            "measurement", MEASUREMENT_COLUMNS,
            [row("WS01", "a05002", D0 + dt.timedelta(hours=h), float(h)) for h in range(5)],
        )  # fmt: skip
        tx.upsert_rows(
            "measurement", MEASUREMENT_COLUMNS, MEASUREMENT_KEY,
            [row("WS01", "a05002", D0 + dt.timedelta(hours=1), -1.0, flag="D"),
             row("WS01", "a05002", D0 + dt.timedelta(hours=30), 30.0)],
        )  # fmt: skip
        tx.execute(
            "UPDATE measurement SET value = value + 1, valid = NOT valid "
            "WHERE site_id = ? AND ts < ?",
            ["AQ01", D0 + dt.timedelta(hours=12)],
        )
        tx.execute(
            "DELETE FROM measurement WHERE site_id = ? AND parameter = ? AND ts >= ?",
            ["AQ02", "a21026", D0 + dt.timedelta(days=1)],
        )
    check(store)
    with store.transaction() as tx:
        more = {k: v[:3].copy() for k, v in cols.items()}
        more["site_id"] = np.full(3, "AQ01", dtype=object)
        more["ts"] = more["ts"] + np.timedelta64(7, "D")
        more["received_at"] = more["ts"]
        tx.insert_columns("measurement", more)
        # a key that moves: to another day and to a period the layout does not hold
        tx.execute(
            "UPDATE measurement SET ts = ts + INTERVAL '3 days' "
            "WHERE site_id = ? AND parameter = ?",
            ["WS01", "w01001"],
        )
        tx.execute(
            "UPDATE measurement SET period = 'min' WHERE site_id = ? AND parameter = ? "
            "AND period = 'hour'",
            ["AQ02", "w01001"],
        )
    check(store)
    # a transaction that fails leaves both as they were
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.execute("DELETE FROM measurement WHERE site_id = ?", ["AQ01"])
        raise RuntimeError("rolled back")
    check(store)
    # quarantine release
    payload = dict(zip(MEASUREMENT_COLUMNS, row("WS01", "a21026", D0, 12.0, origin="upload"),
                       strict=True))  # fmt: skip
    payload["ts"] = payload["received_at"] = D0.isoformat()
    store.write_batch(
        Batch(quarantine=[QuarantineEntry(D0, "upload", "out_of_range", "above the range",
                                          site_id="WS01", field="value", value="12",
                                          payload=payload)])
    )  # fmt: skip
    (q,) = store.query("SELECT id FROM quarantine")
    store.quarantine_release(q["id"], by="analyst", note="checked")
    check(store)
    # store-level statements: delete one day entirely, then everything
    store.execute("DELETE FROM measurement WHERE ts >= ? AND ts < ?", [D0, D0 + dt.timedelta(1)])
    check(store)
    store.execute("DELETE FROM measurement")
    check(store)
    assert read(store, D0 - dt.timedelta(days=30), D0 + dt.timedelta(days=30), None) == []


def test_series_read_of_minutes_and_odd_flags(store: Store) -> None:
    """Reads the layout does not hold (minute values; a flag that is not one character) take
    the generic path and agree with it."""
    rows = [row("AQ01", "a34004", D0 + dt.timedelta(minutes=m), float(m), period="min",
                flag="N" if m % 2 else "XY") for m in range(10)]  # fmt: skip
    rows += [row("AQ01", "a34004", D0 + dt.timedelta(hours=h), float(h), flag="XY") for h in (1, 2)]
    store.write_batch(Batch(rows=rows))
    for periods in (("min",), ("hour",)):
        names, c = store.measurement_arrays(
            ["AQ01"], ["a34004"], periods, ["logger"], D0, D0 + dt.timedelta(1), ["XY", "N"]
        )
        assert names["period"] == periods
        want = [0 if m % 2 == 0 else 1 for m in range(10)] if periods == ("min",) else [0, 0]
        order = np.argsort(c["ts"])
        assert c["flag_code"][order].tolist() == want


@pytest.mark.postgres
def test_migration_backfills_the_series_layout(backend: str, store: Store) -> None:
    if backend != "postgresql":
        pytest.skip("the series layout is PostgreSQL's")
    store.write_batch(Batch(rows=first_rows()))
    store.execute("DELETE FROM measurement_day")
    assert store.count("measurement_day") == 0
    (backfill,) = [s for s in statements("postgresql", 4) if s.startswith("INSERT")]
    store.execute(backfill)
    check(store)
