"""The energy figures the county scorecards ask for (docs/assessment.md, "The energy interface").

:func:`assessment_figure` answers ``(store, county, year, name)`` with
``{"value": str | None, "unit", "basis", "partial", "inputs"}`` from the energy service's public
read functions; nothing here computes a figure the service does not:

``intensity_reduction``
    单位GDP能耗较上年降低率 [%]: minus the service's annual rate (I_t ÷ I_{t−1} − 1, both
    intensities at the period's comparable prices rounded to 4 decimals, the rate to 2 decimals
    half to even — notes B.6 [V]), equivalent basis. ``partial`` when the set of reporting
    units differs between the two years (the two totals do not cover the same units).
``total_vs_target``
    能源消费总量占双控目标的比例 [%]: the year's total after the dual-control exclusions
    (notes §2.2 [S]) ÷ the county's total cap of that year × 100, 2 decimals half to even.
    No cap, no target or an incomplete attainment: no figure.
``emission_reduction_attained``
    Share of the main pollutants (COD, NH3-N, SO2, NOx) with a reduction target of the year that
    meet **every** target they have [%]. A pollutant whose result cannot be judged (no base or
    current total) is left out of the share and makes it ``partial``; so does a county total
    resting partly on permitted quantities (an upper bound, not an emission).

Values are decimal strings (never floats).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from bishui.energy import accounts as ea
from bishui.energy import reduction as rd
from bishui.energy import service
from bishui.store import Store

NAMES = ("intensity_reduction", "total_vs_target", "emission_reduction_attained")
DIGITS = 2  # percentages as published (2 decimals)
_BASIS_ZH = {ea.EQUIVALENT: "当量值", ea.EQUAL_VALUE: "等价值"}


def _pct(x: Fraction) -> str:
    r = ea.round_half_even(x * 100, DIGITS)
    return f"{Decimal(r.numerator) / Decimal(r.denominator):.{DIGITS}f}"


def _units(store: Store, county: str, year: int) -> set[str]:
    rows = store.query(
        "SELECT DISTINCT u.unit_id FROM energy_use u JOIN energy_unit n ON n.id = u.unit_id "
        "WHERE u.year = ? AND n.county = ?",
        [year, county],
    )
    return {r["unit_id"] for r in rows}


def intensity_reduction(store: Store, county: str, year: int) -> dict[str, Any] | None:
    rows = {r["year"]: r for r in service.accounts(store, county, [year - 1, year])}
    now, prev = rows.get(year), rows.get(year - 1)
    if now is None or now["annual_rate_pct"] is None:
        return None
    fall = -Decimal(now["annual_rate_pct"])
    u_now, u_prev = _units(store, county, year), _units(store, county, year - 1)
    return {
        "value": f"{fall:.{DIGITS}f}",
        "unit": "%",
        "basis": (
            f"单位GDP能耗较上年降低率：1 − I{year} ÷ I{year - 1}，当量值口径，"
            f"{now['price_base']}年可比价GDP，强度四舍六入保留4位（能源账户）"
        ),
        "partial": u_now != u_prev,
        "inputs": {
            "energy_kgce": now["equivalent_kgce"],
            "energy_kgce_prev": None if prev is None else prev["equivalent_kgce"],
            "gdp_comparable_wan": now["gdp_comparable_wan"],
            "price_base": now["price_base"],
            "intensity": now["intensity_comparable"],
            "annual_rate_pct": now["annual_rate_pct"],
            "units": len(u_now),
            "units_prev": len(u_prev),
        },
    }


def total_vs_target(store: Store, county: str, year: int) -> dict[str, Any] | None:
    rows = service.attainment(store, year, [county])
    if not rows:
        return None
    a = rows[0]
    cap = a.get("total_cap_kgce")
    if a["status"] == "incomplete" or not cap or a.get("energy_kgce") is None:
        return None
    energy = int(a["energy_kgce"])
    return {
        "value": _pct(Fraction(energy, int(cap))),
        "unit": "%",
        "basis": (
            "能源消费总量（扣除原料用能及新增可再生能源后）÷ 双控总量目标，"
            f"{_BASIS_ZH.get(a['basis'], a['basis'])}口径，目标来源：{a['source']}"
        ),
        "partial": False,
        "inputs": {
            "energy_kgce": energy,
            "total_cap_kgce": int(cap),
            "deductions": dict(a.get("deductions") or {}),
            "total_exempt": a.get("total_exempt"),
            "base_year": a["base_year"],
        },
    }


def emission_reduction_attained(store: Store, county: str, year: int) -> dict[str, Any] | None:
    results = service.reduction_results(store, year, [county])
    if not results:
        return None
    by_pol: dict[str, list[bool | None]] = {}
    for r in results:
        by_pol.setdefault(r["pollutant"], []).append(r["met"])
    judged = {p: all(ms) for p, ms in by_pol.items() if all(m is not None for m in ms)}
    unjudged = sorted(p for p in by_pol if p not in judged)
    acc = service.reduction_accounts(store, year, [county])
    permit_based = sorted(
        {t["pollutant"] for t in acc["totals"] if t["by_basis"].get("permit")} & set(by_pol)
    )
    value = None if not judged else _pct(Fraction(sum(judged.values()), len(judged)))
    return {
        "value": value,
        "unit": "%",
        "basis": (
            "完成全部减排目标的主要污染物（COD、氨氮、SO2、NOx）占有目标污染物的比例（减排账户）"
        ),
        "partial": bool(unjudged or permit_based),
        "inputs": {
            "met": sorted(p for p, ok in judged.items() if ok),
            "missed": sorted(p for p, ok in judged.items() if not ok),
            "not_judged": unjudged,
            "permit_based": permit_based,
            "targets": len(results),
            "pollutants": [p for p in rd.POLLUTANTS if p in by_pol],
        },
    }


_FIGURES = {
    "intensity_reduction": intensity_reduction,
    "total_vs_target": total_vs_target,
    "emission_reduction_attained": emission_reduction_attained,
}


def assessment_figure(store: Store, county: str, year: int, name: str) -> Mapping[str, Any] | None:
    """The figure *name* of *county* in *year*, or ``None`` when the accounts do not have it."""
    fn = _FIGURES.get(name)
    return None if fn is None else fn(store, county, year)
