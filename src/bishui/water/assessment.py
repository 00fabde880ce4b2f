"""Section, river and city assessment for a period.

Method: 《地表水环境质量评价办法(试行)》环办〔2011〕22号.

Entry points, all vectorised over sections (no loop over sections or samples):

:func:`period_means`
    samples (rows) grouped by section → the period's mean of each item (pH by hydrogen-ion
    mean), sample counts, and whether the period has enough samples (一(二) 数据统计).
:func:`assess_sections`
    section means → class, 水质状况, target attainment (达标), "insufficient data" where a period
    has too few samples (二(一)).
:func:`grade_rivers`
    sections grouped by river, basin or lake → 水质状况 by the share of sections in each class
    (≥ 5 sections) or by the single-factor class of the mean over sections (< 5) (二(二)).
:func:`class_statistics`
    counts and shares of Ⅰ–Ⅲ and 劣Ⅴ sections per city or county.
:func:`exceedance_rates`, :func:`river_main_pollutants`
    断面超标率 of each item and the main pollutants of a river.

Groups are integer indices 0…g−1 (a section, river or county number), so a service can pass
columns of a SQL result directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bishui.errors import InputError
from bishui.water import tables as t
from bishui.water.classes import (
    BatchClassification,
    as_floats,
    check_values,
    classify_batch,
)

#: Minimum samples for a period (环办〔2011〕22号 一(二), from recollection in the notes, [R]):
#: weekly/10-day/monthly one sample; quarterly at least 2; annual normally 12 monthly values and at
#: least 8 (含8次) where some months cannot be sampled. Parameters, not constants of the method.
MIN_SAMPLES: dict[str, int] = {"week": 1, "dekad": 1, "month": 1, "quarter": 2, "year": 8}


@dataclass(frozen=True)
class PeriodMeans:
    """Period means per group (section).

    ``means`` (g, k) [unit of each item] is NaN where an item has fewer than ``min_samples``
    values; ``counts`` (g, k) are the values per item; ``samples`` (g,) the sampling events (rows
    with at least one value); ``sufficient`` (g,) whether ``samples >= min_samples``.
    """

    codes: tuple[str, ...]
    means: NDArray[np.float64]
    counts: NDArray[np.int64]
    samples: NDArray[np.int64]
    sufficient: NDArray[np.bool_]
    min_samples: int


def _groups(groups: ArrayLike, n: int, n_groups: int | None) -> tuple[NDArray[np.intp], int]:
    g = np.asarray(groups)
    if g.shape != (n,):
        raise InputError("groups", f"must have one group index per row ({n})", g.shape)
    if n and (not np.issubdtype(g.dtype, np.integer) or g.min() < 0):
        raise InputError("groups", "must be non-negative integer indices", g.dtype.name)
    size = int(g.max()) + 1 if n else 0
    if n_groups is None:
        n_groups = size
    elif size > n_groups:
        raise InputError("groups", f"index out of range for n_groups={n_groups}", size - 1)
    return g.astype(np.intp), n_groups


def _group_mean(
    x: NDArray[np.float64], g: NDArray[np.intp], n_groups: int, codes: Sequence[str]
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Mean of each column within each group, ignoring NaN; pH by hydrogen-ion mean."""
    k = x.shape[1]
    means = np.full((n_groups, k), np.nan)
    counts = np.zeros((n_groups, k), dtype=np.int64)
    for j, c in enumerate(codes):  # one pass per item column, vectorised over rows
        col = x[:, j]
        ok = ~np.isnan(col)
        w = np.power(10.0, -col[ok]) if c == t.PH else col[ok]
        cnt = np.bincount(g[ok], minlength=n_groups)
        s = np.bincount(g[ok], weights=w, minlength=n_groups)
        with np.errstate(divide="ignore", invalid="ignore"):
            m = s / cnt
            means[:, j] = -np.log10(m) if c == t.PH else m
        counts[:, j] = cnt
    return means, counts


