"""Benchmark: the scale-out ingest under faults, reconciled exactly (issue 21 item 5).

One command, all on loopback and bounded::

    .venv/bin/python bench/bench_province.py          # 3 gateways × 400 loggers, 200 sensors, 60 s
    .venv/bin/python bench/bench_province.py --short  # CI: 2 gateways × 40 loggers, 20 sensors

It starts a NATS server of its own (``nats-server -js`` on a free port, its store in a temporary
directory — so restarting it disturbs nobody else's NATS), a Mosquitto of its own
(``/usr/sbin/mosquitto -c`` on a free loopback port, persistence in the temporary directory,
queues of 10⁶ messages; the shared broker on 1883 is not touched) and uses a fresh PostgreSQL
schema. ``BENCH_KEEP=1`` keeps the temporary directory and the schemas.

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
   acknowledging; the NATS server stopped (SIGTERM) and started again on the same store; the
   MQTT broker stopped (SIGTERM: it writes its persistence file) for ``--broker-down`` seconds
   and started again on that file.
   **MQTT grid sensors** alongside: each gateway also runs the grid intake
   (``--mqtt mqtt://127.0.0.1:PORT?client_id=bench-intake-N --mqtt-group bench``, the platform
   key by reference ``--mqtt-key env:BISHUI_BENCH_MQTT_KEY``); the intakes' persistent sessions
   are made in the broker before the sensors start, so each is queued its share from the first
   message. One process simulates K sensors (``--sensors``; registered as grid sites, one
   ``a34004`` each) sending signed minute messages (:mod:`bishui.grid.simulator`,
   time-compressed: one every ``--sensor-interval`` s each) with QoS 1: a message is *accepted*
   when the broker's PUBACK comes; while the broker is away it stays in the sensor's buffer, and
   one with no PUBACK after 5 s is sent again. The gateway SIGKILLed above takes its intake with
   it: a new gateway with the **same client id** is started a second later (docs/grid.md,
   "Several intakes"), and what was queued for that session comes to it.
3. **Reconciliation**: the loggers stop, the writers drain the stream to zero; every frame a
   logger saw acknowledged must be in the store exactly once (``raw_log`` by MN and QN, and its
   minute value in ``measurement``), and no frame may be stored twice. The sensors stop and the
   intakes drain; every message the broker PUBACKed must be in ``grid_message`` by its key
   (device/seq/time) with verdict ``accepted``; no key may be there that no sensor sent; one
   ``raw_log`` row (channel ``mqtt``) per key and none twice, one value per key, nothing
   quarantined. One exception is counted apart, not hidden: **Mosquitto 2.0.11 does not write
   shared subscriptions to its persistence file**, so after its restart a message published
   before an intake subscribes again has no member to go to and is dropped; the missing
   messages PUBACKed between the broker's stop and the second (its log has whole seconds) in
   which the first intake subscribed again are reported as dropped by the broker; any other
   missing message fails the run.

Printed: throughput (baseline and scale-out), 9014 latency, stream lag (its peak and the time to
drain), each fault's recovery time (from the fault's end until the acknowledgement rate is back
to 80 % of its rate before the faults), resends, duplicates the stream dropped, refusals at the
bound, writer batch sizes and commit times; for MQTT: K, messages PUBACKed per second, each
fault's recovery of the PUBACK rate and of the intakes' lag (PUBACKed so far − stored, sampled
every 0.25 s), when an intake subscribed again after the broker's restart, the redeliveries the
surviving and restarted intakes recognised (serve's counters at exit). Exit status 1 if either
reconciliation fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
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
CITY = "420800"  # the grid sensors' topic city (GB/T 2260)
MQTT_GROUP = "bench"  # the intakes' shared subscription group
MQTT_KEY_ENV = "BISHUI_BENCH_MQTT_KEY"  # the platform key, by reference (--mqtt-key env:…)
RESEND = 5.0  # [s] a sensor sends a message again when no PUBACK came for this long


def mn_of(i: int) -> str:
    return f"4232{i:020d}"


def dev_of(i: int) -> str:
    return f"GR{i:06d}"


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


def _published(info: Any) -> bool:
    """The broker's PUBACK came for this publish (False for one made while disconnected)."""
    try:
        return bool(info.is_published())
    except RuntimeError:  # published with no connection: paho's error, no PUBACK to wait for
        return False


