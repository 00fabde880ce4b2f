"""城市水质指数 CWQI: 《城市地表水环境质量排名技术规定(试行)》环办监测〔2017〕51号.

Per-item index (notes A3, [V]) over the 21 assessment items of GB 3838-2002 表1:

* general items: CWQI(i) = C(i) / Cs(i), Cs = the Class Ⅲ limit (TP 0.2 river, 0.05 lake);
* DO: CWQI(DO) = DOs / DO with DOs = 5;
* pH: (7 − pH)/(7 − 6) for pH ≤ 7, (pH − 7)/(9 − 7) for pH > 7.

The index of a section is the sum over the items. How the river, lake and city indices are
aggregated is **not verified** (notes A3, [R]); the defaults below follow the recollection in
the notes and every choice is a parameter:

* CWQI_河流: items averaged over the river sections first (``order="concentration"``), then
  indexed and summed; ``order="index"`` averages the section indices instead. The two differ only
  through DO and pH.
* CWQI_湖库: the same over lake/reservoir points with the lake TP limit.
* CWQI_城市 = (CWQI_河流·m + CWQI_湖库·n) / (m + n), m river sections, n lake points.
* ΔCWQI = (CWQI_现状 − CWQI_基准) / CWQI_基准 × 100 %; negative = better ([V] sign).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bishui import exact
from bishui.air.rounding import round_gbt8170
from bishui.errors import InputError
from bishui.water import tables as t
from bishui.water.assessment import _group_mean, _groups
from bishui.water.classes import as_floats, check_values

EDITION = "环办监测〔2017〕51号"

#: pH bounds and the DO standard used by the index (notes A3).
PH_LOW = 6.0
PH_HIGH = 9.0
DO_STANDARD = 5.0


def cwqi_items(
    values: ArrayLike,
    codes: Sequence[str],
    body: str | Sequence[str] | NDArray[np.generic] = "river",
    *,
    aliases: Mapping[str, str] | None = None,
    validate: bool = True,
) -> NDArray[np.float64]:
    """Per-item CWQI(i) for each row and column.

    Parameters
    ----------
    values : array_like, shape (n, k)
        Concentrations (period means) [unit of each item].
    codes : sequence of str, length k
        HJ 212 code of each column.
    body : {"river", "lake"} or one per row
        Selects the Class Ⅲ TP limit (0.2 river, 0.05 lake).

    Returns
    -------
    numpy.ndarray, shape (n, k)
        CWQI(i) [-]; NaN where the value is missing or the column is not one of the 21 items.
    """
    x = as_floats(values)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.shape[1] != len(codes):
        raise InputError("values", f"must have {len(codes)} columns to match codes", x.shape)
    cc = t.canonical_codes(codes, aliases)
    if validate:
        check_values(x, cc)
    lake = t.lake_mask(body, x.shape[0])
    out = np.full(x.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        for j, c in enumerate(cc):
            if c not in t.ASSESSMENT_CODES:
                continue
            col = x[:, j]
            if c == t.PH:
                out[:, j] = np.where(
                    col <= 7.0, (7.0 - col) / (7.0 - PH_LOW), (col - 7.0) / (PH_HIGH - 7.0)
                )
            elif c == t.DO:
                # DOs/DO has no value at DO = 0 (anoxic water): NaN here, and the row's CWQI
                # is NaN too (:func:`cwqi`), never inf and never a sum without DO.
                out[:, j] = np.where(col > 0, DO_STANDARD / col, np.nan)
            else:
                r3 = t.TABLE1_RIVER[c].limits[2]
                l3 = t.TABLE1_LAKE[c].limits[2]
                out[:, j] = col / np.where(lake, l3, r3)
    return out


def cwqi(
    values: ArrayLike,
    codes: Sequence[str],
    body: str | Sequence[str] | NDArray[np.generic] = "river",
    *,
    aliases: Mapping[str, str] | None = None,
    validate: bool = True,
) -> NDArray[np.float64]:
    """CWQI of each row (section or sample): the sum of CWQI(i) over the 21 items.

    Missing items are left out of the sum (the regulation's rule for missing data, 五(一), was
    not available; see docs/water.md). A row with none of the items gives NaN, and so does a
    row with DO = 0: CWQI(DO) = DOs/DO is undefined there (the regulation gives no rule for it),
    and leaving DO out would publish the worst water as better than it is (docs/water.md).

    Returns
    -------
    numpy.ndarray, shape (n,)
        CWQI [-]; smaller is better.
    """
    idx = cwqi_items(values, codes, body, aliases=aliases, validate=validate)
    present = ~np.isnan(idx)
    s = np.where(present, idx, 0.0).sum(axis=1)
    x = as_floats(values)
    x = x.reshape(1, -1) if x.ndim == 1 else x
    cc = t.canonical_codes(codes, aliases)
    anoxic = np.zeros(idx.shape[0], dtype=bool)
    for j, c in enumerate(cc):
        if c == t.DO:
            anoxic |= x[:, j] == 0
    return np.where(present.any(axis=1) & ~anoxic, s, np.nan)


def cwqi_groups(
    section_means: ArrayLike,
    codes: Sequence[str],
    groups: ArrayLike,
    n_groups: int | None = None,
    *,
    body: str = "river",
    order: Literal["concentration", "index"] = "concentration",
    aliases: Mapping[str, str] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """CWQI_河流 (or CWQI_湖库) of each group of sections — a city's rivers, a county's, a river's.

    Parameters
    ----------
    section_means : array_like, shape (s, k)
        Period means of each section [unit of each item].
    codes : sequence of str
        HJ 212 code of each column.
    groups : array_like of int, shape (s,)
        Group index (city, county, river) of each section.
    body : {"river", "lake"}
        "river" for CWQI_河流, "lake" for CWQI_湖库 (lake TP limit).
    order : {"concentration", "index"}
        Average the concentrations over sections and then index them (default, [R]), or
        average the sections' indices.

    Returns
    -------
    (cwqi, n_sections)
        CWQI per group [-] and the number of sections in it (the weight m or n of the city index).
    """
    x = as_floats(section_means, "section_means")
    cc = t.canonical_codes(codes, aliases)
    check_values(x, cc)
    g, ng = _groups(groups, x.shape[0], n_groups)
    counts = np.bincount(g, minlength=ng).astype(np.int64)
    if order == "concentration":
        m, _ = _group_mean(x, g, ng, cc)
        return cwqi(m, cc, body, validate=False), counts
    if order == "index":
        per = cwqi(x, cc, body, validate=False)
        ok = ~np.isnan(per)
        s = np.bincount(g[ok], weights=per[ok], minlength=ng)
        n = np.bincount(g[ok], minlength=ng)
        with np.errstate(invalid="ignore", divide="ignore"):
            return s / n, counts
    raise InputError("order", "must be 'concentration' or 'index'", order)


def cwqi_city(
    river: ArrayLike, m: ArrayLike, lake: ArrayLike | None = None, n: ArrayLike | None = None
) -> NDArray[np.float64]:
    """CWQI_城市 = (CWQI_河流·m + CWQI_湖库·n) / (m + n), elementwise over cities.

    ``m`` river sections and ``n`` lake/reservoir points [-]; a city without lakes passes only
    ``river`` and ``m``. Formula from recollection in the notes ([R]).
    """
    r = np.asarray(river, dtype=float)
    mm = np.asarray(m, dtype=float)
    if lake is None:
        return np.where(mm > 0, r, np.nan)
    lk = np.asarray(lake, dtype=float)
    nn = np.zeros_like(lk) if n is None else np.asarray(n, dtype=float)
    rw = np.where(mm > 0, r * mm, 0.0)
    lw = np.where(nn > 0, lk * nn, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((rw + lw) / (mm + nn), dtype=float)


def delta_cwqi(current: ArrayLike, base: ArrayLike) -> NDArray[np.float64]:
    """ΔCWQI = (CWQI_现状 − CWQI_基准) / CWQI_基准 × 100 [%]; negative means improvement."""
    return exact.change_rate(current, base)


def rank(values: ArrayLike, decimals: int | None = None) -> NDArray[np.int64]:
    """Ascending rank, 1 = best (smallest CWQI or ΔCWQI); ties share the better rank (1, 2, 2, 4).

    ``decimals`` rounds before ranking so values equal as published tie. NaN ranks last.
    """
    v = np.asarray(values, dtype=float)
    if decimals is not None:
        v = round_gbt8170(v, decimals)
    key = np.where(np.isnan(v), np.inf, v)
    order = np.argsort(key, kind="stable")
    sorted_v = key[order]
    first = np.r_[True, sorted_v[1:] != sorted_v[:-1]]
    pos = np.arange(1, v.size + 1)
    ranks_sorted = np.maximum.accumulate(np.where(first, pos, 0))
    out = np.empty(v.size, dtype=np.int64)
    out[order] = ranks_sorted
    return out


def change_ranking_excluded(
    base_worst_class: ArrayLike, current_worst_class: ArrayLike, attained: ArrayLike
) -> NDArray[np.bool_]:
    """Cities left out of the 变化情况排名 (ranking by ΔCWQI).

    环办监测〔2017〕51号 (notes A3, [V]): a city whose sections all meet or beat Class Ⅱ in both the
    base year and now, and that passes its assessment, is not ranked by change.

    Parameters
    ----------
    base_worst_class, current_worst_class : array_like of int
        Worst section class of each city in the base year and now (1–6).
    attained : array_like of bool
        Whether the city passed its assessment (考核达标).

    Returns
    -------
    numpy.ndarray of bool
        True for cities to leave out.
    """
    b = np.asarray(base_worst_class)
    c = np.asarray(current_worst_class)
    return np.asarray((b >= 1) & (b <= 2) & (c >= 1) & (c <= 2) & np.asarray(attained, dtype=bool))


def rank_change(delta: ArrayLike, excluded: ArrayLike | None = None) -> NDArray[np.int64]:
    """Ascending rank of ΔCWQI (most improved first); 0 for excluded cities."""
    d = np.asarray(delta, dtype=float)
    ex = np.zeros(d.shape, dtype=bool) if excluded is None else np.asarray(excluded, dtype=bool)
    out = np.zeros(d.shape, dtype=np.int64)
    out[~ex] = rank(d[~ex])
    return out
