"""Gateway over real loopback sockets: many simulated loggers, some misbehaving."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections import Counter

from hj212_memory_sink import MemorySink

from bishui.hj212.codec import Packet, decode, encode
from bishui.hj212.gateway import DeviceCredentials, Gateway, GatewayLimits
from bishui.hj212.simulator import LoggerConfig, SimClock, SimulatedLogger

START = dt.datetime(2026, 3, 1, 8, 0)


def registry(configs: list[LoggerConfig]) -> dict[str, DeviceCredentials]:
    return {c.mn: DeviceCredentials(c.mn, "123456", f"site-{c.mn}") for c in configs}


async def test_many_loggers_all_good_data_exactly_once() -> None:
    good = LoggerConfig.fleet(24, mn_prefix="GOOD", backfill=6, schedules=())
    split = LoggerConfig.fleet(
        2,
        mn_prefix="SPLT",
        backfill=6,
        schedules=(),
        misbehave=["split", "merge", "garbage", "late", "bad_crc"],
    )
    drip = LoggerConfig.fleet(
        1, mn_prefix="DRIP", backfill=3, schedules=(), misbehave=["slow_drip"]
    )
    wrong = LoggerConfig.fleet(
        1, mn_prefix="WRPW", backfill=3, schedules=(), misbehave=["wrong_password"]
    )
    honest = good + split + drip
    reg = registry(honest + wrong)
    sink = MemorySink()
    # every logger here shares one peer address: store every rejection (issue 13 samples them)
    limits = GatewayLimits(idle_timeout=30, max_stored_rejections_per_peer=100_000)
    gw = Gateway(reg.get, sink, port=0, limits=limits)
    await gw.start()
    clock = SimClock(START, speed=1.0)
    loggers = [
        SimulatedLogger(c, "127.0.0.1", gw.port, clock=clock, seed=1, ack_timeout=0.3)
        for c in honest + wrong
    ]
    stop = asyncio.Event()

    async def garbage() -> None:
        rng = random.Random(7)
        _r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        for _ in range(50):
            w.write(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))
            w.write(b"##9999" + b"x" * 50 + b"##0012abc\r\n")
            await w.drain()
            await asyncio.sleep(0.001)
        w.close()
        await w.wait_closed()

    tasks = [asyncio.ensure_future(lg.run(stop, until_drained=True)) for lg in loggers[:-1]]
    wrong_task = asyncio.ensure_future(loggers[-1].run(stop))
    await asyncio.wait_for(asyncio.gather(garbage(), *tasks), 60)
    stop.set()
    await wrong_task
    await gw.stop()

    keys = Counter((r.packet.mn, r.packet.get("DataTime")) for r in sink.accepted)
    # Every record arrives; a record arrives twice only when its logger resent it because
    # the 9014 came later than its ack timeout (at-least-once delivery — the store's key
    # makes the second copy a no-op, tests/ingest). On a loaded machine that happens.
    resent = sum(lg.stats.resent for lg in loggers)
    assert sum(keys.values()) - len(keys) <= resent, "a duplicate that no resend explains"
    expected = {(c.mn, None) for c in honest}
    got_mns = {mn for mn, _ in keys}
    assert got_mns == {mn for mn, _ in expected}
    assert len(keys) == sum(c.backfill for c in honest)
    assert all(r.credentials.mn == r.packet.mn for r in sink.accepted)
    m = gw.metrics()
    assert m["frames_accepted"] == len(sink.accepted)
    assert m["frames_rejected"].get("bad_password", 0) >= 1
    assert m["noise_bytes"] > 0
    reasons = Counter(r.reason for r in sink.rejected)
    assert reasons["bad_password"] == m["frames_rejected"]["bad_password"]
    assert all(r.peer.startswith("127.0.0.1:") for r in sink.rejected)
    assert m["connections_open"] == 0


async def test_no_ack_when_sink_fails_and_connection_survives() -> None:
    reg = {"M1": DeviceCredentials("M1", "123456", "s1")}
    sink = MemorySink()
    sink.fail_next = 1
    async with Gateway(reg.get, sink, port=0) as gw:
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        p = Packet.make(
            qn="20260301080000001",
            st="32",
            cn="2051",
            pw="123456",
            mn="M1",
            flag=5,
            cp={"DataTime": "20260301070000", "w01018-Avg": "40.1"},
        )
        w.write(encode(p))
        await w.drain()
        await asyncio.sleep(0.1)
        assert sink.accepted == [] and gw.metrics()["sink_errors"] == 1
        w.write(encode(p))  # the logger resends
        ack = decode(await asyncio.wait_for(r.readuntil(b"\r\n"), 5))
        assert (ack.cn, ack.qn, ack.st) == ("9014", p.qn, "91")
        assert len(sink.accepted) == 1
        w.close()
        await w.wait_closed()


async def test_unknown_mn_quarantined_and_idle_timeout() -> None:
    sink = MemorySink()
    async with Gateway({}.get, sink, port=0, limits=GatewayLimits(idle_timeout=0.2)) as gw:
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        w.write(encode(Packet.make(st="32", cn="2011", pw="1", mn="NOPE", flag=5, qn="1")))
        await w.drain()
        assert await asyncio.wait_for(r.read(), 5) == b""  # closed after idling, no ack
        assert [x.reason for x in sink.rejected] == ["unknown_mn"]
        assert sink.rejected[0].mn == "NOPE"
        assert gw.metrics()["connections_idle_closed"] == 1
        w.close()
        await w.wait_closed()


async def test_max_connections() -> None:
    async with Gateway({}.get, MemorySink(), port=0, limits=GatewayLimits(max_connections=1)) as gw:
        _r1, w1 = await asyncio.open_connection("127.0.0.1", gw.port)
        await asyncio.sleep(0.05)
        r2, w2 = await asyncio.open_connection("127.0.0.1", gw.port)
        assert await asyncio.wait_for(r2.read(), 5) == b""
        assert gw.metrics()["connections_refused"] == 1
        for w in (w1, w2):
            w.close()
            await w.wait_closed()


async def test_platform_command_through_gateway() -> None:
    cfg = LoggerConfig("CMD1", schedules=())
    reg = registry([cfg])
    sink = MemorySink()
    async with Gateway(reg.get, sink, port=0) as gw:
        lg = SimulatedLogger(cfg, "127.0.0.1", gw.port, clock=SimClock(START), ack_timeout=1)
        # a heartbeat-less logger must say something first so the gateway knows its MN
        lg.backlog.append(lg.record("2011", START))
        stop = asyncio.Event()
        task = asyncio.ensure_future(lg.run(stop))
        for _ in range(100):
            await asyncio.sleep(0.02)
            if sink.accepted:
                break
        cmd = gw.send_command("CMD1", "2061", "BeginTime=20260301060000;EndTime=20260301070000")
        assert cmd is not None
        for _ in range(200):
            await asyncio.sleep(0.02)
            if gw.metrics()["commands_finished"]:
                break
        for _ in range(100):
            await asyncio.sleep(0.02)
            if sum(r.packet.cn == "2061" for r in sink.accepted) == 2:
                break
        stop.set()
        await task
    assert gw.metrics()["commands_finished"] == 1
    hours = sorted(r.packet.get("DataTime") for r in sink.accepted if r.packet.cn == "2061")
    assert hours == ["20260301060000", "20260301070000"]
    assert all(r.packet.is_backfill is False for r in sink.accepted)  # 2017: no RF field


async def test_rate_limit_delays_but_loses_nothing() -> None:
    reg = {"R1": DeviceCredentials("R1", "123456", "s")}
    sink = MemorySink()
    limits = GatewayLimits(max_bytes_per_second=4000)
    async with Gateway(reg.get, sink, port=0, limits=limits) as gw:
        _r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        for k in range(5):
            p = Packet.make(
                qn=f"2026030108000000{k}",
                st="32",
                cn="2011",
                pw="123456",
                mn="R1",
                flag=4,
                cp={"DataTime": f"2026030108000{k}", "w01018-Rtd": "1" * 300},
            )
            w.write(encode(p))
        await w.drain()
        for _ in range(200):
            await asyncio.sleep(0.02)
            if len(sink.accepted) == 5:
                break
        assert len(sink.accepted) == 5
        w.close()
        await w.wait_closed()


async def test_duplicates_and_flags_arrive_as_sent() -> None:
    (cfg,) = LoggerConfig.fleet(
        1, mn_prefix="DUP", backfill=60, schedules=(), misbehave=["duplicate", "flags"]
    )
    sink = MemorySink()
    async with Gateway(registry([cfg]).get, sink, port=0) as gw:
        lg = SimulatedLogger(
            cfg, "127.0.0.1", gw.port, clock=SimClock(START), seed=3, ack_timeout=2
        )
        await asyncio.wait_for(lg.run(asyncio.Event(), until_drained=True), 30)
        for _ in range(50):  # the duplicates of the last frames may still be in flight
            await asyncio.sleep(0.02)
    times = Counter(r.packet.get("DataTime") for r in sink.accepted)
    assert len(times) == 60 and max(times.values()) == 2  # every record, some twice
    flags = {f for r in sink.accepted for f in r.packet.flags().values()}
    assert flags - {"N"} and flags <= set("NFMSDCTB")


async def test_flood_of_bad_frames_is_cut_off() -> None:
    sink = MemorySink()
    limits = GatewayLimits(max_rejections_per_minute=20)
    async with Gateway({}.get, sink, port=0, limits=limits) as gw:
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        w.write(b"##0012abcdefghijkl0000\r\n" * 200)
        await w.drain()
        assert await asyncio.wait_for(r.read(), 5) == b""  # closed by the gateway
        m = gw.metrics()
        assert m["connections_closed_abusive"] == 1
        assert len(sink.rejected) == 20 and m["frames_rejected_total"] >= 21
        w.close()
        await w.wait_closed()
