"""What each kind of site measures in the model city, as functions of time.

Each ``*_series`` function returns, for one site and an array of hours, a dict
``parameter → (values, flags)`` plus the :class:`~bishui.demo.synth.Event` records it
injected. Values are rounded as a logger reports them; a NaN value is an hour the logger did
not send at all. Flags are HJ 212-2017 Table 8 data flags (N normal, C calibration,
M maintenance, F stopped, D fault).

The numbers below (base levels, amplitudes) are the model's own tuning to look like a central
Chinese city of Jingmen's kind (see water-and-compensation notes §B7 "Realistic air numbers");
they are not from any standard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bishui.demo.synth import Event, key_of, normal, to_time, uniform, weather, windows

Series = dict[str, tuple[np.ndarray, np.ndarray]]

AIR_PARAMETERS = {
    # code: (name, unit, decimals)
    "a34004": ("PM2.5", "μg/m³", 0),
    "a34002": ("PM10", "μg/m³", 0),
    "a21026": ("SO2", "μg/m³", 0),
    "a21004": ("NO2", "μg/m³", 0),
    "a21005": ("CO", "mg/m³", 3),
    "a05024": ("O3", "μg/m³", 0),
}

WATER_PARAMETERS = {
    "w01010": ("水温", "℃", 1),
    "w01001": ("pH值", "无量纲", 2),
    "w01009": ("溶解氧", "mg/L", 2),
    "w01019": ("高锰酸盐指数", "mg/L", 2),
    "w01018": ("化学需氧量", "mg/L", 1),
    "w21003": ("氨氮", "mg/L", 3),
    "w21011": ("总磷", "mg/L", 3),
    "w21001": ("总氮", "mg/L", 2),
}

# Water quality level of a section → typical concentration of each item (model tuning).
# Level 1.0 is clean Class Ⅰ-like water, 6.0 is heavily polluted 劣Ⅴ-like water.
_WATER_LEVEL_TABLE = {
    #          level: 1      2      3      4      5      6
    "w01019": (1.6, 3.2, 5.0, 8.0, 12.0, 17.0),
    "w01018": (8.0, 12.5, 17.5, 26.0, 35.0, 48.0),
    "w21003": (0.10, 0.35, 0.80, 1.30, 1.80, 2.80),
    "w21011_river": (0.015, 0.07, 0.16, 0.26, 0.36, 0.55),
    "w21011_lake": (0.008, 0.018, 0.04, 0.08, 0.16, 0.30),
    "w21001": (0.18, 0.45, 0.90, 1.40, 1.90, 3.0),
}


def _round(values: np.ndarray, decimals: int) -> np.ndarray:
    return np.round(values, decimals)


def _faults(
    site_id: str, seed: int, hours: np.ndarray, values: Series, events: list[Event]
) -> None:
    """Apply the logger's faults to every parameter of a site, in place."""
    k = key_of(seed, site_id, "missing")
    missing = uniform(k, hours) < 0.008  # scattered lost hours (communication)
    outage, spans = windows(key_of(seed, site_id, "outage"), hours, 2.0, 6, 30)
    for s, e in spans:
        events.append(Event("outage", site_id, None, to_time(s), to_time(e)))
    calib, spans = windows(key_of(seed, site_id, "calib"), hours, 40.0, 1, 2)
    maint, mspans = windows(key_of(seed, site_id, "maint"), hours, 8.0, 3, 8)
    for s, e in mspans:
        events.append(Event("maintenance", site_id, None, to_time(s), to_time(e)))
    for code, (v, f) in values.items():
        f[calib] = "C"
        f[maint] = "M"
        v[missing | outage] = np.nan
        # One flat-lined analyser a year per parameter: the value sticks, flagged N.
        __, fspans = windows(key_of(seed, site_id, code, "flat"), hours, 0.5, 8, 36)
        for s, e in fspans:
            sel = (hours >= s) & (hours < e)
            idx = np.flatnonzero(sel)
            if idx.size:
                stuck = v[idx[0]] if not np.isnan(v[idx[0]]) else np.nanmean(v)
                v[idx] = stuck
                events.append(Event("flatline", site_id, code, to_time(s), to_time(e)))
        values[code] = (v, f)


