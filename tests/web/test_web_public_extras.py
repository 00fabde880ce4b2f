"""The public page's 24-hour trend and HJ 633 health advice (issue 16 item 8)."""

from __future__ import annotations

import datetime as dt
import itertools

import httpx

from bishui.timeutil import now_beijing


def _floor(t: dt.datetime) -> dt.datetime:
    return t.replace(minute=0, second=0, microsecond=0)


async def test_trend_is_the_last_24_complete_hours(client: httpx.AsyncClient) -> None:
    before = _floor(now_beijing())
    r = await client.get("/api/v1/air/trend", params={"code": "AQ01"})
    after = _floor(now_beijing())
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"].startswith("public, max-age=")
    body = r.json()
    times = [dt.datetime.fromisoformat(h["time"]).replace(tzinfo=None) for h in body["hours"]]
    # labelled by the end of the hour: the newest is the hour that ended last, never the one
    # in progress (the model city has data for it)
    assert times[-1] in (before, after) and len(times) == 24
    assert all(b - a == dt.timedelta(hours=1) for a, b in itertools.pairwise(times))
    assert body["code"] == "AQ01" and body["scope"] == "station" and body["name"]
    # each hour is the real-time report of that hour
    for h in body["hours"][-3:]:
        rt = await client.get("/api/v1/air/realtime", params={"hour": h["time"]})
        row = next(x for x in rt.json()["rows"] if x["code"] == "AQ01")
        assert (h["aqi"], h["category"], h["status"]) == (row["aqi"], row["category"],
                                                          row["status"])  # fmt: skip
        primary = None if row["primary"] is None else sorted(
            {p.split("_")[0] for p in row["primary"]}
        )  # fmt: skip
        assert h["primary"] == primary
    newest = next(h for h in reversed(body["hours"]) if h["level"] is not None)
    assert body["advice"]["level"] == newest["level"]
    assert body["advice"]["citation"] == "HJ 633-2026 表1"
    # hours before the model city's history: no data
    assert body["hours"][0]["status"] == "missing" and body["hours"][0]["aqi"] is None


async def test_trend_bad_input(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/air/trend", params={"code": "NOPE"})).status_code == 404
    for params in ({"code": "AQ01", "hours": 0}, {"code": "AQ01", "hours": 169},
                   {"code": "A B"}, {}):  # fmt: skip
        assert (await client.get("/api/v1/air/trend", params=params)).status_code == 422
    future = (now_beijing() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:00:00")
    r = await client.get("/api/v1/air/trend", params={"code": "AQ01", "end": future})
    assert r.status_code == 400 and r.json()["field"] == "end"
    r = await client.get(
        "/api/v1/air/trend", params={"code": "AQ01", "end": "2026-01-01T00:00:00", "hours": 2}
    )
    assert [h["time"] for h in r.json()["hours"]] == [
        "2025-12-31T23:00:00+08:00", "2026-01-01T00:00:00+08:00",
    ]  # fmt: skip
    assert r.json()["advice"] is None
    # an aware time is taken in Beijing time: 2025-12-31T16:00Z is 2026-01-01 00:00 (UTC+8)
    r = await client.get(
        "/api/v1/air/trend", params={"code": "AQ01", "end": "2025-12-31T16:00:00Z", "hours": 1}
    )
    assert [h["time"] for h in r.json()["hours"]] == ["2026-01-01T00:00:00+08:00"]


async def test_advice_per_edition(client: httpx.AsyncClient) -> None:
    old = (await client.get("/api/v1/air/advice", params={"level": 3, "date": "2026-02-28"})).json()
    new = (await client.get("/api/v1/air/advice", params={"level": 3, "date": "2026-03-01"})).json()
    assert old["edition"] == "2012" and old["health_effect"].startswith("易感人群")
    assert new["edition"] == "2026" and new["health_effect"].startswith("敏感人群")
    assert new["measures"].startswith("青少年儿童")
    r = await client.get(
        "/api/v1/air/advice", params={"level": 4, "date": "2026-03-01", "over": ["O3", "PM10"]}
    )
    assert set(r.json()["sensitive_groups"]) == {"O3", "PM10"}
    for bad in ({"level": 0}, {"level": 7}, {"level": "x"}, {"level": 3, "date": "1999-01-01"}):
        assert (await client.get("/api/v1/air/advice", params=bad)).status_code == 422


async def test_public_page_shows_advice_and_trend(client: httpx.AsyncClient) -> None:
    page = await client.get("/public", headers={"Accept": "text/html"})
    assert page.status_code == 200
    text = page.text
    assert "健康提示与建议措施" in text and "对健康影响情况" in text and "建议采取的措施" in text
    # the edition in force on the data's date (the model city's data is of today: 2026 rules)
    assert "HJ 633-2026 表1" in text and "青少年儿童、老年人和病人应当留在室内" in text
    assert 'id="public-trend"' in text and "/static/js/public-trend.js" in text
    assert 'value="AQ01"' in text
    assert "<script>" not in text
