"""Exports: statements and party statements as tables (Excel / CSV) and printable HTML (zh-CN).

Tables put the Chinese header first, as a bureau publishes them; amounts are written as exact
decimal text in 元 (Excel cells as numbers with two decimals, never via a float sum). The HTML
statement is a self-contained page for printing: the computation in words (:func:`explain`),
the transfers, the confirmation state of each party, and — when the data came from the model
city's generator — a banner saying the data is synthetic.
"""

from __future__ import annotations

import csv
import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from bishui.compensation.engine import Statement
from bishui.compensation.explain import explain, explain_party, yuan
from bishui.compensation.ledger import PartyStatement
from bishui.errors import InputError
from bishui.export_header import safe_cell

__all__ = [
    "PARTY_HEADERS",
    "STATEMENT_HEADERS",
    "SYNTHETIC_BANNER",
    "party_html",
    "party_rows",
    "statement_html",
    "statement_table_rows",
    "write_table",
]

SYNTHETIC_BANNER = (
    "本结算单所用数据为碧水模型城市的模拟数据（合成数据），并非真实监测数据，金额仅供演示。"
)

_STATUS = {
    "computed": "已计算",
    "partial_data": "数据不足（按现有数据计算）",
    "no_payment": "数据不足（不予补偿）",
    "held": "暂缓结算（待数据补正）",
}

STATEMENT_HEADERS: tuple[tuple[str, str], ...] = (
    ("结算单编号", "statement"),
    ("协议编号", "agreement"),
    ("协议名称", "title"),
    ("考核期", "period"),
    ("版本", "version"),
    ("状态", "status"),
    ("结算金额（元，被考核方应得为正）", "amount"),
    ("较上一版差额（元）", "difference"),
    ("付款方", "payer"),
    ("收款方", "payee"),
    ("转移金额（元）", "transfer"),
    ("内容哈希", "content_hash"),
)

PARTY_HEADERS: tuple[tuple[str, str], ...] = (
    ("单位", "party"),
    ("考核期", "period"),
    ("结算单编号", "statement"),
    ("状态", "status"),
    ("对方", "counterparty"),
    ("应付（元）", "pays"),
    ("应收（元）", "receives"),
)


def _name(code: str, names: Mapping[str, str], codes: bool = True) -> str:
    if code not in names:
        return code
    return f"{names[code]}（{code}）" if codes else names[code]


