"""Permit limits laid out on the data's time grid, version by version.

A check on a date uses the permit version in force on that date (issue 6; 条例 Art. 14–16), so
the limit is not one number per outlet but an array over ``(outlets, periods)``: a period
takes the limit of the version in force on its date, NaN where none is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bishui.sources.findings import OutletRef
from bishui.sources.permits import Permit


@dataclass(frozen=True)
class LimitGrid:
    """Limits of one pollutant for ``(outlets, periods)``.

    ``upper``/``lower`` [check unit] are NaN where no limit applies (no permit in force, the
    pollutant not listed, or a different averaging period); ``ref_o2`` [%] is NaN where no
    conversion applies; ``version`` indexes :attr:`versions` (−1 for none).
    """

    upper: NDArray[np.float64]
    lower: NDArray[np.float64]
    ref_o2: NDArray[np.float64]
    version: NDArray[np.int32]
    versions: tuple[Permit, ...]

    def permit_at(self, row: int, period: int) -> Permit | None:
        i = int(self.version[row, period])
        return self.versions[i] if i >= 0 else None


def period_dates(start: dt.datetime, periods: int, step: dt.timedelta) -> NDArray[np.datetime64]:
    """The calendar date of each period start, as ``datetime64[D]``."""
    t0 = np.datetime64(start, "s")
    offsets = np.arange(periods, dtype=np.int64) * int(step.total_seconds())
    return (t0 + offsets.astype("timedelta64[s]")).astype("datetime64[D]")


def limit_grid(
    permits: Sequence[Permit],
    outlets: Sequence[OutletRef],
    pollutant: str,
    start: dt.datetime,
    periods: int,
    step: dt.timedelta,
    averaging: str | None = None,
) -> LimitGrid:
    """Lay out the limits of *pollutant* for *outlets* over *periods* steps from *start*.

    Parameters
    ----------
    averaging : {"hour", "day", None}
        Keep only limits judged on this averaging period; None keeps all.
    """
    shape = (len(outlets), periods)
    upper = np.full(shape, np.nan)
    lower = np.full(shape, np.nan)
    ref = np.full(shape, np.nan)
    version = np.full(shape, -1, dtype=np.int32)
    dates = period_dates(start, periods, step)
    versions: list[Permit] = []
    by_site: dict[str, list[Permit]] = {}
    for p in permits:
        by_site.setdefault(p.site_code, []).append(p)
    # Loops run over outlets × permit versions (a handful each); the time axis is vectorised.
    for row, ref_outlet in enumerate(outlets):
        for p in by_site.get(ref_outlet.site_code, ()):
            outlet = p.outlet(ref_outlet.outlet_id)
            lim = outlet.limit(pollutant) if outlet is not None else None
            if lim is None or (averaging is not None and lim.averaging != averaging):
                continue
            end = (
                p.valid_to
                if p.revoked_on is None
                else min(p.valid_to, p.revoked_on - dt.timedelta(days=1))
            )
            mask = (dates >= np.datetime64(p.valid_from, "D")) & (dates <= np.datetime64(end, "D"))
            if not mask.any():
                continue
            versions.append(p)
            factor = lim.in_check_unit() / float(lim.value)
            upper[row, mask] = lim.in_check_unit()
            lower[row, mask] = np.nan if lim.lower is None else float(lim.lower) * factor
            ref[row, mask] = np.nan if lim.reference_o2 is None else float(lim.reference_o2)
            version[row, mask] = len(versions) - 1
    return LimitGrid(upper, lower, ref, version, tuple(versions))
