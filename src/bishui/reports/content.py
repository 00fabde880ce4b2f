"""What each report says, built from the engines' results (never recomputing a standard here).

* 空气质量日报 (``air-daily``, a day): :func:`bishui.air.service.daily` — each station's,
  county's and the city's AQI, primary pollutant, level, category and concentrations as
  published (µg/m³ integers, CO mg/m³ one decimal: :func:`bishui.air.publish.report_table`);
  a chart of the counties' AQI in the category colours (HJ 633 Table 4).
* 空气质量月报 / 年报 (``air-month`` / ``air-year``): :func:`bishui.air.service.assessment`
  (HJ 663 statistics, the good-days ratio, the composite index, the edition in force on the
  period's last day) for this period and the same period a year before, and
  :func:`bishui.air.service.ranking` of the counties.
* 地表水环境质量月报 / 年报 (``water-month`` / ``water-year``):
  :func:`bishui.water.service.assess` — section classes (GB 3838), exceedance factors
  (主要污染指标 with 超标倍数), the target compliance rate, county statistics and CWQI ranking
  (:mod:`bishui.water.report` tables).
* 重点排污单位自动监测达标月报 (``sources-month``): the month's stored findings
  (:func:`bishui.sources.service.list_findings`) per enterprise and the annual permitted
  quantities used to the month's end (:func:`bishui.sources.service.cap_usage`).

* 环境资源交易月报 (``exchange-month``): the month's settled trades
  (:func:`bishui.exchange.trading.trades`) summed per product by
  :func:`bishui.exchange.market.report.monthly_report` (volume, value, volume-weighted average
  price, money in fen printed in yuan), each trade with its parties and the permit versions it
  issued, and the hash chains' state (:func:`bishui.exchange.service.verify`,
  :func:`bishui.exchange.ledger.verify`).

* 领导干部自然资源资产离任审计汇总 (``departure-audit``, the "period" is a term of office's id):
  :func:`bishui.assessment.service.departure_summary` — targets met or missed per year of the
  term (the latest scorecard run of each year), asset stocks over the term, major incidents,
  the enforcement record and the accountability cases (docs/assessment.md). The runs it used
  and the accountability measures' edition are stored as its rules.

A figure resting on part of its period (a month not yet over, a day with missing hours, a
water section with too few samples, a cap total over a partly checked year) is flagged in the
report's notices.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from bishui.errors import InputError
from bishui.reports.pdf import (
    SYNTHETIC_NOTICE,
    BarChart,
    Heading,
    Para,
    Report,
    TableBlock,
)
from bishui.store import Store

#: Report kinds: name (the PDF's Chinese title; ``title_en`` for English pages), period form,
#: who may read it.
KINDS: dict[str, dict[str, str]] = {
    "air-daily": {
        "title": "环境空气质量日报",
        "title_en": "Daily ambient air quality report",
        "period": "day",
        "audience": "public",
    },
    "air-month": {
        "title": "环境空气质量月报",
        "title_en": "Monthly ambient air quality report",
        "period": "month",
        "audience": "public",
    },
    "air-year": {
        "title": "环境空气质量年度公报",
        "title_en": "Annual ambient air quality bulletin",
        "period": "year",
        "audience": "public",
    },
    "water-month": {
        "title": "地表水环境质量月报",
        "title_en": "Monthly surface water quality report",
        "period": "month",
        "audience": "public",
    },
    "water-year": {
        "title": "地表水环境质量年度公报",
        "title_en": "Annual surface water quality bulletin",
        "period": "year",
        "audience": "public",
    },
    "exchange-month": {
        "title": "环境资源交易月报",
        "title_en": "Monthly environmental-resource exchange report",
        "period": "month",
        "audience": "staff",
    },
    "departure-audit": {
        "title": "领导干部自然资源资产离任审计汇总",
        "title_en": "Natural-resource departure audit summary",
        "period": "term",
        "audience": "audit",
    },
    "sources-month": {
        "title": "重点排污单位自动监测达标情况月报",
        "title_en": "Monthly compliance report of key pollutant dischargers (automatic monitoring)",
        "period": "month",
        "audience": "staff",
    },
}
#: Version of the report layouts (bumped when a report's contents change); stored with each.
LAYOUT_VERSION = "reports/1"

_FORMS = {
    "day": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "month": re.compile(r"^\d{4}-\d{2}$"),
    "year": re.compile(r"^\d{4}$"),
    # a term of office's id (bishui.assessment.service.add_term)
    "term": re.compile(r"^[0-9a-f]{12,16}$"),
}
#: The whole span a term's report may cover: its own dates are the stored term's.
_TERM_SPAN = (dt.date(2000, 1, 1), dt.date(2101, 1, 1))
#: Control levels of a water section, as a bulletin names them.
CONTROL_ZH = {"national": "国控", "provincial": "省控", "city": "市控", "county": "县控"}
#: Severity of a source finding (the rule set's levels).
SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低", "info": "提示"}
#: HJ 633 Table 4 colours of the six AQI levels (the same as the service's ``hex``).
CLASS_COLOURS = ("#3d85c6", "#3d85c6", "#6aa84f", "#f1c232", "#e69138", "#cc0000", "#000000")


def check_period(kind: str, period: str) -> tuple[dt.date, dt.date]:
    """``[first day, day after the last)`` of *period* for *kind*; :class:`InputError` if the
    kind is unknown or the period is not of its form (a day, a month or a year 2000–2100)."""
    if kind not in KINDS:
        raise InputError("kind", f"one of {', '.join(KINDS)}", kind)
    form = KINDS[kind]["period"]
    text = (period or "").strip()
    if form == "term":
        if not _FORMS["term"].match(text):
            raise InputError("period", "a term id (12–16 hex digits)", period)
        return _TERM_SPAN
    if not _FORMS[form].match(text) or not 2000 <= int(text[:4]) <= 2100:
        raise InputError("period", {"day": "YYYY-MM-DD", "month": "YYYY-MM", "year": "YYYY"}[form],
                         period)  # fmt: skip
    try:
        if form == "day":
            d = dt.date.fromisoformat(text)
            return d, d + dt.timedelta(days=1)
        if form == "month":
            y, m = int(text[:4]), int(text[5:7])
            return dt.date(y, m, 1), dt.date(y + m // 12, m % 12 + 1, 1)
    except ValueError:
        raise InputError("period", "a real calendar day or month", period) from None
    y = int(text)
    return dt.date(y, 1, 1), dt.date(y + 1, 1, 1)


def _zh_period(kind: str, period: str) -> str:
    form = KINDS[kind]["period"]
    if form == "term":
        return f"任期 {period}"
    if form == "day":
        d = dt.date.fromisoformat(period)
        return f"{d.year}年{d.month}月{d.day}日"
    if form == "month":
        return f"{period[:4]}年{int(period[5:7])}月"
    return f"{period}年"


def _city_name(store: Store) -> str:
    rows = store.query("SELECT name FROM regions WHERE kind = 'city' ORDER BY code LIMIT 1")
    return str(rows[0]["name"]) if rows else ""


def _synthetic(store: Store) -> bool:
    """The model city's generator writes ``source = 'synthetic'`` on the values it makes."""
    return bool(store.query("SELECT 1 AS x FROM measurement WHERE source = 'synthetic' LIMIT 1"))


