"""Grid sensors on the map (docs/grid.md): the grid and dust kinds in the overview's features
with a data-state mark, a legend entry, the page's layer; not shown to the public."""

from __future__ import annotations

import datetime as dt

from web_support import PASSWORD, client_for, login

from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
from bishui.store import Store, rows_to_columns
from bishui.timeutil import now_beijing
from bishui.web import Settings, accounts, create_app, schema


async def test_the_map_shows_grid_sensors_to_staff(store: Store) -> None:
    schema.ensure(store)
    ug = (DeviceParameter("a34004", "μg/m³", 0.0, 1000.0),)
    apply(store, Registry(
        regions=[Region("420802", "东宝区", "district")],
        sites=[Site("WG01", "grid", "网格微站 1-1", "420802", 112.2, 31.0),
               Site("YC01", "dust", "工地（模拟）", "420802", 112.21, 31.01)],
        devices=[Device("G1", "WG01", "pw-not-used", "22", parameters=ug),
                 Device("Y1", "YC01", "pw-not-used", "39", parameters=ug)],
    ))  # fmt: skip
    minute = now_beijing().replace(second=0, microsecond=0) - dt.timedelta(minutes=2)
    store.write_measurements(rows_to_columns([
        ("WG01", "a34004", "min", minute, "logger", 35.0, None, None, None, "N", True, None,
         "mqtt:1", minute),
    ]))  # fmt: skip
    accounts.add_user(store, "grid.analyst", PASSWORD, "analyst")
    app = create_app(store, Settings(secret=""))
    async with client_for(app) as client:
        public = (await client.get("/api/v1/overview")).json()
        assert not {f["kind"] for f in public["features"]} & {"grid", "dust"}
        await login(client, "grid.analyst")
        body = (await client.get("/api/v1/overview?lang=en")).json()
        marks = {f["id"]: (f["kind"], f["mark"]["level"]) for f in body["features"]}
        assert marks["WG01"] == ("grid", "reporting")
        assert marks["YC01"] == ("dust", "nodata")  # no data: no colour, no limit judgement
        grid = next(f for f in body["features"] if f["id"] == "WG01")
        assert (grid["lon"], grid["lat"]) == (112.2, 31.0)
        assert "no limit judgement" in grid["mark"]["basis"]
        assert [c["label"] for c in body["legend"]["grid"]] == ["Reporting", "Flagged data"]
        page = await client.get("/", headers={"Accept": "text/html"})
        assert "网格微站与扬尘监测" in page.text and 'data-layer="grid"' in page.text
