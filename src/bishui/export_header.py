"""The rows above every exported table (CSV and Excel): title, place and period, units, source,
and the synthetic-data notice.

A bureau's table carries its title in the first row and says, above the column headers, what
the figures are, in which units and from where; a table of the model city's generated data
also says that the data are synthetic (合成数据), so a copied file cannot be mistaken for
monitoring results. :func:`header_rows` makes those rows; the writers —
:func:`bishui.web.export.table_response` (web downloads) and
:func:`bishui.compensation.export.write_table` (the compensation CLI's files) — put them first,
one text cell per row, then the column headers and the data.
"""

from __future__ import annotations

#: The notice on every table of the model city's data.
SYNTHETIC_NOTICE = (
    "数据说明：本表数据为碧水模型城市的模拟数据（合成数据），并非真实监测数据，仅供演示。"
)
SYNTHETIC_NOTICE_EN = (
    "Note: the data in this table are synthetic (the bishui model city), not monitoring data."
)


def header_rows(
    title: str,
    *,
    place: str = "",
    period: str = "",
    units: str = "",
    source: str = "",
    synthetic: bool = False,
    lang: str = "zh",
) -> list[list[str]]:
    """The rows above a table's column headers: ``[[title], [地点/时段], [单位], [来源],
    [notice]]`` — a row only for what is given (the title always; the notice when
    *synthetic*)."""
    zh = lang != "en"
    rows = [[title]]
    where = [
        *([("地点：" if zh else "Place: ") + place] if place else []),
        *([("时段：" if zh else "Period: ") + period] if period else []),
    ]
    if where:
        rows.append(["；".join(where) if zh else "; ".join(where)])
    if units:
        rows.append([("单位：" if zh else "Units: ") + units])
    if source:
        rows.append([("数据来源：" if zh else "Source: ") + source])
    if synthetic:
        rows.append([SYNTHETIC_NOTICE if zh else SYNTHETIC_NOTICE_EN])
    return rows
