"""bishui.web.display: the names of codes and the decimals of figures, as every page shows
them (the pages themselves: test_web_browser.py; the API fields: tests/sources)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bishui.enforcement import tasks as tk
from bishui.web import display
from bishui.web.errors import error_body, localised


@pytest.mark.parametrize(
    ("code", "digits"),
    [
        ("AQI", 0),
        ("a34004", 0),  # PM2.5 μg/m³: an integer (HJ 633-2026 §4.2.2)
        ("PM2.5_24h", 0),
        ("a21005", 1),  # CO mg/m³: one decimal
        ("CO_1h", 1),
        ("O3_8h", 0),
        ("w21011", 3),  # total phosphorus (环办监测函〔2020〕82号)
        ("w21003", 2),
        ("w01019", 1),
        ("w01001", display.DEFAULT_DIGITS),  # pH: no rule in the 2020 table
        ("x99999", display.DEFAULT_DIGITS),
    ],
)
def test_digits_follow_the_published_conventions(code: str, digits: int) -> None:
    assert display.digits_for(code) == digits


@pytest.mark.parametrize(
    ("value", "code", "text"),
    [
        (62.096, "a34004", "62"),
        (61.13970588235294, "PM2.5", "61"),
        (40.878, "PM2.5", "41"),
        (0.65, "CO_1h", "0.6"),  # half to even (GB/T 8170)
        (0.75, "CO_1h", "0.8"),
        (2.5, "AQI", "2"),
        (0.0505, "w21011", "0.050"),  # the written decimal, not the binary float
        (0.0515, "w21011", "0.052"),
        (None, "a34004", "—"),
        (float("nan"), "a34004", "—"),
        ("not a number", "a34004", "—"),
        ("53.317625", "w21003", "53.32"),
    ],
)
def test_text_is_rounded_as_published(value: Any, code: str, text: str) -> None:
    assert display.text(value, code) == text


def test_source_readings_keep_their_hj212_data_type() -> None:
    assert display.source_digits("a21026") == 2  # N5.2 (HJ 212-2017 Table B.2)
    assert display.source_digits("w00000") == 2
    assert display.source_digits("nope") == display.DEFAULT_DIGITS


def test_units() -> None:
    assert display.unit_for("a34004") == "μg/m³" and display.unit_for("CO_24h") == "mg/m³"
    assert display.unit_for("w21003") == "mg/L" and display.unit_for("w01001") == ""
    assert display.unit_for("AQI") == ""


def test_names_come_from_the_cores() -> None:
    assert display.name("pollutant", "w01018") == "化学需氧量"
    assert display.name("pollutant", "w01018", "en") == "COD"
    assert display.name("rule", "EXC") == "超标"  # the sources rule set's title, its zh half
    assert display.name("rule", "EXC", "en") == "concentration above the permitted limit"
    assert display.name("rule", "water.gap") == "数据缺失"
    assert display.name("flag", "N") and display.name("flag", "N") != "N"  # HJ 212 Table 8
    # Table 8's flags by name in both languages (2017; HJ 212-2025 the same)
    assert display.name("flag", "D") == "仪器仪表故障"
    assert display.name("flag", "D", "en") == "instrument fault"
    assert display.name("flag", "F", "en") == "instrument stopped"  # not 2005's "source stopped"
    assert display.labels("en")["flag"]["B"] == "instrument-logger communication failure"
    assert display.name("flag", "X", "en") == "X"  # unknown: the code as it is
    assert display.name("statement_status", "computed") == "已计算"  # compensation.explain
    assert display.name("task_state", "in_progress") == "办理中"
    assert display.name("task_state", "in_progress", "en") == "in progress"
    assert display.name("task_state", "something-new") == "something-new"  # visible, not hidden
    assert display.name("task_state", None) is None
    assert display.split_title("no chinese here") == ("no chinese here", "no chinese here")


def test_every_task_state_action_and_disposal_has_a_name() -> None:
    """The machine's own enums: a new state or action without a name fails here."""
    t = display.tables()
    for enum, table in ((tk.State, "task_state"), (tk.Action, "task_action"),
                        (tk.Disposal, "disposal")):  # fmt: skip
        assert {str(x) for x in enum} <= set(t[table]), table
    assert set(tk.SUBJECT_KINDS) <= set(t["subject_kind"])
    for rows in t.values():
        for zh, en in rows.values():
            assert zh and en


