"""The energy domain's service: writes (validated, audited, one transaction each) and the
accounts computed from stored inputs with the pure core (:mod:`bishui.energy.accounts`,
:mod:`bishui.energy.reduction`).

Every figure is recomputed from the stored inputs on each read — nothing derived is stored —
so an official figure is reproducible from its inputs and the coefficient file.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from bishui.energy import accounts as ea
from bishui.energy import reduction as rd
from bishui.errors import InputError, NotFoundError
from bishui.readings import sites as read_sites
from bishui.sources import service as sources_service
from bishui.sources.permit_store import load_permits
from bishui.store import Store

MAX_ROWS = 50_000  # rows per write call
MAX_INT = 10**15  # any stored integer (kgce, grams, quantities) is below this: BIGINT-safe
#: The price base of each plan period's comparable-price GDP (11th FYP: 2005 prices [S];
#: 13th: 2015 prices [V, notes B.6]); a year's annual rate is computed at its period's base.
PLAN_BASES: tuple[tuple[int, int, int], ...] = (
    (2006, 2010, 2005), (2011, 2015, 2010), (2016, 2020, 2015), (2021, 2025, 2020),
    (2026, 2030, 2025),
)  # fmt: skip


def price_base_of(year: int) -> int:
    """The comparable-price base of *year*'s annual rate (its plan period's base year)."""
    for a, b, base in PLAN_BASES:
        if a <= year <= b:
            return base
    raise InputError("year", "2006–2030", year)


# -- parsing helpers --------------------------------------------------------------------------
def parse_decimal(v: object, field: str) -> Decimal:
    try:
        d = Decimal(str(v).strip())
    except (InvalidOperation, ValueError):
        raise InputError(field, "a decimal number", v) from None
    if not d.is_finite():
        raise InputError(field, "a finite number", v)
    return d


def parse_int(v: object, field: str, lo: int | None = None) -> int:
    if isinstance(v, bool):
        raise InputError(field, "an integer", v)
    try:
        d = Decimal(str(v).strip())
    except (InvalidOperation, ValueError):
        raise InputError(field, "an integer", v) from None
    if not d.is_finite() or d != d.to_integral_value():
        raise InputError(field, "an integer", v)
    i = int(d)
    if lo is not None and i < lo:
        raise InputError(field, f"at least {lo}", v)
    if abs(i) >= MAX_INT:
        raise InputError(field, f"below {MAX_INT:.0e}", v)
    return i


def _year(v: object, field: str = "year") -> int:
    y = parse_int(v, field)
    if not 2000 <= y <= 2100:
        raise InputError(field, "2000–2100", v)
    return y


def _text(v: object, field: str, max_len: int = 500, required: bool = True) -> str:
    s = "" if v is None else str(v).strip()
    if required and not s:
        raise InputError(field, "required", v)
    if len(s) > max_len:
        raise InputError(field, f"at most {max_len} characters", len(s))
    return s


def _bool(v: object, field: str) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "是", "y"):
        return True
    if s in ("0", "false", "no", "否", "n", ""):
        return False
    raise InputError(field, "true or false", v)


def _frac(text: str) -> Fraction:
    return Fraction(Decimal(text))


def _rows(rows: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
    if len(rows) > MAX_ROWS:
        raise InputError("rows", f"at most {MAX_ROWS} per call", len(rows))
    return rows


def _counties(store: Store) -> set[str]:
    return {r["code"] for r in store.query("SELECT code FROM regions")}


def _check_county(county: str, known: set[str]) -> str:
    if county not in known:
        raise InputError("county", "a registered region", county)
    return county


def _write(
    store: Store,
    table: str,
    columns: Sequence[str],
    key: Sequence[str],
    rows: Sequence[Sequence[Any]],
    action: str,
    by: str,
) -> int:
    """Upsert *rows* and audit each in one transaction."""
    by = _text(by, "by", 120)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    audit = [
        (now, by, action, json.dumps(dict(zip(columns, r, strict=True)), default=str,
                                     ensure_ascii=False, sort_keys=True))
        for r in rows
    ]  # fmt: skip
    with store.transaction() as tx:
        tx.upsert_rows(table, columns, key, rows)
        tx.insert_rows("energy_audit", ("changed_at", "actor", "action", "detail"), audit)
    return len(rows)


def audit_log(store: Store, limit: int = 200) -> list[dict[str, Any]]:
    """The energy domain's writes, newest first."""
    rows = store.query(
        "SELECT changed_at, actor, action, detail FROM energy_audit "
        "ORDER BY changed_at DESC LIMIT ?",
        [limit],
    )
    for r in rows:
        r["detail"] = json.loads(r["detail"])
    return rows


