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

Behind a TCP load balancer (``proxy_protocol``): each connection must begin with a PROXY
protocol header (:mod:`bishui.hj212.proxy`) from one of ``trusted_proxies``; the client's
address in it is the connection's peer for the per-address limits, the logs and what is
stored. Once the header is read the connection runs exactly as a direct one.

Logs go to the ``bishui.hj212`` logger (no handlers added) with ``extra`` fields ``peer``,
``mn``, ``reason``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bishui.hj212.auth import PasswordCache
from bishui.hj212.codec import MAX_DATA_LENGTH, Packet
from bishui.hj212.errors import ProxyHeaderError
from bishui.hj212.proxy import ProxyHeaderReader
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
    "SecurityAlert",
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
    A sink may also have ``async def alert(item: SecurityAlert)``; the gateway calls it when
    it has one (else the alert is only logged and counted).
    """

    async def accept(self, item: Received) -> None: ...

    async def reject(self, item: Rejection) -> None: ...


Lookup = Callable[[str], DeviceCredentials | None]


def _plain_address(host: str) -> str:
    """*host* with an IPv4-mapped IPv6 address (``::ffff:a.b.c.d``, RFC 4291 §2.5.5.2: how a
    dual-stack socket shows an IPv4 peer) written as the IPv4 address it maps; any other
    string unchanged."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return host


def _limit(default: Any, unit: str, help: str) -> Any:
    return field(default=default, metadata={"unit": unit, "help": help})


@dataclass(frozen=True)
class GatewayLimits:
    """Resource and abuse limits, declared once: ``bishui serve`` makes one option of each
    field (``--gateway-max-data-length`` …) and docs/hj212.md's limits table lists every
    field (a test checks both).

    Per gateway process unless named per connection or per peer (a peer is the remote
    address without its port: many loggers behind one carrier NAT share it).
    """

    max_connections: int = _limit(5000, "", "open connections, all peers")
    max_connections_per_peer: int = _limit(256, "", "open connections from one address")
    idle_timeout: float = _limit(600.0, "s", "without an authenticated frame → closed")
    login_timeout: float = _limit(120.0, "s", "from connect to the first authenticated frame")
    frame_timeout: float = _limit(30.0, "s", "a frame begun must be complete within this")
    max_data_length: int = _limit(
        MAX_DATA_LENGTH, "bytes", "largest data segment; larger → too_long (≤ 9999)"
    )
    read_size: int = _limit(65536, "bytes", "per socket read")
    max_bytes_per_second: float | None = _limit(
        None, "bytes/s", "per connection; excess is delayed, not lost"
    )
    max_noise_bytes: int = _limit(
        65536, "bytes", "noise and refused bytes since the last good frame → closed"
    )
    ack_flagless_uploads: bool = _limit(False, "", "answer 9014 to uploads without Flag (2005)")
    max_rejections_per_minute: int = _limit(
        600, "", "per connection; beyond: counted, not stored, closed"
    )
    max_stored_rejections_per_peer: int = _limit(
        60, "", "per minute per address; beyond: counted, one summary stored"
    )
    max_bad_passwords_per_mn: int = _limit(
        5, "", "wrong PWs per guess window; beyond: refused unchecked (throttled)"
    )
    max_bad_passwords_per_peer: int = _limit(
        10, "", "wrong PWs per guess window from one address; beyond: banned, 疑似口令猜测 alert"
    )
    max_abusive_closes_per_peer: int = _limit(
        3,
        "",
        "connections of one address closed for noise or bad frames per guess window; "
        "reaching it bans the address",
    )
    guess_window: float = _limit(600.0, "s", "window of the password and abuse counters")
    ban_time: float = _limit(600.0, "s", "a banned address's connections are refused")
    request_timeout: float = _limit(10.0, "s", "answer timeout of platform requests (Table 1)")
    request_retries: int = _limit(3, "", "resends of platform requests")
    # issue 21: behind a TCP load balancer (bishui.hj212.proxy; docs/deploy.md)
    proxy_protocol: bool = _limit(
        False,
        "",
        "every connection begins with a PROXY protocol header (v1 or v2) from a trusted proxy, "
        "within frame_timeout; the client's address in it is the peer",
    )
    trusted_proxies: tuple[str, ...] = _limit(
        (),
        "",
        "addresses or CIDR networks, comma-separated, allowed to send the PROXY header; "
        "with proxy_protocol on, connections from elsewhere are refused",
    )

    def __post_init__(self) -> None:
        from bishui.errors import InputError

        if not 1 <= self.max_data_length <= 9999:  # the length field has four digits
            raise InputError("max_data_length", "1..9999", self.max_data_length)
        # the option and the variable give a comma-separated string
        given: Any = self.trusted_proxies
        items = given.split(",") if isinstance(given, str) else list(given)
        proxies = tuple(str(x).strip() for x in items if str(x).strip())
        for item in proxies:
            try:
                ipaddress.ip_network(item)  # strict: 10.0.0.5/24 is a typo, not a network
            except ValueError:
                raise InputError(
                    "trusted_proxies", "an IP address or a CIDR network (no host bits set)", item
                ) from None
        object.__setattr__(self, "trusted_proxies", proxies)
        if self.proxy_protocol and not proxies:
            raise InputError(
                "trusted_proxies", "at least one address when proxy_protocol is on", given
            )


