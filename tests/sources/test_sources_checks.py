"""Reference O2, mass, hourly validity and exceedance: hand-computed cases.

Formulas: HJ 212-2017 附录D D2.3 eq. 28, D2.4 eq. 33, D.1.1 eq. 8, D2.2 eq. 24 (notes C1, C2).
"""

import dataclasses
import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bishui.errors import InputError
from bishui.sources import averaging, conversion, exceedance
from bishui.sources import flags as fl
from bishui.sources.findings import OutletRef
from bishui.sources.limits import limit_grid
from bishui.sources.permits import Limit, Outlet, amend
from bishui.sources.rules import load_ruleset
from conftest import PERMIT_NO, make_permit

RULES = load_ruleset()
H = dt.timedelta(hours=1)
T0 = dt.datetime(2026, 3, 1)


def test_reference_o2_hand_computed() -> None:
    # 150 mg/m3 at 9 % O2 to 6 %: 150 × (21 − 6)/(21 − 9) = 150 × 15/12 = 187.5 (eq. 28).
    assert conversion.reference_o2(150.0, 9.0, 6.0) == 187.5
    # Gas turbine style 15 %: 40 × (21 − 15)/(21 − 18) = 80.
    assert conversion.reference_o2(40.0, 18.0, 15.0) == 80.0
    # Measured O2 equal to the reference: unchanged.
    assert conversion.reference_o2(123.0, 6.0, 6.0) == 123.0
    # No reference O2 in the standard → no conversion (D2.3).
    assert conversion.reference_o2(123.0, 12.0, np.nan) == 123.0
    # O2 at or above 21 % → undefined.
    assert np.isnan(conversion.reference_o2(10.0, 21.0, 6.0))
    out = conversion.reference_o2(np.array([[150.0, 150.0]]), np.array([[9.0, 3.0]]), 6.0)
    np.testing.assert_allclose(out, [[187.5, 125.0]])  # 150 × 15/18 = 125


def test_mass_hand_computed() -> None:
    # Air: 100 mg/m3 × 500 000 m3/h × 1 h × 1e-6 = 50 kg (eq. 33).
    assert conversion.air_mass_kg(100.0, 500_000.0) == pytest.approx(50.0)
    # Water: 40 mg/L × 100 m3/h × 24 h × 1e-3 = 96 kg (eq. 8).
    assert conversion.water_mass_kg(40.0, 100.0, hours=24) == pytest.approx(96.0)


def _minutes(values: list[float], flag: str = "N") -> tuple[np.ndarray, np.ndarray]:
    v = np.array([values], dtype=float)
    return v, fl.encode(np.full(v.shape, flag))


def test_hourly_45_minute_rule_and_flag_counts() -> None:
    v = np.full((2, 120), 10.0)
    f = np.zeros((2, 120), dtype=np.uint8)
    f[0, :15] = fl.C  # 45 N minutes left: valid
    f[1, :16] = fl.M  # 44 N minutes: invalid
    v[0, 60:] = 20.0
    v[0, 60:70] = np.nan  # missing values, flag N -> counted as missing
    h = averaging.hourly(v, f)
    assert h.mean[0, 0] == 10.0 and h.n_valid[0, 0] == 45
    assert np.isnan(h.mean[1, 0]) and h.n_valid[1, 0] == 44
    assert h.flag_counts[0, 0, fl.C] == 15 and h.flag_counts[0, 0, fl.N] == 45
    assert h.flag_counts[1, 0, fl.M] == 16
    assert h.mean[0, 1] == 20.0 and h.flag_counts[0, 1, fl.MISSING] == 10
    assert h.flag_counts.sum() == 2 * 120


def test_hourly_refuses_bad_grids() -> None:
    with pytest.raises(InputError):
        averaging.hourly(np.zeros((1, 61)), np.zeros((1, 61), dtype=np.uint8))
    with pytest.raises(InputError):
        averaging.hourly(np.zeros((1, 60)), np.zeros((1, 59), dtype=np.uint8))
    with pytest.raises(InputError):
        averaging.hourly(np.zeros(60), np.zeros(60, dtype=np.uint8))


def test_daily_min_hours_and_flow_weighting() -> None:
    h = np.full((1, 24), 10.0)
    h[0, :5] = np.nan
    mean, n = averaging.daily(h, 20)
    assert n[0, 0] == 19 and np.isnan(mean[0, 0])
    h = np.array([[10.0] * 12 + [40.0] * 12])
    q = np.array([[3.0] * 12 + [1.0] * 12])
    mean, _ = averaging.daily(h, 1, weights=q)
    # (10·3·12 + 40·1·12)/(3·12 + 1·12) = 840/48 = 17.5 (HJ 212-2017 D.1.2 eq. 14).
    assert mean[0, 0] == 17.5