# -- writes: energy accounts ------------------------------------------------------------------
def add_units(store: Store, rows: Sequence[Mapping[str, Any]], by: str) -> int:
    """Register energy-using units: id, county, kind (:data:`accounts.UNIT_KINDS`), name,
    optional uscc, synthetic."""
    known = _counties(store)
    out = []
    for r in _rows(rows):
        kind = _text(r.get("kind"), "kind", 40)
        if kind not in ea.UNIT_KINDS:
            raise InputError("kind", f"one of {', '.join(ea.UNIT_KINDS)}", kind)
        out.append((
            _text(r.get("id"), "id", 60), _check_county(_text(r.get("county"), "county"), known),
            kind, _text(r.get("name"), "name", 200),
            _text(r.get("uscc"), "uscc", 18, required=False) or None,
            _bool(r.get("synthetic", False), "synthetic"),
        ))  # fmt: skip
    cols = ("id", "county", "kind", "name", "uscc", "synthetic")
    return _write(store, "energy_unit", cols, ("id",), out, "unit", by)


def record_uses(store: Store, rows: Sequence[Mapping[str, Any]], by: str) -> int:
    """A unit's use of a fuel in a year: unit_id, year, fuel (GB/T 2589-2020 Annex A code),
    quantity (integer, in the fuel's unit), feedstock (原料用能), source."""
    units = {r["id"] for r in store.query("SELECT id FROM energy_unit")}
    out = []
    for r in _rows(rows):
        uid = _text(r.get("unit_id"), "unit_id", 60)
        if uid not in units:
            raise InputError("unit_id", "a registered energy-using unit", uid)
        fuel = ea.coefficient(_text(r.get("fuel"), "fuel", 40)).code
        feed = _bool(r.get("feedstock", False), "feedstock")
        if feed and ea.coefficient(fuel).unit == "kWh":
            raise InputError("feedstock", "electricity is not a feedstock (原料用能)", fuel)
        q = parse_int(r.get("quantity"), "quantity", lo=0)
        if q >= 60_000_000_000_000:
            raise InputError("quantity", "below 6·10¹³", q)
        out.append((uid, _year(r.get("year")), fuel, feed, q, _text(r.get("source"), "source")))
    cols = ("unit_id", "year", "fuel", "feedstock", "quantity", "source")
    return _write(store, "energy_use", cols, ("unit_id", "year", "fuel", "feedstock"), out,
                  "use", by)  # fmt: skip


def set_equal_value(store: Store, year: int, kgce_per_kwh: object, source: str, by: str) -> None:
    """The year's equal-value coefficient of electricity (供电煤耗) [kgce/kWh], with its source."""
    rate = parse_decimal(kgce_per_kwh, "kgce_per_kwh")
    ea.check_equal_value_rate(rate)
    _write(store, "energy_equal_value", ("year", "kgce_per_kwh", "source"), ("year",),
           [(_year(year), str(rate), _text(source, "source"))], "equal_value", by)  # fmt: skip


def set_gdp(store: Store, rows: Sequence[Mapping[str, Any]], by: str) -> int:
    """GDP per county and year at the prices of ``price_base`` (= year for current prices)."""
    known = _counties(store)
    out = []
    for r in _rows(rows):
        y, b = _year(r.get("year")), _year(r.get("price_base"), "price_base")
        if b > y:
            raise InputError("price_base", "not after the year", b)
        v = parse_decimal(r.get("value_wan"), "value_wan")
        if v <= 0:
            raise InputError("value_wan", "positive", v)
        out.append((_check_county(_text(r.get("county"), "county"), known), y, b, str(v),
                    _text(r.get("source"), "source")))  # fmt: skip
    cols = ("county", "year", "price_base", "value_wan", "source")
    return _write(store, "energy_gdp", cols, ("county", "year", "price_base"), out, "gdp", by)


