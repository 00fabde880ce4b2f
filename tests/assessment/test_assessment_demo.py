"""The model city's assessment data: set up once, balanced, labelled synthetic."""

from __future__ import annotations

import datetime as dt

from assess_helpers import load_regions

from bishui.assessment import service
from bishui.demo import assessment as demo_assessment
from bishui.store import Store

NOW = dt.datetime(2026, 12, 7, 10, 0)


def test_demo_setup_once(store: Store) -> None:
    load_regions(store)
    got = demo_assessment.setup(store, NOW)
    assert got["runs"] == 2 and got["terms"] == 1
    assert demo_assessment.setup(store, NOW)["runs"] == 0  # a second run keeps what is there
    for year in (2024, 2025, 2026):
        lines = service.asset_lines(store, "420822", year)
        assert lines and all(r["balanced"] for r in lines)
    # opening of a year = closing of the year before
    c25 = {
        (r["resource"], r["category"]): r["closing"]
        for r in service.asset_lines(store, "420822", 2025)
    }
    o26 = {
        (r["resource"], r["category"]): r["opening"]
        for r in service.asset_lines(store, "420822", 2026)
    }
    assert c25 == o26
    (term,) = service.terms(store)
    assert "模拟" in term["leader"]
    s = service.departure_summary(store, term["id"])
    assert s["assets"] and s["cases"][0]["facts"].endswith("（模拟案例）")
    for rid in (r["id"] for r in service.runs(store)):
        assert service.recompute(store, rid)
