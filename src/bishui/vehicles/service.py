"""The store-backed side of vehicle-inspection supervision: registry, uploads and file import,
the daily analysis (verdicts, black box, rules, clones) with its findings, the standard-gas and
patrol comparisons, the old-vehicle register, report codes and public keys, and the alerts
handed to enforcement (:class:`bishui.enforcement.intake.AlertIn`).

Every write goes through ``store.transaction()`` and adds its ``vehicles_audit`` row in the same
transaction. Inputs are checked (:class:`bishui.errors.InputError`) and bounded
(:data:`MAX_SECONDS`, :data:`MAX_IMPORT_ROWS`).
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from bishui.enforcement.intake import INSPECTION_STATION, AlertIn
from bishui.errors import ConflictError, InputError, NotFoundError
from bishui.store import Store, Transaction
from bishui.vehicles import blackbox, gas, oldvehicles, reportcode, risk, rules, selfcheck
from bishui.vehicles.model import (
    CHANNELS,
    METHODS,
    NATURES,
    Capture,
    Finding,
    Inspection,
    ObdCheck,
    Station,
    Vehicle,
    curve,
)

MAX_SECONDS = 1800  # the longest curve accepted (a lug-down completes within ~2 min, notes §A2)
MAX_IMPORT_ROWS = 20000


def _j(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)


def _audit(
    tx: Transaction,
    at: dt.datetime,
    actor: str,
    action: str,
    subject: str,
    detail: Mapping[str, Any],
) -> None:
    row = tx.fetch_one("SELECT MAX(seq) FROM vehicles_audit")
    seq = (row[0] if row and row[0] is not None else 0) + 1
    tx.execute(
        "INSERT INTO vehicles_audit (seq, logged, actor, action, subject, detail) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [seq, at, actor, action, subject, _j(detail)],
    )


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now().replace(microsecond=0)


# --- registry ----------------------------------------------------------------------------


def save_station(store: Store, s: Station, actor: str, now: dt.datetime | None = None) -> None:
    with store.transaction() as tx:
        tx.upsert_rows(
            "vehicles_stations",
            ["code", "name", "region", "uscc", "opens", "closes"],
            ["code"],
            [[s.code, s.name, s.region, s.uscc, s.opens.isoformat(), s.closes.isoformat()]],
        )
        _audit(tx, _now(now), actor, "save_station", s.code, {"name": s.name, "region": s.region})


def save_lane(
    store: Store,
    code: str,
    station: str,
    fuel: str,
    analyser: str,
    actor: str,
    now: dt.datetime | None = None,
) -> None:
    with store.transaction() as tx:
        tx.upsert_rows(
            "vehicles_lanes",
            ["code", "station", "fuel", "analyser"],
            ["code"],
            [[code, station, fuel, analyser]],
        )
        _audit(tx, _now(now), actor, "save_lane", code, {"analyser": analyser})


def save_vehicles(
    store: Store, vs: Sequence[Vehicle], actor: str, now: dt.datetime | None = None
) -> int:
    cols = [
        "vin",
        "plate",
        "fuel",
        "mass_kg",
        "rated_power_kw",
        "stage",
        "model",
        "obd_cal_id",
        "obd_cvn",
        "region",
    ]
    rows = [
        [
            v.vin,
            v.plate,
            v.fuel,
            v.mass_kg,
            v.rated_power_kw,
            v.stage,
            v.model,
            v.obd_cal_id,
            v.obd_cvn,
            v.region,
        ]
        for v in vs
    ]
    with store.transaction() as tx:
        tx.upsert_rows("vehicles_vehicles", cols, ["vin"], rows)
        _audit(tx, _now(now), actor, "save_vehicles", "", {"count": len(rows)})
    return len(rows)


def stations(store: Store) -> dict[str, Station]:
    return {
        r["code"]: Station(
            r["code"],
            r["name"],
            r["region"],
            dt.time.fromisoformat(r["opens"]),
            dt.time.fromisoformat(r["closes"]),
            r["uscc"],
        )
        for r in store.query("SELECT * FROM vehicles_stations ORDER BY code")
    }


def vehicles(store: Store) -> dict[str, Vehicle]:
    return {
        r["vin"]: Vehicle(
            r["vin"],
            r["plate"],
            r["fuel"],
            int(r["mass_kg"]),
            float(r["rated_power_kw"]),
            int(r["stage"]),
            r["model"],
            r["obd_cal_id"],
            r["obd_cvn"],
            r["region"],
        )
        for r in store.query("SELECT * FROM vehicles_vehicles")
    }


def lane_analysers(store: Store) -> dict[str, str]:
    return {
        r["code"]: r["analyser"] for r in store.query("SELECT code, analyser FROM vehicles_lanes")
    }


# --- uploads -----------------------------------------------------------------------------


def _curve_in(method: str, raw: Any, field: str) -> dict[str, np.ndarray]:
    if not isinstance(raw, Mapping) or not raw:
        raise InputError(field, "an object channel → list of per-second values", type(raw).__name__)
    unknown = set(raw) - set(CHANNELS[method]) if method else set()
    if unknown:
        raise InputError(
            field, f"channels of {method}: {', '.join(CHANNELS[method])}", sorted(unknown)
        )
    for k, v in raw.items():
        if not isinstance(v, list) or len(v) > MAX_SECONDS:
            raise InputError(
                f"{field}.{k}", f"a list of at most {MAX_SECONDS} values", type(v).__name__
            )
    try:
        return curve({k: [np.nan if x is None else float(x) for x in v] for k, v in raw.items()})
    except (TypeError, ValueError) as e:
        raise InputError(field, "numbers", str(e)) from None


def _time(v: Any, field: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(str(v))
    except ValueError:
        raise InputError(field, "an ISO date-time (Asia/Shanghai)", v) from None
    return t.replace(tzinfo=None)


def _obd_in(d: Any) -> ObdCheck | None:
    if d is None:
        return None
    if not isinstance(d, Mapping):
        raise InputError("obd", "an object of OBD check fields or null", str(d)[:64])
    return ObdCheck.from_dict(d)


def _obd_out(v: Any) -> ObdCheck | None:
    if v is None:
        return None
    return ObdCheck.from_dict(json.loads(v) if isinstance(v, str) else v)


def parse_inspection(d: Mapping[str, Any]) -> Inspection:
    """An :class:`Inspection` from an uploaded JSON object (fields as the model's)."""
    for f in (
        "id",
        "station",
        "lane",
        "vin",
        "plate",
        "method",
        "start",
        "claimed_result",
        "curve",
    ):
        if f not in d:
            raise InputError(f, "required", None)
    method = str(d["method"])
    if method not in METHODS:
        raise InputError("method", f"one of {sorted(METHODS)}", method)
    nature = str(d.get("nature", "initial"))
    if nature not in NATURES:
        raise InputError("nature", f"one of {sorted(NATURES)}", nature)
    for f in ("id", "station", "lane", "vin", "plate"):
        if not isinstance(d[f], str) or not 0 < len(d[f]) <= 64:
            raise InputError(f, "text of 1 to 64 characters", d[f])
    c = _curve_in(method, d["curve"], "curve")
    missing = [ch for ch in CHANNELS[method] if ch not in c]
    if missing:
        raise InputError("curve", "every channel of the method", missing)
    rp = d.get("rated_power_kw")
    try:
        return Inspection(
            d["id"],
            d["station"],
            d["lane"],
            d["vin"],
            d["plate"],
            method,
            _time(d["start"], "start"),
            nature,
            int(d["claimed_result"]),
            c,
            rated_power_kw=None if rp is None else float(rp),
            obd_cal_id=str(d.get("obd_cal_id", "")),
            obd_cvn=str(d.get("obd_cvn", "")),
            analyser=str(d.get("analyser", "")),
            vehicle_model=str(d.get("vehicle_model", "")),
            fuel=str(d.get("fuel", "gasoline")),
            obd=_obd_in(d.get("obd")),
        )
    except (TypeError, ValueError) as e:
        if isinstance(e, InputError):
            raise
        raise InputError("inspection", "well-formed", str(e)) from None


def parse_capture(d: Mapping[str, Any]) -> Capture:
    for f in ("inspection_id", "box_serial", "start", "curve"):
        if f not in d:
            raise InputError(f, "required", None)
    return Capture(
        str(d["inspection_id"]),
        str(d["box_serial"]),
        str(d.get("analyser", "")),
        _time(d["start"], "start"),
        _curve_in("", d["curve"], "curve"),
    )


def _curve_json(c: Mapping[str, np.ndarray]) -> str:
    return _j(
        {k: [None if not np.isfinite(x) else float(x) for x in v.tolist()] for k, v in c.items()}
    )


def upload(
    store: Store,
    tests: Sequence[Inspection],
    actor: str,
    source: str = "api",
    now: dt.datetime | None = None,
) -> int:
    """Store inspection records; a test id already stored is a conflict (records are not
    edited)."""
    at = _now(now)
    with store.transaction() as tx:
        ids = [t.id for t in tests]
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ", ".join("?" for _ in chunk)
            dup = tx.fetch(f"SELECT id FROM vehicles_inspections WHERE id IN ({marks})", chunk)  # noqa: S608
            if dup:
                raise ConflictError(f"inspection already stored: {dup[0][0]}")
        rows = [
            [
                t.id,
                t.station,
                t.lane,
                t.vin,
                t.plate,
                t.method,
                t.start,
                t.nature,
                t.claimed_result,
                t.rated_power_kw,
                t.obd_cal_id,
                t.obd_cvn,
                t.analyser,
                t.vehicle_model,
                t.fuel,
                _curve_json(t.curve),
                at,
                source,
                None if t.obd is None else _j(t.obd.as_dict()),
            ]
            for t in tests
        ]
        tx.insert_rows("vehicles_inspections", INSPECTION_COLS, rows)
        _audit(tx, at, actor, "upload_inspections", "", {"count": len(rows), "source": source})
    return len(tests)


INSPECTION_COLS = [
    "id",
    "station",
    "lane",
    "vin",
    "plate",
    "method",
    "start",
    "nature",
    "claimed_result",
    "rated_power_kw",
    "obd_cal_id",
    "obd_cvn",
    "analyser",
    "vehicle_model",
    "fuel",
    "curve",
    "received",
    "source",
    "obd",
]


def upload_captures(
    store: Store, caps: Sequence[Capture], actor: str, now: dt.datetime | None = None
) -> int:
    """Store black-box captures (the box's own channel; a second capture of a test is refused)."""
    at = _now(now)
    with store.transaction() as tx:
        for c in caps:
            if tx.fetch_one(
                "SELECT 1 FROM vehicles_captures WHERE inspection_id = ?", [c.inspection_id]
            ):
                raise ConflictError(f"capture already stored: {c.inspection_id}")
        tx.insert_rows(
            "vehicles_captures",
            ["inspection_id", "box_serial", "analyser", "start", "curve", "received"],
            [
                [c.inspection_id, c.box_serial, c.analyser, c.start, _curve_json(c.curve), at]
                for c in caps
            ],
        )
        _audit(tx, at, actor, "upload_captures", "", {"count": len(caps)})
    return len(caps)


def import_jsonl(
    store: Store, text: str, actor: str, now: dt.datetime | None = None
) -> dict[str, int]:
    """A file import: one JSON object a line, ``{"kind": "inspection" | "capture", ...}``;
    the whole file or nothing (an error names its row)."""
    tests: list[Inspection] = []
    caps: list[Capture] = []
    lines = [x for x in text.splitlines() if x.strip()]
    if len(lines) > MAX_IMPORT_ROWS:
        raise InputError("file", f"at most {MAX_IMPORT_ROWS} rows", len(lines))
    for n, line in enumerate(lines, 1):
        try:
            d = json.loads(line)
            if not isinstance(d, dict):
                raise InputError("row", "a JSON object", type(d).__name__)
            kind = d.get("kind")
            if kind == "inspection":
                tests.append(parse_inspection(d))
            elif kind == "capture":
                caps.append(parse_capture(d))
            else:
                raise InputError("kind", "inspection or capture", kind)
        except json.JSONDecodeError as e:
            raise InputError("row", "JSON", str(e), row=n) from None
        except InputError as e:
            raise InputError(e.field, e.rule, e.value, row=n) from None
    upload(store, tests, actor, "file", now)
    if caps:
        upload_captures(store, caps, actor, now)
    return {"inspections": len(tests), "captures": len(caps)}


def _curve_out(v: Any) -> dict[str, np.ndarray]:
    d = json.loads(v) if isinstance(v, str) else v
    return {
        k: np.array([np.nan if x is None else x for x in xs], dtype=np.float64)
        for k, xs in d.items()
    }


def _day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    if last < first or last >= dt.date.max:
        raise InputError("last", "a day on or after the first, before 9999-12-31", last.isoformat())
    return dt.datetime.combine(first, dt.time()), dt.datetime.combine(
        last + dt.timedelta(days=1), dt.time()
    )


def inspections(store: Store, first: dt.date, last: dt.date) -> list[Inspection]:
    a, b = _day_bounds(first, last)
    rows = store.query(
        "SELECT * FROM vehicles_inspections WHERE start >= ? AND start < ? ORDER BY start, id",
        [a, b],
    )
    return [
        Inspection(
            r["id"],
            r["station"],
            r["lane"],
            r["vin"],
            r["plate"],
            r["method"],
            r["start"],
            r["nature"],
            int(r["claimed_result"]),
            _curve_out(r["curve"]),
            rated_power_kw=r["rated_power_kw"],
            obd_cal_id=r["obd_cal_id"],
            obd_cvn=r["obd_cvn"],
            analyser=r["analyser"],
            vehicle_model=r["vehicle_model"],
            fuel=r["fuel"],
            obd=_obd_out(r.get("obd")),
        )
        for r in rows
    ]


def captures(store: Store, ids: Sequence[str]) -> dict[str, Capture]:
    out: dict[str, Capture] = {}
    for i in range(0, len(ids), 500):
        chunk = list(ids[i : i + 500])
        marks = ", ".join("?" for _ in chunk)
        sql = f"SELECT * FROM vehicles_captures WHERE inspection_id IN ({marks})"  # noqa: S608
        for r in store.query(sql, chunk):
            out[r["inspection_id"]] = Capture(
                r["inspection_id"],
                r["box_serial"],
                r["analyser"],
                r["start"],
                _curve_out(r["curve"]),
            )
    return out


# --- analysis and findings ---------------------------------------------------------------


def finding_id(f: Finding) -> str:
    return hashlib.sha256(f"{f.rule_id}|{f.station}|{f.subject}".encode()).hexdigest()[:24]


def analyse(
    store: Store,
    first: dt.date,
    last: dt.date,
    actor: str,
    now: dt.datetime | None = None,
    *,
    require_daily_check: bool = False,
) -> list[Finding]:
    """Every rule over the tests of *first*…*last*; findings stored (a finding found again
    keeps its id). Returns the findings. With *require_daily_check*, an analyser's tests on a
    day without its self-check that day are ``GAS_MISSING`` (notes §A3b rule 16)."""
    tests = inspections(store, first, last)
    st = stations(store)
    caps = captures(store, [t.id for t in tests])
    lanes = lane_analysers(store)
    found: list[Finding] = []
    for t in tests:
        found += blackbox.compare(t, caps.get(t.id), lanes.get(t.lane, ""))
        found += blackbox.event_findings(t, caps.get(t.id))
        s = st.get(t.station)
        found += rules.record_findings(t, s, s.region if s else "420800")
    found += rules.clone_findings(tests)
    found += rules.fast_retest_findings(tests)
    found += rules.obd_cleared_findings(tests)
    found += rules.registry_findings(tests, vehicles(store))
    at = _now(now)
    found += rules.pass_rate_findings(tests, at)
    found += _gas_findings(store, tests, at)
    found += _patrol_findings(store, st, at)
    if require_daily_check:
        found += _missing_check_findings(store, tests)
    found += old_diesel_findings(store, first, last)
    checks = selfchecks(store)
    if checks:  # a deployment whose stations upload self-checks (selfcheck.py)
        found += selfcheck.findings(checks, tests, require_daily=require_daily_check)
    at = _now(now)
    with store.transaction() as tx:
        tx.upsert_rows(
            "vehicles_findings",
            ["id", "rule_id", "severity", "station", "subject", "evidence", "seen", "found"],
            ["id"],
            [
                [
                    finding_id(f),
                    f.rule_id,
                    f.severity,
                    f.station,
                    f.subject,
                    _j(f.evidence),
                    f.at,
                    at,
                ]
                for f in found
            ],
        )
        _audit(
            tx,
            at,
            actor,
            "analyse",
            f"{first}..{last}",
            {"tests": len(tests), "findings": len(found)},
        )
    return found


def old_diesel_findings(
    store: Store, first: dt.date, last: dt.date, p: rules.RuleParams | None = None
) -> list[Finding]:
    """OLD_DIESEL over *first*…*last*, each station-day against the station's own history
    (``old_diesel_history_days`` before) and its peers: the tests read without their curves;
    a vehicle is old diesel by the registry's fuel and emission stage (the record's fuel where
    the registry has no row; an unknown stage is not old)."""
    p = p or rules.RuleParams()
    a, b = _day_bounds(first - dt.timedelta(days=p.old_diesel_history_days), last)
    rows = store.query(
        "SELECT station, start, vin, fuel, claimed_result FROM vehicles_inspections "
        "WHERE start >= ? AND start < ?",
        [a, b],
    )
    if not rows:
        return []
    reg = {
        r["vin"]: (r["fuel"], int(r["stage"]))
        for r in store.query("SELECT vin, fuel, stage FROM vehicles_vehicles")
    }
    old = []
    for r in rows:
        fuel, stage = reg.get(r["vin"], (r["fuel"], None))
        old.append(fuel == "diesel" and stage is not None and stage <= p.old_diesel_max_stage)
    return rules.old_diesel_findings(
        [r["station"] for r in rows],
        [r["start"].date() for r in rows],
        old,
        [int(r["claimed_result"]) == 1 for r in rows],
        first,
        p,
    )


def findings(store: Store, station: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    sql = "SELECT * FROM vehicles_findings"
    params: list[Any] = []
    if station:
        sql += " WHERE station = ?"
        params.append(station)
    sql += " ORDER BY seen DESC, id LIMIT ?"
    params.append(min(max(int(limit), 1), 5000))
    rows = store.query(sql, params)
    for r in rows:
        r["evidence"] = (
            json.loads(r["evidence"]) if isinstance(r["evidence"], str) else r["evidence"]
        )
        r["rule_name"] = rules.RULES.get(r["rule_id"], (r["rule_id"], ""))[0]
        r["rule_source"] = rules.RULES.get(r["rule_id"], ("", ""))[1]
    return rows


def ranking(store: Store, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """The station risk ranking over the stored findings of tests in the period."""
    a, b = _day_bounds(first, last)
    tests = collections.Counter(
        r["station"]
        for r in store.query(
            "SELECT station FROM vehicles_inspections WHERE start >= ? AND start < ?", [a, b]
        )
    )
    fs = [
        Finding(r["rule_id"], r["severity"], r["station"], r["subject"], {}, r["seen"])
        for r in store.query(
            "SELECT rule_id, severity, station, subject, seen FROM vehicles_findings "
            "WHERE seen >= ? AND seen < ?",
            [a, b],
        )
    ]
    for s in stations(store):
        tests.setdefault(s, 0)
    return risk.scores(fs, dict(tests))


def alerts(
    found: Iterable[Finding], st: Mapping[str, Station], min_severity: str = "high"
) -> list[AlertIn]:
    """The findings at *min_severity* or above as enforcement alerts: the station is the
    subject (an enterprise, its credit code; site = station code, pollutant = rule id)."""
    order = {"low": 0, "medium": 1, "high": 2}
    out = []
    for f in found:
        s = st.get(f.station)
        if s is None or not s.uscc or order[f.severity] < order[min_severity]:
            continue
        out.append(
            AlertIn(
                key=f"vehicles:{finding_id(f)}",
                rule_id=f"vehicles.{f.rule_id}",
                severity=f.severity,
                site_code=f.station,
                pollutant=f.rule_id,
                start=f.at,
                end=f.at,
                evidence={"subject": f.subject, **dict(f.evidence)},
                uscc=s.uscc,
                subject_kind=INSPECTION_STATION,
                region=s.region,
                subject_name=s.name,
            )
        )
    return out


def route_alerts(store: Store, found: Iterable[Finding], now: dt.datetime | None = None) -> int:
    """Hand the findings to enforcement's intake; the number of alerts handed in."""
    from bishui.enforcement import service as enforcement

    st = stations(store)
    items = alerts(found, st)
    if items:
        enforcement.raise_alerts(store, items, {s.code: s.region for s in st.values()}, now=now)
    return len(items)


# --- standard gas, patrol ----------------------------------------------------------------


def record_gas_check(
    store: Store,
    c: gas.GasCheck,
    actor: str,
    tolerance_set: str = "B",
    now: dt.datetime | None = None,
) -> bool:
    if c.kind not in gas.KINDS:
        raise InputError("kind", f"one of {sorted(gas.KINDS)}", c.kind)
    if c.level not in ("low", "high"):
        raise InputError("level", "low or high", c.level)
    ok = gas.passed(c, tolerance_set)
    cid = hashlib.sha256(
        f"{c.analyser}|{c.at.isoformat()}|{c.kind}|{c.level}".encode()
    ).hexdigest()[:20]
    with store.transaction() as tx:
        tx.upsert_rows(
            "vehicles_gas_checks",
            [
                "id",
                "analyser",
                "station",
                "checked",
                "kind",
                "level",
                "certified",
                "measured",
                "tolerance_set",
                "passed",
            ],
            ["id"],
            [
                [
                    cid,
                    c.analyser,
                    c.station,
                    c.at,
                    c.kind,
                    c.level,
                    _j(c.certified),
                    _j(c.measured),
                    tolerance_set,
                    ok,
                ]
            ],
        )
        _audit(tx, _now(now), actor, "gas_check", c.analyser, {"kind": c.kind, "passed": ok})
    return ok


def gas_checks(store: Store) -> list[dict[str, Any]]:
    rows = store.query("SELECT * FROM vehicles_gas_checks ORDER BY analyser, checked")
    for r in rows:
        for k in ("certified", "measured"):
            r[k] = json.loads(r[k]) if isinstance(r[k], str) else r[k]
        check = gas.GasCheck(
            r["analyser"],
            r["station"],
            r["checked"],
            r["kind"],
            r["level"],
            r["certified"],
            r["measured"],
        )
        r["detail"] = gas.judge(check, r["tolerance_set"])
    return rows


def _gas_findings(store: Store, tests: Sequence[Inspection], at: dt.datetime) -> list[Finding]:
    """GAS_FAIL: tests by an analyser after a failed check and before its next pass."""
    sql = "SELECT analyser, checked, passed FROM vehicles_gas_checks ORDER BY checked"
    checks = store.query(sql)
    by: dict[str, list[dict[str, Any]]] = {}
    for r in checks:
        by.setdefault(r["analyser"], []).append(r)
    out = []
    for an, cs in by.items():
        mine = [t for t in tests if t.analyser == an]
        if not mine:
            continue
        bad = gas.invalidated(
            [c["checked"].timestamp() for c in cs],
            [bool(c["passed"]) for c in cs],
            [t.start.timestamp() for t in mine],
        )
        for t, b in zip(mine, bad.tolist(), strict=True):
            if b:
                out.append(
                    Finding(
                        "GAS_FAIL",
                        "high",
                        t.station,
                        t.id,
                        {"analyser": an, "reason": "analyser failed its last gas check"},
                        t.start,
                    )
                )
    return out


def record_patrol(
    store: Store, rows: Sequence[Mapping[str, Any]], actor: str, now: dt.datetime | None = None
) -> int:
    """Patrol comparisons: kind ``reference`` (the reference vehicle at a station: station_value
    and no regulator result) or ``retest`` (the mobile unit's re-test: reference_value is the
    regulator's reading, regulator_passed its result)."""
    out = []
    for n, r in enumerate(rows, 1):
        if r.get("kind") not in ("reference", "retest"):
            raise InputError("kind", "reference or retest", r.get("kind"), row=n)
        at = _time(r["at"], "at")
        pid = hashlib.sha256(
            f"{r['kind']}|{r['station']}|{at}|{r.get('vin', '')}|{r['pollutant']}".encode()
        ).hexdigest()[:20]
        out.append(
            [
                pid,
                r["kind"],
                r["station"],
                at,
                r.get("vin", ""),
                r["pollutant"],
                float(r["station_value"]),
                None if r.get("reference_value") is None else float(r["reference_value"]),
                r.get("regulator_passed"),
            ]
        )
    with store.transaction() as tx:
        tx.upsert_rows(
            "vehicles_patrol",
            [
                "id",
                "kind",
                "station",
                "tested",
                "vin",
                "pollutant",
                "station_value",
                "reference_value",
                "regulator_passed",
            ],
            ["id"],
            out,
        )
        _audit(tx, _now(now), actor, "patrol", "", {"count": len(out)})
    return len(out)


def patrol_summary(store: Store) -> dict[str, Any]:
    from bishui.vehicles import patrol

    ref: dict[str, dict[str, float]] = {}
    pairs = []
    for r in store.query("SELECT * FROM vehicles_patrol ORDER BY tested"):
        if r["kind"] == "reference":
            ref.setdefault(r["station"], {})[r["pollutant"]] = float(r["station_value"])
        elif r["reference_value"] is not None:
            pairs.append(
                (
                    r["station"],
                    bool(r["regulator_passed"]),
                    float(r["station_value"]),
                    float(r["reference_value"]),
                )
            )
    return {
        "reference": patrol.reference_outliers(ref) if ref else {},
        "retest": patrol.retest_discordance(pairs),
    }


# --- old vehicles ------------------------------------------------------------------------


def save_old(
    store: Store, es: Sequence[oldvehicles.OldVehicle], actor: str, now: dt.datetime | None = None
) -> int:
    with store.transaction() as tx:
        tx.upsert_rows(
            "vehicles_old",
            ["vin", "plate", "region", "fuel", "stage", "deadline", "status", "evidence", "closed"],
            ["vin"],
            [
                [
                    e.vin,
                    e.plate,
                    e.region,
                    e.fuel,
                    e.stage,
                    e.deadline,
                    e.status,
                    e.evidence,
                    e.closed,
                ]
                for e in es
            ],
        )
        _audit(tx, _now(now), actor, "save_old", "", {"count": len(es)})
    return len(es)


def old_register(store: Store) -> list[oldvehicles.OldVehicle]:
    return [
        oldvehicles.OldVehicle(
            r["vin"],
            r["plate"],
            r["region"],
            r["fuel"],
            int(r["stage"]),
            r["deadline"],
            r["status"],
            r["evidence"],
            r["closed"],
        )
        for r in store.query("SELECT * FROM vehicles_old ORDER BY region, deadline, vin")
    ]


def close_old(
    store: Store,
    vin: str,
    status: str,
    evidence: str,
    on: dt.date,
    actor: str,
    now: dt.datetime | None = None,
) -> oldvehicles.OldVehicle:
    cur = [e for e in old_register(store) if e.vin == vin]
    if not cur:
        raise NotFoundError(f"no old vehicle {vin}")
    e = oldvehicles.close(cur[0], status, evidence, on)
    with store.transaction() as tx:
        tx.execute(
            "UPDATE vehicles_old SET status = ?, evidence = ?, closed = ? WHERE vin = ?",
            [e.status, e.evidence, e.closed, vin],
        )
        _audit(tx, _now(now), actor, "close_old", vin, {"status": status, "evidence": e.evidence})
    return e


# --- report codes ------------------------------------------------------------------------


def publish_key(
    store: Store, key: reportcode.PublicKey, actor: str, now: dt.datetime | None = None
) -> None:
    d = key.as_dict()
    with store.transaction() as tx:
        tx.upsert_rows(
            "vehicles_keys",
            ["key_id", "ed25519", "valid_from", "valid_to"],
            ["key_id"],
            [[key.key_id, d["ed25519"], key.valid_from, key.valid_to]],
        )
        _audit(tx, _now(now), actor, "publish_key", key.key_id, d)


def public_keys(store: Store) -> dict[str, reportcode.PublicKey]:
    import base64

    out = {}
    for r in store.query("SELECT * FROM vehicles_keys ORDER BY valid_from"):
        raw = base64.urlsafe_b64decode(r["ed25519"] + "=" * (-len(r["ed25519"]) % 4))
        out[r["key_id"]] = reportcode.PublicKey(r["key_id"], raw, r["valid_from"], r["valid_to"])
    return out


def issue_report(
    store: Store,
    inspection_id: str,
    key_id: str,
    sk: Any,
    base_url: str,
    actor: str,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The report number and the QR payload of a stored inspection (the platform's result:
    the recomputed verdict, not the station's claim, when they differ)."""
    rows = store.query("SELECT * FROM vehicles_inspections WHERE id = ?", [inspection_id])
    if not rows:
        raise NotFoundError(f"no inspection {inspection_id}")
    r = rows[0]
    st = stations(store).get(r["station"])
    region = st.region if st else "420800"
    from bishui.vehicles.limits import limits_for
    from bishui.vehicles.verdict import recompute

    lim = limits_for(r["method"], "*", region, r["start"].date())
    v = recompute(r["method"], _curve_out(r["curve"]), lim, r["rated_power_kw"])
    report_no = f"{region}{r['start']:%Y%m%d}{inspection_id[-6:]}"
    summary = {
        "report_no": report_no,
        "vin": r["vin"],
        "plate": r["plate"],
        "station": r["station"],
        "date": r["start"].date().isoformat(),
        "method": r["method"],
        "result": str(v.result),
        "limits_version": lim.version,
    }
    payload = reportcode.sign(summary, key_id, sk, base_url)
    at = _now(now)
    with store.transaction() as tx:
        if tx.fetch_one("SELECT 1 FROM vehicles_reports WHERE report_no = ?", [report_no]):
            raise ConflictError(f"report already issued: {report_no}")
        tx.insert_rows(
            "vehicles_reports",
            ["report_no", "inspection_id", "key_id", "summary", "payload", "issued"],
            [[report_no, inspection_id, key_id, _j(summary), payload, at]],
        )
        _audit(
            tx,
            at,
            actor,
            "issue_report",
            report_no,
            {"inspection": inspection_id, "key_id": key_id},
        )
    return {"report_no": report_no, "payload": payload, "summary": summary}


def lookup(store: Store, report_no: str) -> dict[str, Any]:
    rows = store.query("SELECT * FROM vehicles_reports WHERE report_no = ?", [report_no])
    if not rows:
        raise NotFoundError(f"no report {report_no}")
    r = rows[0]
    r["summary"] = json.loads(r["summary"]) if isinstance(r["summary"], str) else r["summary"]
    return r


def verify_code(store: Store, payload: str) -> reportcode.Verification:
    """Online verification: the signature with the published keys, then the stored record."""
    if len(payload) > 2000:
        raise InputError("code", "at most 2000 characters", len(payload))
    first = reportcode.verify(payload, public_keys(store))
    if not first.ok:
        return first
    try:
        stored = lookup(store, first.summary["report_no"])["summary"]
    except NotFoundError:
        return reportcode.Verification(
            False, "unknown_report", "the platform has no such report", first.summary
        )
    return reportcode.verify(
        payload, public_keys(store), stored={**stored, "key_id": first.summary["key_id"]}
    )


def load_simulation(
    store: Store,
    day: Any,
    actor: str,
    now: dt.datetime | None = None,
    *,
    skip_captures: Collection[str] = (),
) -> dict[str, int]:
    """Store a simulated day (:func:`bishui.vehicles.simulate.simulate`) with its extras: the
    registry, both channels, gas checks, patrol comparisons and the old-vehicle register.
    The captures of *skip_captures* (inspection ids) are left out: the caller sends them over
    the box's own channel (:func:`upload_capture_frames`, the demo)."""
    from bishui.vehicles.simulate import extras

    for s in day.stations.values():
        save_station(store, s, actor, now)
    for lane, an in day.analysers.items():
        fuel = "diesel" if lane.endswith(("L2", "L4")) else "gasoline"
        save_lane(store, lane, lane.split("-")[0], fuel, an, actor, now)
    save_vehicles(store, list(day.vehicles.values()), actor, now)
    upload(store, day.inspections, actor, "simulator", now)
    direct = [c for c in day.captures.values() if c.inspection_id not in skip_captures]
    upload_captures(store, direct, actor, now)
    checks, patrol_rows, old = extras(day)
    for c in checks:
        record_gas_check(store, c, actor, now=now)
    record_patrol(store, patrol_rows, actor, now)
    save_old(store, old, actor, now)
    return {
        "inspections": len(day.inspections),
        "captures": len(direct),
        "gas_checks": len(checks),
        "patrol": len(patrol_rows),
        "old": len(old),
    }


def _patrol_findings(store: Store, st: Mapping[str, Station], at: dt.datetime) -> list[Finding]:
    """PATROL: a station that is an outlier in either patrol-vehicle comparison."""
    s = patrol_summary(store)
    out = []
    for code, items in s["reference"].items():
        bad = {k: v for k, v in items.items() if v["outlier"]}
        if bad:
            ev = {"reading": "reference", **{k: round(v["ratio"], 3) for k, v in bad.items()}}
            out.append(Finding("PATROL", "high", code, code, ev, at))
    for code, v in s["retest"].items():
        if v["outlier"]:
            ev = {"reading": "retest", "n": v["n"], "discordant": v["discordant"]}
            out.append(Finding("PATROL", "high", code, f"{code}:retest", ev, at))
    return out


def _missing_check_findings(store: Store, tests: Sequence[Inspection]) -> list[Finding]:
    """GAS_MISSING: an analyser's first test of a day with no self-check earlier that day."""
    checks = store.query("SELECT analyser, checked FROM vehicles_gas_checks WHERE kind = 'self'")
    seen: dict[str, list[dt.datetime]] = {}
    for r in checks:
        seen.setdefault(r["analyser"], []).append(r["checked"])
    first: dict[tuple[str, dt.date], Inspection] = {}
    for t in sorted(tests, key=lambda t: t.start):
        first.setdefault((t.analyser, t.start.date()), t)
    out = []
    for (an, day), t in first.items():
        if not any(c.date() == day and c <= t.start for c in seen.get(an, [])):
            ev = {"analyser": an, "day": day.isoformat()}
            out.append(Finding("GAS_MISSING", "medium", t.station, t.id, ev, t.start))
    return out


def refresh(store: Store, now: dt.datetime) -> list[Finding]:
    """The platform's periodic task: once the day is over, analyse the previous day's tests
    (once: a day already analysed is left) and hand the high findings to enforcement."""
    day = now.date() - dt.timedelta(days=1)
    subject = f"{day}..{day}"
    done = store.query(
        "SELECT 1 AS x FROM vehicles_audit WHERE action = 'analyse' AND subject = ? LIMIT 1",
        [subject],
    )
    if done:
        return []
    a, b = _day_bounds(day, day)
    if not store.query(
        "SELECT 1 AS x FROM vehicles_inspections WHERE start >= ? AND start < ? LIMIT 1", [a, b]
    ):
        return []
    found = analyse(store, day, day, "platform", now)
    route_alerts(store, found, now=now)
    return found


def register(
    store: Store, data: Mapping[str, Any], actor: str, now: dt.datetime | None = None
) -> dict[str, int]:
    """The registry from a JSON object: ``stations`` (code, name, region, uscc, opens, closes),
    ``lanes`` (code, station, fuel, analyser) and ``vehicles`` (the :class:`Vehicle` fields).
    Checked first, then written; each part audited."""
    from bishui.registry.uscc import is_valid

    sts, lanes, vs = [], [], []
    try:
        for n, d in enumerate(data.get("stations", []), 1):
            uscc = str(d.get("uscc", ""))
            if uscc and not is_valid(uscc):
                raise InputError(
                    "uscc", "a valid unified social credit code (GB 32100)", uscc, row=n
                )
            sts.append(
                Station(
                    str(d["code"]),
                    str(d["name"]),
                    str(d["region"]),
                    dt.time.fromisoformat(d.get("opens", "08:00")),
                    dt.time.fromisoformat(d.get("closes", "18:00")),
                    uscc,
                )
            )
        for n, d in enumerate(data.get("lanes", []), 1):
            if d.get("fuel") not in ("gasoline", "diesel"):
                raise InputError("fuel", "gasoline or diesel", d.get("fuel"), row=n)
            lanes.append(
                (str(d["code"]), str(d["station"]), str(d["fuel"]), str(d.get("analyser", "")))
            )
        for d in data.get("vehicles", []):
            vs.append(
                Vehicle(
                    str(d["vin"]),
                    str(d["plate"]),
                    str(d["fuel"]),
                    int(d["mass_kg"]),
                    float(d["rated_power_kw"]),
                    int(d["stage"]),
                    str(d.get("model", "")),
                    str(d.get("obd_cal_id", "")),
                    str(d.get("obd_cvn", "")),
                    str(d.get("region", "")),
                )
            )
    except KeyError as e:
        raise InputError(str(e.args[0]), "required", None) from None
    except (TypeError, ValueError) as e:
        if isinstance(e, InputError):
            raise
        raise InputError("registry", "well-formed values", str(e)) from None
    if len(sts) + len(lanes) + len(vs) > MAX_IMPORT_ROWS:
        raise InputError(
            "registry", f"at most {MAX_IMPORT_ROWS} entries", len(sts) + len(lanes) + len(vs)
        )
    for s in sts:
        save_station(store, s, actor, now)
    for code, station, fuel, analyser in lanes:
        save_lane(store, code, station, fuel, analyser, actor, now)
    if vs:
        save_vehicles(store, vs, actor, now)
    return {"stations": len(sts), "lanes": len(lanes), "vehicles": len(vs)}


def register_box(
    store: Store,
    serial: str,
    lane: str,
    public_b64: str,
    actor: str,
    now: dt.datetime | None = None,
) -> None:
    """Register a black box and its Ed25519 public key (base64url, 32 bytes)."""
    import base64

    try:
        raw = base64.urlsafe_b64decode(public_b64 + "=" * (-len(public_b64) % 4))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise InputError("ed25519", "a 32-byte public key, base64url", public_b64)
    with store.transaction() as tx:
        tx.upsert_rows(
            "vehicles_boxes",
            ["serial", "lane", "ed25519"],
            ["serial"],
            [[serial, lane, public_b64]],
        )
        _audit(tx, _now(now), actor, "register_box", serial, {"lane": lane, "ed25519": public_b64})


def check_signatures(store: Store, caps: Sequence[Capture], signatures: Sequence[str]) -> None:
    """Every capture signed by its registered box, else InputError (row = its position)."""
    from bishui.vehicles import boxsign

    keys = {
        r["serial"]: r["ed25519"] for r in store.query("SELECT serial, ed25519 FROM vehicles_boxes")
    }
    for n, (c, sig) in enumerate(zip(caps, signatures, strict=True), 1):
        key = keys.get(c.box_serial)
        if key is None:
            raise InputError("box_serial", "a registered black box", c.box_serial, row=n)
        if not sig or not boxsign.verify(c, sig, key):
            raise InputError(
                "signature", "the box's Ed25519 signature of the capture", sig[:16], row=n
            )


def upload_capture_frames(
    store: Store, data: bytes, actor: str, now: dt.datetime | None = None
) -> int:
    """Black-box captures sent as HJ 212 frames (:mod:`bishui.vehicles.boxframe`): decoded,
    every signature checked against its box's registered key, then stored — all or nothing."""
    from bishui.vehicles import boxframe

    if len(data) > MAX_FRAME_BYTES:
        raise InputError("frames", f"at most {MAX_FRAME_BYTES} bytes", len(data))
    got = boxframe.decode(data)
    if not got:
        raise InputError("frames", "at least one whole capture", 0)
    return accept_signed(store, [r.capture for r in got], [r.signature for r in got], actor, now)


def accept_signed(
    store: Store,
    caps: Sequence[Capture],
    signatures: Sequence[str],
    actor: str,
    now: dt.datetime | None = None,
) -> int:
    """Captures off the box's channel (the HTTP route or the TCP listener): every signature
    checked against its box's registered key, then all stored, or none."""
    check_signatures(store, caps, signatures)
    return upload_captures(store, caps, actor, now)


MAX_FRAME_BYTES = 64 * 1024 * 1024


def record_selfchecks(
    store: Store, checks: Sequence[selfcheck.SelfCheck], actor: str, now: dt.datetime | None = None
) -> int:
    """Store daily equipment self-checks (coast-down, leak, opacimeter zero), each judged."""
    at = _now(now)
    rows = []
    for c in checks:
        cid = hashlib.sha256(f"{c.lane}|{c.item}|{c.at.isoformat()}".encode()).hexdigest()[:20]
        rows.append([cid, c.station, c.lane, c.item, c.at, c.ccdt_s, c.acdt_s, c.device_passed,
                     selfcheck.passed(c)])  # fmt: skip
    with store.transaction() as tx:
        tx.upsert_rows(
            "vehicles_selfchecks",
            ["id", "station", "lane", "item", "checked", "ccdt_s", "acdt_s", "device_passed",
             "passed"],
            ["id"],
            rows,
        )  # fmt: skip
        _audit(tx, at, actor, "record_selfchecks", "", {"count": len(rows)})
    return len(rows)


MAX_SELFCHECKS = 2000


def parse_selfcheck(d: Mapping[str, Any]) -> selfcheck.SelfCheck:
    """A :class:`selfcheck.SelfCheck` from an uploaded JSON object: ``station``, ``lane``,
    ``item`` (coastdown, leak, opacity_zero), ``at``; a coast-down's ``ccdt_s`` and ``acdt_s``
    [s], the others' ``device_passed`` (the instrument's verdict)."""
    for f in ("station", "lane", "item", "at"):
        if f not in d:
            raise InputError(f, "required", None)
    for f in ("station", "lane"):
        if not isinstance(d[f], str) or not 0 < len(d[f]) <= 64:
            raise InputError(f, "text of 1 to 64 characters", d[f])
    if d["item"] not in selfcheck.ITEMS:
        raise InputError("item", f"one of {sorted(selfcheck.ITEMS)}", d["item"])
    nums: dict[str, float | None] = {}
    for f in ("ccdt_s", "acdt_s"):
        v = d.get(f)
        if v is None:
            nums[f] = None
        elif isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < 10_000:
            raise InputError(f, "seconds, 0 to 10000", v)
        else:
            nums[f] = float(v)
    dp = d.get("device_passed")
    if dp is not None and not isinstance(dp, bool):
        raise InputError("device_passed", "true or false", dp)
    return selfcheck.SelfCheck(
        d["station"], d["lane"], str(d["item"]), _time(d["at"], "at"), nums["ccdt_s"],
        nums["acdt_s"], dp,
    )  # fmt: skip


def check_lanes(store: Store, checks: Sequence[selfcheck.SelfCheck]) -> None:
    """Every self-check names a registered lane of its station, else InputError (its row)."""
    lanes = {
        r["code"]: r["station"] for r in store.query("SELECT code, station FROM vehicles_lanes")
    }
    for n, c in enumerate(checks, 1):
        if lanes.get(c.lane) != c.station:
            raise InputError("lane", "a registered lane of the station", c.lane, row=n)


def import_selfchecks(
    store: Store, text: str, actor: str, now: dt.datetime | None = None
) -> dict[str, int]:
    """Self-checks from JSON lines (one :func:`parse_selfcheck` object a line, ``kind``
    ``selfcheck`` or absent): each on a registered lane of its station; all or none, an error
    naming its row."""
    lines = [x for x in text.splitlines() if x.strip()]
    if len(lines) > MAX_IMPORT_ROWS:
        raise InputError("file", f"at most {MAX_IMPORT_ROWS} rows", len(lines))
    checks = []
    for n, line in enumerate(lines, 1):
        try:
            d = json.loads(line)
            if not isinstance(d, dict):
                raise InputError("row", "a JSON object", type(d).__name__)
            if d.pop("kind", "selfcheck") != "selfcheck":
                raise InputError("kind", "selfcheck", d.get("kind"))
            checks.append(parse_selfcheck(d))
        except json.JSONDecodeError as e:
            raise InputError("row", "JSON", str(e), row=n) from None
        except InputError as e:
            raise InputError(e.field, e.rule, e.value, row=n) from None
    check_lanes(store, checks)
    record_selfchecks(store, checks, actor, now)
    return {"selfchecks": len(checks), "failed": sum(not selfcheck.passed(c) for c in checks)}


def selfchecks(store: Store) -> list[selfcheck.SelfCheck]:
    """Every stored self-check, oldest first."""
    return [
        selfcheck.SelfCheck(
            r["station"],
            r["lane"],
            r["item"],
            r["checked"],
            r["ccdt_s"],
            r["acdt_s"],
            r["device_passed"],
        )
        for r in store.query(
            "SELECT station, lane, item, checked, ccdt_s, acdt_s, device_passed "
            "FROM vehicles_selfchecks ORDER BY checked"
        )
    ]
