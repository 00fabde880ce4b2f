"""The surface-water service: a period's section, river and county results from the store.

:func:`assess` reads the period's daily values (:mod:`bishui.water.readings`), computes the
period means the method prescribes and hands them to the pure core:

* **day**: the day's values; **month**: the mean of the month's daily values;
  **quarter** and **year**: the mean of the monthly means, a month counting as one sampling
  event (环办〔2011〕22号 一(二): quarterly at least 2, annual at least 8 of 12 —
  :data:`~bishui.water.assessment.MIN_SAMPLES`, parameters). pH is averaged by hydrogen-ion
  mean at every step. Fewer samples → "insufficient data", never a class.
* section class, 水质状况, target attainment and main pollutants
  (:func:`~bishui.water.assessment.assess_sections`); CWQI of each section
  (:func:`~bishui.water.cwqi.cwqi`);
* rivers, lakes and reservoirs by (river name, body type): the share method or the mean method
  (:func:`~bishui.water.assessment.grade_rivers`);
* counties (the sections' ``region``) and the whole city: section counts by class, shares of
  Ⅰ–Ⅲ and 劣Ⅴ, targets met, CWQI (river and lake indices weighted by their section counts,
  :func:`~bishui.water.cwqi.cwqi_city`), ranks, and ΔCWQI against the same period of the
  previous year where that period has data.

Results are recomputed from the store each time they are asked for, so late data is always
included; :func:`assess_cached` keeps finished results in ``water_results`` and reuses one only
while a fingerprint of the period's data (row count, latest receipt, sum of values) is the same.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from bishui.errors import InputError
from bishui.ingest.aggregate import rules as ingest_rules
from bishui.registry.model import Site
from bishui.store import Store
from bishui.timeutil import now_beijing
from bishui.water import tables as t
from bishui.water.assessment import (
    MIN_SAMPLES,
    RiverGradeRules,
    assess_sections,
    class_counts,
    exceedance_rates,
    grade_rivers,
    period_means,
)
from bishui.water.cwqi import (
    change_ranking_excluded,
    cwqi,
    cwqi_city,
    cwqi_groups,
    delta_cwqi,
    rank,
    rank_change,
)
from bishui.water.periods import WaterPeriod
from bishui.water.readings import (
    AUTO_PRIORITY,
    DailyValues,
    Sections,
    daily_values,
    load_sections,
)

#: Version of the service's rules; part of every result and of the cache key.
SERVICE_VERSION = "water-service-1"


def _day_min_default() -> int:
    return ingest_rules()["water"].day_min_valid


@dataclass(frozen=True)
class ServiceRules:
    """Every choice the service makes, with its default (docs/water.md, "Service rules").

    ``day_min_readings``: fewest automatic readings for a daily value (the platform's water
    rule). ``min_samples``: fewest samples per period kind (days for a month, months for a
    quarter or year). ``auto_priority``: items whose automatic data replace manual data.
    ``cwqi_order``: how a group's CWQI averages (:func:`~bishui.water.cwqi.cwqi_groups`).
    ``assessment_only``: county and city statistics over 国控/省控 sections only.
    ``cwqi_decimals``: ranks are taken on CWQI rounded to this many places, so values equal as
    published share a rank.
    """

    day_min_readings: int = field(default_factory=_day_min_default)
    min_samples: Mapping[str, int] = field(default_factory=lambda: {"day": 1, **MIN_SAMPLES})
    auto_priority: tuple[str, ...] = AUTO_PRIORITY
    cwqi_order: Literal["concentration", "index"] = "concentration"
    river_rules: RiverGradeRules = field(default_factory=RiverGradeRules)
    assessment_only: bool = False
    cwqi_decimals: int = 4

    def version(self) -> str:
        """``water-service-1:<hash of the parameters>`` — results record it."""
        d = dataclasses.asdict(self)
        d["min_samples"] = dict(sorted(self.min_samples.items()))
        text = json.dumps(d, sort_keys=True, default=str)
        return f"{SERVICE_VERSION}:{hashlib.sha256(text.encode()).hexdigest()[:10]}"


@dataclass
class Assessment:
    """One period's results. ``sections``, ``rivers`` and ``counties`` are lists of plain dicts
    (JSON-ready; the keys are documented in docs/water.md); ``city`` is the whole-city row."""

    period: str
    kind: str
    rules_version: str
    edition: str
    method: str
    sections: list[dict[str, Any]]
    rivers: list[dict[str, Any]]
    counties: list[dict[str, Any]]
    city: dict[str, Any]
    previous: str | None = None
    computed_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _f(x: Any, digits: int | None = None) -> float | None:
    """A JSON-ready float (None for NaN)."""
    if x is None:
        return None
    v = float(x)
    if math.isnan(v) or math.isinf(v):
        return None
    return round(v, digits) if digits is not None else v


@dataclass(frozen=True)
class PeriodSamples:
    """Period means per section and the number of samples behind them."""

    codes: tuple[str, ...]
    means: NDArray[np.float64]
    samples: NDArray[np.int64]
    sufficient: NDArray[np.bool_]
    min_samples: int


def period_samples(dv: DailyValues, period: WaterPeriod, rules: ServiceRules) -> PeriodSamples:
    """Daily values → period means per section (see the module docstring)."""
    n_s, n_d, k = dv.values.shape
    flat = dv.values.reshape(n_s * n_d, k)
    site = np.repeat(np.arange(n_s), n_d)
    keep = ~np.isnan(flat).all(axis=1)
    x, site = flat[keep], site[keep]
    if period.kind in ("day", "month"):
        need = int(rules.min_samples[period.kind])
        pm = period_means(x, dv.codes, site, n_s, min_samples=need, validate=False)
        return PeriodSamples(dv.codes, pm.means, pm.samples, pm.sufficient, need)
    # Quarter, year: each month's mean is one sampling event.
    days = dv.days
    month_of_day = (
        days.astype("datetime64[M]") - np.datetime64(period.first, "M").astype("datetime64[M]")
    ).astype(np.int64)
    n_m = period.months
    month = np.tile(month_of_day, n_s)[keep]
    monthly = period_means(
        x,
        dv.codes,
        site * n_m + month,
        n_s * n_m,
        min_samples=int(rules.min_samples["month"]),
        validate=False,
    )
    ok = monthly.sufficient
    m_site = np.repeat(np.arange(n_s), n_m)[ok]
    need = int(rules.min_samples[period.kind])
    pm = period_means(monthly.means[ok], dv.codes, m_site, n_s, min_samples=need, validate=False)
    return PeriodSamples(dv.codes, pm.means, pm.samples, pm.sufficient, need)


def _group_index(keys: list[str]) -> tuple[NDArray[np.intp], list[str]]:
    names = sorted(set(keys))
    pos = {n: i for i, n in enumerate(names)}
    return np.array([pos[k] for k in keys], dtype=np.intp), names


def assess(
    store: Store,
    period: WaterPeriod | str,
    rules: ServiceRules | None = None,
    *,
    compare: bool = True,
) -> Assessment:
    """Assess every water section of the store for *period* (module docstring).

    Parameters
    ----------
    store : Store
    period : WaterPeriod or str
        ``2026``, ``2026-Q3``, ``2026-07`` or ``2026-07-15``.
    rules : ServiceRules, optional
    compare : bool
        Also compute the same period of the previous year for ΔCWQI.
    """
    r = rules or ServiceRules()
    p = WaterPeriod.parse(period) if isinstance(period, str) else period
    if r.cwqi_order not in ("concentration", "index"):
        raise InputError("cwqi_order", "must be 'concentration' or 'index'", r.cwqi_order)
    sec = load_sections(store)
    core = _assess_core(store, sec.rows, p, r)
    prev = _assess_core(store, sec.rows, p.previous_year(), r) if compare else None
    has_prev = prev is not None and bool(prev["sufficient"].any())
    return _tables(sec, p, r, core, prev if has_prev else None)


def _assess_core(store: Store, rows: list[Site], p: WaterPeriod, r: ServiceRules) -> dict[str, Any]:
    ids = [s.id for s in rows]
    dv = daily_values(
        store,
        ids,
        p.start,
        p.end,
        day_min_readings=r.day_min_readings,
        auto_priority=r.auto_priority,
    )
    ps = period_samples(dv, p, r)
    body = np.array([s.body for s in rows], dtype=object).astype(str)
    target = np.array([s.target_class for s in rows], dtype=np.int64)
    sa = assess_sections(ps.means, ps.codes, body, target, ps.sufficient)
    with np.errstate(invalid="ignore"):
        index = np.where(sa.sufficient, cwqi(ps.means, ps.codes, body, validate=False), np.nan)
    return {"ps": ps, "sa": sa, "cwqi": index, "sufficient": sa.sufficient, "body": body}


def _ranks(values: NDArray[np.float64], decimals: int) -> NDArray[np.int64]:
    ranks = rank(values, decimals)
    return np.where(np.isnan(values), 0, ranks)


def _county_figures(rows: list[Site], core: dict[str, Any], r: ServiceRules) -> dict[str, Any]:
    """Counts, shares, targets and CWQI per county and for the city (vectorised by group)."""
    sa, ps, body = core["sa"], core["ps"], core["body"]
    use = np.array([s.assessment or not r.assessment_only for s in rows], dtype=bool)
    county, names = _group_index([s.region for s in rows])
    n_c = len(names)
    # One extra group collects the sections left out of the statistics.
    g = np.where(use, county, n_c)
    sc = sa.section_class
    counts = class_counts(sc, g, n_c + 1)[:n_c]
    city_counts = counts.sum(axis=0, keepdims=True)
    ok = sa.sufficient & use
    targets = np.bincount(g, weights=(sa.target_class > 0) & sa.sufficient, minlength=n_c + 1)
    attained = np.bincount(g, weights=sa.attained, minlength=n_c + 1)
    worst = np.zeros(n_c + 1, dtype=np.int64)
    np.maximum.at(worst, g, np.where(ok, sc, 0))

    def index(groups: NDArray[np.intp], n: int) -> NDArray[np.float64]:
        parts = []
        for kind in ("river", "lake"):
            sel = ok & (body == kind)
            if sel.any():
                v, m = cwqi_groups(
                    ps.means[sel], ps.codes, groups[sel], n, body=kind, order=r.cwqi_order
                )
            else:
                v, m = np.full(n, np.nan), np.zeros(n, dtype=np.int64)
            parts.append((v, m))
        (rv, m), (lv, nn) = parts
        return cwqi_city(np.where(m > 0, rv, 0.0), m, np.where(nn > 0, lv, 0.0), nn)

    county_cwqi = index(county, n_c)
    city_cwqi = index(np.zeros(len(rows), dtype=np.intp), 1)
    return {
        "names": names,
        "counts": counts,
        "city_counts": city_counts,
        "targets": targets[:n_c],
        "attained": attained[:n_c],
        "worst": worst[:n_c],
        "cwqi": county_cwqi,
        "city_cwqi": city_cwqi,
        "city_targets": float(targets[:n_c].sum()),
        "city_attained": float(attained[:n_c].sum()),
        "city_worst": int(worst[:n_c].max()) if n_c else 0,
    }


def _statistics_row(counts: NDArray[np.int64]) -> dict[str, Any]:
    n = int(counts[1:].sum())
    return {
        "sections": int(counts.sum()),
        "assessed": n,
        "insufficient": int(counts[0]),
        "by_class": [int(c) for c in counts[1:]],
        "share_good": _f(counts[1:4].sum() / n, 6) if n else None,
        "share_bad": _f(counts[6] / n, 6) if n else None,
    }


def _tables(
    sec: Sections,
    p: WaterPeriod,
    r: ServiceRules,
    core: dict[str, Any],
    prev: dict[str, Any] | None,
) -> Assessment:
    rows = sec.rows
    sa, ps = core["sa"], core["ps"]
    section_cwqi = core["cwqi"]
    section_rank = _ranks(section_cwqi, r.cwqi_decimals)
    prev_cwqi = prev["cwqi"] if prev is not None else np.full(len(rows), np.nan)
    section_delta = delta_cwqi(section_cwqi, prev_cwqi)
    sections = []
    for i, (s, rec) in enumerate(zip(rows, sa.records(sec.ids), strict=True)):
        means = {
            c: _f(ps.means[i, j], 6)
            for j, c in enumerate(ps.codes)
            if not math.isnan(ps.means[i, j])
        }
        sections.append(
            {
                **rec,
                "name": s.name,
                "river": s.river,
                "body": s.body,
                "region": s.region,
                "region_name": sec.region_names.get(s.region, s.region),
                "control": s.control,
                "assessment": s.assessment,
                "drinking_source": s.drinking_source,
                "target_label": t.CLASS_LABELS[s.target_class] if s.target_class else "",
                "samples": int(ps.samples[i]),
                "min_samples": ps.min_samples,
                "cwqi": _f(section_cwqi[i], 4),
                "cwqi_rank": int(section_rank[i]),
                "cwqi_previous": _f(prev_cwqi[i], 4),
                "delta_cwqi": _f(section_delta[i], 2),
                "means": means,
            }
        )
    rivers = _rivers(rows, core, r)
    cf = _county_figures(rows, core, r)
    pf = _county_figures(rows, prev, r) if prev is not None else None
    c_rank = _ranks(cf["cwqi"], r.cwqi_decimals)
    c_prev = pf["cwqi"] if pf is not None else np.full(len(cf["names"]), np.nan)
    c_delta = delta_cwqi(cf["cwqi"], c_prev)
    excluded = (
        change_ranking_excluded(pf["worst"], cf["worst"], cf["attained"] == cf["targets"])
        if pf is not None
        else np.ones(len(cf["names"]), dtype=bool)
    )
    no_delta = np.isnan(c_delta)
    c_change = rank_change(np.where(no_delta, np.inf, c_delta), excluded | no_delta)
    counties = []
    for i, code in enumerate(cf["names"]):
        counties.append(
            {
                "region": code,
                "name": sec.region_names.get(code, code),
                **_statistics_row(cf["counts"][i]),
                "targets": int(cf["targets"][i]),
                "attained": int(cf["attained"][i]),
                "cwqi": _f(cf["cwqi"][i], 4),
                "cwqi_rank": int(c_rank[i]),
                "cwqi_previous": _f(c_prev[i], 4),
                "delta_cwqi": _f(c_delta[i], 2),
                "change_rank": int(c_change[i]),
            }
        )
    city_prev = pf["city_cwqi"][0] if pf is not None else np.nan
    city = {
        "region": sec.city["code"] if sec.city else "",
        "name": sec.city["name"] if sec.city else "全市",
        **_statistics_row(cf["city_counts"][0]),
        "targets": int(cf["city_targets"]),
        "attained": int(cf["city_attained"]),
        "cwqi": _f(cf["city_cwqi"][0], 4),
        "cwqi_previous": _f(city_prev, 4),
        "delta_cwqi": _f(delta_cwqi(cf["city_cwqi"], [city_prev])[0], 2),
    }
    return Assessment(
        period=str(p),
        kind=p.kind,
        rules_version=r.version(),
        edition=t.EDITION,
        method=t.METHOD,
        sections=sections,
        rivers=rivers,
        counties=counties,
        city=city,
        previous=str(p.previous_year()) if prev is not None else None,
        computed_at=now_beijing().replace(microsecond=0).isoformat(),
    )


def _rivers(rows: list[Site], core: dict[str, Any], r: ServiceRules) -> list[dict[str, Any]]:
    """Rivers (share or mean method) and lakes/reservoirs (mean over points) by name and body."""
    sa, ps, body = core["sa"], core["ps"], core["body"]
    keys = [f"{s.river or s.name}\x1f{s.body}" for s in rows]
    out = []
    for kind in ("river", "lake"):
        sel = body == kind
        if not sel.any():
            continue
        gk, kn = _group_index([keys[i] for i in np.flatnonzero(sel)])
        grades = grade_rivers(
            sa.section_class[sel],
            gk,
            len(kn),
            section_means=ps.means[sel],
            codes=ps.codes,
            body=kind,
            rules=r.river_rules,
            force_mean=kind == "lake",
        )
        item_class = sa.classification.item_class[sel]
        valid = sa.sufficient[sel]
        rates = exceedance_rates(np.where(valid[:, None], item_class, 0), gk, len(kn))
        ids = np.array([s.id for s in rows], dtype=object)[sel]
        for i, key in enumerate(kn):
            name, _, b = key.partition("\x1f")
            members = np.flatnonzero(gk == i)
            n_ok = int(grades.n_sections[i])
            main = ""
            if grades.method[i] == "shares":
                order = [
                    j for j, c in enumerate(ps.codes) if c in t.ASSESSMENT_CODES and rates[i, j] > 0
                ]
                order.sort(key=lambda j: (-rates[i, j], t.ASSESSMENT_CODES.index(ps.codes[j])))
                main = "、".join(f"{t.name(ps.codes[j])}({rates[i, j]:.0%})" for j in order[:3])
            elif n_ok:
                # Fewer than 5 sections: each section's own main pollutants (环办〔2011〕22号).
                parts = []
                rows_of = np.flatnonzero(sel)
                for m in members:
                    if valid[m]:
                        text = sa.classification.row(int(rows_of[m])).main_pollutant_text()
                        if text:
                            parts.append(f"{ids[m]}: {text}")
                main = "; ".join(parts)
            counts = grades.counts[i]
            rc = int(grades.river_class[i])
            out.append(
                {
                    "river": name,
                    "body": b,
                    **_statistics_row(counts),
                    "members": [str(x) for x in ids[members]],
                    "method": str(grades.method[i]),
                    "status": str(grades.status[i]) if n_ok else t.INSUFFICIENT,
                    "class": rc,
                    "label": t.CLASS_LABELS[rc] if rc else "",
                    "main_pollutants": main,
                }
            )
    out.sort(key=lambda d: (d["body"] != "river", d["river"]))
    return out


def daily_classes(
    store: Store,
    period: WaterPeriod | str,
    sections: list[str] | None = None,
    rules: ServiceRules | None = None,
) -> list[dict[str, Any]]:
    """Each section's daily values and daily class over *period* (one row per section-day
    with data), classified in one batch (no loop over days)."""
    r = rules or ServiceRules()
    p = WaterPeriod.parse(period) if isinstance(period, str) else period
    sec = load_sections(store)
    rows = [s for s in sec.rows if sections is None or s.id in sections]
    ids = [s.id for s in rows]
    dv = daily_values(
        store,
        ids,
        p.start,
        p.end,
        day_min_readings=r.day_min_readings,
        auto_priority=r.auto_priority,
    )
    n_s, n_d, k = dv.values.shape
    flat = dv.values.reshape(n_s * n_d, k)
    keep = np.flatnonzero(~np.isnan(flat).all(axis=1))
    if keep.size == 0:
        return []
    site, day = np.divmod(keep, n_d)
    body = np.array([rows[i].body for i in site], dtype=object).astype(str)
    target = np.array([rows[i].target_class for i in site], dtype=np.int64)
    sa = assess_sections(flat[keep], dv.codes, body, target)
    labels, attainment = sa.labels, sa.attainment
    days = dv.days
    out = []
    for n, (i, d) in enumerate(zip(site, day, strict=True)):
        vals = flat[keep[n]]
        out.append(
            {
                "section": ids[i],
                "day": str(days[d]),
                "class": int(sa.section_class[n]),
                "label": str(labels[n]),
                "attainment": str(attainment[n]),
                "values": {
                    c: _f(vals[j], 6) for j, c in enumerate(dv.codes) if not math.isnan(vals[j])
                },
            }
        )
    return out


# -- the results cache -------------------------------------------------------------------------
def fingerprint(store: Store, p: WaterPeriod, compare: bool = True) -> str:
    """A digest of the water data behind *p* (and the previous year's period): row counts,
    latest receipt and a checksum of the values (integers of 0.001, so the digest does not
    depend on the order a parallel scan adds floats in), plus the water-site registry."""
    periods = [p, p.previous_year()] if compare else [p]
    parts: list[Any] = []
    for q in periods:
        parts += store.query(
            "SELECT COUNT(*) AS n, MAX(m.received_at) AS last, "
            "SUM(CAST(ROUND(m.value * 1000) AS BIGINT)) AS checksum, "
            "SUM(CASE WHEN m.valid THEN 1 ELSE 0 END) AS n_valid "
            "FROM measurement m JOIN sites s ON s.id = m.site_id "
            "WHERE s.kind = 'water' AND m.ts >= ? AND m.ts < ?",
            [q.start, q.end],
        )
    parts += load_sections(store).records()
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()


def _write(store: Store, statements: list[tuple[str, list[Any]]]) -> None:
    with store.transaction() as tx:
        for sql, params in statements:
            tx.execute(sql, params)


def _has_data(store: Store, p: WaterPeriod) -> bool:
    return bool(
        store.query(
            "SELECT 1 AS x FROM measurement m JOIN sites s ON s.id = m.site_id "
            "WHERE s.kind = 'water' AND m.ts >= ? AND m.ts < ? LIMIT 1",
            [p.start, p.end],
        )
    )


def assess_cached(
    store: Store, period: WaterPeriod | str, rules: ServiceRules | None = None
) -> Assessment:
    """:func:`assess`, reusing the stored result while the data fingerprint is unchanged.

    Only a period with data is stored: the web calls this on GET requests, and a GET must not
    let a caller fill the table with empty periods (or take the writer lock for them).
    """
    r = rules or ServiceRules()
    p = WaterPeriod.parse(period) if isinstance(period, str) else period
    version = r.version()
    fp = fingerprint(store, p)
    hit = store.query(
        "SELECT fingerprint, payload FROM water_results WHERE period = ? AND tab = ? "
        "AND rules_version = ?",
        [str(p), "assessment", version],
    )
    if hit and hit[0]["fingerprint"] == fp:
        return Assessment(**json.loads(hit[0]["payload"]))
    result = assess(store, p, r)
    if not _has_data(store, p):
        # Nothing to reuse: a period without data (any date a caller names, 1901-02-03) is
        # computed and not stored, so a reader never writes rows or waits for the writer.
        return result
    payload = json.dumps(result.as_dict(), ensure_ascii=False)
    _write(
        store,
        [
            (
                "DELETE FROM water_results WHERE period = ? AND tab = ? AND rules_version = ?",
                [str(p), "assessment", version],
            ),
            (
                "INSERT INTO water_results (period, tab, rules_version, fingerprint, "
                "computed_at, payload) VALUES (?, ?, ?, ?, ?, ?)",
                [str(p), "assessment", version, fp, dt.datetime.now(), payload],
            ),
        ],
    )
    return result
