"""Loading refuses every kind of invalid agreement with the field, the rule and the value."""

from __future__ import annotations

from decimal import Decimal

import pytest
from comp_helpers import HEZE_TERMS, POINTS, REGIONS, doc, load

from bishui.compensation import load_agreement
from bishui.compensation.quantity import parse_quantity
from bishui.errors import ConfigError

GOOD = doc(
    HEZE_TERMS,
    indicators=("w01018", "w21003"),
    point='"HZ01"',
    period="quarter",
    assessed='"371702"',
    counterparty='"371700"',
)


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(text)
    return info.value


def test_the_good_document_loads() -> None:
    a = load(GOOD)
    assert a.terms[0].params["coefficient"]["w21003"] == Decimal(300_000)
    assert a.rule_hash.startswith("sha256:")
    assert a.point.key == "HZ01"


def test_unknown_party() -> None:
    e = refused(GOOD.replace('assessed = "371702"', 'assessed = "999999"'))
    assert e.field == "parties.assessed.999999" and "known region" in e.rule
    assert e.value == "999999"


def test_point_without_data_source() -> None:
    e = refused(GOOD.replace('ids = ["HZ01"]', 'ids = ["WS99"]'))
    assert (e.field, e.value) == ("point.ids", "WS99")
    assert "data source" in e.rule


def test_point_of_the_wrong_kind() -> None:
    e = refused(GOOD.replace('ids = ["HZ01"]', 'ids = ["AQ01"]'))
    assert e.field == "point.ids" and "water_section" in e.rule


def test_missing_parameter() -> None:
    e = refused(
        GOOD.replace('coefficient = { w01018 = "2 万元/(mg/L)", w21003 = "30 万元/(mg/L)" }', "")
    )
    assert e.field == "terms[0].params.coefficient" and "required" in e.rule


def test_missing_parameter_for_one_indicator() -> None:
    e = refused(GOOD.replace('w21003 = "1.5 mg/L"', "").replace('"30 mg/L",', '"30 mg/L"'))
    assert e.field == "terms[0].params.reference.w21003"


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('"2 万元/(mg/L)"', '"2 万元/t"', "terms[0].params.coefficient.w01018"),
        ('"30 mg/L"', '"30 µg/m³"', "terms[0].params.reference.w01018"),
        ('"30 mg/L"', '"30"', "terms[0].params.reference.w01018"),
        ('"2 万元/(mg/L)"', '"2 furlongs"', "terms[0].params.coefficient.w01018"),
        ('"30 mg/L"', "30.0", "terms[0].params.reference.w01018"),
    ],
)
def test_wrong_unit(old: str, new: str, field: str) -> None:
    e = refused(GOOD.replace(old, new, 1))
    assert e.field == field


def test_unknown_shape_and_unknown_parameter() -> None:
    assert refused(GOOD.replace('"linear"', '"magic"')).field == "terms[0].shape"
    e = refused(GOOD.replace("[terms.params]", '[terms.params]\nbonus = "1 元"'))
    assert e.field == "terms[0].params.bonus"


def test_parameter_for_an_indicator_not_in_the_agreement() -> None:
    e = refused(GOOD.replace('w21003 = "1.5 mg/L"', 'w21003 = "1.5 mg/L", w21011 = "0.3 mg/L"'))
    assert e.field == "terms[0].params.reference.w21011"


def test_indicator_must_be_known_and_of_the_point_kind() -> None:
    assert refused(GOOD.replace('"w01018", "w21003"', '"w01018", "x99999"')).value == "x99999"
    e = refused(GOOD.replace('"w01018", "w21003"', '"w01018", "a34004"'))
    assert e.field == "indicators" and e.value == "a34004"


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('schema = "bishui.compensation/1"', 'schema = "other/9"', "schema"),
        ("version = 1", "version = 0", "version"),
        ('status = "verified"', 'status = "maybe"', "status"),
        ('status = "verified"', 'status = "example"', "modelled_on"),
        ('period = "quarter"', 'period = "week"', "period"),
        ('rule = "no_payment"', 'rule = "guess"', "missing_data.rule"),
        ('id = "test-agreement"', 'id = "Bad Id!"', "id"),
        ('title = "测试协议"', 'title = "测试协议"\ncolour = "red"', "colour"),
        ('counterparty = "371700"', 'counterparty = "371702"', "parties.counterparty"),
        ('counterparty = "371700"', 'counterparty = { "371700" = "0.5" }', "parties.counterparty"),
        ('rule = "no_payment"', 'rule = "no_payment"\nmin_count = -1', "missing_data.min_count"),
    ],
)
def test_document_level_rules(old: str, new: str, field: str) -> None:
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    assert refused(text).field == field


def test_bad_toml() -> None:
    assert refused("this is = = not toml").field == "document"


def test_shape_specific_checks() -> None:
    weights = doc(
        """
[[terms]]
shape = "index_baseline"
[terms.params]
k0 = "0.85"
weight = { w01019 = "0.5", w21003 = "0.4" }
baseline = { w01019 = "2 mg/L", w21003 = "0.1 mg/L" }
amount = "1 亿元"
""",
        indicators=("w01019", "w21003"),
    )
    e = refused(weights)
    assert e.field == "terms[0].params.weight" and "sum to 1" in e.rule
    band = doc(
        """
[[terms]]
shape = "class_step"
[terms.params]
neutral_best = 4
neutral_worst = 3
amount = "1 万元"
"""
    )
    assert refused(band).field == "terms[0].params.neutral_best"
    brackets = doc(
        """
[[terms]]
shape = "stepped_multiple"
[terms.params]
standard = { w01018 = "40 mg/L" }
brackets = [{ above = "0.5", base = "10 万元" }, { above = "0.1", base = "25 万元" }]
""",
        indicators=("w01018",),
    )
    assert refused(brackets).field == "terms[0].params.brackets[1].above"


def test_known_points_may_be_a_plain_set() -> None:
    a = load_agreement(GOOD, REGIONS, set(POINTS))
    assert a.point.ids == ("HZ01",)


@pytest.mark.parametrize(
    ("text", "value", "dimension"),
    [
        ("1.5 万元/t", Decimal(15_000), "money/mass"),
        ("2500 元/t", Decimal(2500), "money/mass"),
        ("30 万元/(mg/L)", Decimal(300_000), "money/conc_water"),
        ("10 万元/(µg/m³)", Decimal(100_000), "money/conc_air"),
        ("1 亿元", Decimal(100_000_000), "money"),
        ("80 %", Decimal("0.80"), "ratio"),
        ("0.85", Decimal("0.85"), "ratio"),
        ("1.0E7 m³", Decimal(10_000_000), "volume"),
        ("100 万元/point", Decimal(1_000_000), "money/point"),
    ],
)
def test_quantities(text: str, value: Decimal, dimension: str) -> None:
    q = parse_quantity(text)
    assert (q.value, q.dimension) == (value, dimension)
