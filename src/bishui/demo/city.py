"""The Jingmen model city: its registry and the synthetic data of every site.

``build(seed)`` reads ``jingmen/city.toml`` (regions, air stations, water sections) and
``jingmen/industries.toml`` (the industries and their outlets) and returns a
:class:`ModelCity`: a validated :class:`~bishui.registry.Registry` plus, for every site, the
profile its synthetic data follows. Same seed, same city, same data.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from bishui.demo import profiles
from bishui.demo.profiles import OutletProfile, Series, WaterProfile
from bishui.demo.synth import Event
from bishui.hj212.auth import generate_password
from bishui.registry import Device, DeviceParameter, Enterprise, Region, Registry, Site, uscc

SYNTHETIC_NOTICE = "模拟数据 · synthetic data of the bishui model city, not real monitoring data"

# Expected water-quality level of each section (1 clean … 6 劣Ⅴ-like): the model's tuning,
# following what the notes say of each river (竹皮河 has no capacity left; 天门河 at 拖市
# averaged Class Ⅴ on NH3-N; 漳河水库 is Hubei's only Class Ⅰ water body).
WATER_LEVELS = {
    "WS01": 4.6,
    "WS02": 5.0,
    "WS03": 5.4,
    "WS04": 5.0,
    "WS05": 1.9,
    "WS06": 1.0,
    "WS07": 1.9,
    "WS08": 2.1,
    "WS09": 4.8,
    "WS10": 3.4,
    "WS11": 2.9,
    "WS12": 4.0,
    "WS13": 1.8,
    "WS14": 1.8,
    "WS15": 3.3,
}
#: The drinking-water source that starts to degrade on this date, for the alert rules to catch.
DEGRADING_SOURCE = ("WS14", "2026-09-20T00")

# Surnames for the fictional people (法定代表人, 联系人) of the fictional enterprises: "王某".
_SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡"]

# Fictional trade names (字号) for the fictional enterprises.
_TRADE_NAMES = [
    "碧源",
    "清川",
    "楚峰",
    "汉泽",
    "荆原",
    "东岳",
    "明湖",
    "长青",
    "瑞丰",
    "宏达",
    "华信",
    "恒通",
    "金桥",
    "安澜",
    "德润",
    "嘉禾",
    "鼎盛",
    "永固",
    "绿洲",
    "福源",
    "泰和",
    "盛荣",
    "鸿运",
    "天成",
    "新程",
    "润华",
    "丰泽",
    "祥瑞",
    "康源",
    "博远",
    "聚力",
    "凯达",
    "银河",
    "远航",
    "中兴",
    "卓越",
    "信达",
    "汇川",
    "兴隆",
    "昌盛",
    "宝丰",
    "合众",
    "春晖",
    "九州",
    "万象",
    "晨光",
    "海纳",
    "亿达",
    "星辰",
    "旭日",
    "长安",
    "和平",
    "同心",
    "正元",
    "建华",
    "光明",
    "阳光",
    "青山",
    "白云",
    "江汉",
]


@dataclass(slots=True)
class ModelCity:
    seed: int
    registry: Registry
    air: dict[str, float] = field(default_factory=dict)  # station → level factor
    water: dict[str, WaterProfile] = field(default_factory=dict)
    outlets: dict[str, OutletProfile] = field(default_factory=dict)
    limits: dict[str, dict[str, Any]] = field(default_factory=dict)  # outlet → limit set
    industry_of: dict[str, str] = field(default_factory=dict)  # enterprise uscc → key

    @property
    def devices(self) -> dict[str, Device]:
        return {d.site_id: d for d in self.registry.devices}

    def series(self, site_id: str, hours: np.ndarray) -> tuple[Series, list[Event]]:
        """Synthetic values of every parameter of *site_id* at the given hours."""
        if site_id in self.air:
            return profiles.air_series(site_id, self.air[site_id], self.seed, hours)
        if site_id in self.water:
            return profiles.water_series(site_id, self.water[site_id], self.seed, hours)
        if site_id in self.outlets:
            return profiles.outlet_series(site_id, self.outlets[site_id], self.seed, hours)
        raise KeyError(site_id)

    def cadence_hours(self, site_id: str) -> int:
        """Water automatic stations report every 4 hours; the others every hour."""
        return 4 if site_id in self.water else 1


def _data(name: str) -> dict[str, Any]:
    with resources.files("bishui.demo").joinpath("jingmen", name).open("rb") as f:
        return tomllib.load(f)


def _mn(st: str, n: int) -> str:
    # HJ 212-2017 Table 3: MN is 24 characters; the model city numbers them 4208·ST·serial.
    return f"4208{st}{n:018d}"


def build(seed: int = 20261122) -> ModelCity:
    """The model city for *seed* (registry validated)."""
    city = _data("city.toml")
    ind = _data("industries.toml")
    rng = random.Random(seed)
    reg = Registry()
    model = ModelCity(seed=seed, registry=reg)
    c = city["city"]
    reg.regions.append(Region(code=c["code"], name=c["name"], name_en=c["name_en"], kind="city"))
    for r in city["regions"]:
        reg.regions.append(Region(parent=c["code"], **r))

    centre: dict[str, tuple[float, float]] = {}
    region_names = {r.code: r.name for r in reg.regions}
    serial = 0

    def device(
        site: Site, st: str, params: list[tuple[str, str, float | None, float | None]]
    ) -> None:
        nonlocal serial
        serial += 1
        # The seeded draw that once made the password is kept, so the rest of the synthetic
        # city stays as it was; the password itself comes from secrets (issue 13).
        rng.randrange(10**6)
        reg.devices.append(
            Device(
                mn=_mn(st, serial),
                site_id=site.id,
                pw=generate_password(),
                st=st,
                edition="2017",
                crc_policy="hj212",
                parameters=tuple(DeviceParameter(*p) for p in params),
            )
        )

    for s in city["air_stations"]:
        site = Site(
            id=s["id"],
            kind="air",
            name=s["name"],
            region=s["region"],
            lon=s["lon"],
            lat=s["lat"],
            assessment=s["assessment"],
            control="national" if s["assessment"] else "provincial",
        )
        reg.sites.append(site)
        centre.setdefault(s["region"], (s["lon"], s["lat"]))
        model.air[site.id] = (1.08 if s["assessment"] else 0.95) + rng.uniform(-0.06, 0.06)
        device(
            site,
            "22",
            [
                (code, unit, 0.0, 10000.0 if code != "a21005" else 100.0)
                for code, (_, unit, _) in profiles.AIR_PARAMETERS.items()
            ],
        )
    for s in city["water_sections"]:
        attrs = {k: s[k] for k in ("note", "model", "upstream_region") if k in s}
        site = Site(
            id=s["id"],
            kind="water",
            name=s["name"],
            region=s["region"],
            lon=s["lon"],
            lat=s["lat"],
            river=s["river"],
            body=s["body"],
            target_class=s["target_class"],
            control=s["control"],
            drinking_source=s.get("drinking_source", False),
            assessment=s["control"] in ("national", "provincial"),
            attrs=attrs,
        )
        reg.sites.append(site)
        degrade = (
            int(np.datetime64(DEGRADING_SOURCE[1], "h").astype(np.int64))
            if s["id"] == DEGRADING_SOURCE[0]
            else None
        )
        model.water[site.id] = WaterProfile(WATER_LEVELS[s["id"]], s["body"], degrade)
        device(
            site,
            "21",
            [
                (code, unit, 0.0, 14.0 if code == "w01001" else 1000.0)
                for code, (_, unit, _) in profiles.WATER_PARAMETERS.items()
            ],
        )

    params = ind["parameters"]
    n = 0
    fraud_plan = {"cement": "under_limit", "chemical": "dilution", "livestock": "zero_flow"}
    for industry in ind["industries"]:
        for i in range(industry["count"]):
            n += 1
            region = industry["regions"][i % len(industry["regions"])]
            lon0, lat0 = centre[region]
            lon, lat = (
                round(lon0 + rng.uniform(-0.08, 0.08), 4),
                round(lat0 + rng.uniform(-0.06, 0.06), 4),
            )
            code = uscc.generate(region[:6], seed * 1000 + n)
            trade = _TRADE_NAMES[(n - 1) % len(_TRADE_NAMES)]
            # Address and people are synthetic and say so (issue 16 item 9): a local number
            # never starts with 0, so 0724-0000nnnn reaches nobody.
            ent = Enterprise(
                uscc=code,
                name=f"荆门{trade}{industry['suffix']}（模拟）",
                industry=industry["name"],
                region=region,
                address=f"湖北省荆门市{region_names[region]}{trade}路{n}号（模拟地址）",
                lon=lon,
                lat=lat,
                key_unit=True,
                legal_rep=f"{_SURNAMES[n % len(_SURNAMES)]}某（模拟）",
                contact=f"{_SURNAMES[(n * 7 + 3) % len(_SURNAMES)]}某（环保专员，模拟）",
                phone=f"0724-0000{n:04d}（模拟）",
            )
            reg.enterprises.append(ent)
            model.industry_of[code] = industry["key"]
            fraud = fraud_plan.pop(industry["key"], None) if i == 1 else None
            for o in industry["outlets"]:
                kind = "source_gas" if o["code"].startswith("DA") else "source_water"
                site = Site(
                    id=f"E{n:02d}-{o['code']}",
                    kind=kind,
                    name=f"{ent.name.removesuffix('（模拟）')} {o['code']}",
                    region=region,
                    lon=lon,
                    lat=lat,
                    enterprise=code,
                    outlet=o["code"],
                )
                reg.sites.append(site)
                lim = ind["limits"][o["limits"]]
                model.limits[site.id] = {"set": o["limits"], **lim}
                limits = {p: float(lim[p]) for p in o["parameters"] if p in lim}
                gas = kind == "source_gas"
                model.outlets[site.id] = OutletProfile(
                    kind=kind,
                    parameters=tuple(o["parameters"]),
                    limits=limits,
                    decimals={p: int(params[p][4]) for p in o["parameters"]},
                    flow_base=(
                        rng.uniform(20, 120)
                        if gas
                        else rng.uniform(150, 600)
                        if industry["key"] == "wwtp"
                        else rng.uniform(5, 40)
                    ),
                    # Typical concentration as a share of the limit. Limits apply at the
                    # reference O2 (flue gas at ~9.5 % O2 converts ×1.3 to 6 %), so the model
                    # keeps the load low enough that exceedances are the injected episodes.
                    load=rng.uniform(0.22, 0.4),
                    continuous=industry["key"] in ("wwtp", "livestock"),
                    fraud=fraud
                    if (fraud != "dilution" or gas) and (fraud != "zero_flow" or not gas)
                    else None,
                )
                device(
                    site,
                    "31" if gas else "32",
                    [(p, params[p][1], params[p][2], params[p][3]) for p in o["parameters"]],
                )
    reg.validate()
    return model
