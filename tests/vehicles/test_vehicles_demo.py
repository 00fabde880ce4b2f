"""The demo's vehicle stations: loaded once, the fraud station ranked first, alerts in the
enforcement loop, report codes that verify, the signing key kept 0600."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bishui.demo import vehicles as demo_vehicles
from bishui.store import Store
from bishui.vehicles import service

NOW = dt.datetime(2026, 11, 3, 9, 0)


def test_demo_vehicles(store: Store, tmp_path: Path) -> None:
    got = demo_vehicles.setup(store, tmp_path, NOW, now=NOW, echo=lambda *_: None)
    assert got["inspections"] > 400 and got["findings"] > 0 and got["alerts"] > 0
    assert got["reports"] == 5
    # S01's boxes sent their captures as signed HJ 212 frames (the rest loaded directly)
    assert got["framed_captures"] > 0 and got["captures"] + got["framed_captures"] == 420
    assert store.count("vehicles_captures") == 420 and store.count("vehicles_boxes") == 2
    assert demo_vehicles.setup(store, tmp_path, NOW, now=NOW, echo=lambda *_: None) == {}
    day = dt.date(2026, 11, 2)
    assert service.ranking(store, day, day)[0]["station"] == "S01"
    assert (tmp_path / demo_vehicles.KEY_FILE).stat().st_mode & 0o777 == 0o600
    for r in store.query("SELECT payload FROM vehicles_reports"):
        assert service.verify_code(store, r["payload"]).ok
    # the boxes' event channels and the lanes' self-checks: S01's broken seal, lifted probe
    # and failed coast-down are found — there and nowhere else
    rows = store.query(
        "SELECT rule_id, station, COUNT(*) AS n FROM vehicles_findings WHERE rule_id IN "
        "('SEAL_BREAK', 'PROBE_MOVED', 'SELFCHECK_FAIL', 'SELFCHECK_MISSING') "
        "GROUP BY rule_id, station"
    )
    by = {(r["rule_id"], r["station"]): r["n"] for r in rows}
    assert {k[1] for k in by} == {"S01"}
    assert {"SEAL_BREAK", "PROBE_MOVED", "SELFCHECK_FAIL"} <= {k[0] for k in by}
    assert got["selfchecks"] == 10 * 2 * 2 + 1
    fails = service.findings(store, "S01", 5000)
    lane = {r["evidence"].get("item") for r in fails if r["rule_id"] == "SELFCHECK_FAIL"}
    assert lane == {"coastdown"}
    assert not store.query("SELECT 1 AS x FROM vehicles_findings WHERE rule_id = 'OLD_DIESEL'")