def air_series(
    site_id: str, factor: float, seed: int, hours: np.ndarray
) -> tuple[Series, list[Event]]:
    """Hourly ambient-air concentrations at one station (HJ 633 pollutants)."""
    events: list[Event] = []
    h = hours.astype(np.float64)
    hod = (hours % 24).astype(np.float64)
    city = key_of(seed, "city-air")  # the weather and haze are shared by the whole city
    w_city = weather(city, h)
    w_site = weather(key_of(seed, site_id, "w"), h)
    haze, spans = windows(key_of(seed, "haze"), hours, 9.0, 36, 96, weight_peak_doy=15.0)
    for s, e in spans:
        events.append(Event("haze", site_id, "a34004", to_time(s), to_time(e)))
    winter = np.cos(2 * np.pi * (((h / 24.0) - 10.0) % 365.25 - 15.0) / 365.25)
    summer = -winter
    nz = lambda name: normal(key_of(seed, site_id, name), hours)  # noqa: E731

    haze_mult = np.where(haze, 2.2 + 0.6 * np.sin(h / 7.0), 1.0)
    pm25 = (
        36.0
        * factor
        * np.exp(
            0.45 * winter
            + 0.35 * w_city
            + 0.12 * w_site
            + 0.15 * nz("pm25")
            + 0.10 * np.cos(2 * np.pi * (hod - 8) / 24)
        )
        * haze_mult
    )
    pm10 = pm25 * np.exp(0.42 + 0.10 * nz("pm10") + 0.08 * summer)
    so2 = 9.0 * np.exp(0.30 * winter + 0.25 * w_city + 0.25 * nz("so2"))
    traffic = 0.22 * (np.exp(-(((hod - 8) / 2.0) ** 2)) + np.exp(-(((hod - 19) / 2.5) ** 2)))
    no2 = 26.0 * factor * np.exp(0.25 * winter + 0.25 * w_city + traffic + 0.2 * nz("no2"))
    co = 0.75 * np.exp(0.30 * winter + 0.20 * w_city + 0.15 * nz("co"))
    sun = np.clip(np.cos(2 * np.pi * (hod - 15) / 24), -0.6, 1)
    o3 = 62.0 * np.exp(0.45 * summer + 0.55 * sun + 0.20 * w_city * summer + 0.2 * nz("o3"))
    raw = {"a34004": pm25, "a34002": pm10, "a21026": so2, "a21004": no2, "a21005": co, "a05024": o3}
    values: Series = {}
    for code, v in raw.items():
        values[code] = (_round(v, AIR_PARAMETERS[code][2]), np.full(hours.shape, "N", dtype=object))
    _faults(site_id, seed, hours, values, events)
    return values, events


@dataclass(frozen=True, slots=True)
class WaterProfile:
    level: float  # 1 clean … 6 heavily polluted (model tuning)
    body: str  # river | lake
    degrade_from: int | None = None  # hour (since the epoch) from which quality worsens


def water_series(
    site_id: str, prof: WaterProfile, seed: int, hours: np.ndarray
) -> tuple[Series, list[Event]]:
    """4-hourly surface-water automatic-station values (GB 3838 items) at one section."""
    events: list[Event] = []
    h = hours.astype(np.float64)
    winter = np.cos(2 * np.pi * (((h / 24.0) - 10.0) % 365.25 - 15.0) / 365.25)
    w = weather(key_of(seed, site_id, "w"), h, n=4)
    nz = lambda name: normal(key_of(seed, site_id, name), hours)  # noqa: E731
    level = np.full(h.shape, prof.level)
    if prof.degrade_from is not None and h.size and h.max() >= prof.degrade_from:
        # A slow deterioration of a drinking-water source over 60 days (for the alert rules).
        ramp = np.clip((h - prof.degrade_from) / (60 * 24.0), 0.0, 1.0)
        level = level + ramp * 1.6
        events.append(
            Event(
                "degradation",
                site_id,
                "w21003",
                to_time(prof.degrade_from),
                to_time(int(h.max()) + 1),
            )
        )
    lv = np.clip(level, 1.0, 6.0)

    def at_level(item: str) -> np.ndarray:
        table = np.array(_WATER_LEVEL_TABLE[item])
        return np.exp(np.interp(lv, np.arange(1.0, 7.0), np.log(table)))

    temp = 18.0 - 11.0 * winter + 1.2 * w + 0.4 * nz("t")
    dry = 0.25 * winter  # the dry season concentrates pollutants
    vals = {
        "w01010": temp,
        "w01001": 7.6 + 0.25 * w + 0.12 * nz("ph") - 0.05 * (lv - 2),
        # DO follows saturation (colder water holds more) and falls with pollution.
        "w01009": (14.6 - 0.39 * temp + 0.007 * temp**2) * (1.0 - 0.07 * (lv - 1)) + 0.3 * nz("do"),
        "w01019": at_level("w01019") * np.exp(dry + 0.12 * w + 0.12 * nz("codmn")),
        # COD follows CODMn (the same organic load, a different oxidant).
        "w01018": at_level("w01018")
        * np.exp(dry + 0.12 * w + 0.10 * nz("codmn") + 0.05 * nz("cod")),
        "w21003": at_level("w21003") * np.exp(dry + 0.2 * w + 0.2 * nz("nh3")),
        "w21011": at_level(f"w21011_{prof.body}") * np.exp(0.15 * w + 0.18 * nz("tp")),
        "w21001": at_level("w21001") * np.exp(dry + 0.15 * w + 0.15 * nz("tn")),
    }
    values: Series = {
        code: (
            _round(np.maximum(v, 0.0), WATER_PARAMETERS[code][2]),
            np.full(hours.shape, "N", dtype=object),
        )
        for code, v in vals.items()
    }
    _faults(site_id, seed, hours, values, events)
    return values, events


