"""Energy accounts: physical quantities → standard coal, intensity, reduction rates, savings,
dual control (双控). Pure core, no storage; every figure exact.

Units and rounding (docs/energy.md §Exactness):

* physical quantities are integers of the coefficient's unit (kg, m³, kWh, MJ);
* energy is held in **integer kgce** (千克标准煤): ``quantity × coefficient`` is an exact
  integer product (coefficients scaled by 10⁵), rounded once per record to 1 kgce by
  GB/T 8170-2008 §3 (half to even); totals are exact integer sums;
* GDP is a :class:`~decimal.Decimal` in 万元, with its price basis (``price_base`` = the year
  whose prices it is in; current prices when ``price_base == year``);
* intensity is tce/万元, rounded to **4 decimals** before any ratio, as the provincial bulletins
  do (notes B.6, Hunan Statistics Bureau 2016 bulletin [V]); rates are rounded to 2 decimals of
  a per cent only for display.

Conversion: GB/T 2589-2020 §8 and Annex A (data/coefficients.csv, each row dated and tagged).
Electricity has two bases: the **equivalent value** (当量值, its own heat content,
0.1229 kgce/kWh) and the **equal-value** (等价值, the coal burned to generate it: the year's
thermal-power coal rate for supply, an input per year, never a constant here). Every total
names its basis.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cache
from importlib import resources

import numpy as np
from numpy.typing import NDArray

from bishui.errors import InputError

#: The two bases of electricity (and of every total that includes it).
EQUIVALENT = "equivalent"  # 当量值
EQUAL_VALUE = "equal_value"  # 等价值
BASES: dict[str, tuple[str, str]] = {
    EQUIVALENT: ("当量值", "equivalent value"),
    EQUAL_VALUE: ("等价值", "equal-value (coal rate of generation)"),
}
#: Coefficients are held as integers of 10⁻⁵ kgce per unit (0.03412 has five decimals).
SCALE = 100_000
#: kgce per tce.
KGCE_PER_TCE = 1000
#: The three public areas of energy saving plus industry (issue 18 item 1).
UNIT_KINDS: dict[str, tuple[str, str]] = {
    "industry": ("工业企业", "industrial enterprise"),
    "public_institution": ("公共机构", "public institution"),
    "building": ("建筑", "building"),
    "service": ("服务业", "service business"),
}
#: Renewable energy carriers counted in the renewable share (electricity from wind, solar,
#: hydro, biomass and geothermal: the 2022 notice's scope, notes §2.2 [S]).
RENEWABLE = ("renewable_electricity",)
INTENSITY_DIGITS = 4


@dataclass(frozen=True, slots=True)
class Coefficient:
    """One row of GB/T 2589-2020 Annex A as transcribed (data/coefficients.csv)."""

    code: str
    name_zh: str
    name_en: str
    unit: str
    kgce_per_unit: Decimal
    valid_from: dt.date
    source: str
    tag: str

    @property
    def scaled(self) -> int:
        return int(self.kgce_per_unit * SCALE)


@cache
def coefficients() -> dict[str, Coefficient]:
    """The standard-coal coefficients (GB/T 2589-2020 Annex A), from the package data file."""
    src = resources.files("bishui.energy") / "data" / "coefficients.csv"
    with src.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    out: dict[str, Coefficient] = {}
    for r in rows:
        k = Decimal(r["kgce_per_unit"])
        if k * SCALE != int(k * SCALE):
            raise InputError("kgce_per_unit", "at most 5 decimals", r["kgce_per_unit"])
        out[r["code"]] = Coefficient(
            r["code"], r["name_zh"], r["name_en"], r["unit"], k,
            dt.date.fromisoformat(r["valid_from"]), r["source"], r["tag"],
        )  # fmt: skip
    # renewable electricity is electricity: its heat-content coefficient on the equivalent basis
    el = out["electricity"]
    out["renewable_electricity"] = Coefficient(
        "renewable_electricity", "可再生能源电力", "renewable electricity", "kWh",
        el.kgce_per_unit, el.valid_from, el.source, el.tag,
    )  # fmt: skip
    return out


def coefficient(code: str, field_name: str = "fuel") -> Coefficient:
    try:
        return coefficients()[code]
    except KeyError:
        raise InputError(
            field_name, "a fuel of GB/T 2589-2020 Annex A known to bishui", code
        ) from None


def check_equal_value_rate(rate: Decimal) -> int:
    """The equal-value coefficient of electricity [kgce/kWh] as scaled integer; refused outside
    0.2–0.5 kgce/kWh (a thermal-power coal rate for supply; a units slip would land far out)."""
    if not isinstance(rate, Decimal) or not Decimal("0.2") <= rate <= Decimal("0.5"):
        raise InputError("equal_value_kgce_per_kwh", "0.2–0.5 kgce/kWh", rate)
    if rate * SCALE != int(rate * SCALE):
        raise InputError("equal_value_kgce_per_kwh", "at most 5 decimals", rate)
    return int(rate * SCALE)


def round_div_half_even(num: NDArray[np.int64], den: int) -> NDArray[np.int64]:
    """``num / den`` rounded to an integer, half to even (GB/T 8170-2008 §3), exactly."""
    q, r = np.divmod(num, den)
    twice = 2 * r
    up = (twice > den) | ((twice == den) & (q % 2 == 1))
    return q + up.astype(np.int64)


def to_kgce(quantity: NDArray[np.int64], scaled_coef: NDArray[np.int64]) -> NDArray[np.int64]:
    """Physical quantities × coefficients → integer kgce per record (vectorised, exact).

    ``quantity`` in the coefficient's unit; ``scaled_coef`` in 10⁻⁵ kgce per unit. The product
    is exact in int64 while ``|quantity| < 6·10¹³`` (refused beyond)."""
    q = np.asarray(quantity, dtype=np.int64)
    c = np.asarray(scaled_coef, dtype=np.int64)
    if q.size and int(np.abs(q).max()) >= 60_000_000_000_000:
        raise InputError("quantity", "below 6·10¹³ units per record", int(np.abs(q).max()))
    return round_div_half_even(q * c, SCALE)


@dataclass(frozen=True, slots=True)
class Use:
    """One energy-use record: a unit's consumption of one fuel in one year."""

    unit_id: str
    fuel: str
    quantity: int  # in the fuel's unit
    feedstock: bool = False  # 原料用能: used as raw material, not as fuel or power