def test_region_names_and_teams(city_store: Any) -> None:
    regions = display.region_names(city_store)
    assert regions["420802"][0] == "东宝区" and regions["420800-ZH"][0] == "漳河新区"
    assert display.name("region", "420882", "zh", city_store) == "京山市"
    assert display.assignee_name("team:420882", "zh", regions) == "京山市执法队"
    assert display.assignee_name("team:420882", "en", regions).endswith(" team")
    assert display.assignee_name("demo.inspector", "zh", regions) == "demo.inspector"
    assert display.assignee_name(None, "zh", regions) == "—"
    assert display.region_names(None) == {} and display.enterprise_names(None, ["x"]) == {}


def test_task_titles_name_the_enterprise(city_store: Any) -> None:
    uscc = city_store.query("SELECT uscc, name FROM enterprises ORDER BY uscc LIMIT 1")[0]
    title = display.task_title(f"{uscc['uscc']}001: EXC, GAPX", uscc["uscc"] + "001",
                               uscc["name"], "zh")  # fmt: skip
    assert title == f"{uscc['name']} 001 号排放口：超标、超标前断数"
    en = display.task_title(f"{uscc['uscc']}001: EXC", uscc["uscc"] + "001", uscc["name"], "en")
    assert en == f"{uscc['name']}, outlet 001: concentration above the permitted limit"
    water = "惠亭水库（WS14）饮用水水源地预警"
    assert display.task_title(water, "WS14", None, "zh") == water  # not a coded title
    rows = display.tasks_display(
        [{"state": "assigned", "severity": "high", "uscc": uscc["uscc"], "site_code":
          uscc["uscc"] + "001", "title": f"{uscc['uscc']}001: EXC", "assignee": "team:420882",
          "disposal": {"kind": "penalty"}, "region": "420882"}],
        "zh", city_store,
    )  # fmt: skip
    r = rows[0]
    assert (r["state_name"], r["severity_name"], r["disposal_name"]) == ("已指派", "高", "行政处罚")
    assert r["assignee_name"] == "京山市执法队" and r["region_name"] == "京山市"
    assert r["enterprise_name"] == uscc["name"] and r["title"].endswith("EXC")  # code kept


def test_page_rules_carry_names_digits_and_units(city_store: Any) -> None:
    rules = display.page_rules(city_store, "zh")
    assert rules["names"]["region"]["420802"] == "东宝区"
    assert rules["digits"]["CO_1h"] == 1 and rules["digits"]["a34004"] == 0
    assert rules["units"]["a21005"] == "mg/m³" and rules["source_digits"]["a21026"] == 2
    assert display.page_rules(None, "en")["names"]["task_state"]["closed"] == "closed"


def test_errors_in_the_users_language() -> None:
    body = error_body("not_found", "task T1 does not exist")
    zh = localised(body, "zh")
    assert zh["message"].startswith("未找到") and zh["detail"] == "task T1 does not exist"
    assert localised(body, "en")["message"] == "task T1 does not exist"
    odd = localised(error_body("no_such_code", "x"), "zh")
    assert odd["message"] == "请求未能完成"  # an unnamed code: the general message
    bad = localised(error_body("invalid_input", "limit: too big", field="limit"), "zh")
    assert bad["message"] == "输入有误（字段 limit）"
    refused = tk.TransitionRefused("T20261207-0001", tk.State.ASSIGNED, tk.Action.CLOSE, "why")
    msg = localised(error_body("conflict", str(refused)), "zh", refused)["message"]
    assert msg == "任务 T20261207-0001：当前状态“已指派”下不能办结"


def test_air_categories_by_language() -> None:
    """The AQI category is named in the page's language (HJ 633's English on the English
    switch), from the level tables of both editions."""
    assert display.labels("en")["air_category"]["良"] == "Good"
    assert display.labels("en")["air_category"]["严重污染"] == "Severely polluted"
    assert display.labels("zh")["air_category"]["轻度污染"] == "轻度污染"


