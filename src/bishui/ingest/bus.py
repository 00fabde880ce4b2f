"""Scale-out ingest over a durable bus (NATS JetStream).

For a province, many gateways share one bus and a few writers drain it into the store::

    loggers ──▶ gateway ─┐                                 ┌─▶ writer ─▶ store
    loggers ──▶ gateway ─┼─▶ JetStream stream BISHUI_INGEST ┤
    loggers ──▶ gateway ─┘   (file storage, work queue)    └─▶ writer ─▶ store

:class:`JetStreamSink` is a gateway :class:`~bishui.hj212.gateway.Sink`: ``accept`` returns
when JetStream has acknowledged the publish — the frame is then durable in the stream — so the
gateway's 9014 still follows durability. Each accepted frame is published with a
deduplication id (``Nats-Msg-Id``, :func:`message_id`: MN, QN, CN and, for a segment of a
multi-packet upload, PNO): a logger that resends a frame — to the same gateway or, after a
reconnect through the load balancer, to another one — within the stream's duplicate window
gets its 9014 again, and the stream holds the frame once.

The stream is a work queue bounded at ``max_pending`` messages with "discard new": when the
writers fall behind (a slow database), the stream buffers up to that bound and then refuses
new frames, so the gateways stop acknowledging (no 9014; the loggers keep their data and
resend) instead of accepting what nobody can write — the backpressure bound of docs/deploy.md.

:func:`drain` is a writer: it fetches batches from a durable pull consumer with explicit acks
(writers sharing the consumer's name share the work), writes each batch in one store
transaction (raw log, measurements, quarantine), and only then acknowledges the messages. While
a commit waits it tells JetStream the batch is in progress, so a slow database does not hand the
same messages to a second writer; a writer that dies before its acks leaves them to be
redelivered after ``ack_wait``, and a redelivered message whose raw-log entry is already stored
(the writer died between commit and ack) is acknowledged without being written again. A failed
commit is not acknowledged: the batch is handed back (nak) and retried after a back-off.

Messages carry the frame's bytes and its receive metadata; the writer decodes again (cheap)
rather than trusting a serialised packet, so the stream holds exactly what was received.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import logging
import os
import time
from typing import Any

from bishui import metrics
from bishui.hj212 import Packet, decode
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


#: Defaults of the bus's settings (declared in bishui.settings: ``platform.bus_*``).
MAX_PENDING = 1_000_000  # messages the stream holds before it refuses new ones
DEDUP_WINDOW = 600.0  # [s] JetStream's duplicate window
ACK_WAIT = 60.0  # [s] a writer's time to acknowledge before the messages are redelivered

_M = metrics.REGISTRY
PUBLISHED = _M.counter(
    "bishui_bus_published_total", "frames a gateway stored in the stream, by kind", ("kind",)
)
DUPLICATES = _M.counter(
    "bishui_bus_duplicates_total",
    "frames the stream already held (same Nats-Msg-Id within the duplicate window): "
    "acknowledged, stored once",
)
REFUSED = _M.counter(
    "bishui_bus_refused_total",
    "publishes the stream refused or did not confirm (no 9014 sent), by reason",
    ("reason",),
)
WRITTEN = _M.counter("bishui_writer_messages_total", "messages a writer committed and acked")
SKIPPED = _M.counter(
    "bishui_writer_redelivered_skipped_total",
    "redelivered messages already committed (acked without writing again)",
)
FAILURES = _M.counter("bishui_writer_commit_failures_total", "batches whose commit failed (nak)")
BATCH = _M.histogram(
    "bishui_writer_batch_size", "messages per committed batch", metrics.SIZE_BUCKETS
)
COMMIT = _M.histogram("bishui_writer_commit_seconds", "time to commit one batch")
LAG = _M.gauge(
    "bishui_bus_stream_lag",
    "messages in the stream not yet acknowledged by the writers (pending + in flight)",
)


def message_id(packet: Packet) -> str | None:
    """The deduplication id of an accepted frame: MN, QN, CN (and PNO for a segment of a
    multi-packet upload, whose segments share the QN). None without a QN: such a frame is not
    deduplicated in the stream (the store's keys still make its measurements once)."""
    if not packet.qn:
        return None
    parts = [packet.mn, packet.qn, packet.cn]
    if packet.pno is not None:
        parts.append(str(packet.pno))
    return "/".join(str(p) for p in parts)


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


def stream_config(max_pending: int = MAX_PENDING, dedup_window: float = DEDUP_WINDOW) -> Any:
    """The stream: file storage (it survives a NATS restart), a work queue (a message leaves
    the stream when a writer acknowledges it), at most *max_pending* messages, new ones refused
    beyond (the backpressure bound), duplicates of the last *dedup_window* seconds dropped."""
    from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

    return StreamConfig(
        name=STREAM,
        subjects=[SUBJECTS],
        storage=StorageType.FILE,
        retention=RetentionPolicy.WORK_QUEUE,
        max_msgs=max_pending,
        discard=DiscardPolicy.NEW,
        duplicate_window=dedup_window,
    )


async def ensure_stream(
    js: Any, max_pending: int = MAX_PENDING, dedup_window: float = DEDUP_WINDOW
) -> None:
    """Create the stream, or bring an existing one's bound and window to the settings."""
    config = stream_config(max_pending, dedup_window)
    try:
        info = await js.stream_info(STREAM)
    except Exception:  # not found
        await js.add_stream(config)
        return
    c = info.config
    if (c.max_msgs, c.duplicate_window, c.discard) != (
        config.max_msgs, config.duplicate_window, config.discard
    ):  # fmt: skip
        try:
            await js.update_stream(config)
        except Exception as exc:  # e.g. a stream made before the work queue (retention is fixed)
            log.warning("stream %s kept its configuration: %s", STREAM, exc)


def _refusal(exc: BaseException) -> str:
    text = str(exc).lower()
    if "maximum messages" in text or "maximum bytes" in text or "resource" in text:
        return "stream_full"
    if isinstance(exc, TimeoutError) or "timeout" in type(exc).__name__.lower():
        return "timeout"
    if "no responders" in text or "connection" in text:
        return "unavailable"
    return "error"


class JetStreamSink:
    """A gateway sink that makes frames durable in JetStream instead of the store."""

    def __init__(self, js: Any, timeout: float = 5.0) -> None:
        self.js = js
        self.timeout = timeout

    @classmethod
    async def connect(
        cls,
        url: str,
        max_pending: int = MAX_PENDING,
        dedup_window: float = DEDUP_WINDOW,
    ) -> tuple[JetStreamSink, Any]:
        import nats

        # keep reconnecting for ever: a NATS restart must not end the gateway (while it is
        # away, publishes fail and no 9014 is sent)
        nc = await nats.connect(url, name="bishui-gateway", max_reconnect_attempts=-1)
        js = nc.jetstream()
        await ensure_stream(js, max_pending, dedup_window)
        return cls(js), nc

    async def _publish(self, kind: str, subject: str, data: bytes, msg_id: str | None) -> None:
        headers = {"Nats-Msg-Id": msg_id} if msg_id else None
        try:
            ack = await self.js.publish(subject, data, timeout=self.timeout, headers=headers)
        except Exception as exc:
            REFUSED.inc(reason=_refusal(exc))
            raise
        if getattr(ack, "duplicate", False):
            DUPLICATES.inc()
        else:
            PUBLISHED.inc(kind=kind)

    async def accept(self, item: Received) -> None:
        # The publish returns on JetStream's ack: the frame is stored in the stream (or was
        # already, under the same id).
        data = _encode("accepted", item.raw, item.peer, item.received_at, mn=item.credentials.mn)
        await self._publish("accepted", SUBJECT_ACCEPT, data, message_id(item.packet))

    async def reject(self, item: Rejection) -> None:
        data = _encode(
            "rejected",
            item.raw,
            item.peer,
            item.received_at,
            mn=item.mn,
            reason=item.reason,
            message=item.message,
        )
        await self._publish("rejected", SUBJECT_REJECT, data, None)


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


def already_written(store: Store, messages: list[dict[str, Any]]) -> set[int]:
    """The indexes of *messages* whose raw-log entry is stored (same receive time, peer and
    MN): committed by a writer that died before acknowledging. Every message writes exactly
    one raw-log entry in the batch's one transaction, so its entry means all of it is stored."""
    if not messages:
        return set()
    times = sorted({dt.datetime.fromisoformat(m["received_at"]) for m in messages})
    rows = store.query(
        "SELECT received_at, peer, mn FROM raw_log WHERE channel = 'hj212' "
        "AND received_at >= ? AND received_at <= ?",
        [times[0], times[-1]],
    )
    stored = {(r["received_at"], r["peer"], r["mn"]) for r in rows}
    return {
        i
        for i, m in enumerate(messages)
        if (dt.datetime.fromisoformat(m["received_at"]), m.get("peer"), m.get("mn")) in stored
    }


async def _keep_in_progress(msgs: list[Any], every: float) -> None:
    # Tell JetStream the batch is being worked on, so a slow commit does not redeliver it.
    while True:
        await asyncio.sleep(every)
        for m in msgs:
            with contextlib.suppress(Exception):
                await m.in_progress()


async def drain(
    store: Store,
    url: str,
    *,
    durable: str = "bishui-writer",
    batch: int = 1000,
    stop: asyncio.Event | None = None,
    idle_timeout: float = 1.0,
    backfill_window: dt.timedelta | None = BACKFILL_WINDOW,
    ack_wait: float = ACK_WAIT,
    max_pending: int = MAX_PENDING,
    dedup_window: float = DEDUP_WINDOW,
    retry_max: float = 30.0,
) -> int:
    """Drain the stream into *store* until *stop* is set; return the messages written."""
    import nats
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.api import AckPolicy, ConsumerConfig

    stop = stop or asyncio.Event()
    nc = await nats.connect(url, name="bishui-writer", max_reconnect_attempts=-1)
    written = 0
    backoff = 0.5
    try:
        js = nc.jetstream()
        await ensure_stream(js, max_pending, dedup_window)
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ack_wait,
            max_ack_pending=max(batch * 4, 1000),
        )
        sub = await js.pull_subscribe(SUBJECTS, durable=durable, stream=STREAM, config=config)
        directory = DeviceDirectory(store)
        loop = asyncio.get_running_loop()
        next_lag = 0.0
        while not stop.is_set():
            if time.monotonic() >= next_lag:
                next_lag = time.monotonic() + 2.0
                with contextlib.suppress(Exception):
                    info = await sub.consumer_info()
                    LAG.set((info.num_pending or 0) + (info.num_ack_pending or 0))
            try:
                msgs = await sub.fetch(batch, timeout=idle_timeout)
            except (NatsTimeout, TimeoutError):  # nats-py raises either, by code path
                directory.refresh()  # quiet moment: pick up registry changes
                continue
            except Exception:  # the server is away (restart): retry after a pause
                log.warning("fetch failed; retrying", exc_info=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
                continue
            decoded = [json.loads(m.data) for m in msgs]
            keeper = asyncio.create_task(_keep_in_progress(msgs, max(ack_wait / 3, 0.1)))
            try:
                again = [i for i, m in enumerate(msgs) if m.metadata.num_delivered > 1]
                skip: set[int] = set()
                if again:
                    found = await loop.run_in_executor(
                        None, already_written, store, [decoded[i] for i in again]
                    )
                    skip = {again[k] for k in found}
                todo = [d for i, d in enumerate(decoded) if i not in skip]
                b = batch_of(todo, directory, backfill_window)
                t0 = time.perf_counter()
                await loop.run_in_executor(None, store.write_batch, b)
                COMMIT.observe(time.perf_counter() - t0)
            except Exception:
                FAILURES.inc()
                log.exception("writing a batch of %d failed; handed back", len(msgs))
                for m in msgs:
                    with contextlib.suppress(Exception):
                        await m.nak(delay=backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, retry_max)
                continue
            finally:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeper
            backoff = 0.5
            for m in msgs:  # acknowledged only after the commit
                await m.ack()
            BATCH.observe(len(todo))
            WRITTEN.inc(len(todo))
            SKIPPED.inc(len(skip))
            written += len(todo)
    finally:
        await nc.close()
    return written