@dataclass(frozen=True, slots=True)
class OutletProfile:
    kind: str  # source_gas | source_water
    parameters: tuple[str, ...]
    limits: dict[str, float]
    decimals: dict[str, int]
    flow_base: float  # m³/s (gas) or L/s (water)
    load: float  # typical concentration as a fraction of the limit
    continuous: bool  # WWTPs and livestock never stop; kilns and boilers do
    fraud: str | None = None  # "under_limit" | "zero_flow" | "dilution"


def outlet_series(
    site_id: str, prof: OutletProfile, seed: int, hours: np.ndarray
) -> tuple[Series, list[Event]]:
    """Hourly values at one pollution-source outlet (flue gas or wastewater)."""
    events: list[Event] = []
    h = hours.astype(np.float64)
    hod = (hours % 24).astype(np.float64)
    nz = lambda name: normal(key_of(seed, site_id, name), hours)  # noqa: E731
    w = weather(key_of(seed, site_id, "w"), h, n=4)
    production = 1.0 + 0.12 * np.sin(2 * np.pi * (hod - 10) / 24)
    stopped = np.zeros(h.shape, dtype=bool)
    if not prof.continuous:
        stopped, spans = windows(key_of(seed, site_id, "stop"), hours, 1.5, 72, 14 * 24)
        for s, e in spans:
            events.append(Event("stopped", site_id, None, to_time(s), to_time(e)))
    # Flue gas is judged hour by hour, wastewater on the daily mean: a wastewater episode lasts
    # long enough (most of a day or more) to lift the day above the limit.
    lo, hi = (2, 8) if prof.kind == "source_gas" else (20, 48)
    exceed, spans = windows(key_of(seed, site_id, "exceed"), hours, 5.0, lo, hi)
    target = sorted(k for k in prof.limits)
    for s, e in spans:
        events.append(
            Event("exceedance", site_id, target[0] if target else None, to_time(s), to_time(e))
        )
    values: Series = {}
    flow_code = "a00000" if prof.kind == "source_gas" else "w00000"
    for code in prof.parameters:
        flags = np.full(hours.shape, "N", dtype=object)
        if code == flow_code:
            v = prof.flow_base * production * np.exp(0.08 * w + 0.06 * nz(code))
            v[stopped] = 0.0
        elif code == "a19001":
            v = 9.5 + 0.8 * w + 0.3 * nz(code)
            v[stopped] = 20.6  # ambient air in a cold stack
        elif code == "w01001":
            v = 7.3 + 0.3 * w + 0.15 * nz(code)
        else:
            limit = prof.limits.get(code, 1.0)
            v = limit * prof.load * np.exp(0.18 * w + 0.15 * nz(code)) * production
            if code == target[0]:
                v = np.where(
                    exceed, limit * (1.3 + 0.8 * uniform(key_of(seed, site_id, "x"), hours)), v
                )
            v[stopped] *= 0.05
        flags[stopped] = "F"
        values[code] = (v, flags)
    if prof.fraud:
        _fraud(site_id, prof, seed, hours, values, events, flow_code)
    for code, (v, f) in values.items():
        values[code] = (_round(np.maximum(v, 0.0), prof.decimals.get(code, 2)), f)
    _faults(site_id, seed, hours, values, events)
    return values, events


def _fraud(
    site_id: str,
    prof: OutletProfile,
    seed: int,
    hours: np.ndarray,
    values: Series,
    events: list[Event],
    flow_code: str,
) -> None:
    """Faked-data episodes of the kinds inspectors find (issue: pollution sources)."""
    mask, spans = windows(key_of(seed, site_id, "fraud"), hours, 4.0, 5 * 24, 20 * 24)
    if not spans:
        return
    target = sorted(prof.limits)[0]
    limit = prof.limits[target]
    u = uniform(key_of(seed, site_id, "fraud-u"), hours)
    for s, e in spans:
        events.append(Event(f"fraud_{prof.fraud}", site_id, target, to_time(s), to_time(e)))
    if prof.fraud == "under_limit":
        v, _ = values[target]
        v[mask] = limit * (0.955 + 0.03 * u[mask])  # always just under the limit
    elif prof.fraud == "zero_flow":
        v, _f = values[flow_code]
        v[mask] = 0.0  # "no discharge" while the analyser still reads the effluent
    elif prof.fraud == "dilution" and "a19001" in values:
        o2, _ = values["a19001"]
        o2[mask] = 16.5 + 0.5 * u[mask]  # dilution air: O2 up, concentration down
        for code in prof.limits:
            v, _ = values[code]
            v[mask] *= 0.35