@dataclass(frozen=True, slots=True)
class Totals:
    """A set of uses in kgce on both bases, with what the exclusions need."""

    equivalent_kgce: int
    equal_value_kgce: int | None  # None when the year's equal-value coefficient is unknown
    feedstock_kgce: int  # on the equivalent basis (feedstock is never electricity)
    renewable_electricity_kwh: int
    renewable_kgce: dict[str, int | None]  # per basis
    by_fuel: dict[str, dict[str, int | None]] = field(default_factory=dict)  # fuel → basis → kgce

    def total(self, basis: str) -> int:
        if basis == EQUIVALENT:
            return self.equivalent_kgce
        if basis == EQUAL_VALUE:
            if self.equal_value_kgce is None:
                raise InputError(
                    "basis", "the year's equal-value coefficient is not entered", basis
                )
            return self.equal_value_kgce
        raise InputError("basis", f"one of {', '.join(BASES)}", basis)

    def renewable(self, basis: str) -> int:
        self.total(basis)
        v = self.renewable_kgce[basis]
        assert v is not None
        return v

    def renewable_share(self, basis: str) -> Fraction | None:
        """Renewable electricity's share of the total on *basis* (None for a zero total)."""
        t = self.total(basis)
        return Fraction(self.renewable(basis), t) if t else None