@pytest.mark.parametrize(
    ("flag", "zh", "en"),
    [
        ("used:logger=700", "采用 数采仪 700 条", "used data logger 700 values"),
        ("excluded:flag D=3", "剔除 D（仪器仪表故障） 3 条",
         "excluded D (instrument fault) 3 values"),
        ("excluded:flag -=2", "剔除 无标记 2 条", "excluded no flag 2 values"),
        ("source:synthetic", "来源：模拟数据", "source: synthetic data"),
        ("previous excluded:flag M=1", "上年同期 剔除 M（处于维护期间产生的数据） 1 条",
         "a year before: excluded M (maintenance) 1 values"),
        ("period_valid=no", "考核期数据有效：否", "period valid: no"),
        ("previous_invalid", "上年同期数据不足，不使用", "a year before: too few data, not used"),
        ("method=GB 3095-2026 Table 4; HJ 663 station mean; GB/T 8170",
         "方法：GB 3095-2026 表4；HJ 663 站点均值；GB/T 8170",
         "method: GB 3095-2026 Table 4; HJ 663 station mean; GB/T 8170"),
        ("something new", "something new", "something new"),  # unknown: as stored
    ],
)  # fmt: skip
def test_evidence_flags_in_words(flag: str, zh: str, en: str) -> None:
    assert display.evidence_flag(flag, "zh") == zh
    assert display.evidence_flag(flag, "en") == en


def test_evidence_flags_are_collected_from_flag_lists_only() -> None:
    ev = {"inputs": {"points": {"WS04": {"flags": ["source:synthetic"], "notes": ["x=1"]}}},
          "rule": {"flags": ["excluded:flag D=1"]}}  # fmt: skip
    assert display.evidence_flags(ev) == {
        "source:synthetic": "来源：模拟数据",
        "excluded:flag D=1": "剔除 D（仪器仪表故障） 1 条",
    }


def _guard_texts() -> list[str]:
    """Every reason a guard of the task machine returns (the string literals and f-strings
    its guard functions return), each varying part filled with a sample."""
    import ast
    import inspect

    src = ast.parse(inspect.getsource(tk))
    out = []
    for fn in src.body:
        if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith(("_g_", "_files_"))):
            continue
        for node in ast.walk(fn):
            if not (isinstance(node, ast.Return) and node.value is not None):
                continue
            inside = {id(c) for j in ast.walk(node.value) if isinstance(j, ast.JoinedStr)
                      for c in j.values}  # fmt: skip
            for v in ast.walk(node.value):
                if id(v) in inside:
                    continue
                if isinstance(v, ast.Constant) and isinstance(v.value, str) and len(v.value) > 8:
                    out.append(v.value)
                elif isinstance(v, ast.JoinedStr):
                    out.append("".join(p.value if isinstance(p, ast.Constant) else "90"
                                       for p in v.values))  # fmt: skip
    # the implicitly concatenated literal of the water-source penalty is one constant; the
    # policy's penalty refusals come through as "field: rule"
    out += ["article: a regulation article listed in the policy",
            "amount: a Decimal amount in yuan",
            "amount: 排污许可管理条例 第三十四条: between 200000 and 1000000 yuan"]  # fmt: skip
    # (f"{e.field}: {e.rule}" passes the policy's refusal on: the three texts above)
    return sorted({t for t in out if not re.fullmatch(r"[\d:\s]+", t)})


def test_every_guard_reason_is_said_in_chinese() -> None:
    texts = _guard_texts()
    assert len(texts) > 20, texts
    for text in texts:
        zh = display.guard_reason(text, "zh")
        assert zh is not None, text
        assert not re.search(r"[a-z]{4,}", zh.replace("approval", "").replace("roles", "")), zh
        assert display.guard_reason(text, "en") is not None, text


def test_a_refused_guard_says_its_reason_in_the_users_language() -> None:
    refused = tk.TransitionRefused("T1", tk.State.AWAITING_CLOSURE, tk.Action.APPROVE,
                                   "the closure is approved by another user than the one who "
                                   "asked to close")  # fmt: skip
    body = error_body("conflict", str(refused))
    zh = localised(body, "zh", refused)
    assert zh["message"] == "任务 T1：不能审批通过——结案须由申请结案人以外的人员审批"
    assert zh["detail"] == str(refused)  # the server's own text stays in detail
    assert localised(body, "en", refused)["message"] == str(refused)
    why = "lat: between -90 and 90"
    lat = tk.TransitionRefused("T1", tk.State.ASSIGNED, tk.Action.CHECK_IN, why)
    assert localised(error_body("conflict", str(lat)), "zh", lat)["message"].endswith(
        "纬度须在 -90 到 90 之间"
    )
    why = "role supervisor is not an approver (policy [approval] roles)"
    role = tk.TransitionRefused("T1", tk.State.AWAITING_APPROVAL, tk.Action.APPROVE, why)
    assert "管理员不是审批人" in localised(error_body("conflict", str(role)), "zh", role)["message"]
