"""Scale-out ingest over a durable bus (NATS JetStream).

For a province, many gateways share one bus and a few writers drain it into the store::

    loggers ──▶ gateway ─┐                                 ┌─▶ writer ─▶ store
    loggers ──▶ gateway ─┼─▶ JetStream stream BISHUI_INGEST ┤
    loggers ──▶ gateway ─┘   (file storage, replicated)    └─▶ writer ─▶ store

:class:`JetStreamSink` is a gateway :class:`~bishui.hj212.gateway.Sink`: ``accept`` returns
when JetStream has acknowledged the publish — the frame is then durable in the stream — so the
gateway's 9014 still follows durability. :func:`drain` is a writer: it fetches batches from a
durable pull consumer, writes each batch in one store transaction (raw log, measurements,
quarantine), and only then acknowledges the messages; a writer that dies before that leaves
them to be redelivered, and re-delivery is idempotent in the store (``docs/data-model.md``).

Messages carry the frame's bytes and its receive metadata; the writer decodes again (cheap)
rather than trusting a serialised packet, so the stream holds exactly what was received.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
import os
from typing import Any

from bishui.hj212 import decode
from bishui.hj212.auth import mask_password
from bishui.hj212.gateway import Received, Rejection
from bishui.ingest.packets import BACKFILL_WINDOW, Context, frame_batch
from bishui.ingest.sink import DeviceDirectory
from bishui.store import Batch, QuarantineEntry, RawEntry, Store

log = logging.getLogger("bishui.ingest")

#: The stream, and its subjects (``BISHUI_BUS_STREAM`` names another: several deployments, or
#: test runs, on one NATS server).
STREAM = os.environ.get("BISHUI_BUS_STREAM", "BISHUI_INGEST")
_PREFIX = "bishui.ingest" if STREAM == "BISHUI_INGEST" else f"bishui.{STREAM.lower()}"
SUBJECT_ACCEPT = f"{_PREFIX}.accepted"
SUBJECT_REJECT = f"{_PREFIX}.rejected"
SUBJECTS = f"{_PREFIX}.>"


def _encode(kind: str, raw: bytes, peer: str, received_at: dt.datetime, **extra: Any) -> bytes:
    return json.dumps(
        {
            "kind": kind,
            "raw": base64.b64encode(raw).decode(),
            "peer": peer,
            "received_at": received_at.isoformat(),
            **extra,
        },
        ensure_ascii=False,
    ).encode()


async def ensure_stream(js: Any) -> None:
    """Create the stream if it does not exist (file storage: it survives a NATS restart)."""
    from nats.js.api import StorageType, StreamConfig

    try:
        await js.stream_info(STREAM)
    except Exception:  # not found
        await js.add_stream(
            StreamConfig(name=STREAM, subjects=[SUBJECTS], storage=StorageType.FILE)
        )


class JetStreamSink:
    """A gateway sink that makes frames durable in JetStream instead of the store."""

    def __init__(self, js: Any) -> None:
        self.js = js

    @classmethod
    async def connect(cls, url: str) -> tuple[JetStreamSink, Any]:
        import nats

        nc = await nats.connect(url, name="bishui-gateway")
        js = nc.jetstream()
        await ensure_stream(js)
        return cls(js), nc

    async def accept(self, item: Received) -> None:
        # The publish returns on JetStream's ack: the frame is stored in the stream.
        await self.js.publish(
            SUBJECT_ACCEPT,
            _encode("accepted", item.raw, item.peer, item.received_at, mn=item.credentials.mn),
        )

    async def reject(self, item: Rejection) -> None:
        await self.js.publish(
            SUBJECT_REJECT,
            _encode(
                "rejected",
                item.raw,
                item.peer,
                item.received_at,
                mn=item.mn,
                reason=item.reason,
                message=item.message,
            ),
        )


def batch_of(
    messages: list[dict[str, Any]],
    directory: DeviceDirectory,
    backfill_window: dt.timedelta | None = BACKFILL_WINDOW,
) -> Batch:
    """The store batch for a list of bus messages (pure apart from the directory lookup)."""
    batch = Batch()
    for m in messages:
        raw = base64.b64decode(m["raw"])
        at = dt.datetime.fromisoformat(m["received_at"])
        peer, mn = m.get("peer"), m.get("mn")
        if m["kind"] == "rejected":
            device = directory.device(mn) if mn else None
            raw = mask_password(raw)
            batch.raw.append(
                RawEntry(at, "hj212", raw, "rejected", peer=peer, mn=mn, reason=m.get("reason"))
            )
            batch.quarantine.append(
                QuarantineEntry(
                    at,
                    "hj212",
                    m.get("reason", "rejected"),
                    m.get("message", ""),
                    peer=peer,
                    mn=mn,
                    site_id=device.site_id if device else None,
                    raw=raw,
                )
            )
            continue
        packet = decode(raw, crc_policy="none")  # the gateway checked the CRC already
        device = directory.device(packet.mn)
        batch.extend(
            frame_batch(raw, packet, device, Context(at, peer, backfill_window=backfill_window))
        )
    return batch


async def drain(
    store: Store,
    url: str,
    *,
    durable: str = "bishui-writer",
    batch: int = 1000,
    stop: asyncio.Event | None = None,
    idle_timeout: float = 1.0,
    backfill_window: dt.timedelta | None = BACKFILL_WINDOW,
) -> int:
    """Drain the stream into *store* until *stop* is set; return the messages written."""
    import nats
    from nats.errors import TimeoutError as NatsTimeout

    stop = stop or asyncio.Event()
    nc = await nats.connect(url, name="bishui-writer")
    written = 0
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        sub = await js.pull_subscribe(SUBJECTS, durable=durable, stream=STREAM)
        directory = DeviceDirectory(store)
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                msgs = await sub.fetch(batch, timeout=idle_timeout)
            except (NatsTimeout, TimeoutError):  # nats-py raises either, by code path
                directory.refresh()  # quiet moment: pick up registry changes
                continue
            decoded = [json.loads(m.data) for m in msgs]
            b = batch_of(decoded, directory, backfill_window)
            await loop.run_in_executor(None, store.write_batch, b)
            for m in msgs:  # acknowledged only after the commit
                await m.ack()
            written += len(msgs)
    finally:
        await nc.close()
    return written