def set_targets(store: Store, rows: Sequence[Mapping[str, Any]], by: str) -> int:
    """Dual-control targets: county, year, base_year, intensity_fall (a fraction, 0.135 for
    13.5 %), optional incentive_fall and total_cap_kgce, basis, source."""
    known = _counties(store)
    out = []
    for r in _rows(rows):
        fall = parse_decimal(r.get("intensity_fall"), "intensity_fall")
        inc = r.get("incentive_fall")
        incd = None if inc in (None, "") else parse_decimal(inc, "incentive_fall")
        for f, v in (("intensity_fall", fall), ("incentive_fall", incd)):
            if v is not None and not Decimal(0) <= v < 1:
                raise InputError(f, "a fraction 0–1 (0.135 for 13.5 %)", v)
        if incd is not None and incd < fall:
            raise InputError("incentive_fall", "at least the basic target", incd)
        cap = r.get("total_cap_kgce")
        basis = _text(r.get("basis") or ea.EQUIVALENT, "basis", 20)
        if basis not in ea.BASES:
            raise InputError("basis", f"one of {', '.join(ea.BASES)}", basis)
        y, b = _year(r.get("year")), _year(r.get("base_year"), "base_year")
        if b >= y:
            raise InputError("base_year", "before the year", b)
        out.append((
            _check_county(_text(r.get("county"), "county"), known), y, b, str(fall),
            None if incd is None else str(incd),
            None if cap in (None, "") else parse_int(cap, "total_cap_kgce", lo=0), basis,
            _text(r.get("source"), "source"),
        ))  # fmt: skip
    cols = ("county", "year", "base_year", "intensity_fall", "incentive_fall", "total_cap_kgce",
            "basis", "source")  # fmt: skip
    return _write(store, "energy_target", cols, ("county", "year"), out, "target", by)


def set_baseline(
    store: Store, name: str, county: str, year: int, price_base: int, intensity: object,
    source: str, by: str,
) -> None:  # fmt: skip
    """A named baseline intensity [tce/万元, at *price_base* prices] for savings."""
    i = parse_decimal(intensity, "intensity")
    if i <= 0:
        raise InputError("intensity", "positive", i)
    row = (_text(name, "name", 80), _check_county(county, _counties(store)), _year(year),
           _year(price_base, "price_base"), str(i), _text(source, "source"))  # fmt: skip
    cols = ("name", "county", "year", "price_base", "intensity", "source")
    _write(store, "energy_baseline", cols, ("name",), [row], "baseline", by)


def add_measures(store: Store, rows: Sequence[Mapping[str, Any]], by: str) -> int:
    """The register of measures: id, county, optional unit_id, kind, year, claimed_kgce,
    method, evidence."""
    known = _counties(store)
    out = []
    for r in _rows(rows):
        kind = _text(r.get("kind"), "kind", 40)
        if kind not in ea.MEASURE_KINDS:
            raise InputError("kind", f"one of {', '.join(ea.MEASURE_KINDS)}", kind)
        out.append((
            _text(r.get("id"), "id", 60), _check_county(_text(r.get("county"), "county"), known),
            _text(r.get("unit_id"), "unit_id", 60, required=False) or None, kind,
            _year(r.get("year")), parse_int(r.get("claimed_kgce"), "claimed_kgce", lo=0),
            _text(r.get("method"), "method"), _text(r.get("evidence"), "evidence"),
        ))  # fmt: skip
    cols = ("id", "county", "unit_id", "kind", "year", "claimed_kgce", "method", "evidence")
    return _write(store, "energy_measure", cols, ("id",), out, "measure", by)


