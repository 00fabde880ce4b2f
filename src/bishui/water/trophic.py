"""综合营养状态指数 TLI(Σ) of lakes and reservoirs.

Source: 《湖泊(水库)富营养化评价方法及分级技术规定》(中国环境监测总站), the method named by
环办〔2011〕22号 for lakes and reservoirs (notes A2.5, [V2]).

TLI(Σ) = Σ_j W_j · TLI(j), W_j = r_ij² / Σ_j r_ij², with chlorophyll a as the base parameter:

=========  ====  ======  ======  ======  ======
parameter  chla  TP      TN      SD      CODMn
r_ij       1     0.84    0.82    −0.83   0.83
r_ij²      1     0.7056  0.6724  0.6889  0.6889
=========  ====  ======  ======  ======  ======

TLI(chla) = 10(2.5 + 1.086 ln chla), TLI(TP) = 10(9.436 + 1.624 ln TP),
TLI(TN) = 10(5.453 + 1.694 ln TN), TLI(SD) = 10(5.118 − 1.94 ln SD),
TLI(CODMn) = 10(0.109 + 2.661 ln CODMn); chla in mg/m³, SD in m, the others in mg/L.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bishui.errors import InputError

#: r_ij² of each parameter with chla (技术规定, table of 中国湖泊(水库)部分参数与chla的相关关系).
R2: dict[str, float] = {"chla": 1.0, "tp": 0.7056, "tn": 0.6724, "sd": 0.6889, "codmn": 0.6889}

#: (a, b) of TLI(j) = 10 (a + b ln x) (技术规定, 营养状态指数计算公式).
COEFFICIENTS: dict[str, tuple[float, float]] = {
    "chla": (2.5, 1.086),
    "tp": (9.436, 1.624),
    "tn": (5.453, 1.694),
    "sd": (5.118, -1.94),
    "codmn": (0.109, 2.661),
}

#: HJ 212 codes of the five parameters.
CODES: dict[str, str] = {
    "chla": "w01016",
    "tp": "w21011",
    "tn": "w21001",
    "sd": "w01004",
    "codmn": "w01019",
}


@dataclass(frozen=True)
class TrophicScale:
    """Trophic classes by TLI(Σ) (技术规定 2, notes A2.5).

    ``bounds`` separate the classes in ``names``; ``bound_in_lower[i]`` says whether a value equal
    to ``bounds[i]`` belongs to the class below it. Default: < 30 贫营养, 30 ≤ TLI ≤ 50 中营养,
    50 < TLI ≤ 60 轻度富营养, 60 < TLI ≤ 70 中度富营养, > 70 重度富营养. The limits are [V]; on
    which side each boundary falls is garbled in the source consulted ([R]), hence a parameter.
    """

    bounds: tuple[float, ...] = (30.0, 50.0, 60.0, 70.0)
    bound_in_lower: tuple[bool, ...] = (False, True, True, True)
    names: tuple[str, ...] = ("贫营养", "中营养", "轻度富营养", "中度富营养", "重度富营养")

    def classify(self, tli: ArrayLike) -> NDArray[np.int8]:
        """Class index 0…len(names)−1 of each TLI(Σ), −1 where NaN."""
        v = np.asarray(tli, dtype=float)
        k = np.zeros(v.shape, dtype=np.int8)
        with np.errstate(invalid="ignore"):
            for b, lower in zip(self.bounds, self.bound_in_lower, strict=True):
                k += (v > b) if lower else (v >= b)
        return np.where(np.isnan(v), -1, k).astype(np.int8)


def tli_components(**params: ArrayLike) -> dict[str, NDArray[np.float64]]:
    """TLI(j) of each parameter given (keywords ``chla``, ``tp``, ``tn``, ``sd``, ``codmn``).

    Parameters
    ----------
    chla : array_like
        Chlorophyll a [mg/m³].
    tp, tn, codmn : array_like
        Total phosphorus, total nitrogen, permanganate index [mg/L].
    sd : array_like
        Secchi depth (透明度) [m].

    Returns
    -------
    dict of str to numpy.ndarray
        TLI(j) [-]; NaN where the value is NaN.
    """
    out: dict[str, NDArray[np.float64]] = {}
    for key, value in params.items():
        if key not in COEFFICIENTS:
            raise InputError("parameter", "must be one of chla, tp, tn, sd, codmn", key)
        x = np.asarray(value, dtype=float)
        with np.errstate(invalid="ignore"):
            bad = x <= 0
        if bad.any():
            raise InputError(
                key, "must be greater than 0 (its logarithm is taken)", float(x[bad].flat[0])
            )
        a, b = COEFFICIENTS[key]
        with np.errstate(invalid="ignore"):
            out[key] = np.asarray(10.0 * (a + b * np.log(x)), dtype=float)
    return out


def tli(r2: Mapping[str, float] | None = None, **params: ArrayLike) -> NDArray[np.float64]:
    """Composite trophic level index TLI(Σ).

    Parameters
    ----------
    r2 : mapping, optional
        r_ij² per parameter (default :data:`R2`).
    **params : array_like
        Any of ``chla`` [mg/m³], ``tp`` [mg/L], ``tn`` [mg/L], ``sd`` [m], ``codmn`` [mg/L],
        broadcast together.

    Returns
    -------
    numpy.ndarray
        TLI(Σ) [-].

    Notes
    -----
    W_j = r_ij² / Σ r_ij² over the parameters that have a value (the technical rule's m is the
    number of parameters assessed), so a missing parameter re-normalises the weights of the rest.

    Examples
    --------
    >>> round(float(tli(chla=10, tp=0.05, tn=1.0, sd=1.0, codmn=4.0)), 2)
    48.02
    """
    weights = dict(R2 if r2 is None else r2)
    comps = tli_components(**params)
    if not comps:
        raise InputError("parameters", "at least one of chla, tp, tn, sd, codmn is needed", None)
    arrays = np.broadcast_arrays(*comps.values())
    num = np.zeros(arrays[0].shape)
    den = np.zeros(arrays[0].shape)
    for key, arr in zip(comps, arrays, strict=True):
        ok = ~np.isnan(arr)
        num += np.where(ok, weights[key] * arr, 0.0)
        den += np.where(ok, weights[key], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(num / den, dtype=float)


def tli_from_codes(
    values: ArrayLike, codes: Sequence[str], r2: Mapping[str, float] | None = None
) -> NDArray[np.float64]:
    """TLI(Σ) of each row of a (rows, items) array whose columns are named by HJ 212 codes.

    Columns for chla (w01016), TP (w21011), TN (w21001), SD (w01004) and CODMn (w01019) are
    used; other columns are ignored. Rows are lake/reservoir points or their period means, as
    :func:`~bishui.water.assessment.period_means` gives them.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.shape[1] != len(codes):
        raise InputError("values", f"must have {len(codes)} columns to match codes", x.shape)
    by_code = {c: j for j, c in enumerate(codes)}
    params = {k: x[:, by_code[c]] for k, c in CODES.items() if c in by_code}
    return tli(r2, **params)


def trophic_state(value: ArrayLike, scale: TrophicScale | None = None) -> NDArray[np.str_]:
    """Trophic state names (贫营养 … 重度富营养) of TLI(Σ) values ("" where NaN)."""
    s = scale or TrophicScale()
    k = s.classify(value)
    names = np.asarray(("", *s.names))
    return names[k + 1]


def is_eutrophic(value: ArrayLike, scale: TrophicScale | None = None) -> NDArray[np.bool_]:
    """True where TLI(Σ) is 富营养 (any of its three grades)."""
    s = scale or TrophicScale()
    return np.asarray(s.classify(value) >= 2)
