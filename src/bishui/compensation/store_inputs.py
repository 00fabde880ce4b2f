"""A period's :class:`PeriodInputs` from the monitoring data in the store.

The engine reads no data; this module is the bridge. For every assessment point of the
agreements that run in a period it selects the stored hourly values with SQL, lays them out as
arrays and hands them to the air and water pure cores:

- **water section** (环办〔2011〕22号 一(二)): every valid stored reading of the section in the
  period is one sample (automatic stations report every few hours); the period mean of each
  item is :func:`bishui.water.assessment.period_means`, its class the single-factor class of the
  means (:func:`~bishui.water.assessment.assess_sections`, GB 3838-2002, with the period's
  minimum sample count ``MIN_SAMPLES``), and the value handed to the engine is the mean rounded
  by the 2020 statistics rule (:func:`bishui.water.rounding.round_assessment`) — the figure a
  bulletin publishes. ``months_class1`` / ``months_at_target`` (漳河库区) come from the monthly
  classes of the same data. The period volume is the mean valid flow × the period's seconds.
- **air stations** (GB 3095 Table 4; HJ 663): daily means of each station by
  :func:`bishui.air.daily_mean` (≥ 20 valid hours), the stations' daily mean by
  :func:`bishui.air.city_concentration`, the period mean of the valid days read exactly
  (:func:`bishui.air.assessment.exact_sum`) and rounded to an integer by GB/T 8170, as annual
  concentrations are published; the same for the previous year when it meets the air core's
  period validity (:func:`bishui.air.period_validity`: 324 days a year, 27 a month).

Data selection: hourly values (``period = 'hour'``), one per key by the read model's one origin
precedence (:mod:`bishui.readings`: the logger's, else the platform's, else an upload's); only
``valid`` values (HJ 212 flag N) enter a mean. The evidence records, per point, how many values of
each origin were used, how many were left out by flag, the distinct ``source`` tags (``synthetic``
for the model city), and a SHA-256 of the exact rows read (key, value, validity, origin), so
recomputing from an unchanged store gives the same inputs — and the same statement hash — and any
change to a used value shows as a new digest. Figures no series gives (a forest area, an index
change) are read from ``compensation_figure`` with who entered them and the source they cite.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from bishui import readings
from bishui.air import (
    city_concentration,
    daily_mean,
    edition_for,
    period_validity,
    round_gbt8170,
)
from bishui.air.assessment import exact_sum, mean_of
from bishui.compensation.agreement import Agreement
from bishui.compensation.inputs import IndicatorInput, PeriodInputs, PointInput
from bishui.compensation.period import Period
from bishui.errors import InputError
from bishui.registry.model import Site
from bishui.store import Store
from bishui.water.assessment import MIN_SAMPLES, assess_sections, period_means
from bishui.water.rounding import round_assessment
from bishui.water.tables import EDITION, KNOWN_CODES, METHOD

__all__ = [
    "COMPUTED_FIGURES",
    "ORIGIN_PREFERENCE",
    "InputOptions",
    "figure_names",
    "period_inputs",
]

#: Which stored value wins when several origins hold the same (site, parameter, hour): the read
#: model's one order (:data:`bishui.readings.ORIGIN_ORDER`), here for the evidence flags.
ORIGIN_PREFERENCE: tuple[str, ...] = readings.ORIGIN_ORDER
#: Flow units a section's logger may register, as the factor to m³/s.
FLOW_UNITS: dict[str, Decimal] = {
    "L/s": Decimal("0.001"),
    "l/s": Decimal("0.001"),
    "m3/s": Decimal(1),
    "m³/s": Decimal(1),
}

#: Figures computed here from monitoring data; any other figure comes from compensation_figure.
COMPUTED_FIGURES = ("months_class1", "months_at_target")


@dataclass(frozen=True)
class InputOptions:
    """Choices of the bridge (docs/compensation.md, "Inputs from the store").

    flow_parameter : str
        Code of the section's flow series. HJ 212-2017 Table B.1 has only ``w00000`` (污水流量,
        L/s); a river section's discharge has no code of its own there, so it is a parameter.
        Its unit is the one the registry holds for that section's logger (``device_parameters``:
        L/s or m³/s, :data:`FLOW_UNITS`); it is never assumed, and a section whose flow has no
        registered unit is refused (InputError).
    round_values : bool
        Hand the engine the published (rounded) period means; False hands the exact means.
    air_min_stations : int
        Valid stations needed for the point's daily value (``city_concentration``).
    """

    flow_parameter: str = "w00000"
    round_values: bool = True
    air_min_stations: int = 1
    extra: Mapping[str, Any] = field(default_factory=dict)


def figure_names(agreement: Agreement) -> set[str]:
    """Named figures the agreement's terms read (fund_split components, index_change)."""
    out: set[str] = set()
    for term in agreement.terms:
        comps = term.params.get("components")
        if isinstance(comps, Mapping):
            out.update(str(c["figure"]) for c in comps.values())
        if term.shape == "index_change":
            out.add(str(term.params.get("figure", "index_change")))
    return out


