"""Through the real broker (Mosquitto at 127.0.0.1:1883, or $BISHUI_TEST_MQTT): a message
published with QoS 1 is stored exactly once, and a redelivery after a PUBACK that never went
out (the commit happened, the acknowledgement did not) is recognised and written nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import socket
import time
import uuid
from collections.abc import Iterator

import pytest

from bishui.grid import intake as grid_intake
from bishui.grid.mqtt import MqttIntake, parse_url
from bishui.grid.payload import device_key, encode
from bishui.grid.simulator import connect
from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
from bishui.store import Store
from bishui.timeutil import now_beijing

MQTT_URL = os.environ.get("BISHUI_TEST_MQTT", "mqtt://127.0.0.1:1883")
KEY = b"m" * 32
BJ = dt.timezone(dt.timedelta(hours=8))


def broker_up() -> bool:
    addr = parse_url(MQTT_URL)
    try:
        socket.create_connection((addr.host, addr.port), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def need_broker() -> None:
    if not broker_up():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but no MQTT broker answers at {MQTT_URL}")
        pytest.skip(f"no MQTT broker answers at {MQTT_URL} (set CI=true to require it)")


@pytest.fixture
def client_id() -> Iterator[str]:
    """A client id of this test's own; its persistent session is removed afterwards (a
    clean-session connect ends it), so test runs leave no queues in the broker."""
    cid = f"bishui-test-{uuid.uuid4().hex[:12]}"
    yield cid
    c = connect(MQTT_URL, client_id=cid)  # clean session: ends the persistent one
    for _ in range(250):
        if c.is_connected():
            break
        time.sleep(0.02)
    c.disconnect()
    c.loop_stop()


async def _until(cond, what: str, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


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
