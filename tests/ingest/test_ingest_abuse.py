"""Issue 13 on both backends: one frame can never poison a store write.

Row 1 of the issue: an unauthenticated client sending bad-CRC frames with ``MN=\\x00`` made
PostgreSQL refuse the shared group commit, and 50 good loggers fell from 69,545 acks to 280.
Here good loggers' acknowledged frames are counted with and without such a flood (and with a
registered logger sending NUL in QN and in a value): the counts must be equal.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from bishui.errors import StorageError
from bishui.hj212 import Packet, encode
from bishui.hj212.crc import crc_hex
from bishui.hj212.gateway import Gateway, GatewayLimits
from bishui.ingest.sink import DeviceDirectory, StoreSink
from bishui.ingest.writer import GroupCommitWriter
from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
from bishui.store import Batch, QuarantineEntry, RawEntry, Store
from bishui.timeutil import now_beijing

MNS = [f"ABUSE{i:03d}" for i in range(8)]
PW = "Pw-13-abuse"
PARAMS = ("w01018", "w21003")


def registry() -> Registry:
    return Registry(
        regions=[Region("420802", "东宝区", "district")],
        sites=[
            Site(f"S{i}", "water", f"断面{i}", "420802", body="river", target_class=3)
            for i in range(len(MNS))
        ],
        devices=[
            Device(
                mn,
                f"S{i}",
                PW,
                "32",
                parameters=tuple(DeviceParameter(p, "mg/L", 0, 1e6) for p in PARAMS),
            )
            for i, mn in enumerate(MNS)
        ],
    )


def minute_frame(mn: str, k: int, t0: dt.datetime, *, qn: str | None = None) -> bytes:
    t = t0 + dt.timedelta(minutes=k)
    cp = {"DataTime": f"{t:%Y%m%d%H%M%S}"}
    for j, p in enumerate(PARAMS):
        cp[f"{p}-Avg"] = f"{k + j / 10:.1f}"
        cp[f"{p}-Flag"] = "N"
    qn = qn or f"{t:%Y%m%d%H%M%S}{k % 1000:03d}"
    return encode(Packet.make(qn=qn, st="32", cn="2051", pw=PW, mn=mn, flag=5, cp=cp))


def raw_frame(seg: bytes, crc: bytes | None = None) -> bytes:
    return b"##%04d%s%s\r\n" % (len(seg), seg, crc or crc_hex(seg).encode())


# -- the store: text made storable, a refused item fails alone ------------------------------


def test_nul_and_invalid_utf8_are_stored_escaped(store: Store) -> None:
    t = dt.datetime(2026, 1, 1)
    bad = "M\x00N\udcff" + "x" * 1000
    store.write_batch(
        Batch(
            raw=[RawEntry(t, "hj212", b"\x00", "rejected", peer="p\x00", mn=bad, qn=bad)],
            quarantine=[QuarantineEntry(t, "hj212", "crc_mismatch", bad, mn=bad, value=bad)],
        )
    )
    (row,) = store.query("SELECT mn, message, value FROM quarantine")
    assert row["mn"].startswith("M\\x00N\\udcff") and len(row["mn"]) <= 257
    assert "\x00" not in row["message"]


async def test_a_refused_item_fails_alone_and_is_quarantined_alone(store: Store) -> None:
    t = dt.datetime(2026, 1, 1)
    w = GroupCommitWriter(store)
    good = [Batch(raw=[RawEntry(t, "hj212", b"good %d" % i, "accepted")]) for i in range(20)]
    # NOT NULL violated: refused by either database whatever is escaped
    poison = Batch(
        raw=[RawEntry(t, "hj212", b"poison", "accepted")],
        quarantine=[QuarantineEntry(t, "hj212", None, "x")],  # type: ignore[arg-type]
    )
    items = [*good[:10], poison, *good[10:]]
    results = await asyncio.gather(*(w.write(b) for b in items), return_exceptions=True)
    await w.close()
    assert [isinstance(r, StorageError) for r in results] == [False] * 10 + [True] + [False] * 10
    assert store.count("raw_log", "verdict = 'accepted'") == 20
    (q,) = store.query("SELECT reason, raw FROM quarantine")
    assert q["reason"] == "store_refused" and bytes(q["raw"]) == b"poison"
    assert w.refused == 1


# -- through the gateway ----------------------------------------------------------------------


async def _run(store: Store, *, flood: bool, per_logger: int = 25) -> tuple[int, int]:
    """Good loggers send *per_logger* frames each, one at a time, waiting for each 9014;
    returns (acks received by good loggers, frames the flooder got in)."""
    directory = DeviceDirectory(store)
    sink = StoreSink(store, directory)
    gw = Gateway(directory.lookup, sink, port=0, limits=GatewayLimits(idle_timeout=30))
    await gw.start()
    t0 = now_beijing().replace(second=0, microsecond=0) - dt.timedelta(hours=2)
    stop = asyncio.Event()
    flooded = 0

    async def good(mn: str) -> int:
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        acks = 0
        for k in range(per_logger):
            w.write(minute_frame(mn, k, t0))
            await w.drain()
            line = await asyncio.wait_for(r.readuntil(b"\r\n"), 20)
            acks += b"CN=9014" in line
        w.close()
        return acks

    async def flooder() -> None:
        nonlocal flooded
        seg = b"QN=20260101000000000;ST=32;CN=2051;PW=1;MN=\x00;Flag=5;CP=&&&&"
        while not stop.is_set():
            try:
                _r, w = await asyncio.open_connection("127.0.0.1", gw.port)
                for _ in range(50):
                    w.write(raw_frame(seg, b"FFFF"))  # bad CRC, NUL MN
                    flooded += 1
                await w.drain()
                w.close()
            except OSError:
                pass
            await asyncio.sleep(0.005)

    async def poisoned_registered_logger() -> None:
        # a registered logger with NUL in QN and in a value (QN passes decoding off the
        # canonical path): stored escaped or quarantined, never failing the others
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        mn = MNS[-1]
        for k in range(5):
            t = t0 + dt.timedelta(minutes=100 + k)
            seg = (
                f"QN=2026\x00{k};ST=32;CN=2051;PW={PW};MN={mn};Flag=5;"
                f"CP=&&DataTime={t:%Y%m%d%H%M%S};w01018-Avg=1\x002,w01018-Flag=N&&"
            ).encode()
            w.write(raw_frame(seg))
            await w.drain()
            await asyncio.wait_for(r.readuntil(b"\r\n"), 20)
        w.close()

    extra = [asyncio.ensure_future(flooder())] if flood else []
    if flood:
        await poisoned_registered_logger()
    acks = await asyncio.gather(*(good(mn) for mn in MNS[:-1]))
    stop.set()
    await asyncio.gather(*extra)
    await gw.stop()
    await sink.close()
    return sum(acks), flooded


async def test_nul_flood_does_not_cost_good_loggers_their_acks(store: Store) -> None:
    apply(store, registry())
    quiet, _ = await _run(store, flood=False)
    loud, flooded = await _run(store, flood=True)
    assert quiet == loud == 25 * (len(MNS) - 1)
    assert flooded > 0
    # the flood is quarantined (not lost), escaped; the registered logger's NUL value is
    # quarantined with its rule, its QN stored escaped
    assert store.count("quarantine", "reason = 'crc_mismatch'") > 0
    assert store.count("quarantine", "reason = 'bad_value'") == 5
    assert store.count("quarantine", "reason = 'store_refused'") == 0


async def test_unknown_mn_flood_stores_a_bounded_sample(store: Store) -> None:
    # row 10: many reconnecting connections from one address, an unknown MN, frames fast
    apply(store, registry())
    directory = DeviceDirectory(store)
    sink = StoreSink(store, directory)
    limits = GatewayLimits(max_stored_rejections_per_peer=30)
    gw = Gateway(directory.lookup, sink, port=0, limits=limits)
    await gw.start()
    t0 = now_beijing().replace(second=0, microsecond=0)
    sent = 0
    for _ in range(8):
        _r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        w.write(b"".join(minute_frame("NOBODY01", k, t0) for k in range(60)))
        sent += 60
        await w.drain()
        w.close()
    for _ in range(200):
        if sum(gw.metrics()["frames_rejected"].values()) >= sent:
            break
        await asyncio.sleep(0.02)
    await gw.stop()  # flushes nothing more: the summary is written when the minute ends
    m = gw.metrics()
    await sink.close()
    assert m["frames_rejected"]["unknown_mn"] == sent  # every one counted
    assert store.count("quarantine") == 30 and store.count("raw_log") == 30  # a sample
    assert m["rejections_not_stored"] == sent - 30


async def test_password_guessing_alert_is_stored(store: Store) -> None:
    # row 8, the alert on both backends; the PW never reaches the raw log
    apply(store, registry())
    directory = DeviceDirectory(store)
    sink = StoreSink(store, directory)
    gw = Gateway(directory.lookup, sink, port=0)
    await gw.start()
    t0 = now_beijing().replace(second=0, microsecond=0)
    for k in range(7):
        _r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        f = minute_frame(MNS[0], k, t0).replace(PW.encode(), b"guess-%02d-xx" % k)
        w.write(raw_frame(f[6:-6]))
        await w.drain()
        await asyncio.sleep(0.05)
        w.close()
    await gw.stop()
    await sink.close()
    (alert,) = store.query("SELECT kind, title, mn, count FROM gateway_alert")
    assert alert == {"kind": "password_guessing", "title": "疑似口令猜测", "mn": MNS[0], "count": 5}
    assert store.count("quarantine", "reason = 'throttled'") == 2
    raws = [bytes(r["raw"]) for r in store.query("SELECT raw FROM raw_log")]
    assert raws and not any(b"guess-" in r for r in raws)
    assert all(b"PW=***********" in r for r in raws)