def _dt(d: dt.date) -> dt.datetime:
    return dt.datetime.combine(d, dt.time())


def _shift_year(p: Period, years: int) -> Period:
    return Period(p.year + years, p.kind, p.index)


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


@dataclass(frozen=True)
class _Rows:
    """Hourly rows of some sites, one per key after the origin preference."""

    site: np.ndarray
    parameter: np.ndarray
    ts: np.ndarray
    value: np.ndarray
    valid: np.ndarray
    flag: np.ndarray
    origin: np.ndarray
    source: np.ndarray

    def take(self, mask: np.ndarray) -> _Rows:
        return _Rows(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))

    def digest(self) -> str:
        """SHA-256 of exactly these rows (key, value, validity, origin), in key order."""
        h = hashlib.sha256()
        for arr in (self.site, self.parameter, self.origin):
            names, inv = np.unique(arr.astype(str), return_inverse=True)
            h.update("\x1f".join(names).encode())
            h.update(inv.astype(np.int32).tobytes())
        h.update(self.ts.astype("datetime64[us]").astype(np.int64).tobytes())
        h.update(np.nan_to_num(self.value.astype(np.float64), nan=-1e300).tobytes())
        h.update(self.valid.astype(np.bool_).tobytes())
        return h.hexdigest()[:32]

    def provenance(self) -> list[str]:
        """Counts by origin, flags of the values left out, and the source tags, as flags."""
        out = []
        used = self.valid
        for o in ORIGIN_PREFERENCE:
            n = int(np.count_nonzero(used & (self.origin == o)))
            if n:
                out.append(f"used:{o}={n}")
        flags = np.where(self.flag == None, "-", self.flag).astype(str)[~used]  # noqa: E711
        for f, n in zip(*np.unique(flags, return_counts=True), strict=True):
            out.append(f"excluded:flag {f}={int(n)}")
        for s in sorted({str(s) for s in self.source if s is not None}):
            out.append(f"source:{s}")
        return out


def _hourly(
    store: Store, sites: Sequence[str], params: Sequence[str] | None, start: dt.date, end: dt.date
) -> _Rows:
    """Stored hourly values of *sites* (and *params*) with start ≤ ts ≤ end's day, one per key
    by the read model's origin precedence (:mod:`bishui.readings`)."""
    r = readings.select(
        store, sites, params, _dt(start), _dt(end + dt.timedelta(days=1)), text=True
    )
    assert r.flag is not None and r.source is not None
    valid = r.valid & ~np.isnan(r.value)
    return _Rows(
        r.site_names(),
        r.parameter_names(),
        r.ts,
        r.value,
        valid,
        r.flag,
        r.origin_names(),
        r.source,
    )


# --------------------------------------------------------------------------- water


