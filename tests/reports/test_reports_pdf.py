"""The PDF reports from small stores, read back with poppler: the tables and Chinese text are
there, the fonts are embedded subsets, the water classes Ⅰ–Ⅴ are drawn (docs/reports.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from reports_support import (
    AS_OF,
    CREATED,
    MONTH,
    air_store,
    dark_pixels,
    page_image,
    pdf_fonts,
    pdf_text,
    sources_store,
    water_store,
)

from bishui.errors import ConfigError, InputError
from bishui.reports import content, fonts, service
from bishui.reports.pdf import SYNTHETIC_NOTICE, Para, Report, TableBlock, render
from bishui.store import Store

WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def _check_pdf(data: bytes, tmp: Path) -> str:
    assert data.startswith(b"%PDF-")
    rows = pdf_fonts(data, tmp)
    assert rows, "no font in the PDF"
    for r in rows:  # name type encoding emb sub uni …: every font embedded as a subset
        emb, sub = r[-5], r[-4]
        assert (emb, sub) == ("yes", "yes"), r
    names = " ".join(r[0] for r in rows)
    assert "WenQuanYi" in names or "Noto" in names or "Zen" in names, names
    png = page_image(data, tmp)
    assert png.stat().st_size > 5_000  # a page with content, not a blank one
    return pdf_text(data, tmp)


def test_wqy_micro_hei_draws_roman_five_empty_and_the_text_font_does_not() -> None:
    if not WQY.exists():
        pytest.skip("fonts-wqy-microhei not installed")
    assert fonts.draws(WQY, "Ⅳ") and not fonts.draws(WQY, "Ⅴ")  # the bug worked around
    found = fonts.find_fonts()
    assert fonts.draws(found.text[0], "ⅠⅡⅢⅣⅤ", found.text[1])
    assert fonts.draws(found.cjk[0], "荆门", found.cjk[1])


def test_a_missing_font_is_a_clear_error() -> None:
    with pytest.raises(ConfigError) as e:
        fonts.find_fonts(cjk="/nonexistent/font.ttf")
    assert "fonts-wqy-microhei" in str(e.value)
    with pytest.raises(ConfigError):  # a font that lacks Ⅴ is refused as the text face
        if WQY.exists():
            fonts.find_fonts(text=f"{WQY}#0")
        else:
            raise ConfigError("font", "skip", None)


def test_class_numeral_five_is_drawn(tmp_path: Path) -> None:
    """Ⅴ rendered alone as the title: ink where it stands; a blank title has none."""

    def page(title: str) -> bytes:
        return render(Report("t", "2026", title, "", CREATED))

    box = (380, 30, 80, 35)  # around the centred title at 72 dpi (A4 landscape)
    assert dark_pixels(page(" "), tmp_path, box) == 0
    assert dark_pixels(page("Ⅴ"), tmp_path, box) > 20
    assert dark_pixels(page("劣Ⅴ类"), tmp_path, box) > dark_pixels(page("劣类"), tmp_path, box)


def test_rendering_is_deterministic() -> None:
    r = Report("t", "2026", "标题", "副标题", CREATED, blocks=[Para("Ⅰ类 Ⅴ类 μg/m³")])
    assert render(r) == render(r)


def test_air_daily_report(store: Store, tmp_path: Path) -> None:
    air_store(store)
    r = content.air_daily(store, "2026-11-05", AS_OF, CREATED)
    text = _check_pdf(render(r), tmp_path)
    assert "荆门市环境空气质量日报" in text and "2026年11月5日" in text
    assert "各区县及全市空气质量" in text and "各监测站点空气质量" in text
    for name in ("站A", "站B", "站C", "东宝区", "沙洋县"):
        assert name in text
    # station B at PM2.5 90 µg/m³: the report prints what the air service computed
    from bishui.air.service import daily

    b = next(x.report for x in daily(store, dt.date(2026, 11, 5)) if x.code == "B")
    line = next(x for x in text.splitlines() if "站B" in x)
    assert f" {b.aqi} " in line and b.category in line and b.primary == ("PM2.5_24h",)
    assert " PM2.5 " in line and "PM2.5_24h" not in text  # the published short name
    assert " 0.8 " in line and " 90 " in line  # CO one decimal, µg/m³ integers
    assert "HJ 633-2026" in text  # the edition in force on the day
    assert r.rules["editions"] == ["2026"]
    assert SYNTHETIC_NOTICE not in text.replace(" ", "")  # hand-written data are not synthetic
    with pytest.raises(InputError):
        content.air_daily(store, "2026-12-01", AS_OF, CREATED)  # the day has not closed


def test_air_month_and_year_say_the_data_are_partial(store: Store, tmp_path: Path) -> None:
    air_store(store)
    month = content.air_month(store, MONTH, AS_OF, CREATED)
    text = _check_pdf(render(month), tmp_path)
    assert "环境空气质量月报" in text and "与上年同期比较" in text and "综合指数排名" in text
    assert "部分数据" in text and month.partial  # 20 days of 30: the statistics are invalid
    assert "2025-11" in text  # the year before, for the comparison
    year = content.air_year(store, "2026", AS_OF, CREATED)
    text = _check_pdf(render(year), tmp_path)
    assert "年度公报" in text and "本期尚未结束" in text.replace(" ", "")


def test_water_month_report(store: Store, tmp_path: Path) -> None:
    water_store(store)
    r = content.water_month(store, MONTH, AS_OF, CREATED)
    text = _check_pdf(render(r), tmp_path)
    assert "地表水环境质量月报" in text and "断面水质状况" in text
    assert "甲断面" in text and "乙断面" in text
    line = next(x for x in text.splitlines() if "甲断面" in x and "甲河" in x)
    assert "Ⅴ类" in line and "不达标" in line and "氨氮" in line
    assert "国控" in line  # names, not codes
    assert "达标率50.0%" in "".join(text.split())  # a paragraph wraps
    assert "部分数据" in text and "丙湖" in text  # insufficient data said so
    assert r.rules["edition"].startswith("GB 3838")


def test_sources_month_report(store: Store, tmp_path: Path) -> None:
    sources_store(store)
    r = content.sources_month(store, MONTH, AS_OF, CREATED)
    text = _check_pdf(render(r), tmp_path)
    assert "重点排污单位自动监测达标情况月报" in text
    line = next(x for x in text.splitlines() if "示例热电有限公司" in x and "X001P" in x)
    assert "不达标" in line
    assert "浓度超标" in text and "二氧化硫" in text and "11-03 10:00" in text
    assert "年度许可排放量使用情况" in text and "数据覆盖" in text
    assert r.rules["sources"].startswith("bishui-sources/")


@pytest.mark.parametrize(
    ("kind", "period"),
    [("air-daily", "2026-11"), ("air-month", "2026-13"), ("air-year", "26"), ("nope", "2026"),
     ("water-month", "2026-02-30"), ("sources-month", "1999-01"), ("air-daily", "2026-02-30")],
)  # fmt: skip
def test_bad_kind_or_period(kind: str, period: str) -> None:
    with pytest.raises(InputError):
        content.check_period(kind, period)


def test_generate_store_list_get_reproduce(store: Store, tmp_path: Path) -> None:
    air_store(store)
    g1 = service.generate(store, "air-daily", "2026-11-05", as_of=AS_OF, created=CREATED)
    g2 = service.generate(store, "air-daily", "2026-11-05", as_of=AS_OF, created=CREATED)
    assert g1.meta["id"] == "air-daily-2026-11-05-v1" and g2.meta["version"] == 2
    assert g1.pdf == g2.pdf  # same inputs, same bytes
    total, rows = service.list_reports(store)
    assert total == 2 and rows[0]["rules"]["layout"] == content.LAYOUT_VERSION
    assert service.list_reports(store, kinds=("water-month",)) == (0, [])
    assert service.list_reports(store, kinds=()) == (0, [])
    meta, data = service.get_report(store, g1.meta["id"])
    assert data == g1.pdf and meta["sha256"] == g1.meta["sha256"] and not meta["partial"]
    assert service.reproduce(store, g1.meta["id"])[0]
    # a late value changes the day's figures: the stored report no longer reproduces
    air = __import__("reports_support").air
    air.write(store, air.rows("A", "PM2.5", dt.datetime(2026, 11, 5, 3), [400.0]))
    assert not service.reproduce(store, g1.meta["id"])[0]
    from bishui.errors import NotFoundError

    with pytest.raises(NotFoundError):
        service.get_report(store, "air-daily-2026-11-05-v9")


def test_the_schedule_makes_each_closed_periods_reports_once(store: Store) -> None:
    air_store(store)
    now = dt.datetime(2026, 12, 1, 1, 5)
    assert service.due(dt.datetime(2026, 12, 1, 0, 59))[0] == ("air-daily", "2026-11-29")
    assert service.due(now) == [
        ("air-daily", "2026-11-30"),
        ("air-month", "2026-11"), ("water-month", "2026-11"), ("sources-month", "2026-11"),
        ("exchange-month", "2026-11"), ("air-year", "2025"), ("water-year", "2025"),
    ]  # fmt: skip
    assert service.refresh(store, now) == ["air-month-2026-11-v1"]  # one a pass by default
    made = ["air-month-2026-11-v1", *service.refresh(store, now, at_most=10)]
    # 2025 has November's data only (the air fixture): its bulletins are made too
    assert made == ["air-month-2026-11-v1", "water-month-2026-11-v1", "sources-month-2026-11-v1",
                    "exchange-month-2026-11-v1", "air-year-2025-v1",
                    "water-year-2025-v1"]  # fmt: skip
    # November 30 has no data (the fixture's November ends on the 20th): no daily report
    assert service.refresh(store, now, at_most=10) == []  # once
    total, _ = service.list_reports(store)
    assert total == len(made)
    air = __import__("reports_support").air
    air.write(store, air.rows("A", "PM2.5", dt.datetime(2026, 11, 30, 5), [30.0]))
    assert service.refresh(store, now) == ["air-daily-2026-11-30-v1"]


def test_a_character_outside_the_prepared_subset_is_still_printed(tmp_path: Path) -> None:
    """堃 is not in GB 2312: the report is set with the whole CJK font (fonts.cjk_subset)."""
    path, index = fonts.find_fonts().cjk
    _, have = fonts.cjk_subset(str(path), index)
    assert ord("堃") not in have and ord("荆") in have and ord("Ⅴ") in have
    text = pdf_text(render(Report("t", "2026", "示例堃业有限公司", "Ⅴ类", CREATED)), tmp_path)
    assert "示例堃业有限公司" in text


def test_a_long_table_runs_over_pages_cleanly(tmp_path: Path) -> None:
    """fpdf2's repeated headings broke the text state on later pages ("No font in show")."""
    headers = ["排污单位", "统一社会信用代码", "排污许可证编号", "浓度超标(次)",
               "超许可排放量(次)", "数据异常(次)", "达标情况"]  # fmt: skip
    row = ["荆门江汉污水处理有限公司（模拟）", "9142080012491893X1", "9142080012491893X1001P", 0, 0]
    rows = [[*row, i, "不达标" if i % 3 == 0 else "达标"] for i in range(80)]
    data = render(Report("t", "2026", "长表", "", CREATED, blocks=[TableBlock(headers, rows)]))
    text = pdf_text(data, tmp_path)  # poppler reads every page without a complaint
    assert "不达标" in text and " 79 " in text
    assert len(pdf_fonts(data, tmp_path)) == 2


def test_a_failing_scheduled_report_is_logged_and_tried_again(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    air_store(store)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "generate", broken)
    now = dt.datetime(2026, 12, 1, 1, 5)
    assert service.refresh(store, now, at_most=10) == []
    assert "scheduled report air-month 2026-11 failed" in caplog.text
    monkeypatch.undo()
    assert service.refresh(store, now) == ["air-month-2026-11-v1"]  # the next pass
