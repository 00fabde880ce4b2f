"""The whole pipeline on one block: injected episodes give the findings, clean data none."""

import datetime as dt

import numpy as np

from bishui.sources import check, synthetic
from bishui.sources.findings import OutletRef
from bishui.sources.rules import load_ruleset
from conftest import make_permit

RULES = load_ruleset()
T0 = dt.datetime(2026, 3, 1)


def _run(b: synthetic.Block, outlets: list[OutletRef]) -> check.BlockResult:
    return check.check_block(
        RULES,
        [make_permit()],
        outlets,
        "a21026",
        T0,
        b.conc,
        b.conc_flags,
        o2=b.o2,
        o2_flags=b.o2_flags,
        flow=b.flow,
        flow_flags=b.flow_flags,
    )


def test_clean_block_has_no_findings() -> None:
    p = make_permit()
    b = synthetic.clean(1, 2, seed=4, level=60.0)
    r = _run(b, [OutletRef(p.site_code, "DA001")])
    assert r.findings == []
    assert r.daily_mass_t is not None and r.daily_mass_t.shape == (1, 2)
    # ~60 mg/m3 × 300 000 m3/h × 24 h ≈ 0.43 t/day, same order as the hand figure.
    assert 0.3 < r.daily_mass_t[0, 0] < 0.6


def test_injected_exceedance_and_unpermitted_outlet() -> None:
    p = make_permit()
    outlets = [OutletRef(p.site_code, "DA001"), OutletRef(p.site_code, "DA009")]
    b = synthetic.clean(2, 2, seed=4, level=60.0)
    b.conc[0, 600:780] = b.conc[0, 600:780] * 4  # 10:00–13:00, ~240 mg/m3 raw, above 200 converted
    r = _run(b, outlets)
    exc = [f for f in r.findings if f.rule_id == "EXC"]
    assert len(exc) == 1
    f = exc[0]
    assert (f.start, f.end) == (T0 + dt.timedelta(hours=10), T0 + dt.timedelta(hours=13))
    assert f.measured["reference_o2"] == 6.0 and f.measured["limit"] == 200.0
    # Converted hourly peak equals the pipeline's converted array.
    assert f.measured["peak"] == np.nanmax(r.hourly_converted[0, 10:13])
    nop = [f for f in r.findings if f.rule_id == "NOPERMIT"]
    assert [(f.outlet.outlet_id, f.measured["days"]) for f in nop] == [("DA009", 2)]
    assert {f.rule_id for f in r.findings} == {"EXC", "NOPERMIT"}
    masses = check.site_daily_mass(outlets, r.daily_mass_t)  # type: ignore[arg-type]
    assert list(masses) == [p.site_code] and masses[p.site_code].shape == (2,)


def test_water_daily_exceedance() -> None:
    p = make_permit()
    outlets = [OutletRef(p.site_code, "DW001")]
    b = synthetic.clean(1, 3, seed=9, level=30.0, flow=100.0)  # COD ~30 mg/L against 50
    b.conc[0, 1440:2880] = 80.0  # day 2 averages above the daily limit
    r = check.check_block(
        RULES,
        [p],
        outlets,
        "w01018",
        T0,
        b.conc,
        b.conc_flags,
        flow=b.flow,
        flow_flags=b.flow_flags,
    )
    exc = [f for f in r.findings if f.rule_id == "EXC"]
    assert [(f.start.date(), f.measured["averaging"]) for f in exc] == [
        (dt.date(2026, 3, 2), "day")
    ]
    assert exc[0].measured["peak"] == 80.0
    # The day of 80.0 is also a flat line; nothing else.
    assert {f.rule_id for f in r.findings} == {"EXC", "FLAT"}
