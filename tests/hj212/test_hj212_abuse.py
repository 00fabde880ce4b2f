"""Issue 13: the gateway under attack and abuse (rows 2–8, 10–12 of the issue's table).

Over real loopback sockets with an in-memory sink; the store-side rows (1, 9, 10) run on both
backends in tests/ingest/test_ingest_abuse.py and test_ingest_history.py.
"""

from __future__ import annotations

import asyncio

from hj212_memory_sink import MemorySink

from bishui.hj212.auth import hash_password
from bishui.hj212.codec import Packet, decode, encode
from bishui.hj212.gateway import DeviceCredentials, Gateway, GatewayLimits, SecurityAlert

PW = "s3cret-Pw"
REG = {"GOOD1": DeviceCredentials("GOOD1", hash_password(PW), "s1")}


class AlertSink(MemorySink):
    def __init__(self) -> None:
        super().__init__()
        self.alerts: list[SecurityAlert] = []

    async def alert(self, item: SecurityAlert) -> None:
        self.alerts.append(item)


def upload(k: int, pw: str = PW, mn: str = "GOOD1", **kw: object) -> bytes:
    cp = {"DataTime": f"20260301{k // 60:02d}{k % 60:02d}00", "a34004-Rtd": "1"}
    return encode(
        Packet.make(
            st="22", cn="2011", pw=pw, mn=mn, flag=5, qn=f"20260301000000{k:03d}", cp=cp, **kw
        )  # type: ignore[arg-type]
    )


async def ack(r: asyncio.StreamReader) -> str:
    return decode(await asyncio.wait_for(r.readuntil(b"\r\n"), 5)).cn


