"""Bureau tables of a water assessment: sections, rivers/lakes, counties, CWQI rankings.

Each builder returns ``(headers, rows)`` with Chinese headers, in the layout a monthly bulletin
prints (断面水质状况表, 河流水质状况表, 区县水质统计表, 城市水质指数排名表); :func:`write` saves
tables as one Excel workbook (one sheet each) or as CSV files (UTF-8 with BOM, so Excel opens
the Chinese headers correctly) — :func:`render` and :func:`write` are the shared ones of
:mod:`bishui.cli_options`, re-exported here.
"""

from __future__ import annotations

from bishui.cli_options import Table, render, write
from bishui.water import tables as t
from bishui.water.service import Assessment

__all__ = ["SHOWN_ITEMS", "Table", "render", "write"]

#: Item columns shown in the section table: the six automatic-station items.
SHOWN_ITEMS: tuple[str, ...] = ("w01001", "w01009", "w01019", "w21003", "w21011", "w21001")


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x * 100:.1f}%"


def _num(x: float | None, digits: int) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def _decimals(code: str) -> int:
    return max(t.DECIMALS_2020.get(code, 2), 2 if code == t.PH else 0)


def section_table(a: Assessment) -> Table:
    """断面水质状况: one row per section."""
    headers = [
        "断面编号",
        "断面名称",
        "河流(湖库)",
        "所在区域",
        "控制级别",
        "目标类别",
        "样本数",
        *[f"{t.name(c)}" for c in SHOWN_ITEMS],
        "水质类别",
        "水质状况",
        "达标情况",
        "主要污染指标(超标倍数)",
        "CWQI",
    ]
    rows = []
    for s in a.sections:
        rows.append(
            [
                s["section"],
                s["name"],
                s["river"] or "",
                s["region_name"],
                s["control"] or "",
                s["target_label"],
                s["samples"],
                *[_num(s["means"].get(c), _decimals(c)) for c in SHOWN_ITEMS],
                s["label"] if s["class"] else t.INSUFFICIENT_ZH,
                s["status"] if s["class"] else "",
                s["attainment"],
                s["main_pollutants"],
                _num(s["cwqi"], 4),
            ]
        )
    return headers, rows


def river_table(a: Assessment) -> Table:
    """河流(湖库)水质状况: one row per river, lake or reservoir."""
    headers = [
        "河流(湖库)",
        "水体类型",
        "断面(点位)数",
        "评价断面数",
        "Ⅰ~Ⅲ类比例",
        "劣Ⅴ类比例",
        "评价方法",
        "水质类别",
        "水质状况",
        "主要污染指标",
    ]
    method = {"shares": "断面水质类别比例法", "mean": "断面均值单因子法", "": ""}
    rows = []
    for r in a.rivers:
        rows.append(
            [
                r["river"],
                "河流" if r["body"] == "river" else "湖库",
                r["sections"],
                r["assessed"],
                _pct(r["share_good"]),
                _pct(r["share_bad"]),
                method.get(r["method"], r["method"]),
                r["label"],
                r["status"] if r["assessed"] else t.INSUFFICIENT_ZH,
                r["main_pollutants"],
            ]
        )
    return headers, rows


def county_table(a: Assessment) -> Table:
    """区县(及全市)水质统计: counts by class, shares, targets met, CWQI."""
    headers = [
        "区域代码",
        "区域",
        "断面数",
        "评价断面数",
        *[t.CLASS_LABELS[k] for k in range(1, 7)],
        "数据不足",
        "Ⅰ~Ⅲ类比例",
        "劣Ⅴ类比例",
        "达标断面数",
        "有目标断面数",
        "CWQI",
    ]
    rows = []
    for c in [*a.counties, {**a.city, "name": f"{a.city['name']}(全市)"}]:
        rows.append(
            [
                c["region"],
                c["name"],
                c["sections"],
                c["assessed"],
                *c["by_class"],
                c["insufficient"],
                _pct(c["share_good"]),
                _pct(c["share_bad"]),
                c["attained"],
                c["targets"],
                _num(c["cwqi"], 4),
            ]
        )
    return headers, rows


def section_ranking(a: Assessment) -> Table:
    """断面 CWQI 排名 (ascending: 1 = best), with ΔCWQI against the same period last year."""
    headers = [
        "排名",
        "断面编号",
        "断面名称",
        "所在区域",
        "水质类别",
        "CWQI",
        "上年同期CWQI",
        "ΔCWQI(%)",
    ]
    ranked = sorted(a.sections, key=lambda s: (s["cwqi_rank"] == 0, s["cwqi_rank"], s["section"]))
    rows = [
        [
            s["cwqi_rank"] or "",
            s["section"],
            s["name"],
            s["region_name"],
            s["label"] if s["class"] else t.INSUFFICIENT_ZH,
            _num(s["cwqi"], 4),
            _num(s["cwqi_previous"], 4),
            _num(s["delta_cwqi"], 2),
        ]
        for s in ranked
    ]
    return headers, rows


def county_ranking(a: Assessment) -> Table:
    """区县 CWQI 排名 and 变化排名 (ΔCWQI ascending; 0 = not ranked by change)."""
    headers = [
        "排名",
        "区域代码",
        "区域",
        "CWQI",
        "上年同期CWQI",
        "ΔCWQI(%)",
        "变化排名",
        "Ⅰ~Ⅲ类比例",
    ]
    ranked = sorted(a.counties, key=lambda c: (c["cwqi_rank"] == 0, c["cwqi_rank"], c["region"]))
    rows = [
        [
            c["cwqi_rank"] or "",
            c["region"],
            c["name"],
            _num(c["cwqi"], 4),
            _num(c["cwqi_previous"], 4),
            _num(c["delta_cwqi"], 2),
            c["change_rank"] or "",
            _pct(c["share_good"]),
        ]
        for c in ranked
    ]
    return headers, rows
