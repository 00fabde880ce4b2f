"""Concentration limits of GB 3095-2012 and GB 3095-2026 (Table 1), by edition, phase and grade.

GB 3095-2026 Table 1 has two phases: the transition limits (过渡阶段) for 2026-03-01 …
2030-12-31 and the final limits from 2031-01-01 (notes ``air.md`` §3.2). GB 3095-2012 has one set
(phase ``"all"``). Values: ``data/gb3095-2012_table1_limits.csv`` and
``data/gb3095-2026_table1_limits.csv``.
"""

from __future__ import annotations

from typing import Literal

from bishui.air.editions import DateLike, Edition, check_edition, gb3095_phase
from bishui.air.tables import limit_table
from bishui.errors import InputError

Period = Literal["annual", "daily", "mda8", "hourly"]
Phase = Literal["all", "transition", "final"]


def limit(
    pollutant: str,
    period: Period,
    grade: int = 2,
    *,
    edition: Edition | None = None,
    phase: Phase | None = None,
    when: DateLike | None = None,
) -> float:
    """The GB 3095 concentration limit of one pollutant and averaging period.

    Parameters
    ----------
    pollutant : {"SO2", "NO2", "CO", "O3", "PM10", "PM2.5"}
    period : {"annual", "daily", "mda8", "hourly"}
    grade : {1, 2}
        一级 (class-one areas) or 二级 (class-two areas).
    edition, phase : optional
        GB 3095 edition ("2012"/"2026") and phase ("all" for 2012; "transition"/"final" for
        2026). Both default from *when*.
    when : date, optional
        Date of the data; fixes edition and phase when they are not given.

    Returns
    -------
    float
        Limit [µg/m³; CO mg/m³].
    """
    if edition is None and phase is None:
        if when is None:
            raise InputError("edition", "give an edition and phase, or the date of the data", None)
        phase = gb3095_phase(when)
    if edition is None:
        edition = "2012" if phase == "all" else "2026"
    ed = check_edition(edition)
    if phase is None:
        phase = "all" if ed == "2012" else gb3095_phase(when) if when is not None else "transition"
    if (ed == "2012") != (phase == "all"):
        raise InputError("phase", f"GB 3095-{ed} has no phase {phase!r}", phase)
    if grade not in (1, 2):
        raise InputError("grade", "must be 1 or 2", grade)
    try:
        g1, g2 = limit_table(ed)[(pollutant, period, phase)]
    except KeyError:
        raise InputError(
            "pollutant", f"GB 3095-{ed} Table 1 has no {period} limit for it", pollutant
        ) from None
    return float(g1 if grade == 1 else g2)


def limit_set(
    grade: int = 2,
    *,
    edition: Edition | None = None,
    phase: Phase | None = None,
    when: DateLike | None = None,
) -> dict[tuple[str, str], float]:
    """All limits of one edition/phase/grade as ``{(pollutant, period): limit}``."""
    if edition is None and phase is None and when is not None:
        phase = gb3095_phase(when)
    ed = check_edition(edition or ("2012" if phase == "all" else "2026"))
    ph = phase or ("all" if ed == "2012" else "transition")
    return {
        (p, per): limit(p, per, grade, edition=ed, phase=ph)  # type: ignore[arg-type]
        for (p, per, phx) in limit_table(ed)
        if phx == ph
    }
