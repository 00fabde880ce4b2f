"""Discharge permits (排污许可证): the model, its validation, and its version history.

Content follows 《排污许可管理条例》 (国务院令第736号) Art. 13 — validity, outlets, pollutants,
permitted concentrations and permitted quantities — and the codes of HJ 608-2017:

* permit number = 18-character unified social credit code (GB 32100) + 3-digit site sequence
  + one special identifier, e.g. ``91130200699229617X001P`` (HJ 608-2017 annex example, [V]).
  The identifier is ``P`` for a permit; registration receipts (排污登记) use ``W`` in practice
  ([M], so :data:`SPECIAL_IDENTIFIER` is a parameter, not a check the standard makes);
* outlet code = ``D`` + ``A`` (air) / ``W`` (water) + 3 digits: DA001, DW001 (HJ 608-2017 fig. 6).

Management classes are those of 《排污许可管理办法》 (生态环境部令第32号, 2024): 重点管理,
简化管理, 排污登记管理.

A permit is **versioned**: a renewal (Art. 14), a change (Art. 15) or an amendment after an
emission-rights trade (Art. 16; 国办发〔2014〕38号) makes a new version with its own validity;
earlier versions stay. Versions of one permit number may not overlap in time, so on any date at
most one is in force (:func:`in_force`), and a check on a date uses that date's limits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from bishui.errors import InputError
from bishui.registry import uscc as uscc_mod
from bishui.sources import pollutants


class ManagementClass(StrEnum):
    """排污许可分类管理 (生态环境部令第32号)."""

    KEY = "重点管理"
    SIMPLIFIED = "简化管理"
    REGISTRATION = "登记管理"


#: HJ 608-2017 special identifier (22nd character) by class: P for permits [V];
#: W for registration receipts [M, observed in practice, not read in the standard].
SPECIAL_IDENTIFIER: dict[ManagementClass, str] = {
    ManagementClass.KEY: "P",
    ManagementClass.SIMPLIFIED: "P",
    ManagementClass.REGISTRATION: "W",
}

OUTLET_ID = re.compile(r"^D[AW]\d{3}$")
AVERAGING = ("hour", "day")
#: Default averaging period by medium: hourly for flue gas (排污许可证申请与核发技术规范 §12.2,
#: [V]); daily for wastewater ([M]/UNVERIFIED: HJ 356-2019 §7 not read) — a permit may override.
DEFAULT_AVERAGING = {"air": "hour", "water": "day"}


def _decimal(value: object, field_name: str) -> Decimal:
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int | str):
        try:
            d = Decimal(str(value).strip())
        except InvalidOperation:
            raise InputError(field_name, "a decimal number", value) from None
    else:
        raise InputError(field_name, "a decimal number (int, str or Decimal, not float)", value)
    if not d.is_finite():
        raise InputError(field_name, "a finite decimal number", value)
    return d


@dataclass(frozen=True)
class Limit:
    """A permitted concentration (许可排放浓度) for one pollutant at one outlet.

    ``value`` is the upper limit in ``unit``; ``lower`` is a lower bound where the standard
    sets a range (pH 6–9). ``standard`` and ``clause`` say where the number comes from.
    ``reference_o2`` [%] is the standard's reference oxygen for flue gas (HJ 212-2017 D2.3:
    none means no conversion).
    """

    pollutant: str
    value: Decimal
    unit: str
    standard: str
    clause: str = ""
    averaging: str = ""
    reference_o2: Decimal | None = None
    lower: Decimal | None = None

    def __post_init__(self) -> None:
        p = pollutants.get(self.pollutant)
        if p.role != "pollutant":
            raise InputError(
                "pollutant", "a limit applies to a pollutant, not a flow/O2 channel", self.pollutant
            )
        object.__setattr__(self, "value", _decimal(self.value, "limit_value"))
        if self.value <= 0:
            raise InputError("limit_value", "a permitted concentration is > 0", self.value)
        pollutants.limit_factor(self.pollutant, self.unit, "limit_unit")
        if not self.standard.strip():
            raise InputError(
                "standard", "a limit must cite the standard it comes from", self.standard
            )
        averaging = self.averaging or DEFAULT_AVERAGING[p.medium]
        if averaging not in AVERAGING:
            raise InputError("averaging", "one of hour, day", self.averaging)
        object.__setattr__(self, "averaging", averaging)
        if self.reference_o2 is not None:
            o2 = _decimal(self.reference_o2, "reference_o2")
            if p.medium != "air":
                raise InputError("reference_o2", "reference oxygen applies to flue gas only", o2)
            if not Decimal(0) <= o2 < Decimal(21):
                raise InputError("reference_o2", "HJ 212-2017 D2.3: 0 <= O2 < 21 %", o2)
            object.__setattr__(self, "reference_o2", o2)
        if self.lower is not None:
            low = _decimal(self.lower, "limit_lower")
            if low >= self.value:
                raise InputError("limit_lower", "lower bound below the upper limit", low)
            object.__setattr__(self, "lower", low)

    @property
    def medium(self) -> str:
        return pollutants.get(self.pollutant).medium

    def in_check_unit(self) -> float:
        """The upper limit in the check unit of its pollutant (mg/m³, mg/L or pH)."""
        return float(self.value * pollutants.limit_factor(self.pollutant, self.unit))


@dataclass(frozen=True)
class Outlet:
    """An outlet (排放口) listed in a permit; ``main`` is 主要排放口 (HJ 942: gets quantities)."""

    outlet_id: str
    limits: tuple[Limit, ...] = ()
    name: str = ""
    main: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.outlet_id, str) or not OUTLET_ID.match(self.outlet_id):
            raise InputError(
                "outlet_id", "HJ 608-2017: D + A|W + 3 digits (DA001, DW001)", self.outlet_id
            )
        object.__setattr__(self, "limits", tuple(self.limits))
        seen: set[str] = set()
        for lim in self.limits:
            if lim.medium != self.medium:
                raise InputError(
                    "pollutant",
                    f"a {self.medium} outlet cannot limit a {lim.medium} pollutant",
                    lim.pollutant,
                )
            if lim.pollutant in seen:
                raise InputError(
                    "pollutant", f"listed twice at outlet {self.outlet_id}", lim.pollutant
                )
            seen.add(lim.pollutant)

    @property
    def medium(self) -> str:
        return "air" if self.outlet_id[1] == "A" else "water"

    def limit(self, pollutant: str) -> Limit | None:
        return next((lim for lim in self.limits if lim.pollutant == pollutant), None)


@dataclass(frozen=True)
class Permit:
    """One version of a discharge permit.

    ``valid_to`` is inclusive. ``annual_caps`` maps pollutant → permitted quantity [t/a]
    (许可排放量), exact ``Decimal``.
    """

    permit_no: str
    version: int
    uscc: str
    enterprise: str
    management_class: ManagementClass
    valid_from: dt.date
    valid_to: dt.date
    outlets: tuple[Outlet, ...] = ()
    annual_caps: dict[str, Decimal] = field(default_factory=dict)
    issued_by: str = ""
    change_reason: str = ""
    revoked_on: dt.date | None = None

    def __post_init__(self) -> None:
        code = uscc_mod.validate(self.uscc)
        object.__setattr__(self, "uscc", code)
        try:
            mc = ManagementClass(self.management_class)
        except ValueError:
            raise InputError(
                "management_class", "one of 重点管理, 简化管理, 登记管理", self.management_class
            ) from None
        object.__setattr__(self, "management_class", mc)
        no = self.permit_no.strip().upper() if isinstance(self.permit_no, str) else ""
        if len(no) != 22 or no[:18] != code or not no[18:21].isdigit():
            raise InputError(
                "permit_no", "HJ 608-2017: credit code + 3-digit site + identifier", self.permit_no
            )
        if no[21] != SPECIAL_IDENTIFIER[mc]:
            raise InputError(
                "permit_no",
                f"HJ 608-2017: identifier for {mc} is {SPECIAL_IDENTIFIER[mc]!r}",
                self.permit_no,
            )
        object.__setattr__(self, "permit_no", no)
        if not isinstance(self.version, int) or self.version < 1:
            raise InputError("version", "a positive integer", self.version)
        if self.valid_to < self.valid_from:
            raise InputError("valid_to", "not before valid_from", self.valid_to)
        object.__setattr__(self, "outlets", tuple(self.outlets))
        ids = [o.outlet_id for o in self.outlets]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise InputError("outlet_id", "listed twice in one permit", sorted(dup)[0])
        caps: dict[str, Decimal] = {}
        for pol, q in dict(self.annual_caps).items():
            if pollutants.get(pol, "annual_caps").role != "pollutant":
                raise InputError("annual_caps", "a quantity applies to a pollutant", pol)
            qd = _decimal(q, "annual_quantity_t")
            if qd < 0:
                raise InputError("annual_quantity_t", "a permitted quantity is >= 0", qd)
            caps[pol] = qd
        object.__setattr__(self, "annual_caps", caps)

    def __hash__(self) -> int:
        return hash((self.permit_no, self.version))

    @property
    def site_code(self) -> str:
        """Credit code + site sequence (21 chars): the key data series carry for a site."""
        return self.permit_no[:21]

    def outlet(self, outlet_id: str) -> Outlet | None:
        return next((o for o in self.outlets if o.outlet_id == outlet_id), None)

    def is_in_force(self, on: dt.date) -> bool:
        if self.revoked_on is not None and on >= self.revoked_on:
            return False
        return self.valid_from <= on <= self.valid_to


def check_history(permits: Iterable[Permit]) -> None:
    """Refuse a set of versions where one permit number has overlapping validity.

    Raises
    ------
    InputError
        ``valid_from`` with the rule naming both versions; or ``version`` for a duplicate.
    """
    by_no: dict[str, list[Permit]] = {}
    for p in permits:
        by_no.setdefault(p.permit_no, []).append(p)
    for no, versions in by_no.items():
        versions.sort(key=lambda p: (p.valid_from, p.version))
        numbers = [p.version for p in versions]
        if len(set(numbers)) != len(numbers):
            raise InputError("version", f"permit {no} has a version number twice", numbers)
        if len({p.uscc for p in versions}) > 1:
            raise InputError("uscc", f"versions of permit {no} name different enterprises", no)
        for a, b in itertools.pairwise(versions):
            if b.valid_from <= a.valid_to:
                raise InputError(
                    "valid_from",
                    f"validity of permit {no} v{b.version} overlaps v{a.version} "
                    f"(which runs to {a.valid_to})",
                    b.valid_from.isoformat(),
                )


def in_force(permits: Iterable[Permit], on: dt.date) -> list[Permit]:
    """The versions in force on *on*: at most one per permit number (see :func:`check_history`)."""
    return [p for p in permits if p.is_in_force(on)]


def permit_for_outlet(
    permits: Iterable[Permit], site_code: str, outlet_id: str, on: dt.date
) -> Permit | None:
    """The version in force on *on* for the site (``permit_no[:21]``) that lists *outlet_id*."""
    for p in permits:
        if p.site_code == site_code and p.is_in_force(on) and p.outlet(outlet_id) is not None:
            return p
    return None


def amend(
    history: Iterable[Permit], permit_no: str, effective: dt.date, reason: str, **changes: object
) -> list[Permit]:
    """Make a new version of *permit_no* from *effective*, closing the current one the day before.

    ``changes`` are :class:`Permit` fields (``outlets``, ``annual_caps``, ``valid_to`` …). The
    whole history, old versions unchanged except the closed ``valid_to``, is returned; nothing
    is deleted (条例 Art. 14–16: renewal, change, amendment after a trade).
    """
    if not reason.strip():
        raise InputError("change_reason", "a change to a permit states its reason", reason)
    versions = list(history)
    mine = [p for p in versions if p.permit_no == permit_no]
    current = next((p for p in mine if p.is_in_force(effective)), None)
    if current is None:
        raise InputError(
            "effective", f"no version of {permit_no} is in force then", effective.isoformat()
        )
    if effective == current.valid_from:
        raise InputError(
            "effective",
            "a change takes effect after the current version starts",
            effective.isoformat(),
        )
    closed = dataclasses.replace(current, valid_to=effective - dt.timedelta(days=1))
    new = dataclasses.replace(
        current,
        version=max(p.version for p in mine) + 1,
        valid_from=effective,
        change_reason=reason,
        **changes,  # type: ignore[arg-type]
    )
    out = [closed if p is current else p for p in versions] + [new]
    check_history(out)
    return out
