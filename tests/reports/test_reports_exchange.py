"""The monthly market report (``exchange-month``) as a printable PDF, read back with poppler:
the products with volume, value and average price, the trades with their parties' names and
the permit versions they issued, the chains' state; fonts embedded (docs/reports.md)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from reports_support import CREATED, page_image, pdf_fonts, pdf_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "exchange"))
from exreg_helpers import ALICE, BOB, OP
from exsvc_helpers import COD, REG, ready

from bishui.exchange import trading
from bishui.reports import content, service
from bishui.reports.pdf import render
from bishui.store import Store


def _trade(store: Store, at: dt.datetime, units: int, price_fen: int) -> None:
    x = trading.propose_transfer(
        store, seller_account="HA", buyer_account="HB", instrument_="emission_right",
        pollutant=COD, units=units, price_fen=price_fen, expires_at=at + dt.timedelta(days=7),
        actor=ALICE, time=at,
    )  # fmt: skip
    trading.act_on_transfer(store, x["id"], "accept", actor=BOB, role="party", time=at)
    trading.act_on_transfer(store, x["id"], "approve", actor=REG, role="regulator", time=at)
    trading.act_on_transfer(store, x["id"], "settle", actor=OP, role="exchange", time=at)


def test_exchange_month_report(store: Store, tmp_path: Path) -> None:
    ready(store)
    _trade(store, dt.datetime(2026, 11, 3, 10, 0), 500, 300_000)  # 0.5 t × 3 000 元/t
    _trade(store, dt.datetime(2026, 11, 20, 15, 0), 100, 360_000)  # 0.1 t × 3 600 元/t
    _trade(store, dt.datetime(2026, 10, 30, 9, 0), 100, 900_000)  # another month: not counted
    r = content.exchange_month(store, "2026-11", dt.date(2026, 12, 1), CREATED)
    data = render(r)
    assert data.startswith(b"%PDF-")
    for row in pdf_fonts(data, tmp_path):  # every font embedded as a subset
        assert (row[-5], row[-4]) == ("yes", "yes"), row
    assert page_image(data, tmp_path).stat().st_size > 5_000
    text = pdf_text(data, tmp_path)
    assert "环境资源交易月报" in text and "2026年11月" in text
    assert "共成交 2 笔" in text and "成交金额 1,860.00 元" in text
    # VWAP = (3 000 × 0.5 + 3 600 × 0.1) / 0.6 = 3 100.00 元/t
    line = next(x for x in text.splitlines() if "排污权" in x and "0.600" in x)
    assert "1,860.00" in line and "3,100.00" in line
    assert "荆门甲化工" in text and "荆门乙热电" in text  # names, not account codes
    assert "9,000.00" not in text  # October's trade is not in November's report
    assert "许可证变更" in text and "第" in text and "完整" in text


def test_exchange_month_is_scheduled_and_stored(store: Store) -> None:
    ready(store)
    _trade(store, dt.datetime(2026, 11, 3, 10, 0), 500, 300_000)
    assert ("exchange-month", "2026-11") in service.due(dt.datetime(2026, 12, 1, 1, 5))
    g = service.generate(store, "exchange-month", "2026-11", as_of=dt.date(2026, 12, 1),
                         created=CREATED)  # fmt: skip
    assert g.meta["id"] == "exchange-month-2026-11-v1"
    assert service.reproduce(store, g.meta["id"])[0]
    total, rows = service.list_reports(store, kinds=("exchange-month",))
    assert total == 1 and rows[0]["kind_name"] == "环境资源交易月报"
