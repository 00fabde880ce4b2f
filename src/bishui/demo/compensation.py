"""The model city's ecological-compensation setup: agreements, entered figures, statements.

Some figures of the agreements come from no monitoring series: a river's discharge volume
(HJ 212 has no code for river flow) and the reservoir area's forest figure. In a real city
the hydrology station and the forestry bureau supply them (``bishui compensation figure``);
the model city enters them here, each marked with its source:

* 竹皮河 (WS02 泗水桥, WS04 马良龚家湾): mean discharge 6.92 m³/s — the river's published
  mean flow (water-and-compensation notes §B7, [V2]), applied to every period;
* 汉江 (WS08 罗汉闸): 1,500 m³/s — **a model assumption**, not a published figure;
* 漳河库区 forest area against 2020: 1 (kept) — **a model assumption**.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from bishui.compensation import service
from bishui.compensation.period import Period
from bishui.store import Store

MEAN_FLOW_M3_S = {
    "WS02": (
        Decimal("6.92"),
        "竹皮河多年平均流量 6.92 m³/s（标准笔记 §B7 [V2]），模拟城市按期间套用",
    ),
    "WS04": (
        Decimal("6.92"),
        "竹皮河多年平均流量 6.92 m³/s（标准笔记 §B7 [V2]），模拟城市按期间套用",
    ),
    "WS08": (Decimal("1500"), "模拟城市假设：汉江罗汉闸断面流量 1500 m³/s（非公开数据）"),
}
FOREST = ("WS06", Decimal("1"), "模拟城市假设：漳河库区公益林面积保持 2020 年基准")


def periods_between(start: dt.date, end: dt.date) -> list[Period]:
    """Every month, quarter and year lying wholly inside ``[start, end)``."""
    out = []
    for year in range(start.year, end.year + 1):
        for kind in ("month", "quarter", "year"):
            for p in Period.in_year(kind, year):
                if start <= p.start and p.end < end:
                    out.append(p)
    return out


def setup(store: Store, start: dt.date, end: dt.date, *, now: dt.datetime) -> int:
    """Record the agreements, enter the figures, compute the statements; return how many."""
    service.sync_agreements(store, by="demo", now=now)
    periods = periods_between(start, end)
    for p in periods:
        seconds = Decimal(((p.end - p.start).days + 1) * 86400)
        for point, (flow, source) in MEAN_FLOW_M3_S.items():
            service.set_figure(
                store, point, "volume", p, flow * seconds, source=source, by="demo", now=now
            )
        if p.kind == "year":
            point, value, source = FOREST
            service.set_figure(
                store, point, "forest_area_vs_2020", p, value, source=source, by="demo", now=now
            )
    n = 0
    for p in periods:  # each complete period once; a re-run adds nothing
        n += len(service.run(store, str(p), by="demo", now=now))
    return n
