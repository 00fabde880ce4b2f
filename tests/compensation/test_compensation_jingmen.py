"""The model city's agreements load, say whether they are verified, and run over a year."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from comp_helpers import demo_point, jingmen

from bishui.compensation import (
    Ledger,
    PeriodInputs,
    compute,
    compute_period,
    explain,
    explain_party,
    statement_rows,
    verify,
)
from bishui.compensation.export import party_html
from bishui.compensation.jingmen import AGREEMENTS_DIR, city_registry
from bishui.compensation.period import Period


def test_every_agreement_loads_and_says_what_it_is() -> None:
    agreements = jingmen()
    assert len(agreements) == len(list(AGREEMENTS_DIR.glob("*.toml"))) >= 8
    for path in AGREEMENTS_DIR.glob("*.toml"):
        text = path.read_text(encoding="utf-8")
        assert ("# EXAMPLE" in text) != ("# VERIFIED" in text), path.name
    for a in agreements.values():
        assert a.status in ("verified", "example")
        if a.status == "example":
            assert a.modelled_on
    assert agreements["jingmen-zhanghe-reservoir"].status == "verified"
    points = {a.point.key for a in agreements.values()}
    assert {"WS02", "WS04", "WS06", "AQ01+AQ04+AQ05", "AQ02+AQ03", "AQ06"} <= points


def test_a_year_of_the_model_city() -> None:
    reg = city_registry()
    ledger = Ledger()
    for a in jingmen().values():
        for period in Period.in_year(a.period_kind, 2025):
            s = compute(a, PeriodInputs.of(period, demo_point(a)))
            assert s.status == "computed", (a.id, s.notes)
            assert verify(s, a)
            ledger.post(s)
            text = explain(s, reg.names)
            assert a.title in text and s.content_hash in text
            if a.status == "example":
                assert "示例配置" in text and "并非官方参数" in text
            else:
                assert "已核实" in text
    assert ledger.total() == 0
    year = Period.parse("2025")
    nets = {p: ledger.party_statement(p, year).net for p in reg.regions}
    assert sum(nets.values(), Decimal(0)) == 0
    sy = explain_party(ledger.party_statement("420822", year), reg.names)
    assert sy.startswith("生态补偿对账单：沙洋县（420822），2025年")
    assert "净额（应收 − 应付）" in sy
    ps = ledger.party_statement("420822", year)
    first = ps.lines[0]
    assert f"  {first.statement_id}（" in sy  # the CLI's record: statement ids and codes
    # the web's text: names only — each line by its agreement's title and period
    titles = {a.id: a.title for a in jingmen().values()}
    web = explain_party(
        ledger.party_statement("420822", year), reg.names, codes=False, titles=titles
    )
    assert web.startswith("生态补偿对账单：沙洋县，2025年")
    assert f"  {titles[first.agreement_id]}，{first.period.zh}（" in web
    assert first.statement_id not in web and "420822" not in web
    assert not any(s.id in web for s in ledger.heads())
    assert web.splitlines()[-3:] == sy.splitlines()[-3:]  # the same totals
    # an agreement without a title is named by its id
    bare = explain_party(ps, reg.names, codes=False)
    assert f"  {first.agreement_id}，{first.period.zh}（" in bare
    page = party_html(ps, reg.names, codes=False, titles=titles)
    assert "<title>生态补偿对账单：沙洋县（2025年）" in page and "420822" not in page
    assert "生态补偿对账单 420822 2025" in party_html(
        ledger.party_statement("420822", year), reg.names
    )
    # 漳河: 9 of 10 months → water 324万 + forest 90万 = 414万; the city pays its half.
    zh = ledger.head("jingmen-zhanghe-reservoir", year)
    assert zh is not None and zh.amount == Decimal(4_140_000)
    # 东宝 air: PM10 70→66, PM2.5 47→44 → (4 + 3) × 10万 = 70万 from the city.
    air = ledger.head("jingmen-air-dongbao", year)
    assert air is not None and air.amount == Decimal(700_000)


def test_explain_shows_the_numbers() -> None:
    a = jingmen()["jingmen-zhupihe-gongjiawan"]
    s = compute(a, PeriodInputs.of("2025-Q2", demo_point(a)))
    text = explain(s, city_registry().names)
    # class Ⅳ is inside the neutral band; linear: (30−24)×2万 + (1.5−1.2)×30万 = 21万
    assert "断面水质类别 Ⅳ类" in text
    assert "(30 − 24) mg/L × 20000 元/(mg/L) = 120000 元" in text
    assert "被考核方应得 210,000.00 元（21 万元）" in text
    assert "沙洋县（420822） → 东宝区（420802）：105,000.00 元" in text
    assert "竹皮河" in text and "参照已核实方案" in text
    # the web's pages say names only (issue 16 item 2); the CLI's record keeps the codes
    web = explain(s, city_registry().names, codes=False)
    assert "沙洋县 → 东宝区：105,000.00 元" in web
    assert "420822" not in web and "420802" not in web


def test_explain_says_the_data_source_in_words_on_the_web() -> None:
    """The point's data source as ``store_inputs`` records it: the CLI's record keeps the
    descriptor, the web's text (``codes=False``) says it in Chinese (issue 16 item 2)."""
    a = jingmen()["jingmen-zhupihe-gongjiawan"]
    stored = "store: measurement period=hour 2025-04-01..2025-06-30, 水质断面 WS04"
    synthetic = "; 模拟数据（合成数据，非真实监测）"
    point = dataclasses.replace(demo_point(a), source=stored + synthetic)
    s = compute(a, PeriodInputs.of("2025-Q2", point))
    assert f"数据来源：{stored}{synthetic}\n" in explain(s, city_registry().names) + "\n"
    web = explain(s, city_registry().names, codes=False)
    assert (
        "  数据来源：平台所存小时值（2025-04-01 至 2025-06-30），水质断面 WS04；"
        "模拟数据（合成数据，非真实监测）\n"
    ) in web + "\n"
    assert "store:" not in web and "period=hour" not in web
    # a source of another form (e.g. an assessment run's name) stays as it is
    other = dataclasses.replace(demo_point(a), source="air assessment run 7")
    s = compute(a, PeriodInputs.of("2025-Q2", other))
    assert "数据来源：air assessment run 7" in explain(s, codes=False)


def test_compute_period_and_rows() -> None:
    agreements = list(jingmen().values())
    q = Period.parse("2025-Q3")
    inputs = {
        p: PeriodInputs.of(p, *(demo_point(a) for a in agreements))
        for p in (Period(2025, "month", m) for m in (7, 8, 9))
    }
    statements = compute_period(agreements, inputs, q)
    # 2 monthly agreements × 3 months + 1 quarterly; the quarter had no inputs → held
    assert len(statements) == 7
    held = [s for s in statements if s.period == q]
    assert [s.status for s in held] == ["held"]
    rows = statement_rows(statements)
    assert {r["statement"] for r in rows} == {s.id for s in statements}
    assert all(set(r) >= {"payer", "payee", "transfer", "content_hash"} for r in rows)