def totals(uses: Sequence[Use], equal_value_kgce_per_kwh: Decimal | None) -> Totals:
    """Convert *uses* to kgce on both bases (GB/T 2589-2020 §8; electricity on the equivalent
    value 0.1229 kgce/kWh and on the year's equal-value coal rate; without that rate the
    equal-value figures are None, never a guess)."""
    known = equal_value_kgce_per_kwh is not None
    ev = 0 if equal_value_kgce_per_kwh is None else check_equal_value_rate(equal_value_kgce_per_kwh)
    n = len(uses)
    q = np.fromiter((u.quantity for u in uses), dtype=np.int64, count=n)
    coefs = [coefficient(u.fuel) for u in uses]
    c_eq = np.fromiter((c.scaled for c in coefs), dtype=np.int64, count=n)
    is_el = np.fromiter((c.unit == "kWh" for c in coefs), dtype=bool, count=n)
    c_ev = np.where(is_el, ev, c_eq)
    k_eq = to_kgce(q, c_eq)
    k_ev = to_kgce(q, c_ev)
    feed = np.fromiter((u.feedstock for u in uses), dtype=bool, count=n)
    if bool((feed & is_el).any()):
        raise InputError("feedstock", "electricity is not a feedstock (原料用能)", True)
    ren = np.fromiter((u.fuel in RENEWABLE for u in uses), dtype=bool, count=n)
    acc: dict[str, list[int]] = {}
    for u, a, b in zip(uses, k_eq.tolist(), k_ev.tolist(), strict=True):
        d = acc.setdefault(u.fuel, [0, 0])
        d[0] += a
        d[1] += b
    by_fuel: dict[str, dict[str, int | None]] = {
        f: {EQUIVALENT: a, EQUAL_VALUE: b if known else None} for f, (a, b) in acc.items()
    }
    return Totals(
        equivalent_kgce=int(k_eq.sum()),
        equal_value_kgce=int(k_ev.sum()) if known else None,
        feedstock_kgce=int(k_eq[feed].sum()),
        renewable_electricity_kwh=int(q[ren].sum()),
        renewable_kgce={
            EQUIVALENT: int(k_eq[ren].sum()),
            EQUAL_VALUE: int(k_ev[ren].sum()) if known else None,
        },
        by_fuel=by_fuel,
    )


# -- GDP and intensity ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Gdp:
    """A GDP figure: the year, the prices it is in (``price_base``) and the value [万元]."""

    year: int
    price_base: int
    value_wan: Decimal
    source: str = ""

    @property
    def current(self) -> bool:
        return self.year == self.price_base


def deflator(current: Gdp, comparable: Gdp) -> Fraction:
    """The implicit deflator of *current* against *comparable* (same year): current ÷ comparable
    (1.0092 for Jingmen 2016: 1 521.0 against 1 507.2 亿元 at 2015 prices)."""
    if current.year != comparable.year or not current.current:
        raise InputError(
            "gdp", "a current-price and a comparable-price figure of one year", current
        )
    return Fraction(current.value_wan) / Fraction(comparable.value_wan)


def round_half_even(q: Fraction, digits: int) -> Fraction:
    """*q* rounded to *digits* decimals, half to even (GB/T 8170-2008 §3), exactly."""
    scale = 10**digits
    n = q * scale
    f = n.numerator // n.denominator
    rem = n - f
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and f % 2 == 1):
        f += 1
    return Fraction(f, scale)


def intensity_exact(energy_kgce: int, gdp_wan: Decimal) -> Fraction:
    """Energy per 万元 of GDP [tce/万元], exact."""
    if gdp_wan <= 0:
        raise InputError("gdp", "a positive GDP", gdp_wan)
    return Fraction(energy_kgce, KGCE_PER_TCE) / Fraction(gdp_wan)


def intensity(energy_kgce: int, gdp_wan: Decimal) -> Fraction:
    """万元GDP能耗 [tce/万元] rounded to 4 decimals (the bulletin's precision, notes B.6 [V])."""
    return round_half_even(intensity_exact(energy_kgce, gdp_wan), INTENSITY_DIGITS)


