"""Each formula shape against the worked examples of the notes.

Source: /work/shared/standards/water-and-compensation.md, "Worked examples" 6–11 and
§B6.3, §B6.4 (cited per test). Amounts are in 元; the notes give 万元.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from comp_helpers import doc, ind, jingmen, load, run

from bishui.compensation import PointInput
from bishui.compensation.shapes import SHAPES

WAN = Decimal(10_000)


def test_registry_has_every_shape_of_the_issue() -> None:
    assert {
        "class_step",
        "flux_price",
        "index_baseline",
        "linear",
        "stepped_multiple",
        "air_change",
        "index_change",
        "fund_split",
    } <= set(SHAPES)


# ---------------------------------------------------------------- 镇江 flux (worked example 7)

ZHENJIANG = doc(
    """
[payment]
direction = "assessed_pays_only"
[[terms]]
shape = "flux_price"
[terms.params]
target = { w21003 = "1.0 mg/L", w01019 = "6 mg/L" }
unit_price = { w21003 = "10 万元/t", w01019 = "1.5 万元/t" }
""",
    indicators=("w21003", "w01019"),
    point='"JIULI"',
    period="month",
    assessed='"321100"',
    counterparty='"320000"',
)


def _zhenjiang():
    return load(ZHENJIANG.replace('"320000"', '"410000"'))


def test_zhenjiang_nh3n_flux_is_5_t_and_50_wan() -> None:
    """Notes example 7: NH3-N 0.5 mg/L above target, 1.0×10⁷ m³ → 5 t → 50万元."""
    a = load(
        ZHENJIANG.replace('"320000"', '"410000"')
        .replace('w01019 = "6 mg/L"', "")
        .replace('w01019 = "1.5 万元/t"', "")
        .replace(', "w01019"', "")
        .replace('{ w21003 = "1.0 mg/L",  }', '{ w21003 = "1.0 mg/L" }')
        .replace('{ w21003 = "10 万元/t",  }', '{ w21003 = "10 万元/t" }')
    )
    st = run(a, "2025-06", PointInput("JIULI", {"w21003": ind("1.5")}, volume="1.0E7"))
    steps = {s["name"]: s["value"] for s in st.evidence["terms"][0]["steps"]}
    assert Decimal(steps["w21003.flux"]) == 5
    assert st.amount == -50 * WAN
    assert st.transfers[0].payer == "321100"
    assert st.transfers[0].amount == Decimal("500000.00")


def test_zhenjiang_same_excess_of_codmn_is_7_5_wan() -> None:
    """Notes example 7: the same 5 t of CODMn at 1.5万元/t → 7.5万元."""
    st = run(
        _zhenjiang(),
        "2025-06",
        PointInput("JIULI", {"w21003": ind("1.5"), "w01019": ind("6.5")}, volume=10_000_000),
    )
    steps = {s["name"]: Decimal(s["value"]) for s in st.evidence["terms"][0]["steps"]}
    assert steps["w01019.amount"] == Decimal("7.5") * WAN
    assert st.amount == -(50 + Decimal("7.5")) * WAN


def test_flux_below_target_is_not_credited_by_default() -> None:
    st = run(
        _zhenjiang(),
        "2025-06",
        PointInput("JIULI", {"w21003": ind("0.5"), "w01019": ind("2")}, volume=10_000_000),
    )
    assert st.amount == 0 and st.transfers == ()


# ---------------------------------------------------------------- 菏泽 linear (example 6)

HEZE = doc(
    """
[[terms]]
shape = "linear"
[terms.params]
reference = { w01018 = "30 mg/L", w21003 = "1.5 mg/L" }
coefficient = { w01018 = "2 万元/(mg/L)", w21003 = "30 万元/(mg/L)" }
""",
    indicators=("w01018", "w21003"),
    point='"HZ01"',
    period="quarter",
    assessed='"371702"',
    counterparty='"371700"',
)


def test_heze_follows_the_formula_35_wan_not_the_prose_45() -> None:
    """Notes §B6.4(4) and example 6: COD 20, NH3-N 1.0 → (30−20)×2 + (1.5−1)×30 = 35万, the
    source's prose says 45万 and is arithmetically wrong."""
    st = run(load(HEZE), "2025-Q1", PointInput("HZ01", {"w01018": ind(20), "w21003": ind("1.0")}))
    assert st.amount == 35 * WAN
    assert st.amount != 45 * WAN
    assert st.transfers[0].payer == "371700" and st.transfers[0].payee == "371702"