def _water_point(
    store: Store,
    section: Site,
    period: Period,
    indicators: Iterable[str],
    figures: set[str],
    opts: InputOptions,
) -> PointInput:
    sid = section.id
    rows = _hourly(store, [sid], None, period.start, period.end)
    codes = sorted({str(p) for p in rows.parameter if p in KNOWN_CODES})
    times, row_of = np.unique(rows.ts, return_inverse=True)
    x = np.full((len(times), len(codes)), np.nan)
    col = {c: i for i, c in enumerate(codes)}
    sel = rows.valid & np.isin(rows.parameter, codes)
    if sel.any():
        cols = np.array([col[p] for p in rows.parameter[sel]], dtype=np.intp)
        x[row_of[sel], cols] = rows.value[sel]
    body = section.body or "river"
    target = int(section.target_class or 0)
    flags: list[str] = rows.provenance()
    water_class = None
    inds: dict[str, IndicatorInput] = {}
    if codes and len(times):
        pm = period_means(x, codes, np.zeros(len(times), dtype=np.intp), 1)
        need = MIN_SAMPLES[period.kind]
        enough = pm.counts[0] >= need
        sa = assess_sections(
            np.where(enough, pm.means[0], np.nan)[None, :],
            codes,
            body,
            [target],
            pm.samples >= need,
        )
        water_class = int(sa.section_class[0]) or None
        flags.append(f"samples={int(pm.samples[0])}")
        shown = round_assessment(pm.means[0], codes) if opts.round_values else pm.means[0]
        for code in indicators:
            if code in col and pm.counts[0, col[code]] > 0:
                inds[code] = IndicatorInput(_dec(shown[col[code]]), int(pm.counts[0, col[code]]))
            else:
                inds[code] = IndicatorInput(None, 0)
        if figures & set(COMPUTED_FIGURES) and period.kind == "year":
            month = (times.astype("datetime64[M]").astype(int) % 12).astype(np.intp)
            mm = period_means(x, codes, month, 12, min_samples=MIN_SAMPLES["month"])
            ms = assess_sections(mm.means, codes, body, [target] * 12, mm.sufficient)
            cls = ms.section_class.astype(int)
            flags.append("monthly_classes=" + ",".join(str(c) if c else "-" for c in cls))
            figs_m = {
                "months_class1": int(np.count_nonzero(cls == 1)),
                "months_at_target": int(np.count_nonzero((cls > 0) & (cls <= target))),
            }
        else:
            figs_m = {}
    else:
        inds = {code: IndicatorInput(None, 0) for code in indicators}
        figs_m = {}
    volume = None
    fsel = rows.valid & (rows.parameter == opts.flow_parameter)
    if fsel.any():
        unit, factor = _flow_unit(store, sid, opts.flow_parameter)
        values = rows.value[fsel]
        mean_flow = sum((Decimal(repr(float(v))) for v in values), Decimal(0)) / len(values)
        seconds = ((period.end - period.start).days + 1) * 86400
        volume = mean_flow * factor * seconds
        flags.append(
            f"volume=mean {opts.flow_parameter} [{unit}] of {int(fsel.sum())} values × {seconds} s"
        )
    flags.append(f"method={EDITION}; {METHOD}; 环办监测函〔2020〕82号 rounding")
    flags.append(f"sha256={rows.digest()}")
    return _point(store, sid, period, inds, water_class, volume, figures, figs_m, flags, "水质断面")


def _flow_unit(store: Store, site_id: str, parameter: str) -> tuple[str, Decimal]:
    """The registered unit of a section's flow series and its factor to m³/s, or InputError."""
    rows = store.query(
        "SELECT DISTINCT p.unit FROM device_parameters p JOIN devices d ON d.mn = p.mn "
        "WHERE d.site_id = ? AND p.parameter = ?",
        [site_id, parameter],
    )
    units = sorted({str(r["unit"] or "").strip() for r in rows} - {""})
    if not units:
        raise InputError(
            f"{site_id}.{parameter}.unit",
            "the section's flow has no unit in the registry (register its logger's flow "
            f"parameter with one of {', '.join(FLOW_UNITS)}); the volume is not computed",
            None,
        )
    if len(units) > 1 or units[0] not in FLOW_UNITS:
        raise InputError(
            f"{site_id}.{parameter}.unit",
            f"the flow unit must be one of {', '.join(FLOW_UNITS)} (one per section)",
            ", ".join(units),
        )
    return units[0], FLOW_UNITS[units[0]]


# --------------------------------------------------------------------------- air


def _air_means(
    store: Store, stations: Sequence[str], codes: Sequence[str], period: Period, opts: InputOptions
) -> tuple[dict[str, tuple[Decimal | None, int, bool]], _Rows]:
    """Per code: (rounded period mean of the valid days, valid days, period valid), rows."""
    rows = _hourly(store, stations, codes, period.start, period.end)
    days = (period.end - period.start).days + 1
    t0 = np.datetime64(_dt(period.start), "h")
    hour = ((rows.ts.astype("datetime64[h]") - t0).astype(np.int64)).astype(np.intp)
    st_index = {s: i for i, s in enumerate(stations)}
    out: dict[str, tuple[Decimal | None, int, bool]] = {}
    for code in codes:
        m = np.full((len(stations), 24 * days), np.nan)
        sel = rows.valid & (rows.parameter == code)
        if sel.any():
            si = np.array([st_index[s] for s in rows.site[sel]], dtype=np.intp)
            m[si, hour[sel]] = rows.value[sel]
        d = daily_mean(m).value
        point_daily = city_concentration(d, axis=0, min_stations=opts.air_min_stations)
        ok = ~np.isnan(point_daily)
        n = int(ok.sum())
        valid = bool(period_validity(ok, period.start).valid)
        if n == 0:
            out[code] = (None, 0, False)
            continue
        total, count = exact_sum(point_daily)
        mean = float(mean_of(total, count))
        value = Decimal(int(round_gbt8170(mean, 0))) if opts.round_values else _dec(mean)
        out[code] = (value, n, valid)
    return out, rows


