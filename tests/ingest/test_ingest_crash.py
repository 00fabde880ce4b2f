"""Nothing acknowledged is lost: SIGKILL the server while loggers send, on both backends.

A real ``bishui serve`` process receives minute data from several connections; each frame asks
for a 9014. The process is killed with SIGKILL mid-stream. Every frame that had its 9014 must
then be in the store; after a restart the loggers resend everything (as loggers do for what
they were not answered, and here for what they were, to test re-delivery), and every frame's
values are in the store exactly once.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from backends import drop_store, make_store
from bishui.hj212 import Packet, decode, encode
from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
from bishui.store import Store
from bishui.timeutil import now_beijing

MNS = [f"4208320000000000000000{i:02d}" for i in range(6)]
PARAMS = ("w00000", "w01018", "w21003")
# recent: data older than the backfill window is quarantined (issue 13)
T0 = (now_beijing() - dt.timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
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


class Logger(threading.Thread):
    """One logger on a blocking socket, every wait bounded by a timeout so nothing can hang:
    send a frame, wait for its 9014, record the QN as acknowledged, repeat — until its frames
    are sent, *stop* is set, or the connection dies (the kill, in the first run)."""

    def __init__(
        self, port: int, mn: str, acked: set[tuple[str, str]], lock: threading.Lock,
        stop: threading.Event,
    ) -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.port, self.mn, self.acked, self.lock, self.stop = port, mn, acked, lock, stop
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
                buf = b""
                for k in range(FRAMES_PER_LOGGER):
                    if self.stop.is_set():
                        return
                    qn, data = frame(self.mn, k)
                    sock.sendall(data)
                    while b"\r\n" not in buf:
                        chunk = sock.recv(4096)
                        if not chunk:
                            raise ConnectionError("closed by the server")
                        buf += chunk
                    line, _, buf = buf.partition(b"\r\n")
                    reply = decode(line + b"\r\n")
                    assert reply.cn == "9014" and reply.qn == qn
                    with self.lock:
                        self.acked.add((self.mn, qn))
        except OSError as exc:  # ConnectionError and socket timeouts are OSErrors
            self.error = exc


def run_loggers(
    port: int, acked: set[tuple[str, str]], *, kill_after: int | None = None,
    proc: subprocess.Popen[bytes] | None = None,
) -> list[Logger]:  # fmt: skip
    lock, stop = threading.Lock(), threading.Event()
    loggers = [Logger(port, mn, acked, lock, stop) for mn in MNS]
    for lg in loggers:
        lg.start()
    if kill_after is not None:
        assert proc is not None
        deadline = time.monotonic() + 120
        while len(acked) < kill_after:
            if not any(lg.is_alive() for lg in loggers) or time.monotonic() > deadline:
                proc.kill()
                errors = [lg.error for lg in loggers]
                raise AssertionError(f"only {len(acked)} frames acknowledged: {errors}")
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)  # mid-stream: other frames are in flight
        stop.set()
    for lg in loggers:
        lg.join(30)
        assert not lg.is_alive(), "a logger did not finish"
    return loggers


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
    run_loggers(port, acked, kill_after=300, proc=proc)
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
        again: set[tuple[str, str]] = set()
        loggers = run_loggers(port, again)
        assert len(again) == len(MNS) * FRAMES_PER_LOGGER, [lg.error for lg in loggers]
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
