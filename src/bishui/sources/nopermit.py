"""Discharge without a valid permit (无证排污).

Any discharge — auto-monitoring data showing flow or emissions — from an outlet whose permit is
missing, expired, revoked, or does not list that pollutant (排污许可管理条例 Art. 2, Art. 33).
Units under registration management (登记管理) need no permit (Art. 24): a registration record in
force that lists the outlet covers it, whatever the pollutant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from bishui.sources import findings as fd
from bishui.sources import flags as fl
from bishui.sources.findings import Finding, OutletRef
from bishui.sources.limits import period_dates
from bishui.sources.permits import ManagementClass, Permit
from bishui.sources.rules import RuleSet


def covered(
    permits: Sequence[Permit],
    outlets: Sequence[OutletRef],
    pollutant: str,
    first_day: dt.date,
    days: int,
) -> NDArray[np.bool_]:
    """``(outlets, days)``: True where a version in force lists the outlet and the pollutant."""
    dates = period_dates(dt.datetime.combine(first_day, dt.time()), days, dt.timedelta(days=1))
    out = np.zeros((len(outlets), days), dtype=bool)
    by_site: dict[str, list[Permit]] = {}
    for p in permits:
        by_site.setdefault(p.site_code, []).append(p)
    for row, ref in enumerate(outlets):
        for p in by_site.get(ref.site_code, ()):
            o = p.outlet(ref.outlet_id)
            if o is None:
                continue
            if (
                p.management_class is not ManagementClass.REGISTRATION
                and o.limit(pollutant) is None
            ):
                continue
            end = p.valid_to
            if p.revoked_on is not None:
                end = min(end, p.revoked_on - dt.timedelta(days=1))
            out[row] |= (dates >= np.datetime64(p.valid_from, "D")) & (
                dates <= np.datetime64(end, "D")
            )
    return out


def discharging_days(
    concentration: NDArray[np.float64],
    conc_flags: NDArray[np.uint8],
    flow: NDArray[np.float64] | None,
    min_minutes: int,
) -> NDArray[np.bool_]:
    """``(outlets, days)`` from minute data ``(outlets, days*1440)``: True on a day with at
    least *min_minutes* N-flagged minutes showing flow > 0 or concentration > 0."""
    c = np.asarray(concentration, dtype=np.float64)
    o, m = c.shape
    with np.errstate(invalid="ignore"):
        active = (conc_flags == fl.N) & (c > 0)
        if flow is not None:
            active |= np.asarray(flow, dtype=np.float64) > 0
    out: NDArray[np.bool_] = active.reshape(o, m // 1440, 1440).sum(axis=2) >= min_minutes
    return out


def check(
    permits: Sequence[Permit],
    outlets: Sequence[OutletRef],
    pollutant: str,
    first_day: dt.date,
    discharging: NDArray[np.bool_],
    ruleset: RuleSet,
) -> list[Finding]:
    """Findings (rule NOPERMIT): runs of discharging days not covered by a permit."""
    rule = ruleset["NOPERMIT"]
    bad = discharging & ~covered(permits, outlets, pollutant, first_day, discharging.shape[1])
    row, start, stop = fl.runs(bad)
    t0 = dt.datetime.combine(first_day, dt.time())
    day = dt.timedelta(days=1)
    out = []
    for r, s, e in zip(row.tolist(), start.tolist(), stop.tolist(), strict=True):
        ref = outlets[r]
        known = [p for p in permits if p.site_code == ref.site_code]
        reason = (
            "no permit for the site" if not known
            else "no version in force" if not any(p.is_in_force(first_day + s * day) for p in known)
            else "outlet or pollutant not listed"
        )  # fmt: skip
        out.append(
            fd.make(rule, ruleset.version, ref, pollutant, t0 + s * day, t0 + e * day,
                    {"days": e - s, "reason": reason},
                    message=f"{rule.title}: {reason}")
        )  # fmt: skip
    return out