# -- the simulated grid sensors (a process of its own: --role sensors) ----------------------
def _sensors(a: argparse.Namespace) -> None:
    """K sensors publishing signed minute messages (time-compressed) with QoS 1 through one
    connection; a message counts as accepted when the broker's PUBACK came. A message with no
    PUBACK after :data:`RESEND` s while connected is sent again (the sensor's buffer); paho also
    resends what is in flight after a reconnect. After the deadline it waits (at most 30 s) for
    the PUBACKs still missing."""
    import datetime as dt

    import paho.mqtt.client as mqtt

    from bishui.grid.payload import parse
    from bishui.grid.simulator import Sensor, messages
    from bishui.timeutil import now_beijing

    key = os.environ[MQTT_KEY_ENV].encode()
    sensors = [Sensor(dev_of(i), CITY, {"a34004": ("μg/m³", 1)}) for i in range(a.count)]
    base = now_beijing().replace(second=0, microsecond=0) - dt.timedelta(days=1)

    def values(device: str, code: str, minute: dt.datetime) -> float:
        return 20 + (minute.minute + int(device[2:])) % 60

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-sensors-{a.first}")
    client.max_inflight_messages_set(1000)
    client.reconnect_delay_set(1, 1)
    client.connect_async("127.0.0.1", int(a.ports), 30)
    client.loop_start()
    seqs: dict[str, int] = {}
    pending: dict[str, tuple[str, bytes, list[Any], float]] = {}
    out: dict[str, Any] = {"sent": [], "acked": [], "resends": 0, "unacked": 0}
    deadline = time.time() + a.seconds
    tick, k = time.time(), 0
    while True:
        now = time.time()
        if now < deadline and now >= tick:
            connected = client.is_connected()
            for topic, payload in messages(sensors, base + dt.timedelta(minutes=k), values, key,
                                           seqs):  # fmt: skip
                mkey = parse(topic, payload).key
                if connected:
                    pending[mkey] = (topic, payload, [client.publish(topic, payload, qos=1)], now)
                else:  # kept in the sensor's buffer until the broker is back
                    pending[mkey] = (topic, payload, [], 0.0)
                out["sent"].append(mkey)
            k += 1
            tick += a.interval
        connected = client.is_connected()
        for mkey, (topic, payload, infos, last) in list(pending.items()):
            if any(_published(i) for i in infos):
                out["acked"].append([mkey, round(now, 3)])
                del pending[mkey]
            elif connected and now - last > RESEND:
                if infos:
                    out["resends"] += 1
                infos.append(client.publish(topic, payload, qos=1))
                pending[mkey] = (topic, payload, infos, now)
        if now >= deadline and (not pending or now > deadline + 30):
            break
        time.sleep(0.05)
    out["unacked"] = len(pending)
    client.disconnect()
    client.loop_stop()
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


def start_gateway(
    procs: Procs, db: str, bus: str | None, max_pending: int, mqtt: str | None = None
) -> tuple[Any, int, int, Path]:
    """A ``bishui serve`` gateway (its port, its metrics port, its log); with *mqtt* (a broker
    URL with the intake's client id) it runs an MQTT intake of the group too."""
    args = ["serve", "--db", db, "--no-web", "--no-jobs", "--gateway-port", "0",
            "--gateway-max-connections-per-peer", "100000", "--metrics-port", "0"]  # fmt: skip
    if bus:
        args += ["--bus", bus, "--bus-max-pending", str(max_pending)]
    if mqtt:
        args += ["--mqtt", mqtt, "--mqtt-group", MQTT_GROUP, "--mqtt-key", f"env:{MQTT_KEY_ENV}"]
    p, log = procs.start("gateway", *bishui(*args))
    port = int(wait_for(log, r"HJ 212 gateway on [\d.]+:(\d+)", p))
    mport = int(wait_for(log, r"metrics on http://[\d.]+:(\d+)/metrics", p))
    return p, port, mport, log


def intake_url(port: int, n: int) -> str:
    return f"mqtt://127.0.0.1:{port}?client_id=bench-intake-{n}"


