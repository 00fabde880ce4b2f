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
