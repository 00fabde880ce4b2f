"""The black box's event channels: a broken seal (notes §A3b rule 20) and a moved probe
(rule 18) fire; clean simulated captures and a steady probe stay silent."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bishui.vehicles import blackbox
from bishui.vehicles.simulate import SimConfig, SimDay, simulate, with_events


@pytest.fixture(scope="module")
def day() -> SimDay:
    return simulate(SimConfig(stations=3, tests_per_lane=10, seed=5))


def _with(cap: blackbox.Capture, **chans: np.ndarray) -> blackbox.Capture:
    return dataclasses.replace(cap, curve={**cap.curve, **chans})


def test_clean_simulated_captures_raise_no_event(day: SimDay) -> None:
    fired = [f for t in day.inspections for f in blackbox.event_findings(t, day.captures.get(t.id))]
    assert fired == []  # false-alarm rate on the simulator: 0 of len(day.inspections)
    t = day.inspections[0]
    n = t.seconds
    steady = _with(
        day.captures[t.id], seal=np.ones(n), probe_deg=np.full(n, 35.0) + 0.5 * np.sin(np.arange(n))
    )
    assert blackbox.event_findings(t, steady) == []


def test_a_seal_broken_mid_test_fires(day: SimDay) -> None:
    t = day.inspections[0]
    seal = np.ones(t.seconds)
    seal[12:20] = 0
    (f,) = blackbox.event_findings(t, _with(day.captures[t.id], seal=seal))
    assert (f.rule_id, f.severity, f.subject) == ("SEAL_BREAK", "high", t.id)
    assert f.evidence["first_s"] == 12 and f.evidence["seconds_broken"] == 8


def test_a_probe_pulled_out_fires_above_the_threshold_only(day: SimDay) -> None:
    t = day.inspections[1]
    att = np.full(t.seconds, 35.0)
    att[30:] = 80.0  # lifted out of the tailpipe
    (f,) = blackbox.event_findings(t, _with(day.captures[t.id], probe_deg=att))
    assert f.rule_id == "PROBE_MOVED" and f.evidence["range_deg"] == 45.0
    loose = blackbox.EventParams(probe_move_deg=50.0)  # configurable [M]
    assert blackbox.event_findings(t, _with(day.captures[t.id], probe_deg=att), loose) == []


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_false_alarms_on_simulated_event_channels(seed: int) -> None:
    # every simulated box sends seal and probe attitude: 0 findings on honest stations
    day = with_events(simulate(SimConfig(seed=seed)), seed=seed)
    assert len(day.inspections) > 400
    assert all("seal" in c.curve for c in day.captures.values())
    fired = [f for t in day.inspections for f in blackbox.event_findings(t, day.captures[t.id])]
    assert fired == []


def test_each_simulated_event_fraud_is_found() -> None:
    day = with_events(simulate(SimConfig(seed=9)), seed=9, frauds={"seal": 0.3, "probe": 0.3})
    found: dict[str, set[str]] = {}
    for t in day.inspections:
        for f in blackbox.event_findings(t, day.captures[t.id]):
            found.setdefault(t.id, set()).add(f.rule_id)
    want = {tid: {"SEAL_BREAK" if x == "seal" else "PROBE_MOVED" for x in v & {"seal", "probe"}}
            for tid, v in day.truth.items() if v & {"seal", "probe"}}  # fmt: skip
    assert want and found == want