def test_heze_negative_means_the_county_pays() -> None:
    st = run(load(HEZE), "2025-Q1", PointInput("HZ01", {"w01018": ind(35), "w21003": ind(2)}))
    # (30−35)×2万 + (1.5−2)×30万 = −10万 − 15万 = −25万
    assert st.amount == -25 * WAN
    assert st.transfers[0].payer == "371702"


# ---------------------------------------------------------------- 周口 stepped (example 8)

ZHOUKOU = doc(
    """
[payment]
direction = "assessed_pays_only"
[[terms]]
shape = "stepped_multiple"
[terms.params]
standard = { w01018 = "40 mg/L" }
brackets = [
  { above = "0.1", base = "10 万元" },
  { above = "0.5", base = "25 万元" },
  { above = "1.0", base = "50 万元" },
  { above = "1.5", base = "100 万元" },
  { above = "2.0", base = "200 万元" },
]
""",
    indicators=("w01018",),
    point='"ZK01"',
    period="month",
    assessed='"411602"',
    counterparty='"411600"',
)


@pytest.mark.parametrize(
    ("cod", "wan"),
    [
        ("72", Decimal(45)),  # m = 0.8 → 25万 × 1.8 = 45万 (notes example 8)
        ("140", Decimal(700)),  # m = 2.5 → 200万 × 3.5 = 700万 (notes example 8)
        ("44", Decimal(0)),  # m = 0.1: not above the first bracket, not charged (§B6.4(3))
        ("60", Decimal(15)),  # m = 0.5: upper-inclusive, 10万 × 1.5
        ("60.04", Decimal("25") * Decimal("1.501")),  # m = 0.501 → next bracket
        ("120", Decimal(300)),  # m = 2.0: still the 100万 bracket, 100万 × 3
    ],
)
def test_zhoukou_brackets(cod: str, wan: Decimal) -> None:
    st = run(load(ZHOUKOU), "2025-03", PointInput("ZK01", {"w01018": ind(cod)}))
    assert st.amount == -(wan * WAN)


# ---------------------------------------------------------------- 豫鲁 class + change (example 9)

YULU = doc(
    """
[[terms]]
shape = "class_step"
label = "基本补偿"
[terms.params]
neutral_best = 3
neutral_worst = 3
amount = "6000 万元"
per_class = true

[[terms]]
shape = "index_change"
label = "变化补偿"
cap = "4000 万元"
[terms.params]
amount_per_point = "100 万元/point"
fractional = "whole_points"
""",
)


@pytest.mark.parametrize(
    ("cls", "change", "wan"),
    [
        (2, "-3", 6300),  # notes example 9: Ⅱ and 3 points lower → Shandong pays 6300万
        (2, "-45", 10000),  # 45 points lower → change part capped at 4000万
        (3, "0", 0),  # Ⅲ → neither pays
        (5, "2", -12200),  # two classes worse and 2 points higher → Henan pays 12000 + 200
        (1, "-3.4", 12300),  # whole points: 3.4 → 3 (the choice the notes leave open)
    ],
)
def test_yulu(cls: int, change: str, wan: int) -> None:
    st = run(
        load(YULU),
        "2022",
        PointInput("LIUZHUANG", water_class=cls, figures={"index_change": change}),
    )
    assert st.amount == wan * WAN
    if wan > 0:
        assert (st.transfers[0].payer, st.transfers[0].payee) == ("370000", "410000")


def test_yulu_pro_rata_variant() -> None:
    a = load(YULU.replace('"whole_points"', '"pro_rata"'))
    st = run(a, "2022", PointInput("LIUZHUANG", water_class=3, figures={"index_change": "-3.4"}))
    assert st.amount == 340 * WAN


# ---------------------------------------------------------------- 高桥河 (example 10)

GAOQIAO = doc(
    """
[limits]
cap = "1000 万元"
[[terms]]
shape = "class_step"
[terms.params]
neutral_best = 2
neutral_worst = 3
amount = "500 万元"
""",
    point='"GAOQIAO"',
    assessed='"420200"',
    counterparty='"420700"',
)


@pytest.mark.parametrize(
    ("cls", "wan", "payer"),
    [(1, 500, "420700"), (2, 0, None), (3, 0, None), (4, -500, "420200"), (6, -500, "420200")],
)
def test_gaoqiao(cls: int, wan: int, payer: str | None) -> None:
    """Notes example 10 / §B6.3: Ⅰ → 鄂州 pays 500万; Ⅲ → 0; Ⅳ → 黄石 pays 500万."""
    st = run(load(GAOQIAO), "2023", PointInput("GAOQIAO", water_class=cls))
    assert st.amount == wan * WAN
    assert (st.transfers[0].payer if st.transfers else None) == payer