# -- writes: reduction accounts ---------------------------------------------------------------
def record_emissions(store: Store, rows: Sequence[Mapping[str, Any]], by: str) -> int:
    """Declared (执行报告) or factor-based emissions of a source: source_id, county, pollutant,
    year, basis ("declared" | "factor"), grams, source."""
    known = _counties(store)
    out = []
    for r in _rows(rows):
        basis = _text(r.get("basis"), "basis", 20)
        if basis not in ("declared", "factor"):
            raise InputError("basis", "declared or factor (monitoring comes from the sources)",
                             basis)  # fmt: skip
        out.append((
            _text(r.get("source_id"), "source_id", 60),
            _check_county(_text(r.get("county"), "county"), known),
            rd.pollutant(_text(r.get("pollutant"), "pollutant", 20)), _year(r.get("year")),
            basis, parse_int(r.get("grams"), "grams", lo=0), _text(r.get("source"), "source"),
        ))  # fmt: skip
    cols = ("source_id", "county", "pollutant", "year", "basis", "grams", "source")
    return _write(store, "emission_entry", cols, ("source_id", "pollutant", "year", "basis"),
                  out, "emission", by)  # fmt: skip


def set_emission_targets(store: Store, rows: Sequence[Mapping[str, Any]], by: str) -> int:
    """Reduction targets: county, pollutant, base_year, year, kind ("percent" with a fraction;
    "tonnes" for 重点工程减排量), value, source."""
    known = _counties(store)
    out = []
    for r in _rows(rows):
        kind = _text(r.get("kind"), "kind", 20)
        v = parse_decimal(r.get("value"), "value")
        if kind == "percent" and not Decimal(0) <= v < 1:
            raise InputError("value", "a fraction 0–1 for a % target", v)
        if kind not in ("percent", "tonnes"):
            raise InputError("kind", "percent or tonnes", kind)
        if v < 0:
            raise InputError("value", "not negative", v)
        y, b = _year(r.get("year")), _year(r.get("base_year"), "base_year")
        if b >= y:
            raise InputError("base_year", "before the year", b)
        out.append((_check_county(_text(r.get("county"), "county"), known),
                    rd.pollutant(_text(r.get("pollutant"), "pollutant", 20)), b, y, kind, str(v),
                    _text(r.get("source"), "source")))  # fmt: skip
    cols = ("county", "pollutant", "base_year", "year", "kind", "value", "source")
    return _write(store, "emission_target", cols, ("county", "pollutant", "year", "kind"), out,
                  "emission_target", by)  # fmt: skip


def add_projects(store: Store, rows: Sequence[Mapping[str, Any]], by: str) -> int:
    """Key reduction projects: id, pollutant, county, year, kind, name, before_g, after_g,
    basis, recognised, evidence (one row per project and pollutant)."""
    known = _counties(store)
    projects, out = [], []
    for r in _rows(rows):
        p = rd.Project(
            id=_text(r.get("id"), "id", 60),
            county=_check_county(_text(r.get("county"), "county"), known),
            pollutant=rd.pollutant(_text(r.get("pollutant"), "pollutant", 20)),
            year=_year(r.get("year")), kind=_text(r.get("kind"), "kind", 20),
            before_g=parse_int(r.get("before_g"), "before_g", lo=0),
            after_g=parse_int(r.get("after_g"), "after_g", lo=0),
            basis=_text(r.get("basis"), "basis", 20),
            recognised=_bool(r.get("recognised", True), "recognised"),
            name=_text(r.get("name"), "name", 200),
        )  # fmt: skip
        projects.append(p)
        out.append((p.id, p.pollutant, p.county, p.year, p.kind, p.name, p.before_g, p.after_g,
                    p.basis, p.recognised, _text(r.get("evidence"), "evidence")))  # fmt: skip
    rd.check_projects(projects)
    cols = ("id", "pollutant", "county", "year", "kind", "name", "before_g", "after_g", "basis",
            "recognised", "evidence")  # fmt: skip
    return _write(store, "emission_project", cols, ("id", "pollutant"), out, "project", by)


# -- reads: energy accounts -------------------------------------------------------------------
def equal_value(store: Store, year: int) -> tuple[Decimal | None, str]:
    r = store.query("SELECT kgce_per_kwh, source FROM energy_equal_value WHERE year = ?", [year])
    return (Decimal(r[0]["kgce_per_kwh"]), r[0]["source"]) if r else (None, "")


def _city_codes(store: Store) -> set[str]:
    return {r["code"] for r in store.query("SELECT code FROM regions WHERE kind = 'city'")}


