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


HOUR = dt.timedelta(hours=1)


def hour_label(start: dt.datetime) -> dt.datetime:
    """The published label of the hour that starts at *start*: its **end**.

    An hourly value labelled X is the mean over (X−1 h, X] (HJ 663-2013 Table A.1 as quoted in
    GB/T 34302-2017: "1小时平均…即是整点时刻前1小时时段内点位污染物浓度的算术平均值"; notes in
    standards/air.md §4.3), so the data of 13:00–14:00 is published as "14时", as CNEMC's
    real-time publication platform (全国城市空气质量实时发布平台) shows it. The store keeps
    HJ 212's convention (an hourly row's ``ts`` is the start of its hour, DataTime of CN 2061);
    this function is the one place that turns one into the other, and every page, API and
    export uses it (docs/air.md, "Real-time publication").
    """
    return start.replace(minute=0, second=0, microsecond=0) + HOUR


def current_hour(now: dt.datetime | None = None) -> dt.datetime:
    """The end label of the newest **complete** hour at *now* (naive Beijing time).

    The real-time report is of the hour just ended: HJ 633-2012 §5.1.3 publishes it after each
    exact hour with at most 1 h lag, HJ 633-2026 §4.2.3 reports the current 1-hour averages and
    §5.2.2 keeps the "after each exact hour, at most 1 h late" rule. At 14:20 the newest complete
    hour is 13:00–14:00, labelled 14:00; the hour in progress (14:00–15:00) is never published.
    The value equals *now* floored to the hour, which is also the exclusive upper bound on the
    stored start (``ts``) of the hourly rows that may be published.
    """
    now = now_beijing() if now is None else to_beijing_naive(now)
    return now.replace(minute=0, second=0, microsecond=0)
