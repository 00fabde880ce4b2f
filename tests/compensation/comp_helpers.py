"""Shared builders for the compensation tests (not a test module)."""

from __future__ import annotations

import functools
from decimal import Decimal

from bishui.compensation import (
    Agreement,
    IndicatorInput,
    PeriodInputs,
    PointInput,
    Statement,
    compute,
    load_agreement,
)

#: regions and points used by the worked examples outside Jingmen (codes: GB/T 2260 provinces
#: and prefecture cities; point ids are the tests' own)
REGIONS = {
    "410000",  # 河南省
    "370000",  # 山东省
    "420200",  # 黄石市
    "420700",  # 鄂州市
    "321100",  # 镇江市
    "321181",  # 丹阳市
    "321112",  # 丹徒区
    "411600",  # 周口市
    "411602",  # 川汇区 (an example county of 周口)
    "371700",  # 菏泽市
    "371702",  # 牡丹区 (an example county of 菏泽)
    "420800",
    "420802",
    "420804",
    "420822",
    "420800-ZH",
    "340000",  # 安徽省
    "330000",  # 浙江省
}
POINTS = {
    "LIUZHUANG": "water_section",  # 刘庄 (豫鲁)
    "GAOQIAO": "water_section",  # 高桥河 boundary section
    "JIULI": "water_section",  # 京杭运河 九里 (镇江)
    "ZK01": "water_section",
    "HZ01": "water_section",
    "JIEKOU": "water_section",  # 街口 (新安江)
    "WS06": "water_section",
    "WS04": "water_section",
    "AQ01": "air_station",
    "AQ04": "air_station",
}


def doc(
    terms: str,
    *,
    indicators: tuple[str, ...] = (),
    point: str = '"LIUZHUANG"',
    kind: str = "water_section",
    period: str = "year",
    assessed: str = '"410000"',
    counterparty: str = '"370000"',
    extra: str = "",
    missing: str = 'rule = "no_payment"',
    status: str = 'status = "verified"',
) -> str:
    inds = ", ".join(f'"{c}"' for c in indicators)
    return f"""
schema = "bishui.compensation/1"
id = "test-agreement"
version = 1
title = "测试协议"
{status}
basis = "notes worked example"
period = "{period}"
indicators = [{inds}]
{extra}

[parties]
assessed = {assessed}
counterparty = {counterparty}

[point]
kind = "{kind}"
ids = [{point}]

[missing_data]
{missing}

{terms}
"""


def load(text: str) -> Agreement:
    return load_agreement(text, REGIONS, POINTS)


def run(a: Agreement, period: str, point: PointInput) -> Statement:
    return compute(a, PeriodInputs.of(period, point))


def ind(value: object, count: int = 12, previous: object = None) -> IndicatorInput:
    return IndicatorInput(value=value, count=count, previous=previous)  # type: ignore[arg-type]


@functools.cache
def jingmen() -> dict[str, Agreement]:
    """The model city's agreements, loaded once."""
    from bishui.compensation.jingmen import load_jingmen_agreements

    return load_jingmen_agreements()


#: the 菏泽 linear terms (notes §B6.4(4)), reused by several tests
HEZE_TERMS = """
[[terms]]
shape = "linear"
[terms.params]
reference = { w01018 = "30 mg/L", w21003 = "1.5 mg/L" }
coefficient = { w01018 = "2 万元/(mg/L)", w21003 = "30 万元/(mg/L)" }
"""


def demo_point(a: Agreement) -> PointInput:
    """Plausible assessed figures for the demo (not monitoring data)."""
    values = {
        "w01018": "24",
        "w21003": "1.2",
        "w01019": "7.5",
        "w21011": "0.32",
        "a34002": "66",
        "a34004": "44",
    }
    previous = {"a34002": "70", "a34004": "47"}
    count = 340 if a.point.kind == "air_stations" else 12
    inds = {c: IndicatorInput(values[c], count, previous=previous.get(c)) for c in a.indicators}
    return PointInput(
        a.point.key,
        inds,
        water_class=4,
        volume=Decimal("1.8E7"),
        figures={"months_class1": 9, "forest_area_vs_2020": 1},
        source="demo",
    )
