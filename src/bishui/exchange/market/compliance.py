"""Annual compliance (履约): surrender against verified emissions, status, penalty, findings.

Status codes follow the EU registry's compliance legend, Reg. (EU) 2019/1122 Annex XIII
(exchange-and-permits notes §A4 [S]), with the Chinese words used here:

====  ==============  ===========================================================
code  中文            meaning
====  ==============  ===========================================================
A     履约            surrendered (allowances + admissible offsets) ≥ verified emissions
B     未足额履约      surrendered < verified emissions
C     排放数据缺失    the verified emissions were not entered by the deadline
\\-    无义务          no obligation that year
====  ==============  ===========================================================

A shortfall triggers a penalty and a deduction from next year's allocation (notes §A4,
invariant 7). The rules are versioned, dated data files ``data/compliance_<id>_<from>.toml``,
one per rule text, each section with its clause and verification tag:

* ``hubei-carbon-2014`` — 湖北省政府令第371号 Art. 46 [V]: fine 1–3× the year's average price on
  the shortfall, at most CNY 150,000; next year's allocation reduced by twice the shortfall;
  offsets ≤ 10 % of the initial allocation [S] (article number [M]);
* ``cn-national-ets-2021`` / ``cn-national-ets-2024`` — the national rules, whose penalty
  figures are **unverified [M]** in the notes (§A1b): they load only with
  ``allow_unverified=True``. Offsets ≤ 5 % of the allowances due [S].

Emission rights (排污权) have no surrender: a unit's actual emissions above the rights it holds
are a *finding* for the regulator (:func:`rights_finding`; an emission right is the quantity a
unit may discharge, 鄂政发〔2012〕64号, notes §A2 [V]).
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from bishui.errors import ConfigError, InputError
from bishui.exchange.instruments import instrument
from bishui.exchange.market.money import DEFAULT_ROUNDING, Rounding, check_int, round_fen

SCHEMA = "bishui.exchange.compliance_rules/1"
_PREFIX = "compliance_"

Code = Literal["A", "B", "C", "-"]

#: Status code → (中文, English) (Reg. (EU) 2019/1122 Annex XIII legend, notes §A4 [S]).
STATUS: dict[str, tuple[str, str]] = {
    "A": ("履约", "surrendered at least the verified emissions"),
    "B": ("未足额履约", "surrendered less than the verified emissions"),
    "C": ("排放数据缺失", "verified emissions not entered by the deadline"),
    "-": ("无义务", "no obligation"),
}


@dataclass(frozen=True)
class PenaltyRule:
    #: "price_multiple": multiple × average price × shortfall; "fixed_range": an amount range
    kind: str
    min_multiple: Fraction
    max_multiple: Fraction
    #: the price the multiple applies to, in words
    price_basis: str
    #: cap [fen] or None
    cap_fen: int | None
    #: fixed range [fen] for kind "fixed_range"
    min_fen: int
    max_fen: int
    clause: str
    tag: str


@dataclass(frozen=True)
class ComplianceRules:
    """One rule text's surrender rules (one data file)."""

    id: str
    title: str
    instrument: str
    valid_from: dt.date
    valid_to: dt.date | None
    penalty: PenaltyRule
    #: next year's allocation is reduced by this multiple of the shortfall
    deduction_multiple: Fraction
    deduction_clause: str
    deduction_tag: str
    #: offsets ≤ max_share × the basis ("initial_allocation" or "due")
    offset_max_share: Fraction
    offset_basis: str
    offset_clause: str
    offset_tag: str

    @property
    def unverified(self) -> bool:
        return "M" in (self.penalty.tag, self.deduction_tag, self.offset_tag)


def _dec(section: Mapping[str, Any], key: str, where: str) -> Fraction:
    try:
        d = Decimal(str(section[key]))
    except (KeyError, InvalidOperation):
        raise ConfigError(
            f"{where}.{key}", "a decimal number in a string", section.get(key)
        ) from None
    if not d.is_finite() or d < 0:
        raise ConfigError(f"{where}.{key}", "a finite number >= 0", section[key])
    return Fraction(d)


def _fen(section: Mapping[str, Any], key: str, where: str) -> int:
    v = _dec(section, key, where) * 100
    if v.denominator != 1:
        raise ConfigError(f"{where}.{key}", "whole fen", section[key])
    return int(v)


