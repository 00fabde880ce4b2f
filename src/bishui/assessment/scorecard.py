"""County scorecards (考核): a declarative indicator set per year, scored per county.

A scorecard is a TOML data file (``data/scorecard_<year>_<name>.toml``): indicators with a
weight (their full points), the platform figure each draws on (the name of an *indicator
source*, :mod:`bishui.assessment.sources`), a target and a scoring curve. Points are exact:
every curve is evaluated in rational arithmetic on the evidence value as stored (a decimal
string) and rounded once, half to even, to ``points_digits`` decimals; a county's total is the
sum of its rounded indicator points. So the points can be recomputed from the stored evidence
and the scorecard file alone (:func:`score`).

Curves
------
``linear``
    0 points at ``lower`` and full points at ``upper``, straight in between, clamped outside.
    A negative indicator (smaller is better, e.g. PM2.5) has ``lower`` > ``upper``. This is the
    scaling of the 绿色发展指数 (发改环资〔2016〕2635号; notes §5.2 [U]), there with an index of
    60–100; ``floor`` (a fraction of the full points at ``lower``, default 0) expresses that.
``threshold``
    Full points when the value meets ``target`` (``direction`` ``">="`` or ``"<="``), else
    ``floor`` × full points.
``rank``
    By the rank among the counties scored together (1 = best, ties share the best rank):
    full points for rank 1 falling linearly to ``floor`` × full points for the last rank.

Full points on a flag (``full_if``)
-----------------------------------
An indicator may name a boolean of its evidence's ``inputs`` (``full_if = "total_exempt"``):
when the evidence has a value and that input is true, the indicator earns its full points
whatever the curve gives. This expresses "a county that met its incentive intensity target is
exempt from the total-energy check (发改环资〔2021〕1310号 as reported, notes §2.1 [S]) and earns
the total points regardless". No file sets it unless a new scorecard version switches it on
(``scorecard_2025_demo2``); without it the curve alone scores. No data stays no data.

No data
-------
An indicator whose source has no figure is shown as **no data**, never as a made-up value. Its
points follow the scorecard's declared ``missing`` policy: ``"zero"`` (default) or
``"floor"`` (the indicator's ``floor`` share — the 绿色发展指数 gives a missing indicator the
minimum index 60 and keeps its weight, notes §5.2 [S]). Both are configuration, not a rule of
a published text for county scorecards; docs/assessment.md says so.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

from bishui.errors import InputError, NotFoundError

DATA = Path(__file__).parent / "data"
CURVES = ("linear", "threshold", "rank")
MISSING = ("zero", "floor")
MAX_INDICATORS = 200


@dataclass(frozen=True)
class Evidence:
    """What an indicator source found for one county and year.

    ``value`` is a decimal string as published (``None``: no data); ``basis`` says in words what
    the figure is and where it comes from; ``inputs`` the figures it was computed from
    (JSON-ready); ``partial`` whether it rests on incomplete data (a period not yet over, days
    missing).
    """

    value: str | None
    unit: str
    basis: str
    partial: bool = False
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return self.value is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "unit": self.unit,
            "basis": self.basis,
            "partial": self.partial,
            "inputs": self.inputs,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evidence:
        return cls(
            d.get("value"),
            d.get("unit", ""),
            d.get("basis", ""),
            bool(d.get("partial", False)),
            dict(d.get("inputs") or {}),
        )


def no_data(unit: str, basis: str, **inputs: Any) -> Evidence:
    return Evidence(None, unit, basis, False, dict(inputs))


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    name_en: str
    source: str
    weight: Fraction
    curve: str
    unit: str = ""
    lower: Fraction | None = None
    upper: Fraction | None = None
    target: Fraction | None = None
    direction: str = ">="
    floor: Fraction = Fraction(0)
    basis: str = ""
    #: a boolean input of the evidence that, when true, earns the full points (module doc)
    full_if: str | None = None


@dataclass(frozen=True)
class Scorecard:
    """One year's indicator set (parsed from its TOML file)."""

    id: str
    year: int
    title: str
    basis: str
    indicators: tuple[Indicator, ...]
    missing: str = "zero"
    points_digits: int = 2
    text: str = ""

    @property
    def full_points(self) -> Fraction:
        return sum((i.weight for i in self.indicators), Fraction(0))