def period_means(
    values: ArrayLike,
    codes: Sequence[str],
    groups: ArrayLike,
    n_groups: int | None = None,
    *,
    min_samples: int = 1,
    aliases: Mapping[str, str] | None = None,
    validate: bool = True,
) -> PeriodMeans:
    """Mean of each item per section over a period.

    环办〔2011〕22号 一(二) 数据统计; pH mean by 环办监测函〔2020〕82号.

    Parameters
    ----------
    values : array_like, shape (n, k)
        Samples (one row per sampling event) [unit of each item]; NaN = not measured.
    codes : sequence of str, length k
        HJ 212 code of each column.
    groups : array_like of int, shape (n,)
        Section index 0…g−1 of each row.
    n_groups : int, optional
        Number of sections (defaults to ``max(groups) + 1``); sections with no rows get NaN.
    min_samples : int
        Fewest sampling events for a class (see :data:`MIN_SAMPLES`); fewer → insufficient data.
        An item measured fewer times than this is left out of the period (its mean is NaN).
    aliases : mapping, optional
        Other code → HJ 212 code.
    validate : bool
        Refuse negative concentrations and pH outside 0–14.

    Returns
    -------
    PeriodMeans
        Arithmetic means (pH: −log10 of the mean hydrogen-ion concentration), not rounded — the
        classification rounds them.
    """
    x = as_floats(values)
    if x.ndim != 2 or x.shape[1] != len(codes):
        raise InputError(
            "values", f"must have shape (samples, {len(codes)}) to match codes", x.shape
        )
    if min_samples < 1:
        raise InputError("min_samples", "must be at least 1", min_samples)
    cc = t.canonical_codes(codes, aliases)
    if validate:
        check_values(x, cc)
    g, ng = _groups(groups, x.shape[0], n_groups)
    means, counts = _group_mean(x, g, ng, cc)
    # A sampling event counts when it measured at least one assessment item (a row carrying only
    # water temperature or conductivity is not a sample of the section's quality).
    cols = np.array([c in t.ASSESSMENT_CODES for c in cc], dtype=bool)
    if not cols.any():
        cols[:] = True
    has = ~np.isnan(x[:, cols]).all(axis=1)
    events = np.bincount(g[has], minlength=ng).astype(np.int64)
    means[counts < min_samples] = np.nan
    return PeriodMeans(tuple(cc), means, counts, events, events >= min_samples, min_samples)


