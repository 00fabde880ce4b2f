"""``bishui water``: classify samples, assess a period, rank by CWQI, run source alerts.

::

    bishui water classify --body river w21003=1.2 w01001=7.5 w01009=6.1
    bishui water classify --csv samples.csv [--out classes.xlsx]
    bishui water assess --period 2026-07 [--out 2026-07.xlsx]
    bishui water rank --period 2026 [--out rank.csv]
    bishui water alerts [--now 2026-10-31T00:00] [--days 30] [--dry-run]

Every command that reads the store takes ``--db URL`` (``BISHUI_DB``).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import click
import numpy as np

from bishui.cli_options import db_option
from bishui.errors import InputError
from bishui.water import tables as t
from bishui.water.classes import classify, classify_batch

#: CSV columns that are not parameters.
_ID_COLUMNS = ("id", "sample", "section", "样品", "断面", "编号")
_BODY_COLUMNS = ("body", "水体类型")


@click.group()
def water() -> None:
    """Surface water: GB 3838 classes, section assessment, CWQI, drinking-water sources."""


def _number(field: str, text: str, row: int | None = None) -> float:
    s = text.strip()
    if s == "":
        return math.nan
    try:
        v = float(s)
    except ValueError:
        raise InputError(field, "must be a number", text, row=row) from None
    if math.isnan(v):
        return math.nan
    return v


def _body(text: str, row: int | None = None) -> str:
    b = {"河流": "river", "湖库": "lake", "湖泊": "lake", "水库": "lake"}.get(text.strip(), text)
    b = b.strip().lower()
    if b not in t.BODIES:
        raise InputError("body", "must be 'river' or 'lake' (湖库)", text, row=row)
    return b


def _echo_classification(r: Any) -> None:
    click.echo(f"水质类别 class: {r.label or '无评价项目'}  水质状况: {r.status}  ({r.edition})")
    if r.deciding:
        click.echo("决定类别的项目: " + "、".join(t.name(c) for c in r.deciding))
    if r.main_pollutants:
        click.echo("主要污染指标(超标倍数): " + r.main_pollutant_text())
    click.echo("项目  代码  数值  类别")
    for code, k in r.item_classes.items():
        click.echo(f"{t.name(code)}  {code}  {r.values.get(code, '')}  {t.CLASS_LABELS[k]}")
    for code, k in r.reference_classes.items():
        click.echo(f"{t.name(code)}  {code}  {r.values.get(code, '')}  {t.CLASS_LABELS[k]} (参考)")
    if r.unknown:
        click.echo("未识别的参数 unknown parameters (not assessed): " + ", ".join(r.unknown))


@water.command("classify")
@click.option("--body", default="river", show_default=True, help="river | lake (湖、库)")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="x.csv | x.xlsx")
@click.option("--strict", is_flag=True, help="refuse unknown parameters instead of listing them")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.argument("values", nargs=-1)
def classify_cmd(
    body: str,
    csv_path: Path | None,
    out: Path | None,
    strict: bool,
    as_json: bool,
    values: tuple[str, ...],
) -> None:
    """Class of one sample (CODE=VALUE …) or of every row of a CSV (GB 3838-2002)."""
    b = _body(body)
    if csv_path is None:
        if not values:
            raise InputError("values", "give CODE=VALUE pairs (e.g. w21003=1.2) or --csv FILE", "")
        sample: dict[str, float] = {}
        for item in values:
            code, eq, text = item.partition("=")
            if not eq or not code.strip():
                raise InputError("values", "each must be CODE=VALUE, e.g. w21003=1.2", item)
            sample[code.strip()] = _number(code.strip(), text)
        r = classify(sample, b, strict=strict)
        if as_json:
            click.echo(json.dumps(_classification_dict(r), ensure_ascii=False, indent=1))
        else:
            _echo_classification(r)
        return
    if values:
        raise InputError("values", "give either CODE=VALUE pairs or --csv, not both", values[0])
    _classify_csv(csv_path, b, out, strict, as_json)


def _classification_dict(r: Any) -> dict[str, Any]:
    return {
        "class": r.sample_class,
        "label": r.label,
        "status": r.status,
        "body": r.body,
        "item_classes": r.item_classes,
        "reference_classes": r.reference_classes,
        "deciding": list(r.deciding),
        "exceedance": r.exceedance,
        "main_pollutants": list(r.main_pollutants),
        "main_pollutant_text": r.main_pollutant_text(),
        "unknown": list(r.unknown),
        "edition": r.edition,
        "method": r.method,
    }


def _classify_csv(path: Path, body: str, out: Path | None, strict: bool, as_json: bool) -> None:
    if not path.exists():
        raise InputError("csv", "file does not exist", str(path))
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
    except UnicodeDecodeError:
        raise InputError("csv", "must be UTF-8 text", str(path)) from None
    if not rows:
        raise InputError("csv", "is empty (a header row of HJ 212 codes is needed)", str(path))
    header = [h.strip() for h in rows[0]]
    id_col = next((i for i, h in enumerate(header) if h.lower() in _ID_COLUMNS), None)
    body_col = next((i for i, h in enumerate(header) if h.lower() in _BODY_COLUMNS), None)
    params = [i for i in range(len(header)) if i not in (id_col, body_col)]
    codes = [header[i] for i in params]
    unknown = [c for c in codes if c not in t.KNOWN_CODES]
    if strict and unknown:
        raise InputError("csv", "unknown parameter codes in the header", ", ".join(unknown))
    data = rows[1:]
    x = np.full((len(data), len(params)), np.nan)
    bodies = []
    for n, row in enumerate(data, start=2):
        if len(row) > len(header):
            raise InputError("csv", f"row has {len(row)} cells, header {len(header)}", n, row=n)
        cells = row + [""] * (len(header) - len(row))
        for j, i in enumerate(params):
            x[n - 2, j] = _number(header[i], cells[i], row=n)
        bodies.append(_body(cells[body_col], row=n) if body_col is not None else body)
    ids = [
        r[id_col] if id_col is not None and id_col < len(r) else str(n)
        for n, r in enumerate(data, start=1)
    ]
    bc = classify_batch(x, codes, np.array(bodies, dtype=str) if bodies else body)
    table_rows = []
    for i in range(len(data)):
        r = bc.row(i)
        table_rows.append(
            [
                ids[i],
                r.body,
                r.label or "无评价项目",
                r.status,
                "、".join(t.name(c) for c in r.deciding),
                r.main_pollutant_text(),
            ]
        )
    headers = [
        "样品",
        "水体类型",
        "水质类别",
        "水质状况",
        "决定类别的项目",
        "主要污染指标(超标倍数)",
    ]
    if as_json:
        click.echo(
            json.dumps(
                [{"id": ids[i], **_classification_dict(bc.row(i))} for i in range(len(data))],
                ensure_ascii=False,
                indent=1,
            )
        )
    else:
        from bishui.cli_options import render

        click.echo(render(f"GB 3838-2002 水质类别 ({len(data)} 个样品)", (headers, table_rows)))
    if unknown:
        click.echo(
            "未识别的参数 unknown parameters (not assessed): " + ", ".join(unknown), err=True
        )
    if out is not None:
        from bishui.cli_options import write

        for p in write(out, [("水质类别", (headers, table_rows))]):
            click.echo(f"wrote {p}", err=True)


def _period_option(f: Any) -> Any:
    return click.option(
        "--period", required=True, help="2026 (year), 2026-Q3, 2026-07 or 2026-07-15"
    )(f)


@water.command("assess")
@db_option
@_period_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="x.xlsx | x.csv")
@click.option("--json", "as_json", is_flag=True, help="print the whole result as JSON")
@click.option("--no-cache", is_flag=True, help="recompute even if a stored result is current")
def assess_cmd(db_url: str, period: str, out: Path | None, as_json: bool, no_cache: bool) -> None:
    """Section, river/lake and county tables for a period (环办〔2011〕22号)."""
    from bishui.water import report
    from bishui.water.periods import WaterPeriod
    from bishui.water.service import assess, assess_cached

    p = WaterPeriod.parse(period)
    store = _open(db_url)
    try:
        a = assess(store, p) if no_cache else assess_cached(store, p)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(a.as_dict(), ensure_ascii=False, indent=1))
    else:
        click.echo(report.render(f"{p.zh} 断面水质状况", report.section_table(a)))
        click.echo()
        click.echo(report.render(f"{p.zh} 河流(湖库)水质状况", report.river_table(a)))
        click.echo()
        click.echo(report.render(f"{p.zh} 区县水质统计", report.county_table(a)))
        click.echo(f"\n{a.edition}; {a.method}; rules {a.rules_version}")
    if out is not None:
        sheets = [
            ("断面水质状况", report.section_table(a)),
            ("河流湖库水质状况", report.river_table(a)),
            ("区县水质统计", report.county_table(a)),
        ]
        for path in report.write(out, sheets):
            click.echo(f"wrote {path}", err=True)


@water.command("rank")
@db_option
@_period_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="x.xlsx | x.csv")
def rank_cmd(db_url: str, period: str, out: Path | None) -> None:
    """CWQI ranking of sections and counties, with ΔCWQI (环办监测〔2017〕51号)."""
    from bishui.water import report
    from bishui.water.periods import WaterPeriod
    from bishui.water.service import assess_cached

    p = WaterPeriod.parse(period)
    store = _open(db_url)
    try:
        a = assess_cached(store, p)
    finally:
        store.close()
    city = a.city
    click.echo(
        f"{p.zh} {city['name']} CWQI {city['cwqi'] if city['cwqi'] is not None else '—'}"
        + (f"  上年同期 {city['cwqi_previous']}  ΔCWQI {city['delta_cwqi']}%" if a.previous else "")
    )
    click.echo(report.render(f"{p.zh} 区县城市水质指数排名", report.county_ranking(a)))
    click.echo()
    click.echo(report.render(f"{p.zh} 断面水质指数排名", report.section_ranking(a)))
    if out is not None:
        sheets = [
            ("区县CWQI排名", report.county_ranking(a)),
            ("断面CWQI排名", report.section_ranking(a)),
        ]
        for path in report.write(out, sheets):
            click.echo(f"wrote {path}", err=True)


@water.command("alerts")
@db_option
@click.option("--now", "now_text", help="evaluation time, Beijing (default: now)")
@click.option("--days", type=float, default=30.0, show_default=True, help="window of data [d]")
@click.option("--dry-run", is_flag=True, help="evaluate only; do not store the alerts")
@click.option(
    "--route",
    is_flag=True,
    help="then route the stored alerts into the enforcement loop (alerts and tasks)",
)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def alerts_cmd(
    db_url: str, now_text: str | None, days: float, dry_run: bool, route: bool, as_json: bool
) -> None:
    """Drinking-water sources: status and alerts (stored in water_alerts unless --dry-run;
    with --route also raised as enforcement alerts and tasks)."""
    from bishui.water import report
    from bishui.water.supervision import SupervisionRules, evaluate, run_alerts

    now = None
    if now_text:
        try:
            now = dt.datetime.fromisoformat(now_text)
        except ValueError:
            raise InputError("now", "an ISO time such as 2026-10-31T08:00", now_text) from None
        if now.tzinfo is not None:
            from bishui.timeutil import to_beijing_naive

            now = to_beijing_naive(now)
    if not 0 < days <= 366:
        raise InputError("days", "0 < days ≤ 366", days)
    if dry_run and route:
        raise InputError("route", "not with --dry-run (nothing is stored to route)", True)
    rules = SupervisionRules(window_days=days)
    store = _open(db_url)
    try:
        if dry_run:
            status, alerts = evaluate(store, now=now, rules=rules)
            result: dict[str, Any] = {"status": status, "alerts": alerts, "new": None}
        else:
            result = run_alerts(store, now=now, rules=rules)
        if route:
            from bishui.enforcement import notify
            from bishui.water import outbox as water_outbox

            r = water_outbox.route(store, now=now, sender=notify.LoggingSender())
            result["routed"] = {
                "alerts": [a.id for a in r.alerts],
                "tasks": [t.id for t in r.tasks],
                "joined": r.joined,
                "merged": r.merged,
            }
            state = {x["id"]: x["state"] for x in store.query("SELECT id, state FROM water_alerts")}
            for a in result["alerts"]:
                a["state"] = state.get(a["id"], a.get("state", ""))
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=1, default=str))
        return
    st = [
        [
            s["source"],
            s["name"],
            s["target_label"],
            s["readings"],
            s["latest"] or "",
            {True: "达标", False: "超标", None: "无数据"}[s["compliant"]],
            "、".join(t.name(c) for c in s["exceeding"]),
            "" if s["compliance_rate"] is None else f"{s['compliance_rate'] * 100:.1f}%",
            s["alerts"],
        ]
        for s in result["status"]
    ]
    click.echo(
        report.render(
            "饮用水水源地状态",
            (
                [
                    "水源地",
                    "名称",
                    "目标类别",
                    "读数",
                    "最新时间",
                    "最新状态",
                    "超标项目",
                    "达标率",
                    "告警数",
                ],
                st,
            ),
        )
    )
    kinds = {"exceedance": "超标", "trend": "趋势", "gap": "数据缺失"}
    rows = [
        [
            a["time"],
            a["source"],
            kinds[a["kind"]],
            a["parameter_name"],
            "" if a["value"] is None else a["value"],
            "" if a["limit"] is None else a["limit"],
            a.get("state", ""),
        ]
        for a in result["alerts"]
    ]
    click.echo()
    click.echo(
        report.render("告警", (["时间", "水源地", "类型", "项目", "数值", "限值", "状态"], rows))
    )
    if result["new"] is not None:
        click.echo(f"\n{result['new']} new, {result['updated']} already stored", err=True)
    if "routed" in result:
        r = result["routed"]
        click.echo(
            f"routed to enforcement: {len(r['alerts'])} alerts, tasks "
            f"{', '.join(r['tasks']) or '—'}, {r['joined']} joined a live task, "
            f"{r['merged']} continued a live alert",
            err=True,
        )


def _open(db_url: str) -> Any:
    from bishui.store import open_store

    return open_store(db_url)