def _frac(v: Any, what: str) -> Fraction:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise InputError(what, "a number", v)
    try:
        # a TOML float is taken as written (its shortest repr), never its binary value
        return Fraction(Decimal(str(v)))
    except (InvalidOperation, ValueError):
        raise InputError(what, "a number", v) from None


def _opt(d: dict[str, Any], key: str, where: str) -> Fraction | None:
    return _frac(d[key], f"{where}.{key}") if key in d else None


def _flag(d: dict[str, Any], where: str) -> str | None:
    v = d.get("full_if")
    if v is None:
        return None
    if not isinstance(v, str) or not v.isidentifier() or len(v) > 64:
        raise InputError(f"{where}.full_if", "the name of a boolean evidence input", v)
    return v


def parse_scorecard(text: str) -> Scorecard:
    """Parse and check a scorecard file (every error names the indicator and field)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError("scorecard", "valid TOML", str(e)) from None
    for key in ("id", "year", "title", "indicators"):
        if key not in doc:
            raise InputError(f"scorecard.{key}", "required", None)
    missing = doc.get("missing", "zero")
    if missing not in MISSING:
        raise InputError("scorecard.missing", f"one of {', '.join(MISSING)}", missing)
    digits = doc.get("points_digits", 2)
    if not isinstance(digits, int) or not 0 <= digits <= 6:
        raise InputError("scorecard.points_digits", "an integer 0–6", digits)
    raw = doc["indicators"]
    if not isinstance(raw, list) or not raw or len(raw) > MAX_INDICATORS:
        raise InputError("scorecard.indicators", f"1 to {MAX_INDICATORS} indicators", len(raw))
    seen: set[str] = set()
    out = []
    for n, d in enumerate(raw):
        where = f"indicators[{n}]"
        for key in ("code", "name", "source", "weight", "curve"):
            if key not in d:
                raise InputError(f"{where}.{key}", "required", None)
        code = str(d["code"])
        if code in seen:
            raise InputError(f"{where}.code", "unique", code)
        seen.add(code)
        curve = d["curve"]
        if curve not in CURVES:
            raise InputError(f"{where}.curve", f"one of {', '.join(CURVES)}", curve)
        weight = _frac(d["weight"], f"{where}.weight")
        if weight <= 0:
            raise InputError(f"{where}.weight", "positive", d["weight"])
        floor = _opt(d, "floor", where) or Fraction(0)
        if not 0 <= floor <= 1:
            raise InputError(f"{where}.floor", "a fraction 0–1", d["floor"])
        ind = Indicator(
            code=code,
            name=str(d["name"]),
            name_en=str(d.get("name_en", code)),
            source=str(d["source"]),
            weight=weight,
            curve=curve,
            unit=str(d.get("unit", "")),
            lower=_opt(d, "lower", where),
            upper=_opt(d, "upper", where),
            target=_opt(d, "target", where),
            direction=str(d.get("direction", ">=")),
            floor=floor,
            basis=str(d.get("basis", "")),
            full_if=_flag(d, where),
        )
        if curve == "linear" and (ind.lower is None or ind.upper is None or ind.lower == ind.upper):
            raise InputError(
                f"{where}.lower/upper",
                "two different bounds for a linear curve",
                [d.get("lower"), d.get("upper")],
            )
        if curve == "threshold":
            if ind.target is None:
                raise InputError(f"{where}.target", "required for a threshold curve", None)
            if ind.direction not in (">=", "<="):
                raise InputError(f"{where}.direction", "'>=' or '<='", ind.direction)
        out.append(ind)
    return Scorecard(
        id=str(doc["id"]),
        year=int(doc["year"]),
        title=str(doc["title"]),
        basis=str(doc.get("basis", "")),
        indicators=tuple(out),
        missing=missing,
        points_digits=digits,
        text=text,
    )


def available() -> list[str]:
    """The scorecard files shipped with the package (their ids)."""
    return sorted(p.stem for p in DATA.glob("scorecard_*.toml"))


def load_scorecard(name: str) -> Scorecard:
    """A shipped scorecard by id (``scorecard_2026_demo``) or a path to a TOML file."""
    p = Path(name)
    if not p.suffix:
        p = DATA / f"{name}.toml"
    if not p.is_file():
        raise NotFoundError(f"scorecard {name} does not exist")
    return parse_scorecard(p.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- scoring


def _value(e: Evidence | None) -> Fraction | None:
    if e is None or e.value is None:
        return None
    return Fraction(Decimal(e.value))


def curve_share(ind: Indicator, value: Fraction, rank: int = 0, ranked: int = 0) -> Fraction:
    """The share (0–1) of *ind*'s full points earned by *value* (or by *rank* of *ranked*)."""
    fl = ind.floor
    if ind.curve == "linear":
        assert ind.lower is not None and ind.upper is not None
        t = (value - ind.lower) / (ind.upper - ind.lower)
        t = min(max(t, Fraction(0)), Fraction(1))
        return fl + (1 - fl) * t
    if ind.curve == "threshold":
        assert ind.target is not None
        met = value >= ind.target if ind.direction == ">=" else value <= ind.target
        return Fraction(1) if met else fl
    # rank
    if ranked <= 1:
        return Fraction(1)
    return 1 - (1 - fl) * Fraction(rank - 1, ranked - 1)