def _new(store: Store, kind: str, period: str, created: dt.datetime) -> Report:
    city = _city_name(store)
    r = Report(
        kind=kind,
        period=period,
        title=f"{city}{KINDS[kind]['title']}",
        subtitle=_zh_period(kind, period),
        created=created,
    )
    if _synthetic(store):
        r.notices.append(SYNTHETIC_NOTICE)
    return r


def _partial(r: Report, text: str) -> None:
    r.partial = True
    r.notices.append("部分数据：" + text)


# ------------------------------------------------------------------------------ air
_AIR_DAILY_DROP = ("代码", "标准")


def air_daily(store: Store, period: str, as_of: dt.date, created: dt.datetime) -> Report:
    """空气质量日报 of one day (HJ 633; the edition in force on the day)."""
    from bishui.air import service
    from bishui.air.publish import SHORT, report_table

    day, _ = check_period("air-daily", period)
    if day >= as_of:
        raise InputError("period", "a day that has closed (before today)", period)
    rows = service.daily(store, day)
    r = _new(store, "air-daily", period, created)
    editions = sorted({x.report.edition for x in rows})
    standards = "；".join(service.STANDARDS[e] for e in editions)
    r.meta.append(f"评价依据：{standards}（{'、'.join(e + '版' for e in editions)}）")
    r.meta.append(
        "浓度单位：μg/m³（CO 为 mg/m³）；AQI、IAQI 为整数，CO 保留一位小数（GB/T 8170 修约）"
    )
    r.rules = {"air": service.RULE_VERSION, "editions": editions, "standards": standards}
    table = report_table(rows)
    keep = [i for i, h in enumerate(table.header)
            if h not in _AIR_DAILY_DROP and not h.endswith("IAQI")]  # fmt: skip
    incomplete = [x.name for x in rows if x.report.status in ("incomplete", "NA")]
    missing = [x.name for x in rows if x.report.status == "missing"]
    if incomplete:
        _partial(r, "以下站点/区域当日部分污染物数据不足，AQI 按现有指标计算或按规定不发布（NA）："
                 + "、".join(incomplete))  # fmt: skip
    if missing:
        _partial(r, "以下站点/区域当日无有效数据：" + "、".join(missing))
    city = [x for x in rows if x.scope == "city"]
    if city and city[0].report.aqi is not None:
        c = city[0].report
        primary = "、".join(SHORT.get(k, k) for k in c.primary) if c.primary else "无"
        r.blocks.append(Para(
            f"{_zh_period('air-daily', period)}，全市环境空气质量指数（AQI）为 {c.aqi}，"
            f"空气质量级别{c.level_name}，类别{c.category}，首要污染物：{primary}。"
        ))  # fmt: skip
    r.blocks.append(Heading("一、各区县及全市空气质量"))
    order = {"city": 0, "county": 1, "station": 2}
    ranked = sorted(range(len(rows)), key=lambda i: order[rows[i].scope])
    scoped_rows = [[table.rows[i][j] for j in keep] for i in ranked if rows[i].scope != "station"]
    r.blocks.append(TableBlock([table.header[j] for j in keep], scoped_rows))
    counties = [x for x in rows if x.scope in ("county", "city")]
    r.blocks.append(BarChart(
        "各区县 AQI", [x.name for x in counties], [x.report.aqi for x in counties], unit="AQI",
        colours=[x.report.hex or "#999999" for x in counties], reference=100,
        reference_label="AQI 100（良/轻度污染分界）",
    ))  # fmt: skip
    r.blocks.append(Heading("二、各监测站点空气质量"))
    r.blocks.append(TableBlock(
        [table.header[j] for j in keep],
        [[table.rows[i][j] for j in keep] for i in ranked if rows[i].scope == "station"],
        note="NA：数据不足或按 HJ 633 规定不发布；—：AQI ≤ 50，无首要污染物。",
    ))  # fmt: skip
    return r


