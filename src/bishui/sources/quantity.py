"""Emitted mass and the annual permitted quantity (许可排放量, 超总量).

Mass is summed from valid hours (HJ 212-2017 eq. 33 / eq. 8: measured concentration × flow);
HJ 75-2017 missing-data substitution is unverified (notes C1), so missing hours are **counted
and reported**, not filled (rule MASS, ``substitution = "none"``). The cumulative mass of the
calendar year is compared with the annual permitted quantity of the permit version in force at
the end of the data: warnings at 80 % and 90 %, breach at 100 % (rule CAP; 条例 Art. 34).

Exact units. A day's mass is held in **integer grams** — the exact sum of the day's
``C × Q`` (:mod:`bishui.exact`), rounded once by GB/T 8170 (half to even) to the reported
precision of 1 g — and the year's total is the exact integer sum of the days. A level is
reached on the first day the exact total is at or above ``level × cap`` (全数值比较法,
:data:`bishui.exact.CHECKS` ``"sources.cap"``): 0.3 t a day against 109.5 t reaches 100 % on
31 December and 80 % on 19 October.

Coverage. A year-to-date total is only as complete as its data: :class:`CapStatus` carries the
days with data and the days elapsed, and every CAP finding and cap-usage row reports them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from bishui import exact as ex
from bishui.air.rounding import round_gbt8170
from bishui.errors import InputError
from bishui.sources import conversion
from bishui.sources import findings as fd
from bishui.sources.findings import Finding, OutletRef
from bishui.sources.permits import Permit
from bishui.sources.rules import RuleSet

#: Reported precision of quantities: 1 g (1e-6 t).
QUANTUM = Decimal("0.000001")
#: Grams per tonne.
G_PER_T = 1_000_000
#: Grams per (concentration × flow × 1 h): air mg/m³ × m³ = mg → 10⁻³ g (HJ 212-2017 eq. 33);
#: water mg/L × m³ = g (eq. 8).
_G_PER_CQ = {"air": Fraction(1, 1000), "water": Fraction(1)}


def daily_mass(
    concentration: NDArray[np.float64], flow: NDArray[np.float64], medium: str
) -> tuple[NDArray[np.float64], NDArray[np.int16]]:
    """Daily mass [t, a whole number of grams] from hourly means ``(rows, hours)``, exactly.

    Parameters
    ----------
    concentration : ndarray, shape (rows, days·24)
        Hourly means of the measured concentration [mg/m³ or mg/L], NaN where invalid.
    flow : ndarray, same shape
        Hourly mean flow [m³/h], NaN where invalid.
    medium : {"air", "water"}

    Returns
    -------
    (daily_t, missing)
        ``daily_t`` [t]: the exact ``Σ C·Q·1 h`` of the day's valid hours in grams, rounded
        half to even to whole grams, divided by 10⁶ (so ``round(daily_t·10⁶)`` is the integer
        gram count); ``missing`` the hours without a mass.
    """
    if medium not in _G_PER_CQ:
        raise InputError("medium", "air or water", medium)
    c = np.asarray(concentration, dtype=np.float64)
    q = np.asarray(flow, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] % 24 or q.shape != c.shape:
        raise InputError("concentration", "(rows, hours) with whole days", c.shape)
    r, n = c.shape
    ok = ~np.isnan(c) & ~np.isnan(q)
    missing = (~ok).reshape(r, n // 24, 24).sum(axis=2, dtype=np.int16)
    cz, qz = np.where(ok, c, 0.0), np.where(ok, q, 0.0)
    k = _G_PER_CQ[medium]
    grams: NDArray[np.float64] | None = None
    u = ex.common_units([cz, qz])
    if u is not None:
        (cu, qu), d = u
        if ex.max_abs(cu) * ex.max_abs(qu) * 24 < 2.0**53:  # every product and day sum exact
            num = (cu * qu).reshape(r, n // 24, 24).sum(axis=2)
            # exact integer of 10^-2d (C·Q); one division gives the nearest float of the grams.
            den = float(k.denominator) * 10.0 ** (2 * d)
            if ex.fits(den):
                grams = num * float(k.numerator) / den
    if grams is None:
        approx = (cz * qz).reshape(r, n // 24, 24).sum(axis=2) * float(k)
        cr, qr = cz.reshape(-1, 24), qz.reshape(-1, 24)

        def exact_of(idx: NDArray[np.intp]) -> list[Fraction | None]:
            return [
                sum((ex.written(a) * ex.written(b) for a, b in zip(cr[i], qr[i], strict=True)),
                    Fraction(0)) * k
                for i in idx
            ]  # fmt: skip

        # A zero sum of non-negative terms is exactly zero (an outlet at rest): not rechecked.
        nonneg = ((cz >= 0) & (qz >= 0)).reshape(r, n // 24, 24).all(axis=2)
        grams = ex.settle(approx, exact_of, grid_digits=0, known=(approx == 0) & nonneg)
    whole = round_gbt8170(grams, 0)
    return whole / G_PER_T, missing


def grams(daily_t: NDArray[np.float64]) -> NDArray[np.int64]:
    """Integer grams of daily masses given in tonnes (NaN counts as 0)."""
    d = np.nan_to_num(np.asarray(daily_t, dtype=np.float64), nan=0.0)
    return np.rint(d * G_PER_T).astype(np.int64)


def hourly_mass_t(
    concentration: NDArray[np.float64], flow: NDArray[np.float64], medium: str
) -> NDArray[np.float64]:
    """Mass per hour [t] from hourly means of measured concentration and flow [m³/h].

    NaN where either is invalid. Air: mg/m³ (eq. 33); water: mg/L (eq. 8).
    """
    if medium == "air":
        kg = conversion.air_mass_kg(concentration, flow)
    elif medium == "water":
        kg = conversion.water_mass_kg(concentration, flow)
    else:
        raise InputError("medium", "air or water", medium)
    return kg / 1000.0


def daily_mass_t(hourly_t: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.int16]]:
    """Daily sums [t] of hourly masses ``(rows, hours)`` and the missing hours per day."""
    h = np.asarray(hourly_t, dtype=np.float64)
    if h.ndim != 2 or h.shape[1] % 24:
        raise InputError("hourly_t", "(rows, hours) with whole days", h.shape)
    r, n = h.shape
    days = np.nansum(h.reshape(r, n // 24, 24), axis=2)
    missing = np.isnan(h).reshape(r, n // 24, 24).sum(axis=2, dtype=np.int16)
    return days, missing


@dataclass(frozen=True)
class CapStatus:
    """Cumulative mass of one pollutant against a cap.

    ``crossings`` holds ``(level, date, cumulative_t)`` for every level reached, in order;
    ``projected`` the date the cap is reached at the recent rate (None if the rate is zero, or
    so small that the date lies past the calendar).
    ``total_g`` is the exact total [g]; ``days_with_data`` / ``days_elapsed`` = ``coverage``
    says how much of the period the total rests on (None where the caller did not say).
    """

    cap_t: Decimal
    total_t: Decimal
    share: float
    crossings: tuple[tuple[float, dt.date, Decimal], ...]
    projected: dt.date | None
    rate_t_per_day: float
    total_g: int = 0
    days_elapsed: int = 0
    days_with_data: int | None = None

    @property
    def coverage(self) -> float | None:
        """Days with data / days elapsed (None when unknown)."""
        if self.days_with_data is None or self.days_elapsed <= 0:
            return None
        return self.days_with_data / self.days_elapsed


def cap_status(
    daily_t: NDArray[np.float64],
    first_day: dt.date,
    cap_t: Decimal,
    levels: Sequence[float],
    window_days: int = 30,
    *,
    days_with_data: int | None = None,
) -> CapStatus:
    """Where the cumulative mass crosses each ``level × cap``, and when the cap will be reached.

    Parameters
    ----------
    daily_t : ndarray, shape (days,)
        Mass per day [t] from *first_day*, whole grams (:func:`daily_mass`; NaN counts as 0).
    cap_t : Decimal
        Annual permitted quantity [t].
    levels : sequence of float
        Shares of the cap to report, increasing (0.8, 0.9, 1.0); read as the decimals they
        are written as.
    window_days : int
        Days at the end of the data whose mean rate is projected forward.
    days_with_data : int, optional
        Days of the period that have mass data (for :attr:`CapStatus.coverage`).

    Notes
    -----
    Exact: the days are summed as integer grams and a level counts as reached on the first day
    the cumulative mass is **at or above** ``level × cap`` (compared exactly).
    Projection: ``last day + ceil((cap − total)/rate)`` days, rate = mean of the last
    *window_days* days.
    """
    d = np.asarray(daily_t, dtype=np.float64)
    if d.ndim != 1 or (np.nan_to_num(d) < 0).any():
        raise InputError("daily_t", "a 1-D array of non-negative masses", d.shape)
    g = grams(d)
    cum = np.cumsum(g)
    total_g = int(cum[-1]) if len(cum) else 0
    cap_g = Fraction(cap_t) * G_PER_T
    crossings = []
    thresholds = [math.ceil(ex.written(lv) * cap_g) for lv in levels]
    idx = np.searchsorted(cum, np.array(thresholds, dtype=np.int64), side="left")
    for lv, i in zip(levels, idx, strict=True):
        if i < len(cum):
            crossings.append((float(lv), first_day + dt.timedelta(days=int(i)), _g(int(cum[i]))))
    rate_g = Fraction(int(g[-window_days:].sum()), len(g[-window_days:])) if len(g) else 0
    last = first_day + dt.timedelta(days=len(d) - 1)
    if total_g >= cap_g:
        projected: dt.date | None = crossings[-1][1] if crossings else last
    elif rate_g > 0 and (days := math.ceil((cap_g - total_g) / rate_g)) <= _days_left(last):
        projected = last + dt.timedelta(days=days)
    else:  # no emission, or a rate so small the cap lies past the calendar: never reached
        projected = None
    share = float(Fraction(total_g) / cap_g) if cap_g > 0 else math.inf
    return CapStatus(cap_t, _g(total_g), share, tuple(crossings), projected,
                     float(rate_g) / G_PER_T, total_g, len(d), days_with_data)  # fmt: skip


def _days_left(day: dt.date) -> int:
    return (dt.date.max - day).days


def _g(grams_: int) -> Decimal:
    return (Decimal(grams_) / G_PER_T).quantize(QUANTUM)


def check_caps(
    permits: Sequence[Permit],
    site_code: str,
    pollutant: str,
    daily_t: NDArray[np.float64],
    first_day: dt.date,
    ruleset: RuleSet,
    missing_hours: int = 0,
    days_with_data: int | None = None,
) -> list[Finding]:
    """Findings (rule CAP) for one site and pollutant over one calendar year of daily masses.

    *daily_t* is the site's mass per day [t] (all its outlets summed), from *first_day*
    (within one calendar year). The cap is that of the version in force on the last day (or,
    if none is, of the latest version in force during the period).
    One finding per level reached: the warnings at the rule's ``warn_levels`` (severity low,
    then medium) and the breach (severity high).
    """
    rule = ruleset["CAP"]
    last = first_day + dt.timedelta(days=len(daily_t) - 1)
    if last.year != first_day.year:
        raise InputError("daily_t", "one calendar year of days", (first_day, last))
    mine = [p for p in permits if p.site_code == site_code]
    # The version in force on the last day; failing that (expired or revoked during the
    # year) the latest version that was in force at some time in the period.
    permit = next((p for p in mine if p.is_in_force(last)), None)
    if permit is None:
        during = [p for p in mine if p.valid_from <= last and p.valid_to >= first_day]
        permit = max(during, key=lambda p: p.valid_from, default=None)
    if permit is None or pollutant not in permit.annual_caps:
        return []
    warn = [float(x) for x in rule["warn_levels"]]
    levels = [*warn, float(rule["breach_level"])]
    st = cap_status(daily_t, first_day, permit.annual_caps[pollutant], levels,
                    rule["projection_window_days"], days_with_data=days_with_data)  # fmt: skip
    out = []
    for lv, day, cum in st.crossings:
        breach = lv >= levels[-1]
        out.append(
            fd.make(
                rule, ruleset.version, OutletRef(site_code, ""), pollutant,
                dt.datetime.combine(first_day, dt.time()),
                dt.datetime.combine(day + dt.timedelta(days=1), dt.time()),
                {
                    "level": lv, "cumulative_t": str(cum), "cap_t": str(st.cap_t),
                    "total_t": str(st.total_t), "share": st.share,
                    "projected_date": st.projected.isoformat() if st.projected else None,
                    "rate_t_per_day": st.rate_t_per_day, "missing_hours": missing_hours,
                    "breach": breach, "days_elapsed": st.days_elapsed,
                    "days_with_data": st.days_with_data, "coverage": st.coverage,
                },
                severity="high" if breach else "low" if lv == warn[0] else "medium",
                permit_no=permit.permit_no, permit_version=permit.version,
                message=f"{rule.title}: {lv:.0%} reached on {day.isoformat()}",
            )
        )  # fmt: skip
    return out
