"""Benchmark: the scale-out ingest under faults, reconciled exactly (issue 21 item 5).

One command, all on loopback and bounded::

    .venv/bin/python bench/bench_province.py            # 3 gateways × 400 loggers, 60 s
    .venv/bin/python bench/bench_province.py --short    # CI: 2 gateways × 40 loggers, ~12 s

It starts a NATS server of its own (``nats-server -js`` on a free port, its store in a temporary
directory — so restarting it disturbs nobody else's NATS) and uses a fresh PostgreSQL schema.

1. **Baseline, the single-process path**: one ``bishui serve --no-web`` without a bus (the
   gateway commits to PostgreSQL itself before each 9014), the same loggers for a short time, no
   faults: acknowledged frames per second and the 9014 latency.
2. **Scale-out**: G ``bishui serve --no-web --no-jobs --bus`` gateways, W ``bishui drain``
   writers on one durable consumer, L logger processes of simulated data loggers (minute data,
   time-compressed: one frame every ``--interval`` seconds each). A logger keeps one connection,
   waits for each 9014 and, on a timeout or a broken connection, reconnects to the next gateway
   of the list (what a TCP load balancer does on reconnect) and resends the same frame.
   Faults, in order: a gateway SIGKILLed; a writer SIGKILLed (restarted a second later);
   PostgreSQL stalled — the bench holds ``LOCK TABLE raw_log IN ACCESS EXCLUSIVE MODE`` in its
   schema for ``--stall`` seconds (the shared server itself is not paused: other sessions use it)
   — so the writers wait, the stream buffers, and beyond ``--max-pending`` the gateways stop
   acknowledging; the NATS server stopped (SIGTERM) and started again on the same store.
3. **Reconciliation**: the loggers stop, the writers drain the stream to zero; every frame a
   logger saw acknowledged must be in the store exactly once (``raw_log`` by MN and QN, and its
   minute value in ``measurement``), and no frame may be stored twice.

Printed: throughput (baseline and scale-out), 9014 latency, stream lag (its peak and the time to
drain), each fault's recovery time (from the fault's end until the acknowledgement rate is back
to 80 % of its rate before the faults), resends, duplicates the stream dropped, refusals at the
bound, writer batch sizes and commit times. Exit status 1 if the reconciliation fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

PG_URL = os.environ.get("BISHUI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parents[1]
PW = "bench-pw-21"
T0 = "2026-12-01 00:00:00"  # the loggers' first DataTime (minute data, time-compressed)
WARMUP = 3.0  # [s] the logger processes start before the faults' clock


def mn_of(i: int) -> str:
    return f"4232{i:020d}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the simulated loggers (a process of its own: --role loggers) ---------------------------
async def _logger(
    i: int, ports: list[int], deadline: float, interval: float, out: dict[str, Any]
) -> None:
    import datetime as dt

    from bishui.hj212 import Packet, decode, encode

    mn, start = mn_of(i), dt.datetime.fromisoformat(T0)
    port_i = i % len(ports)
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    k = 0
    while time.time() < deadline:
        ts = start + dt.timedelta(minutes=k)
        qn = f"{ts:%Y%m%d%H%M%S}000"
        cp = {"DataTime": f"{ts:%Y%m%d%H%M%S}", "w01018-Avg": f"{k % 50}.5", "w01018-Flag": "N"}
        frame = encode(Packet.make(qn=qn, st="32", cn="2051", pw=PW, mn=mn, flag=5, cp=cp))
        first = time.time()
        while True:
            try:
                if conn is None:
                    conn = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", ports[port_i]), 2
                    )
                conn[1].write(frame)
                await conn[1].drain()
                while True:  # skip anything that is not the 9014 of this frame
                    reply = decode(await asyncio.wait_for(conn[0].readuntil(b"\r\n"), 3))
                    if reply.cn == "9014":
                        break
                break
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                if conn is not None:
                    conn[1].close()
                conn = None
                port_i = (port_i + 1) % len(ports)
                out["resends"] += 1
                if time.time() > deadline + 30:  # give up: not acknowledged, not counted
                    out["unacked"] += 1
                    return
                await asyncio.sleep(0.2)
        now = time.time()
        out["acked"].append([mn, qn, round(now, 3)])
        out["latency"].append(now - first)
        k += 1
        await asyncio.sleep(max(0.0, interval - (time.time() - first)))
    if conn is not None:
        conn[1].close()


async def _loggers(a: argparse.Namespace) -> None:
    out: dict[str, Any] = {"acked": [], "latency": [], "resends": 0, "unacked": 0}
    ports = [int(p) for p in a.ports.split(",")]
    deadline = time.time() + a.seconds
    tasks = [
        asyncio.create_task(_logger(i, ports, deadline, a.interval, out))
        for i in range(a.first, a.first + a.count)
    ]
    await asyncio.gather(*tasks)
    Path(a.out).write_text(json.dumps(out))


# -- the bench --------------------------------------------------------------------------------
class Procs:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp, self.env, self.all = tmp, env, []

    def start(self, name: str, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.tmp / f"{name}-{len(self.all)}.log"
        with open(log, "wb") as err:
            p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, env=self.env)
        self.all.append(p)
        return p, log

    def stop_all(self) -> None:
        for p in self.all:
            if p.poll() is None:
                p.terminate()
        for p in self.all:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def wait_for(log: Path, pattern: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> str:
    end = time.time() + timeout
    while time.time() < end:
        m = re.search(pattern, log.read_text(errors="replace"))
        if m:
            return m.group(1)
        if proc.poll() is not None:
            raise RuntimeError(f"{log.name} ended: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.05)
    raise RuntimeError(f"{log.name}: no {pattern!r} after {timeout} s")


def bishui(*args: str) -> list[str]:
    return [sys.executable, "-m", "bishui", *args]


def start_gateway(procs: Procs, db: str, bus: str | None, max_pending: int) -> tuple[Any, int, int]:
    args = ["serve", "--db", db, "--no-web", "--no-jobs", "--gateway-port", "0",
            "--gateway-max-connections-per-peer", "100000", "--metrics-port", "0"]  # fmt: skip
    if bus:
        args += ["--bus", bus, "--bus-max-pending", str(max_pending)]
    p, log = procs.start("gateway", *bishui(*args))
    port = int(wait_for(log, r"HJ 212 gateway on [\d.]+:(\d+)", p))
    mport = int(wait_for(log, r"metrics on http://[\d.]+:(\d+)/metrics", p))
    return p, port, mport


def start_writer(procs: Procs, db: str, bus: str, a: argparse.Namespace) -> tuple[Any, int]:
    p, log = procs.start("writer", *bishui(
        "drain", "--db", db, "--bus", bus, "--bus-ack-wait", str(a.ack_wait), "--batch", "500",
        "--bus-max-pending", str(a.max_pending), "--metrics-port", "0"))  # fmt: skip
    return p, int(wait_for(log, r"metrics on http://[\d.]+:(\d+)/metrics", p))


def scrape(port: int) -> dict[str, float]:
    """name{labels} → value of a /metrics listener (0 if it is gone)."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    except OSError:
        return {}
    out = {}
    for line in text.decode().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def run_loggers(
    procs: Procs, a: argparse.Namespace, ports: list[int], seconds: float, tag: str
) -> list[tuple[Any, Path]]:
    per = -(-a.loggers // a.logger_procs)
    runs = []
    for j in range(a.logger_procs):
        first, count = j * per, min(per, a.loggers - j * per)
        out = procs.tmp / f"loggers-{tag}-{j}.json"
        p, _ = procs.start(f"loggers-{tag}", sys.executable, __file__, "--role", "loggers",
                           "--ports", ",".join(map(str, ports)), "--first", str(first),
                           "--count", str(count), "--seconds", str(seconds),
                           "--interval", str(a.interval), "--out", str(out))  # fmt: skip
        runs.append((p, out))
    return runs


def gather(runs: list[tuple[Any, Path]]) -> dict[str, Any]:
    total: dict[str, Any] = {"acked": [], "latency": [], "resends": 0, "unacked": 0}
    for p, out in runs:
        p.wait(300)
        d = json.loads(out.read_text())
        for k in total:
            total[k] += d[k]
    return total


def latencies(values: list[float]) -> str:
    return f"p50 {pct(values, 0.5) * 1e3:.0f} ms, p95 {pct(values, 0.95) * 1e3:.0f} ms"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def setup_schema(a: argparse.Namespace, schema: str) -> Any:
    from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
    from bishui.store import open_store

    store = open_store(f"{PG_URL}?schema={schema}")
    sites = [Site(f"B{i:05d}", "water", f"断面{i}", "420802", body="river", target_class=3)
             for i in range(a.loggers)]  # fmt: skip
    devices = [Device(mn_of(i), f"B{i:05d}", PW, "32",
                      parameters=(DeviceParameter("w01018", "mg/L", 0, 1e3),))
               for i in range(a.loggers)]  # fmt: skip
    apply(store, Registry(regions=[Region("420802", "东宝区", "district")], sites=sites,
                          devices=devices))  # fmt: skip
    return store


async def _quiet(exc: Exception) -> None:  # the NATS restart is expected
    return None


class Lag:
    """Samples the consumer's lag (pending + unacknowledged) every 0.25 s."""

    def __init__(self, url: str, stream: str) -> None:
        self.url, self.stream, self.samples = url, stream, []
        self.stop = asyncio.Event()

    async def run(self) -> None:
        import nats

        nc = None
        while not self.stop.is_set():
            try:
                if nc is None or not nc.is_connected:
                    nc = await nats.connect(self.url, max_reconnect_attempts=1,
                                            connect_timeout=1, error_cb=_quiet)  # fmt: skip
                info = await nc.jetstream().consumer_info(self.stream, "bishui-writer")
                lag = (info.num_pending or 0) + (info.num_ack_pending or 0)
                self.samples.append((time.time(), lag))
            except Exception:  # NATS away (the restart), or the consumer not made yet
                nc = None
            await asyncio.sleep(0.25)
        if nc is not None:
            await nc.close()


def recovery(acks: list[float], before: tuple[float, float], fault: float, end: float) -> float:
    """Seconds from *end* (the fault over) until the ack rate per 0.5 s is back to 80 % of its
    median over *before*; measured from the fault's start if it never dipped."""
    bins: dict[int, int] = {}
    for t in acks:
        bins[int(t * 2)] = bins.get(int(t * 2), 0) + 1
    base = [bins.get(b, 0) for b in range(int(before[0] * 2), int(before[1] * 2))]
    target = 0.8 * (statistics.median(base) if base else 0)
    b = int(end * 2)
    last = max(bins) if bins else b
    while b <= last and bins.get(b, 0) < target:
        b += 1
    return max(0.0, b / 2 - end)


def lag_recovery(
    samples: list[tuple[float, int]], before: tuple[float, float], end: float
) -> float:
    """Seconds from *end* until the stream lag is back within twice its median over *before*
    (plus 10 messages)."""
    base = [v for t, v in samples if before[0] <= t < before[1]]
    level = 2 * (statistics.median(base) if base else 0) + 10
    for t, v in samples:
        if t >= end and v <= level:
            return t - end
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--role", default="bench", help=argparse.SUPPRESS)
    ap.add_argument("--ports", help=argparse.SUPPRESS)
    ap.add_argument("--first", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--short", action="store_true", help="CI: small and quick (~1 min)")
    ap.add_argument("--gateways", type=int, default=3)
    ap.add_argument("--writers", type=int, default=2)
    ap.add_argument("--loggers", type=int, default=400)
    ap.add_argument("--logger-procs", type=int, default=2)
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between a logger's frames")
    ap.add_argument("--seconds", type=float, default=60.0, help="the scale-out run")
    ap.add_argument("--baseline-seconds", type=float, default=15.0)
    ap.add_argument("--stall", type=float, default=8.0, help="PostgreSQL stalled [s]")
    ap.add_argument("--max-pending", type=int, default=2000, help="the stream's bound")
    ap.add_argument("--ack-wait", type=float, default=5.0, help="the writers' ack wait [s]")
    a = ap.parse_args()
    if a.role == "loggers":
        asyncio.run(_loggers(a))
        return 0
    if a.short:
        a.gateways, a.writers, a.loggers, a.logger_procs = 2, 2, 40, 1
        a.interval, a.seconds, a.baseline_seconds, a.stall = 0.2, 14.0, 4.0, 2.5
        a.max_pending = 300
    nats_bin = shutil.which("nats-server")
    if not nats_bin:
        print("nats-server not found (Debian: apt-get install nats-server)", file=sys.stderr)
        return 2
    return asyncio.run(bench(a, nats_bin))


async def bench(a: argparse.Namespace, nats_bin: str) -> int:
    import psycopg

    tmp = Path(tempfile.mkdtemp(prefix="bench-province-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "BISHUI_BUS_STREAM": "BENCH_INGEST"}
    procs = Procs(tmp, env)
    tag = uuid.uuid4().hex[:8]
    base_schema, schema = f"bench_base_{tag}", f"bench_prov_{tag}"
    stores = [setup_schema(a, base_schema), setup_schema(a, schema)]
    nport = free_port()
    nats_url = f"nats://127.0.0.1:{nport}"
    nats_args = [nats_bin, "-js", "-a", "127.0.0.1", "-p", str(nport), "-sd", str(tmp / "js")]
    print(f"province bench: {a.gateways} gateways × {a.loggers} loggers ({a.logger_procs} "
          f"processes, a frame every {a.interval:g} s each), {a.writers} writers, PostgreSQL "
          f"{PG_URL.rsplit('/', 1)[-1]}, NATS {nats_url} (own server)", flush=True)  # fmt: skip
    ok = True
    try:
        nats_proc, _ = procs.start("nats", *nats_args)
        # 1. baseline: the single-process path
        g, port, _ = start_gateway(procs, f"{PG_URL}?schema={base_schema}", None, 0)
        t = time.time()
        base = gather(run_loggers(procs, a, [port], a.baseline_seconds, "base"))
        base_s = time.time() - t
        g.terminate()
        g.wait(20)
        base_rate = len(base["acked"]) / a.baseline_seconds
        print(f"baseline (serve, no bus, one process): {len(base['acked']):,} frames acknowledged "
              f"in {a.baseline_seconds:g} s = {base_rate:,.0f}/s; 9014 latency "
              f"{latencies(base['latency'])} (run {base_s:.1f} s)", flush=True)  # fmt: skip

        # 2. scale-out with faults
        db = f"{PG_URL}?schema={schema}"
        gws = [start_gateway(procs, db, nats_url, a.max_pending) for _ in range(a.gateways)]
        writers = [start_writer(procs, db, nats_url, a) for _ in range(a.writers)]
        lag = Lag(nats_url, "BENCH_INGEST")
        lag_task = asyncio.create_task(lag.run())
        runs = run_loggers(procs, a, [p for _, p, _ in gws], a.seconds + WARMUP, "bus")
        start = time.time() + WARMUP  # the loggers' processes are up and sending
        s = a.seconds
        plan = [(0.15 * s, "gateway"), (0.30 * s, "writer"), (0.45 * s, "stall"),
                (0.70 * s, "nats")]  # fmt: skip
        faults: list[tuple[str, float, float]] = []
        for at, what in plan:
            await asyncio.sleep(max(0.0, start + at - time.time()))
            t_f = time.time()
            if what == "gateway":
                gws[0][0].send_signal(signal.SIGKILL)
                faults.append(("gateway SIGKILL", t_f, time.time()))
            elif what == "writer":
                writers[0][0].send_signal(signal.SIGKILL)
                await asyncio.sleep(1.0)
                writers[0] = start_writer(procs, db, nats_url, a)
                faults.append(("writer SIGKILL (restarted after 1 s)", t_f, time.time()))
            elif what == "stall":
                with psycopg.connect(PG_URL.replace("postgresql://", "postgresql://", 1)) as c:
                    c.execute(f"LOCK TABLE {schema}.raw_log IN ACCESS EXCLUSIVE MODE")
                    await asyncio.sleep(a.stall)
                    c.rollback()
                faults.append((f"PostgreSQL stalled {a.stall:g} s (lock)", t_f, time.time()))
            elif what == "nats":
                nats_proc.terminate()
                nats_proc.wait(20)
                nats_proc, _ = procs.start("nats", *nats_args)
                faults.append(("NATS restarted", t_f, time.time()))
        got = gather(runs)
        sent_end = time.time()
        # drain: wait for the lag to reach zero
        while time.time() - sent_end < 120:
            if lag.samples and lag.samples[-1][0] > sent_end + 0.5 and lag.samples[-1][1] == 0:
                break
            await asyncio.sleep(0.25)
        drained = time.time() - sent_end
        lag.stop.set()
        await lag_task
        wstats = [scrape(mp) for _, mp in writers]
        gstats = [scrape(mp) for _, _, mp in gws[1:]]

        # 3. reconciliation
        acked = {(mn, qn) for mn, qn, _ in got["acked"]}
        rows = stores[1].query("SELECT mn, qn, COUNT(*) AS n FROM raw_log "
                               "WHERE verdict <> 'rejected' GROUP BY mn, qn")  # fmt: skip
        stored = {(r["mn"], r["qn"]): int(r["n"]) for r in rows}
        missing = [k for k in acked if k not in stored]
        twice = [k for k, n in stored.items() if n > 1]
        minutes = stores[1].count("measurement", "period = 'min'")
        ok = not missing and not twice and minutes == len(stored)
        rate = len(got["acked"]) / (a.seconds + WARMUP)
        pre = (start, faults[0][1])
        acks_t = [t for _, _, t in got["acked"]]
        print(f"scale-out with faults: {len(got['acked']):,} frames acknowledged in "
              f"{a.seconds + WARMUP:g} s"
              f" = {rate:,.0f}/s ({rate / base_rate:.2f}× the baseline); 9014 latency "
              f"{latencies(got['latency'])}, max {max(got['latency'], default=0):.1f} s; "
              f"resends {got['resends']:,}, "
              f"given up {got['unacked']}", flush=True)  # fmt: skip
        steady = sum(1 for t in acks_t if pre[0] <= t < pre[1]) / max(pre[1] - pre[0], 1e-9)
        print(f"  before the first fault ({pre[1] - pre[0]:.1f} s): {steady:,.0f}/s "
              f"({steady / base_rate:.2f}× the baseline)", flush=True)  # fmt: skip
        for name, t_f, t_end in faults:
            back = recovery(acks_t, pre, t_f, t_end)
            settled = lag_recovery(lag.samples, pre, t_end)
            print(f"  fault at {t_f - start:5.1f} s, {t_end - t_f:.1f} s long: {name}: "
                  f"acknowledgements back to 80 % {back:.1f} s and stream lag back to its level "
                  f"{settled:.1f} s after it ended", flush=True)  # fmt: skip
        peak = max((v for _, v in lag.samples), default=0)
        dup = sum(v for g in gstats for k, v in g.items() if k == "bishui_bus_duplicates_total")
        full = sum(v for g in gstats for k, v in g.items()
                   if k.startswith("bishui_bus_refused_total"))  # fmt: skip
        wb = sum(w.get("bishui_writer_batch_size_count", 0) for w in wstats)
        wm = sum(w.get("bishui_writer_batch_size_sum", 0) for w in wstats)
        wc = sum(w.get("bishui_writer_commit_seconds_sum", 0) for w in wstats)
        skipped = sum(w.get("bishui_writer_redelivered_skipped_total", 0) for w in wstats)
        print(f"  stream lag: peak {peak:,} messages (bound {a.max_pending:,}); drained to 0 "
              f"{drained:.1f} s after the loggers stopped", flush=True)  # fmt: skip
        print(f"  surviving gateways: {dup:,.0f} duplicates dropped by the stream, {full:,.0f} "
              f"publishes refused or unconfirmed (no 9014); surviving writers: {wb:,.0f} batches, "
              f"mean {wm / max(wb, 1):,.1f} messages, mean commit {wc / max(wb, 1) * 1e3:.1f} ms, "
              f"{skipped:,.0f} redelivered messages found committed", flush=True)  # fmt: skip
        print(f"reconciliation: {len(acked):,} acknowledged frames, {len(stored):,} stored "
              f"({len(stored) - len(acked):,} stored but never acknowledged: the gateway or NATS "
              f"went before the 9014), {len(missing)} acknowledged but missing, {len(twice)} "
              f"stored twice, {minutes:,} minute values: {'OK' if ok else 'FAILED'}",
              flush=True)  # fmt: skip
    finally:
        procs.stop_all()
        for st in stores:
            st.drop_schema()
            st.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
