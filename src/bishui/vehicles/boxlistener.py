"""The black boxes' own TCP listener: signed captures in HJ 212 frames (:mod:`boxframe`), beside
the platform's HJ 212 gateway, on a port of their own (``bishui serve --box-port``;
docs/vehicles.md, "The black box").

A box connects, sends one or more captures (head, one frame a second, tail — in any chunking,
one byte at a time included: :class:`boxframe.Assembler`), and gets one answer frame per
capture (CN :data:`boxframe.CN_ACK`: ``Result=1`` stored, ``Result=0;Reason=<field>``
refused). The signature is the authentication: a capture is stored only when its box is
registered and the box's Ed25519 signature verifies (:func:`service.accept_signed`); there is
no password, and nothing a connection sends is trusted before that check. Frames the codec
refuses (CRC, length) leave their capture incomplete; a malformed capture (a second out of
range, a frame before its head) ends the connection after its answer.

Limits [M] (:class:`ListenerLimits`): the idle time between reads, the bytes one connection
may send, the connections open at once. The store is written in the default executor, so the
event loop shared with the gateway and the web never waits on a query.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass, field

from bishui.errors import ConflictError, InputError
from bishui.store import Store
from bishui.vehicles import boxframe, service

log = logging.getLogger("bishui.vehicles.boxes")


@dataclass(frozen=True)
class ListenerLimits:
    idle_timeout: float = 60.0  # [s] between reads before the connection is closed [M]
    max_connection_bytes: int = 64 * 1024 * 1024  # one connection's bytes in all [M]
    max_connections: int = 256  # open at once; beyond, a new one is closed at once [M]


@dataclass
class BoxListener:
    """Accepts captures on connections handed to :meth:`handle` (``asyncio.start_server``)."""

    store: Store
    limits: ListenerLimits = field(default_factory=ListenerLimits)
    counts: dict[str, int] = field(
        default_factory=lambda: {"connections": 0, "stored": 0, "refused": 0, "closed_busy": 0}
    )
    _open: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._open >= self.limits.max_connections:
            self.counts["closed_busy"] += 1
            writer.close()
            return
        self._open += 1
        self.counts["connections"] += 1
        peer = writer.get_extra_info("peername")
        actor = f"blackbox@{peer[0] if isinstance(peer, tuple) else peer}"
        asm = boxframe.Assembler()
        total = 0
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(65536), self.limits.idle_timeout)
                except TimeoutError:
                    break
                if not data:
                    break
                total += len(data)
                if total > self.limits.max_connection_bytes:
                    writer.write(boxframe.ack("", "", False, "too_large"))
                    break
                try:
                    got = asm.feed(data)
                except InputError as e:
                    self.counts["refused"] += 1
                    writer.write(boxframe.ack("", "", False, e.field))
                    break
                for r in got:
                    reason = await loop.run_in_executor(None, self._accept, r, actor)
                    cap = r.capture
                    writer.write(
                        boxframe.ack(cap.box_serial, cap.inspection_id, not reason, reason)
                    )
                await writer.drain()
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._open -= 1
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    def _accept(self, r: boxframe.Received, actor: str) -> str:
        """Store one capture: "" when stored, else the refusal's field."""
        try:
            service.accept_signed(self.store, [r.capture], [r.signature], actor)
        except InputError as e:
            self.counts["refused"] += 1
            log.warning("black-box capture %s refused: %s", r.capture.inspection_id, e)
            return e.field
        except ConflictError:
            self.counts["refused"] += 1
            return "conflict"
        self.counts["stored"] += 1
        return ""


async def serve(
    store: Store,
    sock: socket.socket,
    stop: asyncio.Event,
    limits: ListenerLimits | None = None,
) -> dict[str, int]:
    """Serve the boxes on the listening *sock* until *stop* is set (or the task is cancelled);
    the counts of connections, captures stored and refused."""
    listener = BoxListener(store, limits or ListenerLimits())
    server = await asyncio.start_server(listener.handle, sock=sock)
    try:
        await stop.wait()
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()
    return listener.counts
