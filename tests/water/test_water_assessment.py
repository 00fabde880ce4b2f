"""Period means, section assessment, river grades, city statistics (环办〔2011〕22号, A2)."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui.errors import InputError
from bishui.water.assessment import (
    MIN_SAMPLES,
    RiverGradeRules,
    assess_sections,
    class_statistics,
    exceedance_rates,
    grade_by_shares,
    grade_rivers,
    period_means,
    river_main_pollutants,
)

CODES = ["w01001", "w21003", "w21011"]


def test_period_means_per_section_with_ph_by_hydrogen_ion():
    x = np.array(
        [
            [6.0, 0.4, 0.1],
            [8.0, 0.6, np.nan],
            [7.0, 2.5, 0.3],
        ]
    )
    pm = period_means(x, CODES, [0, 0, 1], n_groups=3)
    assert pm.means[0, 0] == pytest.approx(6.29671, abs=1e-5)  # not 7
    assert pm.means[0, 1] == pytest.approx(0.5)
    assert pm.means[0, 2] == pytest.approx(0.1)
    assert pm.counts[0].tolist() == [2, 2, 1]
    assert pm.samples.tolist() == [2, 1, 0]
    assert pm.sufficient.tolist() == [True, True, False]
    assert np.isnan(pm.means[2]).all()


def test_min_samples_make_insufficient_data_not_a_class():
    x = np.array([[7.0, 0.4, 0.1]] * 7 + [[7.0, 0.4, 0.1]] * 8)
    groups = [0] * 7 + [1] * 8
    pm = period_means(x, CODES, groups, min_samples=MIN_SAMPLES["year"])
    assert pm.sufficient.tolist() == [False, True]
    sa = assess_sections(pm.means, CODES, "river", target_class=[3, 3], sufficient=pm.sufficient)
    assert sa.section_class.tolist() == [0, 2]
    assert sa.labels.tolist() == ["insufficient data", "Ⅱ类"]
    assert sa.status.tolist() == ["insufficient data", "优"]
    assert sa.attainment.tolist() == ["数据不足", "达标"]


def test_target_attainment():
    means = np.array([[7.0, 0.9, 0.1], [7.0, 1.2, 0.1], [7.0, 1.2, 0.1], [7.0, 0.1, 0.01]])
    sa = assess_sections(means, CODES, "river", target_class=[3, 3, 4, 0])
    assert sa.section_class.tolist() == [3, 4, 4, 1]
    assert sa.attained.tolist() == [True, False, True, False]
    assert sa.attainment.tolist() == ["达标", "不达标", "达标", ""]
    with pytest.raises(InputError, match="target_class"):
        assess_sections(means, CODES, target_class=[3, 3, 7, 0])


def test_period_means_bad_input():
    with pytest.raises(InputError, match="groups"):
        period_means(np.zeros((2, 3)), CODES, [0, -1])
    with pytest.raises(InputError) as info:
        period_means(np.array([[7.0, -0.2, 0.1]]), CODES, [0])
    assert info.value.field == "w21003"


def _counts(good, iv, v, bad):
    """Counts by class for one river: `good` Ⅰ–Ⅲ (all Ⅱ), Ⅳ, Ⅴ and 劣Ⅴ sections."""
    return [[0, 0, good, 0, iv, v, bad]]


@pytest.mark.parametrize(
    ("counts", "status"),
    [
        # 20 sections, shares in steps of 5 %; each threshold hit exactly and just missed.
        (_counts(18, 2, 0, 0), "优"),  # Ⅰ–Ⅲ 90 %
        (_counts(17, 3, 0, 0), "良好"),  # 85 %
        (_counts(15, 5, 0, 0), "良好"),  # 75 %
        (_counts(14, 6, 0, 0), "轻度污染"),  # 70 %, 劣Ⅴ 0
        (_counts(14, 3, 0, 3), "轻度污染"),  # 劣Ⅴ 15 %
        (_counts(14, 2, 0, 4), "中度污染"),  # 劣Ⅴ 20 %
        (_counts(10, 3, 0, 7), "中度污染"),  # 劣Ⅴ 35 %
        (_counts(11, 0, 1, 8), "重度污染"),  # 劣Ⅴ 40 %, Ⅰ–Ⅲ 55 % (not the disputed 60 %)
        (_counts(5, 5, 0, 10), "重度污染"),  # 劣Ⅴ 50 %
    ],
)
def test_river_grade_by_shares_at_each_threshold(counts, status):
    assert grade_by_shares(counts).tolist() == [status]
    # The two readings of the last row agree away from 60 % / 40 %.
    alt = RiverGradeRules(severe_max_good=Fraction(3, 5))
    assert grade_by_shares(counts, alt).tolist() == [status]


def test_five_sections_use_shares_four_use_the_mean():
    # Five sections: 4 × Ⅱ + 1 × 劣Ⅴ → Ⅰ–Ⅲ 80 % → 良好 (shares method).
    classes = [2, 2, 2, 2, 6]
    g = grade_rivers(classes, [0] * 5)
    assert (g.method.tolist(), g.status.tolist()) == (["shares"], ["良好"])
    assert g.share_good.tolist() == [0.8] and g.share_bad.tolist() == [0.2]
    # Four sections: mean concentrations over the sections, then the single-factor class.
    means = np.array([[7.0, 0.4, 0.1], [7.0, 0.4, 0.1], [7.0, 0.4, 0.1], [7.0, 3.2, 0.1]])
    g4 = grade_rivers([2, 2, 2, 6], [0] * 4, section_means=means, codes=CODES)
    # NH3-N mean (0.4·3 + 3.2)/4 = 1.1 → Ⅳ → 轻度污染.
    assert (g4.method.tolist(), g4.river_class.tolist(), g4.status.tolist()) == (
        ["mean"],
        [4],
        ["轻度污染"],
    )
    with pytest.raises(InputError, match="section_means"):
        grade_rivers([2, 2, 2, 6], [0] * 4)


def test_grade_rivers_vectorised_over_rivers_and_insufficient_sections_left_out():
    classes = [1, 2, 3, 3, 2, 0, 4, 4, 4, 4, 6]
    rivers = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    g = grade_rivers(classes, rivers, n_groups=3)
    # River 0: the insufficient section is left out, 5 of 5 Ⅰ–Ⅲ → 优.
    # River 1: Ⅰ–Ⅲ 0 %, 劣Ⅴ 1/5 = 20 % → 中度污染.
    assert g.status.tolist() == ["优", "中度污染", ""]
    assert g.n_sections.tolist() == [5, 5, 0]


def test_lake_with_several_points_uses_the_mean():
    means = np.array([[7.0, 0.1, 0.03], [7.0, 0.1, 0.05], [7.0, 0.1, 0.07]] * 2)
    g = grade_rivers(
        [3] * 6, [0] * 6, section_means=means, codes=CODES, body="lake", force_mean=True
    )
    assert (g.method[0], g.river_class[0]) == ("mean", 3)  # TP mean 0.05 → lake Ⅲ


def test_city_statistics():
    stats = class_statistics([1, 2, 3, 4, 6, 6, 0], [0, 0, 0, 0, 0, 1, 1], 2)
    assert stats.n_assessed.tolist() == [5, 1]
    assert stats.share_good.tolist() == [0.6, 0.0]
    assert stats.share_bad.tolist() == [0.2, 1.0]
    assert stats.exact(0) == (Fraction(3, 5), Fraction(1, 5))
    assert stats.counts[1, 0] == 1  # the insufficient section is counted apart


def test_river_main_pollutants_by_section_exceedance_rate():
    codes = ["w21003", "w21011", "w01018", "w01009"]
    ic = np.array([[4, 4, 3, 2], [5, 3, 4, 2], [4, 2, 2, 6], [2, 2, 2, 2], [3, 4, 2, 2]])
    rates = exceedance_rates(ic)[0]
    assert rates.tolist() == [0.6, 0.4, 0.2, 0.2]
    assert river_main_pollutants(ic, codes) == (("w21003", 0.6), ("w21011", 0.4), ("w01009", 0.2))


def test_section_records_for_tables():
    means = np.array([[7.0, 2.87, 0.1], [7.0, 0.4, 0.1]])
    sa = assess_sections(means, CODES, "river", target_class=[3, 3], sufficient=[True, False])
    recs = sa.records(["WS01", "WS02"])
    assert recs[0]["label"] == "劣Ⅴ类" and recs[0]["attainment"] == "不达标"
    assert recs[0]["main_pollutants"] == "氨氮(1.87)"
    assert recs[1]["label"] == "insufficient data" and recs[1]["class"] == 0
    assert recs[1]["attainment"] == "数据不足" and recs[1]["main_pollutants"] == ""


def test_rows_without_an_assessment_item_are_not_sampling_events():
    codes = ["w01010", "w21003"]
    x = np.array([[20.0, np.nan], [21.0, 0.4]])
    pm = period_means(x, codes, [0, 0], min_samples=2)
    assert pm.samples.tolist() == [1] and pm.sufficient.tolist() == [False]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=40))
def test_property_share_grades_follow_the_table(classes):
    """The integer-exact implementation agrees with the table read literally on fractions."""
    counts = np.bincount(classes, minlength=7).reshape(1, 7)
    n = int(counts[0, 1:].sum())
    got = grade_by_shares(counts)[0]
    if n == 0:
        assert got == ""
        return
    good = Fraction(int(counts[0, 1:4].sum()), n)
    bad = Fraction(int(counts[0, 6]), n)
    if good >= Fraction(9, 10):
        want = "优"
    elif good >= Fraction(3, 4):
        want = "良好"
    elif bad < Fraction(1, 5):
        want = "轻度污染"
    elif bad < Fraction(2, 5):
        want = "中度污染"
    else:
        want = "重度污染"
    assert got == want


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.floats(6.0, 9.0), st.floats(0.0, 3.0) | st.just(np.nan)),
        min_size=1,
        max_size=30,
    )
)
def test_property_period_means_equal_per_group_means(rows):
    g = np.array([r[0] for r in rows])
    x = np.array([[r[1], r[2]] for r in rows])
    pm = period_means(x, ["w01001", "w21003"], g, n_groups=5)
    for k in range(5):
        sel = x[g == k]
        if sel.size == 0:
            assert np.isnan(pm.means[k]).all()
            continue
        h = np.mean(10.0 ** -sel[:, 0])
        assert pm.means[k, 0] == pytest.approx(-np.log10(h))
        v = sel[:, 1][~np.isnan(sel[:, 1])]
        if v.size:
            assert pm.means[k, 1] == pytest.approx(v.mean())
        else:
            assert np.isnan(pm.means[k, 1])
