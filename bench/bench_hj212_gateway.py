"""HJ 212 gateway throughput: 1, 100 and 1,000 simulated loggers over loopback.

Each logger (``bishui.hj212.simulator``) has a backlog of minute records and sends the next
one as soon as the previous 9014 arrives (Flag A = 1, one upload in flight — the way a
logger backfills, STD17 C.48). The gateway acknowledges only after its sink reports the data
durable; the sink here batches concurrent accepts and appends + ``fsync``\\ s a file once per
batch (group commit), in a worker thread. The loggers run in a second process.

Baseline, same run and same clients: a bare asyncio server that splits on CR LF, picks QN,
PW and MN out with one regex and answers 9014 — no CRC check, no grammar, no
authentication, no durability. Figures: frames/s from the
first frame received to the last acknowledged; server CPU time (user + system, all
threads) per frame, which is what bounds one core and varies less than wall time on a shared
machine; and the peak RSS of the server process.
Goal: >= 5,000 frames/s with 1,000 connections.

Device passwords are stored hashed (``bishui.hj212.auth``, issue 13) where the code has it: the
first frame of each logger costs one salted hash. ``--old-src DIR`` also runs another
checkout's gateway (the code before issue 13) on the same plan, in the same run, for the ratio
(its process imports from DIR).

    /work/venv/bin/python bench/bench_hj212_gateway.py [--short] [--old-src /tmp/old/src]
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import multiprocessing as mp
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if not os.environ.get("BISHUI_BENCH_OLD_SRC"):  # else PYTHONPATH names the old checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bishui.hj212.crc import hj212_crc
from bishui.hj212.gateway import (
    DeviceCredentials,
    Gateway,
    GatewayLimits,
    Received,
    Rejection,
)
from bishui.hj212.simulator import LoggerConfig, run_fleet

_FIELDS = re.compile(rb"QN=([^;]*);.*?PW=([^;]*);MN=([^;]*);")


def minimal_ack(frame: bytes) -> bytes:
    """The baseline's whole protocol: find QN, PW and MN, answer 9014 — nothing checked."""
    m = _FIELDS.search(frame)
    if m is None:
        return b""
    qn, pw, mn = m.groups()
    seg = b"QN=%s;ST=91;CN=9014;PW=%s;MN=%s;Flag=4;CP=&&&&" % (qn, pw, mn)
    return b"##%04d%s%04X\r\n" % (len(seg), seg, hj212_crc(seg))


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