def rank_values(values: dict[str, Fraction | None], larger_is_better: bool) -> dict[str, int]:
    """Competition ranks (1, 1, 3 …) of the counties with a value; ties share the best rank."""
    have = [(v, c) for c, v in values.items() if v is not None]
    have.sort(key=lambda x: -x[0] if larger_is_better else x[0])
    out: dict[str, int] = {}
    for i, (v, c) in enumerate(have):
        out[c] = out[have[i - 1][1]] if i and have[i - 1][0] == v else i + 1
    return out


def quantize(x: Fraction, digits: int) -> Decimal:
    """Round a rational once, half to even, to *digits* decimals (exact)."""
    scaled = x * 10**digits
    n, r = divmod(scaled.numerator, scaled.denominator)
    twice = 2 * r
    if twice > scaled.denominator or (twice == scaled.denominator and n % 2):
        n += 1
    return Decimal(n).scaleb(-digits)


@dataclass(frozen=True)
class Point:
    code: str
    points: Decimal | None  # None: no data and the missing policy gives 0 — shown as no data
    share: Fraction | None
    rank: int = 0
    no_data: bool = False


def score(card: Scorecard, evidence: dict[str, dict[str, Evidence]]) -> dict[str, dict[str, Point]]:
    """Points per county and indicator from *evidence* (county → indicator code → Evidence).

    Rank curves rank the counties present in *evidence*. A county missing an indicator's
    evidence altogether is treated as no data.
    """
    counties = sorted(evidence)
    out: dict[str, dict[str, Point]] = {c: {} for c in counties}
    for ind in card.indicators:
        vals = {c: _value(evidence[c].get(ind.code)) for c in counties}
        ranks: dict[str, int] = {}
        if ind.curve == "rank":
            ranks = rank_values(vals, ind.direction == ">=")
        for c in counties:
            v = vals[c]
            if v is None:
                share = ind.floor if card.missing == "floor" else Fraction(0)
                pts = quantize(ind.weight * share, card.points_digits)
                out[c][ind.code] = Point(ind.code, pts, share, 0, True)
                continue
            share = curve_share(ind, v, ranks.get(c, 0), len(ranks))
            e = evidence[c].get(ind.code)
            if ind.full_if and e is not None and e.inputs.get(ind.full_if) is True:
                share = Fraction(1)
            out[c][ind.code] = Point(
                ind.code,
                quantize(ind.weight * share, card.points_digits),
                share,
                ranks.get(c, 0),
            )
    return out


def totals(points: dict[str, dict[str, Point]]) -> dict[str, Decimal]:
    return {
        c: sum((p.points or Decimal(0) for p in ps.values()), Decimal(0))
        for c, ps in points.items()
    }


def ranking(total: dict[str, Decimal]) -> dict[str, int]:
    """Counties by total points, highest first; ties share the best rank (1, 1, 3)."""
    return rank_values({c: Fraction(v) for c, v in total.items()}, True)
