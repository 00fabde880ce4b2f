"""Generating, storing, listing and scheduling reports.

:func:`generate` builds a report (:data:`bishui.reports.content.BUILDERS`), renders it and
stores it as the next version of its (kind, period); :func:`reproduce` renders a stored
report again from its stored inputs (kind, period, ``as_of``, ``created``) and says whether the
bytes are the same — they are while the data it was computed from are unchanged.

:func:`refresh` is the platform's periodic task (registered in ``bishui.app.REFRESH``): after a
day closes it generates the air daily report of that day; after a month closes, the month's
air, water and sources reports; after a year closes, the annual air and water bulletins — each
once (a stored version is never replaced by the schedule; ask for a new version on demand).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from bishui.errors import NotFoundError
from bishui.reports.content import BUILDERS, KINDS, LAYOUT_VERSION, check_period
from bishui.reports.fonts import FontSet, find_fonts
from bishui.reports.pdf import Report, render
from bishui.store import Store
from bishui.timeutil import now_beijing

log = logging.getLogger("bishui.reports")

#: Columns of a listed report (everything but the PDF).
COLUMNS = (
    "id, kind, period, version, title, as_of, created, requested_by, rules, partial, sha256, size"
)
#: Most reports returned by one :func:`list_reports` call.
MAX_LIST = 500


@dataclass(frozen=True)
class Generated:
    meta: dict[str, Any]
    pdf: bytes


def build(
    store: Store,
    kind: str,
    period: str,
    *,
    as_of: dt.date | None = None,
    created: dt.datetime | None = None,
    fonts: FontSet | None = None,
) -> tuple[Report, bytes]:
    """Build and render a report without storing it."""
    check_period(kind, period)
    created = (created or now_beijing()).replace(tzinfo=None, microsecond=0)
    as_of = as_of or created.date()
    report = BUILDERS[kind](store, period, as_of, created)
    return report, render(report, fonts or find_fonts())


def _row(r: dict[str, Any]) -> dict[str, Any]:
    out = dict(r)
    rules = out.get("rules")
    out["rules"] = json.loads(rules) if isinstance(rules, str) else rules
    for k in ("as_of", "created"):
        v = out.get(k)
        out[k] = v.isoformat() if isinstance(v, dt.date | dt.datetime) else v
    out["kind_name"] = KINDS[out["kind"]]["title"] if out.get("kind") in KINDS else out.get("kind")
    out["partial"] = bool(out.get("partial"))
    return out


def generate(
    store: Store,
    kind: str,
    period: str,
    *,
    requested_by: str = "schedule",
    as_of: dt.date | None = None,
    created: dt.datetime | None = None,
    fonts: FontSet | None = None,
) -> Generated:
    """Build, render and store the next version of (*kind*, *period*); return its row."""
    fonts = fonts or find_fonts()
    report, data = build(store, kind, period, as_of=as_of, created=created, fonts=fonts)
    as_of = as_of or report.created.date()
    faces = [f"{p.name}#{i}" for p, i in (fonts.text, fonts.cjk)]
    rules = {**report.rules, "layout": LAYOUT_VERSION, "fonts": faces}
    with store.transaction() as tx:
        row = tx.fetch_one(
            "SELECT COALESCE(MAX(version), 0) FROM reports WHERE kind = ? AND period = ?",
            [kind, period],
        )
        version = int(row[0]) + 1 if row else 1
        rid = f"{kind}-{period}-v{version}"
        meta = {
            "id": rid, "kind": kind, "period": period, "version": version,
            "title": f"{report.title}（{report.subtitle}）", "as_of": as_of,
            "created": report.created, "requested_by": requested_by[:64],
            "rules": json.dumps(rules, ensure_ascii=False, sort_keys=True),
            "partial": report.partial, "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        }  # fmt: skip
        row_ = {**meta, "pdf": data}
        tx.insert_rows("reports", list(row_), [list(row_.values())])
    return Generated(_row(meta), data)


def list_reports(
    store: Store,
    *,
    kinds: tuple[str, ...] | None = None,
    limit: int = 100,
    offset: int = 0,
    period: str | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Stored reports, newest first (optionally only *kinds*, only of *period*)."""
    where, params = "TRUE", []
    if kinds is not None:
        if not kinds:
            return 0, []
        where = f"kind IN ({', '.join('?' for _ in kinds)})"
        params = list(kinds)
    if period is not None:
        where += " AND period = ?"
        params.append(period)
    total, rows = store.page(
        f"SELECT {COLUMNS} FROM reports WHERE {where} "  # noqa: S608
        "ORDER BY created DESC, kind, period, version DESC",
        params,
        limit=min(limit, MAX_LIST),
        offset=offset,
    )
    return total, [_row(r) for r in rows]