@dataclass(frozen=True)
class SectionAssessment:
    """Class and target attainment of sections for a period (see :func:`assess_sections`).

    ``section_class`` is 0 where data are insufficient; ``attained`` is True where the class is
    at least as good as the target (False where insufficient or no target).
    """

    classification: BatchClassification
    sufficient: NDArray[np.bool_]
    target_class: NDArray[np.int8]
    section_class: NDArray[np.int8]
    attained: NDArray[np.bool_]

    @property
    def labels(self) -> NDArray[np.str_]:
        """ "Ⅰ类" … "劣Ⅴ类", or "insufficient data"."""
        lab = np.asarray(t.CLASS_LABELS, dtype=object)[self.section_class]
        return np.where(self.sufficient, lab, t.INSUFFICIENT).astype(str)

    @property
    def status(self) -> NDArray[np.str_]:
        """水质状况 (优 … 重度污染), or "insufficient data"."""
        st = np.asarray(t.CLASS_STATUS, dtype=object)[self.section_class]
        return np.where(self.sufficient, st, t.INSUFFICIENT).astype(str)

    @property
    def attainment(self) -> NDArray[np.str_]:
        """ "达标" / "不达标" / "数据不足", or "" where the section has no target."""
        out = np.where(self.attained, "达标", "不达标").astype(object)
        out[self.target_class == 0] = ""
        out[~self.sufficient] = t.INSUFFICIENT_ZH
        return out.astype(str)

    def records(self, ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """One plain dict per section, for tables, CSV/Excel and JSON.

        Keys: ``section``, ``class`` (0 where insufficient), ``label``, ``status``,
        ``target_class``, ``attainment``, ``main_pollutants`` (bulletin text, e.g.
        "氨氮(1.87)"), ``edition``, ``method``.
        """
        n = self.section_class.shape[0]
        names = list(ids) if ids is not None else [str(i) for i in range(n)]
        if len(names) != n:
            raise InputError("ids", f"must have one id per section ({n})", len(names))
        labels, status, att = self.labels, self.status, self.attainment
        out = []
        for i in range(n):
            ok = bool(self.sufficient[i])
            out.append(
                {
                    "section": names[i],
                    "class": int(self.section_class[i]),
                    "label": str(labels[i]),
                    "status": str(status[i]),
                    "target_class": int(self.target_class[i]),
                    "attainment": str(att[i]),
                    "main_pollutants": self.classification.row(i).main_pollutant_text()
                    if ok
                    else "",
                    "edition": self.classification.edition,
                    "method": self.classification.method,
                }
            )
        return out


def assess_sections(
    means: ArrayLike,
    codes: Sequence[str],
    body: str | Sequence[str] | NDArray[np.generic] = "river",
    target_class: ArrayLike | None = None,
    sufficient: ArrayLike | None = None,
    **options: Any,
) -> SectionAssessment:
    """Assess sections for a period: single-factor class and target attainment (达标).

    Parameters
    ----------
    means : array_like, shape (g, k)
        Period means per section (:func:`period_means`) [unit of each item].
    codes : sequence of str
        HJ 212 code of each column.
    body : {"river", "lake"} or one per section
        Water-body type.
    target_class : array_like of int, shape (g,), optional
        Target class 1–5 of each section (考核目标); 0 = none.
    sufficient : array_like of bool, shape (g,), optional
        False marks a section whose period has too few samples: its class is "insufficient
        data", never a class. Defaults to "has at least one assessed value".
    **options
        Passed to :func:`~bishui.water.classes.classify_batch` (rounding, decimals, …).

    Returns
    -------
    SectionAssessment

    Notes
    -----
    环办〔2011〕22号 二(一): the section's class is the worst class of its assessed items in the
    period. Attainment compares that class with the target: class ≤ target → 达标.
    """
    bc = classify_batch(means, codes, body, **options)
    g = bc.sample_class.shape[0]
    suff = (
        bc.sample_class > 0
        if sufficient is None
        else np.asarray(sufficient, dtype=bool) & (bc.sample_class > 0)
    )
    if suff.shape != (g,):
        raise InputError("sufficient", f"must have one value per section ({g})", suff.shape)
    if target_class is None:
        tc = np.zeros(g, dtype=np.int8)
    else:
        tc = np.asarray(target_class)
        if tc.shape != (g,):
            raise InputError("target_class", f"must have one value per section ({g})", tc.shape)
        if ((tc < 0) | (tc > 5)).any():
            raise InputError(
                "target_class", "must be 1–5 (Ⅰ–Ⅴ) or 0 for none", int(tc[(tc < 0) | (tc > 5)][0])
            )
        tc = tc.astype(np.int8)
    sc = np.where(suff, bc.sample_class, 0).astype(np.int8)
    attained = suff & (tc > 0) & (sc <= tc)
    return SectionAssessment(bc, suff, tc, sc, attained)


@dataclass(frozen=True)
class RiverGradeRules:
    """Thresholds of the 断面水质类别比例法, as exact fractions.

    环办〔2011〕22号 二(二), notes A2.4.

    ``min_sections``: at least this many sections → shares method; fewer → mean method. The
    original is recalled as "5个(含5个)以上" [R]; one public page says "大于5个" ([C]).
    ``severe_max_good``: the 重度污染 row reads "Ⅰ~Ⅲ类 < 75%" on the Shenzhen MEEB page ([V]) and
    "< 60%" in the original as recalled ([R]). They differ only at exactly 60 % / 40 %; with 60 %
    that point belongs to no row and is graded 中度污染 here.
    """

    min_sections: int = 5
    excellent: Fraction = Fraction(9, 10)
    good: Fraction = Fraction(3, 4)
    moderate_bad: Fraction = Fraction(1, 5)
    severe_bad: Fraction = Fraction(2, 5)
    severe_max_good: Fraction = Fraction(3, 4)


@dataclass(frozen=True)
class RiverGrades:
    """水质状况 of rivers, basins or lakes (see :func:`grade_rivers`). Arrays are per group.

    ``method`` is "shares" or "mean" ("" for a group with no assessed section); ``river_class``
    is the class of the mean (mean method only, 0 otherwise); ``counts`` (g, 7) counts sections
    by class (column 0: insufficient data, excluded from the shares).
    """

    status: NDArray[np.str_]
    method: NDArray[np.str_]
    river_class: NDArray[np.int8]
    counts: NDArray[np.int64]
    rules: RiverGradeRules = field(default_factory=RiverGradeRules)

    @property
    def n_sections(self) -> NDArray[np.int64]:
        """Sections with a class in each group."""
        return np.asarray(self.counts[:, 1:].sum(axis=1), dtype=np.int64)

    @property
    def share_good(self) -> NDArray[np.float64]:
        """Share of Ⅰ–Ⅲ sections [-] (NaN for an empty group)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(self.counts[:, 1:4].sum(axis=1) / self.n_sections, dtype=float)

    @property
    def share_bad(self) -> NDArray[np.float64]:
        """Share of 劣Ⅴ sections [-] (NaN for an empty group)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(self.counts[:, 6] / self.n_sections, dtype=float)


def class_counts(
    section_class: ArrayLike, groups: ArrayLike | None = None, n_groups: int | None = None
) -> NDArray[np.int64]:
    """Count sections by class (0 = insufficient data, 1–6) per group → shape (g, 7)."""
    sc = np.asarray(section_class, dtype=np.intp)
    if ((sc < 0) | (sc > 6)).any():
        raise InputError("section_class", "must be 0–6", int(sc[(sc < 0) | (sc > 6)][0]))
    g, ng = _groups(
        np.zeros(sc.shape[0], dtype=np.intp) if groups is None else groups,
        sc.shape[0],
        n_groups if groups is not None else 1,
    )
    return np.bincount(g * 7 + sc, minlength=ng * 7).reshape(ng, 7).astype(np.int64)


def _at_least(
    count: NDArray[np.int64], total: NDArray[np.int64], share: Fraction
) -> NDArray[np.bool_]:
    # count / total >= p/q  ⇔  count·q >= p·total, exact in integers.
    return np.asarray(count * share.denominator >= share.numerator * total)


def grade_by_shares(counts: ArrayLike, rules: RiverGradeRules | None = None) -> NDArray[np.str_]:
    """水质状况 from section counts by class (g, 7) by the 断面水质类别比例法 (exact shares)."""
    r = rules or RiverGradeRules()
    c = np.asarray(counts, dtype=np.int64)
    total = c[:, 1:].sum(axis=1)
    good = c[:, 1:4].sum(axis=1)
    bad = c[:, 6]
    out = np.full(c.shape[0], "轻度污染", dtype=object)
    out[_at_least(bad, total, r.moderate_bad)] = "中度污染"
    severe = _at_least(bad, total, r.severe_bad) & ~_at_least(good, total, r.severe_max_good)
    out[severe] = "重度污染"
    out[_at_least(good, total, r.good)] = "良好"
    out[_at_least(good, total, r.excellent)] = "优"
    out[total == 0] = ""
    return out.astype(str)


def water_body_means(
    section_means: ArrayLike, codes: Sequence[str], groups: ArrayLike, n_groups: int | None = None
) -> NDArray[np.float64]:
    """Mean of section (or point) means over each river or lake (pH by hydrogen-ion mean).

    环办〔2011〕22号 二(二): rivers with fewer than 5 sections, and lakes/reservoirs with several
    points, are assessed on the arithmetic mean of each item over the sections or points
    (time first — :func:`period_means` — then space).
    """
    x = as_floats(section_means, "section_means")
    g, ng = _groups(groups, x.shape[0], n_groups)
    return _group_mean(x, g, ng, list(codes))[0]


def grade_rivers(
    section_class: ArrayLike,
    groups: ArrayLike,
    n_groups: int | None = None,
    *,
    section_means: ArrayLike | None = None,
    codes: Sequence[str] | None = None,
    body: str = "river",
    rules: RiverGradeRules | None = None,
    force_mean: bool = False,
    **options: Any,
) -> RiverGrades:
    """水质状况 of rivers, basins (流域) or water systems (水系) from their sections.

    Parameters
    ----------
    section_class : array_like of int, shape (s,)
        Class of each section for the period (0 = insufficient data, left out).
    groups : array_like of int, shape (s,)
        River (basin, lake) index of each section.
    n_groups : int, optional
        Number of rivers.
    section_means : array_like, shape (s, k), optional
        Period means of the sections; needed for rivers with fewer than ``rules.min_sections``
        sections (and for ``force_mean``).
    codes : sequence of str, optional
        Codes of the ``section_means`` columns.
    body : {"river", "lake"}
        Body type used to classify the means.
    rules : RiverGradeRules, optional
        Thresholds (defaults documented on :class:`RiverGradeRules`).
    force_mean : bool
        Use the mean method whatever the number of sections (lakes and reservoirs with several
        points, 环办〔2011〕22号 二(二)).
    **options
        Passed to :func:`~bishui.water.classes.classify_batch` for the mean method.

    Returns
    -------
    RiverGrades
    """
    r = rules or RiverGradeRules()
    sc = np.asarray(section_class)
    g, ng = _groups(groups, sc.shape[0], n_groups)
    counts = class_counts(sc, g, ng)
    n_valid = counts[:, 1:].sum(axis=1)
    use_mean = (n_valid > 0) & (force_mean | (n_valid < r.min_sections))
    status = grade_by_shares(counts, r).astype(object)
    method = np.where(n_valid > 0, "shares", "").astype(object)
    river_class = np.zeros(ng, dtype=np.int8)
    if use_mean.any():
        if section_means is None or codes is None:
            raise InputError(
                "section_means",
                f"needed for rivers with fewer than {r.min_sections} sections (mean method)",
                int(np.argmax(use_mean)),
            )
        sm = np.asarray(section_means, dtype=float)
        valid = sc > 0  # sections with insufficient data do not enter the mean either
        gm = np.where(valid, g, ng)  # park invalid rows in an extra group
        m = water_body_means(sm, codes, gm, ng + 1)[:ng]
        rc = classify_batch(m[use_mean], codes, body, **options).sample_class
        river_class[use_mean] = rc
        status[use_mean] = np.asarray(t.CLASS_STATUS, dtype=object)[rc]
        method[use_mean] = "mean"
    return RiverGrades(status.astype(str), method.astype(str), river_class, counts, r)


@dataclass(frozen=True)
class ClassStatistics:
    """Section counts by class per city or county and the shares the bulletins quote.

    ``counts`` (g, 7): column 0 insufficient data, 1–6 Ⅰ…劣Ⅴ. Shares are over sections with a
    class; :meth:`exact` gives them as fractions.
    """

    counts: NDArray[np.int64]

    @property
    def n_assessed(self) -> NDArray[np.int64]:
        return np.asarray(self.counts[:, 1:].sum(axis=1), dtype=np.int64)

    @property
    def share_good(self) -> NDArray[np.float64]:
        """Share of Ⅰ–Ⅲ (优良) sections [-]."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(self.counts[:, 1:4].sum(axis=1) / self.n_assessed, dtype=float)

    @property
    def share_bad(self) -> NDArray[np.float64]:
        """Share of 劣Ⅴ sections [-]."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(self.counts[:, 6] / self.n_assessed, dtype=float)

    def exact(self, i: int = 0) -> tuple[Fraction | None, Fraction | None]:
        """(share Ⅰ–Ⅲ, share 劣Ⅴ) of group ``i`` as exact fractions (None when empty)."""
        n = int(self.n_assessed[i])
        if n == 0:
            return None, None
        return Fraction(int(self.counts[i, 1:4].sum()), n), Fraction(int(self.counts[i, 6]), n)


def class_statistics(
    section_class: ArrayLike, groups: ArrayLike | None = None, n_groups: int | None = None
) -> ClassStatistics:
    """City or county statistics: sections per class, share of Ⅰ–Ⅲ, share of 劣Ⅴ."""
    return ClassStatistics(class_counts(section_class, groups, n_groups))


def exceedance_rates(
    item_class: ArrayLike, groups: ArrayLike | None = None, n_groups: int | None = None
) -> NDArray[np.float64]:
    """断面超标率 of each item per group: sections above Class Ⅲ / sections assessed [-].

    ``item_class`` (s, k) is the item class of each section (0 = not assessed: excluded from
    both counts). Definition from recollection in the notes ([R], A2.6).
    """
    ic = np.asarray(item_class)
    s = ic.shape[0]
    g, ng = _groups(
        np.zeros(s, dtype=np.intp) if groups is None else groups,
        s,
        n_groups if groups is not None else 1,
    )
    over = np.zeros((ng, ic.shape[1]))
    total = np.zeros((ng, ic.shape[1]))
    for j in range(ic.shape[1]):
        over[:, j] = np.bincount(g, weights=(ic[:, j] > 3).astype(float), minlength=ng)
        total[:, j] = np.bincount(g, weights=(ic[:, j] > 0).astype(float), minlength=ng)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(over / total, dtype=float)


def river_main_pollutants(
    item_class: ArrayLike, codes: Sequence[str], top: int = 3
) -> tuple[tuple[str, float], ...]:
    """Main pollutants of one river or basin: items above Ⅲ ranked by 断面超标率, top three.

    环办〔2011〕22号 二(三) (notes A2.6, [V]). Only the 21 assessment items count; ties keep the
    order of GB 3838-2002 表1. A river with fewer than 5 sections reports its main pollutants
    section by section instead (use the sections' own results).
    """
    rates = exceedance_rates(item_class)[0]
    order = [j for j, c in enumerate(codes) if c in t.ASSESSMENT_CODES and rates[j] > 0]
    order.sort(key=lambda j: (-rates[j], t.ASSESSMENT_CODES.index(codes[j])))
    return tuple((codes[j], float(rates[j])) for j in order[:top])
