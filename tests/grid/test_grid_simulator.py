"""The model city's grid (bishui.demo.grid) and the simulated sensors' messages."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from click.testing import CliRunner
from grid_support import MQTT_URL

from bishui.cli import main
from bishui.demo import city
from bishui.demo import grid as demo_grid
from bishui.grid.payload import device_key, parse, verify
from bishui.grid.simulator import messages, run_sensors
from bishui.registry import Registry

KEY = b"s" * 32
MINUTE = dt.datetime(2026, 12, 7, 17, 21)


def test_the_model_city_grid_is_valid_and_signs_plausible_minutes() -> None:
    model = city.build()
    grid = demo_grid.build(model)
    assert len(grid) == 36 and {g.site.kind for g in grid} == {"grid", "dust"}
    reg = model.registry
    Registry(sites=[g.site for g in grid], devices=[g.device for g in grid]).validate(
        known_regions=[r.code for r in reg.regions], known_sites=[s.id for s in reg.sites]
    )
    lons = [s.lon for s in reg.sites if s.lon is not None]
    lats = [s.lat for s in reg.sites if s.lat is not None]
    for g in grid:  # inside the model city's own map
        assert min(lons) - 0.1 <= g.site.lon <= max(lons) + 0.1  # type: ignore[operator]
        assert min(lats) - 0.1 <= g.site.lat <= max(lats) + 0.1  # type: ignore[operator]
    values = demo_grid.GridValues(model, grid)
    sent = messages(demo_grid.sensors(grid), MINUTE, values, KEY, {})
    assert len(sent) == 36
    for topic, payload in sent:
        msg = parse(topic, payload)
        assert verify(msg, device_key(KEY, msg.device))
        assert all(0 <= v.value < 2000 for v in msg.values)
    dust = next(g for g in grid if g.site.kind == "dust")
    tsp, pm10 = values(dust.device.mn, "a34001", MINUTE), values(dust.device.mn, "a34002", MINUTE)
    assert tsp is not None and pm10 is not None and tsp > pm10  # TSP includes PM10
    assert values(dust.device.mn, "w01018", MINUTE) is None


async def test_the_simulator_and_the_publish_command_reach_the_broker(
    need_broker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = city.build()
    grid = demo_grid.build(model)[:2]
    stop = asyncio.Event()
    task = asyncio.create_task(run_sensors(
        MQTT_URL, demo_grid.sensors(grid), KEY, demo_grid.GridValues(model, grid), stop,
        now=lambda: MINUTE, interval=0.05,
    ))  # fmt: skip
    await asyncio.sleep(0.3)
    stop.set()
    assert await task >= 2
    monkeypatch.setenv("BISHUI_MQTT_SECRET", "k" * 40)
    r = CliRunner().invoke(main, ["grid", "publish", "--mqtt", MQTT_URL, "--city", "999999",
                                  "--device", "T1", "--seq", "1", "a34004=35.20"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == "bishui/v1/999999/T1/data" and '"value":35.20' in r.output