def broker_conf(tmp: Path, port: int) -> Path:
    """The bench's own Mosquitto: loopback, persistence in *tmp* (written on a graceful stop),
    queues large enough for an intake that is away for the whole run."""
    store = tmp / "mosquitto"
    store.mkdir()
    tmp.chmod(0o711)  # the broker's user reaches its directory
    user = ""
    if os.geteuid() == 0:  # started as root, Mosquitto runs as "mosquitto" (or stays root)
        try:
            shutil.chown(store, "mosquitto")
        except (LookupError, OSError):
            user = "user root\n"
    conf = tmp / "mosquitto.conf"
    conf.write_text(f"""{user}listener {port} 127.0.0.1
allow_anonymous true
persistence true
persistence_location {store}/
autosave_interval 0
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 100
log_dest stderr
log_type error
log_type warning
log_type subscribe
log_timestamp true
""")
    return conf


def start_broker(procs: Procs, conf: Path, port: int) -> tuple[Any, Path]:
    p, log = procs.start("mosquitto", "/usr/sbin/mosquitto", "-c", str(conf))
    end = time.time() + 20
    while time.time() < end:
        with socket.socket() as s, contextlib.suppress(OSError):
            s.connect(("127.0.0.1", port))
            return p, log
        if p.poll() is not None:
            raise RuntimeError(f"mosquitto ended: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.05)
    raise RuntimeError(f"mosquitto: not listening on {port} after 20 s")


def make_sessions(port: int, n: int) -> None:
    """The intakes' persistent sessions made in the bench's broker before the sensors start:
    each client id subscribes once to the group's shared filter and leaves, so the broker
    queues each its share from the first message, whenever its serve process connects."""
    import paho.mqtt.client as mqtt

    from bishui.grid.mqtt import shared_filter

    for i in range(n):
        done = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-intake-{i}",
                        clean_session=False)  # fmt: skip
        c.on_connect = lambda cl, *_: cl.subscribe(shared_filter(MQTT_GROUP), qos=1)
        c.on_subscribe = lambda *_, d=done: d.set()
        c.connect("127.0.0.1", port, 30)
        c.loop_start()
        if not done.wait(10):
            raise RuntimeError(f"bench-intake-{i}: no SUBACK from the bench's broker")
        c.disconnect()
        c.loop_stop()


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


def setup_schema(a: argparse.Namespace, schema: str, sensors: int = 0) -> Any:
    from bishui.app import open_store  # the domains' tables too (grid_message)
    from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply

    store = open_store(f"{PG_URL}?schema={schema}")
    sites = [Site(f"B{i:05d}", "water", f"断面{i}", "420802", body="river", target_class=3)
             for i in range(a.loggers)]  # fmt: skip
    devices = [Device(mn_of(i), f"B{i:05d}", PW, "32",
                      parameters=(DeviceParameter("w01018", "mg/L", 0, 1e3),))
               for i in range(a.loggers)]  # fmt: skip
    for i in range(sensors):  # the grid sensors, as the grid tests register them
        sites.append(Site(f"WG{i:05d}", "grid", f"网格微站{i}", "420802", 112.2, 31.0))
        param = DeviceParameter("a34004", "μg/m³", 0, 1e3)
        devices.append(Device(dev_of(i), f"WG{i:05d}", "pw-not-used", "22", parameters=(param,)))
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


class Stored(threading.Thread):
    """Samples how many MQTT messages the intakes have stored (``grid_message``) every 0.25 s;
    with the sensors' PUBACK times afterwards this gives the intakes' lag."""

    def __init__(self, schema: str) -> None:
        super().__init__(daemon=True)
        self.schema = schema
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as c:
            while not self.stop.is_set():
                row = c.execute(f"SELECT COUNT(*) FROM {self.schema}.grid_message").fetchone()
                self.samples.append((time.time(), int(row[0]) if row else 0))
                self.stop.wait(0.25)


