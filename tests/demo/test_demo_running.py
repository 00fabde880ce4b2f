"""``bishui demo`` as a person runs it (issue 16, item 10), in a subprocess, one shared demo:
the ``bishui`` store commands work while it holds the DuckDB file (``bishui.control``), a port
in use is refused before any banner, and the first start logs its steps."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONUNBUFFERED": "1"}
ENV.pop("BISHUI_SECRET", None)
ENV.pop("BISHUI_DB", None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bishui(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bishui", *args],
        cwd=cwd,
        env=ENV,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass
class Demo:
    dir: Path
    db: Path
    port: int
    log: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    base = tmp_path_factory.mktemp("running")
    data = base / "d"
    port, gw = _free_port(), _free_port()
    log = base / "demo.log"
    cmd = [sys.executable, "-m", "bishui", "demo", "--data-dir", str(data), "--days", "1",
           "--port", str(port), "--gateway-port", str(gw), "--no-loggers"]  # fmt: skip
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=base, env=ENV, stdout=out, stderr=subprocess.STDOUT)
    try:
        for _ in range(1800):
            if "Ctrl-C stops it" in log.read_text(errors="replace"):
                break
            assert proc.poll() is None, log.read_text(errors="replace")
            time.sleep(0.1)
        else:
            pytest.fail("the demo did not start: " + log.read_text(errors="replace"))
        yield Demo(base, data / "bishui.duckdb", port, log)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    # stopped cleanly: the command socket is gone with it
    assert not (data / "bishui.duckdb.cli.sock").exists()


def test_first_start_logs_its_steps(demo: Demo) -> None:
    text = demo.log.read_text(errors="replace")
    for step in ("[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]"):
        assert step in text
    assert "hourly values" in text and "daily values" in text
    # the banner comes after the preparation, once
    assert text.count("bishui demo —") == 1 and text.index("[5/5]") < text.index("bishui demo —")


def test_store_commands_work_while_the_demo_runs(demo: Demo) -> None:
    db = str(demo.db)
    # a read: the real-time report, computed by the running platform on its store
    r = bishui("air", "realtime", "--db", db, "--scope", "city", cwd=demo.dir)
    assert r.returncode == 0, r.stderr
    assert "荆门市" in r.stdout and "Could not set lock" not in r.stderr
    # a write, with stdin passed along, then a read that sees it
    r = bishui("users", "add", "--db", db, "--role", "analyst", "--password-stdin", "cli2",
               cwd=demo.dir, stdin="a long enough password 16\n")  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = bishui("users", "list", "--db", db, cwd=demo.dir)
    assert r.returncode == 0 and "cli2" in r.stdout
    # a relative --out is the caller's directory, not the platform's
    out = demo.dir / "sub"
    out.mkdir()
    r = bishui("air", "realtime", "--db", db, "--out", "rt.csv", cwd=out)
    assert r.returncode == 0, r.stderr
    assert (out / "rt.csv").read_text(encoding="utf-8-sig").startswith("时间,范围")
    # the command's own errors come back with its exit code
    r = bishui("users", "add", "--db", db, "--role", "analyst", "--password-stdin", "cli2",
               cwd=demo.dir, stdin="a long enough password 16\n")  # fmt: skip
    assert r.returncode != 0 and r.stderr.strip()
    # a second platform on the same file is not handed over
    r = bishui("serve", "--db", db, "--no-web", "--gateway-port", "0", cwd=demo.dir)
    assert r.returncode == 2 and "in use by another process" in r.stderr
    assert "cannot run beside it" in r.stderr


def test_a_busy_port_is_refused_before_the_banner(demo: Demo) -> None:
    r = bishui("demo", "--data-dir", str(demo.dir / "other"), "--days", "1",
               "--port", str(demo.port), cwd=demo.dir)  # fmt: skip
    assert r.returncode != 0
    assert f"port {demo.port}" in r.stderr and f"--port {demo.port + 1}" in r.stderr
    assert "make demo PORT=" in r.stderr
    assert "bishui demo —" not in r.stdout and "[1/5]" not in r.stdout  # before any work


def test_a_fresh_demo_publishes_aqi_from_its_first_minute(demo: Demo) -> None:
    """Issue 16 item 1: right after the banner, the city's AQI of the newest complete hour is
    published (the history runs up to it), labelled by its end, on the API and the public page."""

    def get(path: str) -> tuple[int, str]:
        with urllib.request.urlopen(f"http://127.0.0.1:{demo.port}{path}", timeout=30) as r:
            return r.status, r.read().decode("utf-8")

    status, text = get("/api/v1/air/realtime?scope=city")
    assert status == 200
    body = json.loads(text)
    city = body["rows"][0]
    assert city["scope"] == "city" and isinstance(city["aqi"], int) and city["aqi"] > 0
    # the newest complete hour, by its end label: never later than now, at most ~2 h before
    label = dt.datetime.fromisoformat(body["time"])
    now = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    assert label <= now and now - label < dt.timedelta(hours=2)
    assert label.minute == 0 and label.second == 0
    # every station of that hour: its AQI on the page, or — with "NA" where HJ 633-2026 §5.3.1
    # says so (a pollutant missing and the AQI ≤ 100; the model city has such hours)
    hour = body["time"].replace("+", "%2B")
    status, text = get(f"/api/v1/air/realtime?scope=station&hour={hour}")
    stations = {r["code"]: r["aqi"] for r in json.loads(text)["rows"]}
    assert len(stations) == 10 and sum(a is not None for a in stations.values()) >= 5
    status, html = get("/public")
    assert status == 200
    table = html.split('id="public-air"', 1)[1].split("</table>", 1)[0]
    assert label.strftime("%m-%d %H:00") in table
    for code, aqi in stations.items():
        row = table.split(f'data-site="{code}"', 1)[1].split("</tr>", 1)[0]
        cells = re.findall(r"<td>(.*?)</td>", row, flags=re.S)
        if aqi is None:
            assert cells[2] == "—" and cells[3].endswith("NA"), (code, cells)
        else:
            assert cells[2] == str(aqi), (code, cells)
