"""Total-emission reduction accounts (主要污染物总量减排核算). Pure core, no storage.

Per county, pollutant and year the emitted mass is the sum of its sources' figures, each on a
stated **basis**, in this order of preference (notes §1.3: online monitoring, 执行报告, factors
[S/U]):

``monitoring``   the year's mass from online monitoring (``bishui.sources``: Σ valid hours of
                 C × Q, HJ 212-2017 eq. 8/33), used when the days with data reach
                 ``min_coverage`` of the year (a bishui parameter, default 0.9 — the capture-rate
                 KPI of O&M tenders, notes C [V], not a reduction-accounting rule);
``declared``     actual emissions a unit declared (排污许可执行报告 annual report);
``factor``       activity × emission factor (data/emission_factors.csv or a stated factor);
``permit``       the permitted annual quantity (许可排放量) — an **upper bound**, used only when
                 nothing else exists, and labelled so.

Masses are integer grams (as ``bishui.sources.quantity`` holds them); tonnes for display.

Targets: the 12th/13th-FYP form is a % cut of the total against a base year (notes §1.1 [S]);
the 14th-FYP form is 重点工程减排量 in tonnes per pollutant and jurisdiction, met by the
reductions of recognised key projects (notes §1.3 [S]). A project's reduction is its emissions
before minus after at the same activity [U: the 14th-FYP technical guide was not found]. The
12th-FYP identity emissions_t = emissions_{t−1} + 新增量 − 削减量 [U] gives the new increment
the projects do not explain.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cache
from importlib import resources

import numpy as np
from numpy.typing import NDArray

from bishui.errors import ConflictError, InputError

#: The four main pollutants: key → (HJ 212-2017 code, Chinese name, English name).
POLLUTANTS: dict[str, tuple[str, str, str]] = {
    "COD": ("w01018", "化学需氧量", "COD"),
    "NH3N": ("w21003", "氨氮", "ammonia nitrogen"),
    "SO2": ("a21026", "二氧化硫", "SO2"),
    "NOX": ("a21002", "氮氧化物", "NOx"),
}
BY_CODE = {v[0]: k for k, v in POLLUTANTS.items()}
#: Controlled pollutants per plan period (notes §1.1 [S/V]); VOCs are not accounted here.
PLAN_POLLUTANTS: dict[str, tuple[str, ...]] = {
    "11th": ("COD", "SO2"),
    "12th": ("COD", "NH3N", "SO2", "NOX"),
    "13th": ("COD", "NH3N", "SO2", "NOX"),
    "14th": ("COD", "NH3N", "NOX"),  # SO2 dropped
}
BASES: dict[str, tuple[str, str]] = {
    "monitoring": ("在线监测", "online monitoring"),
    "declared": ("执行报告申报", "declared (execution report)"),
    "factor": ("排放系数核算", "emission factor"),
    "permit": ("许可排放量（上限）", "permitted quantity (upper bound)"),
}
PREFERENCE = ("monitoring", "declared", "factor", "permit")
PROJECT_KINDS: dict[str, tuple[str, str]] = {
    "engineering": ("工程减排", "treatment project"),
    "structural": ("结构减排", "capacity closed"),
    "management": ("管理减排", "better operation"),
}
G_PER_T = 1_000_000
DEFAULT_MIN_COVERAGE = Fraction(9, 10)


def pollutant(key: str, field_name: str = "pollutant") -> str:
    """Normalise a pollutant key or HJ 212 code to the key (COD, NH3N, SO2, NOX)."""
    k = str(key).upper().replace("-", "").replace("_", "")
    if k in POLLUTANTS:
        return k
    if key in BY_CODE:
        return BY_CODE[key]
    raise InputError(field_name, "one of COD, NH3N, SO2, NOX (or its HJ 212 code)", key)


@dataclass(frozen=True, slots=True)
class Factor:
    code: str
    pollutant: str
    activity: str
    unit: str
    grams_per_unit: Decimal
    source: str
    tag: str


@cache
def factors() -> dict[str, Factor]:
    """Emission factors (data/emission_factors.csv; each sourced and tagged)."""
    src = resources.files("bishui.energy") / "data" / "emission_factors.csv"
    with src.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    return {
        r["code"]: Factor(r["code"], pollutant(r["pollutant"]), r["activity"], r["unit"],
                          Decimal(r["grams_per_unit"]), r["source"], r["tag"])
        for r in rows
    }  # fmt: skip


def factor_grams(activity: int, grams_per_unit: Decimal) -> int:
    """activity × factor [g], rounded half to even to 1 g."""
    if activity < 0:
        raise InputError("activity", "not negative", activity)
    if grams_per_unit < 0:
        raise InputError("grams_per_unit", "not negative", grams_per_unit)
    return int((Decimal(activity) * grams_per_unit).quantize(Decimal(1), "ROUND_HALF_EVEN"))


def sulphur_factor(sulphur_percent: Decimal) -> Decimal:
    """SO2 from burning coal [g per kg of coal] = 1 000 × S% ÷ 100 × 0.8 × 2 (the local
    排放强度法 example, notes §1.2 [S]: 80 % of the sulphur converts, SO2/S = 2)."""
    if not Decimal(0) <= sulphur_percent <= Decimal(10):
        raise InputError("sulphur_percent", "0–10 %", sulphur_percent)
    return Decimal(10) * sulphur_percent * Decimal("0.8") * 2


@dataclass(frozen=True, slots=True)
class SourceYear:
    """What is known about one source's pollutant in one year (any may be absent)."""

    source_id: str
    county: str
    pollutant: str
    year: int
    monitored_g: int | None = None
    days_with_data: int = 0
    days_in_year: int = 365
    declared_g: int | None = None
    factor_g: int | None = None
    permit_g: int | None = None


