"""The overview colouring from the domain engines (the default; the provisional one falls back).

:class:`EngineColouring` starts from :data:`bishui.web.colouring.provisional_colouring` (so a
site the engines cannot judge keeps a data-state mark, and an engine failure never blanks
the map) and replaces, layer by layer:

* **air stations** — the real-time AQI report of ``bishui.air.service.realtime`` (all six
  pollutants, the edition in force for the hour, HJ 633-2026 §5.3.1 "NA"), through
  :class:`bishui.web.air_colouring.AirColouring`;
* **water sections** — the class of the newest day with data in ``water_window_days``:
  daily values by ``bishui.water.readings.daily_values`` (automatic daily means preferred,
  manual samples otherwise), classed by ``bishui.water.assessment.assess_sections``
  (GB 3838-2002 single-factor method, all the service's items, lake TP limits);
* **outlets** — compliance: an outlet with a ``high`` / ``medium`` finding of
  ``bishui.sources`` overlapping the last ``source_window_h`` hours is red ("exceeding") /
  orange ("finding"); an outlet with current data and none is green ("compliant"); with no
  findings table (the sources engine absent) the data-state mark stays.

Each replaced mark's ``basis`` names the engine and the rule.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from bishui.registry.model import Site
from bishui.store import Store
from bishui.timeutil import now_beijing
from bishui.web import display
from bishui.web.colouring import Colouring, Mark, categories, provisional_colouring

log = logging.getLogger(__name__)


def _severity_zh(sev: str) -> str:
    return display.name("severity", sev, "zh") or sev


#: Severities of ``bishui.sources`` findings that colour an outlet, worst first.
SEVERITY_LEVEL = {"high": "exceeding", "medium": "finding"}


def _water_marks(
    store: Store, sites: Sequence[Site], at: dt.datetime, days: int
) -> dict[str, Mark]:
    from bishui.water.assessment import assess_sections
    from bishui.water.readings import daily_values
    from bishui.water.service import ServiceRules

    water = [s for s in sites if s.kind == "water"]
    if not water:
        return {}
    ids = [s.id for s in water]
    end = dt.datetime.combine(at.date() + dt.timedelta(days=1), dt.time())
    rules = ServiceRules()
    dv = daily_values(
        store,
        ids,
        end - dt.timedelta(days=days),
        end,
        day_min_readings=rules.day_min_readings,
        auto_priority=rules.auto_priority,
    )
    has = np.asarray(~np.isnan(dv.values).all(axis=2), dtype=np.bool_)  # (sections, days)
    if not has.any():
        return {}
    n_days = has.shape[1]
    # index of the newest day with data per section (−1: none)
    last = np.where(has.any(axis=1), n_days - 1 - np.argmax(has[:, ::-1], axis=1), -1)
    keep = np.flatnonzero(last >= 0)
    means = dv.values[keep, last[keep], :]
    by_id = {s.id: s for s in water}
    sec_ids = [dv.section_ids[i] for i in keep]
    body = np.array([by_id[i].body or "river" for i in sec_ids], dtype=str)
    target = np.array([int(by_id[i].target_class or 0) for i in sec_ids], dtype=np.int64)
    sa = assess_sections(means, dv.codes, body, target)
    cats = {c["class"]: c for c in categories()["water"]}
    out: dict[str, Mark] = {}
    for n, sid in enumerate(sec_ids):
        klass = int(sa.section_class[n])
        if klass not in cats:
            continue
        day = dv.start + dt.timedelta(days=int(last[keep[n]]))
        c = cats[klass]
        out[sid] = Mark(
            level=str(klass),
            color=c["color"],
            label_zh=c["name_zh"],
            label_en=c["name_en"],
            value=float(klass),
            ts=dt.datetime.combine(day, dt.time()),
            basis=f"daily class of {day} (GB 3838-2002 single-factor, bishui.water); "
            f"target {sa.attainment[n]}",
            basis_zh=f"{day} 日均值类别（GB 3838-2002 单因子评价，bishui.water）；"
            f"目标{sa.attainment[n]}",
        )
    return out


def _source_marks(
    store: Store,
    sites: Sequence[Site],
    base: dict[str, Mark],
    at: dt.datetime,
    hours: float,
) -> dict[str, Mark]:
    outlets = [s.id for s in sites if s.kind.startswith("source")]
    if not outlets:
        return {}
    start = at - dt.timedelta(hours=hours)
    marks = ", ".join("?" for _ in outlets)
    rows = store.query(
        "SELECT site_id, severity, COUNT(*) AS n, MAX(end_ts) AS last "  # noqa: S608
        f"FROM source_finding WHERE end_ts > ? AND start_ts <= ? AND site_id IN ({marks}) "
        "GROUP BY site_id, severity",
        [start, at, *outlets],
    )
    worst: dict[str, tuple[str, int, dt.datetime]] = {}
    order = list(SEVERITY_LEVEL)
    for r in rows:
        if r["severity"] not in SEVERITY_LEVEL:
            continue
        prev = worst.get(r["site_id"])
        if prev is None or order.index(r["severity"]) < order.index(prev[0]):
            worst[r["site_id"]] = (r["severity"], int(r["n"]), r["last"])
    cats = {c["level"]: c for c in categories()["source"]}
    out: dict[str, Mark] = {}
    for sid in outlets:
        if sid in worst:
            sev, n, last = worst[sid]
            c = cats[SEVERITY_LEVEL[sev]]
            out[sid] = Mark(
                SEVERITY_LEVEL[sev],
                c["color"],
                c["name_zh"],
                c["name_en"],
                float(n),
                last,
                basis=f"{n} {sev} finding(s) of bishui.sources in the last {hours:g} h",
                basis_zh=f"近 {hours:g} 小时污染源核查发现 {n} 条（{_severity_zh(sev)}）",
            )
        elif sid in base and base[sid].level in ("normal", "flagged"):
            c = cats["compliant"]
            out[sid] = Mark(
                "compliant",
                c["color"],
                c["name_zh"],
                c["name_en"],
                None,
                base[sid].ts,
                basis=f"current data, no finding of bishui.sources in the last {hours:g} h",
                basis_zh=f"有当前数据，近 {hours:g} 小时无污染源核查发现",
            )
    return out


@dataclass
class EngineColouring:
    """Air by real-time AQI, water by the newest daily class, outlets by findings.

    Parameters
    ----------
    base : the fallback colouring (default the provisional one)
    air_window_h : a real-time report older than this is not current [h]
    water_window_days : how far back the newest daily class is looked for [d]
    source_window_h : findings overlapping this many hours before now colour an outlet [h]
    """

    base: Colouring = provisional_colouring
    air_window_h: float = 3.0
    water_window_days: int = 31
    source_window_h: float = 24.0

    def __call__(
        self, store: Store, sites: Sequence[Site], at: dt.datetime | None = None
    ) -> dict[str, Mark]:
        at = at or now_beijing()
        from bishui.web.air_colouring import AirColouring

        marks = dict(self.base(store, sites, at))

        def air() -> dict[str, Mark]:
            out = AirColouring(lambda *_: {}, self.air_window_h)(store, sites, at)
            # bishui.air states its basis in English only: add the Chinese one
            return {
                sid: replace(
                    m,
                    basis_zh=m.basis_zh
                    or "实时空气质量指数（"
                    + m.basis.removeprefix("real-time AQI, ").replace("; AQI NA", "；AQI 为 NA")
                    + "）",
                )
                for sid, m in out.items()
            }

        layers = (
            ("air", air),
            ("water", lambda: _water_marks(store, sites, at, self.water_window_days)),
            (
                "source",
                lambda: _source_marks(store, sites, marks, at, self.source_window_h),
            ),
        )
        for name, layer in layers:
            try:
                marks.update(layer())
            except Exception:  # an engine's failure keeps the fallback marks of its layer
                log.exception("overview colouring: the %s engine failed; fallback kept", name)
        return marks


engine_colouring: Colouring = EngineColouring()
