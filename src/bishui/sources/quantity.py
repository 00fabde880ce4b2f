"""Emitted mass and the annual permitted quantity (许可排放量, 超总量).

Mass is summed from valid hours (HJ 212-2017 eq. 33 / eq. 8: measured concentration × flow);
HJ 75-2017 missing-data substitution is unverified (notes C1), so missing hours are **counted
and reported**, not filled (rule MASS, ``substitution = "none"``). The cumulative mass of the
calendar year is compared with the annual permitted quantity of the permit version in force at
the end of the data: warnings at 80 % and 90 %, breach at 100 % (rule CAP; 条例 Art. 34).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from bishui.errors import InputError
from bishui.sources import conversion
from bishui.sources import findings as fd
from bishui.sources.findings import Finding, OutletRef
from bishui.sources.permits import Permit
from bishui.sources.rules import RuleSet

#: Reported precision of quantities: 1 g (1e-6 t).
QUANTUM = Decimal("0.000001")


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
    ``projected`` the date the cap is reached at the recent rate (None if the rate is zero).
    """

    cap_t: Decimal
    total_t: Decimal
    share: float
    crossings: tuple[tuple[float, dt.date, Decimal], ...]
    projected: dt.date | None
    rate_t_per_day: float


def cap_status(
    daily_t: NDArray[np.float64],
    first_day: dt.date,
    cap_t: Decimal,
    levels: Sequence[float],
    window_days: int = 30,
) -> CapStatus:
    """Where the cumulative mass crosses each ``level × cap``, and when the cap will be reached.

    Parameters
    ----------
    daily_t : ndarray, shape (days,)
        Mass per day [t] from *first_day* (NaN counts as 0).
    cap_t : Decimal
        Annual permitted quantity [t].
    levels : sequence of float
        Shares of the cap to report, increasing (0.8, 0.9, 1.0).
    window_days : int
        Days at the end of the data whose mean rate is projected forward.

    Notes
    -----
    A level counts as reached on the first day the cumulative mass is **at or above** it.
    Projection: ``last day + ceil((cap − total)/rate)`` days, rate = mean of the last
    *window_days* days.
    """
    d = np.nan_to_num(np.asarray(daily_t, dtype=np.float64), nan=0.0)
    if d.ndim != 1 or (d < 0).any():
        raise InputError("daily_t", "a 1-D array of non-negative masses", d.shape)
    cum = np.cumsum(d)
    total = float(cum[-1]) if len(cum) else 0.0
    cap = float(cap_t)
    crossings = []
    thresholds = np.array([lv * cap for lv in levels])
    idx = np.searchsorted(cum, thresholds, side="left")
    for lv, i in zip(levels, idx, strict=True):
        if i < len(cum):
            crossings.append((float(lv), first_day + dt.timedelta(days=int(i)), _t(float(cum[i]))))
    rate = float(d[-window_days:].mean()) if len(d) else 0.0
    last = first_day + dt.timedelta(days=len(d) - 1)
    if total >= cap:
        projected: dt.date | None = crossings[-1][1] if crossings else last
    elif rate > 0:
        projected = last + dt.timedelta(days=math.ceil((cap - total) / rate))
    else:
        projected = None
    share = total / cap if cap > 0 else math.inf
    return CapStatus(cap_t, _t(total), share, tuple(crossings), projected, rate)


def _t(x: float) -> Decimal:
    return Decimal(repr(x)).quantize(QUANTUM)


def check_caps(
    permits: Sequence[Permit],
    site_code: str,
    pollutant: str,
    daily_t: NDArray[np.float64],
    first_day: dt.date,
    ruleset: RuleSet,
    missing_hours: int = 0,
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
                    rule["projection_window_days"])  # fmt: skip
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
                    "breach": breach,
                },
                severity="high" if breach else "low" if lv == warn[0] else "medium",
                permit_no=permit.permit_no, permit_version=permit.version,
                message=f"{rule.title}: {lv:.0%} reached on {day.isoformat()}",
            )
        )  # fmt: skip
    return out