def mqtt_lag(samples: list[tuple[float, int]], acks: list[float]) -> list[tuple[float, int]]:
    """(time, messages PUBACKed to a sensor by then − messages stored by then)."""
    acks = sorted(acks)
    out, j = [], 0
    for t, n in samples:
        while j < len(acks) and acks[j] <= t:
            j += 1
        out.append((t, max(0, j - n)))
    return out


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
    ap.add_argument("--sensors", type=int, default=200, help="MQTT grid sensors (K)")
    ap.add_argument("--sensor-interval", type=float, default=1.0,
                    help="seconds between a sensor's messages")  # fmt: skip
    ap.add_argument("--broker-down", type=float, default=3.0, help="the MQTT broker stopped [s]")
    a = ap.parse_args()
    if a.role == "loggers":
        asyncio.run(_loggers(a))
        return 0
    if a.role == "sensors":
        _sensors(a)
        return 0
    if a.short:
        a.gateways, a.writers, a.loggers, a.logger_procs = 2, 2, 40, 1
        a.interval, a.seconds, a.baseline_seconds, a.stall = 0.2, 14.0, 4.0, 2.5
        a.max_pending = 300
        a.sensors, a.sensor_interval, a.broker_down = 20, 0.2, 1.0
    nats_bin = shutil.which("nats-server")
    if not nats_bin:
        print("nats-server not found (Debian: apt-get install nats-server)", file=sys.stderr)
        return 2
    if not Path("/usr/sbin/mosquitto").exists():
        print("/usr/sbin/mosquitto not found (Debian: apt-get install mosquitto)", file=sys.stderr)
        return 2
    return asyncio.run(bench(a, nats_bin))


