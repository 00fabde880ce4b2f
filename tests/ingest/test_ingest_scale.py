"""Scale-out on JetStream (issue 21): a frame resent to another gateway is stored once, writers
acknowledge only after the commit (and skip what a dead writer committed), the stream's bound
refuses new frames, and DuckDB refuses the multi-process shapes. The multi-process runs with
faults are bench/bench_province.py's."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from bishui import core_cli
from bishui.hj212 import Packet, decode, encode
from bishui.hj212.gateway import Gateway
from bishui.ingest import bus
from bishui.ingest.sink import DeviceDirectory
from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
from bishui.store import Store
from bishui.timeutil import now_beijing
from tests_bus_support import NATS_URL, need_nats_or_skip

PW = "pw-scale-21"


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """One store per backend for the module (each test registers a device and site of its own
    and counts only those)."""
    from backends import drop_store, make_store

    s, _, _ = make_store(str(request.param), tmp_path_factory.mktemp("scale"))
    yield s
    drop_store(s)


@pytest.fixture
def stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A stream of this test's own on the shared NATS server (deleted afterwards)."""
    need_nats_or_skip()
    suffix = uuid.uuid4().hex[:8]
    monkeypatch.setattr(bus, "STREAM", f"BISHUI_TEST_{suffix}")
    monkeypatch.setattr(bus, "SUBJECT_ACCEPT", f"bishui.test{suffix}.accepted")
    monkeypatch.setattr(bus, "SUBJECT_REJECT", f"bishui.test{suffix}.rejected")
    monkeypatch.setattr(bus, "SUBJECTS", f"bishui.test{suffix}.>")
    yield suffix

    async def delete() -> None:
        import nats

        nc = await nats.connect(NATS_URL)
        with contextlib.suppress(Exception):  # never created
            await nc.jetstream().delete_stream(bus.STREAM)
        await nc.close()

    asyncio.run(delete())


def _city(store: Store) -> str:
    n = uuid.uuid4().int % 10**6
    mn, site = f"423200000000000021{n:06d}", f"W{n:06d}"
    apply(
        store,
        Registry(
            regions=[Region("420802", "东宝区", "district")],
            sites=[Site(site, "water", "断面", "420802", body="river", target_class=3)],
            devices=[
                Device(mn, site, PW, "32", parameters=(DeviceParameter("w01018", "mg/L", 0, 1e3),))
            ],
        ),
    )
    return mn


def _values(store: Store, mn: str) -> int:
    return store.count("measurement", "site_id = (SELECT site_id FROM devices WHERE mn = ?)", [mn])


