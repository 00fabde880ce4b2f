"""A good logger's 9014 latency while another peer floods the gateway with garbage (issue 13).

One good logger (127.0.0.1) sends minute frames one at a time, each after the previous 9014,
and records each round trip. Quiet: alone. Flood: meanwhile a second process, from another
address (127.0.0.2), writes garbage as fast as the gateway reads it — runs of ``#``, repeated
``##9999`` headers and random bytes — reconnecting whenever it is cut off. The gateway (in its
own process) acknowledges after the benchmark's group-commit file sink (fsync per batch, as in
``bench_hj212_gateway.py``). Reported: p50 and p99 of the good logger's round trip, quiet and
under flood, the ratio, the bytes the flooder got written, how often it (re)connected, and the
frames the gateway rejected.
Goal: flood p99 within 2× of quiet p99. ``--old-src DIR`` repeats both with another checkout's
gateway in the same run.

    /work/venv/bin/python bench/bench_hj212_flood.py [--short] [--old-src /tmp/old/src]
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if not os.environ.get("BISHUI_BENCH_OLD_SRC"):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_hj212_gateway import GroupCommitSink
from bishui.hj212.codec import Packet, encode
from bishui.hj212.gateway import DeviceCredentials, Gateway

MN = "FLOODTEST0000000000000001"


def server_main(port_q: Any, stop_q: Any) -> None:
    async def run() -> None:
        sink = GroupCommitSink(os.path.join(tempfile.mkdtemp(prefix="bench_flood_"), "f.log"))
        try:
            from bishui.hj212.auth import hash_password

            stored = hash_password("123456")
        except ImportError:
            stored = "123456"
        creds = DeviceCredentials(MN, stored, "site")
        gw = Gateway({MN: creds}.get, sink, port=0)
        await gw.start()
        port_q.put(gw.port)
        while stop_q.empty():
            await asyncio.sleep(0.05)
        port_q.put(gw.metrics())
        await gw.stop()
        sink.close()

    asyncio.run(run())


def flooder_main(port: int, seconds: float, sent_bytes: Any, attempts: Any) -> None:
    rng = random.Random(13)
    junk = [b"#" * 65536, b"##9999" * 10000, rng.randbytes(65536)]

    async def run() -> dict[str, int]:
        sent = cuts = 0
        t_end = time.perf_counter() + seconds
        while time.perf_counter() < t_end:
            try:
                attempts.value += 1
                _r, w = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=("127.0.0.2", 0)
                )
                while time.perf_counter() < t_end:
                    chunk = junk[sent % 3]
                    w.write(chunk)
                    await w.drain()
                    sent += len(chunk)
                    sent_bytes.value = sent
                w.close()
            except (ConnectionError, OSError):
                cuts += 1
                await asyncio.sleep(0.001)
        return {"bytes": sent, "cuts": cuts}

    asyncio.run(run())


async def good_logger(port: int, frames: int) -> list[float]:
    r, w = await asyncio.open_connection("127.0.0.1", port)
    t0 = dt_now = time.time()
    del dt_now
    out = []
    for k in range(frames):
        t = time.localtime(t0 - 3600 + k * 60)
        cp = {"DataTime": time.strftime("%Y%m%d%H%M%S", t), "a34004-Avg": "35", "a34004-Flag": "N"}
        qn = time.strftime("%Y%m%d%H%M%S", t) + f"{k % 1000:03d}"
        f = encode(Packet.make(qn=qn, st="22", cn="2051", pw="123456", mn=MN, flag=5, cp=cp))
        s = time.perf_counter()
        w.write(f)
        await w.drain()
        await asyncio.wait_for(r.readuntil(b"\r\n"), 30)
        out.append(time.perf_counter() - s)
    w.close()
    return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def measure(frames: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    port_q, stop_q = ctx.Queue(), ctx.Queue()
    sent, attempts = ctx.Value("q", 0), ctx.Value("q", 0)
    server = ctx.Process(target=server_main, args=(port_q, stop_q))
    server.start()
    port = port_q.get(timeout=60)
    quiet = asyncio.run(good_logger(port, frames))
    flooder = ctx.Process(target=flooder_main, args=(port, 3600.0, sent, attempts))
    flooder.start()
    time.sleep(0.5)  # the flood under way
    loud = asyncio.run(good_logger(port, frames))
    flooder.kill()
    flooder.join()
    stop_q.put(1)
    metrics = port_q.get(timeout=60)
    server.join(timeout=30)
    return {
        "quiet_p50": pct(quiet, 0.5),
        "quiet_p99": pct(quiet, 0.99),
        "flood_p50": pct(loud, 0.5),
        "flood_p99": pct(loud, 0.99),
        "flood_bytes": sent.value,
        "attempts": attempts.value,
        "rejected": metrics.get("frames_rejected_total", 0),
        "mean_quiet": statistics.mean(quiet) * 1000,
    }


def main() -> int:
    frames = 200 if "--short" in sys.argv else 2000
    if "--measure-only" in sys.argv:
        print(json.dumps(measure(frames)))
        return 0
    rows = [("new", measure(frames))]
    if "--old-src" in sys.argv:
        src = sys.argv[sys.argv.index("--old-src") + 1]
        env = {**os.environ, "PYTHONPATH": src, "BISHUI_BENCH_OLD_SRC": src}
        args = [sys.executable, __file__, "--measure-only", *sys.argv[1:]]
        out = subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout
        rows.append(("old", json.loads(out.splitlines()[-1])))
    print(f"good logger: {frames} frames one at a time; flooder from 127.0.0.2")
    print(f"{'code':>4} | {'quiet p50':>9} {'quiet p99':>9} | {'flood p50':>9} {'flood p99':>9} | "
          f"{'p99 ratio':>9} | {'flood MiB':>9} {'connects':>8} {'rejected':>8}")  # fmt: skip
    ok = True
    for name, m in rows:
        ratio = m["flood_p99"] / m["quiet_p99"]
        if name == "new":
            ok = ratio <= 2.0
        print(
            f"{name:>4} | {m['quiet_p50']:>6.2f} ms {m['quiet_p99']:>6.2f} ms | "
            f"{m['flood_p50']:>6.2f} ms {m['flood_p99']:>6.2f} ms | {ratio:>9.2f} | "
            f"{m['flood_bytes'] / 2**20:>9.1f} {m['attempts']:>8} {m['rejected']:>8}"
        )
    print(f"goal: flood p99 within 2x of quiet p99 (new code): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
