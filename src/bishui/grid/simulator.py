"""Simulated grid sensors: signed messages published to a broker with QoS 1.

For the model city (``bishui demo --mqtt``) and the tests. Each sensor sends one message per
period with a counter that starts at a random point (as after a reboot) and the values a
callable gives; the broker's PUBACK is awaited by paho in its own thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bishui.grid.mqtt import parse_url
from bishui.grid.payload import device_key, encode

log = logging.getLogger("bishui.grid")

BEIJING = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class Sensor:
    device: str
    city: str
    #: code → (unit, decimals)
    parameters: dict[str, tuple[str, int]]


#: (device, code, minute start as naive Beijing time) → value, or None for "not measured"
Values = Callable[[str, str, dt.datetime], float | None]


def messages(
    sensors: Sequence[Sensor], minute: dt.datetime, values: Values, platform_key: bytes,
    seqs: dict[str, int],
) -> list[tuple[str, bytes]]:  # fmt: skip
    """One minute message per sensor for the minute starting at *minute* (naive Beijing)."""
    out = []
    at = minute.replace(tzinfo=BEIJING)
    for s in sensors:
        vals = {}
        for code, (unit, decimals) in s.parameters.items():
            v = values(s.device, code, minute)
            if v is not None:
                vals[code] = (f"{v:.{decimals}f}", unit, "N")
        if not vals:
            continue
        seqs[s.device] = seqs.get(s.device, 0) + 1
        key = device_key(platform_key, s.device)
        out.append(encode(s.city, s.device, seqs[s.device], at, vals, key, period="min"))
    return out


def connect(url: str, client_id: str = "bishui-grid-simulator") -> Any:
    """A paho client connected to the broker at *url*, its network loop running."""
    import paho.mqtt.client as mqtt

    addr = parse_url(url)
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    c.connect_async(addr.host, addr.port, 30)
    c.loop_start()
    return c


def wait_connected(client: Any, timeout: float = 10.0) -> bool:
    """Block until *client* is connected (or *timeout* seconds have passed)."""
    end = time.monotonic() + timeout
    while not client.is_connected():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


async def run_sensors(
    url: str,
    sensors: Sequence[Sensor],
    platform_key: bytes,
    values: Values,
    stop: asyncio.Event,
    *,
    now: Callable[[], dt.datetime],
    interval: float = 60.0,
) -> int:
    """Publish each sensor's minute data every *interval* seconds until *stop*; return how
    many messages were published."""
    rng = random.Random(len(sensors))
    seqs = {s.device: rng.randrange(1000) for s in sensors}
    client = connect(url)
    sent = 0
    loop = asyncio.get_running_loop()
    try:
        while not stop.is_set():
            minute = now().replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
            for topic, payload in messages(sensors, minute, values, platform_key, seqs):
                client.publish(topic, payload, qos=1)
                sent += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
    finally:
        await loop.run_in_executor(None, _close, client)
    return sent


def _close(client: Any) -> None:
    client.disconnect()
    client.loop_stop()
