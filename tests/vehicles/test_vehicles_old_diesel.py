"""Rule 9 of the notes (§A3b): a spike of old diesel vehicles passing at a station, against the
station's own history and its peers — fires on a constructed spike, silent on steady stations
and on the simulator's days; the service reads the registry's stage (both backends)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from bishui.store import Store
from bishui.vehicles import rules, service
from bishui.vehicles.model import FREE_ACCEL, Inspection, Vehicle
from bishui.vehicles.simulate import SimConfig, simulate

D0 = dt.date(2026, 11, 1)


def _grid(spike: int | None, days: int = 10, stations: int = 5, per_day: int = 40):
    """Every station-day: *per_day* tests, every 10th an old diesel vehicle passing; with
    *spike*, S01 on the last day has that many old-diesel passes instead."""
    st, dd, old, ok = [], [], [], []
    for d in range(days):
        for s in range(1, stations + 1):
            for i in range(per_day):
                code = f"S{s:02d}"
                o = i % 10 == 0
                if spike is not None and code == "S01" and d == days - 1:
                    o = i < spike
                st.append(code)
                dd.append(D0 + dt.timedelta(days=d))
                old.append(o)
                ok.append(True)
    return st, dd, old, ok


def test_fires_on_a_spike_and_is_silent_on_steady_stations() -> None:
    last = D0 + dt.timedelta(days=9)
    st, dd, old, ok = _grid(spike=15)
    (f,) = rules.old_diesel_findings(st, dd, old, ok, D0)
    assert (f.rule_id, f.station, f.subject) == ("OLD_DIESEL", "S01", f"S01:{last}:old_diesel")
    ev = f.evidence
    assert (ev["old_diesel_passes"], ev["tests"], ev["history_share"]) == (15, 40, 0.1)
    assert ev["peer_share"] == 0.1 and ev["z_history"] > 3 and ev["z_peers"] > 3
    assert rules.old_diesel_findings(*_grid(spike=None), D0) == []
    # the same old vehicles failing are no spike of passes
    assert rules.old_diesel_findings(st, dd, old, [not o for o in old], D0) == []
    # only days on or after *first* are judged
    assert rules.old_diesel_findings(st, dd, old, ok, last + dt.timedelta(days=1)) == []
    # a station whose own history is this high already is not spiking
    st2, dd2, old2, ok2 = _grid(spike=None)
    old2 = [
        o or (s == "S01" and i % 40 < 15) for i, (s, o) in enumerate(zip(st2, old2, strict=True))
    ]
    assert rules.old_diesel_findings(st2, dd2, old2, ok2, last) == []


def test_silent_on_the_simulators_days() -> None:
    p = rules.RuleParams()
    for seed in (1, 2, 3):
        day = simulate(SimConfig(stations=10, tests_per_lane=20, seed=seed))
        reg = day.vehicles
        st = [t.station for t in day.inspections]
        dd = [t.start.date() for t in day.inspections]
        old = [reg[t.vin].fuel == "diesel" and reg[t.vin].stage <= p.old_diesel_max_stage
               for t in day.inspections]  # fmt: skip
        ok = [t.claimed_result == 1 for t in day.inspections]
        assert any(old)
        assert rules.old_diesel_findings(st, dd, old, ok, dd[0]) == []


def test_the_service_reads_the_registry_stage(store: Store) -> None:
    now = dt.datetime(2026, 11, 3, 9)
    tests, vehicles = [], []
    n = 0
    for d in range(2):
        for s in ("S01", "S02", "S03"):
            for i in range(12):
                n += 1
                vin = f"LJMOD{n:012d}"
                spike = s == "S01" and d == 1
                old = i < 10 if spike else i == 0
                vehicles.append(Vehicle(vin, f"鄂H{n:05d}", "diesel", 12000, 150.0,
                                        2 if old else 5, "D150"))  # fmt: skip
                start = dt.datetime.combine(D0 + dt.timedelta(days=d), dt.time(9)) + dt.timedelta(
                    minutes=10 * i
                )
                tests.append(Inspection(f"OD{n:05d}", s, f"{s}-L2", vin, f"鄂H{n:05d}",
                                        FREE_ACCEL, start, "initial", 1,
                                        {"k": np.full(5, 0.3), "rpm": np.full(5, 800.0),
                                         "phase": np.zeros(5)}, fuel="diesel"))  # fmt: skip
    service.save_vehicles(store, vehicles, "t", now)
    service.upload(store, tests, "t", "test", now)
    day2 = D0 + dt.timedelta(days=1)
    found = service.old_diesel_findings(store, day2, day2)
    assert [(f.station, f.evidence["old_diesel_passes"]) for f in found] == [("S01", 10)]
    assert service.old_diesel_findings(store, D0, D0) == []
