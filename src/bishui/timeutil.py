"""Time in the standards' clock.

HJ 212 data times, AQI report hours and every assessment period are Beijing time
(Asia/Shanghai, UTC+8, no daylight saving). bishui stores *naive* timestamps that mean
Beijing time, exactly as the data loggers send them, and converts only at the edges.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
BEIJING_OFFSET = dt.timedelta(hours=8)


def now_beijing() -> dt.datetime:
    """The current Beijing time as a naive datetime (the store's convention)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None) + BEIJING_OFFSET


def to_beijing_naive(t: dt.datetime) -> dt.datetime:
    """Convert an aware datetime to naive Beijing time; naive input is taken as Beijing time."""
    if t.tzinfo is None:
        return t
    return t.astimezone(SHANGHAI).replace(tzinfo=None)