def _uses(store: Store, year: int, counties: Sequence[str] | None) -> dict[str, list[ea.Use]]:
    """Uses per county; asked for the city (a region of kind ``city``), every county's uses
    summed under the city's code."""
    if counties is not None and len(counties) == 1 and counties[0] in _city_codes(store):
        merged = [u for us in _uses(store, year, None).values() for u in us]
        return {counties[0]: merged} if merged else {}
    where = "u.year = ?"
    params: list[Any] = [year]
    if counties is not None:
        if not counties:
            return {}
        where += f" AND n.county IN ({', '.join('?' for _ in counties)})"
        params += list(counties)
    rows = store.query(
        "SELECT n.county, n.kind, u.unit_id, u.fuel, u.quantity, u.feedstock FROM energy_use u "  # noqa: S608
        f"JOIN energy_unit n ON n.id = u.unit_id WHERE {where} "
        "ORDER BY n.county, u.unit_id, u.fuel",
        params,
    )
    out: dict[str, list[ea.Use]] = {}
    for r in rows:
        out.setdefault(r["county"], []).append(
            ea.Use(
                f"{r['kind']}:{r['unit_id']}", r["fuel"], int(r["quantity"]), bool(r["feedstock"])
            )
        )
    return out


def county_totals(
    store: Store, year: int, counties: Sequence[str] | None = None
) -> dict[str, ea.Totals]:
    """Each county's energy use in *year* on both bases (the equal-value basis only when the
    year's coefficient is entered)."""
    rate, _ = equal_value(store, year)
    return {c: ea.totals(uses, rate) for c, uses in _uses(store, year, counties).items()}


def _gdp(store: Store, county: str, year: int, price_base: int) -> ea.Gdp | None:
    r = store.query(
        "SELECT value_wan, source FROM energy_gdp WHERE county = ? AND year = ? AND price_base = ?",
        [county, year, price_base],
    )
    return ea.Gdp(year, price_base, Decimal(r[0]["value_wan"]), r[0]["source"]) if r else None


def _kt(kgce: int | None) -> str | None:
    """kgce as 万tce, exactly (7 decimals)."""
    return None if kgce is None else str(Decimal(kgce) / 10_000_000)


def _f4(x: Fraction | None) -> str | None:
    return None if x is None else str(Decimal(x.numerator) / Decimal(x.denominator))


def _pct(x: Fraction | None, digits: int = 2) -> str | None:
    if x is None:
        return None
    r = ea.round_half_even(x * 100, digits)
    return f"{Decimal(r.numerator) / Decimal(r.denominator):.{digits}f}"


def accounts(
    store: Store, county: str, years: Sequence[int], basis: str = ea.EQUIVALENT
) -> list[dict[str, Any]]:
    """One county's energy accounts per year: totals on both bases, by unit kind, GDP at current
    and comparable prices, intensity, the annual rate at the period's price base, and the
    chained change since the first year given. Each figure names its basis and price base."""
    if basis not in ea.BASES:
        raise InputError("basis", f"one of {', '.join(ea.BASES)}", basis)
    out: list[dict[str, Any]] = []
    chain: list[Fraction] = []
    for y in sorted(set(years)):
        t = county_totals(store, y, [county]).get(county)
        rate, rate_src = equal_value(store, y)
        cur = _gdp(store, county, y, y)
        pb = price_base_of(y)
        comp = _gdp(store, county, y, pb) if pb != y else cur
        row: dict[str, Any] = {
            "county": county, "year": y, "basis": basis,
            "equivalent_kgce": t.equivalent_kgce if t else None,
            "equal_value_kgce": t.equal_value_kgce if t else None,
            "equal_value_coefficient": None if rate is None else str(rate),
            "equal_value_source": rate_src,
            "feedstock_kgce": t.feedstock_kgce if t else None,
            "renewable_share": None,
            "gdp_current_wan": None if cur is None else str(cur.value_wan),
            "gdp_comparable_wan": None if comp is None else str(comp.value_wan),
            "price_base": pb,
            "intensity_current": None, "intensity_comparable": None,
            "annual_rate_pct": None, "chained_pct": None, "by_kind": {},
        }  # fmt: skip
        e = None
        if t is not None:
            try:
                e = t.total(basis)
                row["renewable_share"] = _pct(t.renewable_share(basis))
            except InputError:
                e = None
            kinds: dict[str, int] = {}
            for u in _uses(store, y, [county]).get(county, []):
                k = u.unit_id.split(":", 1)[0]
                kinds[k] = kinds.get(k, 0) + ea.totals([u], None).equivalent_kgce
            row["by_kind"] = kinds
        if e is not None and cur is not None:
            row["intensity_current"] = _f4(ea.intensity(e, cur.value_wan))
        if e is not None and comp is not None:
            i_now = ea.intensity(e, comp.value_wan)
            row["intensity_comparable"] = _f4(i_now)
            prev_t = county_totals(store, y - 1, [county]).get(county)
            prev_g = _gdp(store, county, y - 1, pb)
            if prev_t is not None and prev_g is not None:
                try:
                    i_prev = ea.intensity(prev_t.total(basis), prev_g.value_wan)
                except InputError:
                    i_prev = None
                if i_prev:
                    r = ea.change_rate(i_now, i_prev)
                    row["annual_rate_pct"] = _pct(r)
                    chain.append(r)
                    row["chained_pct"] = _pct(ea.chained(chain))
        out.append(row)
    return out