def change_rate(i_now: Fraction, i_before: Fraction) -> Fraction:
    """万元GDP能耗升降 = I_t ÷ I_{t−1} − 1 (negative = a fall), from intensities already rounded
    to 4 decimals on **one** price basis (Hunan 2016 bulletin formula, notes B.6 [V])."""
    if i_before <= 0:
        raise InputError("intensity", "a positive base intensity", i_before)
    return i_now / i_before - 1


def chained(rates: Iterable[Fraction]) -> Fraction:
    """Cumulative change across years whose annual rates were each computed on their own
    price basis: Π(1 + r_i) − 1 (notes B.6: K = 1 − Π(1 − k_i) with k the falls [S]).

    A period spanning two price bases (2010 prices for 2011–15, 2015 prices for 2016) must be
    chained; a direct ratio of intensities on different bases is not a reduction rate."""
    p = Fraction(1)
    for r in rates:
        p *= 1 + r
    return p - 1


def annual_rate_for(target_cumulative_fall: Fraction, years: int) -> Fraction:
    """The constant annual fall that compounds to *target_cumulative_fall* over *years*
    (20 % over 5 years ⇔ 4.3648 %/yr, notes B.6 [S]); a float root rounded to 8 decimals."""
    per = 1 - (1 - float(target_cumulative_fall)) ** (1 / years)
    return Fraction(round(per, 8)).limit_denominator(10**8)


def savings_kgce(energy_kgce: int, gdp_wan: Decimal, base_intensity: Fraction) -> int:
    """Energy saved against a named baseline intensity [kgce], output-value method:
    I_base × GDP_t (comparable prices) − E_t (positive = saved; GB/T 13234-2018's sign is the
    opposite [U]). Rounded half to even to 1 kgce."""
    s = base_intensity * Fraction(gdp_wan) * KGCE_PER_TCE - energy_kgce
    return int(round_half_even(s, 0))


def implied_base_intensity(energy_kgce: int, savings: int, gdp_wan: Decimal) -> Fraction:
    """The baseline intensity a published savings figure implies: (E + S) ÷ GDP (exact). Used to
    *name* an assumption in a reconciliation, never to fill a missing baseline silently."""
    return Fraction(energy_kgce + savings, KGCE_PER_TCE) / Fraction(gdp_wan)


# -- dual control (双控) ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Exclusions:
    """Which deductions a dual-control check applies (notes §2.2 [S]), as parameters.

    ``feedstock``: 原料用能 is deducted from the energy of the target year **and** of the base
    year, for the total and the intensity; GDP is not adjusted (发改环资〔2022〕803号 [S]).
    ``renewable``: the increase of renewable electricity over ``renewable_base_year`` is
    deducted from the **total** check; ``renewable_in_intensity`` says whether it is also
    deducted from the intensity (the 2022 notice: no; the Feb 2024 green-certificate notice:
    cross-province certificates may offset up to 50 % of the needed saving [S] — kept as a
    separate parameter, not applied by default)."""

    feedstock: bool = True
    renewable: bool = True
    renewable_base_year: int = 2020
    renewable_in_intensity: bool = False

    @classmethod
    def none(cls) -> Exclusions:
        return cls(feedstock=False, renewable=False)


@dataclass(frozen=True, slots=True)
class Target:
    """A county's dual-control target for one year: the intensity fall against ``base_year``
    (basic and, optionally, incentive) and an optional total cap [kgce, on ``basis``]."""

    county: str
    year: int
    base_year: int
    intensity_fall: Fraction  # basic target, e.g. 0.135 for −13.5 % against the base year
    incentive_fall: Fraction | None = None
    total_cap_kgce: int | None = None
    basis: str = EQUIVALENT
    source: str = ""


