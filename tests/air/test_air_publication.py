"""Real-time publication (issue 16, item 1): the current hour is the newest complete hour,
labelled by its end, the same in the service, the API, the map, the public page and its export.

The store's newest complete hour is known: at 14:20 (Beijing) the hours starting 00:00 … 13:00
are complete (the last one labelled 14:00, HJ 663 / bishui.timeutil.hour_label), and the hour
starting 14:00 is in progress — the platform's partial value (500 µg/m³) must never be
published (HJ 633-2012 §5.1.3, HJ 633-2026 §4.2.3 / §5.2.2).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import httpx
import numpy as np
import pytest
from air_store_support import BASE, STATIONS, registry, rows, write

from bishui import timeutil
from bishui.air import service
from bishui.store import Store
from bishui.timeutil import current_hour, hour_label

NOW = dt.datetime(2026, 7, 1, 14, 20)
LABEL = dt.datetime(2026, 7, 1, 14, 0)  # the data of 13:00–14:00


def test_the_labelling_rule() -> None:
    assert hour_label(dt.datetime(2026, 7, 1, 13)) == LABEL
    assert hour_label(dt.datetime(2026, 7, 1, 13, 59, 59)) == LABEL
    assert hour_label(dt.datetime(2026, 6, 30, 23)) == dt.datetime(2026, 7, 1)  # "24时"
    assert current_hour(NOW) == LABEL
    assert current_hour(LABEL) == LABEL  # at 14:00:00 the hour 13–14 has just ended
    assert current_hour(dt.datetime(2026, 7, 1, 13, 59, 59)) == dt.datetime(2026, 7, 1, 13)
    # an aware time is converted to Beijing time first
    utc = dt.datetime(2026, 7, 1, 6, 20, tzinfo=dt.UTC)
    assert current_hour(utc) == LABEL


def _city(store: Store) -> None:
    registry(store)
    t0 = dt.datetime(2026, 7, 1)
    parts = [rows(s, p, t0, np.full(14, v)) for s, _, _ in STATIONS for p, v in BASE.items()]
    # the hour in progress: the platform's partial value of 14:00–14:20
    parts += [rows(s, "PM2.5", LABEL, [500.0], origin="platform") for s, _, _ in STATIONS]
    write(store, *parts)


def test_service_publishes_the_newest_complete_hour(store: Store) -> None:
    _city(store)
    rt = service.realtime(store, now=NOW)
    assert rt.hour == LABEL
    city = next(r for r in rt.rows if r.scope == "city")
    assert city.time == LABEL and city.report.concentration["PM2.5_1h"] == 40.0
    # a quarter of an hour later the hour in progress is still not published
    assert service.realtime(store, now=NOW + dt.timedelta(minutes=15)).hour == LABEL
    # before 14:00, the newest complete hour was 12:00–13:00
    assert (
        service.realtime(store, now=dt.datetime(2026, 7, 1, 13, 59)).hour == LABEL - timeutil.HOUR
    )


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The platform's clock at NOW (what the pages call the current time)."""
    from bishui.web import app as web_app
    from bishui.web.api import air as air_api

    monkeypatch.setattr(timeutil, "now_beijing", lambda: NOW)
    monkeypatch.setattr(web_app, "now_beijing", lambda: NOW)
    monkeypatch.setattr(air_api, "now_beijing", lambda: NOW)


async def test_every_page_labels_the_hour_by_its_end(store: Store, clock: None) -> None:
    from bishui.web import Settings, create_app

    _city(store)
    app = create_app(store, Settings(secret=""))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        # the API: the default hour is the newest complete hour, never the next one
        r = await c.get("/api/v1/air/realtime", params={"scope": "city"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["time"] == "2026-07-01T14:00:00+08:00"
        assert body["rows"][0]["time"] == "2026-07-01T14:00:00"
        assert body["rows"][0]["concentration"]["PM2.5_1h"] == 40.0
        # the hour in progress (labelled 15:00) is refused; the complete one is served
        r = await c.get("/api/v1/air/realtime", params={"hour": "2026-07-01T15:00:00"})
        assert r.status_code == 400 and r.json()["field"] == "hour"
        r = await c.get("/api/v1/air/realtime", params={"hour": "2026-07-01T14:00:00"})
        assert r.status_code == 200 and r.json()["time"] == "2026-07-01T14:00:00+08:00"

        # the map: every air station's mark carries the report's end-of-hour label
        r = await c.get("/api/v1/overview")
        air = [f for f in r.json()["features"] if f["kind"] == "air"]
        assert len(air) == 3
        assert {f["mark"]["ts"] for f in air} == {"2026-07-01T14:00:00+08:00"}
        assert {f["mark"]["value"] for f in air} == {60.0}  # IAQI of PM2.5 40 (2026), not 500

        # the map's details: the stored start and the published label, complete hours only
        r = await c.get("/api/v1/sites/A")
        pm = next(x for x in r.json()["latest"] if x["parameter"] == "a34004")
        assert pm["ts"] == "2026-07-01T13:00:00+08:00"
        assert pm["label"] == "2026-07-01T14:00:00+08:00" and pm["value"] == 40.0

        # the public page and its export
        r = await c.get("/public")
        assert r.status_code == 200
        html = r.text
        table = html.split('id="public-air"', 1)[1].split("</table>", 1)[0]
        assert table.count("07-01 14:00") == 3 and "500" not in table
        r = await c.get("/public/air.csv")
        assert r.status_code == 200
        got = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        # the export's title rows (one cell each: bishui.export_header) come before the table
        first = next(i for i, row in enumerate(got) if len(row) > 1)
        assert [row[-1] for row in got[first + 1 :]] == ["2026-07-01 14:00"] * 3
        assert all("500" not in row for row in got)


async def test_no_hour_yet_is_not_a_server_error(store: Store, clock: None) -> None:
    """Only the hour in progress has data: nothing is published (404), nothing invented."""
    from bishui.web import Settings, create_app

    registry(store)
    write(store, rows("A", "PM2.5", LABEL, [500.0], origin="platform"))
    with pytest.raises(Exception, match="no hourly air data"):
        service.realtime(store, now=NOW)
    app = create_app(store, Settings(secret=""))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.get("/api/v1/air/realtime")
        assert r.status_code == 404 and r.json()["ok"] is False
