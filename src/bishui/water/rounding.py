"""Rounding and averaging applied to surface-water data before it is classified.

Source: 《地表水环境质量监测数据统计技术规定（试行）》环办监测函〔2020〕82号, with
总站水字〔2020〕90号 and 《国家地表水环境质量监测数据修约处理规则（试行）》总站水字〔2018〕87号,
as coded in a public implementation (notes A1.3, [V], single source):

* assessment values are rounded half to even (四舍六入五成双, GB/T 8170) to a fixed number of
  decimals per item (``data/statistics-2020_decimals.csv``); a value that would round to 0 keeps one
  significant digit;
* the mean of pH is the negative log of the mean hydrogen-ion concentration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bishui.water.tables import DECIMALS_2020

#: Decimals pH is rounded to before classification, by default. The 2020 rule as coded by the
#: only source found (notes A1.3, a single secondary source) rounds pH to 0 decimals, so pH 9.4
#: would become 9 and class Ⅰ; the primary text (环办监测函〔2020〕82号) was not found
#: (docs/water.md). The default must not hide an out-of-range pH: pH is classified as measured
#: (None). Pass ``decimals={"w01001": 0}`` to follow that source.
PH_DECIMALS: int | None = None

#: Relative tolerance within which a scaled value counts as an exact half. Measurements arrive as
#: binary floats, so 2.675 is stored as 2.67499999…; the standard means the decimal number that was
#: written down, and an exact half is recognised within this tolerance.
HALF_TOLERANCE = 1e-9


def round_half_even(values: ArrayLike, decimals: ArrayLike) -> NDArray[np.float64]:
    """Round half to even (四舍六入五成双) to ``decimals`` places, keeping one significant digit.

    Parameters
    ----------
    values : array_like
        Values to round [any unit]; NaN stays NaN.
    decimals : array_like of int
        Decimal places, broadcast against ``values`` (e.g. one per column) [-].

    Returns
    -------
    numpy.ndarray
        Rounded values [same unit]. A non-zero value that would round to 0 is instead rounded to
        its first significant digit (总站水字〔2018〕87号), e.g. Hg 0.000003 with 5 places stays
        0.000003.

    Notes
    -----
    Values are treated as the decimal numbers they print as: a scaled value within
    :data:`HALF_TOLERANCE` (relative) of ``n + 0.5`` is an exact half, so 2.675 → 2.68 and
    1.005 → 1.00 (float ``round`` would give 2.67).
    """
    x = np.asarray(values, dtype=float)
    d = np.asarray(decimals, dtype=int)  # broadcast, not expanded: one power of ten per column
    if x.ndim == 0:
        return np.asarray(round_half_even(x.reshape(1), d.reshape(-1)[:1])[0])
    out = _round(x, d)
    zero = (out == 0) & (x != 0) & np.isfinite(x)
    if zero.any():
        xs = x[zero]
        first = -np.floor(np.log10(np.abs(xs))).astype(int)
        # Sub-1e-300 values (denormals) cannot be scaled; they are left as they are.
        fine = first <= 300
        xs[fine] = _round(xs[fine], first[fine])
        out[zero] = xs
    return out


def _round(x: NDArray[np.float64], d: NDArray[np.int_]) -> NDArray[np.float64]:
    scale = np.power(10.0, d)
    with np.errstate(invalid="ignore"):
        y = x * scale
        r = np.rint(y)  # ties to even already, but only for halves exact in binary
        # Decimal halves stored a hair off .5 (2.675 → 267.49999…): round them to even here.
        half = np.abs(np.abs(y - r) - 0.5) <= HALF_TOLERANCE * (1.0 + np.abs(y))
        if half.any():
            f = np.floor(y[half])
            r[half] = f + (np.fmod(f, 2.0) != 0)
    return np.asarray(r / scale, dtype=float)


def decimals_for(
    codes: Sequence[str], decimals: Mapping[str, int] | None = None
) -> NDArray[np.int_]:
    """Decimal places per code (环办监测函〔2020〕82号); −1 where the table has none.

    ``decimals`` overrides or extends the published table. pH follows :data:`PH_DECIMALS`
    (not rounded by default) unless *decimals* names ``w01001``.
    """
    table = dict(DECIMALS_2020)
    if PH_DECIMALS is None:
        table.pop("w01001", None)
    else:
        table["w01001"] = PH_DECIMALS
    if decimals:
        table.update(decimals)
    return np.array([table.get(c, -1) for c in codes], dtype=int)


def round_assessment(
    values: ArrayLike, codes: Sequence[str], decimals: Mapping[str, int] | None = None
) -> NDArray[np.float64]:
    """Round a (samples, items) array column by column to the assessment decimals.

    Parameters
    ----------
    values : array_like, shape (n, k) or (k,)
        Concentrations [unit of each item].
    codes : sequence of str, length k
        HJ 212 code of each column; columns without a decimals entry are left as they are.
    decimals : mapping, optional
        Code → decimals overriding ``data/statistics-2020_decimals.csv``.

    Returns
    -------
    numpy.ndarray
        The rounded values [same units].
    """
    x = np.array(values, dtype=float)  # a copy: the caller's array is not modified
    d = decimals_for(codes, decimals)
    cols = d >= 0
    if cols.any():
        x[..., cols] = round_half_even(x[..., cols], d[cols])
    return x


def ph_mean(ph: ArrayLike, axis: int | None = None) -> NDArray[np.float64] | float:
    """Mean pH as the negative log of the mean hydrogen-ion concentration.

    Parameters
    ----------
    ph : array_like
        pH values [-]; NaN values are ignored.
    axis : int, optional
        Axis to average along (default: all values).

    Returns
    -------
    float or numpy.ndarray
        ``−log10(mean(10**−pH))`` [-], NaN where there is no value. Not rounded.

    Notes
    -----
    环办监测函〔2020〕82号 (notes A1.3): "pH的均值等于全部pH值对应氢离子浓度算术平均值的负对数".
    Example: pH 6 and 8 average to 6.30, not 7.
    """
    h = np.power(10.0, -np.asarray(ph, dtype=float))
    finite = np.isfinite(h)
    n = finite.sum(axis=axis)
    s = np.where(finite, h, 0.0).sum(axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.log10(s / n)
    if np.ndim(out) == 0:
        return float(out)
    return np.asarray(out, dtype=float)
