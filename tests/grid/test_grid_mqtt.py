"""Through the real broker (Mosquitto at 127.0.0.1:1883, or $BISHUI_TEST_MQTT): a message
published with QoS 1 is stored exactly once, and a redelivery after a PUBACK that never went
out (the commit happened, the acknowledgement did not) is recognised and written nothing; a
stop waits for the commit in progress and acknowledges it."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import threading

import pytest
from grid_support import MQTT_URL
from grid_support import until as _until

from bishui.grid import intake as grid_intake
from bishui.grid.mqtt import MqttIntake
from bishui.grid.payload import device_key, encode
from bishui.grid.simulator import connect
from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
from bishui.store import Store
from bishui.timeutil import now_beijing

KEY = b"m" * 32
BJ = dt.timezone(dt.timedelta(hours=8))


async def test_published_once_stored_once_redelivery_deduplicated(
    store: Store, need_broker: None, client_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    city = f"{random.randrange(10**6):06d}"  # a topic of this test's own
    apply(store, Registry(
        regions=[Region("420802", "东宝区", "district")],
        sites=[Site("WG01", "grid", "网格微站", "420802", 112.2, 31.0)],
        devices=[Device("G1", "WG01", "pw-not-used", "22",
                        parameters=(DeviceParameter("a34004", "μg/m³", 0.0, 1000.0),))],
    ))  # fmt: skip
    intake = MqttIntake(store, f"{MQTT_URL}?client_id={client_id}", KEY, retry_seconds=0.05,
                        topic=f"bishui/v1/{city}/+/data")  # fmt: skip
    # The first commit succeeds and then the process "crashes" before the PUBACK: the broker
    # must redeliver, and the store must recognise the redelivery.
    real = intake._commit
    calls = {"n": 0}

    def commit_then_crash(items: list[grid_intake.Item]) -> list[str]:
        got = real(items)
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("simulated crash after the commit, before the PUBACK")
        return got

    monkeypatch.setattr(intake, "_commit", commit_then_crash)
    await intake.start()
    publisher = connect(MQTT_URL, client_id=f"{client_id}-pub")
    try:
        await _until(intake.connected.is_set, "the intake to connect")
        await _until(publisher.is_connected, "the publisher to connect")
        minute = now_beijing().replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
        topic, payload = encode(
            city,
            "G1",
            1,
            minute.replace(tzinfo=BJ),
            {"a34004": ("42", "μg/m³", "N")},
            device_key(KEY, "G1"),
        )
        publisher.publish(topic, payload, qos=1).wait_for_publish(5)
        await _until(lambda: intake.counts["duplicate"] >= 1, "the redelivery")
        assert intake.counts["commit_failures"] == 1
        # a second message on the new connection goes straight through
        topic2, payload2 = encode(city, "G1", 2, (minute - dt.timedelta(minutes=1)).replace(
            tzinfo=BJ), {"a34004": ("40", "μg/m³", "N")}, device_key(KEY, "G1"))  # fmt: skip
        publisher.publish(topic2, payload2, qos=1).wait_for_publish(5)
        await _until(lambda: intake.counts["stored"] >= 1, "the second message")
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        await intake.stop()
    rows = store.query("SELECT ts, value FROM measurement WHERE site_id = 'WG01' ORDER BY ts")
    assert [r["value"] for r in rows] == [40.0, 42.0]
    assert store.count("raw_log", "channel = 'mqtt'") == 2  # the redelivery wrote nothing
    assert store.count("grid_message") == 2
    assert store.count("quarantine") == 0


async def test_stop_finishes_the_commit_in_progress_and_acknowledges_it(
    store: Store, need_broker: None, client_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    city = f"{random.randrange(10**6):06d}"
    apply(store, Registry(
        regions=[Region("420802", "东宝区", "district")],
        sites=[Site("WG01", "grid", "网格微站", "420802", 112.2, 31.0)],
        devices=[Device("G1", "WG01", "pw-not-used", "22",
                        parameters=(DeviceParameter("a34004", "μg/m³", 0.0, 1000.0),))],
    ))  # fmt: skip
    url, topic = f"{MQTT_URL}?client_id={client_id}", f"bishui/v1/{city}/+/data"
    intake = MqttIntake(store, url, KEY, topic=topic)
    inside, release = threading.Event(), threading.Event()
    real = intake._commit

    def slow_commit(items: list[grid_intake.Item]) -> list[str]:
        inside.set()
        release.wait(10)
        return real(items)

    monkeypatch.setattr(intake, "_commit", slow_commit)
    minute = now_beijing().replace(second=0, microsecond=0, tzinfo=BJ) - dt.timedelta(minutes=1)

    def publish(seq: int) -> None:
        t, p = encode(city, "G1", seq, minute - dt.timedelta(minutes=seq),
                      {"a34004": (str(seq), "μg/m³", "N")}, device_key(KEY, "G1"))  # fmt: skip
        publisher.publish(t, p, qos=1).wait_for_publish(5)

    await intake.start()
    publisher = connect(MQTT_URL, client_id=f"{client_id}-pub")
    again: MqttIntake | None = None
    try:
        await _until(intake.subscribed.is_set, "the intake to subscribe")
        await _until(publisher.is_connected, "the publisher to connect")
        publish(1)
        await _until(inside.is_set, "the commit to begin")
        stopping = asyncio.create_task(intake.stop())
        await asyncio.sleep(0.1)
        assert not stopping.done()  # it waits for the commit in progress …
        release.set()
        await stopping
        assert intake.counts["stored"] == 1  # … which was counted and acknowledged
        # The same session again: a message left unacknowledged would come first (the broker
        # resends what is in flight before anything new); it does not.
        again = MqttIntake(store, url, KEY, topic=topic)
        await again.start()
        await _until(again.subscribed.is_set, "the session to resume")
        publish(2)
        await _until(lambda: again.counts["stored"] == 1, "the next message")
        assert again.counts["duplicate"] == 0
    finally:
        release.set()
        publisher.disconnect()
        publisher.loop_stop()
        if again is not None:
            await again.stop()
    assert store.count("grid_message") == 2 and store.count("raw_log", "channel = 'mqtt'") == 2
