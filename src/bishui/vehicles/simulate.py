"""A simulator of inspection stations, lanes and black boxes, with configurable frauds.

Both channels are produced: the black box's capture (the instruments' true signals) and the
station's submitted record (the same, or faked). The curves are synthetic: phase lengths and
the VMAS speed trace are the simulator's own, not the standard's (docs/vehicles.md). Used by
the tests to measure false-alarm rates and by the demo.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bishui.registry.uscc import generate
from bishui.vehicles.model import (
    ASM,
    DIESEL,
    FREE_ACCEL,
    GASOLINE,
    LUG_DOWN,
    TSI,
    VMAS,
    Capture,
    FloatArray,
    Inspection,
    ObdCheck,
    Station,
    Vehicle,
    curve,
)

#: Jingmen's counties and districts (GB/T 2260, the demo city's regions).
COUNTIES = ("420802", "420804", "420822", "420881", "420882")
FRAUDS = (
    "clone",
    "edited",
    "clock",
    "dropout",
    "equipment",
    "dilution",
    "rated_power",
    "fast_retest",
    "hours",
    "regular",
    "obd_cleared",
)
#: Readiness monitors the simulated vehicles support (model.OBD_MONITORS), by fuel.
_MONITORS = {
    GASOLINE: ("misfire", "fuel_system", "components", "catalyst", "evap", "o2_sensor",
               "o2_sensor_heater"),
    DIESEL: ("misfire", "fuel_system", "components", "nmhc_catalyst", "nox_aftertreatment",
             "boost_pressure", "exhaust_gas_sensor", "pm_filter", "egr_vvt"),
}  # fmt: skip


def sim_obd(rng: np.random.Generator, fuel: str, cleared: bool) -> ObdCheck:
    """The OBD check of a simulated test. An honest vehicle: codes last cleared long ago
    (200–30 000 km, a warm-up per ~15 km), every monitor complete, MIL off; 2 % were repaired
    and cleared a while ago (60–400 km, ≥ 5 warm-ups: ready again). The cheat box (fraud
    ``obd_cleared``, notes §A3b rule 17): codes cleared minutes before (0–5 km, 0–1 warm-ups)
    and the slow monitors (catalyst and evaporative system / NMHC catalyst and particulate
    filter) not complete yet."""
    mons = _MONITORS[fuel]
    if cleared:
        km, wu = int(rng.integers(0, 6)), int(rng.integers(0, 2))
        slow = {"catalyst", "evap", "nmhc_catalyst", "pm_filter"}
        ready = {m: m not in slow for m in mons}
    else:
        repaired = bool(rng.random() < 0.02)
        km = int(rng.integers(60, 400)) if repaired else int(rng.integers(200, 30000))
        wu = min(255, max(5, km // 15 + int(rng.integers(0, 10))))
        ready = dict.fromkeys(mons, True)
    return ObdCheck(mil_on=False, dtc_count=0, readiness=ready, distance_since_clear_km=km,
                    warmups_since_clear=wu)  # fmt: skip


@dataclass
class SimConfig:
    stations: int = 10
    lanes_per_station: int = 2
    tests_per_lane: int = 20
    day: dt.date = dt.date(2026, 11, 2)
    seed: int = 7
    fail_share: float = 0.08  # honest high emitters
    #: fraud → share of one station's tests faked that way (the station is ``frauds_at``)
    frauds: Mapping[str, float] = field(default_factory=dict)
    frauds_at: str = "S01"


@dataclass
class SimDay:
    stations: dict[str, Station]
    analysers: dict[str, str]  # lane → registered analyser serial
    vehicles: dict[str, Vehicle]
    inspections: list[Inspection]
    captures: dict[str, Capture]
    truth: dict[str, set[str]]  # inspection id → frauds applied


def _vmas_trace(n: int = 195) -> FloatArray:
    # accelerate, cruise, brake: five segments of different lengths and speeds (not periodic)
    knots_t = [0, 10, 25, 45, 60, 75, 100, 115, 140, 160, 180, n - 1]
    knots_v = [0, 0, 15, 15, 0, 0, 32, 32, 50, 35, 0, 0]
    return np.interp(np.arange(n), knots_t, knots_v)


def true_curve(
    method: str, rng: np.random.Generator, high: bool, rated_kw: float = 150.0
) -> dict[str, FloatArray]:
    """One test's true signals; *high* = a high emitter that fails honestly."""
    f = 4.0 if high else 1.0
    if method == TSI:
        ph = np.repeat([0, 1, 2, 3, 4], [30, 15, 30, 15, 30]).astype(float)
        n = ph.size
        co = f * rng.uniform(0.02, 0.12) * (1 + 0.08 * rng.standard_normal(n))
        hc = f * rng.uniform(5, 30) * (1 + 0.08 * rng.standard_normal(n))
        return curve(
            {
                "phase": ph,
                "co": co,
                "hc": hc,
                "co2": 14.5 + 0.2 * rng.standard_normal(n),
                "o2": 0.3 + 0.05 * rng.standard_normal(n),
                "lam": 1.0 + 0.01 * rng.standard_normal(n),
                "rpm": np.where(ph <= 2, 2500, 800) + 20 * rng.standard_normal(n),
                "oil": 85 + rng.standard_normal(n),
            }
        )
    if method == ASM:
        ph = np.repeat([1, 2], [90, 90]).astype(float)
        n = ph.size
        return curve(
            {
                "phase": ph,
                "speed": np.where(ph == 1, 25, 40) + 0.3 * rng.standard_normal(n),
                "co": f * rng.uniform(0.02, 0.1) * (1 + 0.08 * rng.standard_normal(n)),
                "hc": f * rng.uniform(5, 25) * (1 + 0.08 * rng.standard_normal(n)),
                "no": f * rng.uniform(50, 200) * (1 + 0.08 * rng.standard_normal(n)),
                "co2": 14.0 + 0.2 * rng.standard_normal(n),
                "o2": 0.4 + 0.05 * rng.standard_normal(n),
                "rpm": 1800 + 50 * rng.standard_normal(n),
                "oil": 88 + rng.standard_normal(n),
            }
        )
    if method == VMAS:
        tg = _vmas_trace()
        n = tg.size
        sp = np.clip(tg + 0.4 * rng.standard_normal(n), 0, None)
        load = 0.02 + sp / 100
        f = 10.0 if high else 1.0
        return curve(
            {
                "speed": sp,
                "target": tg,
                "co_gs": f * rng.uniform(0.03, 0.06) * load * (1 + 0.1 * rng.standard_normal(n)),
                "hc_gs": f * rng.uniform(0.001, 0.006) * load * (1 + 0.1 * rng.standard_normal(n)),
                "nox_gs": f * rng.uniform(0.001, 0.005) * load * (1 + 0.1 * rng.standard_normal(n)),
                "co": 0.1 + 0.01 * rng.standard_normal(n),
                "co2": 14.0 + 0.2 * rng.standard_normal(n),
                "o2": 0.4 + 0.05 * rng.standard_normal(n),
                "rpm": 1000 + 30 * sp + 20 * rng.standard_normal(n),
            }
        )
    if method == LUG_DOWN:
        ph = np.repeat([0, 100, 90, 80], [20, 10, 10, 10]).astype(float)
        n = ph.size
        return curve(
            {
                "phase": ph,
                "speed": np.where(ph > 0, 0.6 * ph, 30) + 0.3 * rng.standard_normal(n),
                "power": rated_kw * rng.uniform(0.6, 0.8) * (1 + 0.02 * rng.standard_normal(n)),
                "k": f * rng.uniform(0.1, 0.35) * (1 + 0.08 * rng.standard_normal(n)),
                "nox": f * rng.uniform(200, 600) * (1 + 0.08 * rng.standard_normal(n)),
                "rpm": 1500 + 40 * rng.standard_normal(n),
            }
        )
    ph = np.repeat([0, 1, 0, 2, 0, 3, 0, 4], [5, 6, 5, 6, 5, 6, 5, 6]).astype(float)
    n = ph.size
    return curve(
        {
            "phase": ph,
            "k": np.where(ph > 0, f * rng.uniform(0.2, 0.4), 0.05)
            * (1 + 0.1 * rng.standard_normal(n)),
            "rpm": np.where(ph > 0, 2800, 750) + 30 * rng.standard_normal(n),
        }
    )