def _section(doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    s = doc.get(key)
    if not isinstance(s, dict):
        raise ConfigError(key, "a table", s)
    for k in ("clause", "tag"):
        if not isinstance(s.get(k), str) or not s[k]:
            raise ConfigError(f"{key}.{k}", "a non-empty string", s.get(k))
    if s["tag"] not in ("V", "S", "M"):
        raise ConfigError(f"{key}.tag", "V, S or M", s["tag"])
    return s


def parse_rules(doc: Mapping[str, Any]) -> ComplianceRules:
    """Compliance rules from their parsed TOML; :class:`ConfigError` naming the field."""
    if doc.get("schema") != SCHEMA:
        raise ConfigError("schema", SCHEMA, doc.get("schema"))
    for key in ("id", "title"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise ConfigError(key, "a non-empty string", doc.get(key))
    inst = instrument(doc.get("instrument"))
    if not isinstance(doc.get("valid_from"), dt.date):
        raise ConfigError("valid_from", "a TOML date", doc.get("valid_from"))
    valid_to = doc.get("valid_to")
    if valid_to is not None and not isinstance(valid_to, dt.date):
        raise ConfigError("valid_to", "a TOML date", valid_to)
    p = _section(doc, "penalty")
    if p.get("kind") == "price_multiple":
        lo, hi = _dec(p, "min_multiple", "penalty"), _dec(p, "max_multiple", "penalty")
        cap = _fen(p, "cap_cny", "penalty") if "cap_cny" in p else None
        penalty = PenaltyRule("price_multiple", lo, hi, str(p.get("price_basis", "")), cap, 0, 0,
                              p["clause"], p["tag"])  # fmt: skip
    elif p.get("kind") == "fixed_range":
        lo_f, hi_f = _fen(p, "min_cny", "penalty"), _fen(p, "max_cny", "penalty")
        lo = hi = Fraction(0)
        penalty = PenaltyRule("fixed_range", lo, hi, "", None, lo_f, hi_f, p["clause"], p["tag"])
    else:
        raise ConfigError("penalty.kind", "price_multiple or fixed_range", p.get("kind"))
    if penalty.min_multiple > penalty.max_multiple or penalty.min_fen > penalty.max_fen:
        raise ConfigError("penalty", "min <= max", dict(p))
    d = _section(doc, "deduction")
    o = _section(doc, "offsets")
    if o.get("basis") not in ("initial_allocation", "due"):
        raise ConfigError("offsets.basis", "initial_allocation or due", o.get("basis"))
    share = _dec(o, "max_share", "offsets")
    if share > 1:
        raise ConfigError("offsets.max_share", "a share <= 1", o["max_share"])
    return ComplianceRules(
        id=doc["id"], title=doc["title"], instrument=inst.value,
        valid_from=doc["valid_from"], valid_to=valid_to, penalty=penalty,
        deduction_multiple=_dec(d, "multiple", "deduction"),
        deduction_clause=d["clause"], deduction_tag=d["tag"],
        offset_max_share=share, offset_basis=o["basis"],
        offset_clause=o["clause"], offset_tag=o["tag"],
    )  # fmt: skip


def _data() -> Any:
    return resources.files("bishui.exchange.market") / "data"


def rule_sets() -> dict[str, str]:
    """The packaged compliance rule sets: id → file name."""
    out: dict[str, str] = {}
    for f in _data().iterdir():
        if f.name.startswith(_PREFIX) and f.name.endswith(".toml"):
            out[tomllib.loads(f.read_text("utf-8"))["id"]] = f.name
    return out


def load_rules(which: str | Path, *, allow_unverified: bool = False) -> ComplianceRules:
    """The packaged rule set *which* (an id) or a file; one with an [M] section is refused
    unless *allow_unverified* (its figures were not read in a primary or secondary source)."""
    if isinstance(which, Path):
        text = which.read_text("utf-8")
    else:
        sets = rule_sets()
        if which not in sets:
            raise InputError("rules", "one of " + ", ".join(sorted(sets)), which)
        text = (_data() / sets[which]).read_text("utf-8")
    try:
        rules = parse_rules(tomllib.loads(text))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("rules", f"not valid TOML: {e}", str(which)) from None
    if rules.unverified and not allow_unverified:
        raise ConfigError(
            "rules", "verified figures ([M] sections need allow_unverified=True)", rules.id
        )
    return rules


@dataclass(frozen=True)
class Position:
    """An entity's year: what it owes and what it surrendered [registry unit, tCO2e].

    Attributes
    ----------
    obligated : bool
        Whether it had a surrender obligation that year.
    verified : int or None
        Verified emissions entered by the deadline — the quantity due; None if not entered.
    allowances : int
        Allowances surrendered by the deadline.
    offsets : int
        Offset credits (CCER, 林业碳汇) surrendered by the deadline.
    initial_allocation : int
        The year's initial allocation (the Hubei offset basis).
    """

    entity: str
    year: int
    obligated: bool
    verified: int | None
    allowances: int
    offsets: int
    initial_allocation: int


@dataclass(frozen=True)
class Reconciliation:
    entity: str
    year: int
    status: Code
    status_zh: str
    #: offsets that count (≤ the limit) and those that do not
    offsets_counted: int
    offsets_excess: int
    offset_limit: int
    #: verified − (allowances + counted offsets), ≥ 0 [tCO2e]
    shortfall: int
    rules: str


def offset_limit(position: Position, rules: ComplianceRules) -> int:
    """The most offsets that count: ``floor(max_share × basis)`` [tCO2e] (≤ is the rule)."""
    basis = (
        position.initial_allocation
        if rules.offset_basis == "initial_allocation"
        else (position.verified or 0)
    )
    return math.floor(rules.offset_max_share * basis)


def reconcile(position: Position, rules: ComplianceRules) -> Reconciliation:
    """Status A/B/C/'-' and the shortfall of one entity's year.

    Notes
    -----
    Codes: Reg. (EU) 2019/1122 Annex XIII legend (notes §A4 [S]); the quantity due is the
    verified emissions (national: 清缴量 ≥ verified emissions, notes §A1b [S]); offsets count up
    to the rule set's limit (Hubei ≤ 10 % [S], national ≤ 5 % [S], notes §A1).
    """
    check_int(position.allowances, "allowances")
    check_int(position.offsets, "offsets")
    check_int(position.initial_allocation, "initial_allocation")
    if position.verified is not None:
        check_int(position.verified, "verified")
    limit = offset_limit(position, rules)
    counted = min(position.offsets, limit)
    code: Code
    if not position.obligated:
        code, shortfall = "-", 0
    elif position.verified is None:
        code, shortfall = "C", 0
    else:
        shortfall = max(0, position.verified - position.allowances - counted)
        code = "A" if shortfall == 0 else "B"
    return Reconciliation(
        position.entity, position.year, code, STATUS[code][0], counted,
        position.offsets - counted, limit, shortfall, rules.id,
    )  # fmt: skip


@dataclass(frozen=True)
class Penalty:
    """The penalty range [fen] and next year's deduction [tCO2e] for a shortfall."""

    min_fen: int
    max_fen: int
    deduction: int
    clause: str
    tag: str


def penalty(
    shortfall: int,
    rules: ComplianceRules,
    average_price_fen: int | None = None,
    rounding: Rounding = DEFAULT_ROUNDING,
) -> Penalty:
    """The fine range and next year's deduction for *shortfall* under *rules*.

    Parameters
    ----------
    shortfall : int
        Unsurrendered quantity [tCO2e].
    rules : ComplianceRules
    average_price_fen : int, optional
        The price the multiple applies to [fen/tCO2e] (``rules.penalty.price_basis`` says
        which); required for a "price_multiple" rule.
    rounding : {"half_up", "half_even", "down"}
        For a fractional multiple × price × shortfall (none in the shipped rules).

    Returns
    -------
    Penalty
        Hubei 2014 Art. 46 [V]: ``min(k × price × shortfall, CNY 150,000)`` for k = 1 and 3, and
        a deduction of 2 × shortfall.
    """
    check_int(shortfall, "shortfall")
    deduction = math.ceil(rules.deduction_multiple * shortfall)
    p = rules.penalty
    if shortfall == 0:
        return Penalty(0, 0, 0, p.clause, p.tag)
    if p.kind == "fixed_range":
        return Penalty(p.min_fen, p.max_fen, deduction, p.clause, p.tag)
    if average_price_fen is None:
        raise InputError("average_price_fen", "the price the multiple applies to", None)
    check_int(average_price_fen, "average_price_fen")
    lo = round_fen(p.min_multiple * average_price_fen * shortfall, rounding)
    hi = round_fen(p.max_multiple * average_price_fen * shortfall, rounding)
    if p.cap_fen is not None:
        lo, hi = min(lo, p.cap_fen), min(hi, p.cap_fen)
    return Penalty(lo, hi, deduction, p.clause, p.tag)


@dataclass(frozen=True)
class Finding:
    """Actual emissions above the emission rights held: for the regulator [kg]."""

    unit_id: str
    pollutant: str
    year: int
    held: int
    actual: int
    excess: int
    code: str = "emissions_above_rights"
    zh: str = "实际排放量超过持有的排污权"
    en: str = "actual emissions above the emission rights held"


def rights_finding(
    unit_id: str, pollutant: str, year: int, held: int, actual: int
) -> Finding | None:
    """A :class:`Finding` when *actual* emissions exceed the rights *held* [kg/a], else None.

    鄂政发〔2012〕64号: an emission right is the right to discharge within the approved quantity
    (notes §A2 [V]).
    """
    check_int(held, "held")
    check_int(actual, "actual")
    if actual <= held:
        return None
    return Finding(unit_id, pollutant, year, held, actual, actual - held)
