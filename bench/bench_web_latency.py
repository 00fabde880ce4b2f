"""Page and API latency under load, from a second process on loopback (issue 8, Benchmarks).

The server (uvicorn, one worker, the app over a DuckDB model city) runs in its own process;
this process is the load: ``--users`` concurrent clients (asyncio + httpx, keep-alive), each
sending a request, waiting for the answer, then thinking ``--think`` seconds (uniformly
0.5–1.5 × think, as a locust user does; 0 = back to back), for ``--seconds`` per scenario.

Besides latency it reports the server's CPU time per request (from /proc, user + system):
on a machine shared with other work the latencies mostly measure the queue for the CPU, the
CPU per request much less so.

Scenarios: the baseline ``GET /api/v1/health`` (the app's fixed cost: routing, middleware,
one trivial query), the public page ``/public``, the overview API as the public and as an
analyst (every site). Each is reported against the baseline measured in the same run.

    python bench/bench_web_latency.py            # a year of hourly history, 100 users
    python bench/bench_web_latency.py --short    # 3 days, 20 users, 2 s a scenario (CI)
    python bench/bench_web_latency.py --db /path/bishui.duckdb   # an existing store
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

try:
    import bishui  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import httpx

SERVER = """
import sys
from bishui.app import open_store
from bishui.web import Settings
from bishui.web.app import serve
serve(open_store(sys.argv[1]), Settings(port=int(sys.argv[2]), secret="env:BISHUI_BENCH_SECRET",
                                        api_rate="100000000/1"))
"""


def prepare(path: Path, days: int) -> str:
    """A DuckDB model city with *days* of hourly history ending now; returns an API token."""
    from bishui.app import open_store
    from bishui.demo import city, history
    from bishui.registry import apply
    from bishui.timeutil import now_beijing
    from bishui.web import accounts, schema

    store = open_store(path)
    schema.ensure(store)
    if not store.count("sites"):
        t = time.perf_counter()
        model = city.build()
        apply(store, model.registry)
        now = now_beijing().replace(minute=0, second=0, microsecond=0)
        out = history.generate(
            store, model, now - dt.timedelta(days=days), now + dt.timedelta(hours=1)
        )
        print(f"generated {out['values']:,} values in {time.perf_counter() - t:.0f} s")
    if not store.query("SELECT 1 FROM users WHERE username = 'bench.analyst'"):
        accounts.add_user(store, "bench.analyst", "bench-password-1", "analyst")
    _, token = accounts.new_token(store, "bench.analyst", "bench", days=1)
    n = store.count("measurement")
    store.close()
    print(f"store: {path} ({n:,} measurement rows)")
    return token


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process *pid* [s] (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(
    base: str, path: str, users: int, seconds: float, headers: dict[str, str], think: float
) -> np.ndarray:
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    lat: list[float] = []
    dropped = [0]
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        for _ in range(3):  # warm: connections, the snapshot, DuckDB's caches
            (await client.get(path, headers=headers)).raise_for_status()
        deadline = time.perf_counter() + seconds

        async def user(i: int) -> None:
            rng = np.random.default_rng(i)
            await asyncio.sleep(think * rng.uniform(0, 1))  # users arrive spread out
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                try:
                    r = await client.get(path, headers=headers)
                except httpx.TransportError:
                    # a kept-alive connection the server closed as it was reused: counted
                    # and retried, not timed
                    dropped[0] += 1
                    continue
                lat.append(time.perf_counter() - t)
                if r.status_code != 200:
                    raise RuntimeError(f"{path}: HTTP {r.status_code}")
                if think:
                    await asyncio.sleep(think * rng.uniform(0.5, 1.5))

        await asyncio.gather(*(user(i) for i in range(users)))
    if dropped[0]:
        print(f"  ({path}: {dropped[0]} requests on dropped connections, retried)")
    return np.array(lat) * 1000.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--db", type=Path)
    ap.add_argument("--users", type=int)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--days", type=int)
    ap.add_argument("--think", type=float, help="mean think time [s] (1; --short 0.2)")
    a = ap.parse_args()
    users = a.users or (20 if a.short else 100)
    seconds = a.seconds or (2.0 if a.short else 15.0)
    days = a.days or (3 if a.short else 365)
    think = a.think if a.think is not None else (0.2 if a.short else 1.0)
    tmp = tempfile.TemporaryDirectory()
    db = a.db or Path(tmp.name) / "bench.duckdb"
    token = prepare(db, days)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # serve refuses to start without a signing secret of 32 bytes or more
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
           "BISHUI_BENCH_SECRET": secrets.token_hex(32)}  # fmt: skip
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(db), str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        analyst = {"Authorization": f"Bearer {token}"}
        scenarios = [
            ("baseline GET /api/v1/health", "/api/v1/health", {}),
            ("public page GET /public", "/public", {}),
            ("overview API, public", "/api/v1/overview", {}),
            ("overview API, analyst (110 sites)", "/api/v1/overview", analyst),
        ]
        print(f"{users} concurrent users, think {think:g} s, {seconds:g} s a scenario")
        print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
        print(
            f"{'scenario':38} {'req':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
            f"{'p99 ms':>8} {'p95/base':>9} {'cpu ms/req':>11}"
        )
        base_p95 = None
        for name, path, headers in scenarios:
            cpu0 = cpu_seconds(server.pid)
            ms = asyncio.run(load(base, path, users, seconds, headers, think))
            cpu = (cpu_seconds(server.pid) - cpu0) / (len(ms) + 3) * 1000  # + the warm-up
            p50, p95, p99 = np.percentile(ms, [50, 95, 99])
            base_p95 = base_p95 or p95
            print(
                f"{name:38} {len(ms):6d} {len(ms) / seconds:7.0f} {p50:8.1f} {p95:8.1f} "
                f"{p99:8.1f} {p95 / base_p95:9.2f} {cpu:11.2f}"
            )
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
    finally:
        server.terminate()
        server.wait(timeout=15)
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
