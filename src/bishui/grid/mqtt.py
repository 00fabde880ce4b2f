"""The MQTT intake: subscribe with QoS 1, commit, and only then acknowledge (PUBACK).

A thin adapter around paho-mqtt (≥ 2, ``manual_ack=True``): paho's network thread hands each
message to the asyncio loop; one consumer takes whatever has queued, prepares every message
(:func:`bishui.grid.intake.prepare`), commits them in one transaction
(:func:`bishui.grid.intake.commit`) on the store's writer thread and then acknowledges them, in
the order received. The session is persistent (``clean_session=False``, a fixed client id), so
the broker keeps what arrives while the platform is down and redelivers what was never
acknowledged; a redelivery is recognised in the store and written once.

When a commit fails (the database is down), nothing of the group is acknowledged and the
connection is dropped and re-made after a pause: the broker then redelivers the unacknowledged
messages. A PUBACK is never sent on a later connection than the message came on (packet ids
are per connection).

Several intakes share the messages through a shared subscription (``group``: the filter
``$share/<group>/bishui/v1/+/+/data``, MQTT 5.0 §4.8.2; Mosquitto takes it from MQTT 3.1.1
clients too): the broker hands each message to one member of the group. Each intake has its
own client id and persistent session; the redelivery keys are in the store all of them share,
so a message redelivered to any of them is written once (docs/grid.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bishui.errors import ConfigError
from bishui.grid import intake
from bishui.grid.payload import PREFIX
from bishui.ingest.packets import BACKFILL_WINDOW
from bishui.ingest.sink import DeviceDirectory
from bishui.store import Store
from bishui.timeutil import now_beijing

log = logging.getLogger("bishui.grid")

#: What the intake subscribes to: every city's every device.
TOPIC = f"{PREFIX}/+/+/data"

#: [s] The pause between attempts to reach the broker, constant (paho's default doubles it up to
#: minutes). After a broker restart a shared group has no member until an intake subscribes
#: again (Mosquitto 2.0.11 does not persist shared subscriptions), and what the sensors publish
#: meanwhile is dropped: the intake comes back within this pause of the broker (docs/grid.md).
RECONNECT_SECONDS = 1


#: Characters a shared subscription's group name (ShareName) must not contain: MQTT 5.0
#: §4.8.2 ("/", "+", "#") and §1.5.4 (U+0000 in a UTF-8 string).
_SHARE_NAME_FORBIDDEN = frozenset("/+#\0")


def shared_filter(group: str | None, topic: str = TOPIC) -> str:
    """The topic filter an intake subscribes to: *topic* itself, or with a *group* the shared
    subscription ``$share/<group>/<topic>`` (MQTT 5.0 §4.8.2)."""
    if group is None:
        return topic
    if not group or _SHARE_NAME_FORBIDDEN.intersection(group):
        raise ConfigError(
            "platform.mqtt_group",
            'a shared-subscription group name: at least one character, none of "/", "+", "#" '
            "(MQTT 5.0 §4.8.2)",
            group,
        )
    return f"$share/{group}/{topic}"


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    client_id: str
    keepalive: int = 30


def parse_url(url: str) -> BrokerAddress:
    """``mqtt://HOST[:PORT][?client_id=ID]`` → its parts (port 1883 by default)."""
    parts = urlsplit(url)
    if parts.scheme != "mqtt" or not parts.hostname:
        raise ConfigError("platform.mqtt", "mqtt://HOST[:PORT][?client_id=ID]", url)
    try:
        port = parts.port or 1883
    except ValueError as exc:
        raise ConfigError("platform.mqtt", "a port 1–65535", url) from exc
    query = parse_qs(parts.query)
    client_id = query.get("client_id", ["bishui-intake"])[0]
    return BrokerAddress(parts.hostname, port, client_id)


@dataclass(frozen=True, slots=True)
class _Received:
    generation: int
    mid: int
    qos: int
    topic: str
    payload: bytes
    received_at: dt.datetime


