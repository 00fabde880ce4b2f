"""What the registry knows, and the rules an entry must pass to get in.

Regions carry GB/T 2260 codes (six digits); a functional zone that is not an administrative
division (漳河新区, 屈家岭管理区) carries an internal code ``<city code>-<LETTERS>``, so it can
never be mistaken for a GB/T 2260 division. Enterprises are keyed by their unified social
credit code (GB 32100-2015, check character verified). Sites are ambient-air stations,
surface-water sections and pollution-source outlets (HJ 608-2017 outlet codes: DA… flue gas,
DW… wastewater), and grid sensors (``grid`` micro-stations, ``dust`` construction-site monitors,
reporting over MQTT: docs/grid.md). Devices are data loggers, keyed by their HJ 212 MN (a grid
sensor's MN is its MQTT device id).

Every check raises :class:`bishui.errors.InputError` naming the field, the rule and the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from bishui.errors import InputError
from bishui.hj212.auth import is_hashed
from bishui.registry.uscc import validate as validate_uscc

SITE_KINDS = {
    "air": "环境空气监测站",
    "water": "地表水监测断面",
    "source_gas": "废气排放口",
    "source_water": "废水排放口",
    # grid sensors over MQTT (bishui.grid, docs/grid.md)
    "grid": "网格化微型站",
    "dust": "扬尘监测点",
}
#: HJ 212-2017 Table 5 system codes (ST) a site kind's logger reports under.
SITE_KIND_ST = {"air": "22", "water": "21", "source_gas": "31", "source_water": "32",
                "grid": "22", "dust": "39"}  # fmt: skip
REGION_KINDS = ("city", "district", "county", "county_city", "functional_zone")
EDITIONS = ("2005", "2017", "2025")
CRC_POLICIES = ("hj212", "hj212_any_case", "modbus", "modbus_swapped", "none")
WATER_BODIES = ("river", "lake")
CONTROL_LEVELS = ("national", "provincial", "city", "county")

_GB2260 = re.compile(r"^\d{6}$")
_INTERNAL_REGION = re.compile(r"^\d{6}-[A-Z]{1,8}$")
_SITE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_OUTLET = re.compile(r"^D[AW]\d{3}$")
# HJ 212-2017 Table 3 gives MN 24 characters; 2005 loggers send 14, real devices other lengths.
_MN = re.compile(r"^[0-9A-Za-z_-]{1,24}$")
# Any printable ASCII except the separators of the data segment (; = , & and space).
_PW = re.compile(r"^[!-~]{1,24}$")
_PARAM = re.compile(r"^[a-z]{1,3}\d{2,6}$|^[a-z]{1,3}\d{2,6}[a-z]?$")


def _need(value: Any, field_name: str) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(field_name, "is required", value)
    return value


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    kind: str
    name_en: str | None = None
    parent: str | None = None
    central: bool = False

    def validate(self) -> None:
        if not (_GB2260.match(self.code) or _INTERNAL_REGION.match(self.code)):
            raise InputError(
                "region.code",
                "must be a GB/T 2260 code (6 digits) or an internal zone code like 420800-ZH",
                self.code,
            )
        _need(self.name, "region.name")
        if self.kind not in REGION_KINDS:
            raise InputError("region.kind", f"must be one of {', '.join(REGION_KINDS)}", self.kind)


@dataclass(frozen=True, slots=True)
class Enterprise:
    uscc: str
    name: str
    industry: str
    region: str
    address: str | None = None
    lon: float | None = None
    lat: float | None = None
    key_unit: bool = False
    legal_rep: str | None = None  # 法定代表人 (排污许可管理条例 Art. 13)
    contact: str | None = None  # the environmental contact an inspector asks for
    phone: str | None = None

    def validate(self) -> None:
        validate_uscc(self.uscc, field="enterprise.uscc")
        _need(self.name, "enterprise.name")
        _need(self.industry, "enterprise.industry")
        _check_lonlat(self.lon, self.lat, "enterprise")


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    kind: str
    name: str
    region: str
    lon: float | None = None
    lat: float | None = None
    enterprise: str | None = None
    outlet: str | None = None
    river: str | None = None
    body: str | None = None
    target_class: int | None = None
    control: str | None = None
    drinking_source: bool = False
    assessment: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        if not isinstance(self.id, str) or not _SITE_ID.match(self.id):
            raise InputError("site.id", "1–40 letters, digits, '_', '.', '-'", self.id)
        if self.kind not in SITE_KINDS:
            raise InputError("site.kind", f"must be one of {', '.join(SITE_KINDS)}", self.kind)
        _need(self.name, "site.name")
        _check_lonlat(self.lon, self.lat, "site")
        if self.kind == "water":
            if self.body not in WATER_BODIES:
                raise InputError("site.body", "a water section is on a river or a lake", self.body)
            if self.target_class is None or not 1 <= int(self.target_class) <= 5:
                raise InputError("site.target_class", "GB 3838 class 1–5 (Ⅰ–Ⅴ)", self.target_class)
        if self.kind.startswith("source_"):
            _need(self.enterprise, "site.enterprise")
            if not self.outlet or not _OUTLET.match(self.outlet):
                raise InputError("site.outlet", "HJ 608 outlet code DA### or DW###", self.outlet)
            expect = "DA" if self.kind == "source_gas" else "DW"
            if not self.outlet.startswith(expect):
                raise InputError(
                    "site.outlet", f"a {self.kind} outlet code starts with {expect}", self.outlet
                )
        if self.control is not None and self.control not in CONTROL_LEVELS:
            raise InputError("site.control", f"one of {', '.join(CONTROL_LEVELS)}", self.control)


@dataclass(frozen=True, slots=True)
class DeviceParameter:
    parameter: str
    unit: str
    range_min: float | None = None
    range_max: float | None = None

    def validate(self, where: str) -> None:
        if not _PARAM.match(self.parameter or ""):
            raise InputError(f"{where}.parameter", "an HJ 212 code like a34004", self.parameter)
        _need(self.unit, f"{where}.unit")
        if (
            self.range_min is not None
            and self.range_max is not None
            and not self.range_min < self.range_max
        ):
            raise InputError(
                f"{where}.range",
                "range_min must be below range_max",
                (self.range_min, self.range_max),
            )


@dataclass(frozen=True, slots=True)
class Device:
    """A data logger (数采仪): its HJ 212 identity, password and how to read it."""

    mn: str
    site_id: str
    pw: str
    st: str
    edition: str = "2017"
    crc_policy: str = "hj212"
    active: bool = True
    parameters: tuple[DeviceParameter, ...] = ()

    def validate(self) -> None:
        if not _MN.match(self.mn or ""):
            raise InputError("device.mn", "1–24 characters 0-9 A-Z a-z _ -", self.mn)
        if not is_hashed(self.pw or ""):  # a stored hash (bishui.hj212.auth) is kept as is
            if not _PW.match(self.pw or ""):
                raise InputError("device.pw", "1–24 printable ASCII characters", "***")
            if any(c in self.pw for c in ";=,&"):
                raise InputError("device.pw", "may not contain ; = , &", "***")
        if not re.match(r"^\d{2,3}$", str(self.st)):
            raise InputError("device.st", "an HJ 212 system code (ST), e.g. 22", self.st)
        if self.edition not in EDITIONS:
            raise InputError("device.edition", f"one of {', '.join(EDITIONS)}", self.edition)
        # one policy or a comma-separated list of them (docs/hj212.md)
        names = [n.strip() for n in str(self.crc_policy).split(",")]
        if not all(n in CRC_POLICIES for n in names):
            raise InputError(
                "device.crc_policy",
                f"one or more (comma-separated) of {', '.join(CRC_POLICIES)}",
                self.crc_policy,
            )
        seen: set[str] = set()
        for i, p in enumerate(self.parameters):
            p.validate(f"device.parameters[{i}]")
            if p.parameter in seen:
                raise InputError(f"device.parameters[{i}].parameter", "listed twice", p.parameter)
            seen.add(p.parameter)

    def row(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("parameters")
        return d


def _check_lonlat(lon: float | None, lat: float | None, where: str) -> None:
    if lon is not None and not -180 <= float(lon) <= 180:
        raise InputError(f"{where}.lon", "longitude in −180…180", lon)
    if lat is not None and not -90 <= float(lat) <= 90:
        raise InputError(f"{where}.lat", "latitude in −90…90", lat)


@dataclass(slots=True)
class Registry:
    """A whole registry in memory: what a config file holds, validated as one."""

    regions: list[Region] = field(default_factory=list)
    enterprises: list[Enterprise] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)

    def validate(
        self,
        known_regions: Iterable[str] = (),
        known_enterprises: Iterable[str] = (),
        known_sites: Iterable[str] = (),
    ) -> None:
        """Check every entry and every reference (to this registry or to *known_* ids)."""
        regions = {*known_regions}
        for r in self.regions:
            r.validate()
            _unique(r.code, regions, "region.code")
        for r in self.regions:
            if r.parent is not None and r.parent not in regions:
                raise InputError("region.parent", "must be a known region", r.parent)
        ents = {*known_enterprises}
        for e in self.enterprises:
            e.validate()
            _ref(e.region, regions, "enterprise.region")
            _unique(e.uscc, ents, "enterprise.uscc")
        sites = {*known_sites}
        for s in self.sites:
            s.validate()
            _ref(s.region, regions, "site.region")
            if s.enterprise is not None:
                _ref(s.enterprise, ents, "site.enterprise")
            _unique(s.id, sites, "site.id")
        mns: set[str] = set()
        for d in self.devices:
            d.validate()
            _ref(d.site_id, sites, "device.site_id")
            _unique(d.mn, mns, "device.mn")


def _unique(value: str, seen: set[str], field_name: str) -> None:
    if value in seen:
        raise InputError(field_name, "must be unique", value)
    seen.add(value)


def _ref(value: str, known: set[str], field_name: str) -> None:
    if value not in known:
        raise InputError(field_name, "refers to nothing registered", value)


def from_mapping(data: Mapping[str, Any]) -> Registry:
    """Build a :class:`Registry` from parsed TOML (see docs/registry.md for the layout)."""
    reg = Registry()
    try:
        for r in data.get("regions", []):
            reg.regions.append(Region(**r))
        for e in data.get("enterprises", []):
            reg.enterprises.append(Enterprise(**e))
        for s in data.get("sites", []):
            reg.sites.append(Site(**s))
        for d in data.get("devices", []):
            params = tuple(DeviceParameter(**p) for p in d.get("parameters", []))
            reg.devices.append(Device(**{**d, "parameters": params}))
    except TypeError as exc:
        # An unknown or missing key in a table: name it rather than show a traceback.
        raise InputError("registry", f"bad entry: {exc}", None) from exc
    return reg
