"""The public report form in a real browser (Playwright, Debian's Chromium; see
test_web_browser.py): the county map drawn from the vendored ECharts under the page's CSP, a
click on it fills the latitude and longitude, the form goes with a photo, the follow-up code is
shown and the status page finds the report. Screenshot ``citizen-report.png`` (docs/governance.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_web_browser import _page, browser, server, shots

from bishui.participation import reports as rp

__all__ = ["browser", "server", "shots"]  # the fixtures, shared with test_web_browser.py

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("city_db", ["duckdb"], indirect=True),
]

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5f0000000049454e44ae426082"
)


def test_report_form_map_submit_and_status(
    server: str, browser: Any, shots: Path, tmp_path: Path
) -> None:
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(f"{server}/report")
    page.wait_for_selector("#report-map[data-ready='1']")
    box = page.locator("#report-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    rules = rp.load_rules()
    lat, lon = float(page.input_value("#report-lat")), float(page.input_value("#report-lon"))
    assert rules.lat_range[0] <= lat <= rules.lat_range[1]
    assert rules.lon_range[0] <= lon <= rules.lon_range[1]
    page.fill("#report-description", "河边排口傍晚排出发黑的污水，有明显臭味。<b>x</b>")
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    page.set_input_files("#report-photo", str(photo))
    page.screenshot(path=str(shots / "citizen-report.png"))
    page.click("#report-submit")
    code = page.inner_text("#report-code")
    assert rp.normalise_code(code, rules)
    page.click("#report-status-link")
    assert page.inner_text("#status-state") == "已收到，待受理"
    assert errors == []
