"""Each fraud / data-quality signature: found on a constructed episode, silent on clean data."""

import datetime as dt

import numpy as np
import pytest

from bishui.errors import InputError
from bishui.sources import averaging, fraud, synthetic
from bishui.sources import flags as fl
from bishui.sources.findings import OutletRef
from bishui.sources.rules import load_ruleset

RULES = load_ruleset()
T0 = dt.datetime(2026, 3, 1)
LIMIT = 100.0
OUT = [OutletRef("91130200699229617X001", f"DA00{i}") for i in range(1, 5)]


@pytest.fixture
def block() -> synthetic.Block:
    return synthetic.clean(4, 3, seed=1, level=60.0)


def _minute_findings(b: synthetic.Block) -> list:
    return fraud.check_minutes(
        RULES,
        OUT,
        "a21026",
        T0,
        b.conc,
        b.conc_flags,
        LIMIT,
        flow=b.flow,
        flow_flags=b.flow_flags,
        range_low=0.0,
        range_high=500.0,
    )


def _hour_findings(b: synthetic.Block) -> list:
    hc = averaging.hourly(b.conc, b.conc_flags).mean
    ho = averaging.hourly(b.o2, b.o2_flags).mean
    return fraud.check_hours(RULES, OUT, "a21026", T0, hc, LIMIT, hc, ho)


def _twins(b: synthetic.Block) -> list:
    sig = fraud.twin_signatures(b.conc, b.conc_flags, RULES["TWIN"])
    return fraud.check_twins(RULES, OUT, "a21026", T0, sig)


def test_clean_data_raise_nothing(block: synthetic.Block) -> None:
    assert _minute_findings(block) == []
    assert _hour_findings(block) == []
    assert _twins(block) == []


@pytest.mark.parametrize("seed", range(3))
def test_clean_data_over_a_month(seed: int) -> None:
    b = synthetic.clean(4, 30, seed=seed)
    found = _minute_findings(b) + _hour_findings(b) + _twins(b)
    assert found == []


def _only(found: list, rule_id: str) -> list:
    assert {f.rule_id for f in found} == {rule_id}, [f.rule_id for f in found]
    return found


def test_flatline(block: synthetic.Block) -> None:
    synthetic.inject_flatline(block, 1, 600, 90, 55.0)
    (f,) = _only(_minute_findings(block), "FLAT")
    assert f.outlet.outlet_id == "DA002"
    assert f.start == T0 + dt.timedelta(minutes=600) and f.measured["periods"] == 90
    assert {e.value for e in f.evidence} == {55.0}
    # 59 minutes is below the rule's 60.
    b = synthetic.clean(4, 3, seed=1)
    synthetic.inject_flatline(b, 1, 600, 59, 55.0)
    assert _minute_findings(b) == []


def test_zero_flow_with_concentration(block: synthetic.Block) -> None:
    synthetic.inject_zero_flow(block, 0, 3200, 120)
    (f,) = _only(_minute_findings(block), "ZFLOW")
    assert f.measured["periods"] == 120


def test_flow_with_zero_concentration(block: synthetic.Block) -> None:
    synthetic.inject_zero_concentration(block, 2, 3200, 70)
    found = _minute_findings(block)
    # A run of zeros is also a flat line only above min_level (0): so ZCONC alone.
    (f,) = _only(found, "ZCONC")
    assert f.outlet.outlet_id == "DA003" and f.measured["periods"] == 70


def test_calibration_share(block: synthetic.Block) -> None:
    synthetic.inject_flags(block, 3, 1440 + 600, 200, fl.M)  # 210/1440 = 14.6 % > 12.5 %
    (f,) = _only(_minute_findings(block), "CALSHARE")
    assert f.start == T0 + dt.timedelta(days=1) and f.end == T0 + dt.timedelta(days=2)
    assert f.measured["max_day_share"] == pytest.approx(210 / 1440)


