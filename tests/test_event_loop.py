"""``platform.event_loop``: serve and drain run on uvloop where it is installed (issue 21
item 6; docs/benchmarks.md "The web under load"), on asyncio's loop when asked or when it is
missing, and the platform — gateway and web — works the same on either."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import socket
import sys

import httpx
import pytest

from bishui.errors import ConfigError
from bishui.hj212 import Packet, decode, encode
from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
from bishui.runtime import PlatformConfig, run, run_platform
from bishui.store import Store
from bishui.timeutil import now_beijing

MN = "422200000000000000000077"


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_auto_takes_uvloop_where_installed() -> None:
    pytest.importorskip("uvloop")
    assert run(_loop_module(), "auto").startswith("uvloop")
    assert run(_loop_module(), "uvloop").startswith("uvloop")


def test_asyncio_when_asked() -> None:
    assert run(_loop_module(), "asyncio").startswith("asyncio")


def test_without_uvloop_auto_falls_back_and_uvloop_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop raises ImportError
    assert run(_loop_module(), "auto").startswith("asyncio")
    coro = _loop_module()
    with pytest.raises(ConfigError) as err:
        run(coro, "uvloop")
    coro.close()
    assert "platform.event_loop" in str(err.value) and "uvloop installed" in str(err.value)


def test_an_unknown_loop_is_refused_naming_the_setting() -> None:
    coro = _loop_module()
    with pytest.raises(ConfigError) as err:
        run(coro, "trio")
    coro.close()
    assert "platform.event_loop" in str(err.value) and "trio" in str(err.value)


def test_the_platform_ingests_and_serves_on_uvloop(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frame is acknowledged (9014) and stored, and the web answers, with both on uvloop."""
    pytest.importorskip("uvloop")
    monkeypatch.setenv("BISHUI_EVENT_LOOP_TEST_SECRET", secrets.token_hex(32))
    apply(
        store,
        Registry(
            regions=[Region("420802", "东宝区", "district")],
            sites=[Site("AQ77", "air", "竹园小学", "420802")],
            devices=[
                Device(MN, "AQ77", "123456", "22",
                       parameters=(DeviceParameter("a34004", "μg/m³", 0, 1000),))
            ],
        ),
    )  # fmt: skip
    with socket.socket() as probe:  # the web takes a real port (web.port: 1–65535)
        probe.bind(("127.0.0.1", 0))
        web_port = probe.getsockname()[1]
    secret = "env:BISHUI_EVENT_LOOP_TEST_SECRET"
    config = PlatformConfig(gateway_port=0, web_port=web_port, jobs=False, web_secret=secret)

    async def main() -> tuple[str, str, int]:
        stop = asyncio.Event()
        ports: dict[str, int] = {}
        task = asyncio.create_task(run_platform(store, config, stop, ready=ports.update))
        for _ in range(3000):
            if "gateway_port" in ports or task.done():
                break
            await asyncio.sleep(0.01)
        loop = type(asyncio.get_running_loop()).__module__
        reader, writer = await asyncio.open_connection("127.0.0.1", ports["gateway_port"])
        ts = (now_beijing() - dt.timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
        writer.write(
            encode(
                Packet.make(
                    qn=f"{ts:%Y%m%d%H%M%S}000", st="22", cn="2051", pw="123456", mn=MN, flag=5,
                    cp={"DataTime": f"{ts:%Y%m%d%H%M%S}", "a34004-Avg": "35",
                        "a34004-Flag": "N"},
                )
            )
        )  # fmt: skip
        reply = decode(await asyncio.wait_for(reader.readuntil(b"\r\n"), 10))
        writer.close()
        async with httpx.AsyncClient() as client:
            r = await client.get(f"http://127.0.0.1:{ports['web_port']}/api/v1/health")
        stop.set()
        await task
        return loop, reply.cn, r.status_code

    loop, cn, status = run(main(), "uvloop")
    assert loop.startswith("uvloop")
    assert (cn, status) == ("9014", 200)
    assert store.count("raw_log") == 1