def statement_table_rows(
    statements: Iterable[Statement], names: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """One row per transfer (or per statement without one), keyed by STATEMENT_HEADERS."""
    names = names or {}
    rows = []
    for s in statements:
        base = {
            "statement": s.id,
            "agreement": s.agreement_id,
            "title": s.evidence.get("rule", {}).get("title", ""),
            "period": str(s.period),
            "version": s.version,
            "status": _STATUS.get(s.status, s.status),
            "amount": s.amount,
            "difference": s.difference,
            "content_hash": s.content_hash,
        }
        for t in s.transfers or (None,):
            rows.append(
                {
                    **base,
                    "payer": _name(t.payer, names) if t else "",
                    "payee": _name(t.payee, names) if t else "",
                    "transfer": t.amount if t else Decimal("0.00"),
                }
            )
    return rows


def party_rows(
    statements: Iterable[PartyStatement], names: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Each party's lines, then its totals row (应付合计 / 应收合计 / 净额)."""
    names = names or {}
    rows: list[dict[str, Any]] = []
    for ps in statements:
        who = _name(ps.party, names)
        for line in ps.lines:
            rows.append(
                {
                    "party": who,
                    "period": str(line.period),
                    "statement": line.statement_id,
                    "status": _STATUS.get(line.status, line.status),
                    "counterparty": _name(line.counterparty, names),
                    "pays": line.pays,
                    "receives": line.receives,
                }
            )
        rows.append(
            {
                "party": who,
                "period": str(ps.period),
                "statement": "合计",
                "status": f"净额 {ps.net}",
                "counterparty": "",
                "pays": ps.pays,
                "receives": ps.receives,
            }
        )
    return rows


def _cell(v: Any) -> Any:
    return "" if v is None else safe_cell(v)


def write_table(
    path: str | Path,
    sheets: Mapping[str, tuple[Sequence[tuple[str, str]], Sequence[Mapping[str, Any]]]],
    *,
    preamble: Sequence[Sequence[str]] = (),
) -> Path:
    """Write sheets ``{title: (headers, rows)}`` to ``.xlsx`` (all sheets) or ``.csv`` (first).

    Decimal amounts become Excel numbers formatted ``#,##0.00`` (a Decimal with two places is
    exactly representable as the printed text); in CSV they are their exact text. *preamble*
    (:func:`bishui.export_header.header_rows`: title, period, units, source, the synthetic-data
    notice) goes first on each sheet / in the CSV. Text cells that a spreadsheet would run as
    a formula are neutralised (:func:`bishui.export_header.safe_cell`).
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        headers, rows = next(iter(sheets.values()))
        with p.open("w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerows([[safe_cell(v) for v in line] for line in preamble])
            w.writerow([safe_cell(h) for h, _ in headers])
            for r in rows:
                w.writerow([_cell(r.get(k)) for _, k in headers])
        return p
    if suffix != ".xlsx":
        raise InputError("--out", "a file name ending in .xlsx or .csv", str(p))
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    if wb.active is not None:
        wb.remove(wb.active)
    for title, (headers, rows) in sheets.items():
        ws = wb.create_sheet(title[:31])
        for n, line in enumerate(preamble):
            ws.append([safe_cell(v) for v in line])
            notice = "模拟数据" in line[0] if line else False
            ws.cell(row=n + 1, column=1).font = Font(
                bold=n == 0 or notice, size=14 if n == 0 else 10, color="C00000" if notice else None
            )
        ws.append([safe_cell(h) for h, _ in headers])
        for c in ws[ws.max_row]:
            c.font = Font(bold=True)
        for r in rows:
            values = []
            for _, k in headers:
                v = r.get(k)
                values.append(float(v) if isinstance(v, Decimal) else _cell(v))
            ws.append(values)
            for c, (_, k) in zip(ws[ws.max_row], headers, strict=True):
                if isinstance(r.get(k), Decimal):
                    c.number_format = "#,##0.00"
        for i, (h, _) in enumerate(headers, 1):
            ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = max(
                10, min(48, 2 * len(h) + 4)
            )
    wb.save(p)
    return p


_CSS = """
@font-face { font-family: "bishui-roman"; src: local("DejaVu Sans"), local("DejaVuSans"),
             local("Segoe UI"), local("Arial Unicode MS"), local("Noto Sans");
             unicode-range: U+2160-217F; }
body { font-family: "bishui-roman", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Source Han Sans SC",
       "Microsoft YaHei", sans-serif;
       margin: 2em auto; max-width: 52em; color: #111; }
h1 { font-size: 1.5em; text-align: center; }
.synthetic { border: 2px solid #c00; color: #c00; padding: .5em 1em; font-weight: bold; }
pre { white-space: pre-wrap; font-family: inherit; line-height: 1.6; }
table { border-collapse: collapse; width: 100%; margin: 1em 0; }
th, td { border: 1px solid #444; padding: .3em .6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.sign td { height: 4em; vertical-align: bottom; }
@media print { body, pre, td, th { font-family: "bishui-roman", "Noto Sans CJK SC",
                                 "WenQuanYi Micro Hei", sans-serif; }
               .synthetic { -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
"""


def _page(title: str, body: str, synthetic: bool) -> str:
    banner = f'<p class="synthetic">{html.escape(SYNTHETIC_BANNER)}</p>' if synthetic else ""
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{banner}{body}</body></html>\n"
    )


def statement_html(
    statement: Statement,
    names: Mapping[str, str] | None = None,
    *,
    synthetic: bool = False,
    states: Mapping[str, str] | None = None,
    flag_words: Callable[[str], str] | None = None,
    codes: bool = True,
) -> str:
    """A printable statement: the whole computation, the transfers, a confirmation block.
    Titled by the agreement's name and the period (not the statement's pinyin id);
    *flag_words* names the data flags and *codes* says whether region and indicator codes
    stand beside their names (:func:`~bishui.compensation.explain.explain`)."""
    names = names or {}
    rows = (
        "".join(
            f"<tr><td>{html.escape(_name(t.payer, names, codes))}</td>"
            f"<td>{html.escape(_name(t.payee, names, codes))}</td>"
            f'<td class="num">{html.escape(yuan(t.amount))}</td></tr>'
            for t in statement.transfers
        )
        or '<tr><td colspan="3">本期无资金往来</td></tr>'
    )
    zh_state = {
        "pending": "待确认",
        "acknowledged": "已确认",
        "disputed": "有异议",
        "superseded": "已被更正版本取代",
    }
    sign = "".join(
        f"<tr><td>{html.escape(_name(p, names, codes))}</td>"
        f"<td>{html.escape(zh_state.get(s, s))}</td><td>（盖章）</td></tr>"
        for p, s in sorted((states or {}).items())
    )
    body = (
        "<h2>转移支付</h2><table><tr><th>付款方</th><th>收款方</th><th>金额</th></tr>"
        f"{rows}</table>"
        "<h2>计算说明</h2>"
        f"<pre>{html.escape(explain(statement, names, flag_words, codes=codes))}</pre>"
    )
    if sign:
        body += (
            '<h2>各方确认</h2><table class="sign"><tr><th>单位</th><th>状态</th>'
            f"<th>签章</th></tr>{sign}</table>"
        )
    title = statement.evidence.get("rule", {}).get("title") or statement.agreement_id
    return _page(f"生态补偿结算单：{title}（{statement.period.zh}）", body, synthetic)


def party_html(
    statement: PartyStatement,
    names: Mapping[str, str] | None = None,
    *,
    synthetic: bool = False,
    codes: bool = True,
    titles: Mapping[str, str] | None = None,
) -> str:
    """A party's printable statement for a period (its lines and totals); *codes* and
    *titles* as :func:`~bishui.compensation.explain.explain_party` (``codes=False``: the
    party, its counterparties and its lines by name)."""
    names = names or {}
    text = explain_party(statement, names, codes=codes, titles=titles)
    body = f"<pre>{html.escape(text)}</pre>"
    if codes:
        return _page(f"生态补偿对账单 {statement.party} {statement.period}", body, synthetic)
    party = names.get(statement.party, statement.party)
    return _page(f"生态补偿对账单：{party}（{statement.period.zh}）", body, synthetic)
