"""Energy accounts, dual control (双控) and total-emission reduction API (issue 18 items 1, 2, 6).

Who sees what: bureau staff and the energy-saving office (节能办, role ``energy_office``) see
every county; a county official sees its own region and those under it. Only the
energy-saving office and the administrator load data (every row audited with the account's
name). Enterprises and the public have no access. Quantities are exact: kgce integers, tonnes
and GDP as decimal text; every energy total names its basis (当量值 / 等价值).
"""

from __future__ import annotations

import datetime as dt
import html
import io
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from bishui.energy import accounts as ea
from bishui.energy import service
from bishui.energy.reduction import POLLUTANTS
from bishui.errors import InputError, PermissionDenied
from bishui.export_header import header_rows
from bishui.store import Store
from bishui.web import display
from bishui.web.api.common import ERRORS, YEAR, WebStore
from bishui.web.auth import STAFF, Principal, requires

router = APIRouter(prefix="/energy", tags=["energy"], responses=ERRORS)

READERS = (*STAFF, "energy_office", "county")
WRITERS = ("admin", "energy_office")
REGION = r"^\d{6}(-[A-Z]{1,8})?$"
YEARS = rf"^{YEAR}(-{YEAR})?$"
LOADS = {
    "units": service.add_units,
    "uses": service.record_uses,
    "gdp": service.set_gdp,
    "targets": service.set_targets,
    "measures": service.add_measures,
    "emissions": service.record_emissions,
    "emission-targets": service.set_emission_targets,
    "projects": service.add_projects,
}
MAX_LOAD_ROWS = 5_000


def counties_of(p: Principal) -> list[str] | None:
    """None for staff and the energy-saving office (every county); a county's regions."""
    return list(p.regions) if p.role == "county" else None


def _check_county(p: Principal, county: str) -> None:
    scope = counties_of(p)
    if scope is not None and county not in scope:
        raise PermissionDenied(f"county {county} is not yours")


def _years(text: str) -> list[int]:
    a, _, b = text.partition("-")
    y0, y1 = int(a), int(b or a)
    if not 0 <= y1 - y0 <= 30:
        raise InputError("years", "at most 30 years, first before last", text)
    return list(range(y0, y1 + 1))


class Rows(BaseModel):
    ok: bool = True
    items: list[dict[str, Any]]


class Load(BaseModel):
    rows: list[dict[str, Any]] = Field(max_length=MAX_LOAD_ROWS)


class Loaded(BaseModel):
    ok: bool = True
    kind: str
    rows: int


@router.get("/accounts", response_model=Rows, summary="A county's energy accounts per year")
def accounts(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    county: Annotated[str, Query(pattern=REGION)],
    years: Annotated[str, Query(pattern=YEARS)],
    basis: Annotated[str, Query(pattern="^(equivalent|equal_value)$")] = ea.EQUIVALENT,
) -> dict[str, Any]:
    _check_county(p, county)
    return {"ok": True, "items": service.accounts(store, county, _years(years), basis)}


@router.get("/attainment", response_model=Rows, summary="Dual-control attainment per county")
def attainment(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    year: Annotated[int, Query(ge=2000, le=2100)],
    feedstock: bool = True,
    renewable: bool = True,
) -> dict[str, Any]:
    ex = ea.Exclusions(feedstock=feedstock, renewable=renewable)
    return {"ok": True, "items": service.attainment(store, year, counties_of(p), ex)}


