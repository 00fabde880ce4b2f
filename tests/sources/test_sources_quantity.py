"""Annual quantity (cap warnings at 80/90 %, breach at 100 %) and discharge without a permit."""

import dataclasses
import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from bishui.errors import InputError
from bishui.sources import flags as fl
from bishui.sources import nopermit, quantity
from bishui.sources.findings import OutletRef
from bishui.sources.permits import ManagementClass
from bishui.sources.rules import load_ruleset
from conftest import make_permit

RULES = load_ruleset()
JAN1 = dt.date(2026, 1, 1)


def test_hourly_and_daily_mass() -> None:
    # 100 mg/m3 × 500 000 m3/h = 50 kg/h = 0.05 t/h; a day of it is 1.2 t.
    h = quantity.hourly_mass_t(np.full((1, 24), 100.0), np.full((1, 24), 500_000.0), "air")
    assert h[0, 0] == pytest.approx(0.05)
    h[0, 3] = np.nan
    d, missing = quantity.daily_mass_t(h)
    assert d[0, 0] == pytest.approx(0.05 * 23) and missing[0, 0] == 1
    w = quantity.hourly_mass_t(np.array([[40.0]]), np.array([[100.0]]), "water")
    assert w[0, 0] == pytest.approx(0.004)  # 40 mg/L × 100 m3 = 4 kg
    with pytest.raises(InputError):
        quantity.hourly_mass_t(h, h, "soil")
    with pytest.raises(InputError):
        quantity.daily_mass_t(np.zeros((1, 25)))


def test_cap_levels_reached_exactly_at_threshold() -> None:
    # 1 t/day against 100 t: 80 % on day 80 (cumulative exactly 80 t), 90 % day 90, 100 % day 100.
    st = quantity.cap_status(np.ones(120), JAN1, Decimal(100), [0.8, 0.9, 1.0])
    assert [c[1] for c in st.crossings] == [
        JAN1 + dt.timedelta(days=79),
        JAN1 + dt.timedelta(days=89),
        JAN1 + dt.timedelta(days=99),
    ]
    assert st.crossings[0][2] == Decimal("80.000000")
    assert st.total_t == Decimal(120) and st.share == 1.2
    assert st.projected == JAN1 + dt.timedelta(days=99)


def test_cap_just_below_threshold_not_reached_and_projection() -> None:
    d = np.full(79, 1.0)
    d[-1] = 0.999  # cumulative 78.999 < 80
    st = quantity.cap_status(d, JAN1, Decimal(100), [0.8, 0.9, 1.0], window_days=10)
    assert st.crossings == ()
    # Rate over the last 10 days = 0.9999 t/day; remaining 21.001 t → 22 days after day 79.
    assert st.rate_t_per_day == 0.9999  # exact integer grams / days
    assert st.projected == JAN1 + dt.timedelta(days=78 + 22)
    zero = quantity.cap_status(np.zeros(5), JAN1, Decimal(100), [1.0])
    assert zero.projected is None
    with pytest.raises(InputError):
        quantity.cap_status(np.array([-1.0]), JAN1, Decimal(1), [1.0])


def test_check_caps_findings() -> None:
    p = make_permit()  # a21026 cap 120.5 t
    daily = np.full(200, 0.75)  # reaches 96.4 (80 %) on day 129, 108.45 on 145, 120.5 on 161
    found = quantity.check_caps([p], p.site_code, "a21026", daily, JAN1, RULES)
    assert [f.measured["level"] for f in found] == [0.8, 0.9, 1.0]
    assert [f.severity for f in found] == ["low", "medium", "high"]
    assert found[-1].measured["breach"] is True
    assert found[0].end.date() == JAN1 + dt.timedelta(days=129)
    assert found[0].permit_no == p.permit_no and found[0].outlet.outlet_id == ""
    assert quantity.check_caps([p], p.site_code, "w01018", daily, JAN1, RULES) == []
    with pytest.raises(InputError):
        quantity.check_caps([p], p.site_code, "a21026", np.ones(400), JAN1, RULES)
    stricter = RULES.with_params("CAP", warn_levels=[0.5], breach_level=0.6)
    found = quantity.check_caps([p], p.site_code, "a21026", daily, JAN1, stricter)
    assert [f.measured["level"] for f in found] == [0.5, 0.6]
    assert found[0].rule_version.endswith("+local")


def test_no_permit() -> None:
    p = dataclasses.replace(make_permit(), valid_to=dt.date(2026, 1, 10))
    outlets = [
        OutletRef(p.site_code, "DA001"),
        OutletRef(p.site_code, "DA002"),
        OutletRef("914403001922038216001", "DW001"),
    ]
    days = 15
    conc = np.full((3, days * 1440), 20.0)
    flags = np.zeros(conc.shape, dtype=np.uint8)
    conc[0, : 1440 * 2] = 0.0  # the first two days: no discharge
    discharging = nopermit.discharging_days(conc, flags, None, 60)
    assert discharging[0].tolist()[:3] == [False, False, True]
    found = nopermit.check([p], outlets, "a21026", JAN1, discharging, RULES)
    by = {(f.outlet.outlet_id, f.start.date()): f for f in found}
    # DA001: permitted until Jan 10, so Jan 11–15 is without a valid permit.
    assert by[("DA001", dt.date(2026, 1, 11))].measured == {
        "days": 5,
        "reason": "no version in force",
    }
    assert by[("DA002", JAN1)].measured["reason"] == "outlet or pollutant not listed"
    assert by[("DW001", JAN1)].measured["reason"] == "no permit for the site"
    # A pollutant the permit does not list at a listed outlet.
    found = nopermit.check([p], outlets[:1], "a21001", JAN1, discharging[:1], RULES)
    assert found[0].measured["reason"] == "outlet or pollutant not listed"


def test_registration_units_need_no_permit() -> None:
    p = make_permit(
        permit_no=make_permit().uscc + "001W", management_class=ManagementClass.REGISTRATION
    )
    d = np.ones((1, 3), dtype=bool)
    assert nopermit.check([p], [OutletRef(p.site_code, "DA001")], "a21001", JAN1, d, RULES) == []


def test_discharging_days_counts_only_n_minutes() -> None:
    conc = np.full((1, 1440), 10.0)
    f = np.full(conc.shape, fl.C, dtype=np.uint8)
    assert not nopermit.discharging_days(conc, f, None, 60).any()
    assert nopermit.discharging_days(conc, f, np.full(conc.shape, 5.0), 60).all()


def test_cap_of_a_permit_that_expired_during_the_year() -> None:
    p = dataclasses.replace(make_permit(), valid_to=dt.date(2026, 3, 31))
    found = quantity.check_caps([p], p.site_code, "a21026", np.full(200, 1.0), JAN1, RULES)
    assert [f.measured["level"] for f in found] == [0.8, 0.9, 1.0]
