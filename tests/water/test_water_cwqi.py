"""CWQI (环办监测〔2017〕51号, notes A3) and the worked example 4 (Σ = 6.5142)."""

import numpy as np
import pytest

from bishui.water.cwqi import cwqi, cwqi_city, cwqi_groups, cwqi_items, delta_cwqi, rank

EXAMPLE1 = {
    "w01001": 7.8, "w01009": 6.5, "w01019": 4.2, "w01018": 16, "w01017": 2.8,
    "w21003": 0.45, "w21011": 0.12, "w20122": 0.005, "w20123": 0.02, "w21017": 0.35,
    "w20128": 0.0004, "w20141": 0.002, "w20111": 0.00004, "w20115": 0.0005, "w20117": 0.004,
    "w20120": 0.002, "w21016": 0.004, "w23002": 0.0015, "w22001": 0.02, "w19002": 0.05,
    "w21019": 0.01,
}  # fmt: skip
# Per-item indices of worked example 4.
EXPECTED = {
    "w01001": 0.4, "w01009": 0.7692, "w01019": 0.7, "w01018": 0.8, "w01017": 0.7,
    "w21003": 0.45, "w21011": 0.6, "w20122": 0.005, "w20123": 0.02, "w21017": 0.35,
    "w20128": 0.04, "w20141": 0.04, "w20111": 0.4, "w20115": 0.1, "w20117": 0.08,
    "w20120": 0.04, "w21016": 0.02, "w23002": 0.3, "w22001": 0.4, "w19002": 0.25,
    "w21019": 0.05,
}  # fmt: skip
CODES = list(EXAMPLE1)


def test_worked_example_4_per_item_indices():
    idx = cwqi_items([list(EXAMPLE1.values())], CODES, "river")[0]
    for j, c in enumerate(CODES):
        assert idx[j] == pytest.approx(EXPECTED[c], abs=5e-5), c


def test_worked_example_4_sum():
    assert cwqi([list(EXAMPLE1.values())], CODES)[0] == pytest.approx(6.5142, abs=5e-5)


def test_ph_and_do_formulas_and_lake_tp():
    idx = cwqi_items([[6.5, 10.0, 0.05], [9.0, 2.5, 0.05]], ["w01001", "w01009", "w21011"], "lake")
    assert idx.tolist() == [[0.5, 0.5, 1.0], [1.0, 2.0, 1.0]]
    river = cwqi_items([[0.05]], ["w21011"], "river")
    assert river[0, 0] == 0.25


def test_non_items_are_ignored_and_missing_rows_are_nan():
    out = cwqi([[1.5, 100000.0], [np.nan, 1.0]], ["w21003", "w02003"])
    assert out[0] == 1.5
    assert np.isnan(out[1])


def test_river_cwqi_orders():
    codes = ["w21003", "w01009"]
    x = np.array([[0.5, 4.0], [1.5, 8.0]])
    conc, n = cwqi_groups(x, codes, [0, 0])
    # Concentration first: NH3-N 1.0 → 1.0; DO 6 → 5/6.
    assert conc[0] == pytest.approx(1.0 + 5 / 6)
    idx, _ = cwqi_groups(x, codes, [0, 0], order="index")
    # Index first: mean(0.5 + 1.25, 1.5 + 0.625) = 1.9375; NH3-N is linear, DO is not.
    assert idx[0] == 1.9375
    assert n.tolist() == [2]


def test_city_cwqi_weighted_by_sections_and_delta():
    assert cwqi_city([4.0], [3], [6.0], [1]).tolist() == [4.5]
    assert cwqi_city([4.0], [3]).tolist() == [4.0]
    assert cwqi_city([np.nan], [0], [6.0], [2]).tolist() == [6.0]
    assert delta_cwqi([4.5], [5.0]).tolist() == [-10.0]  # exact


def test_rank_ascending_with_ties():
    assert rank([5.1, 4.2, 5.1, 3.0, np.nan]).tolist() == [3, 2, 3, 1, 5]
    assert rank([4.20001, 4.2], decimals=4).tolist() == [1, 1]


def test_change_ranking_leaves_out_class_ii_cities_that_pass():
    from bishui.water.cwqi import change_ranking_excluded, rank_change

    ex = change_ranking_excluded([2, 2, 3, 1], [1, 3, 2, 2], [True, True, True, False])
    assert ex.tolist() == [True, False, False, False]
    assert rank_change([-5.0, 3.0, -8.0, 1.0], ex).tolist() == [0, 3, 1, 2]
