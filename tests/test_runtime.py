import asyncio
import datetime as dt

from bishui import runtime
from bishui.hj212 import Packet, decode, encode
from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
from bishui.runtime import PlatformConfig, run_platform
from bishui.store import Store
from bishui.timeutil import now_beijing

MN = "422200000000000000000001"


async def test_platform_ingests_acks_and_aggregates(store: Store) -> None:
    apply(
        store,
        Registry(
            regions=[Region("420802", "东宝区", "district")],
            sites=[Site("AQ01", "air", "竹园小学", "420802")],
            devices=[
                Device(
                    MN,
                    "AQ01",
                    "123456",
                    "22",
                    parameters=(DeviceParameter("a34004", "μg/m³", 0, 1000),),
                )
            ],
        ),
    )
    calls: list[str] = []
    # this run's refresh hooks, instead of the domains' the application registered
    probe = ("probe", lambda s, now: calls.append("refreshed"))
    stop = asyncio.Event()
    ports: dict[str, int] = {}
    config = PlatformConfig(gateway_port=0, web=False, aggregate_every=0.05, refresh=[probe])
    task = asyncio.create_task(run_platform(store, config, stop, ready=ports.update))

    async def until(cond, what: str) -> None:  # type: ignore[no-untyped-def]
        for _ in range(6000):  # at most a minute: a broken platform fails, never hangs
            if cond():
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}")

    await until(lambda: "gateway_port" in ports or task.done(), "the gateway")
    reader, writer = await asyncio.open_connection("127.0.0.1", ports["gateway_port"])
    # recent: data older than the backfill window is quarantined (issue 13)
    t = (now_beijing() - dt.timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)
    for minute in range(45):
        ts = t + dt.timedelta(minutes=minute)
        writer.write(
            encode(
                Packet.make(
                    qn=f"{ts:%Y%m%d%H%M%S}000",
                    st="22",
                    cn="2051",
                    pw="123456",
                    mn=MN,
                    flag=5,
                    cp={"DataTime": f"{ts:%Y%m%d%H%M%S}", "a34004-Avg": "35", "a34004-Flag": "N"},
                )
            )
        )
        reply = decode(await asyncio.wait_for(reader.readuntil(b"\r\n"), 10))
        assert reply.cn == "9014"
    writer.close()
    await until(lambda: bool(calls), "the refresh hook")
    stop.set()
    metrics = await task
    assert store.count("measurement", "period = 'min'") == 45
    assert store.count("raw_log") == 45
    assert metrics  # the gateway's counters come back
    assert "refreshed" in calls


def test_the_application_registers_every_refresh_hook_in_order() -> None:
    from bishui import app

    app.register_domains()
    app.register_domains()  # idempotent: each hook once, in place
    names = [name for name, _ in runtime.refresh_hooks()]
    assert names[: len(app.REFRESH)] == [
        "water.supervision",
        "water.outbox",
        "sources",
        "reports",
        "exchange",
        "vehicles",
        "rivers",  # river-chief problems whose task closed (issue 20)
        "programmes",
    ]
    assert dict(runtime.refresh_hooks()) == dict(app.REFRESH)


def test_a_failing_refresh_hook_does_not_stop_the_others(store: Store, caplog) -> None:
    calls: list[str] = []

    def broken(s: Store, now: dt.datetime) -> None:
        raise RuntimeError("engine down")

    hooks = [("broken", broken), ("after", lambda s, now: calls.append(f"{now:%H}"))]
    runtime.refresh_engines(store, dt.datetime(2026, 1, 1, 8), hooks)
    assert calls == ["08"]
    assert "refresh broken failed" in caplog.text


async def test_a_port_in_use_is_refused_before_ready(store: Store, monkeypatch) -> None:
    """Issue 16 item 10: the web or gateway port taken → a ConfigError naming the port and how
    to choose another, before ``ready`` (the banner) is called; nothing keeps listening."""
    import socket

    import pytest

    from bishui.errors import ConfigError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        said: list[dict[str, int]] = []
        # the web port (bound first, before the gateway)
        hints = {"web": "--port N", "gateway": "--gateway-port M"}
        config = PlatformConfig(web_port=port, gateway_port=0, port_hints=hints)
        monkeypatch.setenv("BISHUI_SECRET", "s" * 40)
        with pytest.raises(ConfigError, match=rf"port {port} on 127.0.0.1 \(web\).*--port N"):
            await run_platform(store, config, asyncio.Event(), ready=said.append)
        # the gateway port
        config = PlatformConfig(gateway_port=port, web=False)
        with pytest.raises(ConfigError, match=rf"port {port} .*HJ 212 gateway.*--gateway-port"):
            await run_platform(store, config, asyncio.Event(), ready=said.append)
        assert said == []
        # the early check the demo makes before its preparation
        with pytest.raises(ConfigError, match=f"port {port}"):
            runtime.check_port("127.0.0.1", port, "web", "--port")
    runtime.check_port("127.0.0.1", 0, "web", "--port")  # "any free port" always can
