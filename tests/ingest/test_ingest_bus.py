"""Scale-out over NATS JetStream: gateway → stream → writer → store (needs the NATS server)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import uuid

import pytest

from bishui.hj212 import Packet, decode, encode
from bishui.hj212.gateway import Gateway
from bishui.ingest import bus
from bishui.ingest.sink import DeviceDirectory
from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
from bishui.store import Store
from bishui.timeutil import now_beijing

NATS_URL = os.environ.get("BISHUI_TEST_NATS", "nats://127.0.0.1:4222")
MN = "423200000000000000000007"


def nats_up() -> bool:
    host, port = NATS_URL.removeprefix("nats://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def need_nats() -> None:
    if not nats_up():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but NATS does not answer at {NATS_URL}")
        pytest.skip(f"NATS does not answer at {NATS_URL} (set CI=true to require it)")


@pytest.mark.nats
async def test_frames_flow_through_the_bus_into_the_store(
    store: Store, need_nats: None, monkeypatch
) -> None:
    # A stream of its own per test run, so runs never see each other's messages.
    suffix = uuid.uuid4().hex[:8]
    monkeypatch.setattr(bus, "STREAM", f"BISHUI_TEST_{suffix}")
    monkeypatch.setattr(bus, "SUBJECT_ACCEPT", f"bishui.test{suffix}.accepted")
    monkeypatch.setattr(bus, "SUBJECT_REJECT", f"bishui.test{suffix}.rejected")
    monkeypatch.setattr(bus, "SUBJECTS", f"bishui.test{suffix}.>")
    apply(
        store,
        Registry(
            regions=[Region("420802", "东宝区", "district")],
            sites=[Site("W1", "water", "断面", "420802", body="river", target_class=3)],
            devices=[
                Device(
                    MN,
                    "W1",
                    "123456",
                    "32",
                    parameters=(DeviceParameter("w01018", "mg/L", 0, 1000),),
                )
            ],
        ),
    )
    sink, nc = await bus.JetStreamSink.connect(NATS_URL)
    directory = DeviceDirectory(store)
    gw = Gateway(directory.lookup, sink, port=0)
    await gw.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        # recent: data older than the backfill window is quarantined (issue 13)
        t = (now_beijing() - dt.timedelta(days=2)).replace(
            hour=8, minute=0, second=0, microsecond=0
        )
        for k in range(20):
            ts = t + dt.timedelta(minutes=k)
            writer.write(
                encode(
                    Packet.make(
                        qn=f"{ts:%Y%m%d%H%M%S}000",
                        st="32",
                        cn="2051",
                        pw="123456",
                        mn=MN,
                        flag=5,
                        cp={
                            "DataTime": f"{ts:%Y%m%d%H%M%S}",
                            "w01018-Avg": f"{20 + k}",
                            "w01018-Flag": "N",
                        },
                    )
                )
            )
            assert decode(await reader.readuntil(b"\r\n")).cn == "9014"  # durable in JetStream
        writer.write(b"##0010garbage!!!!\r\n")
        await writer.drain()
        writer.close()
        await asyncio.sleep(0.2)
    finally:
        await gw.stop()
    assert store.count("measurement") == 0  # nothing written yet: it is in the stream

    stop = asyncio.Event()
    task = asyncio.create_task(
        bus.drain(store, NATS_URL, durable=f"w{suffix}", stop=stop, idle_timeout=0.2)
    )
    for _ in range(100):
        if store.count("measurement") == 20 and store.count("quarantine") >= 1:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await task
    assert store.count("measurement") == 20
    assert store.count("quarantine") >= 1
    js = nc.jetstream()
    await js.delete_stream(bus.STREAM)
    await nc.close()