def test_exceedance_at_limit_is_not() -> None:
    v = np.array([[100.0, 100.5, 120.0, 99.0, np.nan, 130.0, 130.0, 100.0]])
    ev = exceedance.events(v, np.full(v.shape, 100.0))
    assert ev.start.tolist() == [1, 5] and ev.stop.tolist() == [3, 7]
    assert ev.peak.tolist() == [120.0, 130.0]
    assert ev.n_exceeding.tolist() == [2, 2]
    merged = exceedance.events(v, np.full(v.shape, 100.0), merge_gap=2)
    assert merged.start.tolist() == [1] and merged.stop.tolist() == [7]


def test_exceedance_flags_other_than_n_not_judged() -> None:
    v = np.full((1, 60), 50.0)
    v[0, :15] = 1000.0
    f = np.zeros((1, 60), dtype=np.uint8)
    f[0, :15] = fl.C  # calibration gas at 1000 mg/m3 is not a measurement
    h = averaging.hourly(v, f)
    assert h.mean[0, 0] == 50.0
    assert not exceedance.exceeding(h.mean, 100.0).any()


def test_exceedance_ph_range() -> None:
    v = np.array([[7.0, 5.5, 5.0, 9.0, 9.5]])
    ev = exceedance.events(v, np.full(v.shape, 9.0), np.full(v.shape, 6.0))
    assert ev.start.tolist() == [1, 4] and ev.peak.tolist() == [5.0, 9.5]


@given(
    st.lists(st.one_of(st.floats(0, 300), st.just(float("nan"))), min_size=1, max_size=80),
    st.floats(1, 300),
)
def test_events_match_a_plain_loop(values: list[float], limit: float) -> None:
    v = np.array([values])
    ev = exceedance.events(v, np.full(v.shape, limit))
    expect, cur = [], None
    for i, x in enumerate(values):
        if x == x and x > limit:
            cur = [i, i + 1] if cur is None else [cur[0], i + 1]
        elif cur is not None:
            expect.append(tuple(cur))
            cur = None
    if cur is not None:
        expect.append(tuple(cur))
    assert list(zip(ev.start.tolist(), ev.stop.tolist(), strict=True)) == expect


def test_check_uses_the_version_in_force() -> None:
    """Exceedance on a date uses that date's limits (issue 6)."""
    p = make_permit()
    strict = Limit("a21026", Decimal(35), "mg/m3", "超低排放", reference_o2=Decimal(6))
    hist = amend(
        [p], PERMIT_NO, dt.date(2026, 3, 2), "超低排放改造", outlets=(Outlet("DA001", (strict,)),)
    )
    outlets = [OutletRef(p.site_code, "DA001")]
    hours = 48
    grid = limit_grid(hist, outlets, "a21026", T0, hours, H, averaging="hour")
    assert grid.upper[0, 23] == 200 and grid.upper[0, 24] == 35
    values = np.full((1, hours), 50.0)  # 50 mg/m3 all along: fine on day 1, over on day 2
    found = exceedance.check(outlets, "a21026", T0, H, values, grid, RULES)
    assert len(found) == 1
    f = found[0]
    assert (f.start, f.end) == (dt.datetime(2026, 3, 2), dt.datetime(2026, 3, 3))
    assert f.permit_version == 2 and f.permit_no == PERMIT_NO
    assert f.measured["limit"] == 35.0 and f.measured["duration_h"] == 24
    assert f.measured["multiple"] == 15 / 35  # exact (C − S)/S, one division
    assert f.rule_id == "EXC" and f.ruleset_version == RULES.version
    assert len(f.evidence) == 24 and f.evidence[0].time == dt.datetime(2026, 3, 2)
    assert f.as_dict()["key"] == f.key


def test_grid_skips_other_averaging_and_revoked() -> None:
    p = dataclasses.replace(make_permit(), revoked_on=dt.date(2026, 3, 2))
    outlets = [OutletRef(p.site_code, "DW001"), OutletRef(p.site_code, "DA001")]
    g = limit_grid([p], outlets, "w01018", T0, 3, dt.timedelta(days=1), averaging="hour")
    assert np.isnan(g.upper).all()
    g = limit_grid([p], outlets, "w01018", T0, 3, dt.timedelta(days=1), averaging="day")
    assert g.upper[0].tolist()[:1] == [50.0] and np.isnan(g.upper[0, 1:]).all()
    assert np.isnan(g.upper[1]).all()


def test_wastewater_hour_any_abnormal_record_invalidates() -> None:
    # HJ 212-2017 notes to Tables C.16–C.18: for wastewater one abnormal value flags the period.
    v = np.full((1, 120), np.nan)
    f = np.full((1, 120), fl.MISSING, dtype=np.uint8)
    v[0, [0, 10, 20]] = 30.0
    f[0, [0, 10, 20]] = fl.N
    v[0, [60, 70]] = 30.0
    f[0, [60, 70]] = [fl.N, fl.M]
    h = averaging.hourly(v, f, 1, ("N",), any_abnormal_invalidates=True)
    assert h.mean[0, 0] == 30.0 and np.isnan(h.mean[0, 1])
    assert h.flag_counts[0, 0, fl.MISSING] == 57
    loose = averaging.hourly(v, f, 1, ("N",))
    assert loose.mean[0, 1] == 30.0
