"""The rows above every exported table (CSV and Excel) and the lines above every exported
chart (PNG): title, place and period, units, source, and the synthetic-data notice.

A bureau's table carries its title in the first row and says, above the column headers, what
the figures are, where and when, in which units and from where; a table of the model city's
generated data also says that the data are synthetic (合成数据), so a copied file cannot be
mistaken for monitoring results. :func:`header_rows` makes those rows; the writers —
:func:`bishui.web.export.table_response` (web downloads, ``POST /export.{csv,xlsx}`` included)
and :func:`bishui.compensation.export.write_table` (the compensation CLI's files) — put them
first, one text cell per row, then the column headers and the data.

The words of those rows are declared once, in :data:`LABELS`: a page receives them as JSON
(:func:`page_labels`, ``<script id="export-header">``) and ``static/js/ui.js`` writes the same
lines above a chart's PNG, in the same order and with the same separators.
"""

from __future__ import annotations

from typing import Any

#: A text cell starting with one of these (and not a number) would run as a formula.
FORMULA_START = ("=", "+", "-", "@")
#: A text cell starting with one of these is always quoted.
ALWAYS_QUOTED = ("\t", "\r")


def safe_cell(value: Any) -> Any:
    """*value*, neutralised if a spreadsheet could take it for a formula: a text starting with
    ``=``, ``+``, ``-`` or ``@`` that is not a number, or with a TAB or CR, gets a leading
    ``'`` (CSV injection; OWASP's list). Every exported cell — header rows, column headers,
    data — goes through it."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in ALWAYS_QUOTED:
        return "'" + value
    if value[0] in FORMULA_START:
        try:
            float(value)  # a signed number stays a number
        except ValueError:
            return "'" + value
    return value


#: The notice on every table and chart of the model city's data.
SYNTHETIC_NOTICE = (
    "数据说明：本数据为碧水模型城市的模拟数据（合成数据），并非真实监测数据，仅供演示。"
)
SYNTHETIC_NOTICE_EN = (
    "Note: these data are synthetic (the bishui model city), not monitoring data; "
    "for demonstration only."
)

#: The words of the header rows, per language.
LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "place": "地点：",
        "period": "时段：",
        "units": "单位：",
        "source": "数据来源：",
        "sep": "；",
        "notice": SYNTHETIC_NOTICE,
    },
    "en": {
        "place": "Place: ",
        "period": "Period: ",
        "units": "Units: ",
        "source": "Source: ",
        "sep": "; ",
        "notice": SYNTHETIC_NOTICE_EN,
    },
}


def labels(lang: str) -> dict[str, str]:
    """The words of :data:`LABELS` in *lang* (Chinese unless ``"en"``)."""
    return LABELS["en" if lang == "en" else "zh"]


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
    w = labels(lang)
    rows = [[title]]
    where = [
        *([w["place"] + place] if place else []),
        *([w["period"] + period] if period else []),
    ]
    if where:
        rows.append([w["sep"].join(where)])
    if units:
        rows.append([w["units"] + units])
    if source:
        rows.append([w["source"] + source])
    if synthetic:
        rows.append([w["notice"]])
    return rows


def page_labels(lang: str, *, place: str, source: str, synthetic: bool) -> dict[str, Any]:
    """What a page needs to write :func:`header_rows`' lines above a chart or table it
    exports itself: the words, the default place (the city, or a county user's county), the
    source and whether the notice applies."""
    return {**labels(lang), "default_place": place, "source_name": source, "synthetic": synthetic}
