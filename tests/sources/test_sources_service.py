"""The store-backed checks on both backends: permits versioning, findings → alerts → tasks,
idempotent re-runs, the audit chain, the hourly path's unit conversions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from sources_store import (
    GAS_A,
    GAS_B,
    PERMIT_NO,
    USCC_A,
    gas_day,
    make_permit,
    registry,
    write_hourly,
)

from bishui.enforcement import service as enf
from bishui.errors import InputError
from bishui.sources import permit_store, service
from bishui.sources.permits import Limit, Outlet, amend
from bishui.store import Store

D0 = dt.date(2026, 6, 29)
NOW = dt.datetime(2026, 7, 10, 9)


def _amended() -> list:
    p = make_permit()
    ultra = Limit("a21026", Decimal(100), "mg/m3", "超低排放改造（示例）", reference_o2=Decimal(6))
    return amend([p], p.permit_no, dt.date(2026, 7, 1), "超低排放改造",
                 outlets=(Outlet("DA001", (ultra,)), *p.outlets[1:]))  # fmt: skip


def test_permit_versions_are_kept_and_never_overwritten(store: Store) -> None:
    registry(store)
    p = make_permit()
    assert permit_store.record_permits(store, [p]) == {"new": 1, "revised": 0, "unchanged": 0}
    assert permit_store.record_permits(store, [p])["unchanged"] == 1
    hist = _amended()
    assert permit_store.record_permits(store, hist) == {"new": 1, "revised": 1, "unchanged": 0}
    rows = permit_store.permit_history(store, PERMIT_NO)
    assert [(r["version"], r["revision"]) for r in rows] == [(1, 1), (1, 2), (2, 1)]
    assert rows[0]["valid_to"] == "2029-12-31" and rows[1]["valid_to"] == "2026-06-30"
    current = permit_store.load_permits(store)
    assert [(x.version, x.valid_to) for x in current] == [
        (1, dt.date(2026, 6, 30)), (2, dt.date(2029, 12, 31))]  # fmt: skip
    _, listed = permit_store.list_permits(store, on=dt.date(2026, 5, 1))
    assert listed[0]["version"] == 1 and listed[0]["in_force"]
    # an overlapping version is refused with the field and the rule
    bad = make_permit(version=3, valid_from=dt.date(2026, 8, 1))
    with pytest.raises(InputError) as e:
        permit_store.record_permits(store, [bad])
    assert e.value.field == "valid_from"


def test_a_check_on_a_date_uses_that_dates_limits(store: Store) -> None:
    registry(store)
    permit_store.record_permits(store, _amended())
    for i in range(4):  # 150 mg/m³ at the reference O2: under 200 (v1), over 100 (v2)
        gas_day(store, GAS_A, D0 + dt.timedelta(days=i), 150.0)
    r = service.run_checks(store, dt.datetime(2026, 6, 29), dt.datetime(2026, 7, 3), now=NOW,
                           site_ids=[GAS_A])  # fmt: skip
    exc = [f for f in r.findings if f.rule_id == "EXC"]
    assert len(exc) == 1
    (f,) = exc
    assert f.start == dt.datetime(2026, 7, 1) and f.permit_version == 2
    assert f.measured["limit"] == 100.0 and f.measured["periods"] == 48


def test_exceedance_to_finding_to_alert_to_task_and_idempotent(store: Store) -> None:
    registry(store)
    permit_store.record_permits(store, [make_permit()])
    so2 = [120.0] * 24
    so2[10:13] = [260.0, 300.0, 250.0]  # three hours above 200 mg/m³ at 6 % O2
    gas_day(store, GAS_A, D0, so2)
    r = service.run_checks(store, dt.datetime(2026, 6, 29), dt.datetime(2026, 6, 30), now=NOW,
                           site_ids=[GAS_A])  # fmt: skip
    (f,) = [f for f in r.new if f.rule_id == "EXC"]
    # hour 11: 300.1 mg/m³ at 6.01 % O2 → 300.1 × 15/14.99 (HJ 212-2017 D2.3 eq. 28)
    assert f.measured["peak"] == float(Fraction("300.1") * 15 / Fraction("14.99"))
    assert f.measured["periods"] == 3
    stored = service.get_finding(store, f.key)
    assert stored is not None and stored["rule_version"] and stored["body"]["evidence"]
    assert stored["region"] == "420802" and stored["uscc"] == USCC_A
    total, alerts = enf.list_alerts(store)
    assert total == len(r.new) and alerts[0]["state"] == "tasked"
    (task_id,) = r.tasks
    task, region = enf.get_task(store, task_id)
    assert task.state == "assigned" and task.assignee == "team:420802" and region == "420802"
    assert task.suggested_article.endswith("第三十四条")
    # the same period again: nothing new anywhere
    again = service.run_checks(store, dt.datetime(2026, 6, 29), dt.datetime(2026, 6, 30),
                               now=NOW + dt.timedelta(hours=1), site_ids=[GAS_A])  # fmt: skip
    assert again.new == [] and again.tasks == [] and again.alerts == 0
    assert enf.list_alerts(store)[0] == total
    assert enf.verify_audit(store) > 0
    assert enf.replay_task(store, task_id).as_dict() == task.as_dict()
    notes = enf.notifications(store, task_id)
    assert {n["recipient"] for n in notes} == {"role:supervisor", "team:420802"}


def test_a_shifted_window_merges_into_the_stored_event(store: Store) -> None:
    registry(store)
    permit_store.record_permits(store, [make_permit()])
    day1 = [120.0] * 24
    day1[22:] = [260.0, 270.0]
    day2 = [120.0] * 24
    day2[:2] = [280.0, 265.0]
    gas_day(store, GAS_A, D0, day1)
    gas_day(store, GAS_A, D0 + dt.timedelta(days=1), day2)
    a = service.run_checks(store, dt.datetime(2026, 6, 29), dt.datetime(2026, 7, 1), now=NOW,
                           site_ids=[GAS_A])  # fmt: skip
    assert [f.measured["periods"] for f in a.new if f.rule_id == "EXC"] == [4]
    b = service.run_checks(store, dt.datetime(2026, 6, 30), dt.datetime(2026, 7, 1),
                           now=NOW + dt.timedelta(hours=1), site_ids=[GAS_A])  # fmt: skip
    assert b.merged >= 1 and b.alerts == 0 and not [f for f in b.new if f.rule_id == "EXC"]


def test_flow_units_and_no_permit(store: Store) -> None:
    registry(store)
    permit_store.record_permits(store, [make_permit()])
    gas_day(store, GAS_B, D0, 100.0, o2=6.0, flow_m3s=10.0)
    r = service.run_checks(store, dt.datetime(2026, 6, 29), dt.datetime(2026, 6, 30), now=NOW,
                           site_ids=[GAS_B])  # fmt: skip
    (f,) = [f for f in r.findings if f.rule_id == "NOPERMIT"]
    assert f.measured["reason"] == "no permit for the site" and f.severity == "high"
    # daily mass from m³/s: Σ C·(Q·3600)·1 h·1e-9 t — about 100 mg/m³ × 36 000 m³/h × 24 h
    # = 86.4 kg (HJ 212-2017 eq. 33); the hand sum includes the helper's 0.1 wobble
    # The day's mass is held in whole grams (exact sum, GB/T 8170 half-even to 1 g).
    w = [Decimal(i % 5) / 10 for i in range(24)]
    grams = sum((100 + x) * (10 + x) * 3600 for x in w) / 1000  # mg → g
    assert grams == Decimal("88226.424")
    (row,) = store.query("SELECT mass_t FROM source_mass_daily WHERE outlet_id = 'DA001' "
                         "AND site_code = ?", [f.outlet.site_code])  # fmt: skip
    assert row["mass_t"] == 0.088226


def test_minute_data_take_the_minute_path(store: Store) -> None:
    registry(store)
    permit_store.record_permits(store, [make_permit()])
    t = dt.datetime.combine(D0, dt.time())
    so2 = [120.0 + 0.1 * (i % 7) for i in range(1440)]
    so2[600:780] = [400.0] * 180  # 10:00–13:00 far above the limit
    write_hourly(store, GAS_A, "a21026", t, so2, period="min")
    write_hourly(store, GAS_A, "a19001", t, [6.0 + 0.01 * (i % 3) for i in range(1440)],
                 period="min")  # fmt: skip
    r = service.run_checks(store, t, t + dt.timedelta(days=1), now=NOW, site_ids=[GAS_A])
    assert r.resolution == {"min": 1, "hour": 0}
    (f,) = [f for f in r.findings if f.rule_id == "EXC"]
    assert f.measured["periods"] == 3
    assert store.query("SELECT resolution FROM source_finding WHERE finding_key = ?",
                       [f.key])[0]["resolution"] == "min"  # fmt: skip


def test_parse_period() -> None:
    assert service.parse_period("2026-11") == (dt.datetime(2026, 11, 1), dt.datetime(2026, 12, 1))
    assert service.parse_period("2026-12")[1] == dt.datetime(2027, 1, 1)
    assert service.parse_period("2026-11-20")[1] == dt.datetime(2026, 11, 21)
    with pytest.raises(InputError):
        service.parse_period("Nov 2026")


def test_grids_convert_flows_and_prefer_the_logger(store: Store) -> None:
    from sources_store import WATER_A

    from bishui.sources import store_data

    t = dt.datetime(2026, 6, 29)
    write_hourly(store, WATER_A, "w00000", t, [10.0] * 24)  # L/s (HJ 212-2017 Appendix B)
    write_hourly(store, WATER_A, "w00000", t, [99.0] * 2, origin="platform")  # logger wins
    g = store_data.load_grids(store, [WATER_A], "hour", t, 1)
    assert g.values["w00000"][0, 0] == pytest.approx(36.0)  # 10 L/s = 36 m³/h
    g = store_data.load_grids(store, [WATER_A], "hour", t, 1, {(WATER_A, "w00000"): "m³/h"})
    assert g.values["w00000"][0, 0] == pytest.approx(10.0)
    with pytest.raises(InputError) as e:
        store_data.load_grids(store, [WATER_A], "hour", t, 1, {(WATER_A, "w00000"): "t/d"})
    assert e.value.field == f"{WATER_A}.w00000.unit"
    # a gap is NaN with the no-record flag
    assert np.isnan(g.values["w00000"]).sum() == 0
    g2 = store_data.load_grids(store, [WATER_A], "hour", t, 2)
    assert np.isnan(g2.values["w00000"][0, 24:]).all() and (g2.flags["w00000"][0, 24:] == 8).all()


def test_grids_of_minutes_code_rows_channels_and_flags_in_the_read(store: Store) -> None:
    """Minute grids: each outlet on its row, each flag coded (NULL → no record), a channel
    the checks do not know left out, a platform value used only where no logger's came."""
    from bishui.sources import flags as fl
    from bishui.sources import store_data

    t = dt.datetime(2026, 6, 29)
    write_hourly(store, GAS_B, "a21026", t, [5.0, 6.0, 7.0], ["N", "C", "M"], period="min")
    write_hourly(store, GAS_A, "a21026", t + dt.timedelta(minutes=2), [9.0, 8.0], period="min")
    write_hourly(store, GAS_A, "a21026", t, [1.0, 2.0, 3.0], period="min", origin="platform")
    write_hourly(store, GAS_A, "a99999", t, [1.0], period="min")  # not an Appendix B code here
    write_hourly(store, GAS_A, "a19001", t, [7.0, 7.5], ["N", ""], period="min")
    g = store_data.load_grids(store, [GAS_A, GAS_B], "min", t, 1)
    assert set(g.values) == {"a21026", "a19001"} and g.values["a21026"].shape == (2, 1440)
    assert g.values["a21026"][0, :4].tolist() == [1.0, 2.0, 9.0, 8.0]  # logger wins at 2
    assert g.values["a21026"][1, :3].tolist() == [5.0, 6.0, 7.0]
    assert g.flags["a21026"][1, :4].tolist() == [fl.N, fl.C, fl.M, fl.MISSING]
    assert g.flags["a19001"][0, :2].tolist() == [fl.N, fl.MISSING]  # an empty flag is unknown
    assert g.present["a19001"].tolist() == [True, False]
    assert np.isnan(g.values["a21026"][1, 3:]).all()
    assert store_data.load_grids(store, [], "min", t, 1).values == {}
