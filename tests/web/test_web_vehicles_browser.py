"""The vehicle-inspection pages in a real browser (Playwright, Debian's Chromium; see
test_web_browser.py): the supervisor's /vehicles with its two charts drawn and no raw codes,
and the public report lookup a QR code opens — a valid code verifies, a tampered one shows its
reason. Screenshots ``vehicles.png``, ``vehicles-report.png`` and ``vehicles-report-tampered.png``
(docs/web.md, docs/vehicles.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from test_web_browser import _login, _no_raw, _page, _settled, browser, server, shots

from bishui.vehicles import reportcode, service
from bishui.vehicles.simulate import SimConfig, simulate

__all__ = ["browser", "server", "shots"]  # the fixtures, shared with test_web_browser.py

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("city_db", ["duckdb"], indirect=True),
]

NOW = dt.datetime(2026, 11, 2, 20, 0)


def _seed(store: Any, users: dict[str, Any]) -> dict[str, Any]:
    day = simulate(
        SimConfig(stations=5, tests_per_lane=6, seed=4, frauds={"clone": 0.4, "edited": 0.4})
    )
    ent = users["enterprise"]["enterprise"]
    day.stations["S01"] = dataclasses.replace(day.stations["S01"], uscc=ent)
    service.load_simulation(store, day, "test", NOW)
    d = day.inspections[0].start.date()
    service.analyse(store, d, d, "t", NOW)
    sk = reportcode.private_from_seed(bytes(range(32)))
    service.publish_key(store, reportcode.public_of("k1", sk, dt.date(2026, 1, 1)), "admin", NOW)
    return service.issue_report(store, day.inspections[0].id, "k1", sk, "https://x/vehicles",
                                "t", NOW)  # fmt: skip


def test_vehicles_page_and_the_public_report_lookup(
    server: str, browser: Any, users: dict[str, Any], city_db: Any, shots: Path
) -> None:
    store, _ = city_db
    rep = _seed(store, users)
    errors: list[str] = []
    page = _page(browser, errors)
    _login(page, server, users["inspector"]["username"])
    page.goto(f"{server}/vehicles")
    page.wait_for_selector("#veh-ranking-chart .chart[data-ready='1']")
    page.wait_for_selector("#veh-gas-chart .chart[data-ready='1']")
    text = _settled(page)
    _no_raw(text, "/vehicles")
    assert "检测站风险排名" in text and "荆门第1机动车检测站" in text
    for code in ("CLONE", "BB_EDITED", "unannounced"):
        assert code not in text, code
    # the ranking chart has one bar a ranked station
    bars = page.evaluate(
        "() => echarts.getInstanceByDom(document.querySelector('#veh-ranking-chart .chart'))"
        ".getOption().series[0].data.length"
    )
    assert bars == len(service.ranking(store, NOW.date(), NOW.date()))
    page.wait_for_timeout(300)
    page.screenshot(path=str(shots / "vehicles.png"), full_page=True)
    page.context.close()

    no, s = rep["report_no"], rep["payload"].split("?s=")[1]
    body, sig = s.split(".")
    bad = body[:-2] + ("AA" if not body.endswith("AA") else "BB") + "." + sig
    page = _page(browser, errors)  # the public: no login
    page.goto(f"{server}/vehicles/r/{no}?s={s}")
    ok = page.inner_text("#verification-result")
    assert "验证通过" in ok
    _no_raw(_settled(page), "/vehicles/r (valid)")
    page.screenshot(path=str(shots / "vehicles-report.png"), full_page=True)
    page.goto(f"{server}/vehicles/r/{no}?s={bad}")
    refused = page.inner_text("#verification-result")
    assert "验证通过" not in refused and "签名不符" in refused  # its reason, in Chinese
    assert page.get_attribute("#verification-result", "class") == "bad"
    page.screenshot(path=str(shots / "vehicles-report-tampered.png"), full_page=True)
    page.context.close()
    assert errors == []


def _file(text: str) -> dict[str, Any]:
    return {"name": "records.jsonl", "mimeType": "application/json", "buffer": text.encode()}


def test_a_station_uploads_its_record_file_all_or_nothing(
    server: str, browser: Any, users: dict[str, Any], city_db: Any, shots: Path
) -> None:
    import json

    store, _ = city_db
    if not service.stations(store):
        _seed(store, users)
    t = next(t for t in service.inspections(store, NOW.date(), NOW.date()) if t.station == "S01")
    row = {"kind": "inspection", "id": "UP1", "station": "S01", "lane": t.lane, "vin": t.vin,
           "plate": t.plate, "method": t.method, "start": t.start.isoformat(),
           "claimed_result": 1, "curve": {k: v.tolist() for k, v in t.curve.items()}}  # fmt: skip
    check = {"kind": "selfcheck", "station": "S01", "lane": t.lane, "item": "leak",
             "at": t.start.replace(hour=7).isoformat(), "device_passed": True}  # fmt: skip
    good = json.dumps(row) + "\n" + json.dumps(check) + "\n"
    bad = good + "\n" + json.dumps(dict(row, id="UP2", method="warp")) + "\n"
    before = store.count("vehicles_inspections")
    errors: list[str] = []
    page = _page(browser, errors)
    _login(page, server, users["enterprise"]["username"])
    page.goto(f"{server}/vehicles/upload")
    assert "检验记录上传" in page.inner_text("h1")
    page.set_input_files("#veh-upload-file", files=[_file(bad)])
    page.click("#veh-upload-send")
    page.wait_for_selector("#veh-upload-errors:not([hidden])")
    cells = page.inner_text("#veh-upload-errors tbody")
    assert cells.startswith("4") and "检测方法" in cells  # the file's line 4, nothing stored
    # the field by its name, its code only in the cell's title
    assert page.inner_text("#veh-upload-errors tbody td:nth-child(2)") == "检测方法"
    assert page.get_attribute("#veh-upload-errors tbody td:nth-child(2)", "title") == "method"
    assert store.count("vehicles_inspections") == before
    page.screenshot(path=str(shots / "vehicles-upload.png"), full_page=True)
    page.set_input_files("#veh-upload-file", files=[_file(good)])
    page.click("#veh-upload-send")
    page.wait_for_function(
        "() => document.getElementById('veh-upload-status').innerText.includes('已入库')"
    )
    assert store.count("vehicles_inspections") == before + 1
    assert "已入库设备自检：1" in page.inner_text("#veh-upload-status")
    page.context.close()
    assert errors == []
