"""The record model of inspection supervision: stations, lanes, equipment, vehicles and
inspections with their per-second curves (GB 18285-2018 and GB 3847-2018 Chapter 9, data
recording; the per-second fields follow the station data model the notes §A1 and §A2 list).

Plain frozen dataclasses and numpy arrays; no I/O. A curve is a mapping channel → 1 Hz array,
all of one length; ``t`` is seconds from the start of the test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bishui.errors import InputError

FloatArray = npt.NDArray[np.float64]

#: The test methods (codes of provincial upload interfaces, notes §A1) → Chinese name.
TSI = "tsi"  # 双怠速法, GB 18285-2018 Appendix A
ASM = "asm"  # 稳态工况法, GB 18285-2018 Appendix B
VMAS = "vmas"  # 简易瞬态工况法, GB 18285-2018
LUG_DOWN = "lug_down"  # 加载减速法, GB 3847-2018 Appendix B
FREE_ACCEL = "free_accel"  # 自由加速法, GB 3847-2018 Appendix A
METHODS: dict[str, str] = {
    TSI: "双怠速法",
    ASM: "稳态工况法",
    VMAS: "简易瞬态工况法",
    LUG_DOWN: "加载减速法",
    FREE_ACCEL: "自由加速法",
}
#: The channels each method records per second (a subset of the vendors' structures the notes
#: §A1/§A2 name: SRealTimeDataOfDIS/ASM/VMAS/LUGDOWN). Units: co, co2, o2 [%]; hc, no, nox
#: [10⁻⁶]; speed [km/h]; rpm [r/min]; oil [°C]; power [kW]; k [m⁻¹]; *_gs mass rates [g/s].
CHANNELS: dict[str, tuple[str, ...]] = {
    TSI: ("phase", "co", "hc", "co2", "o2", "lam", "rpm", "oil"),
    ASM: ("phase", "speed", "co", "hc", "no", "co2", "o2", "rpm", "oil"),
    VMAS: ("speed", "target", "co_gs", "hc_gs", "nox_gs", "co", "co2", "o2", "rpm"),
    LUG_DOWN: ("phase", "speed", "power", "k", "nox", "rpm"),
    FREE_ACCEL: ("phase", "k", "rpm"),
}
#: The emission channels a clone search compares (not the speed: every vehicle drives the
#: same trace, so speeds are alike by design).
EMISSION_CHANNELS: dict[str, tuple[str, ...]] = {
    TSI: ("co", "hc", "co2"),
    ASM: ("co", "hc", "no"),
    VMAS: ("co_gs", "hc_gs", "nox_gs"),
    LUG_DOWN: ("k", "nox"),
    FREE_ACCEL: ("k",),
}
GASOLINE, DIESEL = "gasoline", "diesel"
FUELS = {GASOLINE: "汽油", DIESEL: "柴油"}
#: Station-claimed overall result (Jiangsu result header, notes §A1): 0 fail, 1 pass,
#: 2 aborted, 3 invalid.
RESULTS = {0: "不合格", 1: "合格", 2: "中止", 3: "无效"}
NATURES = {"initial": "初检", "retest": "复检"}


@dataclass(frozen=True)
class Station:
    code: str
    name: str
    region: str  # GB/T 2260 county code
    opens: dt.time = dt.time(8, 0)  # the station's registered opening hours (data)
    closes: dt.time = dt.time(18, 0)
    uscc: str = ""  # the operating company's unified social credit code (GB 32100)


@dataclass(frozen=True)
class Lane:
    code: str
    station: str
    fuel: str


@dataclass(frozen=True)
class Equipment:
    serial: str
    lane: str
    kind: str  # analyser, dynamometer, opacimeter, black_box


@dataclass(frozen=True)
class Vehicle:
    vin: str
    plate: str
    fuel: str
    mass_kg: int
    rated_power_kw: float
    stage: int  # 国N (0 = before 国一)
    model: str = ""
    obd_cal_id: str = ""
    obd_cvn: str = ""
    region: str = ""
    registered: dt.date | None = None


#: OBD readiness monitors (诊断就绪状态, per monitor: complete or not). Names after the monitors
#: of SAE J1979 / ISO 15031-5 service 01 PID 01 (spark ignition: catalyst … egr; compression
#: ignition: nmhc_catalyst … egr_vvt; continuous: misfire, fuel_system, components) [U: known
#: from the SAE text, not read here]. GB 18285-2018 and GB 3847-2018 check the readiness in their
#: OBD inspection (GB 3847 Appendix E, notes §A2 [V] for the appendix; its item list [U]).
OBD_MONITORS = (
    "misfire",
    "fuel_system",
    "components",
    "catalyst",
    "heated_catalyst",
    "evap",
    "secondary_air",
    "o2_sensor",
    "o2_sensor_heater",
    "egr",
    "nmhc_catalyst",
    "nox_aftertreatment",
    "boost_pressure",
    "exhaust_gas_sensor",
    "pm_filter",
    "egr_vvt",
)
#: Upper bound of the counters (J1979 PIDs 0x30 and 0x31 are one and two bytes).
_OBD_MAX = {"dtc_count": 127, "warmups_since_clear": 255, "distance_since_clear_km": 65535}


@dataclass(frozen=True)
class ObdCheck:
    """The OBD check of an inspection (OBD检查), as the station's OBD tool read it; every field
    optional (None / empty: not reported). Names as the check items:

    * ``mil_on`` — 故障指示器 (MIL) lit (GB 18285-2018 / GB 3847-2018 OBD check; J1979 PID 01).
    * ``dtc_count`` — number of stored emission-related 故障代码 (DTCs) (J1979 PID 01).
    * ``readiness`` — 诊断就绪状态: monitor → complete (True) / not complete (False); monitors
      the vehicle does not support are absent (:data:`OBD_MONITORS`).
    * ``distance_since_clear_km`` — km driven since the DTCs were cleared (J1979 PID 0x31).
    * ``warmups_since_clear`` — warm-up cycles since the DTCs were cleared (J1979 PID 0x30).

    Source tags: the OBD check itself [V] (GB 18285-2018 scope, GB 3847-2018 Appendix E, notes
    §A1–A2); the cheat box that clears codes just before the test, notes §A3b rule 17 [V]; the
    PID definitions [U] (SAE J1979, not read here).
    """

    mil_on: bool | None = None
    dtc_count: int | None = None
    readiness: Mapping[str, bool] = field(default_factory=dict)
    distance_since_clear_km: int | None = None
    warmups_since_clear: int | None = None

    def __post_init__(self) -> None:
        if self.mil_on is not None and not isinstance(self.mil_on, bool):
            raise InputError("obd.mil_on", "true, false or null", self.mil_on)
        for name, top in _OBD_MAX.items():
            v = getattr(self, name)
            if v is not None and (
                isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= top
            ):
                raise InputError(f"obd.{name}", f"an integer 0 to {top} or null", v)
        bad = [k for k in self.readiness if k not in OBD_MONITORS]
        if bad:
            raise InputError("obd.readiness", "monitors of " + ", ".join(OBD_MONITORS), bad)
        if any(not isinstance(v, bool) for v in self.readiness.values()):
            raise InputError("obd.readiness", "true (complete) or false per monitor", None)

    @property
    def incomplete(self) -> list[str]:
        return [k for k, ok in self.readiness.items() if not ok]

    def as_dict(self) -> dict[str, object]:
        return {
            "mil_on": self.mil_on,
            "dtc_count": self.dtc_count,
            "readiness": dict(self.readiness),
            "distance_since_clear_km": self.distance_since_clear_km,
            "warmups_since_clear": self.warmups_since_clear,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> ObdCheck:
        unknown = set(d) - {"mil_on", "dtc_count", "readiness", "distance_since_clear_km",
                            "warmups_since_clear"}  # fmt: skip
        if unknown:
            raise InputError("obd", "known OBD check fields", sorted(unknown))
        ready = d.get("readiness") or {}
        if not isinstance(ready, Mapping):
            raise InputError("obd.readiness", "an object monitor → true/false", ready)
        return cls(
            mil_on=d.get("mil_on"),  # type: ignore[arg-type]
            dtc_count=d.get("dtc_count"),  # type: ignore[arg-type]
            readiness={str(k): v for k, v in ready.items()},
            distance_since_clear_km=d.get("distance_since_clear_km"),  # type: ignore[arg-type]
            warmups_since_clear=d.get("warmups_since_clear"),  # type: ignore[arg-type]
        )


def curve(columns: Mapping[str, npt.ArrayLike]) -> dict[str, FloatArray]:
    """A validated curve: every channel a finite-length float array of one length."""
    out = {k: np.asarray(v, dtype=np.float64) for k, v in columns.items()}
    lengths = {len(v) for v in out.values()}
    if len(lengths) > 1:
        raise InputError("curve", "every channel has one length", sorted(lengths))
    if any(v.ndim != 1 for v in out.values()):
        raise InputError("curve", "channels are one-dimensional", None)
    return out


@dataclass(frozen=True)
class Inspection:
    """One test as the station submits it (Jiangsu result header, notes §A1)."""

    id: str
    station: str
    lane: str
    vin: str
    plate: str
    method: str
    start: dt.datetime  # Asia/Shanghai wall clock, naive
    nature: str  # initial / retest
    claimed_result: int  # 0 fail, 1 pass, 2 aborted, 3 invalid
    curve: Mapping[str, FloatArray]
    claimed_values: Mapping[str, float] = field(default_factory=dict)
    rated_power_kw: float | None = None
    obd_cal_id: str = ""
    obd_cvn: str = ""
    analyser: str = ""
    vehicle_model: str = ""
    fuel: str = GASOLINE
    #: The OBD check (OBD检查), if the station reported one (notes §A3b rule 17).
    obd: ObdCheck | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError("method", f"one of {sorted(METHODS)}", self.method)
        if self.nature not in NATURES:
            raise InputError("nature", f"one of {sorted(NATURES)}", self.nature)
        if self.claimed_result not in RESULTS:
            raise InputError("claimed_result", "0, 1, 2 or 3", self.claimed_result)

    @property
    def seconds(self) -> int:
        return len(next(iter(self.curve.values()))) if self.curve else 0

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class Capture:
    """What the lane's black box sent on its own channel for one test: the raw signals, the
    device that signed them, the box clock's start."""

    inspection_id: str
    box_serial: str
    analyser: str  # the analyser serial the box read from the instrument
    start: dt.datetime
    curve: Mapping[str, FloatArray]


@dataclass(frozen=True)
class Finding:
    """What a rule found, with its evidence (JSON-ready) and the source of the rule."""

    rule_id: str
    severity: str  # low, medium, high
    station: str
    subject: str  # an inspection id, a VIN, an analyser or the station itself
    evidence: Mapping[str, object]
    at: dt.datetime
