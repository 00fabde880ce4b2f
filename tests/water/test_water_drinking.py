"""Drinking-water sources: 表1 + 表2 compliance and the alert rule set."""

import datetime as dt

import numpy as np
import pytest

from bishui.errors import InputError
from bishui.water.drinking import AlertRules, source_alerts, source_compliance, source_limits

T0 = dt.datetime(2026, 5, 1, 0, 0)


def hours(n, start=T0, step=1):
    return [start + dt.timedelta(hours=step * i) for i in range(n)]


def test_limits_table1_at_target_class_and_table2():
    lim = source_limits(["w21003", "w21011", "w01009", "w01001", "w20125", "w01010"], 2, "lake")
    assert lim.direction == ("le", "le", "ge", "range", "le", "")
    assert lim.limit[:3].tolist() == [0.5, 0.025, 6.0]
    assert (lim.lo[3], lim.hi[3]) == (6.0, 9.0)
    assert lim.limit[4] == 0.3  # 表2 iron
    assert lim.standard[0] == "GB 3838-2002 表1 Ⅱ类" and lim.standard[4] == "GB 3838-2002 表2"
    with pytest.raises(InputError, match="target_class"):
        source_limits(["w21003"], 6)


def test_compliance_of_samples():
    codes = ["w21003", "w20124", "w01001", "w01010"]
    x = np.array(
        [
            [0.4, 0.05, 7.5, 20.0],  # compliant at Ⅱ
            [0.6, 0.05, 7.5, 20.0],  # NH3-N above Ⅱ
            [0.4, 0.12, 7.5, 20.0],  # Mn above 表2 0.1
            [np.nan, np.nan, np.nan, 20.0],  # nothing judged
        ]
    )
    c = source_compliance(x, codes, target_class=2, body="lake")
    assert c.compliant.tolist() == [True, False, False, False]
    assert c.judged.tolist() == [True, True, True, False]
    assert c.exceeding(1) == ("w21003",) and c.exceeding(2) == ("w20124",)
    assert c.rate == pytest.approx(1 / 3)


def test_single_reading_above_the_limit_raises_one_alert_per_episode():
    v = np.array([0.3, 0.4, 0.6, 0.7, 0.4, 0.55, 0.3])
    alerts = source_alerts(hours(7), v, ["w21003"], 2, rules=AlertRules(trend=False), source="WS06")
    assert [(a.kind, a.time.hour, a.value, a.limit) for a in alerts] == [
        ("exceedance", 2, 0.6, 0.5),
        ("exceedance", 5, 0.55, 0.5),
    ]
    first = alerts[0]
    assert first.evidence["readings"] == 2 and first.evidence["peak"] == 0.7
    assert first.evidence["until"] == T0 + dt.timedelta(hours=3)
    assert first.source == "WS06" and first.target_class == 2 and first.parameter == "w21003"
    per_reading = source_alerts(
        hours(7), v, ["w21003"], 2, rules=AlertRules(trend=False, episodes=False)
    )
    assert len(per_reading) == 3


def test_do_and_ph_exceedances():
    codes = ["w01009", "w01001"]
    x = np.array([[7.0, 7.5], [5.5, 9.3], [7.0, 7.5]])
    alerts = source_alerts(hours(3), x, codes, 2, rules=AlertRules(trend=False))
    kinds = sorted((a.parameter, a.value) for a in alerts)
    assert kinds == [("w01001", 9.3), ("w01009", 5.5)]
    ph = next(a for a in alerts if a.parameter == "w01001")
    assert ph.limit is None and ph.evidence["range"] == (6.0, 9.0)


def test_trend_towards_the_limit():
    # NH3-N rising 0.02 mg/L per hour from 0.30: still within Ⅱ (0.5) but will reach it.
    v = 0.30 + 0.02 * np.arange(10)
    alerts = source_alerts(hours(10), v, ["w21003"], 2, rules=AlertRules(trend_window=6))
    trends = [a for a in alerts if a.kind == "trend"]
    assert len(trends) == 1  # raised once, when the condition first holds
    a = trends[0]
    assert a.time == T0 + dt.timedelta(hours=5) and a.value == pytest.approx(0.40)
    assert a.evidence["slope_per_hour"] == pytest.approx(0.02)
    assert a.evidence["projected"] > 0.5 and a.limit == 0.5
    # A flat series raises nothing.
    assert source_alerts(hours(10), np.full(10, 0.45), ["w21003"], 2) == []


def test_trend_of_do_falling_towards_its_minimum():
    v = 7.5 - 0.1 * np.arange(8)  # Ⅱ minimum 6
    alerts = source_alerts(hours(8), v, ["w01009"], 2)
    assert [a.kind for a in alerts] == ["trend"]


def test_missing_data_gap():
    times = hours(4) + hours(3, start=T0 + dt.timedelta(hours=12))
    x = np.array([[0.3, 0.1]] * 7)
    x[1] = np.nan  # both parameters missing at 01:00 too
    alerts = source_alerts(times, x, ["w21003", "w20125"], 2, rules=AlertRules(max_gap_hours=6))
    gaps = [a for a in alerts if a.kind == "gap"]
    assert len(gaps) == 1
    g = gaps[0]
    assert g.parameter == "*" and g.time == T0 + dt.timedelta(hours=3)
    assert g.evidence["hours"] == 9.0 and g.evidence["parameters"] == ["w21003", "w20125"]
    # Open gap up to `now`.
    now = T0 + dt.timedelta(hours=30)
    late = source_alerts(times, x, ["w21003", "w20125"], 2, now=now)
    open_gap = [a for a in late if a.kind == "gap" and a.evidence["to"] is None]
    assert open_gap and open_gap[0].evidence["hours"] == 16.0


def test_bad_input():
    with pytest.raises(InputError, match="increasing"):
        source_alerts([T0, T0], [0.1, 0.2], ["w21003"], 2)
    with pytest.raises(InputError) as info:
        source_alerts(hours(2), [0.1, -0.2], ["w21003"], 2)
    assert info.value.field == "w21003" and info.value.row == 1
    with pytest.raises(InputError, match="times"):
        source_alerts(hours(3), [0.1, 0.2], ["w21003"], 2)


def test_aware_times_are_taken_as_beijing_time():
    utc = [dt.datetime(2026, 5, 1, h, tzinfo=dt.UTC) for h in range(3)]
    alerts = source_alerts(utc, [0.3, 0.6, 0.3], ["w21003"], 2, rules=AlertRules(trend=False))
    assert alerts[0].time == dt.datetime(2026, 5, 1, 9, 0)  # 01:00 UTC = 09:00 Beijing
