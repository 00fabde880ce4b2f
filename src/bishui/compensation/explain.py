"""``explain``: a statement's whole computation in words and numbers (zh-CN), for a person.

Everything is read from the statement itself (its evidence), so the text explains exactly what
was computed and can be produced from a stored statement without the engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal

from bishui.compensation.engine import Statement
from bishui.compensation.inputs import CLASS_NAMES, INDICATORS
from bishui.compensation.ledger import PartyStatement
from bishui.compensation.shapes import fmt

__all__ = ["explain", "explain_party", "yuan"]

_STATUS = {
    "computed": "已计算",
    "partial_data": "数据不足，按现有数据计算",
    "no_payment": "数据不足，本期不予补偿",
    "held": "数据不足，暂缓结算",
}
_DIRECTION = {
    "two_way": "双向（被考核方达标受偿、不达标付费）",
    "assessed_pays_only": "单向：仅被考核方付费",
    "assessed_receives_only": "单向：仅被考核方受偿",
}
_MODES = {"half_up": "四舍五入（ROUND_HALF_UP）", "half_even": "四舍六入五成双", "down": "截尾"}


def yuan(amount: Decimal | str) -> str:
    """``5,000,000.00 元（500 万元）``: an amount with thousands separators and in 万元."""
    d = Decimal(amount)
    wan = fmt(d / 10_000)
    return f"{d:,} 元（{wan} 万元）"


def _num(value: str | None) -> str:
    return "（缺）" if value is None else fmt(Decimal(value))


def _who(code: str, names: Mapping[str, str], codes: bool = True) -> str:
    if code not in names:
        return code
    return f"{names[code]}（{code}）" if codes else names[code]


def _shares(shares: Mapping[str, str], names: Mapping[str, str], codes: bool = True) -> str:
    if len(shares) == 1:
        return _who(next(iter(shares)), names, codes)
    return "、".join(f"{_who(c, names, codes)} 占 {fmt(Decimal(s))}" for c, s in shares.items())


# the data-source descriptor ``bishui.compensation.store_inputs`` records for a point
_STORE_SOURCE = re.compile(
    r"^store: measurement period=hour (?P<start>\S+)\.\.(?P<end>\S+), (?P<rest>.*)$", re.S
)


def _source_words(source: str) -> str:
    """``store: measurement period=hour 2026-11-01..2026-11-30, 水质断面 WS09; 模拟数据…`` →
    ``平台所存小时值（2026-11-01 至 2026-11-30），水质断面 WS09；模拟数据…``: the stored
    descriptor in words, for the web; a descriptor of another form as it is."""
    m = _STORE_SOURCE.match(source)
    if m is None:
        return source
    rest = m["rest"].replace("; ", "；")
    return f"平台所存小时值（{m['start']} 至 {m['end']}），{rest}"


def explain(
    statement: Statement,
    names: Mapping[str, str] | None = None,
    flag_words: Callable[[str], str] | None = None,
    *,
    codes: bool = True,
) -> str:
    """The computation of *statement* in Chinese, with every figure.

    Parameters
    ----------
    statement : Statement
    names : mapping of str to str, optional
        Region code → name (e.g. ``{"420822": "沙洋县"}``), to print names beside codes.
    flag_words : callable, optional
        A data flag in words (the web's ``display.evidence_flag``: HJ 212 flags by name);
        without it the flags are printed as stored.
    codes : bool, default True
        Print the region and indicator codes beside their names and each point's data
        source as recorded (the CLI's record); the web's pages say names only and the data
        source in words (issue 16 item 2).
    """
    names = names or {}
    words = flag_words or str
    ev = statement.evidence
    rule = ev["rule"]
    out: list[str] = []
    add = out.append
    # the agreement by its name, not the statement's pinyin id (issue 16 item 2: names, not
    # codes); the id stays in the statement's data, its print page's address and the API
    add(f"生态补偿结算单：{rule['title']}，{statement.period.zh}")
    add(f"协议：{rule['title']}（第 {rule['version']} 版）")
    if rule["status"] == "verified":
        add(f"规则来源：已核实的正式方案。{rule['basis']}")
    else:
        add(
            "规则来源：示例配置，参照已核实方案 "
            + "、".join(rule["modelled_on"])
            + f" 拟定，并非官方参数。{rule['basis']}"
        )
    add(f"考核期：{statement.period.zh}（{statement.period}）；版本 v{statement.version}")
    add(f"被考核方：{_shares(rule['assessed'], names, codes)}")
    add(f"对方：{_shares(rule['counterparty'], names, codes)}")
    point = rule["point"]
    kind = "水质断面" if point["kind"] == "water_section" else "空气自动监测站点"
    add(f"评价点：{kind} {'、'.join(point['ids'])}")
    add(f"支付方向：{_DIRECTION[rule['direction']]}")
    add("")
    add("一、采用的数据")
    points = ev["inputs"]["points"]
    if not points:
        add("  （无数据）")
    for key, p in points.items():
        if p.get("water_class"):
            add(f"  {key} 水质类别：{CLASS_NAMES[p['water_class']]}")
        if p.get("volume") is not None:
            add(f"  {key} 期间水量：{fmt(Decimal(p['volume']))} m³")
        for code, ind in p["indicators"].items():
            name = INDICATORS.get(code, (code, ""))[0]
            unit = "µg/m³" if INDICATORS.get(code, ("", ""))[1] == "conc_air" else "mg/L"
            label = f"{name}（{code}）" if codes or name == code else name
            text = f"  {label}：{_num(ind['value'])} {unit}，有效数据 {ind['count']} 个"
            if ind.get("expected"):
                text += f"/应有 {ind['expected']} 个"
            if ind.get("previous") is not None:
                text += f"；上年同期 {_num(ind['previous'])} {unit}"
            if ind.get("flags"):
                text += f"；标记 {'，'.join(words(f) for f in ind['flags'])}"
            add(text)
        for fig, value in p.get("figures", {}).items():
            add(f"  {fig}：{_num(value)}")
        if p.get("source"):
            add(f"  数据来源：{p['source'] if codes else _source_words(p['source'])}")
    if ev["data_check"]:
        add("  数据检查：" + "；".join(ev["data_check"]))
    elif rule["indicators"]:
        md = rule["missing_data"]
        add(f"  数据检查：通过（每项至少 {md['min_count']} 个有效数据）")
    else:
        add("  数据检查：通过")
    add("")
    add("二、计算过程")
    if not ev["terms"]:
        add("  未计算（见说明）")
    for i, term in enumerate(ev["terms"], 1):
        add(f"  {i}. {term['label']}（公式 {term['shape']}）")
        for step in term["steps"]:
            add(f"     {step['zh']}")
        limits = []
        if term["cap"] is not None:
            limits.append(f"上限 {yuan(term['cap'])}")
        if term["floor"] is not None:
            limits.append(f"下限 {yuan(term['floor'])}")
        if limits:
            add(f"     本项{'、'.join(limits)}：{term['amount_exact']} 元 → {term['amount']} 元")
    add(f"  各项合计（精确值）：{ev['total_exact']} 元")
    if ev["after_direction"] != ev["total_exact"]:
        add(f"  按支付方向：{ev['after_direction']} 元")
    if rule["cap"] is not None or rule["floor"] is not None:
        bits = []
        if rule["cap"] is not None:
            bits.append(f"上限 {yuan(rule['cap'])}")
        if rule["floor"] is not None:
            bits.append(f"下限 {yuan(rule['floor'])}")
        add(f"  协议{'、'.join(bits)}：{ev['after_limits']} 元")
    r = rule["rounding"]
    stage = "合计" if r["stage"] == "total" else "各项"
    add(f"  舍入：保留 {r['places']} 位小数，{_MODES[r['mode']]}，于{stage}后舍入")
    add("")
    add("三、结果")
    amount = statement.amount
    if amount > 0:
        add(f"  被考核方应得 {yuan(amount)}")
    elif amount < 0:
        add(f"  被考核方应付 {yuan(-amount)}")
    else:
        add("  本期无资金往来（0.00 元）")
    for t in statement.transfers:
        add(f"  {_who(t.payer, names, codes)} → {_who(t.payee, names, codes)}：{yuan(t.amount)}")
    add(f"  状态：{_STATUS.get(statement.status, statement.status)}")
    for note in statement.notes:
        add(f"  说明：{note}")
    if statement.supersedes:
        add(
            f"  更正：本版取代 v{statement.version - 1}（{statement.supersedes}），"
            f"原金额 {statement.previous_amount} 元，差额 {statement.difference} 元"
        )
    add("")
    add(f"规则哈希：{statement.rule_hash}")
    add(f"结算单哈希：{statement.content_hash}")
    add("（哈希为规范化 JSON 的 SHA-256；以同一规则与所存数据重算应得到同一哈希。）")
    return "\n".join(out)


def explain_party(
    statement: PartyStatement,
    names: Mapping[str, str] | None = None,
    *,
    codes: bool = True,
    titles: Mapping[str, str] | None = None,
) -> str:
    """A party's settlement statement for a period in Chinese: each line, then the totals.

    Parameters
    ----------
    statement : PartyStatement
    names : mapping of str to str, optional
        Region code → name, to print names beside codes.
    codes : bool, default True
        Each line by its statement id and the regions with their codes (the CLI's record);
        ``False`` says names only (the web's pages, issue 16 item 2): each line by its
        agreement's title and period, the regions by name.
    titles : mapping of str to str, optional
        Agreement id → title, for ``codes=False`` (an agreement without one is named by id).
    """
    names = names or {}
    titles = titles or {}
    out = [f"生态补偿对账单：{_who(statement.party, names, codes)}，{statement.period.zh}"]
    if not statement.lines:
        out.append("  本期无资金往来。")
    for line in statement.lines:
        side = f"应付 {yuan(line.pays)}" if line.pays else f"应收 {yuan(line.receives)}"
        status = _STATUS.get(line.status, line.status)
        what = (
            line.statement_id
            if codes
            else f"{titles.get(line.agreement_id, line.agreement_id)}，{line.period.zh}"
        )
        out.append(f"  {what}（{status}）对方 {_who(line.counterparty, names, codes)}：{side}")
    out.append(f"应付合计 {yuan(statement.pays)}")
    out.append(f"应收合计 {yuan(statement.receives)}")
    out.append(f"净额（应收 − 应付）{yuan(statement.net)}")
    return "\n".join(out)
