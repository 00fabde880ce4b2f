"""Classification by GB 3838-2002 表1 and the 2011 method (notes A1.1, A2.3, A2.6, examples)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui.errors import InputError
from bishui.water import classify, classify_batch
from bishui.water import tables as t
from bishui.water.classes import item_class
from bishui.water.rounding import DECIMALS_2020

# Worked example 1 (notes, "Worked examples" 1): a river sample of Class Ⅲ.
EXAMPLE1 = {
    "w01001": 7.8, "w01009": 6.5, "w01019": 4.2, "w01018": 16, "w01017": 2.8,
    "w21003": 0.45, "w21011": 0.12, "w20122": 0.005, "w20123": 0.02, "w21017": 0.35,
    "w20128": 0.0004, "w20141": 0.002, "w20111": 0.00004, "w20115": 0.0005, "w20117": 0.004,
    "w20120": 0.002, "w21016": 0.004, "w23002": 0.0015, "w22001": 0.02, "w19002": 0.05,
    "w21019": 0.01,
}  # fmt: skip


def _oracle(limits, value, ge=False):
    """The best class whose limit the value meets, else 劣Ⅴ — written the way the rule reads."""
    for k, lim in enumerate(limits, start=1):
        if (value >= lim) if ge else (value <= lim):
            return k
    return 6


def _boundary_cases():
    for body, table in (("river", t.TABLE1_RIVER), ("lake", t.TABLE1_LAKE)):
        for code, item in table.items():
            if item.direction == "range":
                continue
            step = 10.0 ** -DECIMALS_2020.get(code, 0)
            for k, lim in enumerate(item.limits, start=1):
                yield pytest.param(body, code, k, lim, step, id=f"{body}-{item.key}-{k}")


@pytest.mark.parametrize(("body", "code", "k", "limit", "step"), list(_boundary_cases()))
def test_every_table1_limit_at_just_above_and_just_below(body, code, k, limit, step):
    """Every 表1 limit, rivers and lakes: on, one rounding unit above and one below the limit."""
    item = t.table1(body)[code]
    ge = item.direction == "ge"
    r = classify({code: limit}, body)
    on = r.item_classes.get(code, r.reference_classes.get(code))
    # On the limit: the best class sharing it (boundary takes the better class, A1.1 rules 1–2).
    assert on == item.limits.index(limit) + 1
    assert on <= k
    for value in (limit + step, limit - step):
        value = round(value, 6)
        if value < 0:
            continue
        got = item_class([value], code, body)[0]
        assert got == _oracle(item.limits, value, ge), (code, value)
        r = classify({code: value}, body)
        cls = r.item_classes.get(code, r.reference_classes.get(code))
        assert cls == _oracle(item.limits, value, ge)
    # Worse side is strictly worse than the limit's class, better side never worse.
    worse = limit - step if ge else limit + step
    better = limit + step if ge else limit - step
    assert item_class([worse], code, body)[0] > on
    if better > 0:
        assert item_class([better], code, body)[0] <= on


def test_worked_example_1_class_iii_no_main_pollutants():
    r = classify(EXAMPLE1, "river")
    assert (r.sample_class, r.label, r.status) == (3, "Ⅲ类", "良好")
    expected = {"w01009": 2, "w01019": 3, "w01018": 3, "w01017": 1, "w21003": 2, "w21011": 3}
    assert {c: r.item_classes[c] for c in expected} == expected
    assert set(r.deciding) == {"w01019", "w01018", "w21011"}
    assert r.main_pollutants == () and r.exceedance == {}
    assert r.missing == () and r.unknown == ()
    assert len(r.item_classes) == 21
    assert r.edition == "GB 3838-2002"


@pytest.mark.parametrize(
    ("code", "value", "body", "expected"),
    [
        # Worked example 2 and A1.1 rule 2 (equal limits go to the better class).
        ("w01018", 15, "river", 1),
        ("w01018", 15.1, "river", 3),
        ("w21003", 2.0, "river", 5),
        ("w21003", 2.01, "river", 6),
        ("w01009", 7.5, "river", 1),
        ("w21011", 0.05, "lake", 3),
        ("w21011", 0.05, "river", 2),
        ("w21003", 1.0, "river", 3),
        ("w20122", 0.5, "river", 2),
        ("w20123", 1.5, "river", 4),
        ("w21017", 1.2, "river", 4),
        ("w20111", 0.00008, "river", 3),
        ("w20115", 0.003, "river", 2),
        ("w20120", 0.03, "river", 3),
        ("w21016", 0.1, "river", 3),
        ("w22001", 0.3, "river", 4),
        ("w19002", 0.25, "river", 4),
    ],
)
def test_worked_example_2_edge_cases(code, value, body, expected):
    assert classify({code: value}, body).item_classes[code] == expected


def test_do_1_99_depends_on_rounding():
    # Worked example 2 says DO 1.99 → 劣Ⅴ. That holds for the value as given; the assessment
    # rounding (DO to 1 decimal, A1.3) makes it 2.0 → Ⅴ. Both are pinned (docs/water.md).
    assert classify({"w01009": 1.99}, rounding=False).sample_class == 6
    assert classify({"w01009": 1.99}).sample_class == 5
    assert classify({"w01009": 1.94}).sample_class == 6


def test_ph_inside_range_is_class_i_outside_is_worse_than_v():
    assert classify({"w01001": 6}).sample_class == 1
    assert classify({"w01001": 9}).sample_class == 1
    assert classify({"w01001": 5.9}, rounding=False).sample_class == 6
    assert classify({"w01001": 9.1}, rounding=False).sample_class == 6
    # By default pH is classified as measured (rounding.PH_DECIMALS = None): the 0-decimal
    # rounding of the one secondary source (A1.3 as coded) would hide pH 9.4 and 5.9.
    assert classify({"w01001": 5.9}).sample_class == 6
    assert classify({"w01001": 9.4}).sample_class == 6
    assert classify({"w01001": 9.0}).sample_class == 1
    # That source's rounding stays available as a parameter: 5.9 → 6, 9.5 → 10 (half to even).
    zero = {"w01001": 0}
    assert classify({"w01001": 5.9}, decimals=zero).sample_class == 1
    assert classify({"w01001": 9.5}, decimals=zero).sample_class == 6
    assert classify({"w01001": 9.4}, decimals=zero).sample_class == 1


def test_worked_example_3_exceedance_multiples():
    r = classify({"w21003": 2.87, "w01018": 30, "w01009": 1.5, "w01001": 10})
    assert r.exceedance["w21003"] == 1.87
    assert r.exceedance["w01018"] == 0.5
    assert "w01009" not in r.exceedance and "w01001" not in r.exceedance
    assert r.sample_class == 6


def test_main_pollutants_by_class_then_multiple():
    # Worse than Ⅲ: the three items with the worst class; on equal class the larger multiple.
    sample = {"w21003": 1.8, "w21011": 0.35, "w01019": 12, "w01018": 38, "w01017": 5}
    r = classify(sample)
    assert r.sample_class == 5
    # Ⅴ: NH3-N (0.8), COD (0.9), CODMn (1.0); TP is Ⅳ (0.75), BOD5 Ⅳ.
    assert r.main_pollutants == ("w01019", "w01018", "w21003")
    assert r.main_pollutant_text() == "高锰酸盐指数(1)、化学需氧量(0.9)、氨氮(0.8)"


def test_heavy_metals_and_cyanide_take_priority():
    sample = {"w21003": 3.0, "w01018": 50, "w01019": 20, "w20120": 0.06, "w21016": 0.21}
    r = classify(sample)
    # CN 0.21 is 劣Ⅴ, Pb 0.06 is Ⅴ: both go first (worst class first between them); then the
    # 劣Ⅴ item with the largest multiple: CODMn 2.33 > NH3-N 2.0 > COD 1.5.
    assert r.main_pollutants == ("w21016", "w20120", "w01019")


def test_no_main_pollutants_at_class_iii_or_better():
    assert classify({"w21003": 1.0, "w01018": 20}).main_pollutants == ()


def test_reference_items_never_set_the_class():
    r = classify({"w21003": 0.1, "w21001": 5.0, "w02003": 100000, "w01010": 20.5}, "lake")
    assert r.sample_class == 1
    assert r.reference_classes == {"w21001": 6, "w02003": 6}
    # River TN is not assessed at all.
    assert "w21001" not in classify({"w21001": 5.0}, "river").reference_classes


def test_unknown_parameters_are_reported_not_dropped():
    r = classify({"w21003": 0.4, "w99999": 3, "a34004": 35})
    assert r.unknown == ("w99999", "a34004")
    assert r.sample_class == 2
    with pytest.raises(InputError, match="w99999"):
        classify({"w99999": 1}, strict=True)


def test_aliases_map_other_codes():
    r = classify({"w20138": 0.5}, aliases={"w20138": "w20122"})
    assert r.item_classes == {"w20122": 2}


@pytest.mark.parametrize(
    ("sample", "field", "value"),
    [
        ({"w21003": -0.1}, "w21003", -0.1),
        ({"w01001": 14.5}, "w01001", 14.5),
        ({"w01001": -1}, "w01001", -1.0),
        ({"w01018": float("inf")}, "w01018", math.inf),
        ({"w01018": "abc"}, "w01018", "abc"),
        ({"w01018": True}, "w01018", True),
    ],
)
def test_impossible_values_are_refused_naming_field_and_value(sample, field, value):
    with pytest.raises(InputError) as info:
        classify(sample)
    assert info.value.field == field
    assert info.value.value == value


def test_numeric_strings_none_and_blank():
    r = classify({"w21003": "0.45", "w01018": None, "w01019": ""})
    assert r.item_classes == {"w21003": 2}
    assert "w01018" in r.missing


def test_empty_sample_has_no_class():
    r = classify({})
    assert (r.sample_class, r.label) == (0, "")
    assert len(r.missing) == 21


def test_batch_rows_and_bodies():
    codes = ["w21011", "w21003"]
    x = np.array([[0.05, 0.1], [0.05, 0.1], [np.nan, np.nan]])
    b = classify_batch(x, codes, ["river", "lake", "river"])
    assert b.sample_class.tolist() == [2, 3, 0]
    assert b.labels.tolist() == ["Ⅱ类", "Ⅲ类", ""]
    assert b.status.tolist() == ["优", "良好", ""]
    assert b.row(1).body == "lake"
    with pytest.raises(InputError, match="body"):
        classify_batch(x, codes, ["river", "sea", "lake"])
    with pytest.raises(InputError, match="shape"):
        classify_batch(np.zeros((2, 3)), codes)
    with pytest.raises(InputError) as info:
        classify_batch([[0.1, -1.0]], codes)
    assert (info.value.field, info.value.row) == ("w21003", 0)


_items = st.sampled_from(t.ASSESSMENT_CODES)


def _value(code):
    if code == "w01001":
        return st.floats(0, 14)
    top = {"w01009": 15.0}.get(code, 3 * t.TABLE1_RIVER[code].limits[4])
    return st.floats(0, top) | st.sampled_from(t.TABLE1_RIVER[code].limits)


@st.composite
def samples(draw):
    codes = draw(st.lists(_items, min_size=1, max_size=21, unique=True))
    return {c: draw(_value(c)) for c in codes}


@settings(max_examples=200, deadline=None)
@given(samples(), st.sampled_from(["river", "lake"]), st.booleans())
def test_property_sample_class_is_the_worst_item_class(sample, body, rounding):
    r = classify(sample, body, rounding=rounding)
    assert r.sample_class == max(r.item_classes.values())
    assert all(r.item_classes[c] == r.sample_class for c in r.deciding)
    assert 1 <= r.sample_class <= 6
    # Main pollutants exist exactly when the class is worse than Ⅲ.
    assert bool(r.main_pollutants) == (r.sample_class > 3)


@settings(max_examples=50, deadline=None)
@given(st.lists(samples(), min_size=1, max_size=8), st.sampled_from(["river", "lake"]))
def test_property_batch_equals_single(rows, body):
    codes = list(t.ASSESSMENT_CODES)
    x = np.array([[s.get(c, np.nan) for c in codes] for s in rows])
    b = classify_batch(x, codes, body)
    for i, s in enumerate(rows):
        r = classify(s, body)
        assert b.sample_class[i] == r.sample_class
        assert tuple(b.codes[j] for j in b.main[i] if j >= 0) == r.main_pollutants


def test_non_numeric_arrays_are_refused_with_input_error():
    with pytest.raises(InputError, match="values"):
        classify_batch([["0.4", "abc"]], ["w21003", "w21011"])
