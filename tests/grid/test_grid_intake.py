"""The grid intake on both backends: quarantine reasons, redelivery keys, aggregation."""

from __future__ import annotations

import datetime as dt
import json

from bishui.grid import intake
from bishui.grid.payload import device_key, encode
from bishui.ingest import aggregate
from bishui.ingest.sink import DeviceDirectory
from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
from bishui.store import Store

PLATFORM_KEY = b"p" * 32
BJ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 12, 7, 17, 30)  # naive Beijing time, as the store keeps it
UG = "μg/m³"


def load(store: Store) -> DeviceDirectory:
    params = (
        DeviceParameter("a34004", UG, 0.0, 1000.0),
        DeviceParameter("a34002", UG, 0.0, 2000.0),
    )
    apply(store, Registry(
        regions=[Region("420802", "东宝区", "district")],
        sites=[Site("WG01", "grid", "网格微站 1-1", "420802", 112.2, 31.0),
               Site("YC01", "dust", "工地（模拟）", "420802", 112.21, 31.01)],
        devices=[Device("G1", "WG01", "pw-not-used", "22", parameters=params),
                 Device("Y1", "YC01", "pw-not-used", "39",
                        parameters=(*params, DeviceParameter("a34001", UG, 0.0, 5000.0)))],
    ))  # fmt: skip
    return DeviceDirectory(store)


def message(device: str, seq: int, minute: dt.datetime, values: dict[str, str], *,
            key: bytes | None = None) -> tuple[str, bytes]:  # fmt: skip
    k = key or device_key(PLATFORM_KEY, device)
    vals = {c: (v, UG, "N") for c, v in values.items()}
    return encode("420800", device, seq, minute.replace(tzinfo=BJ), vals, k)


def prep(directory: DeviceDirectory, topic: str, payload: bytes) -> intake.Item:
    return intake.prepare(topic, payload, NOW, directory.device,
                          intake.device_keys(PLATFORM_KEY))  # fmt: skip


def test_messages_are_stored_quarantined_and_written_once(store: Store) -> None:
    d = load(store)
    t = NOW - dt.timedelta(minutes=5)
    good = prep(d, *message("G1", 1, t, {"a34004": "35", "a34002": "61.5"}))
    partial = prep(d, *message("Y1", 9, t, {"a34001": "9000", "a34002": "88", "w01018": "3"}))
    cases = {
        "unknown_device": prep(d, *message("NOPE", 1, t, {"a34004": "1"})),
        "bad_signature": prep(d, *message("G1", 2, t, {"a34004": "1"}, key=b"x" * 32)),
        "future_time": prep(d, *message("G1", 3, NOW + dt.timedelta(hours=1), {"a34004": "1"})),
        "too_old": prep(d, *message("G1", 4, NOW - dt.timedelta(days=40), {"a34004": "1"})),
        "bad_json": prep(d, "bishui/v1/420800/G1/data", b"\xff\xfe"),
    }
    bad_unit = json.loads(message("G1", 5, t, {"a34004": "1"})[1])
    bad_unit["values"]["a34004"]["unit"] = "mg/m³"  # signed as μg/m³: the signature fails first
    assert prep(d, "bishui/v1/420800/G1/data", json.dumps(bad_unit).encode()).verdict == "rejected"
    key = device_key(PLATFORM_KEY, "G1")
    topic, payload = encode(
        "420800", "G1", 6, t.replace(tzinfo=BJ), {"a34004": ("1", "mg/m³", "N")}, key
    )
    cases["unit_mismatch"] = prep(d, topic, payload)

    items = [good, partial, *cases.values()]
    assert intake.commit(store, items) == ["stored"] * len(items)
    assert (good.verdict, partial.verdict) == ("accepted", "partial")

    rows = store.query("SELECT site_id, parameter, period, ts, value, source FROM measurement "
                       "ORDER BY site_id, parameter")  # fmt: skip
    assert [(r["site_id"], r["parameter"], r["period"], r["value"]) for r in rows] == [
        ("WG01", "a34002", "min", 61.5), ("WG01", "a34004", "min", 35.0),
        ("YC01", "a34002", "min", 88.0),
    ]  # fmt: skip
    assert rows[0]["ts"] == t and rows[0]["source"] == "mqtt:1"
    reasons = {r["reason"] for r in store.query("SELECT reason FROM quarantine")}
    assert reasons == {*cases, "out_of_range", "unknown_parameter"}
    held = store.query("SELECT payload FROM quarantine WHERE reason = 'too_old'")
    assert json.loads(held[0]["payload"])["site_id"] == "WG01"  # releasable after review
    log = store.query("SELECT verdict, mn, qn FROM raw_log WHERE channel = 'mqtt' ORDER BY id")
    assert len(log) == len(items) and log[0] == {"verdict": "accepted", "mn": "G1", "qn": "1"}

    # a redelivery of every message writes nothing; the same key with other content is caught
    again = [prep(d, *message("G1", 1, t, {"a34004": "35", "a34002": "61.5"})), *cases.values()]
    reused = prep(d, *message("G1", 1, t, {"a34004": "36", "a34002": "61.5"}))
    assert intake.commit(store, [*again, reused]) == ["duplicate"] * len(again) + ["reused"]
    assert store.count("raw_log", "channel = 'mqtt'") == len(items) + 1
    assert store.count("quarantine", "reason = 'sequence_reused'") == 1
    assert store.count("measurement") == 3
    # a reboot restarts the counter: the same seq at another time is a new message
    assert intake.commit(store, [prep(d, *message("G1", 1, t + dt.timedelta(minutes=1),
                                                   {"a34004": "30"}))]) == ["stored"]  # fmt: skip

    # minute data aggregate like HJ 212 minute data: hourly values by the site kind's rule
    hour = t.replace(minute=0) - dt.timedelta(hours=1)
    mins = [prep(d, *message("G1", 100 + m, hour + dt.timedelta(minutes=m), {"a34004": "40"}))
            for m in range(50)]  # fmt: skip
    intake.commit(store, mins)
    aggregate.hourly(store, hour, hour + dt.timedelta(hours=1), now=NOW)
    got = store.query(
        "SELECT value, valid, n_valid FROM measurement WHERE site_id = 'WG01' "
        "AND parameter = 'a34004' AND period = 'hour' AND origin = 'platform'"
    )
    assert got[0]["valid"] and got[0]["n_valid"] >= 45