def _air_period(
    store: Store, kind: str, period: str, as_of: dt.date, created: dt.datetime
) -> Report:
    from bishui.air import service
    from bishui.air.publish import assessment_table, ranking_table

    check_period(kind, period)
    per = service.parse_period(period, today=as_of)
    rows = service.assessment(store, per, today=as_of)
    r = _new(store, kind, period, created)
    first = rows[0] if rows else None
    if first is not None:
        r.meta.append(
            f"评价依据：{service.STANDARDS[first.edition]}（{first.edition}版，{first.phase}）；"
            f"日 AQI：{'、'.join(e + '版' for e in first.daily_editions)}"
        )
        r.rules = {"air": service.RULE_VERSION, "edition": first.edition, "phase": first.phase,
                   "standards": service.STANDARDS[first.edition],
                   "daily_editions": list(first.daily_editions)}  # fmt: skip
    end = per.end - dt.timedelta(days=1)
    r.meta.append(f"统计时段：{per.start.isoformat()} 至 {end.isoformat()}")
    if not per.complete:
        _partial(r, f"本期尚未结束，统计截至 {end.isoformat()}，各项指标为部分时段结果。")
    short = [x.name for x in rows if x.pollutants["PM2.5"]["status"] == "invalid"]
    if short:
        _partial(r, "以下站点/区域有效天数不足（GB 3095 表 4），相关统计仅供参考："
                 + "、".join(short))  # fmt: skip
    prev_label = str(int(period[:4]) - 1) + period[4:]
    try:
        prev = {x.code: x for x in service.assessment(store, prev_label, today=as_of)}
    except InputError:
        prev = {}
    city = [x for x in rows if x.scope == "city"]
    if city:
        c = city[0]
        ratio = "NA" if c.good_ratio is None else f"{c.good_ratio:.1f}%"
        ci = "NA" if c.composite is None else f"{c.composite:.2f}"
        r.blocks.append(Para(
            f"{_zh_period(kind, period)}，全市优良天数 {c.good_days} 天"
            f"（有效天数 {c.valid_days} 天），"
            f"优良天数比例 {ratio}；PM2.5 平均浓度 {_stat('PM2.5', c.pollutants['PM2.5']['mean'])}"
            f" μg/m³；环境空气质量综合指数 {ci}。"
        ))  # fmt: skip
    table = assessment_table(rows)
    r.blocks.append(Heading("一、全市及各区县环境空气质量（HJ 663 统计）"))
    keep = [i for i, h in enumerate(table.header) if h not in ("时段", "代码")]
    order = {"city": 0, "county": 1, "station": 2}
    idx = sorted(range(len(rows)), key=lambda i: order[rows[i].scope])
    r.blocks.append(TableBlock(
        [table.header[j] for j in keep], [[table.rows[i][j] for j in keep] for i in idx],
        note="浓度单位 μg/m³（CO 为 mg/m³）；P98/P95/P90 为日评价指标的百分位数（HJ 663 表 1）。",
    ))  # fmt: skip
    r.blocks.append(Heading("二、与上年同期比较"))
    comp = []
    for x in sorted(rows, key=lambda x: order[x.scope]):
        if x.scope == "station":
            continue
        p = prev.get(x.code)
        now_pm = x.pollutants["PM2.5"]["mean"]
        was_pm = p.pollutants["PM2.5"]["mean"] if p else None
        comp.append([
            x.name,
            _stat("PM2.5", now_pm), _stat("PM2.5", was_pm),
            _change(now_pm, was_pm),
            _fmt(x.good_ratio, 1), _fmt(p.good_ratio if p else None, 1),
            _diff(x.good_ratio, p.good_ratio if p else None),
            _fmt(x.composite, 2), _fmt(p.composite if p else None, 2),
        ])  # fmt: skip
    r.blocks.append(TableBlock(
        ["名称", "PM2.5 本期(μg/m³)", "PM2.5 上年同期", "PM2.5 变化(%)", "优良天数比例 本期(%)",
         "优良天数比例 上年同期(%)", "变化(百分点)", "综合指数 本期", "综合指数 上年同期"],
        comp, note=f"上年同期：{prev_label}；NA 表示该期无有效数据。",
    ))  # fmt: skip
    r.blocks.append(Heading("三、区县环境空气质量综合指数排名"))
    ranks = service.ranking(store, per, today=as_of)
    rt = ranking_table(ranks)
    r.blocks.append(
        TableBlock(rt.header, rt.rows, note="综合指数越小，空气质量越好；并列者名次相同。")
    )
    r.blocks.append(BarChart(
        "各区县 PM2.5 平均浓度", [x.row.name for x in ranks],
        [_num(_stat("PM2.5", x.row.pollutants["PM2.5"]["mean"])) for x in ranks],
        unit="μg/m³", reference=(first.pollutants["PM2.5"]["mean_limit"] if first else None),
        reference_label="PM2.5 年均二级浓度限值",
    ))  # fmt: skip
    return r


