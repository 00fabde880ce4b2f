"""Drinking-water source supervision (水源地监管) over the store: status and alerts.

:func:`source_status` judges each drinking-water source (``sites.drinking_source``) over its
recent automatic readings with the pure core (:func:`~bishui.water.drinking.source_compliance`,
:func:`~bishui.water.drinking.source_alerts`); :func:`run_alerts` also persists the alerts in
``water_alerts`` so the enforcement module can route them.

Rules of this shell (docs/water.md, "Service rules"):

* readings: the sources' valid hourly automatic values (the logger's, else the platform's) and
  uploaded values, from ``now − window_days`` to ``now``; a refused value (negative, pH outside
  0–14) counts as missing;
* each alert has a key: a digest of (source, kind, parameter, time). Re-running over the same
  data updates the stored row (``last_seen``, ``evidence``) and never adds one; ``state`` (set by
  the enforcement module) is never touched here;
* an episode that the window's start cuts (it began before the window) continues the stored
  alert of the same source, kind and parameter that ended within ``max_gap_hours`` before it,
  rather than opening a second alert.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bishui import readings
from bishui.registry.model import Site
from bishui.store import Store
from bishui.timeutil import now_beijing
from bishui.water import tables as t
from bishui.water.drinking import SOURCE_CODES, Alert, AlertRules, source_alerts, source_compliance

ALERT_RULES_VERSION = "water-alerts-1"


@dataclass(frozen=True)
class SupervisionRules:
    """``window_days`` of data looked at; ``alert`` the core's :class:`AlertRules`."""

    window_days: float = 30.0
    alert: AlertRules = field(default_factory=AlertRules)

    def version(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return f"{ALERT_RULES_VERSION}:{hashlib.sha256(text.encode()).hexdigest()[:10]}"


@dataclass(frozen=True)
class SourceData:
    """One source's readings: ``times`` (n,), ``values`` (n, k) with NaN for missing."""

    site: Site
    codes: tuple[str, ...]
    times: np.ndarray
    values: np.ndarray
    refused: int


def sources(store: Store, regions: tuple[str, ...] | None = None) -> list[Site]:
    """The drinking-water sources of the registry (optionally only those in *regions*)."""
    rows = readings.sites(store, "kind = 'water' AND drinking_source")
    if regions is not None:
        rows = [r for r in rows if r.region in regions]
    return rows


def source_readings(
    store: Store, rows: list[Site], start: dt.datetime, end: dt.datetime
) -> list[SourceData]:
    """Pivot the sources' readings into one (times × items) array per source."""
    codes = SOURCE_CODES
    # Hourly and daily values, one per key by the read model's origin precedence (the logger's,
    # else the platform's, else an upload's); a value marked invalid is no reading.
    r = readings.select(
        store, [site.id for site in rows], codes, start, end, periods=("hour", "day")
    )
    r = r.take(r.valid)
    out = []
    for i, site in enumerate(rows):
        mine = r.take(r.site == i)
        times, ti = np.unique(mine.ts, return_inverse=True)
        pj = mine.parameter.astype(np.intp)
        values = np.full((times.size, len(codes)), np.nan)
        # An hourly and a daily value at one time: the best origin's, then the hourly one
        # (assigned last wins, so assign in reverse order of preference).
        order = np.lexsort((-mine.period, -mine.origin.astype(np.int64), pj, ti))
        v = mine.value[order].astype(float)
        bad = (v < 0) | ((pj[order] == codes.index(t.PH)) & (v > 14))
        v[bad] = np.nan
        values[ti[order], pj[order]] = v
        keep = ~np.isnan(values).all(axis=0)
        out.append(
            SourceData(
                site,
                tuple(c for c, k in zip(codes, keep, strict=True) if k),
                times.astype("datetime64[s]"),
                values[:, keep],
                int(bad.sum()),
            )
        )
    return out


def alert_key(source: str, a: Alert) -> str:
    text = f"{source}|{a.kind}|{a.parameter}|{a.time.isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def alert_record(a: Alert, key: str | None = None) -> dict[str, Any]:
    """An alert as a JSON-ready dict (kind, parameter, time, value, limit, evidence …)."""
    return {
        "id": key or alert_key(a.source or "", a),
        "source": a.source,
        "kind": a.kind,
        "parameter": a.parameter,
        "parameter_name": t.name(a.parameter) if a.parameter not in ("*",) else "全部",
        "time": a.time.isoformat(),
        "value": a.value,
        "limit": a.limit,
        "target_class": a.target_class,
        "evidence": json.loads(json.dumps(a.evidence, default=str)),
    }


def evaluate(
    store: Store,
    *,
    now: dt.datetime | None = None,
    rules: SupervisionRules | None = None,
    regions: tuple[str, ...] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(status of each source, alerts) over the window ending at *now* (nothing is written)."""
    r = rules or SupervisionRules()
    now = now or now_beijing()
    start = now - dt.timedelta(days=r.window_days)
    status: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    for d in source_readings(store, sources(store, regions), start, now):
        site = d.site
        tc = int(site.target_class or 2)
        body = site.body if site.body in t.BODIES else "lake"
        row: dict[str, Any] = {
            "source": site.id,
            "name": site.name,
            "region": site.region,
            "body": body,
            "target_class": tc,
            "target_label": t.CLASS_LABELS[tc],
            "readings": int(d.times.size),
            "refused": d.refused,
            "latest": None,
            "compliant": None,
            "exceeding": [],
            "compliance_rate": None,
        }
        found: list[Alert] = []
        if d.times.size:
            comp = source_compliance(d.values, d.codes, tc, body)
            last = int(d.times.size - 1)
            row.update(
                latest=str(d.times[-1]),
                compliant=bool(comp.compliant[last]) if comp.judged[last] else None,
                exceeding=list(comp.exceeding(last)),
                compliance_rate=round(comp.rate, 4) if comp.judged.any() else None,
                values={
                    c: float(d.values[last, j])
                    for j, c in enumerate(d.codes)
                    if not np.isnan(d.values[last, j])
                },
            )
            found = source_alerts(
                d.times, d.values, d.codes, tc, body, rules=r.alert, source=site.id, now=now
            )
        else:
            found = [
                Alert(
                    "gap",
                    "*",
                    start.replace(microsecond=0),
                    None,
                    r.alert.max_gap_hours,
                    {"from": start, "to": None, "hours": r.window_days * 24, "parameters": []},
                    site.id,
                    tc,
                )
            ]
        recs = [alert_record(a) for a in found]
        row["alerts"] = len(recs)
        status.append(row)
        alerts += recs
    alerts.sort(key=lambda a: (a["time"], a["source"], a["kind"], a["parameter"]))
    return status, alerts


def _end_of(rec: dict[str, Any]) -> str:
    ev = rec.get("evidence") or {}
    return str(ev.get("until") or ev.get("to") or rec["time"])


def run_alerts(
    store: Store,
    *,
    now: dt.datetime | None = None,
    rules: SupervisionRules | None = None,
) -> dict[str, Any]:
    """Evaluate every source and upsert the alerts into ``water_alerts`` (idempotent).

    Returns ``{"status": [...], "alerts": [...], "new": n, "updated": n}``; each alert carries
    its stored ``state``.
    """
    r = rules or SupervisionRules()
    now = now or now_beijing()
    status, alerts = evaluate(store, now=now, rules=r)
    stored = {
        x["id"]: x
        for x in store.query(
            "SELECT id, source, kind, parameter, ts, evidence, state FROM water_alerts "
            "WHERE ts >= ?",
            [now - dt.timedelta(days=r.window_days + 30)],
        )
    }
    window_start = now - dt.timedelta(days=r.window_days)
    merge_span = dt.timedelta(hours=r.alert.max_gap_hours)
    version = r.version()
    seen = now.replace(microsecond=0)
    statements: list[tuple[str, list[Any]]] = []
    new = updated = 0
    for a in alerts:
        key = a["id"]
        if key not in stored and dt.datetime.fromisoformat(a["time"]) < window_start + merge_span:
            # Cut by the window's start: continue the stored alert it belongs to.
            for s in stored.values():
                ev = json.loads(s["evidence"]) if s["evidence"] else {}
                end = ev.get("until") or ev.get("to") or str(s["ts"])
                if (s["source"], s["kind"], s["parameter"]) == (
                    a["source"],
                    a["kind"],
                    a["parameter"],
                ) and dt.datetime.fromisoformat(str(end)) >= window_start - merge_span:
                    key = a["id"] = s["id"]
                    break
        evidence = json.dumps(a["evidence"], ensure_ascii=False, default=str)
        if key in stored:
            updated += 1
            statements.append(
                (
                    "UPDATE water_alerts SET last_seen = ?, evidence = ?, rules_version = ? "
                    "WHERE id = ?",
                    [seen, evidence, version, key],
                )
            )
            a["state"] = stored[key]["state"]
        else:
            new += 1
            statements.append(
                (
                    "INSERT INTO water_alerts (id, source, kind, parameter, ts, value, "
                    "limit_value, target_class, evidence, rules_version, first_seen, last_seen, "
                    "state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new')",
                    [
                        key,
                        a["source"],
                        a["kind"],
                        a["parameter"],
                        dt.datetime.fromisoformat(a["time"]),
                        a["value"],
                        a["limit"],
                        a["target_class"],
                        evidence,
                        version,
                        seen,
                        seen,
                    ],
                )
            )
            stored[key] = {**a, "ts": a["time"], "evidence": evidence, "state": "new"}
            a["state"] = "new"
    if statements:
        with store.transaction() as tx:
            for sql, params in statements:
                tx.execute(sql, params)
    return {"status": status, "alerts": alerts, "new": new, "updated": updated}


def refresh(store: Store, now: dt.datetime) -> None:
    """Runtime hook (registered by ``bishui.app.REFRESH``): run the source alerts after each
    aggregation pass, so new and late readings raise or extend stored alerts within a minute."""
    run_alerts(store, now=now)


def stored_alerts(
    store: Store,
    *,
    since: dt.datetime | None = None,
    regions: tuple[str, ...] | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Alerts from ``water_alerts``, newest first (optionally only sources in *regions*).

    A routed alert (``state = 'routed'``) carries its enforcement alert's id, that alert's
    state (``alert_state``: new, tasked, dismissed) and its task (``task_id``), if any.
    """
    sql = (
        "SELECT a.id, a.source, s.name, s.region, a.kind, a.parameter, a.ts, a.value, "
        "a.limit_value, a.target_class, a.evidence, a.state, a.first_seen, a.last_seen, "
        "a.alert_id, e.state AS alert_state, e.task_id "
        "FROM water_alerts a JOIN sites s ON s.id = a.source "
        "LEFT JOIN enforcement_alert e ON e.id = a.alert_id"
    )
    params: list[Any] = []
    where = []
    if since is not None:
        where.append("a.ts >= ?")
        params.append(since)
    if regions is not None:
        where.append(f"s.region IN ({', '.join('?' for _ in regions) or 'NULL'})")
        params += list(regions)
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = store.query(sql + " ORDER BY a.ts DESC, a.id LIMIT ?", [*params, limit])
    for row in rows:
        row["evidence"] = json.loads(row["evidence"]) if row["evidence"] else {}
    return rows
