"""Indicator sources: the platform figures a scorecard draws on.

A source is a function ``(store, county, year) -> Evidence``. Each calls an engine's public
service function and says in ``basis`` what the figure is and where it comes from; a figure the
engine does not have is :func:`~bishui.assessment.scorecard.no_data`, never a made-up value.

Sources are evaluated county by county; within :func:`batch` an engine's year result is
computed once and shared by every county (the air and water assessments cover all counties
in one pass).

Energy and emission-reduction figures come from the energy domain through one small interface:
a module ``bishui.energy.figures`` with a function

    assessment_figure(store, county: str, year: int, name: str) -> Mapping | None

returning ``{"value": str | None, "unit": str, "basis": str, "partial": bool, "inputs": {...}}``
for ``name`` one of :data:`ENERGY_FIGURES` (``None`` or a missing module: no data). Until that
module exists every energy indicator shows **no data**.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from bishui import readings
from bishui.air import service as air_service
from bishui.assessment.scorecard import Evidence, no_data
from bishui.compensation import service as comp_service
from bishui.compensation.period import Period as CompPeriod
from bishui.enforcement import service as enf_service
from bishui.errors import InputError
from bishui.store import Store
from bishui.water import service as water_service

Source = Callable[[Store, str, int], Evidence]

#: the figures the energy domain is asked for (name → unit, meaning)
ENERGY_FIGURES: dict[str, tuple[str, str]] = {
    "intensity_reduction": (
        "%",
        "单位GDP能耗较上年降低率 (energy intensity reduction on the year)",
    ),
    "total_vs_target": (
        "%",
        "能源消费总量占双控目标的比例 (total energy use / its target)",
    ),
    "emission_reduction_attained": (
        "%",
        "完成减排目标的主要污染物占比 (share of COD, NH3-N, SO2, NOx on target)",
    ),
}
ENERGY_MODULE = "bishui.energy.figures"

_memo: dict[tuple[Any, ...], Any] | None = None


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """Share engines' year results across the counties scored inside the block."""
    global _memo
    outer = _memo
    if outer is None:
        _memo = {}
    try:
        yield
    finally:
        if outer is None:
            _memo = None