def test_old_redelivery_keys_are_pruned_and_recent_ones_still_recognised(store: Store) -> None:
    d = load(store)
    t = NOW - dt.timedelta(minutes=5)
    got = {}
    for n, age in enumerate((dt.timedelta(days=31), dt.timedelta(days=30),
                             dt.timedelta(days=29, hours=23))):  # fmt: skip
        item = prep(d, *message("G1", n, t - dt.timedelta(minutes=n), {"a34004": "35"}))
        item.received_at = NOW - age  # when the broker first handed it to an intake
        assert intake.commit(store, [item]) == ["stored"]
        got[age.days] = item
    dry = intake.prune(store, NOW, 30, dry_run=True)
    assert dry == {"cutoff": "2026-11-07 17:30:00", "rows_deleted": 1, "dry_run": True}
    assert store.count("grid_message") == 3
    assert intake.prune(store, NOW, 30)["rows_deleted"] == 1  # older than the window only
    kept = [r["key"] for r in store.query("SELECT key FROM grid_message ORDER BY received_at")]
    assert kept == [got[30].key, got[29].key]  # the one received at the cut is kept
    # a redelivery of a kept key is still recognised; nothing else changed
    assert intake.commit(store, [got[29]]) == ["duplicate"]
    assert intake.prune(store, NOW, 30)["rows_deleted"] == 0
    assert store.count("raw_log", "channel = 'mqtt'") == 3


def test_the_prune_reads_the_received_at_index_on_postgresql(store: Store, backend: str) -> None:
    """Grid migration 2 (issue 21): on PostgreSQL the prune's delete finds the old keys through
    ``grid_message_received`` instead of reading the table whole; DuckDB has no such index (its
    zone maps prune the range) and prunes the same rows."""
    n = 20_000  # one key a minute back from NOW: about 13.9 days
    rows = [(f"raw/{i:05d}", None, "d", NOW - dt.timedelta(minutes=i), "stored") for i in range(n)]
    with store.transaction() as tx:
        tx.insert_rows("grid_message", ("key", "device_id", "digest", "received_at", "verdict"),
                       rows)  # fmt: skip
    assert store.schema_version("grid") == 2
    cutoff = NOW - dt.timedelta(days=13)
    if backend == "postgresql":
        store.execute("ANALYZE grid_message")
        plan = "\n".join(r["QUERY PLAN"] for r in store.query("EXPLAIN " + intake.PRUNE_SQL,
                                                              [cutoff]))  # fmt: skip
        assert "grid_message_received" in plan and "Seq Scan" not in plan
    else:
        assert store.query(
            "SELECT index_name FROM duckdb_indexes() WHERE table_name = 'grid_message'"
        ) == []  # fmt: skip
    # keys received more than 13 days (18,720 minutes) ago: minutes 18,721 … 19,999
    assert intake.prune(store, NOW, 13) == {
        "cutoff": "2026-11-24 17:30:00", "rows_deleted": n - 18_721, "dry_run": False,
    }  # fmt: skip
    assert store.count("grid_message") == 18_721
    oldest = store.query("SELECT MIN(received_at) AS t FROM grid_message")[0]["t"]
    assert oldest == cutoff
