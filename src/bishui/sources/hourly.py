"""The hourly entry of the one source-check pipeline, kept for its callers.

The checks on the loggers' hourly values (HJ 212 CN 2061) are :func:`bishui.sources.check.
check_block` with ``resolution="hour"``; the hourly rule variants, :func:`~bishui.sources.check.
hourly_ruleset` and :data:`~bishui.sources.check.FLAT_MIN_HOURS` live there with the table of
what changes on hours. :func:`check_block_hourly` is that call, without in-block twins (the
service pools them across blocks).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bishui.sources.check import (
    FLAT_MIN_HOURS,
    BlockResult,
    check_block,
    hourly_rule,
    hourly_ruleset,
    valid_hours,
)
from bishui.sources.findings import OutletRef
from bishui.sources.permits import Permit
from bishui.sources.rules import RuleSet

__all__ = [
    "FLAT_MIN_HOURS",
    "check_block_hourly",
    "hourly_rule",
    "hourly_ruleset",
    "valid_hours",
]


def check_block_hourly(
    ruleset: RuleSet,
    permits: Sequence[Permit],
    outlets: Sequence[OutletRef],
    pollutant: str,
    start: dt.datetime,
    conc: NDArray[np.float64],
    conc_flags: NDArray[np.uint8],
    *,
    o2: NDArray[np.float64] | None = None,
    o2_flags: NDArray[np.uint8] | None = None,
    flow: NDArray[np.float64] | None = None,
    flow_flags: NDArray[np.uint8] | None = None,
    range_low: ArrayLike = np.nan,
    range_high: ArrayLike = np.nan,
    flat_min_hours: int = FLAT_MIN_HOURS,
) -> BlockResult:
    """:func:`~bishui.sources.check.check_block` on hourly data, twins left to the caller."""
    return check_block(
        ruleset, permits, outlets, pollutant, start, conc, conc_flags, resolution="hour",
        o2=o2, o2_flags=o2_flags, flow=flow, flow_flags=flow_flags, range_low=range_low,
        range_high=range_high, twins=False, flat_min_hours=flat_min_hours,
    )  # fmt: skip
