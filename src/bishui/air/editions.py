"""Which edition of the air standards applies to a piece of data.

GB 3095-2026, HJ 633-2026 and HJ 663-2026 replaced GB 3095-2012, HJ 633-2012 and HJ 663-2013 on
**2026-03-01** (HJ 633-2026 and GB 3095-2026 forewords; notes ``air.md`` §0). Data is judged by
the edition in force on the date of the data (project rule 5). Within GB 3095-2026 the Grade II
limits change again on **2031-01-01** (Table 1, 过渡阶段 → 最终阶段).

Two labels are used throughout the package: ``"2012"`` (GB 3095-2012 / HJ 633-2012 / HJ 663-2013)
and ``"2026"`` (GB 3095-2026 / HJ 633-2026 / HJ 663-2026).

Date of an hourly value: HJ 663 labels an hourly mean by the end of its hour (the value labelled
X covers (X-1h, X]), and the day D runs over the values labelled D 01:00 … D+1 00:00 (HJ 633-2012
§5.1.2 "当日零点前24小时"; notes §4.3). A *datetime* is therefore taken as such a label and dated
by the start of its hour: 2026-03-01 00:00 is data of 2026-02-28 and is judged by the 2012 rules,
2026-03-01 01:00 by the 2026 rules. A *date* is taken as the day itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import numpy.typing as npt

from bishui.errors import InputError

Edition = Literal["2012", "2026"]
EDITIONS: tuple[Edition, ...] = ("2012", "2026")

#: First day of the 2026 editions (GB 3095-2026, HJ 633-2026, HJ 663-2026).
SWITCH_2026 = dt.date(2026, 3, 1)
#: First day of the GB 3095-2026 final-stage (最终阶段) limits.
FINAL_STAGE_2031 = dt.date(2031, 1, 1)

_SWITCH64 = np.datetime64("2026-03-01", "D")

DateLike = dt.date | dt.datetime | np.datetime64 | str


def check_edition(edition: object) -> Edition:
    """Validate an edition label and return it typed."""
    if edition == "2012" or edition == 2012:
        return "2012"
    if edition == "2026" or edition == 2026:
        return "2026"
    raise InputError("edition", 'must be "2012" or "2026" (or None with a date)', edition)


def data_day(when: DateLike) -> dt.date:
    """The day a date or an hour label belongs to (hour labels are dated by their hour's start).

    Parameters
    ----------
    when : date, datetime, numpy.datetime64 or ISO string
        A day, or the end-of-hour label of an hourly value.

    Returns
    -------
    datetime.date
    """
    if isinstance(when, str):
        try:
            when = (
                dt.datetime.fromisoformat(when)
                if ("T" in when or " " in when)
                else (dt.date.fromisoformat(when))
            )
        except ValueError:
            raise InputError("date", "must be an ISO date or datetime", when) from None
    if isinstance(when, np.datetime64):
        if np.datetime_data(when.dtype)[0] in ("Y", "M", "W", "D"):
            return dt.date.fromisoformat(str(when.astype("datetime64[D]")))
        when = dt.datetime.fromisoformat(str(when.astype("datetime64[s]")))
    if isinstance(when, dt.datetime):
        return (when - dt.timedelta(hours=1)).date()
    if isinstance(when, dt.date):
        return when
    raise InputError("date", "must be a date, a datetime or an ISO string", when)


def edition_for(when: DateLike) -> Edition:
    """The edition in force for data of *when* (a day, or an end-of-hour label).

    Parameters
    ----------
    when : date, datetime, numpy.datetime64 or ISO string

    Returns
    -------
    "2012" before 2026-03-01, "2026" from then on.
    """
    return "2026" if data_day(when) >= SWITCH_2026 else "2012"


def editions_for(when: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Vectorised :func:`edition_for`: a boolean array, True where the 2026 edition applies.

    Parameters
    ----------
    when : array of datetime64
        Days (``datetime64[D]``) or end-of-hour labels (finer units; dated by their hour's start).

    Returns
    -------
    numpy.ndarray of bool
    """
    a = np.asarray(when)
    if a.dtype.kind != "M":
        try:
            a = a.astype("datetime64")
        except (ValueError, TypeError):
            raise InputError("date", "must be datetime64 values or ISO strings", when) from None
    unit = np.datetime_data(a.dtype)[0]
    if unit not in ("Y", "M", "W", "D"):
        a = (a - np.timedelta64(1, "h")).astype("datetime64[D]")
    return np.asarray(a.astype("datetime64[D]") >= _SWITCH64)


def gb3095_phase(when: DateLike) -> Literal["all", "transition", "final"]:
    """The GB 3095 limit phase for data of *when*.

    ``"all"`` for GB 3095-2012 (one set of limits), ``"transition"`` for 2026-03-01 … 2030-12-31
    and ``"final"`` from 2031-01-01 (GB 3095-2026 Table 1).
    """
    day = data_day(when)
    if day < SWITCH_2026:
        return "all"
    return "final" if day >= FINAL_STAGE_2031 else "transition"