def _frame(mn: str, k: int) -> bytes:
    t = (now_beijing() - dt.timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    ts = t + dt.timedelta(minutes=k)
    return encode(
        Packet.make(
            qn=f"{ts:%Y%m%d%H%M%S}000",
            st="32",
            cn="2051",
            pw=PW,
            mn=mn,
            flag=5,
            cp={"DataTime": f"{ts:%Y%m%d%H%M%S}", "w01018-Avg": f"{k}.5", "w01018-Flag": "N"},
        )
    )


async def _send(port: int, frames: list[bytes]) -> list[str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    replies = []
    for f in frames:
        writer.write(f)
        replies.append(decode(await asyncio.wait_for(reader.readuntil(b"\r\n"), 10)).cn)
    writer.close()
    return replies


async def _drain_until(store: Store, durable: str, mn: str, n: int, **kw: Any) -> int:
    stop = asyncio.Event()
    task = asyncio.create_task(
        bus.drain(store, NATS_URL, durable=durable, stop=stop, idle_timeout=0.1, **kw)
    )
    for _ in range(100):
        if store.count("raw_log", "mn = ?", [mn]) >= n or task.done():
            break
        await asyncio.sleep(0.05)
    stop.set()
    return await task


async def _stream_messages() -> int:
    import nats

    nc = await nats.connect(NATS_URL)
    info = await nc.jetstream().stream_info(bus.STREAM)
    await nc.close()
    return int(info.state.messages)


def test_message_id_is_mn_qn_cn_and_pno() -> None:
    p = decode(_frame("423200000000000000002100", 0))
    assert bus.message_id(p) == f"423200000000000000002100/{p.qn}/2051"
    seg = Packet.make(qn=p.qn, st="32", cn="2051", pw=PW, mn=p.mn, flag=5, pnum=2, pno=2, cp={})
    assert bus.message_id(seg) == f"{p.mn}/{p.qn}/2051/2"  # segments share the QN
    assert bus.message_id(Packet.make(st="32", cn="2051", pw=PW, mn=p.mn, cp={})) is None


@pytest.mark.nats
async def test_a_frame_resent_to_another_gateway_is_stored_once(store: Store, stream: str) -> None:
    mn = _city(store)
    directory = DeviceDirectory(store)
    sinks = [await bus.JetStreamSink.connect(NATS_URL) for _ in range(2)]
    gateways = [Gateway(directory.lookup, sink, port=0) for sink, _ in sinks]
    for g in gateways:
        await g.start()
    frames = [_frame(mn, k) for k in range(3)]
    dup_before = bus.DUPLICATES.value()
    try:
        # the logger sends to gateway 1; it reconnects to gateway 2 and resends everything
        assert await _send(gateways[0].port, frames) == ["9014"] * 3
        assert await _send(gateways[1].port, frames) == ["9014"] * 3  # acknowledged again
    finally:
        for g in gateways:
            await g.stop()
        for _, nc in sinks:
            await nc.close()
    assert bus.DUPLICATES.value() - dup_before == 3
    assert await _stream_messages() == 3  # the stream holds each frame once
    await _drain_until(store, f"w{stream}", mn, 3)
    assert store.count("raw_log", "mn = ?", [mn]) == 3
    assert _values(store, mn) == 3


class FailingOnce:
    """A store whose first batch commit fails (the database away for a moment)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def write_batch(self, batch: Any) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("database away")
        self._store.write_batch(batch)


@pytest.mark.nats
async def test_writers_ack_only_after_the_commit(
    store: Store, stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nats.aio.msg import Msg

    mn = _city(store)
    sink, nc = await bus.JetStreamSink.connect(NATS_URL)
    directory = DeviceDirectory(store)
    for k in range(4):
        await sink.accept(_received(directory, mn, k))
    await nc.close()

    # every ack sees its message committed; the failed commit acked nothing (nak, retried)
    acks: list[int] = []
    original = Msg.ack

    async def ack(self: Msg) -> None:
        acks.append(store.count("raw_log", "mn = ?", [mn]))
        await original(self)

    monkeypatch.setattr(Msg, "ack", ack)
    flaky = FailingOnce(store)
    failures = bus.FAILURES.value()
    written = await _drain_until(flaky, f"w{stream}", mn, 4, retry_max=0.1)  # type: ignore[arg-type]
    assert flaky.calls >= 2 and bus.FAILURES.value() == failures + 1
    assert written == 4 and acks == [4, 4, 4, 4]
    assert store.count("raw_log", "mn = ?", [mn]) == 4


def _received(directory: DeviceDirectory, mn: str, k: int) -> Any:
    from bishui.hj212.gateway import Received

    raw = _frame(mn, k)
    creds = directory.lookup(mn)
    assert creds is not None
    return Received(raw, "127.0.0.1:5000", now_beijing() + dt.timedelta(microseconds=k), creds,
                    decode(raw))  # fmt: skip


@pytest.mark.nats
async def test_a_writer_that_died_after_its_commit_is_not_written_twice(
    store: Store, stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nats.aio.msg import Msg

    mn = _city(store)
    sink, nc = await bus.JetStreamSink.connect(NATS_URL)
    directory = DeviceDirectory(store)
    for k in range(3):
        await sink.accept(_received(directory, mn, k))
    await nc.close()
    original = Msg.ack

    async def lost(self: Msg) -> None:  # the writer dies between its commit and its acks
        return None

    monkeypatch.setattr(Msg, "ack", lost)
    await _drain_until(store, f"w{stream}", mn, 3, ack_wait=1.0)
    assert store.count("raw_log", "mn = ?", [mn]) == 3
    monkeypatch.setattr(Msg, "ack", original)
    skipped = bus.SKIPPED.value()
    stop = asyncio.Event()
    task = asyncio.create_task(
        bus.drain(store, NATS_URL, durable=f"w{stream}", stop=stop, idle_timeout=0.1, ack_wait=1.0)
    )
    for _ in range(100):  # redelivered after the ack wait, found committed, acked
        if bus.SKIPPED.value() - skipped == 3:
            break
        await asyncio.sleep(0.05)
    stop.set()
    assert await task == 0
    assert bus.SKIPPED.value() - skipped == 3
    assert store.count("raw_log", "mn = ?", [mn]) == 3
    assert await _stream_messages() == 0  # acknowledged: gone from the work queue


@pytest.mark.nats
async def test_the_stream_refuses_beyond_its_bound(stream: str, tmp_path: Any) -> None:
    from bishui.store import open_store

    store = open_store(tmp_path / "b.duckdb")
    mn = _city(store)
    directory = DeviceDirectory(store)
    sink, nc = await bus.JetStreamSink.connect(NATS_URL, max_pending=2)
    full = bus.REFUSED.value(reason="stream_full")
    try:
        for k in range(2):
            await sink.accept(_received(directory, mn, k))
        with pytest.raises(Exception, match=r"(?i)maximum messages"):
            await sink.accept(_received(directory, mn, 2))  # the gateway sends no 9014
    finally:
        await nc.close()
        store.close()
    assert bus.REFUSED.value(reason="stream_full") == full + 1


def test_duckdb_refuses_a_second_writer(tmp_path: Any) -> None:
    db = str(tmp_path / "one.duckdb")
    runner = CliRunner()
    r = runner.invoke(core_cli.drain, ["--db", db, "--bus", NATS_URL])
    assert r.exit_code == 1 and "bishui drain needs PostgreSQL" in r.output
    r = runner.invoke(core_cli.serve, ["--db", db, "--reuse-port", "--no-gateway"])
    assert r.exit_code == 1 and "--reuse-port needs PostgreSQL" in r.output
    r = runner.invoke(core_cli.serve, ["--db", db, "--bus", NATS_URL, "--no-web"])
    assert r.exit_code == 1 and "--bus needs PostgreSQL" in r.output
    r = runner.invoke(core_cli.serve, ["--db", db, "--no-web", "--no-gateway"])
    assert r.exit_code == 2 and "nothing to run" in r.output


async def test_a_process_without_gateway_or_jobs_serves_its_metrics(tmp_path: Any) -> None:
    from bishui.runtime import PlatformConfig, run_platform
    from bishui.store import open_store

    store = open_store(tmp_path / "m.duckdb")
    config = PlatformConfig(web=False, gateway=False, jobs=False, metrics_port=0, control=False)
    stop, said = asyncio.Event(), {}
    task = asyncio.create_task(run_platform(store, config, stop, ready=said.update))
    for _ in range(500):
        if said or task.done():
            break
        await asyncio.sleep(0.01)
    try:
        assert said["gateway_port"] is None
        reader, writer = await asyncio.open_connection("127.0.0.1", said["metrics_port"])
        writer.write(b"GET /metrics HTTP/1.1\r\n\r\n")
        reply = (await reader.read()).decode()
        writer.close()
        assert reply.startswith("HTTP/1.1 200") and "# TYPE bishui_bus_stream_lag gauge" in reply
        assert "bishui_gateway_acks_total" not in reply  # no gateway in this process
    finally:
        stop.set()
        await task
        store.close()