async def bench(a: argparse.Namespace, nats_bin: str) -> int:
    import psycopg

    tmp = Path(tempfile.mkdtemp(prefix="bench-province-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "BISHUI_BUS_STREAM": "BENCH_INGEST",
           MQTT_KEY_ENV: secrets.token_hex(32)}  # fmt: skip
    procs = Procs(tmp, env)
    tag = uuid.uuid4().hex[:8]
    base_schema, schema = f"bench_base_{tag}", f"bench_prov_{tag}"
    stores = [setup_schema(a, base_schema), setup_schema(a, schema, a.sensors)]
    nport = free_port()
    nats_url = f"nats://127.0.0.1:{nport}"
    nats_args = [nats_bin, "-js", "-a", "127.0.0.1", "-p", str(nport), "-sd", str(tmp / "js")]
    mport = free_port()
    conf = broker_conf(tmp, mport)
    print(f"province bench: {a.gateways} gateways × {a.loggers} loggers ({a.logger_procs} "
          f"processes, a frame every {a.interval:g} s each), {a.writers} writers, PostgreSQL "
          f"{PG_URL.rsplit('/', 1)[-1]}, NATS {nats_url} (own server); {a.sensors} MQTT grid "
          f"sensors (a message every {a.sensor_interval:g} s each) through Mosquitto "
          f"127.0.0.1:{mport} (own server) to an intake in each gateway, group {MQTT_GROUP}",
          flush=True)  # fmt: skip
    ok = True
    try:
        nats_proc, _ = procs.start("nats", *nats_args)
        broker, _ = start_broker(procs, conf, mport)
        make_sessions(mport, a.gateways)
        # 1. baseline: the single-process path
        g, port, _, _ = start_gateway(procs, f"{PG_URL}?schema={base_schema}", None, 0)
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
        gws = [start_gateway(procs, db, nats_url, a.max_pending, intake_url(mport, n))
               for n in range(a.gateways)]  # fmt: skip
        restarted = []
        writers = [start_writer(procs, db, nats_url, a) for _ in range(a.writers)]
        lag = Lag(nats_url, "BENCH_INGEST")
        lag_task = asyncio.create_task(lag.run())
        grid_n = Stored(schema)
        grid_n.start()
        sensors_out = tmp / "sensors.json"
        sensors, _ = procs.start("sensors", sys.executable, __file__, "--role", "sensors",
                                 "--ports", str(mport), "--first", "0", "--count", str(a.sensors),
                                 "--seconds", str(a.seconds + WARMUP), "--interval",
                                 str(a.sensor_interval), "--out", str(sensors_out))  # fmt: skip
        runs = run_loggers(procs, a, [g[1] for g in gws], a.seconds + WARMUP, "bus")
        start = time.time() + WARMUP  # the loggers' processes are up and sending
        s = a.seconds
        plan = [(0.15 * s, "gateway"), (0.30 * s, "writer"), (0.45 * s, "stall"),
                (0.70 * s, "nats"), (0.80 * s, "broker")]  # fmt: skip
        faults: list[tuple[str, float, float]] = []
        for at, what in plan:
            await asyncio.sleep(max(0.0, start + at - time.time()))
            t_f = time.time()
            if what == "gateway":
                gws[0][0].send_signal(signal.SIGKILL)
                await asyncio.sleep(1.0)  # its intake's client id back (docs/grid.md)
                restarted.append(start_gateway(procs, db, nats_url, a.max_pending,
                                               intake_url(mport, 0)))  # fmt: skip
                faults.append(("gateway SIGKILL (its MQTT intake restarted with the same client "
                               "id after 1 s)", t_f, time.time()))  # fmt: skip
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
            elif what == "broker":
                broker_down_at = time.time()
                broker.terminate()  # SIGTERM: Mosquitto writes its persistence file
                broker.wait(20)
                await asyncio.sleep(a.broker_down)
                broker, broker_log = start_broker(procs, conf, mport)
                broker_up = time.time()
                faults.append((f"MQTT broker stopped {a.broker_down:g} s (SIGTERM) and started "
                               "on its persistence file", t_f, time.time()))  # fmt: skip
        got = gather(runs)
        sensors.wait(120)
        mq = json.loads(sensors_out.read_text())
        sent_end = time.time()
        # drain: wait for the lag to reach zero
        while time.time() - sent_end < 120:
            if lag.samples and lag.samples[-1][0] > sent_end + 0.5 and lag.samples[-1][1] == 0:
                break
            await asyncio.sleep(0.25)
        drained = time.time() - sent_end
        lag.stop.set()
        await lag_task
        # the intakes drain: every PUBACKed message stored, or nothing new for 3 s (or 60 s)
        mq_acked = {k for k, _ in mq["acked"]}
        n_keys, changed = -1, time.time()
        while time.time() - sent_end < 60 and time.time() - changed < 3:
            keys = {r["key"] for r in stores[1].query("SELECT key FROM grid_message")}
            if len(keys) != n_keys:
                n_keys, changed = len(keys), time.time()
            if mq_acked <= keys:
                break
            await asyncio.sleep(0.25)
        mq_drained = changed - sent_end
        grid_n.stop.set()
        grid_n.join(10)
        wstats = [scrape(mp) for _, mp in writers]
        gstats = [scrape(g[2]) for g in gws[1:] + restarted]
        counts: dict[str, int] = {}  # the intakes' counters, printed by serve at its exit
        for g in gws[1:] + restarted:
            g[0].terminate()
            g[0].wait(30)
            for line in reversed(g[3].read_text(errors="replace").splitlines()):
                if line.startswith("{") and '"mqtt"' in line:
                    for k, v in json.loads(line)["mqtt"].items():
                        counts[k] = counts.get(k, 0) + int(v)
                    break

        # 3. reconciliation
        acked = {(mn, qn) for mn, qn, _ in got["acked"]}
        rows = stores[1].query("SELECT mn, qn, COUNT(*) AS n FROM raw_log WHERE verdict <> "
                               "'rejected' AND channel <> 'mqtt' GROUP BY mn, qn")  # fmt: skip
        stored = {(r["mn"], r["qn"]): int(r["n"]) for r in rows}
        missing = [k for k in acked if k not in stored]
        twice = [k for k, n in stored.items() if n > 1]
        minutes = stores[1].count("measurement", "period = 'min' AND site_id LIKE 'B%'")
        ok = not missing and not twice and minutes == len(stored)
        # the MQTT messages: grid_message by key, raw_log (channel mqtt) by device and seq
        grid = {r["key"]: r["verdict"] for r in stores[1].query(
            "SELECT key, verdict FROM grid_message")}  # fmt: skip
        mq_sent = set(mq["sent"])
        # Mosquitto 2.0.11 does not write shared subscriptions to its persistence file
        # (docs/grid.md): after its restart, a message published before an intake subscribes
        # again is dropped. The broker's log (seconds) bounds that window.
        resub = [
            int(m.group(1))
            for m in re.finditer(
                r"^(\d+): bench-intake-\d+ 1 \$share/", broker_log.read_text(errors="replace"), re.M
            )
        ]
        window = (broker_down_at, (min(resub) + 1.0) if resub else broker_up)
        when = dict(mq["acked"])
        mq_lost = [k for k in mq_acked if k not in grid]
        mq_dropped = [k for k in mq_lost if window[0] <= when[k] <= window[1] + 0.2]
        mq_missing = [k for k in mq_lost if k not in set(mq_dropped)]
        mq_foreign = [k for k in grid if k not in mq_sent]
        mq_bad = [k for k, v in grid.items() if v != "accepted"]
        mq_twice = stores[1].query("SELECT mn, qn FROM raw_log WHERE channel = 'mqtt' "
                                   "GROUP BY mn, qn HAVING COUNT(*) > 1")  # fmt: skip
        mq_raw = stores[1].count("raw_log", "channel = 'mqtt'")
        mq_rows = stores[1].count("measurement", "site_id LIKE 'WG%'")
        mq_quar = stores[1].count("quarantine", "channel = 'mqtt'")
        mq_ok = (not mq_missing and not mq_foreign and not mq_bad and not mq_twice
                 and mq_raw == len(grid) == mq_rows and mq_quar == 0)  # fmt: skip
        ok = ok and mq_ok
        rate = len(got["acked"]) / (a.seconds + WARMUP)
        pre = (start, faults[0][1])
        acks_t = [t for _, _, t in got["acked"]]
        mq_t = [t for _, t in mq["acked"]]
        lost = set(mq_lost)  # the lag counts what can still come: not what the broker dropped
        mq_lag = mqtt_lag(grid_n.samples, [t for k, t in mq["acked"] if k not in lost])
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
            mq_back = recovery(mq_t, pre, t_f, t_end)
            mq_settled = lag_recovery(mq_lag, pre, t_end)
            print(f"  fault at {t_f - start:5.1f} s, {t_end - t_f:.1f} s long: {name}: "
                  f"acknowledgements back to 80 % {back:.1f} s and stream lag back to its level "
                  f"{settled:.1f} s after it ended; MQTT: PUBACKs back to 80 % {mq_back:.1f} s, "
                  f"intakes' lag back to its level {mq_settled:.1f} s", flush=True)  # fmt: skip
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
        mq_rate = len(mq["acked"]) / (a.seconds + WARMUP)
        mq_pre = sum(1 for t in mq_t if pre[0] <= t < pre[1]) / max(pre[1] - pre[0], 1e-9)
        resub_s = f"{min(resub) + 1 - broker_up:.1f}" if resub else "?"
        print(f"MQTT: {a.sensors} sensors, {len(mq['sent']):,} messages sent, "
              f"{len(mq['acked']):,} PUBACKed by the broker in {a.seconds + WARMUP:g} s = "
              f"{mq_rate:,.0f}/s ({mq_pre:,.0f}/s before the first fault); sensor resends "
              f"{mq['resends']:,}, never PUBACKed {mq['unacked']}; intakes' lag peak "
              f"{max((v for _, v in mq_lag), default=0):,} messages, the last stored "
              f"{mq_drained:.1f} s after the sensors stopped; after the broker's restart the first "
              f"intake subscribed again within {resub_s} s of its start (the broker's log has "
              f"whole seconds: an upper bound)", flush=True)  # fmt: skip
        print(f"  surviving and restarted intakes: {counts.get('received', 0):,} received, "
              f"{counts.get('stored', 0):,} stored, {counts.get('duplicate', 0):,} redeliveries "
              f"recognised (written nothing), {counts.get('commit_failures', 0)} failed commits",
              flush=True)  # fmt: skip
        print(f"reconciliation (MQTT): {len(mq_acked):,} PUBACKed messages, {len(grid):,} stored "
              f"({len(grid) - len(mq_acked) + len(mq_lost):,} stored but never PUBACKed), "
              f"{len(mq_dropped)} PUBACKed and dropped by the restarted broker before an intake "
              f"subscribed again ({window[0] - start:.1f}–{window[1] - start:.1f} s), "
              f"{len(mq_missing)} PUBACKed and otherwise missing, {len(mq_foreign)} stored "
              f"that no sensor sent, "
              f"{len(mq_twice)} stored twice, {len(mq_bad)} not accepted, {mq_quar} quarantined; "
              f"{mq_raw:,} raw-log rows, {mq_rows:,} values: {'OK' if mq_ok else 'FAILED'}",
              flush=True)  # fmt: skip
        if mq_missing:
            first = sorted(mq_missing, key=lambda k: when[k])
            print(f"  missing, first PUBACKed at {when[first[0]] - start:.1f} s, last at "
                  f"{when[first[-1]] - start:.1f} s: {first[:3]}", flush=True)  # fmt: skip
            if os.environ.get("BENCH_KEEP"):
                print(f"  kept: {tmp}, schema {schema}", flush=True)
                procs.stop_all()
                return 1
    finally:
        procs.stop_all()
        for st in stores if not os.environ.get("BENCH_KEEP") else []:
            st.drop_schema()
            st.close()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
