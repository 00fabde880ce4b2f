"""``bishui serve`` through its command line (issue 13): demo secrets refused unless
``--allow-demo``; ``--bus`` publishes to JetStream and ``drain`` writes it; gateway limits are
options declared once."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from bishui.cli import main
from bishui.hj212 import Packet, decode, encode
from bishui.hj212.gateway import GatewayLimits
from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
from bishui.store import open_store
from bishui.timeutil import now_beijing

# not `from conftest import …`: with tests/web collected first that names tests/web/conftest
PG_URL = os.environ.get("BISHUI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pg_available() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_URL, connect_timeout=3).close()
        return True
    except Exception:
        return False


def need_pg() -> None:
    """Skip where no PostgreSQL answers — unless CI is set: there the server must be up."""
    if not pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but PostgreSQL does not answer at {PG_URL}")
        pytest.skip(f"PostgreSQL does not answer at {PG_URL} (set CI=true to require it)")


ROOT = Path(__file__).parents[1]


def test_every_gateway_limit_is_a_serve_option_and_documented() -> None:
    help_text = CliRunner().invoke(main, ["serve", "--help"], terminal_width=200).output
    doc = (ROOT / "docs" / "hj212.md").read_text(encoding="utf-8")
    for f in dataclasses.fields(GatewayLimits):
        option = "--gateway-" + f.name.replace("_", "-")
        assert option in help_text, option
        assert f"| `{option}` |" in doc, option


@pytest.mark.parametrize(
    "backend", ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_serve_refuses_a_demo_store(tmp_path: Path, backend: str) -> None:
    from bishui.demo.city import build

    if backend == "duckdb":
        url = str(tmp_path / "demo.duckdb")
    else:
        need_pg()
        url = f"{PG_URL}?schema=t_{uuid.uuid4().hex[:16]}"
    store = open_store(url)
    try:
        model = build()
        reg = model.registry
        apply(store, Registry(regions=reg.regions, sites=reg.sites[:3], devices=[
            d for d in reg.devices if d.site_id in {s.id for s in reg.sites[:3]}
        ]))  # fmt: skip
        if backend == "duckdb":
            store.close()  # the CLI opens the file itself
        r = CliRunner().invoke(main, ["serve", "--db", url, "--no-web"])
        assert r.exit_code != 0
        assert "demo" in r.output and "--allow-demo" in r.output
    finally:
        drop = getattr(store, "drop_schema", None)
        if drop is not None:
            drop()
            store.close()


def test_serve_rejects_an_impossible_frame_limit(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        main, ["serve", "--db", str(tmp_path / "x.duckdb"), "--gateway-max-data-length", "10000"]
    )
    assert r.exit_code != 0 and "max_data_length" in r.output


@pytest.mark.nats
@pytest.mark.postgres
def test_serve_bus_then_drain(tmp_path: Path) -> None:
    from tests_bus_support import need_nats_or_skip

    need_nats_or_skip()
    need_pg()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    url = f"{PG_URL}?schema={schema}"
    mn = "4232000000000000000000" + uuid.uuid4().hex[:2]
    store = open_store(url)
    apply(
        store,
        Registry(
            regions=[Region("420802", "东宝区", "district")],
            sites=[Site("W1", "water", "断面", "420802", body="river", target_class=3)],
            devices=[
                Device(
                    mn,
                    "W1",
                    "pw-bus-13",
                    "32",
                    parameters=(DeviceParameter("w01018", "mg/L", 0, 1e3),),
                )
            ],
        ),
    )
    stream = f"BISHUI_TEST_{uuid.uuid4().hex[:8].upper()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "BISHUI_BUS_STREAM": stream}
    log = tmp_path / "serve.log"
    nats = os.environ.get("BISHUI_TEST_NATS", "nats://127.0.0.1:4222")
    cmd = [sys.executable, "-m", "bishui", "serve", "--db", url, "--no-web",
           "--gateway-port", "0", "--bus", nats]  # fmt: skip
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, stderr=err, stdout=subprocess.DEVNULL, env=env)
    try:
        port = None
        for _ in range(400):
            m = re.search(r"HJ 212 gateway on [\d.]+:(\d+)", log.read_text(errors="replace"))
            if m:
                port = int(m.group(1))
                break
            assert proc.poll() is None, log.read_text(errors="replace")
            time.sleep(0.05)
        assert port, log.read_text(errors="replace")
        t = now_beijing().replace(second=0, microsecond=0)
        frames = [
            encode(Packet.make(qn=f"{t:%Y%m%d%H%M%S}{k:03d}", st="32", cn="2051", pw="pw-bus-13",
                               mn=mn, flag=5, cp={"DataTime": f"{t:%Y%m%d%H%M%S}",
                                                  "w01018-Avg": f"{k}.5", "w01018-Flag": "N"}))
            for k in range(1)
        ]  # fmt: skip

        async def send() -> str:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(frames[0])
            await w.drain()
            reply = decode(await asyncio.wait_for(r.readuntil(b"\r\n"), 20))
            w.close()
            return reply.cn

        assert asyncio.run(send()) == "9014"  # durable in the stream
        assert store.count("measurement") == 0  # not written by serve: it is on the bus
    finally:
        proc.terminate()
        proc.wait(20)
    drain = subprocess.Popen(
        [sys.executable, "-m", "bishui", "drain", "--db", url, "--bus", nats],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(400):
            if store.count("measurement") == 1:
                break
            time.sleep(0.05)
    finally:
        drain.terminate()
        _, err_text = drain.communicate(timeout=20)
    assert store.count("measurement") == 1, err_text
    assert store.count("raw_log", "mn = ?", [mn]) == 1
    store.drop_schema()  # type: ignore[attr-defined]
    store.close()
