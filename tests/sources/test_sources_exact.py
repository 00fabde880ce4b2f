"""Source checks exact at the boundary (issue 12): reference-O2 conversion, flow-weighted daily
means, caps in whole grams, pH hour by hour — through the public functions and the service,
and property tests against Fraction references."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sources_store import GAS_A, WATER_A, gas_day, make_permit, registry, write_hourly

from bishui import exact
from bishui.sources import averaging, permit_store, quantity, service
from bishui.sources.check import check_block
from bishui.sources.conversion import reference_o2
from bishui.sources.findings import OutletRef
from bishui.sources.rules import load_ruleset
from bishui.store import Store

NOW = dt.datetime(2026, 7, 10, 9)
D0 = dt.date(2026, 6, 29)
T0 = dt.datetime.combine(D0, dt.time())


def test_reference_o2_dust_29_2_at_6_4_percent_is_exactly_30() -> None:
    out = reference_o2(np.array([29.2]), np.array([6.4]), np.array([6.0]))
    assert out.tolist() == [30.0]
    assert reference_o2(29.2, 6.4, np.nan).tolist() == 29.2  # no reference O2: unchanged


@settings(max_examples=500, deadline=None)
@given(c=st.integers(50, 600), o2=st.integers(0, 200), ref=st.sampled_from([3, 6, 9, 11]),
       lim=st.sampled_from([10, 20, 30, 35, 50, 100, 200]))  # fmt: skip
def test_reference_o2_exceedance_agrees_with_fraction(c: int, o2: int, ref: int, lim: int) -> None:
    """C at 0.1 mg/m³ steps, O2 at 0.1 % steps: the verdict against the limit is exact."""
    cf, of = Fraction(c, 10), Fraction(o2, 10)
    want = cf * (21 - ref) / (21 - of)
    got = reference_o2(np.array([float(cf)]), np.array([float(of)]), np.array([float(ref)]))[0]
    assert got == float(want)
    assert bool(got > lim) == bool(want > lim)


def test_reference_o2_grid_has_no_disagreement() -> None:
    c = np.arange(1, 601) / 10  # 0.1 … 60.0 mg/m³
    o = np.arange(0, 201) / 10  # 0.0 … 20.0 %
    cc, oo = np.meshgrid(c, o, indexing="ij")
    got = reference_o2(cc, oo, np.full(cc.shape, 6.0))
    num = np.arange(1, 601)[:, None] * 15  # exact: (n/10)·15 / ((210 − m)/10) = 15n/(210 − m)
    den = 210 - np.arange(0, 201)[None, :]
    ref_exceeds = num > 30 * den
    assert int(((got > 30) != ref_exceeds).sum()) == 0
    on_limit = num == 30 * den
    assert on_limit.sum() > 0 and (got[on_limit] == 30.0).all()


def test_flow_weighted_mean_of_cod_50_is_50() -> None:
    rng = np.random.default_rng(12)
    flows = np.round(rng.uniform(0.5, 900.0, size=(2000, 24)), 3)
    cod = np.full((2000, 24), 50.0)
    mean, n = averaging.daily(cod, 16, flows)
    assert (mean == 50.0).all() and (n == 24).all()
    # the same with flows that are not short decimals (the recheck path)
    mean, _ = averaging.daily(cod, 16, flows / 3)
    assert (mean == 50.0).all()


@settings(max_examples=300, deadline=None)
@given(
    c=st.lists(st.integers(400, 600), min_size=24, max_size=24),
    q=st.lists(st.integers(1, 5000), min_size=24, max_size=24),
)
def test_flow_weighted_mean_agrees_with_fraction(c: list[int], q: list[int]) -> None:
    cf = [Fraction(x, 10) for x in c]
    qf = [Fraction(x, 100) for x in q]
    want = sum((a * b for a, b in zip(cf, qf, strict=True)), Fraction(0)) / sum(qf)
    got, _ = averaging.daily(
        np.array([[float(x) for x in cf]]), 16, np.array([[float(x) for x in qf]])
    )
    assert got[0, 0] == float(want)
    assert bool(got[0, 0] > 50) == bool(want > 50)


def test_annual_cap_0_3_t_a_day_reaches_109_5_t_on_31_december() -> None:
    st_ = quantity.cap_status(np.full(365, 0.3), dt.date(2026, 1, 1), Decimal("109.5"),
                              (0.8, 0.9, 1.0))  # fmt: skip
    got = {lv: day for lv, day, _ in st_.crossings}
    assert got[1.0] == dt.date(2026, 12, 31)
    assert got[0.8] == dt.date(2026, 10, 19)
    assert st_.share == 1.0 and st_.total_t == Decimal("109.500000")
    assert st_.total_g == 109_500_000


@settings(max_examples=300, deadline=None)
@given(grams=st.lists(st.integers(0, 2_000_000), min_size=1, max_size=400),
       cap_g=st.integers(1, 400_000_000), lv=st.sampled_from(["0.8", "0.9", "1.0"]))  # fmt: skip
def test_cap_crossings_agree_with_exact_integer_sums(grams: list[int], cap_g: int, lv: str) -> None:
    cap = Decimal(cap_g) / 1_000_000
    st_ = quantity.cap_status(np.array(grams) / 1e6, dt.date(2026, 1, 1), cap, (float(lv),))
    thr = Fraction(lv) * cap_g
    cum = np.cumsum(grams)
    hit = next((i for i, x in enumerate(cum.tolist()) if x >= thr), None)
    if hit is None:
        assert st_.crossings == ()
    else:
        assert st_.crossings[0][1] == dt.date(2026, 1, 1) + dt.timedelta(days=hit)
    assert st_.total_g == int(cum[-1])


def test_cap_projection_past_the_calendar_is_none() -> None:
    # 1 g in 30 days against 400 t: the cap lies ~10^10 days ahead, past date.max (was an
    # OverflowError found by the property test above)
    grams = np.zeros(30)
    grams[0] = 1e-6
    st_ = quantity.cap_status(grams, dt.date(2026, 1, 1), Decimal(400), (1.0,))
    assert st_.projected is None and st_.crossings == () and st_.total_g == 1


def test_daily_mass_is_whole_grams_of_the_exact_sum() -> None:
    c = np.full((1, 24), 50.0)
    q = np.full((1, 24), 12.5)  # m³/h
    t, missing = quantity.daily_mass(c, q, "water")  # 50 mg/L × 12.5 m³ = 625 g an hour
    assert t.tolist() == [[0.015]] and missing.tolist() == [[0]]
    t, _ = quantity.daily_mass(np.full((1, 24), 0.1), np.full((1, 24), 0.1), "air")
    assert t.tolist() == [[0.0]]  # 0.24 mg in the day: 0 g


def _ph_block(values: list[float]) -> list[str]:
    p = make_permit()
    r = check_block(
        load_ruleset(), [p], [OutletRef(p.site_code, "DW001")], "w01001", T0,
        np.array([values]), np.zeros((1, 24), dtype=np.uint8), resolution="hour", twins=False,
    )  # fmt: skip
    return [f.rule_id for f in r.findings if f.rule_id == "EXC"]


def test_ph_alternating_3_and_11_is_an_exceedance() -> None:
    assert _ph_block([3.0, 11.0] * 12)
    assert not _ph_block([7.0, 7.5] * 12)
    assert _ph_block([7.0] * 23 + [9.1])


def test_every_check_uses_the_documented_comparison() -> None:
    assert exact.CHECKS["sources.exceedance"].method == "full"
    assert exact.CHECKS["sources.cap"].method == "full"
    assert exact.CHECKS["air.compliance"].method == "rounded"


# --- through the service, on both backends ---------------------------------------------------


def test_service_o2_conversion_exactly_at_the_limit_is_no_finding(store: Store) -> None:
    registry(store)
    permit_store.record_permits(store, [make_permit()])
    write_hourly(store, GAS_A, "a34013", T0, [29.2] * 24)
    write_hourly(store, GAS_A, "a19001", T0, [6.4] * 24)
    nxt = T0 + dt.timedelta(days=1)
    write_hourly(store, GAS_A, "a34013", nxt, [29.3] * 24)
    write_hourly(store, GAS_A, "a19001", nxt, [6.4] * 24)
    r = service.run_checks(store, T0, T0 + dt.timedelta(days=2), now=NOW, site_ids=[GAS_A])
    exc = [f for f in r.findings if f.rule_id == "EXC" and f.pollutant == "a34013"]
    assert len(exc) == 1 and exc[0].start.date() == D0 + dt.timedelta(days=1)
    assert exc[0].measured["peak"] == float(Fraction(293, 10) * 15 / Fraction(146, 10))


def test_service_flow_weighted_cod_50_is_no_finding(store: Store) -> None:
    registry(store)
    permit_store.record_permits(store, [make_permit()])
    write_hourly(store, WATER_A, "w01018", T0, [50.0] * 24)
    write_hourly(store, WATER_A, "w00000", T0, [float(5 + 3 * (i % 7)) / 10 for i in range(24)])
    write_hourly(store, WATER_A, "w01001", T0, [3.0, 11.0] * 12)
    r = service.run_checks(store, T0, T0 + dt.timedelta(days=1), now=NOW, site_ids=[WATER_A])
    assert not [f for f in r.findings if f.rule_id == "EXC" and f.pollutant == "w01018"]
    ph = [f for f in r.findings if f.rule_id == "EXC" and f.pollutant == "w01001"]
    assert ph and ph[0].measured["averaging"] == "hour"
    stored = store.query("SELECT pollutant FROM source_finding WHERE rule_id = 'EXC'")
    assert {x["pollutant"] for x in stored} == {"w01001"}


def test_service_cap_reached_on_the_exact_day_with_coverage(store: Store) -> None:
    registry(store)
    p = make_permit(annual_caps={"a21026": Decimal("109.5")})
    permit_store.record_permits(store, [p])
    store.execute_many([
        ("INSERT INTO source_mass_daily (site_code, outlet_id, pollutant, day, mass_t, "
         "missing_hours) VALUES (?, ?, ?, ?, ?, ?)",
         [p.site_code, "DA001", "a21026", dt.date(2026, 1, 1) + dt.timedelta(days=d), 0.3, 0])
        for d in range(365)
    ])  # fmt: skip
    (u,) = service.cap_usage(store, dt.date(2026, 12, 31))
    assert u["share"] == 1.0 and u["total_t"] == "109.500000"
    assert [(x["level"], x["date"]) for x in u["reached"]] == [
        (0.8, "2026-10-19"), (0.9, "2026-11-25"), (1.0, "2026-12-31")]  # fmt: skip
    assert (u["days_with_data"], u["days_elapsed"], u["coverage"]) == (365, 365, 1.0)
    (u,) = service.cap_usage(store, dt.date(2027, 1, 1) - dt.timedelta(days=1))
    assert u["coverage"] == 1.0
    caps = service._caps(store, load_ruleset(), [p], dt.date(2026, 12, 31), dt.date(2026, 12, 31))
    breach = [f for f in caps if f.measured["breach"]]
    assert len(breach) == 1 and breach[0].end.date() == dt.date(2027, 1, 1)
    assert breach[0].measured["coverage"] == 1.0


def test_cap_usage_reports_partial_coverage(store: Store) -> None:
    registry(store)
    p = make_permit(annual_caps={"a21026": Decimal("100")})
    permit_store.record_permits(store, [p])
    store.execute_many([
        ("INSERT INTO source_mass_daily (site_code, outlet_id, pollutant, day, mass_t, "
         "missing_hours) VALUES (?, ?, ?, ?, ?, ?)",
         [p.site_code, "DA001", "a21026", dt.date(2026, 1, 1) + dt.timedelta(days=d), 0.5, 0])
        for d in range(0, 100, 2)
    ])  # fmt: skip
    (u,) = service.cap_usage(store, dt.date(2026, 4, 10))
    assert (u["days_with_data"], u["days_elapsed"]) == (50, 100)
    assert u["coverage"] == 0.5


def test_refresh_catches_up_on_every_unchecked_day(store: Store) -> None:
    registry(store)
    permit_store.record_permits(store, [make_permit()])
    for d in range(6):
        gas_day(store, GAS_A, D0 + dt.timedelta(days=d), 120.0)
    service.run_checks(store, T0, T0 + dt.timedelta(days=1), now=NOW, site_ids=[GAS_A])
    at = T0 + dt.timedelta(days=6, hours=1)  # down for 4 days: refresh's own window is 2 days
    service.refresh(store, at)
    assert service.checked_until(store) == T0 + dt.timedelta(days=6)
    runs = store.query("SELECT period_start, period_end FROM source_run ORDER BY period_end")
    assert str(runs[-1]["period_start"])[:10] == str(D0 + dt.timedelta(days=1))
    days = store.query("SELECT COUNT(DISTINCT day) AS n FROM source_mass_daily")
    assert days[0]["n"] == 6  # every day has its mass: no hole in the year-to-date total
    usage = {u["pollutant"]: u for u in service.cap_usage(store, D0 + dt.timedelta(days=5))}
    so2 = usage["a21026"]
    assert (so2["days_with_data"], so2["days_elapsed"]) == (6, (D0 - dt.date(2026, 1, 1)).days + 6)
