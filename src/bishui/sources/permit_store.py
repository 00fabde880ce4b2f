"""Permits in the store: every version, every revision, never overwritten.

:func:`record_permits` validates the new versions together with the stored ones
(:func:`~bishui.sources.permits.check_history`: no overlapping validity, one enterprise per
permit number) and appends a row only for a version that is new or whose content changed — a
changed version (its ``valid_to`` closed by an amendment, a revocation) becomes a new
*revision* of that version; the old row stays. :func:`load_permits` returns the current state:
the highest revision of every version. A check on a date then uses the version in force on
that date (:mod:`bishui.sources.limits`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from bishui.errors import NotFoundError
from bishui.sources import permits_io
from bishui.sources.permits import Permit, check_history
from bishui.store import Store, Transaction
from bishui.timeutil import now_beijing

_CURRENT = (
    "SELECT p.* FROM source_permit p JOIN (SELECT permit_no, version, MAX(revision) AS revision "
    "FROM source_permit GROUP BY permit_no, version) c ON p.permit_no = c.permit_no "
    "AND p.version = c.version AND p.revision = c.revision"
)
# the current rows of some permit numbers only ({cols}; {marks}: one ? per number, given twice)
_CURRENT_OF = (
    "SELECT {cols} FROM source_permit p JOIN (SELECT permit_no, version, MAX(revision) AS "
    "revision FROM source_permit WHERE permit_no IN ({marks}) GROUP BY permit_no, version) c "
    "ON p.permit_no = c.permit_no AND p.version = c.version AND p.revision = c.revision "
    "WHERE p.permit_no IN ({marks})"
)


def content_hash(p: Permit) -> str:
    body = json.dumps(permits_io.permit_to_dict(p), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def record_permits(
    store: Store, permits: Iterable[Permit], *, by: str = "system", now: dt.datetime | None = None
) -> dict[str, int]:
    """Record permit versions in a transaction of their own; returns counts
    ``{"new": …, "revised": …, "unchanged": …}`` (:func:`record_permits_in`).

    Raises
    ------
    InputError
        The versions, with the stored ones they do not replace, break the history rules.
    """
    with store.transaction() as tx:
        return record_permits_in(tx, permits, by=by, now=now)


def record_permits_in(
    tx: Transaction,
    permits: Iterable[Permit],
    *,
    by: str = "system",
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """:func:`record_permits` inside the caller's transaction *tx* (it commits or rolls back
    with the caller's other writes). Only the stored histories of the permit numbers written
    are read: the history rules (:func:`~bishui.sources.permits.check_history`) hold per
    permit number.

    Raises
    ------
    InputError
        The versions, with the stored ones they do not replace, break the history rules.
    """
    incoming = {(p.permit_no, p.version): p for p in permits}
    at = (now or now_beijing()).replace(tzinfo=None, microsecond=0)
    counts = {"new": 0, "revised": 0, "unchanged": 0}
    if not incoming:
        return counts
    nos = sorted({no for no, _ in incoming})
    marks = ", ".join("?" for _ in nos)
    current = tx.fetch(
        _CURRENT_OF.format(cols="p.permit_no, p.version, p.revision, p.content_hash, p.body",
                           marks=marks),
        nos + nos,
    )  # fmt: skip
    stored = {(r[0], int(r[1])): (int(r[2]), r[3], r[4]) for r in current}
    merged = {k: permits_io.permit_from_dict(json.loads(v[2])) for k, v in stored.items()}
    merged.update(incoming)
    check_history(merged.values())
    rows: list[list[Any]] = []
    for (no, version), p in sorted(incoming.items()):
        h = content_hash(p)
        old = stored.get((no, version))
        if old is not None and old[1] == h:
            counts["unchanged"] += 1
            continue
        revision = 1 if old is None else old[0] + 1
        counts["new" if old is None else "revised"] += 1
        rows.append([no, version, revision, p.uscc, p.enterprise, str(p.management_class),
                     p.valid_from, p.valid_to, p.revoked_on, p.change_reason,
                     json.dumps(permits_io.permit_to_dict(p), ensure_ascii=False, sort_keys=True),
                     h, at, by])  # fmt: skip
    tx.execute_many(
        "INSERT INTO source_permit (permit_no, version, revision, uscc, enterprise, "
        "management_class, valid_from, valid_to, revoked_on, change_reason, body, "
        "content_hash, recorded_at, recorded_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return counts


def load_permits_in(tx: Transaction, where: str = "", params: Sequence[Any] = ()) -> list[Permit]:
    """:func:`load_permits` inside the caller's transaction *tx* (it sees the transaction's own
    writes)."""
    sql = _CURRENT + (f" WHERE {where}" if where else "") + " ORDER BY p.permit_no, p.version"
    sql = sql.replace("SELECT p.*", "SELECT p.body", 1)
    return [permits_io.permit_from_dict(json.loads(r[0])) for r in tx.fetch(sql, params)]


def load_permits(store: Store, where: str = "", params: Sequence[Any] = ()) -> list[Permit]:
    """The current state of every stored version (optionally filtered on ``p.`` columns)."""
    sql = _CURRENT + (f" WHERE {where}" if where else "") + " ORDER BY p.permit_no, p.version"
    return [permits_io.permit_from_dict(json.loads(r["body"])) for r in store.query(sql, params)]


def list_permits(
    store: Store, where: str = "TRUE", params: Sequence[Any] = (), *, history: bool = False,
    on: dt.date | None = None, limit: int = 100, offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """Permit rows (JSON-ready, with ``revision``, ``in_force`` and ``region``).

    Without *history* only the version in force on *on* (default today) — or, for a permit
    with none in force, its latest version — is listed per permit number.
    """
    day = on or now_beijing().date()
    sql = (f"SELECT p.*, e.region FROM ({_CURRENT}) p LEFT JOIN enterprises e ON e.uscc = p.uscc "  # noqa: S608
           f"WHERE {where} ORDER BY p.permit_no, p.version")  # fmt: skip
    rows = store.query(sql, params)
    out = []
    for r in rows:
        d = json.loads(r["body"])
        p = permits_io.permit_from_dict(d)
        at = r["recorded_at"].isoformat()
        out.append({**d, "revision": int(r["revision"]), "in_force": p.is_in_force(day),
                    "region": r["region"], "recorded_at": at})  # fmt: skip
    if not history:
        by_no: dict[str, dict[str, Any]] = {}
        for d in out:
            cur = by_no.get(d["permit_no"])
            if (
                cur is None
                or d["in_force"]
                or (not cur["in_force"] and d["version"] > cur["version"])
            ):
                by_no[d["permit_no"]] = d
        out = list(by_no.values())
    return len(out), out[offset : offset + limit]


def permit_history(store: Store, permit_no: str) -> list[dict[str, Any]]:
    """Every stored row of one permit number (every version, every revision)."""
    rows = store.query(
        "SELECT permit_no, version, revision, body, content_hash, recorded_at, recorded_by "
        "FROM source_permit WHERE permit_no = ? ORDER BY version, revision",
        [permit_no.strip().upper()],
    )
    if not rows:
        raise NotFoundError(f"permit {permit_no} does not exist")
    return [{**json.loads(r.pop("body")), **r, "recorded_at": r["recorded_at"].isoformat()}
            for r in rows]  # fmt: skip
