"""The energy page (节能减排): dual-control attainment per county, the energy accounts of the
city (or of a county official's county), the reduction accounts and the register of measures
(issue 18 item 6). Server-rendered from the same service calls and scoping as the API
(:mod:`bishui.web.api.energy`); names, never codes; figures rounded as published (intensity
4 decimals, rates 2 decimals of a per cent, tonnes 1 decimal); the model city's data carries the
synthetic notice of ``base.html``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bishui.energy import accounts as ea
from bishui.energy import service
from bishui.energy.reduction import POLLUTANTS
from bishui.errors import InputError
from bishui.timeutil import now_beijing
from bishui.web import display
from bishui.web.api.energy import READERS, counties_of
from bishui.web.auth import Principal, requires
from bishui.web.i18n import LANGS, MESSAGES, language, translator
from bishui.web.pages import NAV, NavItem, render

router = APIRouter(include_in_schema=False)

MESSAGES.update({
    "nav.energy": ("节能减排", "Energy & reduction"),
    "energy.title": ("节能减排核算", "Energy and emission-reduction accounts"),
    "energy.attainment": ("能耗双控目标完成情况", "Dual control: attainment"),
    "energy.accounts": ("能源消费与强度", "Energy use and intensity"),
    "energy.reduction": ("主要污染物排放量", "Main pollutants: emissions"),
    "energy.targets": ("减排目标", "Reduction targets"),
    "energy.measures": ("节能措施台账", "Register of measures"),
    "energy.county": ("区县", "County"),
    "energy.year": ("年份", "Year"),
    "energy.basis": ("口径", "Basis"),
    "energy.base_year": ("基期", "Base year"),
    "energy.base_intensity": ("基期强度 tce/万元", "Base intensity tce/10k CNY"),
    "energy.intensity": ("强度 tce/万元", "Intensity tce/10k CNY"),
    "energy.intensity_current": ("强度(现价)", "Intensity (current prices)"),
    "energy.target_fall": ("目标降幅 %", "Target fall %"),
    "energy.fall": ("实际降幅 %", "Fall %"),
    "energy.completion": ("完成率 %", "Completion %"),
    "energy.status": ("结论", "Result"),
    "energy.total_cap": ("总量目标 万tce", "Total cap 10k tce"),
    "energy.total_now": ("核算总量 万tce", "Counted total 10k tce"),
    "energy.total_met": ("总量达标", "Total within cap"),
    "energy.exempt": ("免考核", "exempt"),
    "energy.total_kgce": ("能源消费量 万tce", "Energy use 10k tce"),
    "energy.equal_value": ("等价值 万tce", "Equal-value 10k tce"),
    "energy.gdp_comparable": ("GDP(可比价) 亿元", "GDP (constant prices) 100m CNY"),
    "energy.gdp_current": ("GDP(现价) 亿元", "GDP (current prices) 100m CNY"),
    "energy.price_base": ("价格基期", "Price base"),
    "energy.rate": ("年降幅 %", "Annual change %"),
    "energy.chained": ("累计 %", "Cumulative %"),
    "energy.renewable": ("可再生电力占比 %", "Renewable electricity %"),
    "energy.pollutant": ("污染物", "Pollutant"),
    "energy.tonnes": ("排放量 t", "Emissions t"),
    "energy.by_basis": ("核算依据", "Basis of the figures"),
    "energy.kind": ("形式", "Form"),
    "energy.target": ("目标", "Target"),
    "energy.cut": ("总量削减 t", "Total cut t"),
    "energy.project_cut": ("重点工程减排 t", "Key projects' cut t"),
    "energy.met": ("达标", "Met"),
    "energy.measure": ("措施", "Measure"),
    "energy.claimed": ("申报节能量 tce", "Claimed saving tce"),
    "energy.export": ("导出 Excel", "Export Excel"),
    "energy.report": ("打印报告", "Printable report"),
    "energy.note": ("每项能源总量注明电力折算口径；折标准煤系数依 GB/T 2589-2020 附录A。",
                    "Every energy total names its electricity basis; coefficients from "
                    "GB/T 2589-2020 Annex A."),
})  # fmt: skip
NAV.append(NavItem("/energy", "nav.energy", READERS))
NAV.sort(key=lambda n: n.path == "/docs")

_WORDS = {
    "met": ("完成", "met"), "missed": ("未完成", "missed"),
    "incomplete": ("数据不全", "incomplete"),
    True: ("是", "yes"), False: ("否", "no"), None: ("—", "—"),
    "percent": ("削减比例", "% cut"), "tonnes": ("重点工程减排量", "key-project tonnes"),
    "monitoring": ("在线监测", "monitoring"), "declared": ("执行报告", "declared"),
    "factor": ("排放系数", "factor"), "permit": ("许可量(上限)", "permit (upper bound)"),
}  # fmt: skip


def _wan_tce(kgce: Any) -> str:
    """kgce → 万tce, one decimal as the accounts table shows it."""
    return "—" if kgce is None else _fixed(Decimal(int(kgce)) / 10_000_000, 1)


def _fixed(v: Any, digits: int) -> str:
    if v is None:
        return "—"
    return f"{Decimal(str(v)):.{digits}f}"


@router.get("/energy", response_class=HTMLResponse)
def energy_page(
    request: Request,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    year: str | None = None,
) -> HTMLResponse:
    """Dual control, energy accounts, reduction accounts and measures of a year."""
    store = request.app.state.web.store
    lang = language(request, request.app.state.web.settings.language)
    i = LANGS.index(lang)
    t = translator(lang)
    this = now_beijing().year
    y = this - 1 if not year else int(year) if year.isdigit() and len(year) == 4 else -1
    if not 2001 <= y <= 2100:
        raise InputError("year", "a year 2001–2100", year)
    names = display.region_names(store)

    def name(code: str) -> str:
        return names.get(code, (code, code))[i]

    def w(key: Any) -> str:
        return _WORDS.get(key, (str(key), str(key)))[i]

    scope = counties_of(p)
    att = service.attainment(store, y, scope)
    place = scope[0] if scope else next((c for c, _ in names.items() if c == "420800"), None)
    acc_rows: list[list[str]] = []
    if place:
        for r in service.accounts(store, place, list(range(y - 9, y + 1))):
            if r["equivalent_kgce"] is None:
                continue
            acc_rows.append([
                str(r["year"]), _fixed(Decimal(r["equivalent_kgce"]) / 10_000_000, 1),
                _fixed(None if r["equal_value_kgce"] is None
                       else Decimal(r["equal_value_kgce"]) / 10_000_000, 1),
                _fixed(None if r["gdp_current_wan"] is None
                       else Decimal(r["gdp_current_wan"]) / 10_000, 1),
                _fixed(None if r["gdp_comparable_wan"] is None
                       else Decimal(r["gdp_comparable_wan"]) / 10_000, 1),
                str(r["price_base"]), _fixed(r["intensity_comparable"], 4),
                _fixed(r["intensity_current"], 4), _fixed(r["annual_rate_pct"], 2),
                _fixed(r["chained_pct"], 2), _fixed(r["renewable_share"], 2),
            ])  # fmt: skip
    red = service.reduction_accounts(store, y, scope)
    res = service.reduction_results(store, y, scope)
    mea = service.measures(store, scope)
    pol = {k: (v[1], v[2])[i] for k, v in POLLUTANTS.items()}
    tables = [
        (t("energy.attainment"), [t("energy.county"), t("energy.base_year"), t("energy.basis"),
          t("energy.base_intensity"), t("energy.intensity"), t("energy.target_fall"),
          t("energy.fall"), t("energy.completion"), t("energy.total_cap"),
          t("energy.total_now"), t("energy.total_met"), t("energy.status")],
         [[name(a["county"]), str(a["base_year"]), ea.BASES[a["basis"]][i],
           _fixed(a.get("base_intensity"), 4), _fixed(a.get("intensity"), 4),
           _fixed(a["target_fall_pct"], 1), _fixed(a.get("fall_pct"), 2),
           _fixed(a.get("completion_pct"), 1), _wan_tce(a.get("total_cap_kgce")),
           _wan_tce(a.get("energy_kgce")),
           t("energy.exempt") if a.get("total_exempt") else w(a.get("total_met")),
           w(a["status"])] for a in att]),
        (f"{t('energy.accounts')} · {name(place) if place else ''} · {ea.BASES['equivalent'][i]}",
         [t("energy.year"), t("energy.total_kgce"), t("energy.equal_value"),
          t("energy.gdp_current"), t("energy.gdp_comparable"), t("energy.price_base"),
          t("energy.intensity"), t("energy.intensity_current"), t("energy.rate"),
          t("energy.chained"), t("energy.renewable")], acc_rows),
        (t("energy.reduction"), [t("energy.county"), t("energy.pollutant"), t("energy.tonnes"),
          t("energy.by_basis")],
         [[name(r["county"]), pol[r["pollutant"]], _fixed(r["tonnes"], 1),
           "；".join(f"{w(b)} {_fixed(Decimal(g) / 1_000_000, 1)}"
                    for b, g in r["by_basis"].items())] for r in red["totals"]]),
        (t("energy.targets"), [t("energy.county"), t("energy.pollutant"), t("energy.kind"),
          t("energy.target"), t("energy.cut"), t("energy.project_cut"), t("energy.met")],
         [[name(r["county"]), pol[r["pollutant"]], w(r["kind"]),
           (_fixed(Decimal(r["target"]) * 100, 1) + " %") if r["kind"] == "percent"
           else _fixed(r["target"], 1) + " t",
           _fixed(r["total_cut_t"], 1), _fixed(r["project_cut_t"], 1), w(r["met"])]
          for r in res]),
        (t("energy.measures"), [t("energy.county"), t("energy.measure"), t("energy.year"),
          t("energy.claimed")],
         [[name(m["county"]), ea.MEASURE_KINDS[m["kind"]][i], str(m["year"]),
           _fixed(Decimal(int(m["claimed_kgce"])) / 1000, 0)] for m in mea]),
    ]  # fmt: skip
    return render(request, "energy.html", {"T": t, "year": y, "tables": tables},
                  principal=p)  # fmt: skip
