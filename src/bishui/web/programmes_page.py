"""The pages of issue 20 items 4–5 (zh-CN first, English): 生态环境损害赔偿 (the cases, each
with its stage, amounts and payments) and 项目与资金 (a programme's schedule — milestones
planned and actual, overdue ones with their 督办 task — and its money). Server-rendered from
the service with the API's scoping (:mod:`bishui.web.api.programmes`); amounts in 元 from exact
fen; illustrative demo rows say so.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from bishui.programmes import damage as dm
from bishui.programmes import money, service
from bishui.programmes import projects as pj
from bishui.web import display
from bishui.web.api.programmes import (
    CASE_READERS,
    PROJECT_READERS,
    PROJECT_STATES_ZH,
    STATES_ZH,
    counties_of,
)
from bishui.web.auth import Principal, requires
from bishui.web.i18n import LANGS, MESSAGES, language, translator
from bishui.web.pages import NAV, NavItem, render

router = APIRouter(include_in_schema=False)

MESSAGES.update({
    "nav.damage": ("损害赔偿", "Damage cases"),
    "nav.projects": ("项目与资金", "Projects & funds"),
    "prog.damage": ("生态环境损害赔偿案件", "Ecological-damage compensation cases"),
    "prog.projects": ("项目与资金", "Projects and funds"),
    "prog.export": ("导出 CSV", "Export CSV"),
    "prog.export_xlsx": ("导出 Excel", "Export Excel"),
    "prog.damage_note": ("依《生态环境损害赔偿制度改革方案》、管理规定(环法规〔2022〕31号)"
                         "与最高人民法院若干规定；金额按民法典第1235条五项，单位元(以分精确记账)。标注“示例”的为演示数据。",
                         "After the 2017 reform plan, the 2022 management rules and the SPC rules; "
                         "amounts by the five heads of Civil Code Art 1235, in CNY (kept exact in "
                         "fen). Rows marked illustrative are demo data."),
    "prog.projects_note": ("节点逾期自动挂牌督办(执法任务)；资金台账守恒：下达 = 拨付 + 结余。"
                           "标注“示例”的项目为演示数据，非真实项目信息。",
                           "Overdue milestones raise 督办 tasks; the ledger conserves: allocated "
                           "= disbursed + available. Illustrative projects are demo data, not "
                           "real project facts."),
    "prog.summary": ("计划概况", "Programme at a glance"),
    "prog.schedule": ("进度(倒排工期)", "Schedule"),
    "prog.money": ("资金", "Money"),
})  # fmt: skip
NAV.append(NavItem("/programmes/damage", "nav.damage", CASE_READERS))
NAV.append(NavItem("/programmes/projects", "nav.projects", PROJECT_READERS))
NAV.sort(key=lambda n: n.path == "/docs")


def _yuan(n: int | None) -> str:
    return "—" if n is None else money.fen_to_yuan(int(n))


@router.get("/programmes/damage", response_class=HTMLResponse)
def damage_page(
    request: Request, p: Annotated[Principal, requires(*CASE_READERS, scope="scoped")]
) -> HTMLResponse:
    """The damage cases the caller may see, each with its stage and money."""
    store = request.app.state.web.store
    lang = language(request, request.app.state.web.settings.language)
    i = LANGS.index(lang)
    t = translator(lang)
    names = display.region_names(store)
    uscc = (p.enterprise or "-") if p.role == "enterprise" else None
    zh = i == 0
    rows = []
    for c in service.list_cases(store, counties_of(p), uscc):
        sch = c.schedule
        rows.append([
            c.id + ("（示例）" if zh and c.illustrative else " (illustrative)" if c.illustrative
                    else ""),
            c.title, names.get(c.county, (c.county, c.county))[i], c.site,
            c.event_date.isoformat(), STATES_ZH[c.state] if zh else str(c.state),
            _yuan(c.appraisal["total_fen"]) if c.appraisal else "—",
            _yuan(c.settlement["amount_fen"]) if c.settlement else "—",
            ("协议" if zh else "agreement") if (c.settlement or {}).get("basis") == "agreement"
            else ("判决" if zh else "judgment") if c.settlement else "—",
            _yuan(sch.paid_fen) if sch else "—", _yuan(sch.outstanding_fen) if sch else "—",
        ])  # fmt: skip
    head = (["编号", "案件", "区县", "地点", "发生日期", "阶段", "评估金额 元", "赔偿金额 元",
             "依据", "已付 元", "未付 元"] if zh else
            ["No.", "Case", "County", "Site", "Date", "Stage", "Appraised CNY", "Settled CNY",
             "Basis", "Paid CNY", "Outstanding CNY"])  # fmt: skip
    heads = [f"{dm.HEADS[h][i]}" for h in dm.HEADS]
    return render(request, "programmes.html", {
        "T": t, "title": t("prog.damage"), "note": t("prog.damage_note"),
        "links": [("/api/v1/programmes/cases/export.csv", t("prog.export")),
                  ("/api/v1/programmes/cases/export.xlsx", t("prog.export_xlsx"))],
        "summary": None, "summary_title": "",
        "tables": [(t("prog.damage"), head, rows),
                   ("民法典第1235条 赔偿范围" if zh else "Civil Code Art 1235: what is covered",
                    ["项目" if zh else "Head"], [[h] for h in heads])],
    }, principal=p)  # fmt: skip


@router.get("/programmes/projects", response_class=HTMLResponse)
def projects_page(
    request: Request,
    p: Annotated[Principal, requires(*PROJECT_READERS, scope="scoped")],
    programme: Annotated[str, Query(min_length=1, max_length=60)] = "ww52",
) -> HTMLResponse:
    """A programme's projects: schedule (milestones, overdue, 督办) and money."""
    store = request.app.state.web.store
    lang = language(request, request.app.state.web.settings.language)
    i = LANGS.index(lang)
    zh = i == 0
    t = translator(lang)
    names = display.region_names(store)
    scope = counties_of(p)
    ps = service.list_projects(store, scope, programme)
    s = service.programme_summary(store, programme, scope)
    summary = [
        ("项目数" if zh else "Projects", str(s["projects"])),
        ("状态" if zh else "States", "，".join(
            f"{PROJECT_STATES_ZH[pj.State(k)] if zh else k} {v}" for k, v in s["states"].items())),
        ("节点 完成/总数" if zh else "Milestones done/all",
         f"{s['milestones_done']}/{s['milestones']}"),
        ("逾期节点" if zh else "Overdue milestones", str(s["milestones_overdue"])),
        ("预算 元" if zh else "Budget CNY", _yuan(s["budget_fen"])),
        ("已下达 元" if zh else "Allocated CNY", _yuan(s["allocated_fen"])),
        ("已拨付 元" if zh else "Disbursed CNY", _yuan(s["disbursed_fen"])),
        ("结余 元" if zh else "Available CNY", _yuan(s["available_fen"])),
    ]  # fmt: skip
    sched: list[list[Any]] = []
    cash: list[list[Any]] = []
    for x in ps:
        mark = ("（示例）" if zh else " (illustrative)") if x["illustrative"] else ""
        county = names.get(x["county"], (x["county"], x["county"]))[i]
        state = PROJECT_STATES_ZH[pj.State(x["state"])] if zh else x["state"]
        for m in x["milestones"]:
            sched.append([x["name"] + mark, county, state, m["name"], m["planned_on"],
                          m["actual_on"] or "—",
                          ("逾期" if zh else "overdue") if m["overdue"] else "",
                          m["task_id"] or ""])  # fmt: skip
        f = x["funds"].values()
        cash.append([x["name"] + mark, county, _yuan(x["budget_fen"]),
                     _yuan(sum(b["allocated_fen"] for b in f)),
                     _yuan(sum(b["disbursed_fen"] for b in f)),
                     _yuan(sum(b["available_fen"] for b in f))])  # fmt: skip
    sh = (
        ["项目", "区县", "状态", "节点", "计划日期", "实际日期", "逾期", "督办任务"]
        if zh
        else ["Project", "County", "State", "Milestone", "Planned", "Actual", "Overdue", "Task"]
    )
    ch = (
        ["项目", "区县", "预算 元", "已下达 元", "已拨付 元", "结余 元"]
        if zh
        else ["Project", "County", "Budget CNY", "Allocated CNY", "Disbursed CNY", "Available CNY"]
    )
    return render(request, "programmes.html", {
        "T": t, "title": f"{t('prog.projects')} · {programme}", "note": t("prog.projects_note"),
        "links": [(f"/api/v1/programmes/projects/export.csv?programme={quote(programme)}",
                   t("prog.export")),
                  (f"/api/v1/programmes/projects/export.xlsx?programme={quote(programme)}",
                   t("prog.export_xlsx"))],
        "summary": summary, "summary_title": t("prog.summary"),
        "tables": [(t("prog.schedule"), sh, sched), (t("prog.money"), ch, cash)],
    }, principal=p)  # fmt: skip
