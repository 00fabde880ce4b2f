"""The exchange page in a real browser (Playwright, Debian's Chromium; see
test_web_browser.py): an enterprise's holdings in words, a transfer made in the form and a
refused one with the registry's reason in Chinese; the regulator's overview and hash-chain
check. Screenshots ``exchange.png`` and ``exchange-regulator.png`` (docs/web.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_web_browser import _login, _no_raw, _page, _settled, browser, server, shots
from test_web_exchange import OTHER, seed

__all__ = ["browser", "server", "shots"]  # the fixtures, shared with test_web_browser.py

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("city_db", ["duckdb"], indirect=True),
]


def test_the_exchange_for_an_enterprise_and_the_regulator(
    server: str, browser: Any, users: dict[str, Any], city_db: Any, shots: Path
) -> None:
    store, _ = city_db
    seed(store, users)
    errors: list[str] = []
    page = _page(browser, errors)
    _login(page, server, users["enterprise"]["username"])
    page.goto(f"{server}/exchange")
    page.wait_for_selector("#ex-holdings table.data")
    text = _settled(page)
    _no_raw(text, "/exchange (enterprise)")
    holdings = page.inner_text("#ex-holdings")
    assert "排污权" in holdings and "化学需氧量" in holdings and "吨" in holdings
    # a transfer in the form: recorded, and the tables reload
    form = "#ex-transfer form"
    page.fill(f"{form} input[name=target]", OTHER)
    page.select_option(f"{form} select[name=pollutant]", "w01018")
    page.fill(f"{form} input[name=quantity]", "0.5")
    page.fill(f"{form} input[name=reason]", "协议转让")
    page.click("#ex-do-transfer")
    page.wait_for_function(
        "() => document.querySelector('#ex-transfer .msg').innerText.includes('已登记')"
    )
    assert "0.500" in page.inner_text("#ex-transfer .msg")
    # more than the account holds: the registry's reason, in Chinese
    page.fill(f"{form} input[name=quantity]", "99999")
    page.click("#ex-do-transfer")
    page.wait_for_function(
        "() => document.querySelector('#ex-transfer .msg').innerText.includes('可用数量不足')"
    )
    refused = page.inner_text("#ex-transfer .msg")
    assert "交易登记簿拒绝了此操作" in refused and "units" not in refused  # no English detail
    page.wait_for_timeout(300)
    page.screenshot(path=str(shots / "exchange.png"), full_page=True)
    page.context.close()

    page = _page(browser, errors)
    _login(page, server, users["analyst"]["username"])
    page.goto(f"{server}/exchange")
    page.wait_for_selector("#ex-verify table.data")
    page.wait_for_selector("#ex-accounts table.data")
    text = _settled(page)
    _no_raw(text, "/exchange (regulator)")
    verify = page.inner_text("#ex-verify")
    assert "交易日志哈希链" in verify and "由日志重建余额" in verify
    assert "否" not in verify  # both checks pass
    assert "持有账户" in page.inner_text("#ex-accounts")
    page.screenshot(path=str(shots / "exchange-regulator.png"), full_page=True)
    page.context.close()
    assert not errors, errors
