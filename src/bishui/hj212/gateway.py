"""The HJ 212 gateway: an asyncio TCP server around :class:`bishui.hj212.session.Session`.

Each connection gets its own session. A packet that passes framing and CRC is checked
against the registry (``lookup(mn)``: unknown MN → ``unknown_mn``; wrong PW →
``bad_password``), handed to ``sink.accept`` and — only once that returns, i.e. once the
sink says the data is durable — acknowledged 9014 if its Flag asks for one. If ``accept``
raises, nothing is acknowledged (the logger will resend) and the connection carries on.
Every rejection goes to ``sink.reject`` (quarantine) with the raw bytes, the peer, the time
and the reason, and is counted in :meth:`Gateway.metrics`.

A connection is read one chunk at a time and its frames handled in order; while the sink is
busy that connection is not read (TCP backpressure), others are unaffected. Limits: maximum
connections, idle timeout, data-segment size, per-connection byte rate.

Logs go to the ``bishui.hj212`` logger (no handlers added) with ``extra`` fields ``peer``,
``mn``, ``reason``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bishui.hj212.codec import MAX_DATA_LENGTH, Packet
from bishui.hj212.session import (
    ANSWERS,
    HEARTBEAT,
    Acknowledged,
    AckTimedOut,
    Command,
    CommandAnswered,
    CommandFinished,
    CommandTimedOut,
    Event,
    Noise,
    PacketReceived,
    Rejected,
    Session,
)
from bishui.timeutil import now_beijing

__all__ = [
    "DeviceCredentials",
    "Gateway",
    "GatewayLimits",
    "Received",
    "Rejection",
    "Sink",
]

log = logging.getLogger("bishui.hj212")


@dataclass(frozen=True)
class DeviceCredentials:
    """What the registry knows about one data logger.

    ``crc_policy`` names the CRC variants accepted from it (``bishui.hj212.crc.POLICIES``,
    comma-separated); ``edition`` fixes the edition of the answers sent to it (``None``:
    answer in the edition each frame announces).
    """

    mn: str
    pw: str
    site_id: str
    crc_policy: str = "hj212"
    edition: str | None = None


@dataclass(frozen=True)
class Received:
    """An authenticated packet, for the ingest pipeline.

    ``received_at`` is naive Beijing time. ``reassembled`` is set on the last segment of a
    PNUM/PNO upload (each segment is also delivered on its own: every segment repeats
    DataTime, STD17 C.50, so each is ingestible by itself).
    """

    raw: bytes
    peer: str
    received_at: dt.datetime
    credentials: DeviceCredentials
    packet: Packet
    reassembled: Packet | None = None


@dataclass(frozen=True)
class Rejection:
    """A frame that is not believed, for quarantine."""

    raw: bytes
    peer: str
    received_at: dt.datetime
    reason: str
    message: str
    mn: str | None = None


class Sink(Protocol):
    """Where the gateway delivers. Both methods are awaited.

    ``accept`` must return only once *item* is durable (the 9014 follows it); it may batch
    many concurrent calls into one commit. ``reject`` stores a rejection in quarantine.
    """

    async def accept(self, item: Received) -> None: ...

    async def reject(self, item: Rejection) -> None: ...


Lookup = Callable[[str], DeviceCredentials | None]


@dataclass(frozen=True)
class GatewayLimits:
    """Resource limits (all per gateway process unless named per connection)."""

    max_connections: int = 5000
    idle_timeout: float = 600.0  # [s] without a byte from the peer → close
    max_data_length: int = MAX_DATA_LENGTH  # [bytes] per frame; larger → too_long
    read_size: int = 65536  # [bytes] per socket read
    max_bytes_per_second: float | None = None  # per connection; excess is delayed, not lost
    ack_flagless_uploads: bool = False  # answer 9014 to uploads without Flag (2005)
    max_rejections_per_minute: int = 600  # per connection; beyond: counted, not stored, closed
    request_timeout: float = 10.0  # [s] for platform requests (STD17 Table 1)
    request_retries: int = 3


@dataclass
class _Conn:
    peer: str
    session: Session
    writer: asyncio.StreamWriter
    mns: set[str] = field(default_factory=set)
    last_read: float = 0.0
    idle: bool = False
    reject_window: float = 0.0  # start of the current minute of rejections
    rejects: int = 0


class Gateway:
    """HJ 212 TCP server.

    Parameters
    ----------
    lookup : callable
        ``mn -> DeviceCredentials | None``; synchronous and cheap (called per frame).
    sink : Sink
        Receives accepted packets and rejections.
    host, port : str, int
        Where to listen (``port=0``: any free port; see :attr:`port` after :meth:`start`).
    limits : GatewayLimits
    clock : callable
        Monotonic clock [s] driving request timeouts.

    Examples
    --------
    ::

        gw = Gateway(registry.lookup, store_sink, port=9212)
        await gw.start()
        ...
        await gw.stop()
    """

    def __init__(
        self,
        lookup: Lookup,
        sink: Sink,
        *,
        host: str = "127.0.0.1",
        port: int = 9212,
        limits: GatewayLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lookup = lookup
        self.sink = sink
        self.host = host
        self.port = port
        self.limits = limits or GatewayLimits()
        self.clock = clock
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Future[None] | None = None
        self._conns: dict[asyncio.Task[Any], _Conn] = {}
        self._by_mn: dict[str, _Conn] = {}
        self._counts: Counter[str] = Counter()
        self._rejected: Counter[str] = Counter()

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Bind and start accepting connections."""
        self._server = await asyncio.start_server(
            self._handle, self.host, self.port, limit=self.limits.read_size, backlog=1024
        )
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        self._sweeper = asyncio.ensure_future(self._sweep())
        log.info("hj212 gateway listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        """Stop accepting, close every connection, wait for handlers to finish."""
        if self._server is not None:
            self._server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        # closing the transports ends each handler's read; cancel only what lingers
        for conn in list(self._conns.values()):
            conn.writer.close()
        tasks = list(self._conns)
        if tasks:
            _, lingering = await asyncio.wait(tasks, timeout=5.0)
            for t in lingering:
                t.cancel()
            for t in lingering:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        log.info("hj212 gateway stopped")

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def _sweep(self) -> None:
        """Close connections idle for longer than ``limits.idle_timeout`` (one timer for all
        connections instead of a timeout around every read)."""
        idle = self.limits.idle_timeout
        while True:
            await asyncio.sleep(min(max(idle / 4, 0.05), 5.0))
            now = self.clock()
            for conn in list(self._conns.values()):
                if not conn.idle and now - conn.last_read > idle:
                    conn.idle = True
                    self._counts["connections_idle_closed"] += 1
                    log.info("idle connection closed", extra={"peer": conn.peer})
                    conn.writer.close()

    def metrics(self) -> dict[str, Any]:
        """Counters since start: connections, frames accepted, rejected by reason, noise …"""
        c = self._counts
        return {
            "connections_open": len(self._conns),
            "connections_total": c["connections_total"],
            "connections_refused": c["connections_refused"],
            "connections_idle_closed": c["connections_idle_closed"],
            "connections_closed_abusive": c["connections_closed_abusive"],
            "bytes_received": c["bytes_received"],
            "frames_accepted": c["frames_accepted"],
            "frames_rejected": dict(self._rejected),
            "frames_rejected_total": sum(self._rejected.values()),
            "noise_bytes": c["noise_bytes"],
            "acks_sent": c["acks_sent"],
            "sink_errors": c["sink_errors"],
            "heartbeats": c["heartbeats"],
            "answers": c["answers"],
            "commands_finished": c["commands_finished"],
            "commands_timed_out": c["commands_timed_out"],
        }

    # -- downlink ------------------------------------------------------------------------
    def send_command(self, mn: str, cn: str, cp: str | dict[str, str] = "") -> Command | None:
        """Send a platform request to the latest connection of *mn* (STD17 §6.1).

        Returns the tracked :class:`Command`, or ``None`` if *mn* is not connected. Its
        9011/9012 (or timeout) are logged and counted.
        """
        conn = self._by_mn.get(mn)
        creds = self.lookup(mn)
        if conn is None or creds is None:
            return None
        ed = creds.edition or "2017"
        cmd, raw = conn.session.send_command(
            cn, mn=mn, pw=creds.pw, cp=cp, now=self.clock(), edition=ed
        )
        conn.writer.write(raw)
        return cmd

    # -- connections ---------------------------------------------------------------------
    def _policy_for(self, mn: str | None) -> str:
        try:
            creds = self.lookup(mn) if mn else None
        except Exception:  # a failing registry must not break framing; strict is safe
            log.exception("registry lookup failed", extra={"mn": mn})
            return "hj212"
        return creds.crc_policy if creds is not None else "hj212"

    def _edition_for(self, mn: str) -> str | None:
        try:
            creds = self.lookup(mn)
        except Exception:
            return None
        return creds.edition if creds is not None else None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if isinstance(peername, tuple) else str(peername)
        self._counts["connections_total"] += 1
        if len(self._conns) >= self.limits.max_connections:
            self._counts["connections_refused"] += 1
            log.warning("connection refused: limit reached", extra={"peer": peer})
            writer.close()
            return
        lim = self.limits
        session = Session(
            "platform",
            crc_policy=self._policy_for,
            edition=self._edition_for,
            max_data_length=lim.max_data_length,
            ack_flagless_uploads=lim.ack_flagless_uploads,
            timeout=lim.request_timeout,
            retries=lim.request_retries,
        )
        conn = _Conn(peer, session, writer, last_read=self.clock())
        self._conns[task] = conn
        log.debug("connection opened", extra={"peer": peer})
        rate = lim.max_bytes_per_second
        allowance = rate or 0.0
        last = self.clock()
        try:
            while True:
                data = await reader.read(lim.read_size)
                conn.last_read = self.clock()
                if conn.idle:  # closed by the idle sweeper or the rejection limit
                    break
                if not data:
                    await self._dispatch(conn, session.end_of_stream())
                    break
                self._counts["bytes_received"] += len(data)
                if rate:
                    now = self.clock()
                    allowance = min(rate, allowance + (now - last) * rate) - len(data)
                    last = now
                    if allowance < 0:
                        await asyncio.sleep(-allowance / rate)
                await self._dispatch(conn, session.receive_data(data))
                await self._dispatch(conn, session.tick(self.clock()))
                out = session.data_to_send()
                if out:
                    writer.write(out)
                await writer.drain()
        except (ConnectionError, OSError) as exc:
            log.info("connection lost: %s", exc, extra={"peer": peer})
        except Exception:  # a bug must cost one connection, never the gateway
            log.exception("connection handler failed", extra={"peer": peer})
        finally:
            del self._conns[task]
            for mn in conn.mns:
                if self._by_mn.get(mn) is conn:
                    del self._by_mn[mn]
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            log.debug("connection closed", extra={"peer": peer})

    async def _dispatch(self, conn: _Conn, events: list[Event]) -> None:
        for ev in events:
            if isinstance(ev, PacketReceived):
                await self._packet(conn, ev)
            elif isinstance(ev, Noise):
                self._counts["noise_bytes"] += ev.count
                log.debug("skipped %d bytes of noise", ev.count, extra={"peer": conn.peer})
            elif isinstance(ev, Rejected):
                await self._reject(conn, ev.raw, ev.reason, ev.message, ev.mn)
            elif isinstance(ev, CommandAnswered):
                self._counts["answers"] += 1
                log.info(
                    "request %s %s: QnRtn=%s",
                    ev.command.cn,
                    ev.command.qn,
                    ev.qn_rtn,
                    extra={"peer": conn.peer, "mn": ev.command.mn},
                )
            elif isinstance(ev, CommandFinished):
                self._counts["commands_finished"] += 1
                log.info(
                    "request %s %s: ExeRtn=%s",
                    ev.command.cn,
                    ev.command.qn,
                    ev.exe_rtn,
                    extra={"peer": conn.peer, "mn": ev.command.mn},
                )
            elif isinstance(ev, CommandTimedOut):
                self._counts["commands_timed_out"] += 1
                log.warning(
                    "request %s %s timed out (%s)",
                    ev.command.cn,
                    ev.command.qn,
                    ev.stage,
                    extra={"peer": conn.peer, "mn": ev.command.mn},
                )
            elif isinstance(ev, Acknowledged | AckTimedOut):  # device-side events
                pass

    async def _reject(
        self, conn: _Conn, raw: bytes, reason: str, message: str, mn: str | None
    ) -> None:
        self._rejected[reason] += 1
        now = self.clock()
        if now - conn.reject_window > 60.0:
            conn.reject_window, conn.rejects = now, 0
        conn.rejects += 1
        if conn.rejects > self.limits.max_rejections_per_minute:
            # a flood of bad frames: counted, but no longer stored, and the peer is cut off
            if not conn.idle:
                conn.idle = True
                self._counts["connections_closed_abusive"] += 1
                log.warning("too many bad frames; connection closed", extra={"peer": conn.peer})
                conn.writer.close()
            return
        log.warning("rejected: %s", message, extra={"peer": conn.peer, "mn": mn, "reason": reason})
        item = Rejection(raw, conn.peer, now_beijing(), reason, message, mn)
        try:
            await self.sink.reject(item)
        except Exception:
            self._counts["sink_errors"] += 1
            log.exception("quarantine failed", extra={"peer": conn.peer, "mn": mn})

    async def _packet(self, conn: _Conn, ev: PacketReceived) -> None:
        p = ev.packet
        if p.cn in ANSWERS:
            self._counts["answers"] += 1
            return
        try:
            creds = self.lookup(p.mn)
        except Exception:
            self._counts["sink_errors"] += 1
            log.exception("registry lookup failed", extra={"peer": conn.peer, "mn": p.mn})
            return
        if creds is None:
            await self._reject(conn, ev.raw, "unknown_mn", f"MN {p.mn!r} is not registered", p.mn)
            return
        if p.pw != creds.pw:
            await self._reject(conn, ev.raw, "bad_password", f"wrong PW for MN {p.mn!r}", p.mn)
            return
        if p.mn not in conn.mns:
            conn.mns.add(p.mn)
        self._by_mn[p.mn] = conn
        if p.cn == HEARTBEAT:
            self._counts["heartbeats"] += 1
            return
        item = Received(ev.raw, conn.peer, now_beijing(), creds, p, ev.reassembled)
        try:
            await self.sink.accept(item)
        except Exception:
            self._counts["sink_errors"] += 1
            log.exception(
                "sink refused a packet; no 9014 sent", extra={"peer": conn.peer, "mn": p.mn}
            )
            return
        self._counts["frames_accepted"] += 1
        ack = conn.session.acknowledge(p)
        if ack:
            conn.writer.write(ack)
            self._counts["acks_sent"] += 1