def simulate(cfg: SimConfig | None = None) -> SimDay:
    cfg = cfg or SimConfig()
    rng = np.random.default_rng(cfg.seed)
    # the OBD checks draw from their own stream: the curves and frauds of a seed stay as they
    # were before the simulator emitted OBD fields
    rng_obd = np.random.default_rng([cfg.seed, 17])
    stations: dict[str, Station] = {}
    analysers: dict[str, str] = {}
    vehicles: dict[str, Vehicle] = {}
    tests: list[Inspection] = []
    caps: dict[str, Capture] = {}
    truth: dict[str, set[str]] = {}
    seq = 0
    by_method: dict[str, list[Inspection]] = {}
    for s in range(1, cfg.stations + 1):
        code = f"S{s:02d}"
        region = COUNTIES[(s - 1) % len(COUNTIES)]
        stations[code] = Station(code, f"荆门第{s}机动车检测站", region, uscc=generate(region, s))
        for ln in range(1, cfg.lanes_per_station + 1):
            lane = f"{code}-L{ln}"
            diesel = ln % 2 == 0
            analysers[lane] = f"AN-{lane}"
            t0 = dt.datetime.combine(cfg.day, dt.time(8, 30)) + dt.timedelta(
                minutes=int(rng.integers(0, 20))
            )
            for k in range(cfg.tests_per_lane):
                seq += 1
                method = ([LUG_DOWN, FREE_ACCEL] if diesel else [TSI, ASM, VMAS])[
                    k % (2 if diesel else 3)
                ]
                vin = f"LJM{seq:014d}"
                fuel = DIESEL if diesel else GASOLINE
                power = (
                    float(rng.choice([110.0, 150.0, 200.0]))
                    if diesel
                    else float(rng.choice([70.0, 90.0]))
                )
                model = f"{'D' if diesel else 'G'}{int(power)}"
                v = Vehicle(
                    vin,
                    f"鄂H{seq:05d}",
                    fuel,
                    12000 if diesel else 1500,
                    power,
                    int(rng.integers(3, 7)),
                    model,
                    f"CAL{seq:06d}",
                    f"{seq:08X}",
                    stations[code].region,
                )
                vehicles[vin] = v
                high = bool(rng.random() < cfg.fail_share)
                true = true_curve(method, rng, high, power)
                start = t0 + dt.timedelta(minutes=12 * k)
                tid = f"T{seq:07d}"
                rec = {ch: a.copy() for ch, a in true.items()}
                applied: set[str] = set()
                cap_start, cap_an, rated = start, analysers[lane], v.rated_power_kw
                cap_curve = {ch: a.copy() for ch, a in true.items()}
                if code == cfg.frauds_at:
                    for fr, share in cfg.frauds.items():
                        if fr not in ("fast_retest", "obd_cleared") and rng.random() < share:
                            applied.add(fr)
                from bishui.vehicles.model import EMISSION_CHANNELS

                em = EMISSION_CHANNELS[method]
                if "clone" in applied and by_method.get(method):
                    src = by_method[method][int(rng.integers(0, len(by_method[method])))]
                    rec = {
                        ch: (
                            a * (1 + 0.002 * rng.standard_normal(a.size)) if ch in em else a.copy()
                        )
                        for ch, a in src.curve.items()
                    }
                    cap_curve = {ch: a.copy() for ch, a in true.items()}
                elif "clone" in applied:
                    applied.discard("clone")
                if "edited" in applied:
                    for ch in em:
                        rec[ch] = rec[ch] * 0.5
                if "clock" in applied:
                    lag = int(rng.integers(5, 20))
                    for ch in rec:
                        rec[ch] = np.concatenate((rec[ch][lag:], rec[ch][-1:].repeat(lag)))
                if "dropout" in applied:
                    drop = rng.random(cap_curve[em[0]].size) < 0.3
                    for ch in cap_curve:
                        cap_curve[ch] = np.where(drop, np.nan, cap_curve[ch])
                if "equipment" in applied:
                    cap_an = f"AN-UNREG-{seq}"
                if "dilution" in applied and "co2" in rec:
                    rec["co2"] = rec["co2"] * 0.3
                    cap_curve["co2"] = cap_curve["co2"] * 0.3
                if "rated_power" in applied:
                    rated = round(v.rated_power_kw * 0.4, 1)
                if "hours" in applied:
                    start = dt.datetime.combine(cfg.day, dt.time(21, 0)) + dt.timedelta(minutes=k)
                    cap_start = start
                if "regular" in applied:
                    for ch in em:
                        rec[ch] = np.full_like(rec[ch], float(np.nanmean(rec[ch])))
                from bishui.vehicles.limits import limits_for
                from bishui.vehicles.verdict import recompute

                lim = limits_for(method, "*", stations[code].region, cfg.day)
                honest = recompute(method, true, lim, v.rated_power_kw).result
                claimed = 1 if applied else honest
                cleared = code == cfg.frauds_at and bool(
                    rng_obd.random() < cfg.frauds.get("obd_cleared", 0.0)
                )
                obd = sim_obd(rng_obd, fuel, cleared)
                insp = Inspection(
                    tid,
                    code,
                    lane,
                    vin,
                    v.plate,
                    method,
                    start,
                    "initial",
                    claimed,
                    curve(rec),
                    rated_power_kw=rated,
                    obd_cal_id=v.obd_cal_id,
                    obd_cvn=v.obd_cvn,
                    analyser=analysers[lane],
                    vehicle_model=model,
                    fuel=fuel,
                    obd=obd,
                )
                tests.append(insp)
                by_method.setdefault(method, []).append(insp)
                caps[tid] = Capture(tid, f"BB-{lane}", cap_an, cap_start, curve(cap_curve))
                truth[tid] = applied | {"obd_cleared"} if cleared else applied
                if honest == 0 and not applied:  # repaired and re-tested later the same day
                    seq += 1
                    rid = f"T{seq:07d}"
                    fast = "fast_retest" in cfg.frauds and code == cfg.frauds_at
                    gap = 10 if fast else 90
                    rt = true_curve(method, rng, False, power)
                    rs = insp.end + dt.timedelta(minutes=gap)
                    r = Inspection(
                        rid,
                        code,
                        lane,
                        vin,
                        v.plate,
                        method,
                        rs,
                        "retest",
                        1,
                        rt,
                        rated_power_kw=v.rated_power_kw,
                        obd_cal_id=v.obd_cal_id,
                        obd_cvn=v.obd_cvn,
                        analyser=analysers[lane],
                        vehicle_model=model,
                        fuel=fuel,
                        obd=dataclasses.replace(
                            obd,
                            distance_since_clear_km=min(
                                65535, (obd.distance_since_clear_km or 0) + 3
                            ),
                        ),
                    )
                    tests.append(r)
                    caps[rid] = Capture(rid, f"BB-{lane}", analysers[lane], rs, curve(rt))
                    truth[rid] = ({"fast_retest"} if fast else set()) | (
                        {"obd_cleared"} if cleared else set()
                    )
    return SimDay(stations, analysers, vehicles, tests, caps, truth)