# ---------------------------------------------------------------- 漳河 (§B6.3, verified)


def test_zhanghe_full_performance_is_450_wan_split_80_20() -> None:
    """§B6.3 [V2]: 450万/yr, water 80 % (360万), forest 20 % (90万)."""
    a = jingmen()["jingmen-zhanghe-reservoir"]
    st = run(a, "2025", PointInput("WS06", figures={"months_class1": 10, "forest_area_vs_2020": 1}))
    steps = {s["name"]: Decimal(s["value"]) for s in st.evidence["terms"][0]["steps"]}
    assert steps["water.amount"] == 360 * WAN
    assert steps["forest.amount"] == 90 * WAN
    assert st.amount == 450 * WAN
    # the recipient's own 25 % share is not an inter-government transfer
    assert sum(t.amount for t in st.transfers) == Decimal("337.5") * WAN
    assert {t.payer: t.amount for t in st.transfers} == {
        "420800": 225 * WAN,
        "420802": Decimal("112.5") * WAN,
    }


def test_zhanghe_partial_water_performance() -> None:
    """The model city's proportional rule: 8 of 10 months → water 360万 × 0.8 = 288万."""
    a = jingmen()["jingmen-zhanghe-reservoir"]
    st = run(
        a, "2025", PointInput("WS06", figures={"months_class1": 8, "forest_area_vs_2020": "1.02"})
    )
    assert st.amount == (288 + 90) * WAN


# ---------------------------------------------------------------- Hubei air (example 11)


def test_hubei_air_example_with_illustrative_coefficients() -> None:
    """Notes example 11: PM10 80→72, PM2.5 50→46 → 12·m1·k; m1 = 10万, k = 1 → 120万
    (illustrative, NOT official values)."""
    a = load(
        doc(
            """
[[terms]]
shape = "air_change"
[terms.params]
coefficient = "10 万元/(µg/m³)"
k_improve = "1"
k_worsen = "1"
""",
            indicators=("a34002", "a34004"),
            kind="air_stations",
            point='"AQ01", "AQ04"',
            assessed='"420802"',
            counterparty='"420800"',
        )
    )
    p = PointInput(
        "AQ01+AQ04", {"a34002": ind(72, 330, previous=80), "a34004": ind(46, 330, previous=50)}
    )
    st = run(a, "2025", p)
    assert st.amount == 120 * WAN


# ---------------------------------------------------------------- 新安江 index (§B5, [R])

XINAN = doc(
    """
[[terms]]
shape = "index_baseline"
[terms.params]
k0 = "0.85"
weight = { w01019 = "0.25", w21003 = "0.25", w21001 = "0.25", w21011 = "0.25" }
baseline = { w01019 = "2 mg/L", w21003 = "0.1 mg/L", w21001 = "1.0 mg/L", w21011 = "0.02 mg/L" }
amount = "1 亿元"
""",
    indicators=("w01019", "w21003", "w21001", "w21011"),
    point='"JIEKOU"',
    assessed='"340000"',
    counterparty='"330000"',
    status='status = "example"\nmodelled_on = ["新安江"]',
)


def test_xinan_index_at_baseline_gives_p_k0_and_zhejiang_pays() -> None:
    """§B5 (formula [R], parameters illustrative): every C = C0 → P = K0 = 0.85 ≤ 1 →
    Zhejiang pays Anhui 1亿."""
    p = PointInput(
        "JIEKOU",
        {"w01019": ind(2), "w21003": ind("0.1"), "w21001": ind(1), "w21011": ind("0.02")},
    )
    st = run(load(XINAN), "2013", p)
    steps = {s["name"]: Decimal(s["value"]) for s in st.evidence["terms"][0]["steps"]}
    assert steps["p"] == Decimal("0.85")
    assert st.amount == Decimal(100_000_000)
    assert st.transfers[0].payer == "330000"


def test_xinan_index_above_one_anhui_pays() -> None:
    p = PointInput(
        "JIEKOU",
        {"w01019": ind(3), "w21003": ind("0.15"), "w21001": ind("1.5"), "w21011": ind("0.03")},
    )
    st = run(load(XINAN), "2013", p)  # P = 0.85 × 1.5 = 1.275
    assert st.amount == -Decimal(100_000_000)
