"""Air quality index (AQI), primary pollutant, level and category: HJ 633-2012 and HJ 633-2026.

* AQI = max of the IAQIs (HJ 633-2012 §4.3 formula (2); HJ 633-2026 §4.2.4).
* Primary pollutant (首要污染物): when AQI > 50, the indicator(s) with the largest IAQI, ties all
  listed (HJ 633-2012 §4.4.2; HJ 633-2026 keeps the rule). None when AQI ≤ 50.
* Exceeding pollutants (超标污染物): IAQI > 100 (HJ 633-2012 §3.4, §4.4.2); the 2026 edition
  removed the concept (foreword), so it is ``None`` for 2026.
* Level, category and colour: HJ 633-2012 Table 2 / Annex A; HJ 633-2026 Table 1 / Table A.1.
* Reports: daily report (日报) and real-time report (实时报) indicators per edition
  (HJ 633-2012 §5.1.2, §5.1.3; HJ 633-2026 §4.2.2, §4.2.3) — see :data:`INDICATORS`.
* Missing indicators: HJ 633-2026 §5.3.1 — the AQI is computed from the others and published
  only if it exceeds 100; otherwise AQI, primary pollutant, level and category are "NA".
  §5.3.2 — an indicator outside the monitoring plan (passed in ``not_monitored``) is shown as
  "/" and does not trigger NA. HJ 633-2012 says nothing: by default the AQI is published from
  the indicators present and the report is marked ``incomplete`` (``missing_rule`` chooses).

:func:`aqi` is the batch form (any array shape: stations × hours …); :meth:`AQIBatch.report`
and :func:`aqi_report` give one report as plain Python values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from bishui.air.editions import DateLike, Edition, check_edition, edition_for
from bishui.air.iaqi import POLLUTANTS, Above, as_concentration, check_concentration, iaqi
from bishui.air.rounding import round_gbt8170
from bishui.air.tables import Level, level_table
from bishui.errors import InputError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Kind = Literal["daily", "realtime"]
MissingRule = Literal["na", "partial"]

#: Indicators of each report (keys of :func:`bishui.air.iaqi.iaqi`).
#: daily 2012 (§5.1.2): five 24-h means, O3 daily max 1-h, O3 MDA8;
#: daily 2026 (§4.2.2): five daily means and O3 MDA8 (no O3 1-h);
#: realtime 2012 (§5.1.3): six 1-h values and the O3 8-h sliding mean (PM on the daily table);
#: realtime 2026 (§4.2.3): six 1-h values only.
INDICATORS: dict[tuple[Kind, Edition], tuple[str, ...]] = {
    ("daily", "2012"): ("SO2_24h", "NO2_24h", "PM10_24h", "CO_24h", "O3_1h", "O3_8h", "PM2.5_24h"),
    ("daily", "2026"): ("SO2_24h", "NO2_24h", "PM10_24h", "CO_24h", "O3_8h", "PM2.5_24h"),
    ("realtime", "2012"): ("SO2_1h", "NO2_1h", "PM10_1h", "CO_1h", "O3_1h", "O3_8h", "PM2.5_1h"),
    ("realtime", "2026"): ("SO2_1h", "NO2_1h", "PM10_1h", "CO_1h", "O3_1h", "PM2.5_1h"),
}
#: Chinese names used in published reports.
NAMES_ZH: dict[str, str] = {
    "SO2_24h": "二氧化硫", "SO2_1h": "二氧化硫1小时", "NO2_24h": "二氧化氮",
    "NO2_1h": "二氧化氮1小时", "PM10_24h": "颗粒物(PM10)", "PM10_1h": "颗粒物(PM10)",
    "CO_24h": "一氧化碳", "CO_1h": "一氧化碳1小时", "O3_1h": "臭氧1小时", "O3_8h": "臭氧8小时",
    "PM2.5_24h": "细颗粒物(PM2.5)", "PM2.5_1h": "细颗粒物(PM2.5)",
}  # fmt: skip
#: Level boundaries: level = 1 + number of these strictly below the AQI (Table 2 / Table 1).
_LEVEL_TOPS = np.array([50.0, 100.0, 150.0, 200.0, 300.0])

STATUS = ("missing", "complete", "incomplete", "NA")
"""``status`` codes: 0 no indicator at all; 1 all indicators present; 2 some missing, AQI
published from the others; 3 some missing and AQI ≤ 100 under the NA rule (not published)."""


@dataclass(frozen=True)
class AQIReport:
    """One AQI report as plain values (``None`` where the report shows "NA")."""

    edition: Edition
    status: str
    aqi: int | None
    aqi_computed: int | None
    primary: tuple[str, ...] | None
    level: int | None
    level_name: str | None
    category: str | None
    colour: str | None
    hex: str | None
    exceeding: tuple[str, ...] | None
    iaqi: dict[str, int | None]
    missing: tuple[str, ...]
    not_monitored: tuple[str, ...]
    concentration: dict[str, float | None] = field(default_factory=dict)

    def display(self) -> dict[str, str]:
        """Published strings: "NA" for suppressed or missing values, "/" for not monitored."""
        na = "NA"
        out = {
            "AQI": na if self.aqi is None else str(self.aqi),
            "首要污染物": na
            if self.primary is None
            else ("—" if not self.primary else "、".join(self.primary)),
            "级别": self.level_name or na,
            "类别": self.category or na,
        }
        for k, v in self.iaqi.items():
            out[f"IAQI {k}"] = "/" if k in self.not_monitored else (na if v is None else str(v))
        return out


@dataclass(frozen=True)
class AQIBatch:
    """AQI of many reports at once (every array has the batch shape).

    Attributes
    ----------
    edition : "2012" or "2026"
    indicators : tuple of str
    iaqi : dict of numpy.ndarray
        Integer IAQI per indicator (float64, NaN missing) [1].
    aqi : numpy.ndarray of float64
        AQI computed from the indicators present (NaN when none) [1].
    published : numpy.ndarray of bool
        False where the report shows "NA" (2026 §5.3.1) or no indicator exists.
    status : numpy.ndarray of int8
        Index into :data:`STATUS`.
    level : numpy.ndarray of int8
        1..6 from the computed AQI, 0 where it is NaN.
    primary : dict of numpy.ndarray of bool
        Per indicator: primary pollutant (AQI > 50 and IAQI == AQI).
    exceeding : dict of numpy.ndarray of bool, or None
        Per indicator: IAQI > 100 (2012 only).
    concentration : dict of numpy.ndarray
        The concentrations used (rounded when the report rounds) [µg/m³; CO mg/m³].
    """

    edition: Edition
    indicators: tuple[str, ...]
    iaqi: dict[str, FloatArray]
    aqi: FloatArray
    published: BoolArray
    status: npt.NDArray[np.int8]
    level: npt.NDArray[np.int8]
    primary: dict[str, BoolArray]
    exceeding: dict[str, BoolArray] | None
    not_monitored: tuple[str, ...]
    concentration: dict[str, FloatArray] = field(default_factory=dict)

    def report(self, index: int | tuple[int, ...] = ()) -> AQIReport:
        """The report at *index* of the batch, as plain Python values."""

        def num(a: FloatArray) -> float | None:
            v = float(a[index])
            return None if np.isnan(v) else v

        computed = num(self.aqi)
        pub = bool(self.published[index])
        status = STATUS[int(self.status[index])]
        lvl: Level | None = None
        if pub and computed is not None:
            lvl = level_table(self.edition)[int(self.level[index]) - 1]
        iaqis = {k: num(v) for k, v in self.iaqi.items()}
        primary = None
        if pub:
            primary = tuple(k for k in self.indicators if bool(self.primary[k][index]))
        exceeding = None
        if self.exceeding is not None and computed is not None:
            exceeding = tuple(k for k in self.indicators if bool(self.exceeding[k][index]))
        return AQIReport(
            edition=self.edition,
            status=status,
            aqi=int(computed) if pub and computed is not None else None,
            aqi_computed=None if computed is None else int(computed),
            primary=primary,
            level=lvl.level if lvl else None,
            level_name=lvl.level_name if lvl else None,
            category=lvl.category if lvl else None,
            colour=lvl.colour if lvl else None,
            hex=lvl.hex if lvl else None,
            exceeding=exceeding,
            iaqi={k: None if v is None else int(v) for k, v in iaqis.items()},
            missing=tuple(
                k for k in self.indicators if iaqis[k] is None and k not in self.not_monitored
            ),
            not_monitored=self.not_monitored,
            concentration={k: num(v) for k, v in self.concentration.items()},
        )


def level_of(aqi_values: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """AQI level 1..6 (HJ 633-2012 Table 2; HJ 633-2026 Table 1); 0 where the AQI is NaN."""
    a = np.asarray(aqi_values, dtype=np.float64)
    lvl = np.ones(a.shape, dtype=np.int8)
    for top in _LEVEL_TOPS:
        lvl += a > top
    lvl[np.isnan(a)] = 0
    return lvl


def aqi(
    iaqis: Mapping[str, npt.ArrayLike | None],
    edition: Edition | Literal[2012, 2026],
    *,
    indicators: Iterable[str] | None = None,
    not_monitored: Iterable[str] = (),
    missing_rule: MissingRule | None = None,
) -> AQIBatch:
    """Combine IAQIs into the AQI with primary pollutants, level and publication status.

    Parameters
    ----------
    iaqis : mapping of indicator → array_like or None
        IAQI per indicator [1]; NaN or None marks a missing / invalid indicator. Arrays
        broadcast together (e.g. stations × hours).
    edition : "2012" or "2026"
    indicators : iterable of str, optional
        The indicators the report must have (default: the keys of *iaqis*). Any not given is
        missing.
    not_monitored : iterable of str
        Indicators outside the monitoring plan (HJ 633-2026 §5.3.2): shown "/", never trigger NA.
    missing_rule : {"na", "partial"}, optional
        "na": HJ 633-2026 §5.3.1 (publish only if AQI > 100); "partial": publish the AQI of the
        indicators present. Default "na" for 2026, "partial" for 2012 (the text is silent).

    Returns
    -------
    AQIBatch
    """
    ed = check_edition(edition)
    inds = tuple(indicators) if indicators is not None else tuple(iaqis)
    for k in inds:
        if k not in POLLUTANTS:
            raise InputError("indicator", "must be one of " + ", ".join(POLLUTANTS), k)
    skip = tuple(k for k in inds if k in set(not_monitored))
    rule = missing_rule or ("na" if ed == "2026" else "partial")
    if rule not in ("na", "partial"):
        raise InputError("missing_rule", 'must be "na" or "partial"', rule)
    given = [np.asarray(v, dtype=np.float64) for v in iaqis.values() if v is not None]
    shape = np.broadcast_shapes(*(g.shape for g in given)) if given else ()
    vals: dict[str, FloatArray] = {}
    for k in inds:
        v = iaqis.get(k)
        vals[k] = (
            np.full(shape, np.nan)
            if v is None or k in skip
            else np.broadcast_to(np.asarray(v, dtype=np.float64), shape)
        )
    stack = np.stack([vals[k] for k in inds]) if inds else np.full((1, *shape), np.nan)
    present = ~np.isnan(stack)
    any_present = present.any(axis=0)
    need = [i for i, k in enumerate(inds) if k not in skip]
    complete = present[need].all(axis=0) if need else np.ones(shape, dtype=np.bool_)
    total = np.where(any_present, np.fmax.reduce(stack, axis=0), np.nan)
    status = np.where(complete, 1, 2).astype(np.int8)
    published: BoolArray = np.array(any_present, dtype=np.bool_)
    if rule == "na":
        na = ~complete & ~(total > 100)
        published &= ~na
        status[na] = 3
    status[~any_present] = 0
    primary = {k: (vals[k] == total) & (total > 50) for k in inds}
    exceeding = {k: vals[k] > 100 for k in inds} if ed == "2012" else None
    return AQIBatch(
        edition=ed,
        indicators=inds,
        iaqi=vals,
        aqi=total,
        published=published,
        status=status,
        level=level_of(total),
        primary=primary,
        exceeding=exceeding,
        not_monitored=skip,
    )


def aqi_report(
    iaqis: Mapping[str, float | None],
    edition: Edition | Literal[2012, 2026],
    **kwargs: object,
) -> AQIReport:
    """One report from scalar IAQIs: :func:`aqi` on scalars, then :meth:`AQIBatch.report`."""
    return aqi(iaqis, edition, **kwargs).report()  # type: ignore[arg-type]


def _report(
    kind: Kind,
    conc: Mapping[str, npt.ArrayLike | None],
    edition: Edition | Literal[2012, 2026] | None,
    date: DateLike | None,
    round_first: bool,
    above: Above,
    not_monitored: Iterable[str],
    missing_rule: MissingRule | None,
    extra: Mapping[str, str],
) -> AQIBatch:
    if edition is None:
        if date is None:
            raise InputError("edition", "give an edition or the date of the data", None)
        edition = edition_for(date)
    ed = check_edition(edition)
    inds = INDICATORS[(kind, ed)]
    if ed == "2026":
        extra = {}  # the 2026 real-time report has 1-hour indicators only (§4.2.3)
    unknown = set(conc) - set(inds) - set(extra)
    if unknown:
        raise InputError(
            "indicator", f"not an indicator of the {ed} {kind} report", sorted(unknown)[0]
        )
    values: dict[str, FloatArray] = {}
    for k, v in conc.items():
        if v is None:
            continue
        arr = as_concentration(k, v)
        check_concentration(k, arr)  # before rounding: -0.4 must not round to an accepted 0
        values[k] = round_gbt8170(arr, 1 if k.startswith("CO") else 0) if round_first else arr
    iaqis: dict[str, FloatArray | None] = {}
    replaced: dict[str, BoolArray] = {}
    for k in inds:
        key = extra.get(k, k)
        if key not in values:
            iaqis[k] = None
            continue
        companion_key = {"SO2_1h": "SO2_24h", "O3_8h": "O3_1h"}.get(k)
        companion = values.get(companion_key) if companion_key else None
        res = iaqi(k, values[key], ed, round_first=False, above=above, companion=companion)
        iaqis[k] = res.value
        if companion_key in inds and res.footnote.any():
            # HJ 633-2012 Table 1 notes (2), (3): above 800 the other period's IAQI is reported
            # in place of this one — the same pollutant, so it must not be a second primary.
            replaced[k] = res.footnote
    batch = aqi(iaqis, ed, indicators=inds, not_monitored=not_monitored, missing_rule=missing_rule)
    if replaced:
        primary = dict(batch.primary)
        for k, foot in replaced.items():
            primary[k] = primary[k] & ~np.broadcast_to(foot, primary[k].shape)
        batch = replace(batch, primary=primary)
    return replace(batch, concentration=values)


def daily_report(
    conc: Mapping[str, npt.ArrayLike | None],
    edition: Edition | Literal[2012, 2026] | None = None,
    *,
    date: DateLike | None = None,
    round_first: bool = True,
    above: Above = "cap",
    not_monitored: Iterable[str] = (),
    missing_rule: MissingRule | None = None,
) -> AQIBatch:
    """The daily report (日报) of one or many stations / days.

    Parameters
    ----------
    conc : mapping of indicator → array_like
        ``SO2_24h, NO2_24h, PM10_24h, CO_24h, PM2.5_24h`` daily means, ``O3_8h`` the O3 MDA8 and,
        for 2012 only, ``O3_1h`` the O3 daily maximum 1-hour value [µg/m³; CO mg/m³]. NaN or a
        missing key marks an invalid / missing indicator.
    edition : "2012", "2026" or None (chosen from *date*)
    date : date, optional
        The day reported.
    round_first : bool
        Round the concentrations by GB/T 8170 (integers; CO 0.1) before the IAQI: HJ 633-2026
        §4.2.2; for 2012 the published daily concentrations are rounded the same way (CNEMC
        practice, notes §1.4) — pass False for the unrounded 2012 reading.
    above, not_monitored, missing_rule
        See :func:`bishui.air.iaqi.iaqi` and :func:`aqi`.

    Returns
    -------
    AQIBatch
        With ``concentration`` holding the (rounded) concentrations used.

    Notes
    -----
    HJ 633-2012 §5.1.2, §4.3, §4.4; HJ 633-2026 §4.2.2, §4.2.4, §5.3. The 2012 O3 8-h > 800
    rule reports the O3 1-h IAQI (the ``O3_1h`` value serves as companion).
    """
    return _report(
        "daily", conc, edition, date, round_first, above, not_monitored, missing_rule, {}
    )


def realtime_report(
    conc: Mapping[str, npt.ArrayLike | None],
    edition: Edition | Literal[2012, 2026] | None = None,
    *,
    date: DateLike | None = None,
    round_first: bool = True,
    above: Above = "cap",
    not_monitored: Iterable[str] = (),
    missing_rule: MissingRule | None = None,
    pm_from_24h_sliding: bool = False,
) -> AQIBatch:
    """The real-time (hourly) report (实时报) of one or many stations / hours.

    Parameters
    ----------
    conc : mapping of indicator → array_like
        ``SO2_1h, NO2_1h, PM10_1h, CO_1h, O3_1h, PM2.5_1h`` hourly values; for 2012 also
        ``O3_8h`` (8-h sliding mean), optionally ``SO2_24h`` (24-h sliding mean, used when
        SO2_1h > 800) and ``PM10_24h``/``PM2.5_24h`` (24-h sliding means).
    edition : "2012", "2026" or None (chosen from *date*, an end-of-hour label)
    pm_from_24h_sliding : bool
        2012 only: compute the PM IAQIs from the 24-h sliding means (national practice before
        2014-01-01, kept by some local platforms) instead of the 1-h values against the daily
        breakpoints (practice since 2014-01-01; HJ 633-2026 §4.2.4).
    round_first, above, not_monitored, missing_rule
        As in :func:`daily_report`.

    Returns
    -------
    AQIBatch

    Notes
    -----
    HJ 633-2012 §5.1.3, §5.1.4; HJ 633-2026 §4.2.3, §4.2.4, §5.3.
    """
    extra: dict[str, str] = {"SO2_24h": "SO2_24h", "PM10_24h": "PM10_24h", "PM2.5_24h": "PM2.5_24h"}
    if pm_from_24h_sliding:
        extra |= {"PM10_1h": "PM10_24h", "PM2.5_1h": "PM2.5_24h"}
    return _report(
        "realtime", conc, edition, date, round_first, above, not_monitored, missing_rule, extra
    )
