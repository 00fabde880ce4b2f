"""The river-chief page (河湖长制, issue 20): a chief's sections with their water quality (the
water engine's GB 3838 class of the month), open problems with their enforcement task,
patrol coverage in the required interval, recent patrols; the joint-control groups the caller
may open. Server-rendered from the same service calls and scoping as the API
(:mod:`bishui.web.api.rivers`); a chief sees his own page, a volunteer his area, staff choose
a chief (``?chief=``), a county official its region's chiefs.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bishui.errors import InputError
from bishui.rivers import service
from bishui.rivers.rules import load_rules
from bishui.web.api.rivers import READERS, who
from bishui.web.auth import Principal, requires
from bishui.web.i18n import LANGS, MESSAGES, language, translator
from bishui.web.pages import NAV, NavItem, render

router = APIRouter(include_in_schema=False)

MESSAGES.update({
    "nav.rivers": ("河湖长制", "River chiefs"),
    "rivers.title": ("河湖长制", "River and lake chiefs"),
    "rivers.chief": ("河湖长", "Chief"),
    "rivers.sections": ("责任河段（湖片）", "Sections"),
    "rivers.section": ("河段", "Section"),
    "rivers.body": ("河湖", "Water body"),
    "rivers.level": ("层级", "Level"),
    "rivers.quality": ("水质类别（GB 3838）", "Water quality class (GB 3838)"),
    "rivers.problems": ("待办问题", "Open problems"),
    "rivers.category": ("问题类型", "Category"),
    "rivers.department": ("责任部门", "Department"),
    "rivers.state": ("状态", "State"),
    "rivers.task": ("执法任务", "Task"),
    "rivers.deadline": ("办结时限", "Deadline"),
    "rivers.coverage": ("巡河覆盖", "Patrol coverage"),
    "rivers.interval": ("巡河频次", "Interval"),
    "rivers.period": ("本期", "This period"),
    "rivers.covered": ("已巡", "Patrolled"),
    "rivers.patrols": ("近期巡河", "Recent patrols"),
    "rivers.joint": ("联防联控", "Joint control"),
    "rivers.members": ("成员区县", "Member counties"),
    "rivers.neighbours": ("相邻地区", "Neighbours"),
    "rivers.none": ("（无）", "(none)"),
    "rivers.month": ("月份", "Month"),
    "rivers.source": ("依据", "Source"),
    "rivers.export": ("导出全部", "Export all"),
    "rivers.synthetic": ("示范城市的河湖长与义务监督员均为模拟人员。",
                         "The model city's chiefs and volunteers are synthetic."),
})  # fmt: skip
NAV.append(NavItem("/rivers", "nav.rivers", READERS))
NAV.sort(key=lambda n: n.path == "/docs")

_WORDS = {
    "county": ("县级", "county"), "township": ("乡级", "township"), "village": ("村级", "village"),
    "city": ("市级", "city"), "week": ("每周", "weekly"), "month": ("每月", "monthly"),
    "quarter": ("每季度", "quarterly"), "recorded": ("已记录", "recorded"),
    "routed": ("已交办", "routed"), "resolved": ("已办结待确认", "resolved"),
    "confirmed": ("已确认", "confirmed"), "withdrawn": ("已撤回", "withdrawn"),
    "open": ("巡查中", "open"), "submitted": ("已提交", "submitted"),
    "cancelled": ("已取消", "cancelled"), "void": ("已作废", "void"),
    True: ("是", "yes"), False: ("否", "no"), None: ("—", "—"),
}  # fmt: skip
_ROMAN = {1: "Ⅰ类", 2: "Ⅱ类", 3: "Ⅲ类", 4: "Ⅳ类", 5: "Ⅴ类", 6: "劣Ⅴ类"}


@router.get("/rivers", response_class=HTMLResponse)
def rivers_page(
    request: Request,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    chief: str | None = None,
    month: str | None = None,
) -> HTMLResponse:
    """A chief's page and the joint-control groups."""
    store = request.app.state.web.store
    lang = language(request, request.app.state.web.settings.language)
    i = LANGS.index(lang)
    t = translator(lang)
    if chief is not None and not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", chief):
        raise InputError("chief", "a chief id", chief[:64])
    if month is not None and not re.fullmatch(r"20\d{2}-(0[1-9]|1[0-2])", month):
        raise InputError("month", "a month YYYY-MM", month[:16])
    w_ = who(p)
    rules = load_rules()

    def w(key: Any) -> str:
        return _WORDS.get(key, (str(key), str(key)))[i]

    def quality(qs: list[dict[str, Any]]) -> str:
        return "；".join(f"{q['name']} {_ROMAN.get(q['class'], '数据不足' if i == 0 else 'n/a')}"
                        for q in qs) or "—"  # fmt: skip

    chiefs = service.chiefs(store, w_)
    if chief is None and p.role not in ("river_chief", "volunteer") and chiefs:
        chief = chiefs[0]["id"]
    page = service.chief_page(store, w_, chief_id=chief, month=month, rules=rules)
    if p.role == "volunteer":
        secs = service.sections(store, w_)
        page["sections"] = secs
        q = service.section_quality(store, page["month"], [x for s in secs for x in s["sites"]])
        for s in secs:
            s["quality"] = [q[x] for x in s["sites"] if x in q]
        page["problems"] = service.problems(store, w_, open_only=True)
        page["patrols"] = service.patrols(store, w_, limit=20)
    cats = rules.categories
    tables = [
        (t("rivers.sections"), [t("rivers.section"), t("rivers.body"), t("rivers.level"),
          t("rivers.chief"), t("rivers.quality")],
         [[s["name"], s["body_name"], w(s["level"]),
           "、".join(c["name"] for c in s["chiefs"]) or "—", quality(s.get("quality", []))]
          for s in page["sections"]]),
        (t("rivers.problems"), [t("rivers.section"), t("rivers.category"),
          t("rivers.department"), t("rivers.state"), t("rivers.task"), t("rivers.deadline")],
         [[q["section_name"], (cats[q["category"]].zh, cats[q["category"]].en)[i]
           if q["category"] in cats else q["category"], q["department"], w(q["state"]),
           f"{q['task_id'] or '—'} {q['task_state'] or ''}", q["task_deadline"] or "—"]
          for q in page["problems"]]),
        (f"{t('rivers.coverage')} {page.get('coverage_ratio', '')}",
         [t("rivers.section"), t("rivers.interval"), t("rivers.period"), t("rivers.covered")],
         [[c["name"], w(c["interval"]), f"{c['first']} — {c['last']}", w(c["covered"])]
          for c in page["coverage"]]),
        (t("rivers.patrols"), [t("rivers.section"), t("rivers.state"), "km", "min", "✓"],
         [[x["section_name"], w(x["state"]), f"{x['distance_m'] / 1000:.1f}",
           str(x["duration_s"] // 60), w(x["valid"])] for x in page["patrols"]]),
    ]  # fmt: skip
    groups = service.joint_groups(store, w_)
    joint = []
    for g in groups:
        view = service.joint_view(store, w_, g["id"], month=page["month"], rules=rules)
        rows = [[m["name"], s["name"], quality(s["quality"]), str(s["open_problems"]),
                 w(s["covered"])] for m in view["member_data"] for s in m["sections"]]  # fmt: skip
        joint.append((g["name"], "、".join(g["neighbours"]) or "—", g["source"], rows))
    ctx = {"T": t, "page": page, "tables": tables, "joint": joint, "chiefs": chiefs,
           "selected": chief, "interval_source": rules.interval_source,
           "exports": {1: "/api/v1/rivers/problems/export", 3: "/api/v1/rivers/patrols/export"},
           "joint_head": [t("rivers.members"), t("rivers.section"), t("rivers.quality"),
                          t("rivers.problems"), t("rivers.covered")]}  # fmt: skip
    return render(request, "rivers.html", ctx, principal=p)
