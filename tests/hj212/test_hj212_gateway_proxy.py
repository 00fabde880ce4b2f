"""Issue 21: the gateway behind a TCP load balancer that sends the PROXY protocol header
(``proxy_protocol``, ``trusted_proxies``), over real loopback sockets: the client's address in
the header is the peer for the per-address limits and what is stored; health checks (LOCAL);
untrusted senders and bad or missing headers refused; without the setting, a header is noise
to HJ 212 as before."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import struct

import pytest
from hj212_memory_sink import MemorySink

from bishui import core_cli, metrics
from bishui.errors import InputError
from bishui.hj212.auth import hash_password
from bishui.hj212.codec import Packet, decode, encode
from bishui.hj212.gateway import DeviceCredentials, Gateway, GatewayLimits
from bishui.hj212.proxy import SIGNATURE_V2
from bishui.runtime import gateway_collector

PW = "s3cret-Pw"
REG = {"GOOD1": DeviceCredentials("GOOD1", hash_password(PW), "s1")}
BEHIND = GatewayLimits(proxy_protocol=True, trusted_proxies=("127.0.0.1",))


def upload(k: int) -> bytes:
    cp = {"DataTime": f"20260301{k // 60:02d}{k % 60:02d}00", "a34004-Rtd": "1"}
    qn = f"20260301000000{k:03d}"
    return encode(Packet.make(st="22", cn="2011", pw=PW, mn="GOOD1", flag=5, qn=qn, cp=cp))


def v1(src: str, sport: int) -> bytes:
    return f"PROXY TCP4 {src} 10.0.0.11 {sport} 9212\r\n".encode()


def v2(cmd: int, fam: int, body: bytes) -> bytes:
    return SIGNATURE_V2 + bytes([0x20 | cmd, fam]) + struct.pack(">H", len(body)) + body


def v2_tcp6(src: str, sport: int) -> bytes:
    a = ipaddress.IPv6Address
    return v2(1, 0x21, a(src).packed + a("2001:db8::1").packed + struct.pack(">HH", sport, 9212))


async def ack(r: asyncio.StreamReader) -> str:
    return decode(await asyncio.wait_for(r.readuntil(b"\r\n"), 5)).cn


async def closed(r: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(r.read(), 5) == b""
    except ConnectionError:
        return True


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def scraped(gw: Gateway) -> dict[str, str]:
    """The gateway's samples as Prometheus reads them (the runtime's collector, rendered)."""
    reg = metrics.Registry()
    reg.collector("gateway", gateway_collector(gw))
    lines = [x for x in reg.render().splitlines() if x.startswith("bishui_gateway_")]
    return dict(x.rsplit(" ", 1) for x in lines)


async def connect(gw: Gateway, first: bytes, local: str = "127.0.0.1") -> Conn:
    r, w = await asyncio.open_connection("127.0.0.1", gw.port, local_addr=(local, 0))
    w.write(first)
    await w.drain()
    return r, w


async def test_the_per_peer_limit_counts_the_address_in_the_header() -> None:
    sink = MemorySink()
    limits = GatewayLimits(
        max_connections_per_peer=2, proxy_protocol=True, trusted_proxies=("127.0.0.0/8",)
    )
    async with Gateway(REG.get, sink, port=0, limits=limits) as gw:
        conns = []
        # two clients behind the one balancer, two connections each: none refused; the
        # header and the first frame in one write, the frame handed on untouched
        for k, (src, header) in enumerate(
            [
                ("203.0.113.5", v1("203.0.113.5", 40001)),
                ("203.0.113.5", v1("203.0.113.5", 40002)),
                ("2001:db8::7", v2_tcp6("2001:db8::7", 40003)),
                ("2001:db8::7", v2_tcp6("2001:db8::7", 40004)),
            ],
            start=1,
        ):
            r, w = await connect(gw, header + upload(k))
            assert await ack(r) == "9014", src
            conns.append((r, w))
        assert [x.peer for x in sink.accepted] == [
            "203.0.113.5:40001", "203.0.113.5:40002", "2001:db8::7:40003", "2001:db8::7:40004",
        ]  # fmt: skip
        assert gw.metrics()["connections_refused_peer"] == 0
        # a third from the same client is refused, though the balancer's address is the same
        r, w = await connect(gw, v1("203.0.113.5", 40005))
        assert await closed(r)
        assert gw.metrics()["connections_refused_peer"] == 1
        w.close()
        # a third client still gets in, its header arriving a byte at a time
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        for b in v1("198.51.100.9", 40006):
            w.write(bytes([b]))
            await w.drain()
        w.write(upload(9))
        await w.drain()
        assert await ack(r) == "9014"
        assert sink.accepted[-1].peer == "198.51.100.9:40006"
        conns.append((r, w))
        m = gw.metrics()
        assert (m["frames_accepted"], m["connections_open"], m["frames_rejected_total"]) == (
            5,
            5,
            0,
        )
        for _, x in conns:
            x.close()


async def test_an_ipv4_mapped_source_is_the_plain_ipv4_peer() -> None:
    """A balancer with a dual-stack listener may write an IPv4 client as ::ffff:a.b.c.d (v2
    TCP over IPv6, or v1 TCP6): counted against the per-address limit and recorded as a.b.c.d,
    the same client as its plain IPv4 headers."""
    sink = MemorySink()
    limits = GatewayLimits(
        max_connections_per_peer=2, proxy_protocol=True, trusted_proxies=("127.0.0.1",)
    )
    async with Gateway(REG.get, sink, port=0, limits=limits) as gw:
        mapped_v1 = b"PROXY TCP6 ::ffff:203.0.113.5 2001:db8::1 40002 9212\r\n"
        conns = []
        for k, header in enumerate([v2_tcp6("::ffff:203.0.113.5", 40001), mapped_v1], start=1):
            r, w = await connect(gw, header + upload(k))
            assert await ack(r) == "9014"
            conns.append(w)
        assert [x.peer for x in sink.accepted] == ["203.0.113.5:40001", "203.0.113.5:40002"]
        # the plain IPv4 form is the same client: its third connection is refused
        r, w = await connect(gw, v1("203.0.113.5", 40003))
        assert await closed(r)
        assert gw.metrics()["connections_refused_peer"] == 1
        w.close()
        # and so is a third in the mapped form
        r, w = await connect(gw, v2_tcp6("::ffff:203.0.113.5", 40004))
        assert await closed(r)
        assert gw.metrics()["connections_refused_peer"] == 2
        w.close()
        # a mapped address of another client is another peer
        r, w = await connect(gw, v2_tcp6("::ffff:198.51.100.9", 40005) + upload(5))
        assert await ack(r) == "9014"
        assert sink.accepted[-1].peer == "198.51.100.9:40005"
        conns.append(w)
        # an IPv6 address that maps no IPv4 one is kept as it is
        r, w = await connect(gw, v2_tcp6("2001:db8::ffff:cb00:7105", 40006) + upload(6))
        assert await ack(r) == "9014"
        assert sink.accepted[-1].peer == "2001:db8::ffff:cb00:7105:40006"
        conns.append(w)
        for x in conns:
            x.close()


async def test_a_health_check_uses_the_socket_address() -> None:
    sink = MemorySink()
    async with Gateway(REG.get, sink, port=0, limits=BEHIND) as gw:
        # haproxy's send-proxy-v2 check: LOCAL, and the family is ignored
        r, w = await connect(gw, v2(0, 0x00, b""))
        w.close()
        assert await closed(r)
        # LOCAL with an address block (skipped), then a frame on the same connection
        body = bytes(12)
        r, w = await connect(gw, v2(0, 0x11, body) + upload(1))
        assert await ack(r) == "9014"
        assert sink.accepted[0].peer.startswith("127.0.0.1:")
        # version 1 UNKNOWN: the real connection's address too
        r2, w2 = await connect(gw, b"PROXY UNKNOWN\r\n" + upload(2))
        assert await ack(r2) == "9014"
        assert sink.accepted[1].peer.startswith("127.0.0.1:")
        m = gw.metrics()
        assert m["frames_rejected_total"] == 0 and m["connections_closed_proxy_header"] == 0
        w.close()
        w2.close()


async def test_an_untrusted_sender_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    sink = MemorySink()
    caplog.set_level(logging.WARNING, "bishui.hj212")
    async with Gateway(REG.get, sink, port=0, limits=BEHIND) as gw:
        # a client reaching the gateway directly, claiming a trusted logger's address
        r, w = await connect(gw, v1("203.0.113.5", 40001) + upload(1), local="127.0.0.2")
        assert await closed(r)
        m = gw.metrics()
        assert m["connections_refused_untrusted"] == 1
        assert m["frames_rejected"] == {"proxy_untrusted": 1}
        assert (m["frames_accepted"], sink.accepted) == (0, [])
        got = scraped(gw)
        assert got["bishui_gateway_connections_refused_untrusted_total"] == "1"
        assert got["bishui_gateway_connections_proxy_timeout_total"] == "0"
        assert got['bishui_gateway_rejections_total{reason="proxy_untrusted"}'] == "1"
        w.close()
    refusals = [x for x in caplog.records if "connections_refused_untrusted" in x.getMessage()]
    assert [x.peer for x in refusals] == [f"127.0.0.2:{w.get_extra_info('sockname')[1]}"]  # type: ignore[attr-defined]


async def test_a_bad_or_missing_header_closes_the_connection_with_its_reason() -> None:
    sink = MemorySink()
    limits = GatewayLimits(proxy_protocol=True, trusted_proxies=("127.0.0.1",), frame_timeout=0.3)
    async with Gateway(REG.get, sink, port=0, limits=limits) as gw:
        # the balancer not configured to send the header: the frame is not a header
        r, w = await connect(gw, upload(1))
        assert await closed(r)
        w.close()
        # a header that breaks a rule
        r, w = await connect(gw, b"PROXY TCP4 203.0.113.05 10.0.0.1 1 2\r\n" + upload(2))
        assert await closed(r)
        w.close()
        assert [x.reason for x in sink.rejected] == ["proxy_header", "proxy_header"]
        assert "signature" in sink.rejected[0].message
        assert sink.rejected[0].raw == upload(1)  # what arrived is quarantined, not lost
        assert "v1_address" in sink.rejected[1].message
        assert sink.rejected[1].peer.startswith("127.0.0.1:")
        # nothing, or half a header, within frame_timeout
        r1, w1 = await connect(gw, b"")
        r2, w2 = await connect(gw, v1("203.0.113.5", 1)[:20])
        assert await closed(r1) and await closed(r2)
        m = gw.metrics()
        assert m["connections_proxy_timeout"] == 2
        assert m["connections_closed_proxy_header"] == 2
        assert m["frames_rejected"] == {"proxy_header": 4}
        assert (m["frames_accepted"], m["peers_banned"]) == (0, 0)  # a balancer is never banned
        got = scraped(gw)
        assert got["bishui_gateway_connections_proxy_timeout_total"] == "2"
        assert got["bishui_gateway_connections_refused_untrusted_total"] == "0"
        w1.close()
        w2.close()


async def test_without_the_setting_a_header_is_noise_to_hj212() -> None:
    sink = MemorySink()
    async with Gateway(REG.get, sink, port=0) as gw:
        header = v1("203.0.113.5", 40001)
        r, w = await connect(gw, header + upload(1))
        assert await ack(r) == "9014"
        assert sink.accepted[0].peer.startswith("127.0.0.1:")  # not the claimed address
        assert gw.metrics()["noise_bytes"] == len(header)
        w.close()


def test_the_settings_and_their_options() -> None:
    assert GatewayLimits().proxy_protocol is False and GatewayLimits().trusted_proxies == ()
    got = GatewayLimits(trusted_proxies=" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32")  # type: ignore[arg-type]
    assert got.trusted_proxies == ("10.0.0.0/8", "192.0.2.7", "2001:db8::/32")
    with pytest.raises(InputError) as exc:
        GatewayLimits(proxy_protocol=True)
    assert exc.value.field == "trusted_proxies"
    with pytest.raises(InputError) as exc:
        GatewayLimits(trusted_proxies=("10.0.0.5/24",))  # host bits set: a typo, not trusted
    assert (exc.value.field, exc.value.value) == ("trusted_proxies", "10.0.0.5/24")
    with pytest.raises(InputError):
        GatewayLimits(trusted_proxies=("balancer.example",))
    args = ["--db", "x.duckdb", "--gateway-proxy-protocol",
            "--gateway-trusted-proxies", "10.0.0.11,10.0.0.12"]  # fmt: skip
    params = core_cli.serve.make_context("serve", args).params
    limits = core_cli.gateway_limits(params)
    assert limits.proxy_protocol is True
    assert limits.trusted_proxies == ("10.0.0.11", "10.0.0.12")
