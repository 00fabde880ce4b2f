"""TLI(Σ) (《湖泊(水库)富营养化评价方法及分级技术规定》, notes A2.5) and worked example 5."""

import numpy as np
import pytest

from bishui.errors import InputError
from bishui.water.trophic import R2, TrophicScale, is_eutrophic, tli, tli_components, trophic_state


def test_weights_recomputed_from_r2():
    total = sum(R2.values())
    assert total == pytest.approx(3.7558)
    w = {k: round(v / total, 4) for k, v in R2.items()}
    assert w == {"chla": 0.2663, "tp": 0.1879, "tn": 0.1790, "sd": 0.1834, "codmn": 0.1834}


def test_worked_example_5_components():
    c = tli_components(chla=10, tp=0.05, tn=1.0, sd=1.0, codmn=4.0)
    expected = {"chla": 50.006, "tp": 45.709, "tn": 54.530, "sd": 51.180, "codmn": 37.979}
    for k, v in expected.items():
        assert float(c[k]) == pytest.approx(v, abs=5e-4), k


def test_worked_example_5_mesotrophic():
    v = tli(chla=10, tp=0.05, tn=1.0, sd=1.0, codmn=4.0)
    assert round(float(v), 2) == 48.02
    assert trophic_state(v).tolist() == "中营养"


def test_worked_example_5_oligotrophic():
    v = tli(chla=1, tp=0.01, tn=0.2, sd=3, codmn=2)
    assert round(float(v), 2) == 24.28
    assert trophic_state(v).tolist() == "贫营养"


def test_vectorised_and_missing_parameter_renormalises():
    v = tli(chla=[10, 1], tp=[0.05, 0.01], tn=[1.0, 0.2], sd=[1.0, 3], codmn=[4.0, 2])
    assert np.round(v, 2).tolist() == [48.02, 24.28]
    only = tli(chla=[10.0, np.nan], tp=[0.05, 0.05])
    w = R2["chla"] + R2["tp"]
    assert only[0] == pytest.approx((50.006 * 1 + 45.709 * 0.7056) / w, abs=1e-3)
    assert only[1] == pytest.approx(45.709, abs=1e-3)


@pytest.mark.parametrize(
    ("value", "state"),
    [
        (29.99, "贫营养"),
        (30.0, "中营养"),
        (50.0, "中营养"),
        (50.01, "轻度富营养"),
        (60.0, "轻度富营养"),
        (60.01, "中度富营养"),
        (70.0, "中度富营养"),
        (70.01, "重度富营养"),
    ],
)
def test_trophic_classes_at_boundaries(value, state):
    assert trophic_state(value).tolist() == state


def test_scale_is_a_parameter_and_eutrophic_flag():
    other = TrophicScale(bound_in_lower=(True, True, True, True))
    assert trophic_state(30.0, other).tolist() == "贫营养"
    assert is_eutrophic([49.0, 55.0]).tolist() == [False, True]
    assert trophic_state(np.nan).tolist() == ""


def test_bad_input():
    with pytest.raises(InputError, match="tp"):
        tli(tp=0.0)
    with pytest.raises(InputError):
        tli(cod=3.0)
    with pytest.raises(InputError):
        tli()


def test_tli_from_codes_array():
    from bishui.water.trophic import tli_from_codes

    codes = ["w01016", "w21011", "w21001", "w01004", "w01019", "w01001"]
    x = [[10, 0.05, 1.0, 1.0, 4.0, 7.5], [1, 0.01, 0.2, 3, 2, 7.0]]
    assert np.round(tli_from_codes(x, codes), 2).tolist() == [48.02, 24.28]
