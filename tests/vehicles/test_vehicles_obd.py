"""Rule 17 (notes §A3b, the OBD cheat box): the OBD check fields of an inspection record and
OBD_CLEARED — fires when the trouble codes were cleared just before the test, silent on
clean records; the simulator emits the fields; stored and read back on both backends."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from bishui.errors import InputError
from bishui.store import Store
from bishui.vehicles import rules, service
from bishui.vehicles.model import TSI, Inspection, ObdCheck
from bishui.vehicles.rules import RuleParams
from bishui.vehicles.simulate import SimConfig, simulate

T0 = dt.datetime(2026, 11, 2, 9, 0)
READY = {"misfire": True, "fuel_system": True, "components": True, "catalyst": True}


def _test(n: int, obd: ObdCheck | None) -> Inspection:
    z = np.zeros(5)
    return Inspection(f"T{n}", "S01", "S01-L1", f"VIN{n}", "鄂H0000", TSI,
                      T0 + dt.timedelta(minutes=10 * n), "initial", 1,
                      {"t": z, "hc": z, "co": z}, obd=obd)  # fmt: skip


def _obd(km: int | None, wu: int | None, **ready: bool) -> ObdCheck:
    return ObdCheck(mil_on=False, dtc_count=0, readiness={**READY, **ready},
                    distance_since_clear_km=km, warmups_since_clear=wu)  # fmt: skip


def test_fires_on_codes_cleared_just_before_the_test() -> None:
    tests = [
        _test(1, _obd(2, 0, catalyst=False)),  # the cheat box: cleared, not ready → high
        _test(2, _obd(30, 10)),  # cleared 30 km ago, monitors ready → medium
        _test(3, _obd(800, 1)),  # one warm-up since the clearing → medium
        _test(4, _obd(5000, 200)),  # clean
        _test(5, _obd(120, 8)),  # repaired and cleared a while ago, ready again: clean
        _test(6, None),  # no OBD check reported
        _test(7, _obd(None, None)),  # counters not reported
    ]
    found = {f.subject: f for f in rules.obd_cleared_findings(tests)}
    assert sorted(found) == ["T1", "T2", "T3"]
    assert [found[k].severity for k in ("T1", "T2", "T3")] == ["high", "medium", "medium"]
    ev = found["T1"].evidence
    assert ev["incomplete_monitors"] == ["catalyst"] and ev["distance_since_clear_km"] == 2
    assert ev["max_km"] == 50 and ev["max_warmups"] == 3
    # the thresholds are parameters
    strict = RuleParams(obd_clear_max_km=10, obd_clear_max_warmups=1)
    assert [f.subject for f in rules.obd_cleared_findings(tests, strict)] == ["T1"]
    assert rules.obd_cleared_findings([_test(9, None)]) == []
    assert rules.obd_cleared_findings([]) == []


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"dtc_count": -1}, "obd.dtc_count"),
        ({"distance_since_clear_km": 70000}, "obd.distance_since_clear_km"),
        ({"warmups_since_clear": True}, "obd.warmups_since_clear"),
        ({"mil_on": "yes"}, "obd.mil_on"),
        ({"readiness": {"flux_capacitor": True}}, "obd.readiness"),
        ({"readiness": {"catalyst": 1}}, "obd.readiness"),
        ({"odometer": 5}, "obd"),
    ],
)
def test_bad_obd_fields_are_refused_naming_the_field(doc: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as e:
        ObdCheck.from_dict(doc)
    assert e.value.field == field


def test_the_simulator_emits_the_fields_and_the_rule_finds_the_fraud() -> None:
    day = simulate(SimConfig(stations=3, tests_per_lane=20, seed=5, frauds={"obd_cleared": 0.3}))
    assert all(t.obd is not None for t in day.inspections)
    faked = {k for k, v in day.truth.items() if "obd_cleared" in v}
    found = {f.subject for f in rules.obd_cleared_findings(day.inspections)}
    assert faked and found == faked  # every fraud, no false alarm
    honest = simulate(SimConfig(stations=3, tests_per_lane=20, seed=6))
    assert rules.obd_cleared_findings(honest.inspections) == []
    # the OBD draws have their own stream: a seed's curves are what they were without them
    plain = simulate(SimConfig(stations=3, tests_per_lane=20, seed=5))
    assert [t.claimed_result for t in plain.inspections] == [
        t.claimed_result for t in day.inspections if t.id in {p.id for p in plain.inspections}
    ]


def test_stored_and_read_back(store: Store) -> None:
    day = simulate(SimConfig(stations=1, tests_per_lane=3, seed=8))
    t = dataclasses.replace(day.inspections[0], obd=_obd(3, 0, catalyst=False))
    doc = {
        "id": t.id, "station": t.station, "lane": t.lane, "vin": t.vin, "plate": t.plate,
        "method": t.method, "start": t.start.isoformat(), "nature": t.nature,
        "claimed_result": t.claimed_result,
        "curve": {k: v.tolist() for k, v in t.curve.items()},
        "obd": t.obd.as_dict() if t.obd else None,
    }  # fmt: skip
    parsed = service.parse_inspection(doc)
    assert parsed.obd == t.obd
    service.upload(store, [parsed, day.inspections[1]], "station", now=T0)
    back = {x.id: x for x in service.inspections(store, t.start.date(), t.start.date())}
    assert back[t.id].obd == t.obd and back[day.inspections[1].id].obd == day.inspections[1].obd
    with pytest.raises(InputError, match=r"obd\.readiness"):
        service.parse_inspection({**doc, "obd": {"readiness": {"x": True}}})
    found = service.analyse(store, t.start.date(), t.start.date(), "supervisor", T0)
    assert [f.subject for f in found if f.rule_id == "OBD_CLEARED"] == [t.id]
