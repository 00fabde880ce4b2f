"""Nothing acknowledged is lost: SIGKILL the server while loggers send, on both backends.

A real ``bishui serve`` process receives minute data from several connections; each frame asks
for a 9014. The process is killed with SIGKILL mid-stream. Every frame that had its 9014 must
then be in the store; after a restart the loggers resend everything (as loggers do for what
they were not answered, and here for what they were, to test re-delivery), and every frame's
values are in the store exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bishui.hj212 import Packet, decode, encode
from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
from bishui.store import Store
from conftest import drop_store, make_store

MNS = [f"4208320000000000000000{i:02d}" for i in range(6)]
PARAMS = ("w00000", "w01018", "w21003")
T0 = dt.datetime(2025, 7, 1, 0, 0)
FRAMES_PER_LOGGER = 120


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
                "123456",
                "32",
                parameters=tuple(DeviceParameter(p, "mg/L", 0, 1e6) for p in PARAMS),
            )
            for i, mn in enumerate(MNS)
        ],
    )


def frame(mn: str, k: int) -> tuple[str, bytes]:
    t = T0 + dt.timedelta(minutes=k)
    qn = f"{t:%Y%m%d%H%M%S}{k % 1000:03d}"
    cp = {"DataTime": f"{t:%Y%m%d%H%M%S}"}
    for j, p in enumerate(PARAMS):
        cp[f"{p}-Avg"] = f"{k + j / 10:.1f}"
        cp[f"{p}-Flag"] = "N"
    return qn, encode(Packet.make(qn=qn, st="32", cn="2051", pw="123456", mn=mn, flag=5, cp=cp))


def start_server(url: str, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    with open(log, "ab") as err:  # a file, not a pipe: a full pipe would stall the server
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bishui",
                "serve",
                "--db",
                url,
                "--no-web",
                "--gateway-port",
                "0",
            ],
            stderr=err,
            stdout=subprocess.DEVNULL,
            env=env,
        )
    seen = log.stat().st_size if log.exists() else 0
    for _ in range(600):
        text = log.read_text(encoding="utf-8", errors="replace")
        m = re.findall(r"HJ 212 gateway on [\d.]+:(\d+)", text)
        if len(m) > len(re.findall(r"HJ 212 gateway on", text[:seen])):
            return proc, int(m[-1])
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise AssertionError("the server did not start:\n" + log.read_text(errors="replace"))


async def logger(
    port: int, mn: str, acked: set[tuple[str, str]], stop_after: int | None, total_acked: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for k in range(FRAMES_PER_LOGGER):
            qn, data = frame(mn, k)
            writer.write(data)
            await writer.drain()
            line = await asyncio.wait_for(reader.readuntil(b"\r\n"), 10)
            reply = decode(line)
            assert reply.cn == "9014" and reply.qn == qn
            acked.add((mn, qn))
            total_acked[0] += 1
            if stop_after is not None and total_acked[0] >= stop_after:
                await asyncio.sleep(3600)  # hold the line open until the kill
    finally:
        writer.close()


@pytest.mark.parametrize(
    "backend", ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_sigkill_loses_nothing_acknowledged(backend: str, tmp_path: Path) -> None:
    store, url, schema = make_store(backend, tmp_path)
    apply(store, registry())
    if schema:
        url = f"{url}?schema={schema}"
    store.close()  # DuckDB: the server process must hold the file alone

    proc, port = start_server(url, tmp_path / "serve.log")
    acked: set[tuple[str, str]] = set()
    count = [0]

    async def first_run() -> None:
        tasks = [asyncio.create_task(logger(port, mn, acked, 300, count)) for mn in MNS]
        deadline = time.monotonic() + 120
        while count[0] < 300:
            if all(t.done() for t in tasks) or time.monotonic() > deadline:
                proc.kill()
                errors = [t.exception() for t in tasks if t.done() and not t.cancelled()]
                raise AssertionError(f"only {count[0]} frames acknowledged: {errors}")
            await asyncio.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # mid-stream: other frames are in flight
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t

    asyncio.run(first_run())
    proc.wait(10)
    assert len(acked) >= 300

    check = reopen(backend, tmp_path, url)
    try:
        stored = {
            (r["mn"], r["qn"])
            for r in check.query("SELECT mn, qn FROM raw_log WHERE verdict = 'accepted'")
        }
        assert acked <= stored, f"{len(acked - stored)} acknowledged frames were lost"
        rows = check.query(
            "SELECT site_id, parameter, ts, COUNT(*) AS n FROM measurement "
            "GROUP BY site_id, parameter, ts HAVING COUNT(*) > 1"
        )
        assert rows == []
    finally:
        check.close()

    proc, port = start_server(url, tmp_path / "serve.log")
    try:

        async def resend_all() -> None:
            again: set[tuple[str, str]] = set()
            await asyncio.gather(*(logger(port, mn, again, None, [0]) for mn in MNS))
            assert len(again) == len(MNS) * FRAMES_PER_LOGGER

        asyncio.run(resend_all())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)

    final = reopen(backend, tmp_path, url)
    try:
        n = final.count("measurement", "period = 'min'")
        assert n == len(MNS) * FRAMES_PER_LOGGER * len(PARAMS)
        dup = final.query(
            "SELECT site_id, parameter, ts FROM measurement GROUP BY site_id, "
            "parameter, ts HAVING COUNT(*) > 1"
        )
        assert dup == []
    finally:
        drop_store(final) if backend == "postgresql" else final.close()


def reopen(backend: str, tmp_path: Path, url: str) -> Store:
    from bishui.store import open_store

    return open_store(str(tmp_path / "bishui.duckdb") if backend == "duckdb" else url)
