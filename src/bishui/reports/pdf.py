"""A report as plain blocks, and its rendering to PDF (fpdf2, fonts embedded as subsets).

A :class:`Report` is what the builders of :mod:`bishui.reports.content` return: a title, the
lines under it (period, place, the rule set and editions used), notices (synthetic data, partial
data), and blocks — headings, paragraphs, tables and bar charts. :func:`render` lays it out on
A4 landscape pages with a running footer (issuer, generation time, page n / N). Rendering is
deterministic: the PDF's creation date is the report's ``created`` time, so the same report
renders to the same bytes (docs/reports.md, "Reproducible").

Charts are drawn directly with PDF vector operations (bars, axis, labels in the report's own
fonts), so they need no plotting library and scale cleanly when printed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bishui.reports.fonts import FontSet, cjk_subset, find_fonts

#: Issuer shown in the footer.
ISSUER = "碧水 bishui 生态环境数据平台"
#: The synthetic-data notice of the model city's data.
SYNTHETIC_NOTICE = (
    "本报告所用数据为碧水模型城市的模拟数据（合成数据），并非真实监测数据，仅供演示。"
)


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Notice:
    """A boxed notice (partial data, synthetic data)."""

    text: str


@dataclass(frozen=True)
class TableBlock:
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    #: relative column widths (default: from the text lengths)
    widths: Sequence[float] | None = None
    note: str = ""


@dataclass(frozen=True)
class BarChart:
    title: str
    labels: Sequence[str]
    values: Sequence[float | None]
    unit: str = ""
    #: bar colours (#rrggbb) per bar; default one blue
    colours: Sequence[str] | None = None
    #: a horizontal reference line (a limit) and its label
    reference: float | None = None
    reference_label: str = ""
    decimals: int = 0


Block = Heading | Para | Notice | TableBlock | BarChart


@dataclass
class Report:
    """One report: what :func:`render` prints and the service stores."""

    kind: str
    period: str
    title: str
    subtitle: str
    created: dt.datetime
    meta: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    #: the rule sets and editions the figures were computed with (stored with the PDF)
    rules: dict[str, Any] = field(default_factory=dict)
    #: figures computed from partial data (the notice says which)
    partial: bool = False


def _rgb(hex_: str) -> tuple[int, int, int]:
    h = hex_.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _cell(v: Any) -> str:
    return "" if v is None else str(v)


class _PDF:
    """fpdf2 with the report's fonts, header and footer."""

    def __init__(self, report: Report, fonts: FontSet) -> None:
        from fpdf import FPDF

        outer = self
        self.report = report

        class Doc(FPDF):
            def _render_styled_text_line(self, *args: Any, **kwargs: Any) -> Any:
                # fpdf2 2.8 believes a font set inside a table cell's q … Q still holds after
                # the Q, and starts the cell's next line without one when it wrapped after a
                # fallback-font character (poppler: "No font in show"). Every line sets its
                # font (tests/reports: test_a_long_table_runs_over_pages_cleanly).
                self.current_font_is_set_on_page = False
                return super()._render_styled_text_line(*args, **kwargs)

            def footer(self) -> None:
                self.set_y(-12)
                self.set_font("text", size=8)
                self.set_text_color(90, 90, 90)
                created = outer.report.created.strftime("%Y-%m-%d %H:%M")
                self.cell(
                    0, 5, f"{ISSUER} · 生成于 {created}（北京时间）", align="L",
                )  # fmt: skip
                self.set_x(-40)
                self.cell(30, 5, f"第 {self.page_no()} / {{nb}} 页", align="R")

        pdf = Doc(orientation="L", unit="mm", format="A4")
        pdf.set_creation_date(report.created.replace(tzinfo=dt.UTC))
        pdf.set_title(report.title)
        pdf.set_author(ISSUER)
        pdf.set_creator(ISSUER)
        pdf.set_producer("bishui")
        pdf.add_font("text", "", str(fonts.text[0]), collection_font_number=fonts.text[1])
        pdf.add_font("cjk", "", str(fonts.cjk[0]), collection_font_number=fonts.cjk[1])
        pdf.set_fallback_fonts(["cjk"], exact_match=False)
        pdf.set_auto_page_break(True, margin=16)
        pdf.set_margins(14, 12, 14)
        pdf.alias_nb_pages()
        self.pdf = pdf

    @property
    def width(self) -> float:
        return float(self.pdf.epw)

    def title(self) -> None:
        pdf, r = self.pdf, self.report
        pdf.add_page()
        pdf.set_font("text", size=18)
        pdf.set_text_color(0, 0, 0)
        pdf.cell(0, 10, r.title, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("text", size=11)
        pdf.cell(0, 7, r.subtitle, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("text", size=8.5)
        pdf.set_text_color(70, 70, 70)
        for line in r.meta:
            pdf.multi_cell(0, 4.5, line, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        for text in r.notices:
            self.notice(text)

    def heading(self, text: str) -> None:
        pdf = self.pdf
        if pdf.get_y() > pdf.h - 40:
            pdf.add_page()
        pdf.ln(2)
        pdf.set_font("text", size=12.5)
        pdf.set_text_color(0, 60, 120)
        pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)

    def para(self, text: str) -> None:
        pdf = self.pdf
        pdf.set_font("text", size=10)
        pdf.multi_cell(0, 5.5, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    def notice(self, text: str) -> None:
        pdf = self.pdf
        pdf.set_font("text", size=9.5)
        pdf.set_draw_color(192, 0, 0)
        pdf.set_text_color(192, 0, 0)
        pdf.set_line_width(0.4)
        pdf.multi_cell(0, 5.5, text, border=1, padding=1, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)
        pdf.set_text_color(0, 0, 0)
        pdf.set_draw_color(0, 0, 0)
        pdf.set_line_width(0.2)

    def table(self, t: TableBlock) -> None:
        from fpdf.fonts import FontFace

        pdf = self.pdf
        n = len(t.headers)
        size = 8.5 if n <= 10 else 7.5 if n <= 14 else 6.5
        pdf.set_font("text", size=size)
        if t.widths is not None:
            widths = list(t.widths)
        else:
            widths = []
            for i, h in enumerate(t.headers):
                longest = max([_width(str(h)) / 1.6] + [_width(_cell(r[i])) for r in t.rows])
                widths.append(min(max(longest, 3.0), 30.0))
        head = FontFace(fill_color=(222, 232, 244))
        with pdf.table(
            col_widths=widths,
            width=self.width,
            headings_style=head,
            line_height=size * 0.55,
            text_align="CENTER",
            repeat_headings=1,
            first_row_as_headings=True,
        ) as table:
            row = table.row()
            for h in t.headers:
                row.cell(str(h))
            for r in t.rows:
                row = table.row()
                for v in r:
                    row.cell(_cell(v))
        if t.note:
            pdf.set_font("text", size=8)
            pdf.set_text_color(70, 70, 70)
            pdf.multi_cell(0, 4.5, t.note, new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(0, 0, 0)
        pdf.ln(2)

    def chart(self, c: BarChart) -> None:
        pdf = self.pdf
        height, label_h = 52.0, 14.0
        if pdf.get_y() + height + label_h + 12 > pdf.h - 16:
            pdf.add_page()
        pdf.set_font("text", size=10)
        pdf.cell(0, 6, c.title, align="C", new_x="LMARGIN", new_y="NEXT")
        x0, y0 = pdf.l_margin + 18, pdf.get_y() + 2
        w = self.width - 22
        values = [v for v in c.values if v is not None]
        top = max([*(float(v) for v in values), c.reference or 0.0, 1e-9]) * 1.15
        pdf.set_draw_color(80, 80, 80)
        pdf.set_line_width(0.2)
        pdf.line(x0, y0, x0, y0 + height)
        pdf.line(x0, y0 + height, x0 + w, y0 + height)
        pdf.set_font("text", size=7)
        digits = c.decimals if top >= 8 else max(c.decimals, 1)
        for k in range(5):
            y = y0 + height - height * k / 4
            pdf.set_xy(x0 - 17, y - 2)
            pdf.cell(16, 4, f"{top * k / 4:.{digits}f}", align="R")
        pdf.set_xy(x0 - 17, y0 - 6)
        pdf.cell(30, 4, c.unit, align="L")
        n = max(len(c.labels), 1)
        slot = w / n
        bar = min(slot * 0.6, 14.0)
        for i, (label, v) in enumerate(zip(c.labels, c.values, strict=True)):
            cx = x0 + slot * (i + 0.5)
            if v is not None:
                colour = (c.colours[i] if c.colours else None) or "#4a7ebb"
                pdf.set_fill_color(*_rgb(colour))
                h = height * v / top
                pdf.rect(cx - bar / 2, y0 + height - h, bar, h, style="F")
                pdf.set_xy(cx - slot / 2, y0 + height - h - 4)
                pdf.cell(slot, 4, f"{v:.{c.decimals}f}", align="C")
            else:
                pdf.set_xy(cx - slot / 2, y0 + height - 4)
                pdf.cell(slot, 4, "NA", align="C")
            pdf.set_xy(cx - slot / 2, y0 + height + 1)
            pdf.multi_cell(slot, 3.2, label, align="C", max_line_height=3.2)
        if c.reference is not None:
            y = y0 + height - height * c.reference / top
            pdf.set_draw_color(192, 0, 0)
            pdf.set_dash_pattern(dash=1.5, gap=1)
            pdf.line(x0, y, x0 + w, y)
            pdf.set_dash_pattern()
            pdf.set_text_color(192, 0, 0)
            pdf.set_xy(x0 + 1, y - 4.5)
            pdf.cell(80, 4, c.reference_label, align="L")
            pdf.set_text_color(0, 0, 0)
            pdf.set_draw_color(0, 0, 0)
        pdf.set_fill_color(255, 255, 255)
        pdf.set_y(y0 + height + label_h)


def _width(text: str) -> float:
    """Rough printed width in units of a Latin character (a CJK character counts two)."""
    return sum(2.0 if ord(ch) > 0x2E80 else 1.0 for ch in text)


def _chars(report: Report) -> set[str]:
    """Every character the report prints (its footer's too)."""
    texts = [report.title, report.subtitle, ISSUER, "生成于（北京时间）第页", *report.meta,
             *report.notices]  # fmt: skip
    for b in report.blocks:
        if isinstance(b, Heading | Para | Notice):
            texts.append(b.text)
        elif isinstance(b, TableBlock):
            texts += [str(h) for h in b.headers] + [b.note]
            texts += [_cell(v) for row in b.rows for v in row]
        else:
            texts += [b.title, b.unit, b.reference_label, *b.labels]
    return set("".join(texts))


def _fonts_for(report: Report, fonts: FontSet) -> FontSet:
    """*fonts*, with the prepared CJK subset when it holds every character of the report."""
    path, index = fonts.cjk
    sub, have = cjk_subset(str(path), index)
    if all(ord(ch) in have for ch in _chars(report) if ord(ch) > 0x7F):
        return FontSet(text=fonts.text, cjk=(sub, 0))
    return fonts


def render(report: Report, fonts: FontSet | None = None) -> bytes:
    """The report as PDF bytes (deterministic for the same report and fonts)."""
    doc = _PDF(report, _fonts_for(report, fonts or find_fonts()))
    doc.title()
    for b in report.blocks:
        if isinstance(b, Heading):
            doc.heading(b.text)
        elif isinstance(b, Para):
            doc.para(b.text)
        elif isinstance(b, Notice):
            doc.notice(b.text)
        elif isinstance(b, TableBlock):
            doc.table(b)
        else:
            doc.chart(b)
    return bytes(doc.pdf.output())