@dataclass(frozen=True, slots=True)
class Figure:
    source_id: str
    county: str
    pollutant: str
    year: int
    grams: int
    basis: str
    coverage: Fraction | None  # monitoring coverage (days with data ÷ days), when monitored


def choose(
    rows: Sequence[SourceYear], min_coverage: Fraction = DEFAULT_MIN_COVERAGE
) -> list[Figure]:
    """Each source's figure on the first basis available in :data:`PREFERENCE` (vectorised)."""
    if not 0 <= min_coverage <= 1:
        raise InputError("min_coverage", "0–1", min_coverage)
    n = len(rows)
    neg = np.int64(-1)

    def col(name: str) -> NDArray[np.int64]:
        return np.fromiter(
            (neg if getattr(r, name) is None else getattr(r, name) for r in rows),
            dtype=np.int64, count=n,
        )  # fmt: skip

    mon, dec, fac, per = col("monitored_g"), col("declared_g"), col("factor_g"), col("permit_g")
    days = np.fromiter((r.days_with_data for r in rows), dtype=np.int64, count=n)
    total = np.fromiter((r.days_in_year for r in rows), dtype=np.int64, count=n)
    # days × den ≥ num × total  ⇔  days / total ≥ min_coverage (exact)
    ok_mon = (mon >= 0) & (days * min_coverage.denominator >= min_coverage.numerator * total)
    basis = np.select([ok_mon, dec >= 0, fac >= 0, per >= 0], [0, 1, 2, 3], default=-1)
    grams = np.select([basis == 0, basis == 1, basis == 2, basis == 3], [mon, dec, fac, per], 0)
    out: list[Figure] = []
    for r, b, g, d, t in zip(rows, basis.tolist(), grams.tolist(), days.tolist(),
                             total.tolist(), strict=True):  # fmt: skip
        if b < 0:
            continue
        cov = Fraction(d, t) if r.monitored_g is not None and t else None
        out.append(Figure(r.source_id, r.county, r.pollutant, r.year, g, PREFERENCE[b], cov))
    return out


@dataclass(frozen=True, slots=True)
class CountyTotal:
    county: str
    pollutant: str
    year: int
    grams: int
    by_basis: dict[str, int] = field(default_factory=dict)
    sources: int = 0


def county_totals(figures: Iterable[Figure], extra: Iterable[Figure] = ()) -> list[CountyTotal]:
    """Σ figures per (county, pollutant, year), with the share of each basis."""
    acc: dict[tuple[str, str, int], dict[str, int]] = {}
    counts: dict[tuple[str, str, int], int] = {}
    for f in [*figures, *extra]:
        k = (f.county, f.pollutant, f.year)
        d = acc.setdefault(k, {})
        d[f.basis] = d.get(f.basis, 0) + f.grams
        counts[k] = counts.get(k, 0) + 1
    return [
        CountyTotal(c, p, y, sum(d.values()), dict(sorted(d.items())), counts[(c, p, y)])
        for (c, p, y), d in sorted(acc.items())
    ]