def savings(store: Store, county: str, year: int, baseline: str,
            basis: str = ea.EQUIVALENT) -> dict[str, Any]:  # fmt: skip
    """Energy saved in *year* against the named *baseline* (output-value method, comparable
    prices of the baseline's price base)."""
    b = store.query("SELECT * FROM energy_baseline WHERE name = ?", [baseline])
    if not b:
        raise NotFoundError(f"baseline {baseline!r}")
    base = b[0]
    if base["county"] != county:
        raise InputError("baseline", f"a baseline of {county}", baseline)
    t = county_totals(store, year, [county]).get(county)
    g = _gdp(store, county, year, int(base["price_base"]))
    if t is None or g is None:
        raise NotFoundError(
            f"energy use and GDP at {base['price_base']} prices for {county} {year}"
        )
    e = t.total(basis)
    s = ea.savings_kgce(e, g.value_wan, _frac(base["intensity"]))
    return {
        "county": county, "year": year, "basis": basis, "baseline": baseline,
        "baseline_year": base["year"], "baseline_intensity": base["intensity"],
        "baseline_source": base["source"], "price_base": base["price_base"],
        "energy_kgce": e, "gdp_wan": str(g.value_wan),
        "intensity": _f4(ea.intensity(e, g.value_wan)), "saved_kgce": s,
        "saved_wan_tce": _kt(s),
    }  # fmt: skip


def attainment(
    store: Store, year: int, counties: Sequence[str] | None = None,
    exclusions: ea.Exclusions = ea.Exclusions(),  # noqa: B008 - frozen dataclass
) -> list[dict[str, Any]]:  # fmt: skip
    """Dual-control attainment of every county target of *year* (notes §2.1–2.2 [S])."""
    where = "year = ?"
    params: list[Any] = [year]
    if counties is not None:
        if not counties:
            return []
        where += f" AND county IN ({', '.join('?' for _ in counties)})"
        params += list(counties)
    out: list[dict[str, Any]] = []
    for t in store.query(f"SELECT * FROM energy_target WHERE {where} ORDER BY county", params):  # noqa: S608
        c, by = t["county"], int(t["base_year"])
        tgt = ea.Target(
            c, year, by, _frac(t["intensity_fall"]),
            None if t["incentive_fall"] is None else _frac(t["incentive_fall"]),
            None if t["total_cap_kgce"] is None else int(t["total_cap_kgce"]), t["basis"],
            t["source"],
        )  # fmt: skip
        now = county_totals(store, year, [c]).get(c)
        base = county_totals(store, by, [c]).get(c)
        g_now, g_base = _gdp(store, c, year, by), _gdp(store, c, by, by)
        row: dict[str, Any] = {
            "county": c, "year": year, "base_year": by, "basis": t["basis"],
            "target_fall_pct": _pct(tgt.intensity_fall),
            "incentive_fall_pct": _pct(tgt.incentive_fall),
            "total_cap_kgce": tgt.total_cap_kgce, "source": t["source"],
            "exclusions": {"feedstock": exclusions.feedstock, "renewable": exclusions.renewable,
                           "renewable_in_intensity": exclusions.renewable_in_intensity},
            "status": "incomplete",
        }  # fmt: skip
        if now is None or base is None or g_now is None or g_base is None:
            row["missing"] = [n for n, v in (("energy", now), ("base-year energy", base),
                              (f"GDP {year} at {by} prices", g_now), (f"GDP {by}", g_base))
                              if v is None]  # fmt: skip
            out.append(row)
            continue
        ren_base = county_totals(store, exclusions.renewable_base_year, [c]).get(c)
        try:
            a = ea.attainment(
                tgt, now, base, g_now.value_wan, g_base.value_wan,
                renewable_base_kwh=ren_base.renewable_electricity_kwh if ren_base else 0,
                renewable_base_kgce=ren_base.renewable(tgt.basis) if ren_base else 0,
                exclusions=exclusions,
            )  # fmt: skip
        except InputError as exc:
            row["missing"] = [exc.rule]
            out.append(row)
            continue
        row.update({
            "status": "met" if a.intensity_met and a.total_met is not False else "missed",
            "energy_kgce": a.energy_kgce, "intensity_energy_kgce": a.intensity_energy_kgce,
            "base_intensity": _f4(a.base_intensity), "intensity": _f4(a.intensity_now),
            "fall_pct": _pct(a.fall), "completion_pct": _pct(a.completion, 1),
            "intensity_met": a.intensity_met, "incentive_met": a.incentive_met,
            "total_met": a.total_met, "total_exempt": a.total_exempt,
            "deductions": a.deductions,
        })  # fmt: skip
        out.append(row)
    return out


