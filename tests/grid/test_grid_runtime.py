"""``bishui serve --mqtt``: the running platform takes the grid sensors' messages, and refuses
to start without a usable platform key."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from grid_support import MQTT_URL, until

from bishui.errors import ConfigError
from bishui.grid.payload import device_key, encode
from bishui.grid.simulator import connect
from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
from bishui.runtime import PlatformConfig, run_platform
from bishui.store import Store, open_store
from bishui.timeutil import now_beijing

SECRET = "r" * 40


async def test_the_platform_runs_the_mqtt_intake(
    store: Store, need_broker: None, client_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BISHUI_MQTT_SECRET", SECRET)
    device = f"T{client_id[-12:]}"  # a device of this run's own
    apply(store, Registry(
        regions=[Region("420802", "东宝区", "district")],
        sites=[Site("YC01", "dust", "工地（模拟）", "420802", 112.2, 31.0)],
        devices=[Device(device, "YC01", "pw-not-used", "39",
                        parameters=(DeviceParameter("a34001", "μg/m³", 0.0, 5000.0),))],
    ))  # fmt: skip
    stop = asyncio.Event()
    ports: dict[str, int] = {}
    config = PlatformConfig(gateway_port=0, web=False, refresh=[],
                            mqtt=f"{MQTT_URL}?client_id={client_id}")  # fmt: skip
    task = asyncio.create_task(run_platform(store, config, stop, ready=ports.update))
    publisher = connect(MQTT_URL, client_id=f"{client_id}-pub")
    try:
        await until(lambda: bool(ports) or task.done(), "the platform")
        await until(publisher.is_connected, "the publisher")
        minute = now_beijing().replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
        at = minute.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
        key = device_key(SECRET.encode(), device)

        def stored() -> bool:
            return store.count("measurement", "site_id = 'YC01'") == 1

        # published until the intake's subscription is in place (it connects in the background)
        for seq in range(100):
            topic, payload = encode("420800", device, 1, at, {"a34001": ("180", "μg/m³", "N")},
                                    key)  # fmt: skip
            publisher.publish(topic, payload, qos=1).wait_for_publish(5)
            try:
                await until(stored, "the message", timeout=0.2 + seq * 0.05)
                break
            except pytest.fail.Exception:
                continue
        assert stored()
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        stop.set()
        metrics = await task
    # the repeats were redeliveries, written nothing. The platform takes every city's topic, so
    # other tests' messages on the broker may come to it too (quarantined unknown_device):
    # each written once and counted once.
    assert store.count("raw_log", "channel = 'mqtt' AND mn = ?", [device]) == 1
    assert metrics["mqtt"]["stored"] == store.count("raw_log", "channel = 'mqtt'")


async def test_a_missing_platform_key_is_refused_before_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(tmp_path / "bishui.duckdb")  # refused before the store is used
    monkeypatch.delenv("BISHUI_MQTT_SECRET", raising=False)
    config = PlatformConfig(gateway_port=0, web=False, mqtt="mqtt://127.0.0.1:1")
    with pytest.raises(ConfigError, match="32 bytes"):
        await run_platform(store, config, asyncio.Event())
    config.mqtt = "http://127.0.0.1:1883"
    monkeypatch.setenv("BISHUI_MQTT_SECRET", SECRET)
    with pytest.raises(ConfigError, match="mqtt://"):
        await run_platform(store, config, asyncio.Event())
    store.close()
