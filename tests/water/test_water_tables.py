"""GB 3838-2002 表1 and 表2 as shipped in data files, checked against the notes' copy (A1, [V2])."""

import pytest

from bishui.water import tables as t

# Notes A1 table (GB 3838-2002 表1), [V2]: code → (Ⅰ, Ⅱ, Ⅲ, Ⅳ, Ⅴ).
TABLE1 = {
    "w01009": (7.5, 6, 5, 3, 2),
    "w01019": (2, 4, 6, 10, 15),
    "w01018": (15, 15, 20, 30, 40),
    "w01017": (3, 3, 4, 6, 10),
    "w21003": (0.15, 0.5, 1.0, 1.5, 2.0),
    "w20122": (0.01, 1.0, 1.0, 1.0, 1.0),
    "w20123": (0.05, 1.0, 1.0, 2.0, 2.0),
    "w21017": (1.0, 1.0, 1.0, 1.5, 1.5),
    "w20128": (0.01, 0.01, 0.01, 0.02, 0.02),
    "w20141": (0.05, 0.05, 0.05, 0.1, 0.1),
    "w20111": (0.00005, 0.00005, 0.0001, 0.001, 0.001),
    "w20115": (0.001, 0.005, 0.005, 0.005, 0.01),
    "w20117": (0.01, 0.05, 0.05, 0.05, 0.1),
    "w20120": (0.01, 0.01, 0.05, 0.05, 0.1),
    "w21016": (0.005, 0.05, 0.2, 0.2, 0.2),
    "w23002": (0.002, 0.002, 0.005, 0.01, 0.1),
    "w22001": (0.05, 0.05, 0.05, 0.5, 1.0),
    "w19002": (0.2, 0.2, 0.2, 0.3, 0.3),
    "w21019": (0.05, 0.1, 0.2, 0.5, 1.0),
    "w02003": (200, 2000, 10000, 20000, 40000),
}
TP_RIVER = (0.02, 0.1, 0.2, 0.3, 0.4)
TP_LAKE = (0.01, 0.025, 0.05, 0.1, 0.2)
TN_LAKE = (0.2, 0.5, 1.0, 1.5, 2.0)


@pytest.mark.parametrize("code", sorted(TABLE1))
def test_table1_limits_match_the_notes(code):
    assert t.TABLE1_RIVER[code].limits == TABLE1[code]
    assert t.TABLE1_LAKE[code].limits == TABLE1[code]


def test_tp_river_and_lake_columns():
    assert t.TABLE1_RIVER["w21011"].limits == TP_RIVER
    assert t.TABLE1_LAKE["w21011"].limits == TP_LAKE


def test_tn_only_for_lakes():
    assert t.TABLE1_LAKE["w21001"].limits == TN_LAKE
    assert "w21001" not in t.TABLE1_RIVER


def test_ph_range_and_do_direction():
    ph = t.TABLE1_RIVER["w01001"]
    assert (ph.direction, ph.lo, ph.hi) == ("range", 6.0, 9.0)
    assert t.TABLE1_RIVER["w01009"].direction == "ge"


def test_table2_supplementary_items():
    # GB 3838-2002 表2 (notes A1, [V]).
    assert {c: i.limit for c, i in t.TABLE2.items()} == {
        "w21038": 250, "w21022": 250, "w21007": 10, "w20125": 0.3, "w20124": 0.1,
    }  # fmt: skip


def test_assessment_items_are_table1_without_wt_tn_fc():
    # 环办〔2011〕22号: the 21 items of 表1 other than 水温, 总氮 and 粪大肠菌群 (notes A2.1, [V2]).
    assert len(t.ASSESSMENT_CODES) == 21
    assert set(t.ASSESSMENT_CODES) == set(t.TABLE1_RIVER) - {"w21001", "w02003"}


def test_class_limit_and_bad_input():
    assert t.class_limit("w21011", 3, "lake") == 0.05
    with pytest.raises(t.InputError):
        t.class_limit("w01001", 3)
    with pytest.raises(t.InputError):
        t.class_limit("w21003", 6)
    with pytest.raises(t.InputError, match="body"):
        t.check_body("sea")
