"""Scorecard curves and points (bishui.assessment.scorecard)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui.assessment import scorecard as sc
from bishui.assessment.scorecard import Evidence
from bishui.errors import InputError, NotFoundError

CARD = """
id = "t"
year = 2026
title = "t"
[[indicators]]
code = "a"
name = "A"
source = "air.good_days_ratio"
weight = 20
curve = "linear"
lower = 70
upper = 95
[[indicators]]
code = "p"
name = "P"
source = "air.pm25"
weight = 10
curve = "linear"
lower = 60
upper = 30
floor = 0.6
[[indicators]]
code = "t"
name = "T"
source = "enforcement.on_time"
weight = 5
curve = "threshold"
target = 90
[[indicators]]
code = "r"
name = "R"
source = "water.cwqi"
weight = 9
curve = "rank"
direction = "<="
floor = 0.5
"""


def ev(v: str | None) -> Evidence:
    return Evidence(v, "", "test")


def test_linear_positive_clamped_and_exact() -> None:
    card = sc.parse_scorecard(CARD)
    a = card.indicators[0]
    assert sc.curve_share(a, Fraction(70)) == 0
    assert sc.curve_share(a, Fraction(95)) == 1
    assert sc.curve_share(a, Fraction(100)) == 1
    assert sc.curve_share(a, Fraction(50)) == 0
    assert sc.curve_share(a, Fraction("82.5")) == Fraction(1, 2)


def test_linear_negative_with_floor_like_green_index() -> None:
    # a 60–100 index (发改环资〔2016〕2635号 scaling, notes §5.2): floor 0.6 of full points
    p = sc.parse_scorecard(CARD).indicators[1]
    assert sc.curve_share(p, Fraction(60)) == Fraction(3, 5)
    assert sc.curve_share(p, Fraction(30)) == 1
    assert sc.curve_share(p, Fraction(45)) == Fraction(4, 5)


def test_threshold_at_the_target_meets_it() -> None:
    t = sc.parse_scorecard(CARD).indicators[2]
    assert sc.curve_share(t, Fraction(90)) == 1
    assert sc.curve_share(t, Fraction("89.9")) == 0


def test_rank_ties_share_best_rank() -> None:
    assert sc.rank_values(
        {"a": Fraction(1), "b": Fraction(1), "c": Fraction(2), "d": None}, False
    ) == {"a": 1, "b": 1, "c": 3}


def test_score_points_and_no_data() -> None:
    card = sc.parse_scorecard(CARD)
    evidence = {
        "420802": {"a": ev("82.5"), "p": ev("45"), "t": ev("95.0"), "r": ev("3.1")},
        "420804": {"a": ev(None), "p": ev("30"), "t": ev("80"), "r": ev("4.2")},
        "420822": {"a": ev("95"), "p": ev("61"), "r": ev("5.0")},
    }
    pts = sc.score(card, evidence)
    assert pts["420802"]["a"].points == Decimal("10.00")
    assert pts["420802"]["p"].points == Decimal("8.00")
    assert pts["420802"]["r"].points == Decimal("9.00")  # rank 1 of 3
    assert pts["420804"]["r"].points == Decimal("6.75")  # rank 2: 1 − 0.5 × 1/2
    assert pts["420822"]["r"].points == Decimal("4.50")
    assert pts["420804"]["a"].no_data and pts["420804"]["a"].points == Decimal("0.00")
    assert pts["420822"]["t"].no_data
    total = sc.totals(pts)
    assert total["420802"] == Decimal("32.00")
    assert sc.ranking(total)["420802"] == 1


def test_missing_floor_policy() -> None:
    card = sc.parse_scorecard(CARD.replace('title = "t"', 'title = "t"\nmissing = "floor"'))
    pts = sc.score(card, {"x": {}})
    assert pts["x"]["p"].points == Decimal("6.00") and pts["x"]["p"].no_data


def test_quantize_half_even() -> None:
    assert sc.quantize(Fraction(1, 8), 2) == Decimal("0.12")
    assert sc.quantize(Fraction(3, 8), 2) == Decimal("0.38")
    assert sc.quantize(Fraction(-1, 3), 2) == Decimal("-0.33")


@settings(deadline=None)  # shared CI cores: no wall-clock limit
@given(st.fractions(min_value=-1000, max_value=1000), st.integers(0, 6))
def test_quantize_matches_decimal(x: Fraction, d: int) -> None:
    from decimal import ROUND_HALF_EVEN, localcontext

    with localcontext() as ctx:
        ctx.prec = 80
        want = (Decimal(x.numerator) / Decimal(x.denominator)).quantize(
            Decimal(1).scaleb(-d), rounding=ROUND_HALF_EVEN
        )
    assert sc.quantize(x, d) == want


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ('curve = "linear"', "indicators[0].curve"),
        ("weight = 20", "indicators[0].weight"),
        ("upper = 95", "indicators[0].lower/upper"),
    ],
)
def test_bad_files_name_the_field(patch: str, field: str) -> None:
    bad = {
        'curve = "linear"': 'curve = "cubic"',
        "weight = 20": "weight = -1",
        "upper = 95": "upper = 70",
    }[patch]
    with pytest.raises(InputError) as e:
        sc.parse_scorecard(CARD.replace(patch, bad, 1))
    assert e.value.field == field


def test_shipped_scorecards_parse_and_name_known_sources() -> None:
    from bishui.assessment import sources

    assert sc.available()
    for name in sc.available():
        card = sc.load_scorecard(name)
        assert card.full_points == 100
        for ind in card.indicators:
            sources.get(ind.source)
    with pytest.raises(NotFoundError):
        sc.load_scorecard("scorecard_1900_none")


def test_exempt_county_earns_the_total_points_only_where_the_rule_is_on() -> None:
    """发改环资〔2021〕1310号 as reported (notes §2.1 [S]): a county that met its incentive target
    is exempt from the total check. scorecard_2025_demo2 gives it the total points regardless
    (full_if); scorecard_2025_demo, unchanged, scores its ratio."""
    old = sc.load_scorecard("scorecard_2025_demo")
    new = sc.load_scorecard("scorecard_2025_demo2")
    assert [i.full_if for i in old.indicators] == [None] * len(old.indicators)
    assert {i.code: i.full_if for i in new.indicators}["energy_total"] == "total_exempt"
    assert [(i.code, i.weight, i.curve) for i in old.indicators] == [
        (i.code, i.weight, i.curve) for i in new.indicators
    ]
    ev = {
        "420802": {"energy_total": Evidence("112.50", "%", "t", inputs={"total_exempt": True})},
        "420822": {"energy_total": Evidence("112.50", "%", "t", inputs={"total_exempt": False})},
        "420881": {"energy_total": Evidence("98.00", "%", "t", inputs={"total_exempt": None})},
        "420804": {"energy_total": Evidence(None, "%", "t", inputs={"total_exempt": True})},
    }
    p_old, p_new = sc.score(old, ev), sc.score(new, ev)
    pts = {c: (p_old[c]["energy_total"].points, p_new[c]["energy_total"].points) for c in ev}
    five, zero = Decimal("5.00"), Decimal("0.00")
    assert pts["420802"] == (zero, five)  # exempt: full points only under the new version
    assert pts["420822"] == (zero, zero)
    assert pts["420881"] == (five, five)
    assert pts["420804"] == (zero, zero) and p_new["420804"]["energy_total"].no_data
    assert p_new["420802"]["energy_total"].share == Fraction(1)
    bad = new.text.replace('\nfull_if = "total_exempt"\n', "\nfull_if = 3\n", 1)
    with pytest.raises(InputError) as e:
        sc.parse_scorecard(bad)
    assert e.value.field.endswith(".full_if")
