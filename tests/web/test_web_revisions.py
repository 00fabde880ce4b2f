"""Issue 13: revised values are visible through the API (both backends)."""

from __future__ import annotations

import datetime as dt

import httpx

from bishui.store import Batch, Store

T = dt.datetime(2020, 1, 1, 3)  # far from the data other tests read


def row(value: float, qn: str) -> tuple:
    return ("AQ01", "a34004", "hour", T, "logger", value, None, None, None, "N", True, None, qn, T)


async def test_revised_value_and_its_revision_are_served(
    client: httpx.AsyncClient, city_store: Store
) -> None:
    city_store.write_batch(Batch(rows=[row(10.4, "20200101030000001")]))
    city_store.write_batch(Batch(rows=[row(999.9, "20200101030000002")]))
    r = await client.get(
        "/api/v1/measurements",
        params={
            "site": "AQ01",
            "parameter": "a34004",
            "start": T,
            "end": T + dt.timedelta(hours=1),
        },
    )
    assert r.json()["value"] == [999.9] and r.json()["revised"] == [True]
    body = (await client.get("/api/v1/measurements/revisions", params={"site": "AQ01"})).json()
    rev = next(x for x in body["revisions"] if x["old_source"] == "20200101030000001")
    assert rev["old_value"] == 10.4 and rev["new_value"] == 999.9
    assert rev["ts"].startswith("2020-01-01T03:00:00") and rev["revised_by"] == "logger"
