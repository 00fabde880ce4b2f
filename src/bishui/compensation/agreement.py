"""Compensation agreements as declarative, versioned TOML documents, and their validation.

:func:`load_agreement` parses one document and refuses it with
:class:`~bishui.errors.ConfigError` (field, rule, value) when it names a party that does not
exist, an assessment point without a data source, a shape that is not registered, a parameter
that is missing, unknown or of the wrong unit. The document format is described, with an
example of every shape, in ``docs/compensation.md``.

Numbers are read exactly: TOML floats are parsed as ``Decimal``, and parameters are written
as text with their unit (``"1.5 万元/t"``).
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from bishui.compensation.canonical import content_hash, plain
from bishui.compensation.inputs import INDICATORS, point_key
from bishui.compensation.period import PERIOD_KINDS
from bishui.compensation.quantity import parse_quantity
from bishui.compensation.shapes import SHAPES, Param
from bishui.errors import ConfigError

__all__ = [
    "DIRECTIONS",
    "MISSING_RULES",
    "ROUNDING_MODES",
    "SCHEMA",
    "Agreement",
    "MissingDataRule",
    "Point",
    "Rounding",
    "Term",
    "load_agreement",
    "load_agreement_file",
    "load_agreements_dir",
]

SCHEMA = "bishui.compensation/1"
DIRECTIONS = ("two_way", "assessed_pays_only", "assessed_receives_only")
MISSING_RULES = ("no_payment", "hold", "use_available")
#: rounding names in documents → decimal module constants. ``half_up`` is 四舍五入.
ROUNDING_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN}
POINT_KINDS = {"water_section": "conc_water", "air_stations": "conc_air"}

_TOP_KEYS = {
    "schema", "id", "version", "title", "status", "basis", "modelled_on", "notes", "period",
    "valid_from", "valid_to", "parties", "point", "indicators", "payment", "limits",
    "rounding", "missing_data", "terms",
}  # fmt: skip
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,80}$")


@dataclass(frozen=True)
class Point:
    """The assessment point: one water section, or a set of air stations (assessed together)."""

    kind: str
    ids: tuple[str, ...]

    @property
    def key(self) -> str:
        """The key under which :class:`~bishui.compensation.inputs.PeriodInputs` holds it."""
        return point_key(self.ids)


@dataclass(frozen=True)
class Rounding:
    """How the yuan amount is rounded: ``places`` decimals, ``mode``, at ``stage``.

    ``stage = "total"`` keeps every intermediate figure exact and rounds once (the default);
    ``"term"`` rounds each term before summing (as a rule text that tabulates rounded terms).
    """

    places: int = 2
    mode: str = "half_up"
    stage: str = "total"

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.places)


@dataclass(frozen=True)
class MissingDataRule:
    """When the period has too little data, and what then happens.

    Data are insufficient for an indicator when its ``count`` is below ``min_count`` or, if
    the plan's ``expected`` count is known, below ``min_coverage`` × expected; or when a shape
    lacks an input. ``rule``: ``no_payment`` (amount 0, said so), ``hold`` (amount 0, statement
    held until a corrected version), ``use_available`` (compute from what there is, flagged).
    """

    rule: str
    min_count: int = 1
    min_coverage: Decimal = Decimal(0)


@dataclass(frozen=True)
class Term:
    """One formula term: a registered shape with converted parameters and optional cap/floor."""

    shape: str
    label: str
    params: Mapping[str, Any]
    cap: Decimal | None = None
    floor: Decimal | None = None


@dataclass(frozen=True)
class Agreement:
    """A validated agreement. ``document`` is the parsed text; ``rule_hash`` its content hash."""

    id: str
    version: int
    title: str
    status: str
    basis: str
    modelled_on: tuple[str, ...]
    period_kind: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    assessed: Mapping[str, Decimal]
    counterparty: Mapping[str, Decimal]
    point: Point
    indicators: tuple[str, ...]
    direction: str
    cap: Decimal | None
    floor: Decimal | None
    rounding: Rounding
    missing: MissingDataRule
    terms: tuple[Term, ...]
    document: Mapping[str, Any]
    rule_hash: str

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.assessed) | set(self.counterparty)))


# --------------------------------------------------------------------------- helpers


def _need(d: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise ConfigError(f"{where}{key}", "required", None)
    return d[key]


def _strings(raw: Any, field: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise ConfigError(field, "a list of text", raw)
    return tuple(raw)


def _table(doc: Mapping[str, Any], key: str, *, required: bool = False) -> Mapping[str, Any]:
    if key not in doc:
        if required:
            raise ConfigError(key, "required", None)
        return {}
    value = doc[key]
    if not isinstance(value, Mapping):
        raise ConfigError(key, "a table", value)
    return value


def _money(raw: Any, field: str) -> Decimal:
    return _quantity(raw, field, "money")


def _quantity(raw: Any, field: str, dimension: str) -> Decimal:
    try:
        q = parse_quantity(raw)
    except ValueError as exc:
        raise ConfigError(field, str(exc), raw) from None
    if q.dimension != dimension:
        raise ConfigError(field, f"a quantity of dimension {dimension}", raw)
    return q.value


def _shares(raw: Any, field: str, known_regions: Collection[str]) -> dict[str, Decimal]:
    if isinstance(raw, str):
        raw = {raw: "1"}
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(field, "a region code or a table of region code = share", raw)
    out: dict[str, Decimal] = {}
    for code, share in raw.items():
        if code not in known_regions:
            raise ConfigError(f"{field}.{code}", "a known region code", code)
        value = _quantity(share, f"{field}.{code}", "ratio")
        if not 0 < value <= 1:
            raise ConfigError(f"{field}.{code}", "a share in (0, 1]", share)
        out[code] = value
    total = sum(out.values(), Decimal(0))
    if total != 1:
        raise ConfigError(field, "shares sum to 1", str(total))
    return out


def _param(spec: Param, raw: Any, field: str, codes: tuple[str, ...], point_dim: str) -> Any:
    if spec.per_indicator:
        if not isinstance(raw, Mapping):
            raise ConfigError(field, "a table keyed by the agreement's indicator codes", raw)
        extra = set(raw) - set(codes)
        if extra:
            raise ConfigError(
                f"{field}.{sorted(extra)[0]}", "one of the agreement's indicators", sorted(extra)[0]
            )
        out = {}
        for code in codes:
            if code not in raw:
                raise ConfigError(f"{field}.{code}", "required", None)
            out[code] = _scalar(spec, raw[code], f"{field}.{code}", INDICATORS[code][1])
        return out
    return _scalar(spec, raw, field, point_dim)


def _scalar(spec: Param, raw: Any, field: str, conc_dim: str) -> Any:
    if spec.kind == "quantity":
        dim = spec.dimension.replace("conc", conc_dim)
        return _quantity(raw, field, dim)
    if spec.kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ConfigError(field, "a whole number", raw)
        return raw
    if spec.kind == "bool":
        if not isinstance(raw, bool):
            raise ConfigError(field, "true or false", raw)
        return raw
    if spec.kind == "choice":
        if raw not in spec.choices:
            raise ConfigError(field, f"one of {', '.join(spec.choices)}", raw)
        return raw
    assert spec.convert is not None
    return spec.convert(raw, field)


def _term(raw: Any, i: int, codes: tuple[str, ...], point_dim: str) -> Term:
    where = f"terms[{i}]."
    if not isinstance(raw, Mapping):
        raise ConfigError(f"terms[{i}]", "a table", raw)
    unknown = set(raw) - {"shape", "label", "params", "cap", "floor"}
    if unknown:
        raise ConfigError(f"{where}{sorted(unknown)[0]}", "a known key", sorted(unknown)[0])
    name = _need(raw, "shape", where)
    if not isinstance(name, str) or name not in SHAPES:
        raise ConfigError(
            f"{where}shape", f"a registered shape ({', '.join(sorted(SHAPES))})", name
        )
    shape = SHAPES[name]
    given = raw.get("params", {})
    if not isinstance(given, Mapping):
        raise ConfigError(f"{where}params", "a table", given)
    known = {p.name for p in shape.params}
    for k in given:
        if k not in known:
            raise ConfigError(f"{where}params.{k}", f"a parameter of shape {name}", k)
    params: dict[str, Any] = {}
    for spec in shape.params:
        field = f"{where}params.{spec.name}"
        if spec.name not in given:
            if spec.required:
                raise ConfigError(field, f"required by shape {name}", None)
            params[spec.name] = spec.default
            continue
        params[spec.name] = _param(spec, given[spec.name], field, codes, point_dim)
    if shape.check is not None:
        try:
            shape.check(params, codes)
        except ConfigError as exc:
            raise ConfigError(f"{where}{exc.field}", exc.rule, exc.value) from None
    cap = _money(raw["cap"], f"{where}cap") if "cap" in raw else None
    floor = _money(raw["floor"], f"{where}floor") if "floor" in raw else None
    term = Term(name, str(raw.get("label", shape.zh)), params, cap, floor)
    return term


# --------------------------------------------------------------------------- loading


def load_agreement(
    text: str,
    known_regions: Collection[str],
    known_points: Collection[str] | Mapping[str, str],
) -> Agreement:
    """Parse and validate one agreement document (TOML text).

    Parameters
    ----------
    text : str
        The TOML document.
    known_regions : collection of str
        Region codes that exist (GB/T 2260 codes and the internal codes of functional zones).
    known_points : collection of str, or mapping of str to str
        Assessment points that have a data source. A mapping gives each id's kind
        (``water_section`` or ``air_station``) and is then checked against the point kind.

    Returns
    -------
    Agreement

    Raises
    ------
    ConfigError
        Naming the field, the rule it breaks and the value found.
    """
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("document", "valid TOML", str(exc)) from None
    for k in doc:
        if k not in _TOP_KEYS:
            raise ConfigError(k, "a known key", k)
    if _need(doc, "schema", "") != SCHEMA:
        raise ConfigError("schema", f"equal to {SCHEMA!r}", doc["schema"])
    ident = _need(doc, "id", "")
    if not isinstance(ident, str) or not _ID.match(ident):
        raise ConfigError("id", "lower-case letters, digits, '.', '_' or '-'", ident)
    version = _need(doc, "version", "")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ConfigError("version", "a whole number ≥ 1", version)
    status = _need(doc, "status", "")
    if status not in ("verified", "example"):
        raise ConfigError("status", "verified or example", status)
    modelled_on = _strings(doc.get("modelled_on", []), "modelled_on")
    if status == "example" and not modelled_on:
        raise ConfigError("modelled_on", "required for an example: the verified schemes", None)
    basis = _need(doc, "basis", "")
    for key in ("title", "basis"):
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            raise ConfigError(key, "non-empty text", doc.get(key))
    _strings(doc.get("notes", []), "notes")
    period = _need(doc, "period", "")
    if period not in PERIOD_KINDS:
        raise ConfigError("period", f"one of {', '.join(PERIOD_KINDS)}", period)
    for k in ("valid_from", "valid_to"):
        if k in doc and not isinstance(doc[k], dt.date):
            raise ConfigError(k, "a TOML date (2025-01-01)", doc[k])

    parties = _table(doc, "parties", required=True)
    assessed = _shares(_need(parties, "assessed", "parties."), "parties.assessed", known_regions)
    counter = _shares(
        _need(parties, "counterparty", "parties."), "parties.counterparty", known_regions
    )
    if set(assessed) == set(counter):
        raise ConfigError(
            "parties.counterparty", "not the same parties as assessed", sorted(counter)
        )

    point_raw = _table(doc, "point", required=True)
    kind = _need(point_raw, "kind", "point.")
    if not isinstance(kind, str) or kind not in POINT_KINDS:
        raise ConfigError("point.kind", "water_section or air_stations", kind)
    ids = point_raw.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(x, str) for x in ids):
        raise ConfigError("point.ids", "a non-empty list of point ids", ids)
    if kind == "water_section" and len(ids) != 1:
        raise ConfigError("point.ids", "exactly one section for water_section", ids)
    for pid in ids:
        if pid not in known_points:
            raise ConfigError("point.ids", "a point with a data source", pid)
        if isinstance(known_points, Mapping):
            want = "water_section" if kind == "water_section" else "air_station"
            if known_points[pid] != want:
                raise ConfigError("point.ids", f"a {want}", pid)
    point = Point(kind, tuple(sorted(set(ids))))

    codes = _strings(doc.get("indicators", []), "indicators")
    for code in codes:
        if code not in INDICATORS:
            raise ConfigError("indicators", "a known HJ 212 code", code)
        if INDICATORS[code][1] != POINT_KINDS[kind]:
            raise ConfigError("indicators", f"an indicator measured at a {kind} point", code)

    payment = _table(doc, "payment")
    direction = payment.get("direction", "two_way")
    if direction not in DIRECTIONS:
        raise ConfigError("payment.direction", f"one of {', '.join(DIRECTIONS)}", direction)
    limits = _table(doc, "limits")
    cap = _money(limits["cap"], "limits.cap") if "cap" in limits else None
    floor = _money(limits["floor"], "limits.floor") if "floor" in limits else None
    if cap is not None and floor is not None and floor > cap:
        raise ConfigError("limits.floor", "not above limits.cap", limits["floor"])

    r = _table(doc, "rounding")
    rounding = Rounding(r.get("places", 2), r.get("mode", "half_up"), r.get("stage", "total"))
    if (
        not isinstance(rounding.places, int)
        or isinstance(rounding.places, bool)
        or not 0 <= rounding.places <= 4
    ):
        raise ConfigError("rounding.places", "0 to 4", rounding.places)
    if not isinstance(rounding.mode, str) or rounding.mode not in ROUNDING_MODES:
        raise ConfigError("rounding.mode", f"one of {', '.join(ROUNDING_MODES)}", rounding.mode)
    if rounding.stage not in ("total", "term"):
        raise ConfigError("rounding.stage", "total or term", rounding.stage)

    m = _table(doc, "missing_data", required=True)
    if m.get("rule") not in MISSING_RULES:
        raise ConfigError("missing_data.rule", f"one of {', '.join(MISSING_RULES)}", m.get("rule"))
    min_count = m.get("min_count", 1)
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 0:
        raise ConfigError("missing_data.min_count", "a whole number ≥ 0", min_count)
    coverage = _quantity(m.get("min_coverage", "0"), "missing_data.min_coverage", "ratio")
    missing = MissingDataRule(m["rule"], min_count, coverage)

    raw_terms = _need(doc, "terms", "")
    if not isinstance(raw_terms, list) or not raw_terms:
        raise ConfigError("terms", "a non-empty list of [[terms]]", raw_terms)
    terms = tuple(_term(t, i, codes, POINT_KINDS[kind]) for i, t in enumerate(raw_terms))

    return Agreement(
        id=ident,
        version=version,
        title=str(_need(doc, "title", "")),
        status=status,
        basis=str(basis),
        modelled_on=modelled_on,
        period_kind=period,
        valid_from=doc.get("valid_from"),
        valid_to=doc.get("valid_to"),
        assessed=assessed,
        counterparty=counter,
        point=point,
        indicators=codes,
        direction=direction,
        cap=cap,
        floor=floor,
        rounding=rounding,
        missing=missing,
        terms=terms,
        document=doc,
        rule_hash=content_hash(plain(doc)),
    )


def load_agreement_file(
    path: str | Path,
    known_regions: Collection[str],
    known_points: Collection[str] | Mapping[str, str],
) -> Agreement:
    """:func:`load_agreement` on a file; a refusal names the file in the field."""
    p = Path(path)
    try:
        return load_agreement(p.read_text(encoding="utf-8"), known_regions, known_points)
    except ConfigError as exc:
        raise ConfigError(f"{p.name}: {exc.field}", exc.rule, exc.value) from None


def load_agreements_dir(
    directory: str | Path,
    known_regions: Collection[str],
    known_points: Collection[str] | Mapping[str, str],
) -> dict[str, Agreement]:
    """Load every ``*.toml`` in *directory*, keyed by agreement id (ids must be unique)."""
    out: dict[str, Agreement] = {}
    for f in sorted(Path(directory).glob("*.toml")):
        a = load_agreement_file(f, known_regions, known_points)
        if a.id in out:
            raise ConfigError(f"{f.name}: id", "unique among the agreements", a.id)
        out[a.id] = a
    return out