class MqttIntake:
    """Grid sensors' messages from a broker into *store* (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        url: str,
        platform_key: bytes,
        *,
        directory: DeviceDirectory | None = None,
        backfill_window: dt.timedelta | None = BACKFILL_WINDOW,
        max_batch: int = 2000,
        retry_seconds: float = 1.0,
        topic: str = TOPIC,
        group: str | None = None,
    ) -> None:
        if len(platform_key) < 32:
            raise ConfigError("platform.mqtt_key", "a platform key of at least 32 bytes", "***")
        self.store = store
        self.address = parse_url(url)
        self.directory = directory or DeviceDirectory(store)
        self.keys = intake.device_keys(platform_key)
        self.backfill_window = backfill_window
        self.max_batch = max_batch
        self.topic = topic  # e.g. one city's: bishui/v1/420800/+/data
        #: what is subscribed: the topic, or the group's shared subscription of it
        self.subscription = shared_filter(group, topic)
        if group is not None and self.address.client_id == "bishui-intake":
            log.warning("--mqtt-group %s with the default client id: give each intake of the "
                        "group its own ?client_id= (one id, one session)", group)  # fmt: skip
        self.retry_seconds = self._retry_base = retry_seconds
        self.counts: Counter[str] = Counter()
        self.connected = threading.Event()
        #: the broker granted the subscription on the current connection (SUBACK)
        self.subscribed = threading.Event()
        self._generation = 0
        self._queue: asyncio.Queue[_Received] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        #: set while the consumer waits for messages (or for a new connection), not while it
        #: commits a group and acknowledges it: :meth:`stop` waits for it
        self._idle = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bishui-grid")
        self._client: Any = None
        self._refreshed = 0.0

    # -- paho's thread --------------------------------------------------------------------
    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        if getattr(rc, "is_failure", False):
            log.warning("MQTT broker refused the connection: %s", rc)
            return
        self._generation += 1
        client.subscribe(self.subscription, qos=1)
        self.connected.set()
        log.info("MQTT intake connected to %s:%d", self.address.host, self.address.port)

    def _on_subscribe(self, client: Any, userdata: Any, mid: Any, codes: Any, props: Any) -> None:
        if any(getattr(c, "is_failure", False) for c in codes):
            log.error("MQTT broker refused the subscription %s: %s", self.subscription, codes)
            return
        self.subscribed.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        self.connected.clear()
        self.subscribed.clear()
        self._generation += 1  # acks of earlier messages must not go on the next connection

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        item = _Received(
            self._generation, msg.mid, msg.qos, msg.topic, bytes(msg.payload), now_beijing()
        )
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._queue.put_nowait, item)

    # -- the loop -------------------------------------------------------------------------
    def _new_client(self) -> Any:
        import paho.mqtt.client as mqtt

        c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.address.client_id,
            clean_session=False,
            manual_ack=True,
        )
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_subscribe = self._on_subscribe
        c.on_message = self._on_message
        c.reconnect_delay_set(RECONNECT_SECONDS, RECONNECT_SECONDS)
        return c

    async def start(self) -> None:
        """Connect in the background (a broker that is not up yet is retried) and consume."""
        self._loop = asyncio.get_running_loop()
        self._client = self._new_client()
        self._client.connect_async(self.address.host, self.address.port, self.address.keepalive)
        self._client.loop_start()
        self._task = asyncio.create_task(self._consume(), name="grid-intake")

    async def stop(self) -> None:
        """Stop consuming: a group being committed is finished and acknowledged first (else it
        would only come again, to be recognised as a redelivery), then the connection ends."""
        if self._task is not None:
            while not self._task.done() and not self._idle.is_set():
                await self._idle.wait()
            self._task.cancel()  # no await since the check: the consumer is still idle
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            client, self._client = self._client, None
            await asyncio.get_running_loop().run_in_executor(None, _close, client)
        self._executor.shutdown(wait=True)

    def metrics(self) -> dict[str, int]:
        return dict(self.counts)

    async def _consume(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._idle.set()
            group = [await self._queue.get()]
            self._idle.clear()
            while len(group) < self.max_batch and not self._queue.empty():
                group.append(self._queue.get_nowait())
            current = self._generation
            group = [g for g in group if g.generation == current]  # older: redelivered anyway
            if not group:
                continue
            self.counts["received"] += len(group)
            await self._refresh_if_unknown(loop, group)
            items = [
                intake.prepare(
                    g.topic, g.payload, g.received_at, self.directory.device, self.keys,
                    backfill_window=self.backfill_window,
                )
                for g in group
            ]  # fmt: skip
            try:
                results = await loop.run_in_executor(self._executor, self._commit, items)
            except Exception:  # the store is failing: nothing acknowledged, all redelivered
                log.exception("grid commit failed; reconnecting for redelivery")
                self.counts["commit_failures"] += 1
                self._idle.set()  # nothing to finish: the broker redelivers it all
                await self._reconnect(loop)
                continue
            self.retry_seconds = self._retry_base
            for g, item, result in zip(group, items, results, strict=True):
                self.counts[result] += 1
                if result == "stored" and item.verdict != "accepted":
                    self.counts[f"verdict_{item.verdict}"] += 1
                if result != "failed" and g.generation == self._generation and g.qos > 0:
                    self._client.ack(g.mid, g.qos)

    def _commit(self, items: list[intake.Item]) -> list[str]:
        try:
            return intake.commit(self.store, items)
        except Exception:
            # Once more, in a fresh transaction: another intake sharing the store may have
            # committed one of these keys since this one looked (a sensor's resent copy that
            # the broker handed to it); the unique key refused this commit whole, and the
            # fresh lookup now sees the key and counts the message a duplicate.
            log.info("grid commit of %d messages refused; once more", len(items))
        try:
            return intake.commit(self.store, items)
        except Exception as exc:
            if len(items) == 1:
                # One message the database refuses: keep its bytes in quarantine, alone.
                log.error("the store refused a grid message: %s", exc)
                intake.refused(self.store, items[0], exc)
                return ["refused"]
            results: list[str] = []
            for item in items:  # find the one that fails; the others commit on their own
                results += self._commit([item])
            return results

    async def _refresh_if_unknown(
        self, loop: asyncio.AbstractEventLoop, group: list[_Received]
    ) -> None:
        """Re-read the registry (at most every 10 s) when a message names a device not yet in
        the cache: a device registered while the platform runs is taken without a restart."""
        if loop.time() - self._refreshed < 10:
            return
        from bishui.grid.payload import PayloadError, parse_topic

        for g in group:
            try:
                _, device = parse_topic(g.topic)
            except PayloadError:
                continue
            if self.directory.device(device) is None:
                self._refreshed = loop.time()
                await loop.run_in_executor(None, self.directory.refresh)
                return

    async def _reconnect(self, loop: asyncio.AbstractEventLoop) -> None:
        client = self._client
        self._generation += 1
        while not self._queue.empty():  # all of it will come again on the new connection
            self._queue.get_nowait()
        await loop.run_in_executor(None, _close, client)
        await asyncio.sleep(self.retry_seconds)
        self.retry_seconds = min(self.retry_seconds * 2, 30.0)
        self._client = self._new_client()
        self._client.connect_async(self.address.host, self.address.port, self.address.keepalive)
        self._client.loop_start()


def _close(client: Any) -> None:
    client.disconnect()
    client.loop_stop()
