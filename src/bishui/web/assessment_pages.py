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
