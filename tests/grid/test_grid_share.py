"""Several intakes through the real broker (Mosquitto at 127.0.0.1:1883, or $BISHUI_TEST_MQTT)
on one shared subscription (``$share/<group>/…``, MQTT 5.0 §4.8.2, taken by Mosquitto from the
MQTT 3.1.1 clients paho makes): the messages are split between them and each is stored once;
an intake killed mid-stream after a commit and before its PUBACKs loses nothing — what the
broker gave it, and its share of what follows, come when it (or an intake with its client id)
connects again, and what it had committed is recognised and written nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grid_support import MQTT_URL, until

from backends import PG_URL, drop_store, make_store
from bishui.errors import ConfigError
from bishui.grid import intake as grid_intake
from bishui.grid.mqtt import RECONNECT_SECONDS, MqttIntake, shared_filter
from bishui.grid.payload import device_key, encode
from bishui.grid.simulator import connect
from bishui.ingest.sink import DeviceDirectory
from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
from bishui.store import Store, Transaction, open_store
from bishui.timeutil import now_beijing

KEY = b"s" * 32
BJ = dt.timezone(dt.timedelta(hours=8))


def _registry(store: Store) -> None:
    apply(store, Registry(
        regions=[Region("420802", "东宝区", "district")],
        sites=[Site("WG01", "grid", "网格微站", "420802", 112.2, 31.0)],
        devices=[Device("G1", "WG01", "pw-not-used", "22",
                        parameters=(DeviceParameter("a34004", "μg/m³", 0.0, 1000.0),))],
    ))  # fmt: skip


def test_the_group_makes_a_shared_subscription() -> None:
    assert shared_filter(None) == "bishui/v1/+/+/data"
    assert shared_filter("bishui") == "$share/bishui/bishui/v1/+/+/data"
    assert shared_filter("g1", "bishui/v1/420800/+/data") == "$share/g1/bishui/v1/420800/+/data"
    for bad in ("", "a/b", "a+", "#", "a\0b"):
        with pytest.raises(ConfigError, match=r"platform\.mqtt_group"):
            shared_filter(bad)


@pytest.fixture
def two_ids() -> Iterator[tuple[str, str]]:
    """Two client ids of this test's own; their persistent sessions are ended afterwards (a
    clean-session connect), so the runs leave no queues in the broker."""
    base = f"bishui-test-{uuid.uuid4().hex[:10]}"
    ids = (f"{base}-a", f"{base}-b")
    yield ids
    for cid in ids:
        c = connect(MQTT_URL, client_id=cid)
        for _ in range(250):
            if c.is_connected():
                break
            time.sleep(0.02)
        c.disconnect()
        c.loop_stop()


async def _kill(intake: MqttIntake) -> None:
    """The intake's process dies: no PUBACK, no DISCONNECT, nothing more from it (the broker
    sees the connection end and keeps the persistent session with what is unacknowledged)."""
    assert intake._task is not None
    intake._task.cancel()
    client, intake._client = intake._client, None
    await asyncio.get_running_loop().run_in_executor(None, client.loop_stop)
    client.socket().close()


async def test_two_intakes_split_the_messages_and_a_killed_one_loses_nothing(
    store: Store, need_broker: None, two_ids: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    city = f"{random.randrange(10**6):06d}"  # a topic and group of this test's own
    group = f"g{uuid.uuid4().hex[:8]}"
    _registry(store)

    def new(cid: str) -> MqttIntake:
        return MqttIntake(store, f"{MQTT_URL}?client_id={cid}", KEY, retry_seconds=0.05,
                          topic=f"bishui/v1/{city}/+/data", group=group)  # fmt: skip

    a, b = new(two_ids[0]), new(two_ids[1])
    # A commits its first group after the kill is armed, then "dies" before its PUBACKs.
    armed, committed, release = threading.Event(), threading.Event(), threading.Event()
    real = a._commit

    def commit_then_die(items: list[grid_intake.Item]) -> list[str]:
        got = real(items)
        if armed.is_set() and not committed.is_set():
            committed.set()
            release.wait(30)  # the process is gone: this never returns to send the PUBACKs
        return got

    monkeypatch.setattr(a, "_commit", commit_then_die)
    key = device_key(KEY, "G1")
    start = now_beijing().replace(second=0, microsecond=0) - dt.timedelta(hours=2)

    def publish(seqs: range) -> None:
        for seq in seqs:
            at = (start + dt.timedelta(minutes=seq)).replace(tzinfo=BJ)
            topic, payload = encode(city, "G1", seq, at, {"a34004": (str(seq), "μg/m³", "N")},
                                    key)  # fmt: skip
            publisher.publish(topic, payload, qos=1).wait_for_publish(5)

    def stored() -> int:
        return store.count("grid_message")

    await a.start()
    await b.start()
    publisher = connect(MQTT_URL, client_id=f"{two_ids[0]}-pub")
    a2: MqttIntake | None = None
    try:
        await until(lambda: a.subscribed.is_set() and b.subscribed.is_set(), "both to subscribe")
        await until(publisher.is_connected, "the publisher")
        publish(range(1, 21))
        await until(lambda: a.counts["stored"] + b.counts["stored"] == 20, "the first 20")
        assert a.counts["stored"] >= 1 and b.counts["stored"] >= 1  # split, not copied
        assert stored() == 20 and a.counts["duplicate"] + b.counts["duplicate"] == 0

        armed.set()
        publish(range(21, 31))
        await until(committed.is_set, "A's commit before its PUBACKs")
        await _kill(a)
        b_before = b.counts["stored"]
        publish(range(31, 41))  # the broker keeps routing A's share to A's session
        await until(lambda: b.counts["stored"] > b_before, "B to go on with its share")
        a2 = new(two_ids[0])  # A again (or an intake elsewhere with A's client id)
        await a2.start()
        counted = (a, b, a2)
        await until(lambda: sum(i.counts["stored"] + i.counts["duplicate"] for i in counted)
                    == 40, "A's share after its return")  # fmt: skip
        assert a2.counts["duplicate"] >= 1  # what A had committed came again: written nothing
    finally:
        release.set()
        publisher.disconnect()
        publisher.loop_stop()
        a._executor.shutdown(wait=True)
        await b.stop()
        if a2 is not None:
            await a2.stop()
    # A's last commit was never counted (it died in it): A again found each of it stored
    assert a.counts["duplicate"] + b.counts["duplicate"] == 0
    rows = store.query("SELECT value FROM measurement WHERE site_id = 'WG01' ORDER BY ts")
    assert [r["value"] for r in rows] == [float(s) for s in range(1, 41)]
    assert store.count("raw_log", "channel = 'mqtt'") == 40  # no redelivery wrote a row
    assert store.count("grid_message") == 40
    assert store.count("quarantine") == 0


@pytest.mark.postgres
def test_two_intakes_committing_one_message_at_once_write_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sensor's resent copy (QoS 1 gives no deduplication at the broker) handed to the other
    intake of the group while the first is still committing it: both look the key up before
    either commits; the unique key refuses the later commit whole, and its second try finds the
    key and counts a duplicate. Two processes' stores on one PostgreSQL schema (DuckDB takes
    one process, whose writer lock already orders its commits)."""
    first, _, schema = make_store("postgresql", tmp_path)
    second = open_store(PG_URL, schema=schema)
    try:
        _registry(first)
        at = now_beijing().replace(second=0, microsecond=0, tzinfo=BJ) - dt.timedelta(minutes=1)
        value = {"a34004": ("42", "μg/m³", "N")}
        topic, payload = encode("420800", "G1", 7, at, value, device_key(KEY, "G1"))

        def item(store: Store) -> grid_intake.Item:
            return grid_intake.prepare(topic, payload, now_beijing(), DeviceDirectory(store).device,
                                       grid_intake.device_keys(KEY))  # fmt: skip

        # The first intake's commit holds its transaction open once its key is written.
        inside, release = threading.Event(), threading.Event()
        real_insert = Transaction.insert_rows

        def insert_then_hold(tx: Transaction, table: str, *args: Any, **kw: Any) -> Any:
            n = real_insert(tx, table, *args, **kw)
            if table == "grid_message" and threading.current_thread().name == "first":
                inside.set()
                release.wait(30)
            return n

        monkeypatch.setattr(Transaction, "insert_rows", insert_then_hold)
        results: dict[str, list[str]] = {}
        t1 = threading.Thread(target=lambda: results.update(
            first=grid_intake.commit(first, [item(first)])), name="first")  # fmt: skip
        t1.start()
        assert inside.wait(10)
        other = MqttIntake(second, "mqtt://127.0.0.1:1?client_id=other", KEY)
        with second.transaction() as tx:  # the second store's writing connection
            (pid,) = tx.fetch("SELECT pg_backend_pid()")[0]
        t2 = threading.Thread(target=lambda: results.update(second=other._commit([item(second)])))
        t2.start()
        for _ in range(1000):  # until the second waits on the first's uncommitted rows
            (row,) = first.query("SELECT wait_event_type FROM pg_stat_activity WHERE pid = ?",
                                 [pid])  # fmt: skip
            if row["wait_event_type"] == "Lock":
                break
            time.sleep(0.01)
        else:
            pytest.fail("the second commit never waited for the first")
        release.set()
        t1.join(10)
        t2.join(10)
        assert results == {"first": ["stored"], "second": ["duplicate"]}
        assert first.count("raw_log", "channel = 'mqtt'") == 1
        assert first.count("measurement") == 1 and first.count("grid_message") == 1
        assert first.count("quarantine") == 0  # not refused: recognised
    finally:
        release.set()
        second.close()
        drop_store(first)


def test_the_intake_tries_the_broker_again_every_second(store: Store) -> None:
    """After a broker restart a group has no member until an intake subscribes again (Mosquitto
    2.0.11 keeps no shared subscription over a restart; docs/grid.md) and the sensors' messages
    are dropped meanwhile: the intake retries every second, without paho's doubling pause
    (1 s up to 30 s before this, 1,400 of 12,600 messages dropped in bench_province)."""
    intake = MqttIntake(store, "mqtt://127.0.0.1:1?client_id=bishui-test-r", KEY, group="g")
    try:
        client = intake._new_client()
        assert RECONNECT_SECONDS == 1
        assert (client._reconnect_min_delay, client._reconnect_max_delay) == (1, 1)
    finally:
        intake._executor.shutdown()