def get_report(store: Store, report_id: str) -> tuple[dict[str, Any], bytes]:
    """A stored report's row and PDF; :class:`NotFoundError` when there is none."""
    rows = store.query(f"SELECT {COLUMNS}, pdf FROM reports WHERE id = ?", [report_id])  # noqa: S608
    if not rows:
        raise NotFoundError(f"no report {report_id!r}")
    r = rows[0]
    return _row({k: v for k, v in r.items() if k != "pdf"}), bytes(r["pdf"])


def reproduce(store: Store, report_id: str, fonts: FontSet | None = None) -> tuple[bool, bytes]:
    """Render a stored report again from its stored inputs: (same bytes?, the new PDF)."""
    meta, stored = get_report(store, report_id)
    _, data = build(
        store,
        meta["kind"],
        meta["period"],
        as_of=dt.date.fromisoformat(meta["as_of"]),
        created=dt.datetime.fromisoformat(meta["created"]),
        fonts=fonts,
    )
    return data == stored, data


#: How long after a period closes the schedule waits, so that the last hour's values (sent by
#: the loggers after the hour) are in the report (docs/reports.md, "On a schedule").
GRACE = dt.timedelta(hours=1)


def due(now: dt.datetime) -> list[tuple[str, str]]:
    """The (kind, period) the schedule owes at *now* (Beijing time): the day, month and year
    that closed last, :data:`GRACE` before *now*."""
    today = (now - GRACE).date()
    yesterday = today - dt.timedelta(days=1)
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    out = [("air-daily", yesterday.isoformat())]
    out += [
        (k, last_month) for k in ("air-month", "water-month", "sources-month", "exchange-month")
    ]
    out += [(k, str(today.year - 1)) for k in ("air-year", "water-year")]
    assert len({p for _, p in out}) == 3  # a day, a month, a year: refresh's query
    return out


def refresh(store: Store, now: dt.datetime, *, at_most: int = 1) -> list[str]:
    """Generate up to *at_most* scheduled reports not stored yet; returns the ids generated.

    Runs each minute in the platform, one report a pass by default, so a platform started on
    the first of a month spreads its six reports over six minutes instead of holding a CPU for
    them at once. One query when nothing is owed (and one per period without any measurement,
    which gets no report until it has one). A report that fails to build is logged and tried
    again on the next pass.
    """
    owed = due(now)
    have = {
        (r["kind"], r["period"])
        for r in store.query(
            "SELECT DISTINCT kind, period FROM reports WHERE period IN (?, ?, ?)",
            sorted({p for _, p in owed}),
        )
    }
    made: list[str] = []
    with_data: dict[str, bool] = {}
    for kind, period in owed:
        if (kind, period) in have:
            continue
        if period not in with_data:
            start, end = check_period(kind, period)
            with_data[period] = bool(
                store.query(
                    "SELECT 1 AS x FROM measurement WHERE ts >= ? AND ts < ? LIMIT 1",
                    [dt.datetime.combine(start, dt.time()), dt.datetime.combine(end, dt.time())],
                )
            )
        if not with_data[period]:  # nothing measured in the period: no report (yet)
            continue
        if len(made) >= at_most:
            break
        try:
            made.append(generate(store, kind, period, created=now).meta["id"])
        except Exception:  # one report's failure must not stop the others
            log.exception("scheduled report %s %s failed", kind, period)
    return made