@dataclass(frozen=True, slots=True)
class Attainment:
    county: str
    year: int
    basis: str
    energy_kgce: int  # after the exclusions applied to the total
    intensity_energy_kgce: int  # after the exclusions applied to the intensity
    base_intensity: Fraction  # 4 dp
    intensity_now: Fraction  # 4 dp
    fall: Fraction  # achieved fall against the base year (positive = fall)
    completion: Fraction | None  # fall ÷ target fall
    intensity_met: bool
    incentive_met: bool | None
    total_met: bool | None  # None when there is no cap or the total check is exempt
    total_exempt: bool
    deductions: dict[str, int]


def attainment(
    target: Target,
    now: Totals,
    base: Totals,
    gdp_now: Decimal,
    gdp_base: Decimal,
    *,
    renewable_base_kwh: int = 0,
    renewable_base_kgce: int = 0,
    exclusions: Exclusions = Exclusions(),
) -> Attainment:
    """Dual-control attainment of *target* (notes §2.1–2.2 [S]).

    Both GDP figures must be at the **same** prices (the plan's base year); the intensity fall
    is 1 − I_now ÷ I_base with both intensities rounded to 4 decimals. A county reaching its
    incentive target is exempt from the total check (1310号 [S])."""
    basis = target.basis
    e_now, e_base = now.total(basis), base.total(basis)
    ded: dict[str, int] = {}
    e_int_now, e_int_base = e_now, e_base
    if exclusions.feedstock:
        ded["feedstock_now"], ded["feedstock_base"] = now.feedstock_kgce, base.feedstock_kgce
        e_now -= now.feedstock_kgce
        e_base -= base.feedstock_kgce
        e_int_now -= now.feedstock_kgce
        e_int_base -= base.feedstock_kgce
    e_total = e_now
    if exclusions.renewable:
        inc = max(0, now.renewable(basis) - renewable_base_kgce)
        ded["renewable_increase"] = inc
        ded["renewable_increase_kwh"] = max(0, now.renewable_electricity_kwh - renewable_base_kwh)
        e_total -= inc
        if exclusions.renewable_in_intensity:
            e_int_now -= inc
    i_base = intensity(e_int_base, gdp_base)
    i_now = intensity(e_int_now, gdp_now)
    fall = -change_rate(i_now, i_base)
    met = fall >= target.intensity_fall
    inc_met = None if target.incentive_fall is None else fall >= target.incentive_fall
    exempt = bool(inc_met)
    total_met = None
    if target.total_cap_kgce is not None and not exempt:
        total_met = e_total <= target.total_cap_kgce
    completion = fall / target.intensity_fall if target.intensity_fall else None
    return Attainment(
        target.county, target.year, basis, e_total, e_int_now, i_base, i_now, fall, completion,
        met, inc_met, total_met, exempt, ded,
    )  # fmt: skip


# -- registers of measures ------------------------------------------------------------------------
#: Kinds of energy-saving measure the plan names (issue 18 item 1).
MEASURE_KINDS: dict[str, tuple[str, str]] = {
    "boiler_closed": ("10蒸吨/小时以下燃煤锅炉淘汰", "coal boiler under 10 t/h closed"),
    "boiler_converted": ("10蒸吨/小时以下燃煤锅炉改造", "coal boiler under 10 t/h converted"),
    "small_unit_shut": ("小火电机组关停", "small generating unit shut"),
    "district_heating": ("集中供热", "district heating"),
    "other": ("其他节能措施", "other measure"),
}


def claimed_by(measures: Iterable[Mapping[str, object]], key: str) -> dict[object, int]:
    """Sum claimed savings [kgce] per ``key`` (county, kind, year …)."""
    out: dict[object, int] = {}
    for m in measures:
        v = m["claimed_kgce"]
        if not isinstance(v, int):
            raise InputError("claimed_kgce", "integer kgce", v)
        out[m[key]] = out.get(m[key], 0) + v
    return out
