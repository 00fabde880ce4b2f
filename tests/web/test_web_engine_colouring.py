"""The overview's engine colouring (bishui.web.engine_colouring): each layer judged by its engine.

Air stations carry the real-time report of ``bishui.air``; outlets with a finding of
``bishui.sources`` in the window turn red / orange, the rest with current data green; an
engine that fails leaves the fallback (provisional) marks in place.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from bishui import readings
from bishui.registry.model import Site
from bishui.store import Store
from bishui.timeutil import now_beijing
from bishui.web.colouring import Mark
from bishui.web.engine_colouring import EngineColouring


def _finding(store: Store, site: Site, severity: str, at: dt.datetime) -> None:
    store.execute(
        "INSERT INTO source_finding (finding_key, event_key, rule_id, rule_version, "
        "ruleset_version, severity, site_code, outlet_id, site_id, uscc, region, pollutant, "
        "start_ts, end_ts, message, body, resolution, run_id, found_at) "
        "VALUES (?, ?, 'R', '1', '1', ?, ?, ?, ?, ?, ?, 'a21026', ?, ?, 'm', ?, 'open', 'r', ?)",
        [
            f"k-{site.id}",
            f"k-{site.id}",
            severity,
            site.id,
            site.id,
            site.id,
            site.enterprise or "x",
            site.region,
            at - dt.timedelta(hours=2),
            at - dt.timedelta(hours=1),
            json.dumps({}),
            at,
        ],
    )


def test_engines_colour_each_layer(city_store: Store) -> None:
    at = now_beijing()
    sites = sorted(readings.sites(city_store), key=lambda s: (s.kind, s.id))
    marks = EngineColouring()(city_store, sites, at)
    assert set(marks) == {s.id for s in sites}
    air = [marks[s.id] for s in sites if s.kind == "air"]
    assert air and all("bishui.air" in m.basis for m in air)  # the full real-time AQI
    outlets = [marks[s.id] for s in sites if s.kind.startswith("source")]
    assert {m.level for m in outlets} <= {"compliant", "exceeding", "finding", "nodata"}


def test_findings_colour_outlets(store: Store) -> None:
    from web_support import load_city

    load_city(store, hours=2)
    at = now_beijing()
    sites = readings.sites(store, "kind LIKE 'source%'")
    _finding(store, sites[0], "high", at)
    _finding(store, sites[1], "medium", at)
    marks = EngineColouring()(store, sites, at)
    assert marks[sites[0].id].level == "exceeding"
    assert marks[sites[0].id].color == "#D7191C"
    assert marks[sites[1].id].level == "finding"
    assert marks[sites[2].id].level == "compliant"


def test_a_failing_engine_keeps_the_fallback(city_store: Store) -> None:
    sites = readings.sites(city_store, "kind = 'water'")
    fallback = Mark("3", "#00FF00", "Ⅲ类", "Class III", basis="fallback")

    class Broken:
        def query(self, *a: Any, **k: Any) -> Any:
            raise RuntimeError("engine down")

        def query_columns(self, *a: Any, **k: Any) -> Any:
            raise RuntimeError("engine down")

    colour = EngineColouring(base=lambda store, ss, at: {s.id: fallback for s in ss})
    marks = colour(Broken(), sites, now_beijing())  # type: ignore[arg-type]
    assert all(m.basis == "fallback" for m in marks.values())


def test_a_refresh_never_stalls_other_readers(city_store: Store) -> None:
    """While one reader recomputes the snapshot, the others answer from the previous one."""
    import threading

    from bishui.web import Settings, create_app

    release, started = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow(store: Store, sites: Any, at: dt.datetime) -> dict[str, Mark]:
        calls.append(1)
        if len(calls) == 2:  # the refresh
            started.set()
            assert release.wait(10)
        return {s.id: Mark("nodata", "#9E9E9E", "无", "none") for s in sites}

    app = create_app(city_store, Settings(secret="", snapshot_seconds=0), colouring=slow)
    ctx = app.state.web
    first = ctx.snapshot()
    refresher = threading.Thread(target=ctx.snapshot)
    refresher.start()
    assert started.wait(10)
    assert ctx.snapshot() is first  # not blocked behind the refresh
    release.set()
    refresher.join(10)
    assert ctx.snapshot().serial > first.serial