def measures(store: Store, counties: Sequence[str] | None = None,
             year: int | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """The register of measures with claimed savings."""
    conds: list[str] = []
    params: list[Any] = []
    if counties is not None:
        if not counties:
            return []
        conds.append(f"county IN ({', '.join('?' for _ in counties)})")
        params += list(counties)
    if year is not None:
        conds.append("year = ?")
        params.append(year)
    where = ("WHERE " + " AND ".join(conds)) if conds else ""
    return store.query(f"SELECT * FROM energy_measure {where} ORDER BY county, year, id", params)  # noqa: S608


# -- reads: reduction accounts ----------------------------------------------------------------
def _site_counties(store: Store) -> dict[str, str]:
    return {s.id: s.region for s in read_sites(store) if s.kind.startswith("source_")}


def source_years(store: Store, year: int) -> list[rd.SourceYear]:
    """What the platform knows about each source's four pollutants in *year*: monitored
    masses (``bishui.sources``), declared and factor entries, permitted quantities."""
    where = _site_counties(store)
    days = (dt.date(year, 12, 31) - dt.date(year, 1, 1)).days + 1
    codes = [v[0] for v in rd.POLLUTANTS.values()]
    acc: dict[tuple[str, str], dict[str, Any]] = {}

    def slot(sid: str, county: str, pol: str) -> dict[str, Any]:
        return acc.setdefault((sid, pol), {"county": county})

    for m in sources_service.annual_mass(store, year, codes):
        c = where.get(m["site_code"])
        if c is None:
            continue
        d = slot(m["site_code"], c, rd.BY_CODE[m["pollutant"]])
        d["monitored_g"], d["days_with_data"] = m["grams"], m["days_with_data"]
    for p in load_permits(store):
        if not (p.valid_from <= dt.date(year, 12, 31) and p.valid_to >= dt.date(year, 1, 1)):
            continue
        c = where.get(p.site_code)
        if c is None:
            continue
        for code, cap in p.annual_caps.items():
            if code in rd.BY_CODE:
                d = slot(p.site_code, c, rd.BY_CODE[code])
                d["permit_g"] = int(cap * rd.G_PER_T)
    for e in store.query("SELECT * FROM emission_entry WHERE year = ?", [year]):
        d = slot(e["source_id"], e["county"], e["pollutant"])
        d[f"{e['basis']}_g"] = int(e["grams"])
    return [
        rd.SourceYear(sid, d["county"], pol, year, d.get("monitored_g"),
                      d.get("days_with_data", 0), days, d.get("declared_g"), d.get("factor_g"),
                      d.get("permit_g"))
        for (sid, pol), d in sorted(acc.items())
    ]  # fmt: skip


def reduction_accounts(
    store: Store, year: int, counties: Sequence[str] | None = None,
    min_coverage: Fraction = rd.DEFAULT_MIN_COVERAGE,
) -> dict[str, Any]:  # fmt: skip
    """Each county's main-pollutant totals of *year*, each source's figure with its basis."""
    figs = rd.choose(source_years(store, year), min_coverage)
    if counties is not None:
        allowed = set(counties)
        figs = [f for f in figs if f.county in allowed]
    totals = rd.county_totals(figs)
    return {
        "year": year,
        "min_coverage": str(Decimal(min_coverage.numerator) / min_coverage.denominator),
        "totals": [{"county": t.county, "pollutant": t.pollutant, "grams": t.grams,
                    "tonnes": str(rd.tonnes(t.grams)), "by_basis": t.by_basis,
                    "sources": t.sources} for t in totals],
        "figures": [{"source_id": f.source_id, "county": f.county, "pollutant": f.pollutant,
                     "grams": f.grams, "tonnes": str(rd.tonnes(f.grams)), "basis": f.basis,
                     "coverage": None if f.coverage is None else _pct(f.coverage, 1)}
                    for f in figs],
    }  # fmt: skip


def _projects(store: Store) -> list[rd.Project]:
    return [
        rd.Project(r["id"], r["county"], r["pollutant"], int(r["year"]), r["kind"],
                   int(r["before_g"]), int(r["after_g"]), r["basis"], bool(r["recognised"]),
                   r["name"])
        for r in store.query("SELECT * FROM emission_project ORDER BY id, pollutant")
    ]  # fmt: skip


def projects(store: Store, counties: Sequence[str] | None = None) -> list[dict[str, Any]]:
    rows = store.query("SELECT * FROM emission_project ORDER BY county, year, id, pollutant")
    if counties is not None:
        rows = [r for r in rows if r["county"] in set(counties)]
    for r in rows:
        r["reduction_g"] = int(r["before_g"]) - int(r["after_g"])
        r["reduction_t"] = str(rd.tonnes(r["reduction_g"]))
    return rows


def reduction_results(
    store: Store, year: int, counties: Sequence[str] | None = None,
    min_coverage: Fraction = rd.DEFAULT_MIN_COVERAGE,
) -> list[dict[str, Any]]:  # fmt: skip
    """Every reduction target of *year* judged from the accounts and the projects."""
    where = "year = ?"
    params: list[Any] = [year]
    if counties is not None:
        if not counties:
            return []
        where += f" AND county IN ({', '.join('?' for _ in counties)})"
        params += list(counties)
    sql = f"SELECT * FROM emission_target WHERE {where} ORDER BY county, pollutant"  # noqa: S608
    targets = store.query(sql, params)
    cache: dict[int, dict[tuple[str, str, int], int]] = {}

    def totals_of(y: int) -> dict[tuple[str, str, int], int]:
        if y not in cache:
            figs = rd.choose(source_years(store, y), min_coverage)
            cache[y] = {(t.county, t.pollutant, t.year): t.grams for t in rd.county_totals(figs)}
        return cache[y]

    projs = _projects(store)
    out = []
    for t in targets:
        tg = rd.ReductionTarget(t["county"], t["pollutant"], int(t["base_year"]), year, t["kind"],
                                Decimal(t["value"]), t["source"])  # fmt: skip
        tot = {**totals_of(tg.base_year), **totals_of(year)}
        r = rd.assess(tg, tot, projs)
        out.append({
            "county": r.county, "pollutant": r.pollutant, "year": r.year,
            "base_year": r.base_year, "kind": r.kind, "target": str(r.target),
            "source": t["source"], "base_t": _t(r.base_g), "now_t": _t(r.now_g),
            "total_cut_t": _t(r.total_cut_g), "total_cut_pct": _pct(r.total_cut),
            "project_cut_t": _t(r.project_cut_g), "unrecognised_t": _t(r.unrecognised_g),
            "new_increment_t": _t(r.new_increment_g), "met": r.met, "projects": r.projects,
        })  # fmt: skip
    return out


def _t(g: int | None) -> str | None:
    v = rd.tonnes(g)
    return None if v is None else str(v)
