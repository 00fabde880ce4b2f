"""The exchange page in a real browser (Playwright, Debian's Chromium; see
test_web_browser.py): an enterprise's holdings in words, a transfer made in the form and a
refused one with the registry's reason in Chinese; the regulator's overview and hash-chain
check. Screenshots ``exchange.png`` and ``exchange-regulator.png`` (docs/web.md).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from test_web_browser import _login, _no_raw, _page, _settled, browser, server, shots
from test_web_exchange import OTHER, seed
from test_web_exchange_services import BUYER, SELLER, _setup

from bishui.exchange import service, trading

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
    _setup(store, users)
    now = service.now()
    lot = trading.announce_lot(
        store, seller_account=SELLER, seller_agent="rep.b", instrument_="emission_right",
        pollutant="w01018", units=3_000, reserve_fen=300_000, opens=now - dt.timedelta(hours=1),
        closes=now + dt.timedelta(days=1), actor=users["operator"]["username"],
    )  # fmt: skip
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
    # a bid in the open session (电子竞价), in the form: recorded, the sessions reload
    form = "#ex-bid form"
    page.fill(f"{form} input[name=lot]", lot["id"])
    page.select_option(f"{form} select[name=account]", BUYER)
    page.fill(f"{form} input[name=price]", "3050.00")
    page.fill(f"{form} input[name=quantity]", "1.5")
    page.click("#ex-do-bid")
    page.wait_for_function(
        "() => document.querySelector('#ex-bid .msg').innerText.includes('已办理')"
    )
    page.fill(f"{form} input[name=price]", "10.00")
    page.click("#ex-do-bid")
    page.wait_for_function(
        "() => document.querySelector('#ex-bid .msg').classList.contains('error')"
    )
    assert "below_reserve" not in page.inner_text("#ex-bid .msg")
    assert "竞价中" in page.inner_text("#ex-lots")
    page.wait_for_timeout(300)
    _no_raw(_settled(page), "/exchange (enterprise, after a bid)")
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
    assert "竞价中" in page.inner_text("#ex-lots")
    page.screenshot(path=str(shots / "exchange-regulator.png"), full_page=True)
    # a decision's form posts to its route and shows the answer in words (the analyst is not
    # a registry operator in this city: the registry's refusal)
    form = "#ex-decisions form[data-url='/api/v1/exchange/reductions']"
    page.fill(f"{form} input[name=holder]", "NO-SUCH-HOLDER")
    page.click(f"{form} button")
    msg = page.locator(f"{form} + p.msg")
    page.wait_for_function("(m) => m.textContent.length > 0", arg=msg.element_handle())
    assert "error" in (msg.get_attribute("class") or "")
    page.context.close()
    assert not errors, errors