def _air_point(
    store: Store,
    stations: Sequence[str],
    period: Period,
    indicators: Sequence[str],
    figures: set[str],
    opts: InputOptions,
) -> PointInput:
    now, rows = _air_means(store, stations, indicators, period, opts)
    prev, prow = _air_means(store, stations, indicators, _shift_year(period, -1), opts)
    days = (period.end - period.start).days + 1
    inds = {}
    for code in indicators:
        v, n, valid = now[code]
        pv, pn, pvalid = prev[code]
        f = [f"days_valid={n}", f"period_valid={'yes' if valid else 'no'}"]
        f.append(f"previous_days_valid={pn}")
        if pv is not None and not pvalid:
            f.append("previous_invalid")  # GB 3095 Table 4 not met last year: not used
        inds[code] = IndicatorInput(
            v, n, expected=days, previous=pv if pvalid else None, flags=tuple(f)
        )
    flags = rows.provenance() + [f"previous {x}" for x in prow.provenance()]
    # Table 4's validity rules read the same in both editions; the edition is recorded anyway.
    eds = sorted({edition_for(period.start), edition_for(period.end)})
    flags.append(f"method=GB 3095-{'/'.join(eds)} Table 4; HJ 663 station mean; GB/T 8170")
    flags += [f"sha256={rows.digest()}", f"previous sha256={prow.digest()}"]
    key = "+".join(sorted(stations))
    return _point(store, key, period, inds, None, None, figures, {}, flags, "空气站点")


# --------------------------------------------------------------------------- both


def _point(
    store: Store,
    key: str,
    period: Period,
    inds: dict[str, IndicatorInput],
    water_class: int | None,
    volume: Decimal | None,
    wanted: set[str],
    computed: Mapping[str, int],
    flags: list[str],
    what: str,
) -> PointInput:
    figs: dict[str, Decimal] = {k: Decimal(v) for k, v in computed.items() if k in wanted}
    entered = sorted(wanted - set(figs))
    if volume is None:
        entered.append("volume")
    if entered:
        marks = ", ".join("?" for _ in entered)
        for r in store.query(
            "SELECT name, value, source, entered_by FROM compensation_figure "  # noqa: S608 - fixed SQL fragments; values are bound
            f"WHERE point = ? AND period = ? AND name IN ({marks}) ORDER BY name",
            [key, str(period), *entered],
        ):
            if r["name"] == "volume":
                volume = Decimal(r["value"])
            else:
                figs[r["name"]] = Decimal(r["value"])
            flags.append(f"figure {r['name']}: entered by {r['entered_by']} ({r['source']})")
    synthetic = any(f == "source:synthetic" or f == "previous source:synthetic" for f in flags)
    source = f"store: measurement period=hour {period.start}..{period.end}, {what} {key}" + (
        "; 模拟数据（合成数据，非真实监测）" if synthetic else ""
    )
    return PointInput(
        key,
        inds,
        water_class=water_class,
        volume=volume,
        figures=figs,
        flags=tuple(flags),
        source=source,
    )


def period_inputs(
    store: Store,
    agreements: Iterable[Agreement],
    period: Period,
    options: InputOptions | None = None,
) -> PeriodInputs:
    """The inputs of every assessment point of *agreements* over *period*, from the store.

    Points are computed once however many agreements share them (the union of their
    indicators and figures). A point whose sites are not in the registry gets no entry, so
    the agreement's missing-data rule decides.
    """
    opts = options or InputOptions()
    need: dict[str, tuple[str, list[str], set[str], set[str]]] = {}
    for a in agreements:
        kind, ids, codes, figs = need.setdefault(
            a.point.key, (a.point.kind, list(a.point.ids), set(), set())
        )
        codes.update(a.indicators)
        figs.update(figure_names(a))
    sites = {s.id: s for s in readings.sites(store, "kind IN ('air', 'water')")}
    points = []
    for _key, (kind, ids, codes, figs) in sorted(need.items()):
        if not all(i in sites for i in ids):
            continue
        if kind == "water_section":
            points.append(_water_point(store, sites[ids[0]], period, sorted(codes), figs, opts))
        else:
            points.append(_air_point(store, sorted(ids), period, sorted(codes), figs, opts))
    return PeriodInputs.of(period, *points)
