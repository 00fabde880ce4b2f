"""The model city's river and lake chiefs: the registry of ``jingmen/rivers.toml``, the demo
accounts of a township chief (长湖后港镇) and a volunteer supervisor (漳河水库), and two
patrols whose problems became enforcement tasks (docs/governance.md). Cheap: a few dozen rows
and two routings; run again, it adds nothing."""

from __future__ import annotations

import datetime as dt
import tomllib
from importlib import resources
from typing import Any

from bishui.rivers import service
from bishui.store import Store

#: the demo's accounts: role → username (the TOML names them by role)
ACCOUNTS = {"river_chief": "river_chief", "volunteer": "volunteer"}


def registry_doc(accounts: dict[str, str] | None = None) -> dict[str, Any]:
    """``jingmen/rivers.toml`` with its account names mapped to *accounts*."""
    names = accounts or ACCOUNTS
    text = (resources.files("bishui.demo") / "jingmen" / "rivers.toml").read_text("utf-8")
    doc = tomllib.loads(text)
    for kind in ("chiefs", "volunteers"):
        for row in doc[kind]:
            if row.get("username"):
                row["username"] = names.get(row["username"], row["username"])
    return doc


def _walk(start: dt.datetime, lat: float, lon: float, n: int) -> list[dict[str, Any]]:
    # a straight walk along the bank: ~100 m and 4 minutes a step
    return [
        {"lat": round(lat + 0.0009 * i, 6), "lon": round(lon + 0.0001 * i, 6),
         "t": (start + dt.timedelta(minutes=4 * i)).isoformat()}
        for i in range(n)
    ]  # fmt: skip


def setup(store: Store, now: dt.datetime, accounts: dict[str, str] | None = None) -> dict[str, int]:
    """Load the registry; patrol twice with a problem each, unless patrols exist already."""
    names = accounts or ACCOUNTS
    got = service.load_registry(store, registry_doc(names), service.SYSTEM, now=now)
    if store.count("river_patrol"):
        return {**got, "patrols": 0, "problems": 0}
    chief = service.Who(names["river_chief"], "river_chief")
    volunteer = service.Who(names["volunteer"], "volunteer")
    start = now - dt.timedelta(hours=2)
    made = 0
    for who, section, lat, lon, category, text in (
        (chief, "CH-420822-HG", 30.500, 112.470, "garbage",
         "后港镇湖岸堆放生活垃圾约 20 平方米，部分漂入湖面（模拟）"),
        (volunteer, "ZHR-420800-ZH", 30.950, 112.060, "farming",
         "库区二级保护区内发现畜禽养殖棚，疑似污水直排入库（模拟）"),
    ):  # fmt: skip
        p = service.start_patrol(store, who, section, now=now)
        service.add_points(store, who, p["id"], _walk(start, lat, lon, 25), now=now)
        service.record_problem(store, who, p["id"], category, text, lat=lat, lon=lon, now=now)
        service.submit_patrol(store, who, p["id"], "巡查完成（模拟）", now=now)
        made += 1
    return {**got, "patrols": made, "problems": made}