def _once(key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    if _memo is None:
        return make()
    if key not in _memo:
        _memo[key] = make()
    return _memo[key]


def _dec(x: float, digits: int) -> str:
    return str(Decimal(repr(round(x, digits))).quantize(Decimal(1).scaleb(-digits)))


# --------------------------------------------------------------------------- air


def _air_rows(store: Store, year: int) -> dict[str, Any]:
    def make() -> dict[str, Any]:
        if not readings.sites(store, "kind = ?", ["air"]):
            return {}  # no stations registered: no figure (the engine needs a network)
        rows = air_service.assessment(store, str(year), scope="county")
        return {r.code: r for r in rows}

    return dict(_once(("air", id(store), year), make))


def air_good_days_ratio(store: Store, county: str, year: int) -> Evidence:
    """空气质量优良天数比率 [%] of the county in *year* (bishui.air.service.assessment; HJ 633
    daily AQI ≤ 100 over the valid days, docs/air.md)."""
    basis = "环境空气质量优良天数比率（HJ 633 日AQI≤100 天数 / 有效天数），平台空气评价"
    r = _air_rows(store, year).get(county)
    if r is None or r.good_ratio is None or not r.valid_days:
        return no_data("%", basis)
    days = (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days
    return Evidence(
        _dec(r.good_ratio, 1),
        "%",
        basis,
        r.valid_days < days,
        {
            "good_days": r.good_days,
            "valid_days": r.valid_days,
            "days_in_year": days,
            "stations": r.stations,
        },
    )


def air_pm25(store: Store, county: str, year: int) -> Evidence:
    """PM2.5 annual mean [µg/m³], rounded to an integer as published (HJ 663 Table 1)."""
    basis = "PM2.5 年平均浓度（HJ 663 年评价），平台空气评价"
    r = _air_rows(store, year).get(county)
    p = r.pollutants.get("PM2.5") if r is not None else None
    if p is None or p["mean"] is None:
        return no_data("µg/m3", basis)
    days = (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days
    return Evidence(
        _dec(p["mean"], 0),
        "µg/m3",
        basis,
        p["status"] != "valid" or p["valid_days"] < days,
        {"mean": p["mean"], "valid_days": p["valid_days"], "status": p["status"]},
    )


# --------------------------------------------------------------------------- water


def _water_counties(store: Store, year: int) -> dict[str, dict[str, Any]]:
    def make() -> dict[str, dict[str, Any]]:
        if not readings.sites(store, "kind = ?", ["water"]):
            return {}
        a = water_service.assess_cached(store, str(year))
        return {c["region"]: c for c in a.counties}

    return dict(_once(("water", id(store), year), make))


def water_attainment(store: Store, county: str, year: int) -> Evidence:
    """断面水质达标率 [%]: sections meeting their target class over those with a target and
    sufficient samples (bishui.water.service.assess, GB 3838-2002)."""
    basis = "考核断面达标率（达到水质目标的断面数 / 有目标且样本充分的断面数），平台水质评价"
    c = _water_counties(store, year).get(county)
    if c is None or not c.get("targets"):
        return no_data("%", basis)
    share = Decimal(c["attained"]) * 100 / Decimal(c["targets"])
    return Evidence(
        str(share.quantize(Decimal("0.1"))),
        "%",
        basis,
        bool(c.get("insufficient")),
        {"attained": c["attained"], "targets": c["targets"], "by_class": c.get("by_class")},
    )


def water_cwqi(store: Store, county: str, year: int) -> Evidence:
    """城市水质指数 CWQI of the county (smaller is better; bishui.water, 环办监测〔2017〕51号)."""
    basis = "城市水质指数 CWQI（越小越好），平台水质评价"
    c = _water_counties(store, year).get(county)
    if c is None or c.get("cwqi") is None:
        return no_data("", basis)
    return Evidence(
        _dec(c["cwqi"], 4),
        "",
        basis,
        bool(c.get("insufficient")),
        {"cwqi": c["cwqi"], "cwqi_rank": c.get("cwqi_rank")},
    )


# --------------------------------------------------------------------------- enforcement


def _tasks(store: Store, county: str, year: int) -> list[dict[str, Any]]:
    def make() -> list[dict[str, Any]]:
        _total, rows = enf_service.list_tasks(store, "region = ?", [county], limit=100_000)
        return [t for t in rows if str(t.get("created", ""))[:4] == str(year)]

    return list(_once(("tasks", id(store), county, year), make))


def enforcement_closed(store: Store, county: str, year: int) -> Evidence:
    """问题办结率 [%]: enforcement tasks created in *year* that are closed."""
    basis = "当年立案的执法任务中已办结的比例，平台执法任务"
    ts = _tasks(store, county, year)
    if not ts:
        return no_data("%", basis, tasks=0)
    closed = sum(1 for t in ts if t.get("state") == "closed")
    share = Decimal(closed) * 100 / Decimal(len(ts))
    return Evidence(
        str(share.quantize(Decimal("0.1"))), "%", basis, False, {"tasks": len(ts), "closed": closed}
    )


def enforcement_on_time(store: Store, county: str, year: int) -> Evidence:
    """按期办结率 [%]: closed tasks of *year* closed by their deadline."""
    basis = "当年立案且已办结的执法任务中按期办结的比例，平台执法任务"
    ts = [t for t in _tasks(store, county, year) if t.get("state") == "closed"]
    if not ts:
        return no_data("%", basis, closed=0)
    on_time = sum(1 for t in ts if t.get("closed_at") and str(t["closed_at"]) <= str(t["deadline"]))
    share = Decimal(on_time) * 100 / Decimal(len(ts))
    return Evidence(
        str(share.quantize(Decimal("0.1"))),
        "%",
        basis,
        False,
        {"closed": len(ts), "on_time": on_time},
    )


# --------------------------------------------------------------------------- compensation


def compensation_net(store: Store, county: str, year: int) -> Evidence:
    """生态补偿净收入 [元]: what the county receives minus what it pays over *year*, from the
    current statement versions (bishui.compensation.service.party_statement_of)."""
    basis = "生态补偿当年应收减应付（现行对账单版本），平台生态补偿"
    ps = comp_service.party_statement_of(store, county, CompPeriod(year, "year"))
    if not ps.lines:
        return no_data("元", basis)
    return Evidence(
        str(ps.net),
        "元",
        basis,
        False,
        {"receives": str(ps.receives), "pays": str(ps.pays), "lines": len(ps.lines)},
    )


# --------------------------------------------------------------------------- energy (interface)


def _energy(name: str) -> Source:
    unit, meaning = ENERGY_FIGURES[name]

    def source(store: Store, county: str, year: int) -> Evidence:
        basis = f"{meaning}，能源/减排账户"
        try:
            mod = importlib.import_module(ENERGY_MODULE)
        except ModuleNotFoundError:
            return no_data(unit, basis + "（能源域尚未提供此数据）")
        fn = getattr(mod, "assessment_figure", None)
        got = fn(store, county, year, name) if fn is not None else None
        if not got or got.get("value") is None:
            return no_data(unit, basis + "（无数据）")
        return Evidence(
            str(Decimal(str(got["value"]))),
            str(got.get("unit", unit)),
            str(got.get("basis", basis)),
            bool(got.get("partial", False)),
            dict(got.get("inputs") or {}),
        )

    source.__name__ = f"energy_{name}"
    return source


#: name → source (the names scorecard files use)
REGISTRY: dict[str, Source] = {
    "air.good_days_ratio": air_good_days_ratio,
    "air.pm25": air_pm25,
    "water.attainment": water_attainment,
    "water.cwqi": water_cwqi,
    "enforcement.closed": enforcement_closed,
    "enforcement.on_time": enforcement_on_time,
    "compensation.net": compensation_net,
    **{f"energy.{n}": _energy(n) for n in ENERGY_FIGURES},
}


def get(name: str) -> Source:
    try:
        return REGISTRY[name]
    except KeyError:
        raise InputError("source", f"one of {', '.join(REGISTRY)}", name) from None