@dataclass
class _Conn:
    peer: str
    host: str
    session: Session
    writer: asyncio.StreamWriter
    mns: set[str] = field(default_factory=set)
    opened: float = 0.0
    last_frame: float = 0.0  # last authenticated frame (or the connect)
    partial_since: float | None = None  # when the buffered partial frame began
    idle: bool = False  # closing: no more frames are handled
    reject_window: float = 0.0  # start of the current minute of rejections
    rejects: int = 0
    verified: dict[str, str] = field(default_factory=dict)  # MN → PW checked on this connection
    proxy: ProxyHeaderReader | None = None  # reading the PROXY header (proxy_protocol on)


@dataclass
class _Peer:
    """What the gateway remembers about one remote address (bounded: dropped when quiet)."""

    conns: int = 0
    window: float = 0.0  # start of the current minute of stored rejections
    stored: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)
    bad_passwords: deque[float] = field(default_factory=deque)
    abusive: deque[float] = field(default_factory=deque)  # connections closed for abuse
    banned_until: float = 0.0
    alerted: float = -1e18


@dataclass(frozen=True)
class SecurityAlert:
    """A platform alert raised by the gateway (``kind="password_guessing"``: 疑似口令猜测)."""

    kind: str
    title: str
    message: str
    raised_at: dt.datetime
    peer: str | None = None
    mn: str | None = None
    count: int = 0


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
        self._peers: dict[str, _Peer] = {}
        self._bad_by_mn: dict[str, deque[float]] = {}
        self._passwords = PasswordCache()
        self._trusted = tuple(ipaddress.ip_network(n) for n in self.limits.trusted_proxies)
        self.alerts: deque[SecurityAlert] = deque(maxlen=100)  # the latest, for tests/metrics

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
        """One timer for all connections (instead of a timeout around every read): close
        those idle, slow (a frame begun and not finished) or not logged in in time; flush
        the per-peer rejection summaries; forget quiet peers."""
        lim = self.limits
        tick = min(max(min(lim.idle_timeout, lim.frame_timeout, lim.login_timeout) / 4, 0.05), 5.0)
        while True:
            await asyncio.sleep(tick)
            now = self.clock()
            for conn in list(self._conns.values()):
                if conn.idle:
                    continue
                why = None
                partial = conn.partial_since
                if conn.proxy is not None:  # no complete PROXY header yet
                    if now - conn.opened > lim.frame_timeout:
                        self._rejected["proxy_header"] += 1
                        log.warning(
                            "no complete PROXY protocol header within %g s",
                            lim.frame_timeout,
                            extra={"peer": conn.peer, "reason": "proxy_header"},
                        )
                        why = "connections_proxy_timeout"
                elif partial is not None and now - partial > lim.frame_timeout:
                    why = "connections_slow_closed"
                elif now - conn.last_frame > lim.idle_timeout:
                    why = "connections_idle_closed"
                elif not conn.mns and now - conn.opened > lim.login_timeout:
                    why = "connections_login_timeout"
                if why:
                    self._close(conn, why)
            await self._flush_peers(now)

    def _close(self, conn: _Conn, counter: str) -> None:
        conn.idle = True
        self._counts[counter] += 1
        log.info("connection closed: %s", counter, extra={"peer": conn.peer})
        conn.writer.close()

    def _abusive_close(self, conn: _Conn) -> None:
        """A connection closed for noise or bad frames: an address that keeps reconnecting
        to do it again is banned like a password guesser."""
        peer = self._peers.get(conn.host)
        if peer is None:
            return
        now = self.clock()
        lim = self.limits
        peer.abusive.append(now)
        while peer.abusive and now - peer.abusive[0] > lim.guess_window:
            peer.abusive.popleft()
        if len(peer.abusive) >= lim.max_abusive_closes_per_peer and peer.banned_until <= now:
            peer.banned_until = now + lim.ban_time
            self._counts["peers_banned"] += 1
            log.warning("peer banned for repeated abuse", extra={"peer": conn.peer})

    async def _flush_peers(self, now: float) -> None:
        for host, peer in list(self._peers.items()):
            if peer.suppressed and now - peer.window > 60.0:
                await self._store_summary(host, peer)
            for times in (peer.bad_passwords, peer.abusive):
                while times and now - times[0] > self.limits.guess_window:
                    times.popleft()
            if (
                not peer.conns
                and not peer.suppressed
                and not peer.bad_passwords
                and not peer.abusive
                and peer.banned_until < now
            ):
                del self._peers[host]
        for mn, times in list(self._bad_by_mn.items()):
            while times and now - times[0] > self.limits.guess_window:
                times.popleft()
            if not times:
                del self._bad_by_mn[mn]

    async def _store_summary(self, host: str, peer: _Peer) -> None:
        """One quarantine entry saying how many rejections of *host* were counted, not stored."""
        counts, peer.suppressed = peer.suppressed, Counter()
        total = sum(counts.values())
        detail = ", ".join(f"{r} {n}" for r, n in counts.most_common())
        msg = (
            f"{total} more rejected frames from {host} in one minute were counted, "
            f"not stored ({detail})"
        )
        item = Rejection(b"", host, now_beijing(), "suppressed", msg)
        try:
            await self.sink.reject(item)
        except Exception:
            self._counts["sink_errors"] += 1
            log.exception("quarantine failed", extra={"peer": host})

    def metrics(self) -> dict[str, Any]:
        """Counters since start: connections, frames accepted, rejected by reason, noise …"""
        c = self._counts
        return {
            "connections_open": len(self._conns),
            "connections_total": c["connections_total"],
            "connections_refused": c["connections_refused"],
            "connections_idle_closed": c["connections_idle_closed"],
            "connections_login_timeout": c["connections_login_timeout"],
            "connections_slow_closed": c["connections_slow_closed"],
            "connections_closed_abusive": c["connections_closed_abusive"],
            "connections_closed_noise": c["connections_closed_noise"],
            "connections_refused_peer": c["connections_refused_peer"],
            "connections_refused_banned": c["connections_refused_banned"],
            "connections_refused_untrusted": c["connections_refused_untrusted"],
            "connections_closed_proxy_header": c["connections_closed_proxy_header"],
            "connections_proxy_timeout": c["connections_proxy_timeout"],
            "rejections_not_stored": c["rejections_not_stored"],
            "events_after_close": c["events_after_close"],
            "password_checks": self._passwords.hashes,
            "passwords_throttled": c["passwords_throttled"],
            "peers_banned": c["peers_banned"],
            "security_alerts": c["security_alerts"],
            "peers_tracked": len(self._peers),
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

    def _is_trusted(self, host: str) -> bool:
        """Whether *host* (the socket's peer) may send a PROXY header (PROXY §5: "accepting
        the header only from a number of known sources should be safe")."""
        try:
            ip = ipaddress.ip_address(_plain_address(host))
        except ValueError:
            return False
        return any(ip in net for net in self._trusted)

    def _refusal(self, host: str, now: float) -> str | None:
        """Why a connection from *host* is refused (banned, or the per-address limit), if it is."""
        p = self._peers.get(host)
        if p is not None and p.banned_until > now:
            return "connections_refused_banned"
        if p is not None and p.conns >= self.limits.max_connections_per_peer:
            return "connections_refused_peer"
        return None

    def _refuse(self, counter: str, peer: str) -> None:
        self._counts[counter] += 1
        log.warning("connection refused: %s", counter, extra={"peer": peer, "reason": counter})

    async def _read_proxy_header(self, conn: _Conn, reader: asyncio.StreamReader) -> bytes | None:
        """Read the connection's PROXY header; make its client the connection's peer. Returns
        the bytes received after the header (the first HJ 212 bytes, untouched), or ``None``
        when the connection is closed: no valid header (counted ``proxy_header``, the bytes
        quarantined), or closed by the sweeper's timer or by :meth:`stop`."""
        proxy = conn.proxy
        assert proxy is not None
        while True:
            data = await reader.read(self.limits.read_size)
            if conn.idle:
                return None
            if not data:
                if proxy.buffered:
                    await self._bad_proxy_header(
                        conn, proxy.buffered, "the connection ended inside the PROXY header"
                    )
                return None
            self._counts["bytes_received"] += len(data)
            try:
                header = proxy.receive_data(data)
            except ProxyHeaderError as exc:
                await self._bad_proxy_header(conn, proxy.buffered, f"{exc.rule}: {exc}")
                return None
            if header is not None:
                break
        conn.proxy = None
        if header.source is not None:
            via = conn.peer
            # one client, one address: ::ffff:a.b.c.d (a balancer's dual-stack listener) and
            # a.b.c.d are counted, limited and recorded as the same peer, a.b.c.d
            conn.host = _plain_address(header.source[0])
            conn.peer = f"{conn.host}:{header.source[1]}"
            log.debug("connection through %s", via, extra={"peer": conn.peer})
        else:  # LOCAL (a health check) or UNKNOWN: the socket's own address
            log.debug("PROXY %s %s", header.command, header.family, extra={"peer": conn.peer})
        return proxy.rest

    async def _bad_proxy_header(self, conn: _Conn, raw: bytes, why: str) -> None:
        # the sender is a trusted proxy: quarantined (bounded per address like any rejection),
        # never banned — a ban would cut off every logger behind it
        self._peers.setdefault(conn.host, _Peer())
        msg = f"invalid PROXY protocol header from {conn.peer} ({why})"
        await self._reject(conn, raw, "proxy_header", msg, None)
        if not conn.idle:
            self._close(conn, "connections_closed_proxy_header")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if isinstance(peername, tuple) else str(peername)
        host = str(peername[0]) if isinstance(peername, tuple) else peer
        self._counts["connections_total"] += 1
        lim = self.limits
        now = self.clock()
        refused = None
        if len(self._conns) >= lim.max_connections:
            refused = "connections_refused"
        elif lim.proxy_protocol:
            # the per-address checks wait for the client's address in the header
            if not self._is_trusted(host):
                refused = "connections_refused_untrusted"
                self._rejected["proxy_untrusted"] += 1
        else:
            refused = self._refusal(host, now)
        if refused:
            self._refuse(refused, peer)
            writer.close()
            return
        session = Session(
            "platform",
            crc_policy=self._policy_for,
            edition=self._edition_for,
            max_data_length=lim.max_data_length,
            ack_flagless_uploads=lim.ack_flagless_uploads,
            timeout=lim.request_timeout,
            retries=lim.request_retries,
            reassemble=False,  # segments are put together only after the MN is checked
            max_noise_bytes=lim.max_noise_bytes,
            max_rejections=lim.max_rejections_per_minute,
        )
        conn = _Conn(peer, host, session, writer, opened=now, last_frame=now)
        self._conns[task] = conn
        p: _Peer | None = None
        pending = b""
        try:
            if lim.proxy_protocol:
                conn.proxy = ProxyHeaderReader()
                rest = await self._read_proxy_header(conn, reader)
                if rest is None:
                    return
                pending = rest
                refused = self._refusal(conn.host, self.clock())
                if refused:
                    self._refuse(refused, conn.peer)
                    return
            p = self._peers.get(conn.host)
            if p is None:
                p = self._peers[conn.host] = _Peer()
            p.conns += 1
            log.debug("connection opened", extra={"peer": conn.peer})
            await self._serve(conn, reader, pending)
        except (ConnectionError, OSError) as exc:
            log.info("connection lost: %s", exc, extra={"peer": conn.peer})
        except Exception:  # a bug must cost one connection, never the gateway
            log.exception("connection handler failed", extra={"peer": conn.peer})
        finally:
            del self._conns[task]
            if p is not None:
                p.conns -= 1
            for mn in conn.mns:
                if self._by_mn.get(mn) is conn:
                    del self._by_mn[mn]
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            log.debug("connection closed", extra={"peer": conn.peer})

    async def _serve(self, conn: _Conn, reader: asyncio.StreamReader, pending: bytes) -> None:
        """Read and handle one admitted connection until it ends; *pending*: bytes already
        received after a PROXY header, handled first."""
        lim = self.limits
        session, writer = conn.session, conn.writer
        rate = lim.max_bytes_per_second
        allowance = rate or 0.0
        last = self.clock()
        while True:
            if pending:
                data, pending = pending, b""
            else:
                data = await reader.read(lim.read_size)
                if conn.idle:  # closed by a timer or a limit
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
            if session.buffered:
                if conn.partial_since is None:
                    conn.partial_since = self.clock()
            else:
                conn.partial_since = None
            if session.abusive and not conn.idle:
                self._close(conn, "connections_closed_noise")
                self._abusive_close(conn)
                break
            out = session.data_to_send()
            if out:
                writer.write(out)
            await writer.drain()

    async def _dispatch(self, conn: _Conn, events: list[Event]) -> None:
        for ev in events:
            if conn.idle:  # closed by a limit: the rest of what it sent is only counted
                self._counts["events_after_close"] += 1
                continue
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
            self._counts["rejections_not_stored"] += 1
            if not conn.idle:
                self._close(conn, "connections_closed_abusive")
                self._abusive_close(conn)
            return
        peer = self._peers.get(conn.host)
        if peer is not None:
            if now - peer.window > 60.0:
                if peer.suppressed:
                    await self._store_summary(conn.host, peer)
                peer.window, peer.stored = now, 0
            if peer.stored >= self.limits.max_stored_rejections_per_peer:
                # counters plus a bounded sample: a flood cannot grow the store
                peer.suppressed[reason] += 1
                self._counts["rejections_not_stored"] += 1
                return
            peer.stored += 1
        log.warning("rejected: %s", message, extra={"peer": conn.peer, "mn": mn, "reason": reason})
        item = Rejection(raw, conn.peer, now_beijing(), reason, message, mn)
        try:
            await self.sink.reject(item)
        except Exception:
            self._counts["sink_errors"] += 1
            log.exception("quarantine failed", extra={"peer": conn.peer, "mn": mn})

    async def _authenticate(
        self, conn: _Conn, p: Packet, creds: DeviceCredentials, raw: bytes
    ) -> bool:
        """Check PW: free for the PW already verified on this connection, a keyed digest for
        one verified before, one salted hash otherwise — and that last path is throttled per
        MN and per peer, with a platform alert when guessing is suspected."""
        if conn.verified.get(p.mn) == p.pw:
            return True
        lim = self.limits
        now = self.clock()
        if self._passwords.known(p.mn, p.pw, creds.pw):
            conn.verified[p.mn] = p.pw
            return True
        by_mn = self._bad_by_mn.setdefault(p.mn, deque())
        while by_mn and now - by_mn[0] > lim.guess_window:
            by_mn.popleft()
        if len(by_mn) >= lim.max_bad_passwords_per_mn:
            self._counts["passwords_throttled"] += 1
            msg = (
                f"PW for MN {p.mn!r} not checked: {len(by_mn)} wrong passwords in the last "
                f"{lim.guess_window:g} s"
            )
            await self._reject(conn, raw, "throttled", msg, p.mn)
            return False
        # the one slow path (a salted hash): off the event loop, other loggers keep flowing
        if await asyncio.to_thread(self._passwords.check, p.mn, p.pw, creds.pw):
            conn.verified[p.mn] = p.pw
            return True
        by_mn.append(now)
        peer = self._peers.get(conn.host)
        await self._reject(conn, raw, "bad_password", f"wrong PW for MN {p.mn!r}", p.mn)
        if peer is None:
            return False
        peer.bad_passwords.append(now)
        while peer.bad_passwords and now - peer.bad_passwords[0] > lim.guess_window:
            peer.bad_passwords.popleft()
        guesses = max(len(peer.bad_passwords), len(by_mn))
        if (
            len(by_mn) >= lim.max_bad_passwords_per_mn
            or len(peer.bad_passwords) >= lim.max_bad_passwords_per_peer
        ) and now - peer.alerted > lim.guess_window:
            peer.alerted = now
            await self._alert(conn, p.mn, guesses)
        if len(peer.bad_passwords) >= lim.max_bad_passwords_per_peer and peer.banned_until <= now:
            peer.banned_until = now + lim.ban_time
            self._counts["peers_banned"] += 1
            log.warning("peer banned for password guessing", extra={"peer": conn.peer})
            for other in list(self._conns.values()):
                if other.host == conn.host and not other.idle:
                    self._close(other, "connections_closed_abusive")
        return False

    async def _alert(self, conn: _Conn, mn: str, count: int) -> None:
        lim = self.limits
        item = SecurityAlert(
            "password_guessing",
            "疑似口令猜测",
            f"{count} wrong device passwords within {lim.guess_window:g} s from {conn.host} "
            f"(latest for MN {mn!r})",
            now_beijing(),
            conn.host,
            mn,
            count,
        )
        self.alerts.append(item)
        self._counts["security_alerts"] += 1
        log.warning("%s: %s", item.title, item.message, extra={"peer": conn.peer, "mn": mn})
        alert = getattr(self.sink, "alert", None)
        if alert is not None:
            try:
                await alert(item)
            except Exception:
                self._counts["sink_errors"] += 1
                log.exception("storing an alert failed", extra={"peer": conn.peer, "mn": mn})

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
        if not await self._authenticate(conn, p, creds, ev.raw):
            return
        conn.last_frame = self.clock()
        if p.mn not in conn.mns:
            conn.mns.add(p.mn)
        self._by_mn[p.mn] = conn
        if p.cn == HEARTBEAT:
            self._counts["heartbeats"] += 1
            return
        # reassembly only now that the MN and PW are checked (issue 13 row 12)
        reassembled = conn.session.add_segment(p) if p.is_segment else None
        item = Received(ev.raw, conn.peer, now_beijing(), creds, p, reassembled)
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