def extras(day: SimDay, seed: int = 1) -> tuple[list[Any], list[dict[str, Any]], list[Any]]:
    """Standard-gas checks (each analyser's morning self-check; the regulator's unannounced
    check, failed at the fraud station), patrol rows (the reference vehicle at every station —
    the fraud station's analyser reads 40 % low — and mobile re-tests) and an old-vehicle
    register, for the demo."""
    from bishui.vehicles.gas import GasCheck
    from bishui.vehicles.oldvehicles import OldVehicle

    rng = np.random.default_rng(seed)
    cert = {"hc": 200.0, "co": 0.5, "co2": 12.0, "no": 1000.0}
    checks = []
    for lane, an in sorted(day.analysers.items()):
        st = lane.split("-")[0]
        at = dt.datetime.combine(day.inspections[0].start.date(), dt.time(8, 0))
        meas = {g: v * (1 + 0.01 * rng.standard_normal()) for g, v in cert.items()}
        checks.append(GasCheck(an, st, at, "self", "low", cert, meas))
        if lane.endswith("L1"):
            scale = 0.6 if st == "S01" else 1 + 0.01 * rng.standard_normal()
            late = at + dt.timedelta(hours=3)
            checks.append(
                GasCheck(
                    an,
                    st,
                    late,
                    "unannounced",
                    "low",
                    cert,
                    {g: v * scale for g, v in cert.items()},
                )
            )
    patrol: list[dict[str, Any]] = []
    day0 = day.inspections[0].start.date().isoformat()
    for st in sorted(day.stations):
        scale = 0.6 if st == "S01" else 1 + 0.02 * rng.standard_normal()
        for pol, v in (("co", 0.45), ("hc", 60.0), ("no", 400.0)):
            patrol.append(
                {
                    "kind": "reference",
                    "station": st,
                    "at": f"{day0}T16:00",
                    "vin": "LJMREF0000000001",
                    "pollutant": pol,
                    "station_value": round(v * scale, 3),
                }
            )
        for k in range(5):
            fails = st == "S01" and k < 3
            patrol.append(
                {
                    "kind": "retest",
                    "station": st,
                    "at": f"{day0}T17:{k:02d}",
                    "vin": f"LJMRT{st}{k:08d}",
                    "pollutant": "co",
                    "station_value": 0.2,
                    "reference_value": 0.9 if fails else 0.2,
                    "regulator_passed": not fails,
                }
            )
    old = []
    for i in range(60):
        region = COUNTIES[i % len(COUNTIES)]
        fuel = "diesel" if i % 3 else "gasoline"
        stage = 2 if fuel == "diesel" else 0
        done = i % 4 == 0
        old.append(
            OldVehicle(
                f"LJMOLD{i:011d}",
                f"鄂H{9000 + i}",
                region,
                fuel,
                stage,
                dt.date(2026, 6, 30) if i % 2 else dt.date(2027, 6, 30),
                "scrapped" if done else "pending",
                f"BF-2026-{i:04d}" if done else "",
                dt.date(2026, 5, 1) if done else None,
            )
        )
    return checks, patrol, old


