"""Published tables: the rows of the service laid out as a bureau publishes them.

Chinese headers first (日期, 站点, AQI, 首要污染物, 级别, 类别, then each pollutant's
concentration and IAQI); "NA" where HJ 633-2026 §5.3 (or a missing value) says so, "—" for no
primary pollutant (AQI ≤ 50). Concentrations as reported: µg/m³ integers, CO one decimal
(GB/T 8170). Writers for CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese) and
Excel (openpyxl), and a plain-text rendering for the terminal.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bishui.air.service import AssessmentRow, RankRow, ReportRow
from bishui.errors import InputError

#: Short published names of the indicators.
SHORT: dict[str, str] = {
    "SO2_24h": "SO2", "NO2_24h": "NO2", "PM10_24h": "PM10", "CO_24h": "CO", "O3_1h": "O3-1h",
    "O3_8h": "O3-8h", "PM2.5_24h": "PM2.5", "SO2_1h": "SO2", "NO2_1h": "NO2", "PM10_1h": "PM10",
    "CO_1h": "CO", "PM2.5_1h": "PM2.5",
}  # fmt: skip
SCOPE_ZH = {"station": "站点", "county": "区县", "city": "城市"}
#: Column order of the pollutants in a published report (the order of HJ 633 Table 1).
ORDER = ("SO2", "NO2", "PM10", "CO", "O3-1h", "O3-8h", "O3", "PM2.5")


class Table:
    """A header and rows of strings."""

    def __init__(self, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.header = list(header)
        self.rows = [["" if v is None else str(v) for v in r] for r in rows]

    def text(self) -> str:
        def width(s: str) -> int:
            return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)

        cols = list(zip(self.header, *self.rows, strict=True))
        widths = [max(width(c) for c in col) for col in cols]
        lines = []
        for r in [self.header, *self.rows]:
            lines.append(
                "  ".join(c + " " * (w - width(c)) for c, w in zip(r, widths, strict=True))
            )
        return "\n".join(line.rstrip() for line in lines)

    def write(self, path: Path, sheet: str = "Sheet1") -> None:
        suffix = path.suffix.lower()
        if suffix == ".csv":
            with path.open("w", encoding="utf-8-sig", newline="") as f:
                w = csv.writer(f)
                w.writerow(self.header)
                w.writerows(self.rows)
        elif suffix == ".xlsx":
            from openpyxl import Workbook

            wb = Workbook()
            ws = wb.active
            assert ws is not None
            ws.title = sheet[:31]
            ws.append(self.header)
            for r in self.rows:
                ws.append([_cell(v) for v in r])
            wb.save(path)
        else:
            raise InputError("out", "must end in .csv or .xlsx", str(path))


def _cell(v: str) -> Any:
    """Numbers as numbers in Excel; "NA", "—" and names as text."""
    try:
        return int(v)
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v


def _conc(key: str, v: float | None) -> str:
    if v is None:
        return "NA"
    return f"{v:.1f}" if key.startswith("CO") else f"{v:.0f}"


def report_table(rows: Sequence[ReportRow], *, realtime: bool = False) -> Table:
    """The daily (日报) or real-time (实时报) report: stations, counties, then the city."""
    keys: list[str] = []
    for r in rows:
        for k in r.report.iaqi:
            if k not in keys:
                keys.append(k)
    keys.sort(key=lambda k: ORDER.index(_short(k, realtime)))
    header = [
        "时间" if realtime else "日期",
        "范围",
        "站点",
        "代码",
        "AQI",
        "首要污染物",
        "级别",
        "类别",
    ]
    for k in keys:
        unit = "mg/m³" if k.startswith("CO") else "μg/m³"
        header += [f"{_short(k, realtime)}({unit})", f"{_short(k, realtime)} IAQI"]
    header += ["标准"]
    out = []
    for r in rows:
        rep = r.report
        d = rep.display()
        primary = d["首要污染物"]
        if rep.primary:
            primary = "、".join(_short(p, realtime) for p in rep.primary)
        line: list[Any] = [
            r.time.isoformat(sep=" ", timespec="minutes") if realtime else r.time.isoformat(),  # type: ignore[call-arg]
            SCOPE_ZH[r.scope],
            r.name,
            r.code,
            d["AQI"],
            primary,
            d["级别"],
            d["类别"],
        ]
        for k in keys:
            if k not in rep.iaqi:
                line += ["/", "/"]
                continue
            line += [_conc(k, rep.concentration.get(k)), d.get(f"IAQI {k}", "NA")]
        line.append(f"{rep.edition}版")
        out.append(line)
    return Table(header, out)


def _short(key: str, realtime: bool) -> str:
    if realtime and key == "O3_1h":
        return "O3"
    return SHORT.get(key, key)


_STAT = (
    ("SO2", "mean", "SO2"),
    ("SO2", "percentile", "SO2-P98"),
    ("NO2", "mean", "NO2"),
    ("NO2", "percentile", "NO2-P98"),
    ("PM10", "mean", "PM10"),
    ("PM10", "percentile", "PM10-P95"),
    ("PM2.5", "mean", "PM2.5"),
    ("PM2.5", "percentile", "PM2.5-P95"),
    ("CO", "percentile", "CO-P95(mg/m³)"),
    ("O3", "percentile", "O3-8h-P90"),
)


def _stat(pol: str, v: float | None) -> str:
    from bishui.air.rounding import round_gbt8170

    if v is None:
        return "NA"
    r = float(round_gbt8170(v, 1 if pol == "CO" else 0))
    return f"{r:.1f}" if pol == "CO" else f"{r:.0f}"


def assessment_table(rows: Sequence[AssessmentRow]) -> Table:
    """Period assessment: HJ 663 statistics (rounded by GB/T 8170), good days, composite index."""
    header = ["时段", "范围", "名称", "代码"]
    header += [h for _, _, h in _STAT]
    header += [
        "优良天数",
        "有效天数",
        "优良天数比例(%)",
        "综合指数",
        "最大单项",
        "达标情况",
        "评价标准",
    ]
    out = []
    for r in rows:
        line: list[Any] = [r.period.label, SCOPE_ZH[r.scope], r.name, r.code]
        line += [_stat(p, r.pollutants[p][s]) for p, s, _ in _STAT]
        ratio = "NA" if r.good_ratio is None else f"{r.good_ratio:.1f}"
        ci = "NA" if r.composite is None else f"{r.composite:.2f}"
        line += [r.good_days, r.valid_days, ratio, ci, r.composite_max or "NA"]
        line += [_compliance(r), f"{r.edition}版 ({r.phase})"]
        out.append(line)
    return Table(header, out)


def _compliance(r: AssessmentRow) -> str:
    invalid = [p for p, a in r.pollutants.items() if a["status"] == "invalid"]
    over = [p for p, a in r.pollutants.items() if a["status"] == "exceeds"]
    if invalid:
        return "数据不足: " + "、".join(invalid)
    return "超标: " + "、".join(over) if over else "达标"


def ranking_table(rows: Sequence[RankRow]) -> Table:
    """Ranking by the composite index (smallest first; ties share a rank)."""
    header = [
        "排名",
        "名称",
        "代码",
        "综合指数",
        "最大单项",
        "PM2.5(μg/m³)",
        "优良天数比例(%)",
        "时段",
    ]
    out = []
    for rr in rows:
        r = rr.row
        ci = "NA" if r.composite is None else f"{r.composite:.2f}"
        ratio = "NA" if r.good_ratio is None else f"{r.good_ratio:.1f}"
        pm = _stat("PM2.5", r.pollutants["PM2.5"]["mean"])
        out.append(
            [rr.rank or "—", r.name, r.code, ci, r.composite_max or "NA", pm, ratio, r.period.label]
        )
    return Table(header, out)