@router.get("/measures", response_model=Rows, summary="The register of energy-saving measures")
def measures(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> dict[str, Any]:
    return {"ok": True, "items": service.measures(store, counties_of(p), year)}


@router.get("/reduction", summary="Main-pollutant totals with their bases, targets, projects")
def reduction(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> dict[str, Any]:
    scope = counties_of(p)
    acc = service.reduction_accounts(store, year, scope)
    return {
        "ok": True, **acc, "results": service.reduction_results(store, year, scope),
        "projects": service.projects(store, scope),
    }  # fmt: skip


def _sheets(store: Store, p: Principal, year: int) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The year's tables as (title, header, rows), Chinese names, for exports and the report."""
    scope = counties_of(p)
    names = display.region_names(store)

    def n(code: str) -> str:
        return names.get(code, (code, code))[0]

    att = service.attainment(store, year, scope)
    red = service.reduction_accounts(store, year, scope)
    res = service.reduction_results(store, year, scope)
    mea = service.measures(store, scope, year)
    yes = {True: "是", False: "否", None: "—"}
    status = {"met": "完成", "missed": "未完成", "incomplete": "数据不全"}
    return [
        ("能耗双控目标完成情况", ["区县", "基期", "口径", "基期强度 tce/万元", "本期强度 tce/万元",
          "目标降幅 %", "实际降幅 %", "完成率 %", "强度目标", "激励目标", "总量免考核", "结论"],
         [[n(r["county"]), r["base_year"], ea.BASES[r["basis"]][0], r.get("base_intensity"),
           r.get("intensity"), r["target_fall_pct"], r.get("fall_pct"), r.get("completion_pct"),
           yes[r.get("intensity_met")], yes[r.get("incentive_met")],
           yes[r.get("total_exempt")], status[r["status"]]] for r in att]),
        ("主要污染物排放量", ["区县", "污染物", "排放量 t", "在线监测 t", "执行报告 t",
          "排放系数 t", "许可量(上限) t", "源数"],
         [[n(t["county"]), POLLUTANTS[t["pollutant"]][1], t["tonnes"]]
          + [str(Decimal(t["by_basis"].get(b, 0)) / 1_000_000)
             for b in ("monitoring", "declared", "factor", "permit")] + [t["sources"]]
          for t in red["totals"]]),
        ("减排目标", ["区县", "污染物", "基年", "形式", "目标", "基年排放 t", "本年排放 t",
          "总量削减 t", "重点工程减排 t", "未认定 t", "达标"],
         [[n(r["county"]), POLLUTANTS[r["pollutant"]][1], r["base_year"],
           "削减比例" if r["kind"] == "percent" else "重点工程减排量", r["target"], r["base_t"],
           r["now_t"], r["total_cut_t"], r["project_cut_t"], r["unrecognised_t"],
           yes[r["met"]]] for r in res]),
        ("节能措施台账", ["区县", "编号", "措施", "年份", "申报节能量 kgce", "核算方法", "佐证"],
         [[n(m["county"]), m["id"], ea.MEASURE_KINDS[m["kind"]][0], m["year"], m["claimed_kgce"],
           m["method"], m["evidence"]] for m in mea]),
    ]  # fmt: skip


@router.get("/export.xlsx", summary="The year's energy and reduction tables as Excel")
def export_xlsx(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> Response:
    from openpyxl import Workbook

    wb = Workbook()
    first = True
    for title, head, rows in _sheets(store, p, year):
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        first = False
        ws.title = title[:31]
        for line in header_rows(title, period=str(year), synthetic=True):
            ws.append(line)
        ws.append(head)
        for r in rows:
            ws.append([v if isinstance(v, int | str) or v is None else str(v) for v in r])
    buf = io.BytesIO()
    wb.save(buf)
    return Response(
        buf.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="energy-{year}.xlsx"'},
    )


@router.get("/report", response_class=HTMLResponse, summary="Printable year report (zh-CN)")
def report(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> HTMLResponse:
    e = html.escape
    parts = [
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>{year}年节能减排核算报告</title><style>body{{font-family:sans-serif}}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #999;"
        "padding:2px 6px;text-align:right}th{background:#eee}@media print{h2{break-before:page}}"
        "</style></head><body>",
        f"<h1>{year}年节能减排核算报告</h1>",
        "<p>本报告中的示范城市数据为合成数据，仅用于演示。折标准煤系数依 GB/T 2589-2020 附录A；"
        "每项总量注明电力折算口径（当量值/等价值）。</p>",
        f"<p>生成时间 {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC</p>",
    ]
    for title, head, rows in _sheets(store, p, year):
        parts.append(f"<h2>{e(title)}</h2><table><tr>")
        parts += [f"<th>{e(str(h))}</th>" for h in head]
        parts.append("</tr>")
        for r in rows:
            cells = "".join(f"<td>{e('—' if v is None else str(v))}</td>" for v in r)
            parts.append(f"<tr>{cells}</tr>")
        parts.append("</table>")
        if not rows:
            parts.append("<p>（无数据）</p>")
    parts.append("</body></html>")
    return HTMLResponse("".join(parts))


@router.post("/load/{kind}", response_model=Loaded, summary="Load rows (audited)")
def load(
    store: WebStore,
    p: Annotated[Principal, requires(*WRITERS)],
    kind: Annotated[str, Path(pattern=r"^[a-z-]{1,20}$")],
    body: Annotated[Load, Body()],
) -> dict[str, Any]:
    if kind not in LOADS:
        raise InputError("kind", f"one of {', '.join(LOADS)}", kind)
    n = LOADS[kind](store, body.rows, p.username or p.role)
    return {"ok": True, "kind": kind, "rows": n}