class GroupCommitSink:
    """Appends raw frames to a file; one write + fsync per batch of concurrent accepts."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "ab")  # noqa: SIM115 - closed in close()
        self.batch: list[bytes] = []
        self.waiters: list[asyncio.Future[None]] = []
        self.wake = asyncio.Event()
        self.accepted = 0
        self.rejected = 0
        self.batches = 0
        self.last = 0.0
        self.task = asyncio.ensure_future(self._writer())

    async def accept(self, item: Received) -> None:
        fut = asyncio.get_running_loop().create_future()
        self.batch.append(item.raw)
        self.waiters.append(fut)
        self.wake.set()
        await fut

    async def reject(self, item: Rejection) -> None:
        self.rejected += 1

    def _write(self, data: bytes) -> None:
        self.file.write(data)
        self.file.flush()
        os.fsync(self.file.fileno())

    async def _writer(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, waiters = self.batch, self.waiters
            self.batch, self.waiters = [], []
            await asyncio.to_thread(self._write, b"".join(batch))
            self.batches += 1
            self.accepted += len(batch)
            self.last = time.perf_counter()
            for f in waiters:
                f.set_result(None)

    def close(self) -> None:
        self.task.cancel()
        self.file.close()


def server_main(kind: str, total: int, port_q: Any, result_q: Any) -> None:
    raise_nofile()

    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = ru0.ru_utime + ru0.ru_stime

    async def run() -> dict[str, Any]:
        first: list[float] = []
        if kind == "gateway":
            tmp = tempfile.mkdtemp(prefix="bench_hj212_")
            sink = GroupCommitSink(os.path.join(tmp, "frames.log"))
            creds: dict[str, DeviceCredentials] = {}
            try:  # the stored form of a password where the code has one (issue 13)
                from bishui.hj212.auth import hash_password

                stored = hash_password("123456")
            except ImportError:
                stored = "123456"

            def lookup(mn: str) -> DeviceCredentials:
                c = creds.get(mn)
                if c is None:
                    c = creds[mn] = DeviceCredentials(mn, stored, "site-" + mn)
                return c

            # every simulated logger comes from 127.0.0.1: lift the per-address limit
            names = {f.name for f in dataclasses.fields(GatewayLimits)}
            want = {"max_connections_per_peer": 5000, "max_stored_rejections_per_peer": 10**6}
            limits = GatewayLimits(**{k: v for k, v in want.items() if k in names})
            gw = Gateway(lookup, sink, port=0, limits=limits)
            await gw.start()
            port_q.put(gw.port)
            t0 = time.perf_counter()
            while sink.accepted < total and time.perf_counter() - t0 < 600:
                await asyncio.sleep(0.01)
                if not first and gw.metrics()["bytes_received"]:
                    first.append(time.perf_counter())
            m = gw.metrics()
            elapsed = sink.last - first[0] if first else float("nan")
            await gw.stop()
            sink.close()
            extra = {"batches": sink.batches, "rejected": m["frames_rejected_total"]}
            count = sink.accepted
        else:
            state = {"frames": 0, "last": 0.0}
            pending: dict[asyncio.StreamWriter, bytes] = {}

            async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
                pending[w] = b""
                while data := await r.read(65536):
                    if not first:
                        first.append(time.perf_counter())
                    buf = pending.get(w, b"") + data
                    *frames, pending[w] = buf.split(b"\r\n")
                    state["frames"] += len(frames)
                    state["last"] = time.perf_counter()
                    w.write(b"".join(minimal_ack(f) for f in frames))
                pending.pop(w, None)
                w.close()

            server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
            port_q.put(server.sockets[0].getsockname()[1])
            t0 = time.perf_counter()
            while state["frames"] < total and time.perf_counter() - t0 < 600:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)
            server.close()
            for w in list(pending):
                w.close()
            await asyncio.sleep(0.2)
            elapsed = state["last"] - first[0] if first else float("nan")
            extra = {}
            count = int(state["frames"])
        ru = resource.getrusage(resource.RUSAGE_SELF)
        rss = ru.ru_maxrss / 1024  # [MiB]
        cpu = ru.ru_utime + ru.ru_stime - cpu0  # [s] of this process, both threads
        return {"frames": count, "seconds": elapsed, "peak_rss_mib": rss, "cpu": cpu, **extra}

    result_q.put(asyncio.run(run()))


def client_main(port: int, loggers: int, per_logger: int) -> None:
    raise_nofile()
    configs = LoggerConfig.fleet(loggers, mn_prefix="B", backfill=per_logger, schedules=())
    asyncio.run(
        run_fleet(configs, "127.0.0.1", port, duration=None, until_drained=True, ack_timeout=60.0)
    )


def scenario(kind: str, loggers: int, per_logger: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    port_q, result_q = ctx.Queue(), ctx.Queue()
    total = loggers * per_logger
    server = ctx.Process(target=server_main, args=(kind, total, port_q, result_q))
    server.start()
    port = port_q.get(timeout=60)
    client = ctx.Process(target=client_main, args=(port, loggers, per_logger))
    client.start()
    result = result_q.get(timeout=900)
    client.join(timeout=60)
    if client.is_alive():
        client.kill()
    server.join(timeout=60)
    return result


def run_old(src: str, loggers: int, per: int) -> dict[str, Any]:
    """The same gateway scenario with another checkout's code, in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": src, "BISHUI_BENCH_OLD_SRC": src}
    args = [sys.executable, __file__, "--scenario", str(loggers), str(per)]
    out = subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.splitlines()[-1]))


def main() -> int:
    short = "--short" in sys.argv
    raise_nofile()
    if "--scenario" in sys.argv:  # the subprocess of --old-src
        i = sys.argv.index("--scenario")
        print(json.dumps(scenario("gateway", int(sys.argv[i + 1]), int(sys.argv[i + 2]))))
        return 0
    old_src = sys.argv[sys.argv.index("--old-src") + 1] if "--old-src" in sys.argv else None
    plan = [(1, 50), (100, 2)] if short else [(1, 2000), (100, 60), (1000, 15)]
    print(
        f"{'loggers':>7} {'frames':>6} | {'baseline f/s':>12} {'CPU/frame':>9} | "
        f"{'gateway f/s':>11} {'ratio':>5} {'CPU/frame':>9} {'peak RSS':>8} {'fsyncs':>6}"
        + (f" | {'old f/s':>8} {'CPU/frame':>9} {'new/old':>7}" if old_src else "")
    )
    ok = True
    for loggers, per in plan:
        base = scenario("baseline", loggers, per)
        gw = scenario("gateway", loggers, per)
        old = run_old(old_src, loggers, per) if old_src else None
        ok &= gw["frames"] == loggers * per
        b = base["frames"] / base["seconds"]
        g = gw["frames"] / gw["seconds"]
        bcpu = base["cpu"] / base["frames"] * 1e6
        gcpu = gw["cpu"] / gw["frames"] * 1e6
        line = (
            f"{loggers:>7} {gw['frames']:>6} | {b:>12,.0f} {bcpu:>6.0f} µs | {g:>11,.0f} "
            f"{g / b:>5.2f} {gcpu:>6.0f} µs {gw['peak_rss_mib']:>4.0f} MiB {gw['batches']:>6}"
        )
        if old is not None:
            o = old["frames"] / old["seconds"]
            ocpu = old["cpu"] / old["frames"] * 1e6
            line += f" | {o:>8,.0f} {ocpu:>6.0f} µs {g / o:>7.2f}"
        print(line, flush=True)
        if loggers == 1000:
            verdict = "met" if g >= 5000 else "NOT met"
            print(
                f"goal 5,000 frames/s with 1,000 connections: {verdict} on this run; "
                f"gateway CPU per frame implies {1e6 / gcpu:,.0f} frames/s per core"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