def with_events(
    day: SimDay, seed: int = 1, frauds: Mapping[str, float] | None = None, at: str = "S01"
) -> SimDay:
    """*day* with the boxes' event channels added to every capture (notes §A3b rules 18, 20):
    ``seal`` all 1 (intact) and ``probe_deg`` a seated probe's attitude (35° ± 1° noise, the
    simulator's own). Frauds at station *at*, each a share of its tests: ``seal`` (a seal broken
    for 5–20 s mid-test) and ``probe`` (the probe lifted 30–60° part-way). A separate random
    stream: the day's curves are unchanged."""
    rng = np.random.default_rng(seed)
    frauds = dict(frauds or {})
    caps: dict[str, Capture] = {}
    truth = {k: set(v) for k, v in day.truth.items()}
    for t in day.inspections:
        c = day.captures.get(t.id)
        if c is None:
            continue
        n = len(next(iter(c.curve.values()))) if c.curve else 0
        seal = np.ones(n)
        att = 35.0 + rng.standard_normal(n)
        if t.station == at and n > 30:
            if rng.random() < frauds.get("seal", 0.0):
                a = int(rng.integers(5, n - 25))
                seal[a : a + int(rng.integers(5, 21))] = 0.0
                truth.setdefault(t.id, set()).add("seal")
            if rng.random() < frauds.get("probe", 0.0):
                a = int(rng.integers(5, n - 10))
                att[a:] += rng.uniform(30, 60)
                truth.setdefault(t.id, set()).add("probe")
        caps[t.id] = Capture(c.inspection_id, c.box_serial, c.analyser, c.start,
                             {**c.curve, "seal": seal, "probe_deg": att})  # fmt: skip
    return dataclasses.replace(day, captures=caps, truth=truth)


