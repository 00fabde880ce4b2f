"""Water-quality class of samples: GB 3838-2002 表1 by the single-factor method of 环办〔2011〕22号.

Entry points
------------
:func:`classify`
    one sample, a mapping ``{HJ 212 code: concentration}`` → :class:`Classification`.
:func:`classify_batch`
    many samples, an array of shape (samples, items) with one code per column →
    :class:`BatchClassification` (vectorised: one pass per column, no loop over samples).

Rules (notes A1.1, A2.3, A2.6)
------------------------------
* An item's class is the best class whose limit it meets: ``value <= limit`` (``>=`` for DO);
  a value on a boundary takes the better class, and where several classes share one limit the
  value takes the best of them (COD 15 → Ⅰ). Beyond the Ⅴ limit the class is 劣Ⅴ (6).
* pH 6–9 does not limit the class (Ⅰ); outside 6–9 it is 劣Ⅴ.
* TP uses the river or the lake/reservoir (湖、库) column; TN has limits for lakes only and,
  like 粪大肠菌群, is a reference item that never sets the class.
* The sample's class is the worst class over the 21 assessment items present.
* 超标倍数 = (C − Ⅲ limit) / Ⅲ limit for items above Class Ⅲ, not for 水温, pH, DO.
* Main pollutants (only when the class is worse than Ⅲ): items above Ⅲ, cyanide and heavy
  metals first, then worst class, then largest 超标倍数; at most three.
* Values are rounded to the assessment decimals before they are classified
  (:mod:`bishui.water.rounding`); ``rounding=False`` classifies the values as given.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bishui import exact
from bishui.air.rounding import round_gbt8170
from bishui.errors import InputError
from bishui.water import tables as t
from bishui.water.rounding import round_assessment

#: Table 1 order of the 21 assessment items (used to break ties among main pollutants).
_ORDER = {c: i for i, c in enumerate(t.ASSESSMENT_CODES)}


@dataclass(frozen=True)
class Classification:
    """The class of one sample (see :func:`classify`).

    ``sample_class`` is 1–5 for Ⅰ–Ⅴ, 6 for 劣Ⅴ and 0 when none of the 21 items was given.
    ``values`` are the values as assessed (rounded unless ``rounding=False``) [unit of each item].
    """

    body: str
    sample_class: int
    label: str
    status: str
    item_classes: dict[str, int]
    deciding: tuple[str, ...]
    exceedance: dict[str, float]
    main_pollutants: tuple[str, ...]
    reference_classes: dict[str, int]
    values: dict[str, float]
    unknown: tuple[str, ...]
    missing: tuple[str, ...]
    edition: str = t.EDITION
    method: str = t.METHOD

    def main_pollutant_text(self, digits: int = 2) -> str:
        """Main pollutants as written in bulletins, e.g. ``"氨氮(1.87)、总磷(0.5)"``.

        The 超标倍数 is rounded by GB/T 8170 (half to even) from its exact value: river TP
        0.215 → 0.075 → 总磷(0.08).
        """
        parts = []
        for code in self.main_pollutants:
            m = self.exceedance.get(code)
            if m is None:
                parts.append(t.name(code))
            else:
                parts.append(f"{t.name(code)}({round_gbt8170(m, digits):g})")
        return "、".join(parts)


@dataclass(frozen=True)
class BatchClassification:
    """Classes of many samples (see :func:`classify_batch`). Arrays are row-aligned.

    Attributes
    ----------
    codes : tuple of str
        HJ 212 code of each column (after ``aliases``).
    values : ndarray (n, k)
        Values as assessed [unit of each item].
    item_class : ndarray (n, k) of int8
        Class of every classifiable cell, 0 where missing or not classifiable.
    assessed : ndarray (k,) of bool
        Columns that are among the 21 assessment items (the others are reference items or
        unclassified parameters).
    sample_class : ndarray (n,) of int8
        Worst class over assessed columns; 0 where a row has none.
    deciding : ndarray (n, k) of bool
        Assessed cells whose class equals the sample class.
    exceedance : ndarray (n, k) of float
        超标倍数 over Class Ⅲ where an item exceeds it; NaN elsewhere [-].
    main : ndarray (n, top) of int
        Column indices of the main pollutants in rank order, −1 padding.
    unknown : tuple of str
        Column codes the engine does not know (their columns are ignored).
    missing : tuple of str
        Assessment items with no column.
    """

    codes: tuple[str, ...]
    values: NDArray[np.float64]
    item_class: NDArray[np.int8]
    assessed: NDArray[np.bool_]
    sample_class: NDArray[np.int8]
    deciding: NDArray[np.bool_]
    exceedance: NDArray[np.float64]
    main: NDArray[np.intp]
    lake: NDArray[np.bool_]
    unknown: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    edition: str = t.EDITION
    method: str = t.METHOD

    @property
    def labels(self) -> NDArray[np.str_]:
        """Class labels "Ⅰ类" … "劣Ⅴ类" ("" where no class)."""
        return np.asarray(t.CLASS_LABELS)[self.sample_class]

    @property
    def status(self) -> NDArray[np.str_]:
        """水质状况 优 / 良好 / 轻度污染 / 中度污染 / 重度污染 ("" where no class)."""
        return np.asarray(t.CLASS_STATUS)[self.sample_class]

    def row(self, i: int) -> Classification:
        """Row ``i`` as a :class:`Classification`."""
        cls = self.item_class[i]
        vals = self.values[i]
        present = ~np.isnan(vals)
        item_classes = {
            c: int(cls[j]) for j, c in enumerate(self.codes) if self.assessed[j] and present[j]
        }
        reference = {
            c: int(cls[j])
            for j, c in enumerate(self.codes)
            if not self.assessed[j] and present[j] and cls[j] > 0
        }
        k = int(self.sample_class[i])
        return Classification(
            body="lake" if self.lake[i] else "river",
            sample_class=k,
            label=t.CLASS_LABELS[k],
            status=t.CLASS_STATUS[k],
            item_classes=item_classes,
            deciding=tuple(c for j, c in enumerate(self.codes) if self.deciding[i, j]),
            exceedance={
                c: float(self.exceedance[i, j])
                for j, c in enumerate(self.codes)
                if not np.isnan(self.exceedance[i, j])
            },
            main_pollutants=tuple(self.codes[j] for j in self.main[i] if j >= 0),
            reference_classes=reference,
            values={
                c: float(vals[j])
                for j, c in enumerate(self.codes)
                if present[j] and c not in self.unknown
            },
            unknown=self.unknown,
            missing=tuple(
                c for c in t.ASSESSMENT_CODES if c not in item_classes and c not in self.unknown
            ),
            edition=self.edition,
            method=self.method,
        )


def _class_le(v: NDArray[np.float64], limits: Sequence[float]) -> NDArray[np.int8]:
    # Limits are non-decreasing; the number of limits strictly below v is the index of the first
    # limit v meets, so ties go to the best class sharing that limit (COD 15 → Ⅰ).
    k = np.searchsorted(np.asarray(limits), v, side="left") + 1
    return np.where(np.isnan(v), 0, k).astype(np.int8)


def _class_ge(v: NDArray[np.float64], limits: Sequence[float]) -> NDArray[np.int8]:
    # DO: limits decrease with the class; count the limits strictly above v.
    ascending = np.asarray(limits)[::-1]
    above = len(limits) - np.searchsorted(ascending, v, side="right")
    return np.where(np.isnan(v), 0, above + 1).astype(np.int8)


def single_factor_class(value: float, limits: Sequence[float], minimum: bool = False) -> int:
    """Class 1–5 of one value against one item's Ⅰ–Ⅴ limits, 6 for worse than Ⅴ (GB 3838-2002
    §5, single-factor method); *minimum* for an item whose limits are minima (DO). A value
    equal to a limit meets it."""
    v = np.array([value], dtype=np.float64)
    return int((_class_ge(v, limits) if minimum else _class_le(v, limits))[0])


def item_class(values: ArrayLike, code: str, body: str = "river") -> NDArray[np.int8]:
    """GB 3838-2002 表1 class of one item for an array of values.

    Parameters
    ----------
    values : array_like
        Concentrations of ``code`` [unit of the item]; NaN = not measured.
    code : str
        HJ 212 code of the item.
    body : {"river", "lake"}
        Water-body type (TP and TN differ).

    Returns
    -------
    numpy.ndarray of int8
        1–5 for Ⅰ–Ⅴ, 6 for 劣Ⅴ, 0 where the value is NaN or the item has no class for ``body``.
    """
    v = np.asarray(values, dtype=float)
    item = t.table1(body).get(code)
    if item is None:
        return np.zeros(v.shape, dtype=np.int8)
    if item.direction == "range":
        with np.errstate(invalid="ignore"):
            inside = (v >= item.lo) & (v <= item.hi)
        return np.where(np.isnan(v), 0, np.where(inside, 1, 6)).astype(np.int8)
    if item.direction == "ge":
        return _class_ge(v, item.limits)
    return _class_le(v, item.limits)


def as_floats(values: Any, field: str = "values") -> NDArray[np.float64]:
    """``values`` as a float array, or an :class:`~bishui.errors.InputError` naming ``field``."""
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(field, "must be numbers (NaN for not measured)", str(exc)) from None


def check_values(values: NDArray[np.float64], codes: Sequence[str]) -> None:
    """Refuse impossible values: non-finite numbers, negative concentrations, pH outside 0–14.

    NaN means "not measured" and is accepted. Water temperature may be below zero.

    Raises
    ------
    bishui.errors.InputError
        Naming the parameter (field), the rule, the value and the row.
    """
    if not len(codes):
        return
    x = np.asarray(values, dtype=float).reshape(-1, len(codes))
    inf = np.isinf(x)
    if inf.any():
        r, j = np.argwhere(inf)[0]
        raise InputError(codes[j], "must be a finite number", float(x[r, j]), row=int(r))
    with np.errstate(invalid="ignore"):
        neg = x < 0
    for j, c in enumerate(codes):
        if c == "w01010":
            continue
        if c == t.PH:
            with np.errstate(invalid="ignore"):
                bad = (x[:, j] < 0) | (x[:, j] > 14)
            if bad.any():
                r = int(np.argmax(bad))
                raise InputError(c, "pH must be within 0–14", float(x[r, j]), row=r)
        elif neg[:, j].any():
            r = int(np.argmax(neg[:, j]))
            raise InputError(
                c, f"{t.name(c)}: concentration must not be negative", float(x[r, j]), row=r
            )


def _prepare_codes(
    codes: Sequence[str], aliases: Mapping[str, str] | None, strict: bool
) -> tuple[list[str], tuple[str, ...]]:
    cc = t.canonical_codes(codes, aliases)
    seen: set[str] = set()
    for c in cc:
        if c in seen:
            raise InputError("codes", "each parameter may appear only once", c)
        seen.add(c)
    unknown = tuple(c for c in cc if c not in t.KNOWN_CODES)
    if unknown and strict:
        raise InputError(
            "parameter", "unknown parameter code (not in GB 3838-2002 表1/表2)", unknown[0]
        )
    return cc, unknown


def classify_batch(
    values: ArrayLike,
    codes: Sequence[str],
    body: str | Sequence[str] | NDArray[np.generic] = "river",
    *,
    rounding: bool = True,
    decimals: Mapping[str, int] | None = None,
    aliases: Mapping[str, str] | None = None,
    top: int = 3,
    priority: Collection[str] = t.PRIORITY_POLLUTANTS,
    strict: bool = False,
    validate: bool = True,
) -> BatchClassification:
    """Classify many samples at once (GB 3838-2002 表1, 环办〔2011〕22号 single-factor method).

    Parameters
    ----------
    values : array_like, shape (n, k)
        Concentrations, one row per sample, one column per parameter [unit of each item]; NaN
        means not measured. Rows straight from a SQL result fit as they are.
    codes : sequence of str, length k
        HJ 212 code of each column.
    body : {"river", "lake"} or sequence of them (or of bool = lake), length n
        Water-body type of all rows or of each row.
    rounding : bool
        Round to the assessment decimals before classifying (环办监测函〔2020〕82号). Default True.
    decimals : mapping, optional
        Code → decimal places overriding the published table.
    aliases : mapping, optional
        Other code → HJ 212 code used here (e.g. ``{"w20138": "w20122"}``).
    top : int
        How many main pollutants to report (the method says three).
    priority : collection of str
        Codes that go first among main pollutants when above Ⅲ (cyanide and heavy metals).
    strict : bool
        Raise :class:`~bishui.errors.InputError` on an unknown code instead of reporting it.
    validate : bool
        Refuse negative concentrations and pH outside 0–14 (default True).

    Returns
    -------
    BatchClassification
        Item classes, sample classes, deciding items, 超标倍数 and main pollutants.
    """
    x = as_floats(values)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.ndim != 2 or x.shape[1] != len(codes):
        raise InputError(
            "values", f"must have shape (samples, {len(codes)}) to match codes", x.shape
        )
    cc, unknown = _prepare_codes(codes, aliases, strict)
    n, k = x.shape
    if validate:
        check_values(x, cc)
    lake = t.lake_mask(body, n)
    x = round_assessment(x, cc, decimals) if rounding else x.copy()

    ic = np.zeros((n, k), dtype=np.int8)
    mult = np.full((n, k), np.nan)
    for j, c in enumerate(cc):
        col = x[:, j]
        r_item, l_item = t.TABLE1_RIVER.get(c), t.TABLE1_LAKE.get(c)
        if r_item is None and l_item is None:
            continue
        if r_item == l_item:
            ic[:, j] = item_class(col, c, "river")
            limit3: float | NDArray[np.float64] = (
                r_item.limits[2] if r_item is not None and r_item.limits else np.nan
            )
        else:
            rc = item_class(col, c, "river")
            lc = item_class(col, c, "lake")
            ic[:, j] = np.where(lake, lc, rc)
            r3 = r_item.limits[2] if r_item is not None else np.nan
            l3 = l_item.limits[2] if l_item is not None else np.nan
            limit3 = np.where(lake, l3, r3)
        if c in t.ASSESSMENT_CODES and c not in t.NO_MULTIPLE_CODES:
            # Exact (C − S)/S of the decimal values (bishui.exact): 0.075, not 0.07499….
            m = exact.multiple(col, limit3)
            mult[:, j] = np.where(ic[:, j] > 3, m, np.nan)

    assessed = np.array([c in t.ASSESSMENT_CODES for c in cc], dtype=bool)
    acls = np.where(assessed, ic, 0)
    sample_class = acls.max(axis=1, initial=0).astype(np.int8)
    deciding = (acls == sample_class[:, None]) & (acls > 0)
    main = _main_pollutants(acls, mult, sample_class, cc, top, priority)
    missing = tuple(c for c in t.ASSESSMENT_CODES if c not in cc)
    return BatchClassification(
        codes=tuple(cc),
        values=x,
        item_class=ic,
        assessed=assessed,
        sample_class=sample_class,
        deciding=deciding,
        exceedance=mult,
        main=main,
        lake=lake,
        unknown=unknown,
        missing=missing,
    )


def _main_pollutants(
    acls: NDArray[np.int8],
    mult: NDArray[np.float64],
    sample_class: NDArray[np.int8],
    codes: Sequence[str],
    top: int,
    priority: Collection[str],
) -> NDArray[np.intp]:
    """Rank main pollutants per row (环办〔2011〕22号 二(三)), vectorised with one lexsort."""
    n, k = acls.shape
    out = np.full((n, max(top, 0)), -1, dtype=np.intp)
    rows = np.flatnonzero(sample_class > 3)  # only samples worse than Ⅲ have main pollutants
    if rows.size == 0 or k == 0 or top <= 0:
        return out
    out[rows] = _rank_rows(acls[rows], mult[rows], codes, top, priority)
    return out


def _rank_rows(
    acls: NDArray[np.int8],
    mult: NDArray[np.float64],
    codes: Sequence[str],
    top: int,
    priority: Collection[str],
) -> NDArray[np.intp]:
    n, k = acls.shape
    eligible = acls > 3
    prio = eligible & np.array([c in priority for c in codes])[None, :]
    # Items without a multiple (DO, pH) rank after those with one within the same class.
    m = np.where(np.isnan(mult), -1.0, mult)
    order = np.broadcast_to(np.array([_ORDER.get(c, k + j) for j, c in enumerate(codes)]), (n, k))
    keys = np.stack(
        [order, -m, -acls.astype(np.int16), -prio.astype(np.int8), -eligible.astype(np.int8)]
    )
    idx = np.lexsort(keys, axis=-1)[:, :top]
    ok = np.take_along_axis(eligible, idx, axis=1)
    out = np.where(ok, idx, -1).astype(np.intp)
    if out.shape[1] < top:
        out = np.pad(out, ((0, 0), (0, top - out.shape[1])), constant_values=-1)
    return out


def _number(code: str, v: Any) -> float:
    if v is None:
        return math.nan
    if isinstance(v, bool):
        raise InputError(code, "must be a number", v)
    if isinstance(v, int | float | Decimal | np.number):
        return float(v)
    if isinstance(v, str):
        s = v.strip()
        if s == "":
            return math.nan
        try:
            return float(s)
        except ValueError:
            raise InputError(code, "must be a number", v) from None
    raise InputError(code, "must be a number", v)


def classify(
    sample: Mapping[str, Any],
    body: str = "river",
    **options: Any,
) -> Classification:
    """Classify one sample (GB 3838-2002 表1, 环办〔2011〕22号 single-factor method).

    Parameters
    ----------
    sample : mapping of str to number
        HJ 212 code → concentration [mg/L; pH dimensionless; 粪大肠菌群 个/L]. ``None``, NaN or
        ``""`` mean not measured. Numeric strings and ``Decimal`` are accepted.
    body : {"river", "lake"}
        Water-body type; a 河流型水库 is assessed as a river.
    **options
        As for :func:`classify_batch` (``rounding``, ``decimals``, ``aliases``, ``top``,
        ``priority``, ``strict``, ``validate``).

    Returns
    -------
    Classification
        Item classes, sample class (1–6) with its label and status, deciding items, 超标倍数
        and main pollutants. Unknown codes are listed in ``unknown``, not silently dropped.

    Examples
    --------
    >>> r = classify({"w21003": 2.87, "w01018": 30, "w01009": 6.5})
    >>> r.label, r.item_classes["w21003"], round(r.exceedance["w21003"], 2)
    ('劣Ⅴ类', 6, 1.87)
    >>> r.main_pollutant_text()
    '氨氮(1.87)、化学需氧量(0.5)'
    """
    if not isinstance(sample, Mapping):
        raise InputError("sample", "must map parameter codes to values", type(sample).__name__)
    codes = [str(c) for c in sample]
    row = [_number(c, sample[c]) for c in sample]
    return classify_batch(
        np.array([row], dtype=float).reshape(1, len(codes)), codes, body, **options
    ).row(0)


__all__ = [
    "BatchClassification",
    "Classification",
    "as_floats",
    "check_values",
    "classify",
    "classify_batch",
    "item_class",
]