async def closed(r: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(r.read(), 5) == b""
    except ConnectionError:
        return True


async def test_truncated_frame_then_whole_frame_through_the_gateway() -> None:
    # row 2: the first 40 bytes, a second later the whole frame
    sink = MemorySink()
    async with Gateway(REG.get, sink, port=0) as gw:
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        frame = upload(1)
        w.write(frame[:40])
        await w.drain()
        await asyncio.sleep(0.2)
        w.write(frame)
        await w.drain()
        assert await ack(r) == "9014"
        assert [x.raw for x in sink.accepted] == [frame]
        assert [x.reason for x in sink.rejected] == ["truncated"]
        w.close()


async def test_noise_flood_closes_the_connection_and_others_are_served() -> None:
    # row 3: 10 MiB of '#' — counted as noise, closed past the limit
    sink = MemorySink()
    async with Gateway(REG.get, sink, port=0) as gw:
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        r2, w2 = await asyncio.open_connection("127.0.0.1", gw.port)
        w2.write(upload(1))
        await w2.drain()
        assert await ack(r2) == "9014"
        try:
            for _ in range(40):
                w.write(b"#" * 262144)
                await w.drain()
        except ConnectionError:
            pass
        assert await closed(r)
        assert gw.metrics()["connections_closed_noise"] == 1
        w2.write(upload(2))
        await w2.drain()
        assert await ack(r2) == "9014"
        for x in (w, w2):
            x.close()


async def test_separator_in_fields_costs_no_good_frame() -> None:
    # row 5: '=' inside PW of a 1013 notice, then a good frame in the same read
    from bishui.hj212.crc import crc_hex

    seg = b"ST=32;CN=1013;PW=a=b;MN=X;Flag=5;CP=&&&&"
    bad = b"##%04d%s%s\r\n" % (len(seg), seg, crc_hex(seg).encode())
    sink = MemorySink()
    async with Gateway(REG.get, sink, port=0) as gw:
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        w.write(bad + upload(1))
        await w.drain()
        assert await ack(r) == "9014"
        assert [x.reason for x in sink.rejected] == ["bad_field"]
        w.close()


async def test_lower_case_crc_accepted_by_default() -> None:
    # row 6
    sink = MemorySink()
    async with Gateway(REG.get, sink, port=0) as gw:
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        for k in range(20):
            f = upload(k)
            w.write(f[:-6] + f[-6:-2].lower() + b"\r\n")
        await w.drain()
        assert [await ack(r) for _ in range(20)] == ["9014"] * 20
        assert sink.rejected == []
        w.close()


async def test_password_guessing_is_throttled_banned_and_alerted() -> None:
    # row 8: guesses over reconnecting connections
    sink = AlertSink()
    limits = GatewayLimits(max_bad_passwords_per_mn=5, max_bad_passwords_per_peer=8)
    async with Gateway(REG.get, sink, port=0, limits=limits) as gw:
        refused = 0
        for attempt in range(12):
            try:
                _r, w = await asyncio.open_connection("127.0.0.1", gw.port)
                w.write(upload(attempt, pw=f"{attempt:06d}"))
                await w.drain()
                await asyncio.sleep(0.02)
                w.close()
            except ConnectionError:
                refused += 1
        m = gw.metrics()
        # at most 5 guesses were checked for the MN; the rest were refused unchecked
        assert m["frames_rejected"].get("bad_password", 0) == 5
        assert m["passwords_throttled"] == 7
        assert m["password_checks"] == 5
        assert [a.title for a in sink.alerts] == ["疑似口令猜测"]
        assert sink.alerts[0].mn == "GOOD1" and sink.alerts[0].count == 5


async def test_the_right_password_is_checked_once_per_connection() -> None:
    sink = MemorySink()
    async with Gateway(REG.get, sink, port=0) as gw:
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        for k in range(30):
            w.write(upload(k))
        await w.drain()
        assert [await ack(r) for _ in range(30)] == ["9014"] * 30
        r2, w2 = await asyncio.open_connection("127.0.0.1", gw.port)  # a reconnect
        w2.write(upload(31))
        await w2.drain()
        assert await ack(r2) == "9014"
        assert gw.metrics()["password_checks"] == 1
        w.close()
        w2.close()


async def test_peer_ban_after_many_wrong_passwords() -> None:
    reg = {f"M{i}": DeviceCredentials(f"M{i}", PW, "s") for i in range(20)}
    limits = GatewayLimits(max_bad_passwords_per_peer=4)
    async with Gateway(reg.get, AlertSink(), port=0, limits=limits) as gw:
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        for i in range(6):
            w.write(upload(i, pw="wrong", mn=f"M{i}"))
        await w.drain()
        assert await closed(r)
        r2, w2 = await asyncio.open_connection("127.0.0.1", gw.port)
        assert await closed(r2)  # banned
        m = gw.metrics()
        assert m["peers_banned"] == 1 and m["connections_refused_banned"] >= 1
        w.close()
        w2.close()


async def test_rejections_stored_per_peer_are_a_bounded_sample() -> None:
    # row 10: an unknown MN, reconnecting, many frames
    sink = MemorySink()
    limits = GatewayLimits(max_stored_rejections_per_peer=20)
    async with Gateway({}.get, sink, port=0, limits=limits) as gw:
        for _c in range(10):
            _r, w = await asyncio.open_connection("127.0.0.1", gw.port)
            w.write(b"".join(upload(k, mn="UNKNOWN") for k in range(50)))
            await w.drain()
            w.close()
        for _ in range(100):
            if sum(gw.metrics()["frames_rejected"].values()) >= 500:
                break
            await asyncio.sleep(0.02)
        m = gw.metrics()
        assert m["frames_rejected"]["unknown_mn"] == 500  # every one counted
        assert len(sink.rejected) == 20  # a bounded sample stored
        assert m["rejections_not_stored"] == 480
    # the summary of what was not stored is kept when the minute is flushed (here: at stop)


async def test_per_peer_connection_limit_and_login_timeout() -> None:
    # row 11: idle sockets from one peer; a client sending a byte a second
    limits = GatewayLimits(max_connections_per_peer=5, login_timeout=0.3, frame_timeout=0.3)
    async with Gateway(REG.get, MemorySink(), port=0, limits=limits) as gw:
        socks = [await asyncio.open_connection("127.0.0.1", gw.port) for _ in range(6)]
        assert await closed(socks[5][0])  # the sixth from the same peer is refused
        assert gw.metrics()["connections_refused_peer"] == 1
        # the idle ones are closed by the login timer, then a logger gets in
        assert all([await closed(r) for r, _ in socks[:5]])
        assert gw.metrics()["connections_login_timeout"] == 5
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        w.write(upload(1))
        await w.drain()
        assert await ack(r) == "9014"
        # a slow client: a frame begun and never finished — on the logged-in connection, so
        # only the frame timer can close it (a fresh connection's partial frame races the
        # login timer of the same length when the bytes arrive late on a loaded machine)
        w.write(upload(2)[:20])
        await w.drain()
        assert await closed(r)
        assert gw.metrics()["connections_slow_closed"] == 1
        assert gw.metrics()["connections_login_timeout"] == 5
        for _, x in [*socks, (r, w)]:
            x.close()


async def test_segments_are_reassembled_only_after_the_mn_is_checked() -> None:
    # row 12: a multi-packet upload from an unregistered MN holds nothing
    sink = MemorySink()
    async with Gateway(REG.get, sink, port=0) as gw:
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        for pno in range(1, 4):
            w.write(upload(7, mn="NOBODY", pnum=3, pno=pno))
            w.write(upload(7, pnum=3, pno=pno))  # the same QN and DataTime in every part
        await w.drain()
        assert [await ack(r) for _ in range(3)] == ["9014"] * 3
        conn = next(iter(gw._conns.values()))
        assert (
            all(key[0] == "GOOD1" for key in conn.session._segments) or not conn.session._segments
        )
        assert sink.accepted[-1].reassembled is not None
        assert [x.reason for x in sink.rejected] == ["unknown_mn"] * 3
        w.close()


async def test_crc_policy_list_and_large_frames() -> None:
    # smaller items: a modbus_swapped device listing hj212 too; frames over 4,096 bytes when
    # the limit is raised (lua-HJ212 splits at 9,800)
    from bishui.hj212.codec import encode as enc
    from bishui.registry import Device

    Device("L1", "s", "pw", "32", crc_policy="modbus_swapped,hj212").validate()
    reg = {"L1": DeviceCredentials("L1", PW, "s", crc_policy="modbus_swapped,hj212")}
    sink = MemorySink()
    limits = GatewayLimits(max_data_length=9999)
    async with Gateway(reg.get, sink, port=0, limits=limits) as gw:
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        cp = {"DataTime": "20260301000000", **{f"a{i:05d}-Rtd": "1.0" for i in range(400)}}
        big = Packet.make(st="22", cn="2011", pw=PW, mn="L1", flag=5, qn="20260301000000001", cp=cp)
        small = Packet.make(st="22", cn="2011", pw=PW, mn="L1", flag=5, qn="20260301000000002",
                            cp={"DataTime": "20260301000000"})  # fmt: skip
        frames = [enc(big), enc(small, crc_variant="modbus_swapped"), enc(small)]
        assert len(frames[0]) > 4096 + 12
        w.write(b"".join(frames))
        await w.drain()
        assert [await ack(r) for _ in range(3)] == ["9014"] * 3
        assert [x.packet.crc_variant for x in sink.accepted] == ["hj212", "modbus_swapped", "hj212"]
        w.close()