def selfchecks(day: SimDay, seed: int = 1, fail_lane: str | None = None) -> list[Any]:
    """Each lane's daily equipment self-checks (:mod:`bishui.vehicles.selfcheck`) at 07:30,
    before the first test (08:30): the dynamometer's coast-down on every lane (ASM and VMAS on
    the gasoline lanes, lug-down on the diesel ones), the analyser's leak check on the gasoline
    lanes, the opacimeter's zero check on the diesel lanes. A coast-down's ACDT is within ±3 %
    of its CCDT (the simulator's own spread; the tolerance is 7 %). With *fail_lane*, that
    lane's coast-down fails (ACDT 12–20 % off) and the lane tests on until its passing re-check
    at 12:00 — its loaded tests in between are the fraud. A separate random stream."""
    from bishui.vehicles.selfcheck import SelfCheck

    rng = np.random.default_rng(seed)
    d = day.inspections[0].start.date() if day.inspections else dt.date(2026, 11, 2)
    morning = dt.datetime.combine(d, dt.time(7, 30))
    out: list[Any] = []
    for lane in sorted(day.analysers):
        st = lane.split("-")[0]
        diesel = int(lane.rsplit("L", 1)[1]) % 2 == 0
        ccdt = float(rng.choice([18.0, 22.0, 26.0]))
        off = rng.uniform(0.12, 0.20) if lane == fail_lane else rng.uniform(-0.03, 0.03)
        out.append(SelfCheck(st, lane, "coastdown", morning, ccdt, round(ccdt * (1 + off), 3)))
        if lane == fail_lane:
            noon = morning.replace(hour=12, minute=0)
            ok = round(ccdt * (1 + rng.uniform(-0.03, 0.03)), 3)
            out.append(SelfCheck(st, lane, "coastdown", noon, ccdt, ok))
        item = "opacity_zero" if diesel else "leak"
        out.append(SelfCheck(st, lane, item, morning, device_passed=True))
    return out
