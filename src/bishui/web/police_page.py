"""The police page (环保警察与联合执法, issue 20 item 2): transfer cases and joint operations.

The police see the cases transferred to them (the same scoping as the API,
:func:`bishui.police.service.list_cases` with ``police_only``) with the forms of the actions
they may take (accept, return, ask for materials, record the outcome) and the operations they
take part in; bureau staff see every case, the transfer form for a task (``/police?task=…``),
the head's decisions, and the planning and result forms of operations. The forms post JSON
to ``/api/v1/police/…`` (``static/js/police.js``); no inline script.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bishui.police import operations as op
from bishui.police import service
from bishui.police import transfer as tr
from bishui.police.rules import load_rules
from bishui.web.api.police import PLANNERS, PROPOSERS, READERS, VISITORS, police_only
from bishui.web.auth import Principal, requires
from bishui.web.i18n import LANGS, MESSAGES, language, translator
from bishui.web.pages import NAV, NavItem, render

router = APIRouter(include_in_schema=False)

MESSAGES.update({
    "nav.police": ("环保警察", "Police & joint ops"),
    "police.title": ("环保警察与联合执法", "Environmental police and joint operations"),
    "police.cases": ("移送案件", "Transfer cases"),
    "police.cases_police": ("移送至公安机关的案件", "Cases transferred to the police"),
    "police.case": ("案件", "Case"), "police.task": ("执法任务", "Task"),
    "police.party": ("当事单位", "Party"), "police.state": ("状态", "State"),
    "police.deadline": ("时限", "Deadline"), "police.overdue": ("已超时", "overdue"),
    "police.package": ("证据包", "Evidence package"), "police.actions": ("操作", "Actions"),
    "police.basis": ("法律依据", "Legal basis"),
    "police.propose": ("提出移送", "Propose a transfer"),
    "police.report": ("调查报告", "Investigation report"),
    "police.officers": ("承办人员（至少二人，逗号分隔）",
                        "Officers (at least two, comma-separated)"),
    "police.articles": ("法律依据（条款编号，逗号分隔）", "Articles (ids, comma-separated)"),
    "police.reason": ("理由", "Reason"), "police.case_no": ("公安立案编号", "Police case number"),
    "police.outcome": ("处理结果", "Outcome"), "police.send": ("提交", "Submit"),
    "police.operations": ("联合执法行动", "Joint operations"),
    "police.plan": ("计划行动", "Plan an operation"), "police.name": ("名称", "Name"),
    "police.kind": ("类型", "Kind"), "police.window": ("时间（北京时间）", "Window (Beijing time)"),
    "police.start": ("开始", "Start"), "police.end": ("结束", "End"),
    "police.targets": ("检查对象（每行一个企业信用代码或站点编号）",
                       "Targets (one credit code or site id a line)"),
    "police.team": ("人员（每行：姓名,bureau|police）", "Team (a line each: name,bureau|police)"),
    "police.visits": ("检查记录", "Visits"), "police.visit": ("记录检查", "Record a visit"),
    "police.site": ("站点", "Site"), "police.time": ("时间", "Time"),
    "police.note": ("情况", "Note"),
    "police.findings": ("问题（每行：严重程度 low|medium|high,描述）",
                        "Findings (a line each: low|medium|high,description)"),
    "police.summary": ("行动小结", "Summary"),
    "police.export": ("导出", "Export"),
    "police.note_text": ("移送依据国务院令第310号；证据包含执法任务的证据文件及其SHA-256、"
                         "任务审计链事件，证据包本身亦计算SHA-256。时限按条款计算，超时标红。",
                         "Transfers follow State Council Order 310; the package holds the task's "
                         "evidence files with their SHA-256 and the task's audit events, and is "
                         "hashed itself. Deadlines follow the articles; overdue ones are marked."),
})  # fmt: skip
NAV.append(NavItem("/police", "nav.police", READERS))
NAV.sort(key=lambda n: n.path == "/docs")

STATE_NAMES = {
    "proposed": ("待审批", "proposed"), "approved": ("已批准移送", "approved"),
    "declined": ("不予移送", "declined"), "transferred": ("已移送", "transferred"),
    "supplement_requested": ("待补正材料", "materials requested"),
    "accepted": ("已立案", "accepted"), "returned": ("不予立案", "returned"),
    "reconsideration": ("复议中", "reconsideration"), "refused": ("复议维持不立案", "refused"),
    "supervision": ("已建议检察院立案监督", "procuratorate supervision"),
    "withdrawn": ("撤回，行政处理", "withdrawn"), "concluded": ("已办结", "concluded"),
    "planned": ("计划中", "planned"), "under_way": ("进行中", "under way"),
    "completed": ("已完成", "completed"), "cancelled": ("已取消", "cancelled"),
}  # fmt: skip
ACTION_NAMES = {
    "approve": ("批准移送", "approve"), "decline": ("不予批准", "decline"),
    "transfer": ("移送公安机关", "transfer"), "supplement": ("补正材料并重新移送", "supplement"),
    "request_supplement": ("要求补正材料", "request materials"), "accept": ("立案", "accept"),
    "return": ("不予立案（退回）", "return"), "reconsider": ("提请复议", "reconsider"),
    "refer_procuratorate": ("建议检察院立案监督", "refer to procuratorate"),
    "withdraw": ("撤回", "withdraw"), "conclude": ("记录处理结果", "record outcome"),
    "start": ("开始行动", "start"), "finish": ("结束行动", "finish"),
    "cancel": ("取消行动", "cancel"),
}  # fmt: skip


@router.get("/police", response_class=HTMLResponse)
def police_page(
    request: Request,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    task: str | None = None,
) -> HTMLResponse:
    """Cases (the police: theirs only), the transfer form, operations and their visits."""
    store = request.app.state.web.store
    lang = language(request, request.app.state.web.settings.language)
    i = LANGS.index(lang)
    rules = load_rules()
    _, raw = service.list_cases(store, police_only=police_only(p), limit=200)
    usccs = sorted({d["uscc"] for d in raw if d.get("uscc")})
    names: dict[str, str] = {}
    if usccs:
        marks = ", ".join("?" for _ in usccs)
        rows = store.query(f"SELECT uscc, name FROM enterprises WHERE uscc IN ({marks})", usccs)  # noqa: S608
        names = {r["uscc"]: r["name"] for r in rows}
    cases = []
    for d in raw:
        c = tr.case_from_dict(d)
        v = service.case_view(c, rules, p.role)
        v["state_name"] = STATE_NAMES.get(v["state"], (v["state"],) * 2)[i]
        v["party"] = names.get(v["uscc"], v["uscc"] or v["site_code"])
        v["action_forms"] = [(a, ACTION_NAMES[a][i], _fields(a)) for a in v["actions"]]
        cases.append(v)
    _, ops = service.list_operations(store, limit=50)
    for o in ops:
        o["state_name"] = STATE_NAMES.get(o["state"], (o["state"],) * 2)[i]
        o["kind_name"] = op.KINDS.get(o["kind"], o["kind"])
        o["visits"] = service.visits(store, o["id"])
        nxt = [str(a) for (s, a) in op.TRANSITIONS if s == o["state"]]
        o["action_forms"] = (
            [
                (a, ACTION_NAMES[a][i], op.TRANSITIONS[(op.State(o["state"]), op.Action(a))][1])
                for a in nxt
            ]
            if p.role in PLANNERS
            else []
        )
        o["can_visit"] = o["state"] in op.VISIT_STATES and p.role in VISITORS
    ctx: dict[str, Any] = {
        "T": translator(lang), "cases": cases, "ops": ops, "rules": rules,
        "is_police": police_only(p), "can_propose": p.role in PROPOSERS,
        "can_plan": p.role in PLANNERS, "task": (task or "")[:40],
        "outcomes": rules.outcomes, "kinds": op.KINDS,
    }  # fmt: skip
    return render(request, "police.html", ctx, principal=p)


def _fields(action: str) -> tuple[str, ...]:
    for (_, a), (_, _, req) in tr.TRANSITIONS.items():
        if a == action:
            return req
    return ()