def test_gap_where_exceedance_would_begin(block: synthetic.Block) -> None:
    synthetic.inject_gap_before_exceedance(block, 0, 1000, LIMIT, 45)
    (f,) = _only(_minute_findings(block), "GAPX")
    assert f.start == T0 + dt.timedelta(minutes=1000) and f.measured["periods"] == 45
    assert len(f.evidence) == 15 and f.evidence[-1].time == T0 + dt.timedelta(minutes=999)
    assert f.measured["lookback_mean"] >= 0.9 * LIMIT


def test_gap_at_normal_level_is_not_flagged(block: synthetic.Block) -> None:
    block.conc[0, 1000:1045] = np.nan
    block.conc_flags[0, 1000:1045] = fl.B
    assert _minute_findings(block) == []


def test_out_of_range(block: synthetic.Block) -> None:
    block.conc[2, 500:503] = 650.0
    block.conc_flags[3, 800] = fl.T
    found = _only(_minute_findings(block), "RANGE")
    assert [(f.outlet.outlet_id, f.measured["periods"]) for f in found] == [
        ("DA003", 3),
        ("DA004", 1),
    ]


def test_stuck_near_limit(block: synthetic.Block) -> None:
    rng = np.random.default_rng(5)
    day = slice(1440, 2880)
    block.conc[1, day] = LIMIT * rng.uniform(0.96, 1.0, size=1440)
    (f,) = _only(_hour_findings(block), "STUCK")
    assert f.start == T0 + dt.timedelta(days=1) and f.measured["max_day_share"] > 0.9


def test_dilution(block: synthetic.Block) -> None:
    synthetic.inject_dilution(block, 2, 1440 + 600, 6)
    (f,) = _only(_hour_findings(block), "DILUTE")
    assert f.outlet.outlet_id == "DA003"
    # The finding spans the windows that matched: it covers the episode (10:00–16:00).
    assert f.start <= T0 + dt.timedelta(days=1, hours=10)
    assert f.end >= T0 + dt.timedelta(days=1, hours=16)
    assert f.end - f.start <= dt.timedelta(hours=12)


def test_twins(block: synthetic.Block) -> None:
    synthetic.inject_twin(block, 0, 3, day=2, offset=4.5)
    found = _only(_twins(block), "TWIN")
    assert sorted(f.outlet.outlet_id for f in found) == ["DA001", "DA004"]
    assert found[0].start == T0 + dt.timedelta(days=2)
    # Signatures computed in two chunks of outlets group the same way.
    a = fraud.twin_signatures(block.conc[:2], block.conc_flags[:2], RULES["TWIN"])
    b = fraud.twin_signatures(block.conc[2:], block.conc_flags[2:], RULES["TWIN"])
    assert fraud.twin_groups(np.vstack([a, b])) == [(2, [0, 3])]


def test_flat_days_are_not_twins() -> None:
    b = synthetic.clean(2, 1, seed=3)
    b.conc[:, :] = 50.0
    assert _twins(b) == []


def test_bad_shapes() -> None:
    with pytest.raises(InputError):
        fraud.calibration_share(np.zeros((1, 100), dtype=np.uint8), RULES["CALSHARE"])
    with pytest.raises(InputError):
        fraud.dilution(np.zeros((1, 3)), np.zeros((1, 3)), RULES["DILUTE"])


def test_false_alarm_rate_on_clean_history() -> None:
    """Clean synthetic history: 10 outlets × 90 days; the measured rate is documented."""
    b = synthetic.clean(10, 90, seed=42)
    out = [OutletRef("S", f"DA{i:03d}") for i in range(10)]
    found = fraud.check_minutes(
        RULES, out, "a21026", T0, b.conc, b.conc_flags, LIMIT, flow=b.flow, flow_flags=b.flow_flags
    )
    hc = averaging.hourly(b.conc, b.conc_flags).mean
    ho = averaging.hourly(b.o2, b.o2_flags).mean
    found += fraud.check_hours(RULES, out, "a21026", T0, hc, LIMIT, hc, ho)
    assert len(found) / (10 * 90) <= 0.01