@dataclass(frozen=True, slots=True)
class Project:
    """A key reduction project (重点减排工程) with its reduction for one pollutant."""

    id: str
    county: str
    pollutant: str
    year: int  # the year its reduction counts in
    kind: str
    before_g: int
    after_g: int
    basis: str  # how before/after were measured (one of BASES)
    recognised: bool = True  # 中省认可: runs stably and is accepted
    name: str = ""

    @property
    def reduction_g(self) -> int:
        return self.before_g - self.after_g

    def validate(self) -> None:
        if self.kind not in PROJECT_KINDS:
            raise InputError("kind", f"one of {', '.join(PROJECT_KINDS)}", self.kind)
        if self.basis not in BASES:
            raise InputError("basis", f"one of {', '.join(BASES)}", self.basis)
        if self.before_g < 0 or self.after_g < 0:
            raise InputError("before_g", "masses are not negative", (self.before_g, self.after_g))
        if self.after_g > self.before_g:
            raise InputError("after_g", "not above the mass before", self.after_g)


def check_projects(projects: Sequence[Project]) -> None:
    """Refuse double counting: one (project, pollutant) counts once (notes §1.3 [U])."""
    seen: set[tuple[str, str]] = set()
    for p in projects:
        p.validate()
        k = (p.id, p.pollutant)
        if k in seen:
            raise ConflictError(f"project {p.id} is counted twice for {p.pollutant}")
        seen.add(k)


@dataclass(frozen=True, slots=True)
class ReductionTarget:
    """``kind`` "percent": cut the total by ``value`` (a fraction) against ``base_year``;
    ``kind`` "tonnes": 重点工程减排量 of ``value`` t from recognised projects in
    ``base_year`` < year ≤ ``year``."""

    county: str
    pollutant: str
    base_year: int
    year: int
    kind: str
    value: Decimal
    source: str = ""


@dataclass(frozen=True, slots=True)
class ReductionResult:
    county: str
    pollutant: str
    year: int
    base_year: int
    kind: str
    target: Decimal
    base_g: int | None
    now_g: int | None
    total_cut_g: int | None  # base − now
    total_cut: Fraction | None  # (base − now) ÷ base
    project_cut_g: int  # Σ recognised projects in the period
    unrecognised_g: int  # Σ projects not (yet) recognised
    new_increment_g: int | None  # now − base + projects (the 12th-FYP identity [U])
    met: bool | None
    projects: list[str]


def assess(
    target: ReductionTarget,
    totals: dict[tuple[str, str, int], int],
    projects: Sequence[Project],
) -> ReductionResult:
    """Judge *target* from county totals ``{(county, pollutant, year): grams}`` and *projects*."""
    if target.kind not in ("percent", "tonnes"):
        raise InputError("kind", "percent or tonnes", target.kind)
    base = totals.get((target.county, target.pollutant, target.base_year))
    now = totals.get((target.county, target.pollutant, target.year))
    mine = [p for p in projects if p.county == target.county and p.pollutant == target.pollutant
            and target.base_year < p.year <= target.year]  # fmt: skip
    rec = sum(p.reduction_g for p in mine if p.recognised)
    unrec = sum(p.reduction_g for p in mine if not p.recognised)
    cut_g = None if base is None or now is None else base - now
    cut = None if cut_g is None or not base else Fraction(cut_g, base)
    incr = None if cut_g is None else rec - cut_g
    met: bool | None
    if target.kind == "percent":
        met = None if cut is None else cut >= Fraction(target.value)
    else:
        met = Fraction(rec, G_PER_T) >= Fraction(target.value)
    return ReductionResult(
        target.county, target.pollutant, target.year, target.base_year, target.kind,
        target.value, base, now, cut_g, cut, rec, unrec, incr, met, [p.id for p in mine],
    )  # fmt: skip


def tonnes(grams: int | None) -> Decimal | None:
    """Grams as tonnes, exactly (6 decimals)."""
    return None if grams is None else Decimal(grams) / G_PER_T
