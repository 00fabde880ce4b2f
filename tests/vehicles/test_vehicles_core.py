"""The pure core of vehicle-inspection supervision: limits, verdicts, black box, rules, clones,
gas and patrol comparisons, report codes, the old-vehicle register and the risk ranking."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt

import numpy as np
import pytest

from bishui.errors import InputError
from bishui.vehicles import blackbox, clones, gas, oldvehicles, patrol, reportcode, risk, rules
from bishui.vehicles.limits import applicable_set, limits_for
from bishui.vehicles.model import (
    ASM,
    EMISSION_CHANNELS,
    FREE_ACCEL,
    LUG_DOWN,
    TSI,
    VMAS,
    Capture,
    Station,
)
from bishui.vehicles.simulate import FRAUDS, SimConfig, simulate, true_curve
from bishui.vehicles.verdict import recompute

DAY = dt.date(2026, 11, 2)


def _lim(method: str):  # type: ignore[no-untyped-def]
    return limits_for(method, "*", "420802", DAY)


# --- limits ------------------------------------------------------------------------------


def test_limits_reproduce_the_tables_as_the_notes_give_them() -> None:
    # GB 18285-2018 Table 1 and 2, Table 4; GB 3847-2018 (notes §A1/§A2, tagged U)
    tsi = _lim(TSI)
    assert (tsi.values["idle_co"], tsi.values["idle_hc"]) == (0.6, 80)
    assert (tsi.values["high_idle_co"], tsi.values["high_idle_hc"]) == (0.3, 50)
    assert tsi.tags["idle_co"] == "U" and tsi.tags["lambda_low"] == "S"
    asm = _lim(ASM)
    assert (asm.values["asm5025_co"], asm.values["asm5025_hc"], asm.values["asm5025_no"]) == (
        0.5,
        90,
        700,
    )
    assert (asm.values["asm2540_co"], asm.values["asm2540_hc"], asm.values["asm2540_no"]) == (
        0.4,
        80,
        650,
    )
    assert _lim(VMAS).values == {"co": 8.0, "hc": 1.6, "nox": 1.3}
    assert _lim(LUG_DOWN).values == {"k": 1.2, "nox": 1500}
    assert _lim(FREE_ACCEL).values == {"k": 1.2}


def test_limit_set_by_region_and_date() -> None:
    assert applicable_set("420881", DAY).version == "2019a-jm"  # county → prefecture row
    assert applicable_set("110105", DAY).version == "2019a"  # elsewhere → "*"
    with pytest.raises(LookupError):
        applicable_set("420800", dt.date(2019, 4, 30))  # before the standards took effect


# --- verdicts ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", [TSI, ASM, VMAS, LUG_DOWN, FREE_ACCEL])
def test_clean_curves_pass_and_high_emitters_fail(method: str) -> None:
    rng = np.random.default_rng(1)
    assert recompute(method, true_curve(method, rng, False), _lim(method), 100.0).result == 1
    high = [
        recompute(method, true_curve(method, rng, True), _lim(method), 100.0).result
        for _ in range(20)
    ]
    assert 0 in high and 3 not in high


def test_at_the_limit_passes_and_above_fails() -> None:
    c = true_curve(TSI, np.random.default_rng(2), False)
    c["co"] = np.where(c["phase"] == 4, 0.6, 0.1)
    assert recompute(TSI, c, _lim(TSI)).result == 1  # idle CO exactly 0.6 %: within the limit
    c["co"] = np.where(c["phase"] == 4, 0.61, 0.1)
    v = recompute(TSI, c, _lim(TSI))
    assert v.result == 0 and ("over_limit", "idle_co") in v.reasons


def test_lambda_window_dilution_phase_order_and_flat_rpm() -> None:
    rng = np.random.default_rng(3)
    c = true_curve(TSI, rng, False)
    c["lam"] = c["lam"] + 0.1
    assert ("over_limit", "lambda") in recompute(TSI, c, _lim(TSI)).reasons
    c = true_curve(ASM, rng, False)
    c["co2"] = c["co2"] * 0.3
    assert recompute(ASM, c, _lim(ASM)).reasons[0][0] == "dilution"
    c = true_curve(ASM, rng, False)
    c["phase"] = c["phase"][::-1].copy()
    assert recompute(ASM, c, _lim(ASM)).reasons[0][0] == "phase_order"
    c = true_curve(ASM, rng, False)
    c["rpm"] = np.full_like(c["rpm"], 1800.0)
    assert ("rpm_flat", "engine speed constant at 1800 r/min") in recompute(
        ASM, c, _lim(ASM)
    ).reasons
    c = true_curve(ASM, rng, False)
    c["oil"] = c["oil"] - 20
    assert recompute(ASM, c, _lim(ASM)).reasons[0][0] == "oil_temp"


def test_vmas_trace_deviation_single_and_cumulative() -> None:
    rng = np.random.default_rng(4)
    c = true_curve(VMAS, rng, False)
    c["speed"][50:56] += 5  # one run of 6 s > 5 s
    v = recompute(VMAS, c, _lim(VMAS))
    assert v.result == 3 and v.values["trace_over_once_s"] == 6
    c = true_curve(VMAS, rng, False)
    c["speed"][10:100:5] += 5  # 18 separate seconds > 15 s in all
    assert recompute(VMAS, c, _lim(VMAS)).values["trace_over_total_s"] == 18


def test_lug_down_power_share_of_rated_power() -> None:
    c = true_curve(LUG_DOWN, np.random.default_rng(5), False)
    peak = float(c["power"].max())
    assert recompute(LUG_DOWN, c, _lim(LUG_DOWN), peak / 0.5).result == 1  # exactly 50 %
    assert "max_power" in dict(recompute(LUG_DOWN, c, _lim(LUG_DOWN), peak / 0.49).reasons).values()


def test_free_acceleration_is_the_mean_of_the_last_three_peaks() -> None:
    c = true_curve(FREE_ACCEL, np.random.default_rng(6), False)
    ph = c["phase"]
    c["k"] = np.where(
        ph == 1, 9.0, np.where(ph == 2, 0.3, np.where(ph == 3, 0.6, np.where(ph == 4, 0.9, 0.05)))
    )
    v = recompute(FREE_ACCEL, c, _lim(FREE_ACCEL))
    assert v.values["k"] == pytest.approx(0.6) and v.result == 1


# --- black box ---------------------------------------------------------------------------


@pytest.mark.parametrize("lag", [-17, -3, 0, 4, 23])
def test_skew_is_recovered_with_dropouts(lag: int) -> None:
    rng = np.random.default_rng(100 + lag)
    box = rng.standard_normal(240).cumsum()
    station = np.roll(box, -lag)[30:210]  # station[i] = box[i + 30 + lag]
    box = box.copy()
    box[rng.random(240) < 0.2] = np.nan
    got, r = blackbox.estimate_skew(station, box, 60)
    assert got == lag + 30 and r > 0.8


@pytest.fixture(scope="module")
def fraud_day():  # type: ignore[no-untyped-def]
    return simulate(SimConfig(frauds={f: 0.15 for f in FRAUDS if f != "fast_retest"}, seed=11))


def _findings(day):  # type: ignore[no-untyped-def]
    out = []
    for i in day.inspections:
        out += blackbox.compare(i, day.captures[i.id], day.analysers[i.lane])
        out += rules.record_findings(i, day.stations[i.station], day.stations[i.station].region)
    out += rules.clone_findings(day.inspections)
    out += rules.fast_retest_findings(day.inspections)
    out += rules.registry_findings(day.inspections, day.vehicles)
    return out


EXPECT = {
    "clone": "CLONE",
    "edited": "BB_EDITED",
    "clock": "BB_CLOCK",
    "dropout": "BB_MISSING",
    "equipment": "BB_EQUIPMENT",
    "dilution": "VERDICT",
    "rated_power": "RATED_POWER",
    "hours": "HOURS",
    "regular": "REGULAR",
}


def test_each_fraud_is_found_by_its_rule(fraud_day) -> None:  # type: ignore[no-untyped-def]
    found = collections.defaultdict(set)
    for f in _findings(fraud_day):
        found[f.rule_id].add(f.subject)
        if f.rule_id == "CLONE":  # a pair: the later test is the subject, the other in evidence
            found["CLONE"].add(str(f.evidence["other"]))
    for fraud, rule in EXPECT.items():
        # a clone whose record was also flattened or shifted is no longer a copy to be found
        faked = {
            t
            for t, fr in fraud_day.truth.items()
            if fraud in fr
            and not (fraud in ("clone", "clock") and fr & {"regular", "clock"} - {fraud})
        }
        if fraud == "dilution":  # CO+CO2 is a gasoline check
            faked = {
                t
                for t in faked
                if "co2" in next(i for i in fraud_day.inspections if i.id == t).curve
            }
        assert faked, fraud
        assert faked <= found[rule], (fraud, faked - found[rule])


def test_missing_capture_is_a_finding(fraud_day) -> None:  # type: ignore[no-untyped-def]
    t = fraud_day.inspections[0]
    assert [f.rule_id for f in blackbox.compare(t, None)] == ["BB_MISSING"]


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_no_false_alarms_on_honest_simulated_stations(seed: int) -> None:
    day = simulate(SimConfig(seed=seed))
    assert len(day.inspections) > 400
    assert _findings(day) == []
    assert rules.pass_rate_findings(day.inspections, dt.datetime(2026, 11, 2, 20)) == []


def test_fast_retest_and_pass_rate() -> None:
    day = simulate(SimConfig(frauds={"fast_retest": 1.0}, fail_share=0.3, seed=5))
    fast = rules.fast_retest_findings(day.inspections)
    assert fast and {f.station for f in fast} == {"S01"}
    assert all(f.evidence["minutes"] < 30 for f in fast)
    # a station passing every initial test while its peers fail 30 %
    day = simulate(SimConfig(fail_share=0.3, seed=6, tests_per_lane=40))
    tests = [
        dataclasses.replace(t, claimed_result=1) if t.station == "S03" else t
        for t in day.inspections
    ]
    got = rules.pass_rate_findings(tests, dt.datetime(2026, 11, 2, 20))
    assert [f.station for f in got] == ["S03"] and got[0].evidence["rate"] == 1.0


def test_obd_shared_across_models() -> None:
    day = simulate(SimConfig(stations=2, seed=8))
    a, b = day.inspections[0], day.inspections[3]
    b2 = dataclasses.replace(b, obd_cal_id=a.obd_cal_id, obd_cvn=a.obd_cvn, vehicle_model="OTHER")
    vehicles = dict(day.vehicles)
    vehicles[b.vin] = dataclasses.replace(vehicles[b.vin], model="OTHER")
    got = rules.registry_findings([a, b2], vehicles)
    assert {f.rule_id for f in got} == {"OBD_SHARED"}
    assert rules.registry_findings([a, b], day.vehicles) == []


def test_hours_rule_uses_the_station_hours() -> None:
    day = simulate(SimConfig(stations=1, seed=9))
    t = day.inspections[0]
    late = Station("S01", "x", "420802", dt.time(9, 0), dt.time(17, 0))
    assert [f.rule_id for f in rules.record_findings(t, late, "420802")] == ["HOURS"]


# --- clones ------------------------------------------------------------------------------


def test_lsh_search_finds_what_brute_force_finds(fraud_day) -> None:  # type: ignore[no-untyped-def]
    for method in (TSI, ASM, VMAS, LUG_DOWN):
        g = [t for t in fraud_day.inspections if t.method == method]
        fp = clones.fingerprints([[t.curve[c] for c in EMISSION_CHANNELS[method]] for t in g], 64)
        owners = [t.vin for t in g]
        bi, bj, _ = clones.brute_force(fp, owners, 0.9)
        li, lj, _ = clones.search(fp, owners)
        assert set(zip(li.tolist(), lj.tolist(), strict=True)) == set(
            zip(bi.tolist(), bj.tolist(), strict=True)
        )


def test_single_fingerprint_matches_the_batch() -> None:
    c = true_curve(ASM, np.random.default_rng(3), False)
    chans = [c[x] for x in EMISSION_CHANNELS[ASM]]
    assert np.allclose(clones.fingerprint(chans, 64), clones.fingerprints([chans], 64)[0])


def test_same_vehicle_is_not_a_clone() -> None:
    c = true_curve(ASM, np.random.default_rng(3), False)
    chans = [c[x] for x in EMISSION_CHANNELS[ASM]]
    fp = clones.fingerprints([chans, chans], 64)
    assert clones.search(fp, ["V1", "V1"])[0].size == 0
    assert clones.search(fp, ["V1", "V2"])[0].size == 1


# --- standard gas and patrol vehicle -----------------------------------------------------


def _check(measured_hc: float, level: str = "low") -> gas.GasCheck:
    return gas.GasCheck(
        "AN1",
        "S01",
        dt.datetime(2026, 11, 2, 8),
        "unannounced",
        level,
        {"hc": 200.0, "co": 0.5},
        {"hc": measured_hc, "co": 0.5},
    )


def test_gas_tolerance_absolute_or_relative() -> None:
    # set B low gas HC: ±12 ×10⁻⁶ or ±5 % (notes §A3 [S]); 200 × 5 % = 10 < 12
    assert gas.passed(_check(212.0)) and not gas.passed(_check(212.5))
    # set A low gas HC: ±4 ×10⁻⁶ or ±3 % → 6 at 200
    assert gas.passed(_check(206.0), "A") and not gas.passed(_check(206.5), "A")
    assert not gas.passed(_check(206.0), "A", mode="both")


def test_failed_check_invalidates_later_tests_until_a_pass() -> None:
    checks_t = [0, 100, 200]
    ok = [True, False, True]
    tests_t = [50, 100, 150, 199, 200, 250]
    assert gas.invalidated(checks_t, ok, tests_t).tolist() == [
        False,
        True,
        True,
        True,
        False,
        False,
    ]
    assert gas.invalidated([10], [True], [5]).tolist() == [False]


def test_drift_and_missing_daily_checks() -> None:
    assert gas.drift([0, 1, 2, 3], [0.0, 0.01, 0.02, 0.03]) == pytest.approx(0.01)
    assert np.isnan(gas.drift([0, 1], [0, 0]))
    assert gas.missing_daily([1, 2, 4], [1, 2, 3, 4]).tolist() == [False, False, True, False]


def test_reference_vehicle_flags_a_scaling_analyser() -> None:
    res = {f"S{i:02d}": {"co": 0.5 + 0.01 * (i % 3), "hc": 40.0 + i % 4} for i in range(1, 11)}
    res["S07"] = {"co": 0.5 * 0.6, "hc": 40.0 * 0.6}
    out = patrol.reference_outliers(res)
    assert [s for s, r in out.items() if r["co"]["outlier"]] == ["S07"]  # type: ignore[index]


def test_mobile_retest_discordance() -> None:
    pairs = [(f"S{i % 5}", True, 1.0, 1.0) for i in range(200)]
    pairs += [("S9", False, 0.5, 1.0)] * 12 + [("S9", True, 1.0, 1.0)] * 8
    out = patrol.retest_discordance(pairs)
    assert out["S9"]["outlier"] and out["S9"]["median_ratio"] == 0.5
    assert not out["S1"]["outlier"]


# --- report codes ------------------------------------------------------------------------

SUMMARY = {
    "report_no": "420800202611020001",
    "vin": "LJM00000000000001",
    "plate": "鄂H00001",
    "station": "S01",
    "date": "2026-11-02",
    "method": "asm",
    "result": "1",
    "limits_version": "2019a-jm",
}


@pytest.fixture(scope="module")
def keys():  # type: ignore[no-untyped-def]
    sk1 = reportcode.private_from_seed(bytes(range(32)))
    sk2 = reportcode.private_from_seed(bytes(range(1, 33)))
    k1 = reportcode.public_of("k2025", sk1, dt.date(2025, 1, 1), dt.date(2026, 7, 1))
    k2 = reportcode.public_of("k2026", sk2, dt.date(2026, 7, 1))
    return sk1, sk2, {"k2025": k1, "k2026": k2}


def test_report_code_verifies_offline_and_online(keys) -> None:  # type: ignore[no-untyped-def]
    _, sk2, pub = keys
    code = reportcode.sign(SUMMARY, "k2026", sk2, "https://hbj.jingmen.gov.cn/v")
    assert code.startswith("https://hbj.jingmen.gov.cn/v/r/420800202611020001?s=")
    v = reportcode.verify(code, pub)
    assert v.ok and v.summary["plate"] == "鄂H00001"
    assert reportcode.verify(code, pub, stored=SUMMARY).ok
    assert reportcode.verify(code, pub, stored={**SUMMARY, "result": "0"}).reason == "mismatch"
    assert "<svg" in reportcode.qr_svg(code)


def test_tampering_fails_with_a_clear_reason(keys) -> None:  # type: ignore[no-untyped-def]
    import base64

    sk1, sk2, pub = keys
    code = reportcode.sign(SUMMARY, "k2026", sk2, "https://x/v")
    head, s = code.split("?s=")
    body, sig = s.split(".")
    fields = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode().split("|")
    fields[7] = "1" if fields[7] == "0" else "0"  # flip the result
    forged = base64.urlsafe_b64encode("|".join(fields).encode()).rstrip(b"=").decode()
    v = reportcode.verify(f"{head}?s={forged}.{sig}", pub)
    assert (v.ok, v.reason) == (False, "bad_signature") and "edited or forged" in v.detail
    assert reportcode.verify("https://x/v/r/1?s=zz", pub).reason == "malformed"
    assert reportcode.verify(code.replace("/r/4208", "/r/9208"), pub).reason == "mismatch"
    # a key retired on 2026-07-01 does not sign a report of 2026-11-02
    old = reportcode.sign(SUMMARY, "k2025", sk1, "https://x/v")
    assert reportcode.verify(old, pub).reason == "key_not_valid"
    assert reportcode.verify(old, {}).reason == "unknown_key"
    # signed by another key under k2026's id
    fake = reportcode.sign(SUMMARY, "k2026", sk1, "https://x/v")
    assert reportcode.verify(fake, pub).reason == "bad_signature"


def test_key_rotation_keeps_old_reports_valid(keys) -> None:  # type: ignore[no-untyped-def]
    sk1, _, pub = keys
    old = reportcode.sign({**SUMMARY, "date": "2026-03-01"}, "k2025", sk1, "https://x/v")
    assert reportcode.verify(old, pub).ok
    assert pub["k2025"].as_dict()["valid_to"] == "2026-07-01"


# --- old vehicles and risk ---------------------------------------------------------------


def test_old_vehicle_register_progress() -> None:
    today = dt.date(2026, 12, 7)
    e = [
        oldvehicles.OldVehicle(
            f"V{i}", f"鄂H{i}", "420802" if i < 4 else "420881", "diesel", 2, dt.date(2026, 6, 30)
        )
        for i in range(6)
    ]
    e[0] = oldvehicles.close(e[0], "scrapped", "BF-2026-001", dt.date(2026, 5, 1))
    rows = oldvehicles.progress(e, today)
    assert rows[0] == {
        "region": "420802",
        "total": 4,
        "done": 1,
        "pending": 3,
        "overdue": 3,
        "done_permille": 250,
    }
    assert len(oldvehicles.overdue(e, today)) == 5
    with pytest.raises(InputError):
        oldvehicles.close(e[1], "scrapped", " ", today)
    assert oldvehicles.eligible("diesel", 2) and not oldvehicles.eligible("gasoline", 1)


def test_risk_ranking_puts_the_fraudulent_station_first(fraud_day) -> None:  # type: ignore[no-untyped-def]
    found = _findings(fraud_day)
    tests = collections.Counter(t.station for t in fraud_day.inspections)
    ranked = risk.scores(found, tests)
    assert ranked[0]["station"] == "S01" and ranked[0]["rank"] == 1
    assert all(r["score"] == 0 for r in ranked[1:])


def test_capture_type() -> None:
    assert Capture("T", "B", "A", dt.datetime(2026, 1, 1), {}).curve == {}


def test_one_model_with_different_rated_powers() -> None:
    day = simulate(SimConfig(stations=1, seed=12))
    same = [t for t in day.inspections if t.vehicle_model == day.inspections[0].vehicle_model][:4]
    assert len(same) == 4
    faked = dataclasses.replace(same[3], rated_power_kw=same[3].rated_power_kw * 0.4)
    got = rules.registry_findings([*same[:3], faked], {})  # no registry rows: the model alone
    assert [(f.rule_id, f.subject) for f in got] == [("RATED_POWER", faked.id)]
    assert got[0].evidence["model_kw"] == same[0].rated_power_kw


def test_black_box_signature_covers_header_and_curve() -> None:
    from bishui.vehicles import boxsign

    day = simulate(SimConfig(stations=1, tests_per_lane=1, seed=13))
    cap = day.captures[day.inspections[0].id]
    sk = reportcode.private_from_seed(bytes(range(32)))
    pub = boxsign.public_raw(sk)
    sig = boxsign.sign(cap, sk)
    assert boxsign.verify(cap, sig, pub)
    edited = {k: v.copy() for k, v in cap.curve.items()}
    first = next(iter(edited))
    edited[first][3] += 0.001
    assert not boxsign.verify(dataclasses.replace(cap, curve=edited), sig, pub)
    assert not boxsign.verify(dataclasses.replace(cap, analyser="AN-OTHER"), sig, pub)
    other = boxsign.public_raw(reportcode.private_from_seed(bytes(32)))
    assert not boxsign.verify(cap, sig, other)
    assert not boxsign.verify(cap, "not-a-signature", pub)
