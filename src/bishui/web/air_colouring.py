"""The overview map's air layer from the full real-time AQI (replaces the provisional PM-only one).

``bishui.web.colouring`` colours air stations provisionally from PM alone until the air core
is wired in. :class:`AirColouring` wraps any colouring (by default the provisional one, which
keeps colouring water sections and outlets) and replaces each air station's mark with its
real-time report (:func:`bishui.air.service.realtime`: all six pollutants, the edition of the
hour, the 2026 "NA" rule). A mark's ``ts`` is the report's end-of-hour label
(:func:`bishui.timeutil.hour_label`), as on every page. Wire it with
``create_app(store, settings, colouring=AirColouring())``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bishui.air.service import STANDARDS, realtime
from bishui.errors import NotFoundError
from bishui.registry.model import Site
from bishui.store import Store
from bishui.timeutil import now_beijing
from bishui.web.colouring import Colouring, Mark, aqi_category, nodata_mark, provisional_colouring


class AirColouring:
    """Air stations by their real-time AQI; everything else by *base*.

    Parameters
    ----------
    base : Colouring, optional
        The colouring of the other kinds (default the provisional one).
    window_h : float
        A report whose hour ended more than this before *at* is not current [h].
    """

    def __init__(self, base: Colouring | None = None, window_h: float = 3.0) -> None:
        self.base = base or provisional_colouring
        self.window_h = window_h

    def __call__(
        self, store: Store, sites: Sequence[Site], at: dt.datetime | None = None
    ) -> dict[str, Mark]:
        at = at or now_beijing()
        marks = self.base(store, sites, at)
        air = {s.id for s in sites if s.kind == "air"}
        if not air:
            return marks
        try:
            rt = realtime(store, now=at)
        except NotFoundError:
            return marks
        if rt.hour < at - dt.timedelta(hours=self.window_h) or rt.hour > at + dt.timedelta(hours=2):
            return marks  # stale (or from the future): keep the base's verdict
        basis = f"real-time AQI, {STANDARDS[rt.edition]} (bishui.air)"
        basis_zh = f"实时空气质量指数，{STANDARDS[rt.edition]}"
        label = rt.hour  # the report's end-of-hour label (bishui.timeutil.hour_label)
        for row in rt.rows:
            if row.scope != "station" or row.code not in air:
                continue
            rep = row.report
            if rep.aqi is None:
                nd = nodata_mark()
                marks[row.code] = Mark(
                    level=nd.level,
                    color=nd.color,
                    label_zh="NA",
                    label_en="NA",
                    ts=label,
                    basis=basis + "; AQI NA (HJ 633-2026 §5.3.1)",
                    basis_zh=basis_zh + "；AQI 按 HJ 633-2026 §5.3.1 发布为 NA",
                )
                continue
            cat = aqi_category(rep.aqi)
            marks[row.code] = Mark(
                level=str(rep.level),
                color=rep.hex or cat["color"],
                label_zh=rep.category or cat["name_zh"],
                label_en=cat["name_en"],
                value=float(rep.aqi),
                ts=label,
                basis=basis,
                basis_zh=basis_zh,
            )
        return marks
