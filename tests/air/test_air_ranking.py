"""Composite index and ranking (城市环境空气质量排名技术规定; notes air.md §5, §7.6)."""

from fractions import Fraction as F

import numpy as np
import pytest

from bishui.air import change_rate, composite_index, rank
from bishui.air.ranking import (
    LIMITS_2026_FINAL,
    LIMITS_2026_TRANSITION,
    WEIGHTS_UNVERIFIED_2026,
)
from bishui.errors import InputError


def c(so2: float, no2: float, pm10: float, pm25: float, co: float, o3: float) -> dict:
    return {"SO2": so2, "NO2": no2, "PM10": pm10, "PM2.5": pm25, "CO": co, "O3": o3}


# notes §7.6: (inputs, 2012 limits, 2026 transition, 2026 final)
VECTORS = [
    (c(9, 15, 39, 21, 0.7, 192), 3.06, 3.25, 3.94),  # published 3.06 (022net)
    (c(9, 14, 77, 23, 1.1, 96), 3.13, 3.42, 4.25),  # published 3.14 from unrounded data
    (c(3, 13, 16, 13, 0.9, 87), 1.74, 1.84, 2.19),  # published 1.73 from unrounded data
]


@pytest.mark.parametrize(("conc", "i2012", "i2026t", "i2026f"), VECTORS)
def test_notes_7_6(conc: dict, i2012: float, i2026t: float, i2026f: float) -> None:
    assert composite_index(conc).rounded == i2012
    assert composite_index(conc, limits=LIMITS_2026_TRANSITION).rounded == i2026t
    assert composite_index(conc, limits=LIMITS_2026_FINAL).rounded == i2026f


def test_exact_half_rounds_to_even() -> None:
    # 9/60 + 14/40 + 77/60 + 23/30 + 1.1/4 + 96/160 = 3.425 exactly → 3.42 (float sum: 3.4250…03)
    r = composite_index(VECTORS[1][0], limits=LIMITS_2026_TRANSITION)
    assert r.total == 3.425 and r.rounded == 3.42


def test_parts_weights_and_vectorised() -> None:
    r = composite_index(VECTORS[0][0])
    assert r.single["O3"] == 1.2 and r.single["PM2.5"] == 0.6 and r.max_pollutant == "O3"
    w = composite_index(VECTORS[0][0], weights=WEIGHTS_UNVERIFIED_2026)
    exact = F(3 * 6, 10) + 2 * F(375, 1000) + 2 * F(12, 10) + F(15, 100) + F(39, 70) + F(175, 1000)
    assert w.total == float(exact)  # the float nearest the exact sum
    many = composite_index({k: np.array([v, v * 2]) for k, v in VECTORS[2][0].items()})
    assert many.total.tolist() == [1.74375, 3.4875]


def test_rank_ties_and_direction() -> None:
    assert rank([3.06, 3.14, 3.061, 1.73, np.nan]).tolist() == [2, 4, 2, 1, 0]
    assert rank([3.06, 3.14, 3.061], digits=None).tolist() == [1, 3, 2]
    assert rank([94.5, 80.0, 94.5], ascending=False, digits=1).tolist() == [1, 3, 1]


def test_change_rate_and_errors() -> None:
    assert change_rate(3.3, 3.0) == 10.0
    assert change_rate([2.7], [3.0]).tolist() == [-10.0]
    with pytest.raises(InputError, match="six pollutants"):
        composite_index({"SO2": 1})
    with pytest.raises(InputError, match="≥ 0"):
        composite_index(c(-1, 1, 1, 1, 1, 1))
