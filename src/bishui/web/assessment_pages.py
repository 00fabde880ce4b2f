"""The departure-audit summary as a printable zh-CN page (names, not codes; 打印 from the
browser). The PDF reports (bishui.reports) embed fonts for the bureau's bulletins; this summary
is printed from the page."""

from __future__ import annotations

from html import escape
from typing import Any

from bishui.assessment import assets as am
from bishui.assessment import audit as au

_MET = {True: "完成", False: "未完成", None: "无数据"}
_STATE = {"open": "立案", "decided": "已决定", "closed": "已结案"}


def _forms(forms: list[str]) -> str:
    known = au.measures()["forms"]
    return "、".join(known[f][0] if f in known else f for f in forms)


def summary_html(s: dict[str, Any], names: dict[str, str]) -> str:
    t = s["term"]
    e = escape
    rows_t = "".join(
        f"<tr><td>{r['year']}</td><td>{e(r['name'])}</td><td>{e(str(r['points']))}</td>"
        f"<td>{_MET[r['met']]}</td></tr>"
        for r in s["targets"]["rows"]
    )
    rows_a = "".join(
        f"<tr><td>{e(am.RESOURCES.get(r['resource'], (r['resource'],))[0])}</td>"
        f"<td>{e(r['category'])}</td><td>{r['opening'] or '—'}</td><td>{r['closing'] or '—'}</td>"
        f"<td>{r['change'] or '—'}</td></tr>"
        for r in s["assets"]
    )
    rows_i = (
        "".join(
            f"<tr><td>{e(str(r['created'])[:10])}</td><td>{e(str(r['title']))}</td></tr>"
            for r in s["incidents"]
        )
        or "<tr><td colspan=2>无</td></tr>"
    )
    rows_c = (
        "".join(
            f"<tr><td>{e(str(c['opened']))}</td><td>第{e(c['article'])}条第{c['item']}项</td>"
            f"<td>{e(_forms(c['forms']))}</td><td>{e(c['facts'])}</td>"
            f"<td>{_STATE.get(c['state'], c['state'])}</td></tr>"
            for c in s["cases"]
        )
        or "<tr><td colspan=5>无</td></tr>"
    )
    en = s["enforcement"]
    tg = s["targets"]
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>领导干部自然资源资产离任审计汇总 — {e(t["leader"])}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #999;padding:4px 8px}}@media print{{.noprint{{display:none}}}}</style>
</head><body>
<h1>领导干部自然资源资产离任审计汇总</h1>
<p>{e(names.get(t["county"], t["county"]))} {e(t["post"])} {e(t["leader"])}，
任期 {e(t["start"])} 至 {e(t["end"])}</p>
<h2>一、约束性目标完成情况</h2>
<p>完成 {tg["met"]} 项，未完成 {tg["missed"]} 项，无数据 {tg["no_data"]} 项。</p>
<table><tr><th>年度</th><th>指标</th><th>得分</th><th>完成情况</th></tr>{rows_t}</table>
<h2>二、自然资源资产变化（任期首年期初至末年期末）</h2>
<table><tr><th>资源</th><th>类别</th><th>期初</th><th>期末</th><th>变化</th></tr>{rows_a}</table>
<h2>三、重大事件（高级别执法任务）</h2>
<table><tr><th>日期</th><th>事项</th></tr>{rows_i}</table>
<h2>四、执法记录</h2>
<p>任期内立案 {en["tasks"]} 件，办结 {en["closed"]} 件（按期 {en["on_time"]} 件），
未结 {en["open"]} 件。</p>
<h2>五、责任追究</h2>
<p>依据《党政领导干部生态环境损害责任追究办法（试行）》（2015年）。</p>
<table><tr><th>立案日期</th><th>依据</th><th>追责形式</th><th>事实</th><th>状态</th></tr>
{rows_c}</table>
<p>{e(s["note"])}</p>
<p class="noprint"><button onclick="window.print()">打印</button></p>
</body></html>"""


# --------------------------------------------------------------------------- the page

_LABELS: dict[str, tuple[str, str]] = {
    "title": ("生态文明考核", "County scorecards"),
    "run": ("考核批次", "Scoring run"),
    "show": ("查看", "Show"),
    "basis": ("依据", "Basis"),
    "partial": ("含不完整数据（*）", "rests on partial data (*)"),
    "rank": ("排名", "Rank"),
    "county": ("区县", "County"),
    "total": ("总分", "Total"),
    "points": ("分", "points"),
    "no_data": ("无数据", "no data"),
    "evidence_note": (
        "每项得分下为其依据数值；悬停可见数据来源。无数据的指标不以估算值替代。",
        "Under each score, the figure it rests on; hover for its source. An indicator without "
        "data is never filled with an estimate.",
    ),
    "rule": ("分配规则", "Rule"),
    "fund_total": ("资金总额", "Fund"),
    "yuan": ("元", "yuan"),
    "share": ("分配额", "Share"),
    "terms": ("领导干部任期与离任审计", "Terms of office and departure audits"),
    "post": ("职务", "Post"),
    "leader": ("姓名", "Leader"),
    "term": ("任期", "Term"),
    "print": ("离任审计汇总（可打印）", "Departure-audit summary (printable)"),
    "cases": ("生态环境损害责任追究", "Accountability cases"),
    "opened": ("立案日期", "Opened"),
    "forms": ("追责形式", "Forms"),
    "state": ("状态", "State"),
    "none": ("暂无", "None yet"),
}
_RULES = {
    "proportional": ("按得分比例", "proportional to score"),
    "above_floor": ("按超过基准分部分的比例", "proportional to score above a floor"),
    "tiers": ("按得分档次系数", "by score tiers"),
}
_STATE_EN = {"open": "open", "decided": "decided", "closed": "closed"}


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def page_context(store: Any, p: Any, lang: str, run_id: str | None) -> dict[str, Any]:
    """Everything the scorecard page shows, scoped as the API scopes it."""
    from bishui.assessment import scorecard as sc
    from bishui.assessment import service

    i = 0 if lang == "zh" else 1
    labels = {k: v[i] for k, v in _LABELS.items()}
    regions = None if p.sees_everything or p.role == "finance" else list(p.regions)
    names = {
        r["code"]: (r["name"] if i == 0 else r.get("name_en") or r["name"])
        for r in store.rows("regions")
    }
    runs = service.runs(store)
    for r in runs:
        r["title"] = sc.parse_scorecard(
            store.query("SELECT scorecard_text FROM assessment_run WHERE id = ?", [r["id"]])[0][
                "scorecard_text"
            ]
        ).title
    rid = (
        run_id
        if run_id and any(r["id"] == run_id for r in runs)
        else (runs[0]["id"] if runs else None)
    )
    table = service.run_table(store, rid, regions) if rid else None
    if table:
        for c in table["counties"]:
            c["name"] = names.get(c["county"], c["name"])
    allocs = []
    for a in service.allocations(store, rid) if rid else []:
        full = service.allocation(store, a["id"], regions)
        rule = full["rule"]
        text = _RULES.get(rule["kind"], (rule["kind"],) * 2)[i]
        if rule["kind"] == "above_floor":
            text += f"（{rule['floor']}）"
        allocs.append(
            {
                "fund": full["fund"],
                "kind_name": service.FUND_KINDS.get(full["kind"], full["kind"])
                if i == 0
                else full["kind"],
                "rule_text": text,
                "total_yuan": _yuan(int(full["total_fen"])),
                "shares": [
                    {
                        "name": names.get(s["county"], s["county"]),
                        "score": s["score"],
                        "yuan": _yuan(int(s["fen"])),
                    }
                    for s in full["shares"]
                ],
            }
        )
    terms = service.terms(store, regions)
    for t in terms:
        t["county_name"] = names.get(t["county"], t["county"])
    cases = service.cases(store, regions)
    for c in cases:
        c["county_name"] = names.get(c["county"], c["county"])
        c["basis"] = (
            f"第{c['article']}条第{c['item']}项" if i == 0 else f"Art. {c['article']}({c['item']})"
        )
        known = au.measures()["forms"]
        c["forms_text"] = "、".join(known[f][i] if f in known else f for f in c["forms"])
        c["state_name"] = (_STATE if i == 0 else _STATE_EN).get(c["state"], c["state"])
    return {
        "L": labels,
        "lang": lang,
        "runs": runs,
        "table": table,
        "allocations": allocs,
        "terms": terms,
        "cases": cases,
    }


# --------------------------------------------------------------------------- the PDF


def summary_pdf(s: dict[str, Any], names: dict[str, str], created: Any) -> bytes:
    """The departure-audit summary as a PDF through bishui.reports (embedded Chinese fonts), in
    the layout of the stored report kind ``departure-audit``."""
    from bishui.reports import pdf
    from bishui.reports.content import departure_audit_report

    return pdf.render(departure_audit_report(s, names, created))