def _stat(pol: str, v: float | None) -> str:
    """A period statistic as published: µg/m³ integers, CO mg/m³ one decimal (GB/T 8170)."""
    from bishui.air.rounding import round_gbt8170

    if v is None:
        return "NA"
    d = 1 if pol == "CO" else 0
    return f"{float(round_gbt8170(v, d)):.{d}f}"


def _num(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _fmt(v: float | None, digits: int) -> str:
    return "NA" if v is None else f"{v:.{digits}f}"


def _change(now: float | None, was: float | None) -> str:
    if now is None or was is None or was == 0:
        return "NA"
    return f"{(now - was) / was * 100:+.1f}"


def _diff(now: float | None, was: float | None) -> str:
    return "NA" if now is None or was is None else f"{now - was:+.1f}"


def air_month(store: Store, period: str, as_of: dt.date, created: dt.datetime) -> Report:
    """空气质量月报 (HJ 663 per the edition in force on the month's last day)."""
    return _air_period(store, "air-month", period, as_of, created)


def air_year(store: Store, period: str, as_of: dt.date, created: dt.datetime) -> Report:
    """环境空气质量年度公报."""
    return _air_period(store, "air-year", period, as_of, created)


# ------------------------------------------------------------------------------ water
def _water(store: Store, kind: str, period: str, as_of: dt.date, created: dt.datetime) -> Report:
    from bishui.water import report as wr
    from bishui.water import tables as wt
    from bishui.water.periods import WaterPeriod
    from bishui.water.service import assess

    start, end = check_period(kind, period)
    if start >= as_of:
        raise InputError("period", "must have begun before today", period)
    a = assess(store, WaterPeriod.parse(period))
    r = _new(store, kind, period, created)
    r.meta.append(f"评价依据：{a.edition}；{a.method}")
    r.rules = {"water": a.rules_version, "edition": a.edition, "method": a.method}
    if end > as_of:
        _partial(r, f"本期尚未结束，评价截至 {(as_of - dt.timedelta(days=1)).isoformat()}。")
    short = [s["name"] for s in a.sections if not s["class"]]
    if short:
        _partial(r, "以下断面样本数不足，未评价水质类别：" + "、".join(short))
    c = a.city
    assessed = c["assessed"]
    targets = c["targets"]
    rate = f"{c['attained'] / targets * 100:.1f}%" if targets else "NA"
    good = "NA" if c["share_good"] is None else f"{c['share_good'] * 100:.1f}%"
    bad = "NA" if c["share_bad"] is None else f"{c['share_bad'] * 100:.1f}%"
    r.blocks.append(Para(
        f"{_zh_period(kind, period)}，全市 {c['sections']} 个地表水监测断面中 "
        f"{assessed} 个参与评价，"
        f"水质优良（Ⅰ~Ⅲ类）断面比例 {good}，劣Ⅴ类断面比例 {bad}；"
        f"有水质目标的断面 {targets} 个，达标 {c['attained']} 个，达标率 {rate}。"
    ))  # fmt: skip
    r.blocks.append(Heading("一、断面水质状况"))
    headers, rows = wr.section_table(a)
    drop = {"断面编号", "CWQI"}
    keep = [i for i, h in enumerate(headers) if h not in drop]
    ctl = headers.index("控制级别")
    rows = [[CONTROL_ZH.get(v, v) if i == ctl else v for i, v in enumerate(row)] for row in rows]
    r.blocks.append(TableBlock(
        [headers[i] for i in keep], [[row[i] for i in keep] for row in rows],
        note="浓度单位 mg/L（pH 无量纲）；主要污染指标括号内为超标倍数"
        "（GB 3838 / 环办〔2011〕22号）。",
    ))  # fmt: skip
    labels = [wt.CLASS_LABELS[k] for k in range(1, 7)]
    r.blocks.append(BarChart(
        "各水质类别断面数", labels, [float(v) for v in c["by_class"]], unit="个",
        colours=list(CLASS_COLOURS[1:]),
    ))  # fmt: skip
    r.blocks.append(Heading("二、超标断面及超标指标"))
    over = [s for s in a.sections if s["class"] and s["attainment"] == "不达标"]
    r.blocks.append(TableBlock(
        ["断面名称", "河流(湖库)", "所在区域", "目标类别", "水质类别", "超标指标(超标倍数)"],
        [[s["name"], s["river"] or "", s["region_name"], s["target_label"], s["label"],
          s["main_pollutants"] or "—"] for s in over] or [["无", "", "", "", "", ""]],
    ))  # fmt: skip
    r.blocks.append(Heading("三、区县水质统计与城市水质指数（CWQI）排名"))
    headers, rows = wr.county_table(a)
    keep = [i for i, h in enumerate(headers) if h != "区域代码"]
    r.blocks.append(
        TableBlock([headers[i] for i in keep], [[row[i] for i in keep] for row in rows])
    )
    headers, rows = wr.county_ranking(a)
    r.blocks.append(TableBlock(headers, rows, note="CWQI 越小水质越好；变化排名与上年同期比较。"))
    r.blocks.append(Heading("四、河流(湖库)水质状况"))
    headers, rows = wr.river_table(a)
    r.blocks.append(TableBlock(headers, rows))
    return r


def water_month(store: Store, period: str, as_of: dt.date, created: dt.datetime) -> Report:
    """地表水环境质量月报."""
    return _water(store, "water-month", period, as_of, created)


def water_year(store: Store, period: str, as_of: dt.date, created: dt.datetime) -> Report:
    """地表水环境质量年度公报."""
    return _water(store, "water-year", period, as_of, created)


# ------------------------------------------------------------------------------ sources
def sources_month(store: Store, period: str, as_of: dt.date, created: dt.datetime) -> Report:
    """重点排污单位自动监测达标情况月报: per enterprise findings, exceedances, caps."""
    from bishui.sources import pollutants
    from bishui.sources.cli import RULE_NAMES
    from bishui.sources.permit_store import load_permits
    from bishui.sources.rules import load_ruleset
    from bishui.sources.service import cap_usage, list_findings

    start, end = check_period("sources-month", period)
    if start >= as_of:
        raise InputError("period", "must have begun before today", period)
    last = min(end, as_of) - dt.timedelta(days=1)
    r = _new(store, "sources-month", period, created)
    ruleset = load_ruleset()
    r.meta.append(f"判定规则集：{ruleset.name} {ruleset.version}；许可排放限值以排污许可证为准")
    r.rules = {"sources": f"{ruleset.name}/{ruleset.version}"}
    if end > as_of:
        _partial(r, f"本月尚未结束，统计截至 {last.isoformat()}。")
    t0 = dt.datetime.combine(start, dt.time())
    t1 = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
    total, findings = list_findings(store, start=t0, end=t1, limit=100_000)
    by_ent: dict[str, Counter[str]] = {}
    for f in findings:
        by_ent.setdefault(f["uscc"] or "", Counter())[f["rule_id"]] += 1
    permits = {p.uscc: p for p in load_permits(store) if p.is_in_force(last)}
    names = {p.uscc: p.enterprise for p in permits.values()}
    rows = store.query("SELECT uscc, name FROM enterprises ORDER BY uscc")
    names.update({x["uscc"]: x["name"] for x in rows if x["uscc"] not in names})
    table = []
    for uscc in sorted(set(permits) | set(by_ent)):
        cnt = by_ent.get(uscc, Counter())
        exc = cnt.get("EXC", 0) + cnt.get("CAP", 0)
        others = sum(v for k, v in cnt.items() if k not in ("EXC", "CAP"))
        table.append([
            names.get(uscc, uscc), uscc, permits[uscc].permit_no if uscc in permits else "无",
            cnt.get("EXC", 0), cnt.get("CAP", 0), others,
            "达标" if exc == 0 else "不达标",
        ])  # fmt: skip
    ok = sum(1 for x in table if x[-1] == "达标")
    r.blocks.append(Para(
        f"{_zh_period('sources-month', period)}，纳入自动监测的排污单位 {len(table)} 家，"
        f"其中达标 {ok} 家；本月判定记录 {total} 条。"
    ))  # fmt: skip
    r.blocks.append(Heading("一、各排污单位达标情况"))
    r.blocks.append(TableBlock(
        ["排污单位", "统一社会信用代码", "排污许可证编号", "浓度超标(次)", "超许可排放量(次)",
         "数据异常(次)", "达标情况"],
        table or [["无", "", "", 0, 0, 0, ""]],
        note="达标：当月无浓度超标和超许可排放量判定；数据异常（恒值、零流量等）另行核查。",
    ))  # fmt: skip
    r.blocks.append(Heading("二、超标记录"))
    exc_rows = [f for f in findings if f["rule_id"] in ("EXC", "CAP")]
    r.blocks.append(TableBlock(
        ["排污单位", "排放口", "污染物", "规则", "严重程度", "开始", "结束", "判定规则版本"],
        [[names.get(f["uscc"], f["uscc"]), f["site_code"], _pollutant(pollutants.get, f),
          RULE_NAMES.get(f["rule_id"], f["rule_id"]), SEVERITY_ZH.get(f["severity"], ""),
          _t(f["start_ts"]), _t(f["end_ts"]), f"{f['ruleset_version']}"]
         for f in exc_rows[:200]] or [["无", "", "", "", "", "", "", ""]],
        note="" if len(exc_rows) <= 200 else f"共 {len(exc_rows)} 条，此处列出最新 200 条。",
    ))  # fmt: skip
    r.blocks.append(Heading("三、年度许可排放量使用情况"))
    caps = cap_usage(store, last)
    partial_caps = [c for c in caps if c["coverage"] < 1]
    if partial_caps:
        _partial(r, "部分排污单位的年度累计排放量基于不完整的监测天数（见“数据覆盖”列）。")
    r.blocks.append(TableBlock(
        ["排污单位", "污染物", "许可排放量(t/a)", "年累计排放量(t)", "使用比例(%)", "数据覆盖(天)",
         "预计达到许可量日期"],
        [[c["enterprise"], _pollutant(pollutants.get, {"pollutant": c["pollutant"]}),
          c["cap_t"], f"{float(c['total_t']):.3f}", f"{c['share'] * 100:.1f}",
          f"{c['days_with_data']}/{c['days_elapsed']}", c["projected"] or "—"] for c in caps]
        or [["无", "", "", "", "", "", ""]],
    ))  # fmt: skip
    return r


def _pollutant(get: Callable[[str], Any], f: dict[str, Any]) -> str:
    code = f.get("pollutant") or ""
    try:
        return f"{get(code).name_zh}"
    except InputError:
        return code


def _t(v: Any) -> str:
    return v.strftime("%m-%d %H:%M") if isinstance(v, dt.datetime) else str(v or "")


def exchange_month(store: Store, period: str, as_of: dt.date, created: dt.datetime) -> Report:
    """环境资源交易月报: the month's settled trades per product and one by one."""
    from decimal import Decimal

    from bishui.exchange import ledger, service, trading
    from bishui.exchange.instruments import INSTRUMENTS, Instrument, from_units
    from bishui.exchange.market import report as mreport
    from bishui.sources import pollutants

    start, end = check_period("exchange-month", period)
    if start >= as_of:
        raise InputError("period", "must have begun before today", period)
    last = min(end, as_of) - dt.timedelta(days=1)
    r = _new(store, "exchange-month", period, created)
    r.meta.append("统计口径：当月已结算的成交（电子竞价、协议转让、储备回购与出让、节能量交易）")
    r.rules = {"exchange": "market.report/vwap"}
    if end > as_of:
        _partial(r, f"本月尚未结束，统计截至 {last.isoformat()}。")
    t0 = dt.datetime.combine(start, dt.time())
    t1 = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
    done = trading.trades(store, since=t0, until=t1)
    state = service.stored(store)

    def party(account: str) -> str:
        a = state.accounts.get(account)
        if a is None:
            return account
        e = state.entities.get(a.holder)
        return e.name if e is not None else a.holder

    def yuan(fen: int) -> str:
        return f"{Decimal(int(fen)) / 100:,.2f}"

    def qty(inst: Instrument, units: int) -> str:
        return f"{from_units(inst, units)} {INSTRUMENTS[inst].trading_unit}"

    def product(inst: Instrument, pollutant: str) -> str:
        name = INSTRUMENTS[inst].name_zh
        return (
            f"{name}（{_pollutant(pollutants.get, {'pollutant': pollutant})}）"
            if pollutant
            else name
        )

    def permits(t: dict[str, Any]) -> str:
        return "；".join(
            f"{p['permit_no']} 第{p['version']}版" + ("" if p["consistent"] else "（不一致）")
            for p in t["permits"]
        )

    rows = mreport.monthly_report(
        mreport.Trade(Instrument(t["instrument"]), t["pollutant"],
                      t["ts"].replace(tzinfo=mreport.CST), int(t["price_fen"]), int(t["units"]))
        for t in done
    )  # fmt: skip
    value = sum(x.value_fen for x in rows)
    r.blocks.append(Para(
        f"{_zh_period('exchange-month', period)}，环境资源交易市场共成交 {len(done)} 笔，"
        f"成交金额 {yuan(value)} 元。"
    ))  # fmt: skip
    r.blocks.append(Heading("一、分品种成交情况"))
    r.blocks.append(TableBlock(
        ["品种", "成交笔数", "成交量", "成交金额(元)", "成交均价(元/交易单位)"],
        [[product(x.instrument, x.pollutant), x.trades, qty(x.instrument, x.volume),
          yuan(x.value_fen), yuan(x.vwap_fen)] for x in rows] or [["无", 0, "", "", ""]],
        note="成交均价为成交量加权平均价（Σ价格×数量/Σ数量），四舍五入到分。",
    ))  # fmt: skip
    r.blocks.append(Heading("二、成交明细"))
    r.blocks.append(TableBlock(
        ["成交编号", "时间", "方式", "品种", "出让方", "受让方", "数量", "单价(元)", "金额(元)",
         "许可证变更"],
        [[t["id"], _t(t["ts"]), str(t["kind"]),
          product(Instrument(t["instrument"]), t["pollutant"]),
          party(t["seller_account"]), party(t["buyer_account"]),
          qty(Instrument(t["instrument"]), int(t["units"])), yuan(t["price_fen"]),
          yuan(t["amount_fen"]),
          permits(t) or "—"]
         for t in done[:200]] or [["无", "", "", "", "", "", "", "", "", ""]],
        note="" if len(done) <= 200 else f"共 {len(done)} 笔，此处列出前 200 笔。",
    ))  # fmt: skip
    r.blocks.append(Heading("三、登记簿与资金账的完整性"))
    faults = [("排放权等登记簿（交易日志）", service.verify(store)),
              ("资金账", ledger.verify(store))]  # fmt: skip
    r.blocks.append(TableBlock(
        ["记录", "哈希链校验"],
        [[name, "完整" if f is None else f"第 {f.seq} 条记录异常"] for name, f in faults],
    ))  # fmt: skip
    return r


# ------------------------------------------------------------------ departure audit
_MET = {True: "完成", False: "未完成", None: "无数据"}
_CASE_STATE = {"open": "立案", "decided": "已决定", "closed": "已结案"}
#: Version of the departure-audit summary's contents (stored in the report's rules).
AUDIT_LAYOUT = "departure-audit/1"


def departure_audit_report(
    s: dict[str, Any], names: dict[str, str], created: dt.datetime
) -> Report:
    """The departure-audit summary *s* (:func:`bishui.assessment.service.departure_summary`)
    as a report: the stored kind and the on-demand PDF of the web share this layout."""
    from bishui.assessment import assets as am
    from bishui.assessment import audit as au

    t, tg, en = s["term"], s["targets"], s["enforcement"]
    forms = au.measures()["forms"]
    r = Report(
        kind="departure-audit",
        period=str(t["id"]),
        title=KINDS["departure-audit"]["title"],
        subtitle=f"{names.get(t['county'], t['county'])} {t['post']} {t['leader']}，"
        f"任期 {t['start']} 至 {t['end']}",
        created=created,
    )
    r.rules = {
        "summary": AUDIT_LAYOUT,
        "runs": sorted({str(x["run"]) for x in tg["rows"]}),
        "accountability": "党政领导干部生态环境损害责任追究办法（试行）2015",
    }
    r.blocks = [
        Heading("一、约束性目标完成情况"),
        Para(f"完成 {tg['met']} 项，未完成 {tg['missed']} 项，无数据 {tg['no_data']} 项。"),
        TableBlock(
            ["年度", "指标", "得分", "完成情况"],
            [[x["year"], x["name"], x["points"], _MET[x["met"]]] for x in tg["rows"]]
            or [["—", "无考核结果", "—", "—"]],
        ),
        Heading("二、自然资源资产变化（任期首年期初至末年期末）"),
        TableBlock(
            ["资源", "类别", "期初", "期末", "变化"],
            [
                [
                    am.RESOURCES.get(x["resource"], (x["resource"],))[0],
                    x["category"],
                    x["opening"] or "—",
                    x["closing"] or "—",
                    x["change"] or "—",
                ]
                for x in s["assets"]
            ]
            or [["—", "无", "—", "—", "—"]],
        ),
        Heading("三、重大事件（高级别执法任务）"),
        TableBlock(
            ["日期", "事项"],
            [[str(x["created"])[:10], str(x["title"])] for x in s["incidents"]] or [["—", "无"]],
        ),
        Heading("四、执法记录"),
        Para(
            f"任期内立案 {en['tasks']} 件，办结 {en['closed']} 件（按期 {en['on_time']} 件），"
            f"未结 {en['open']} 件。"
        ),
        Heading("五、责任追究（《党政领导干部生态环境损害责任追究办法（试行）》）"),
        TableBlock(
            ["立案日期", "依据", "追责形式", "事实", "状态"],
            [
                [
                    str(c["opened"]),
                    f"第{c['article']}条第{c['item']}项",
                    "、".join(forms[f][0] if f in forms else f for f in c["forms"]),
                    c["facts"],
                    _CASE_STATE.get(c["state"], c["state"]),
                ]
                for c in s["cases"]
            ]
            or [["—", "—", "—", "无", "—"]],
        ),
        Para(s["note"]),
    ]
    return r


def departure_audit(store: Store, period: str, as_of: dt.date, created: dt.datetime) -> Report:
    """领导干部自然资源资产离任审计汇总 of the term *period* (its id), from the stored data."""
    from bishui.assessment import service

    check_period("departure-audit", period)
    s = service.departure_summary(store, period)
    names = {str(x["code"]): str(x["name"]) for x in store.query("SELECT code, name FROM regions")}
    r = departure_audit_report(s, names, created)
    if _synthetic(store):
        r.notices.append(SYNTHETIC_NOTICE)
    return r


BUILDERS: dict[str, Callable[[Store, str, dt.date, dt.datetime], Report]] = {
    "air-daily": air_daily,
    "air-month": air_month,
    "air-year": air_year,
    "water-month": water_month,
    "water-year": water_year,
    "sources-month": sources_month,
    "exchange-month": exchange_month,
    "departure-audit": departure_audit,
}
