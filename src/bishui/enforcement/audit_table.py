"""A hash-chained audit log kept in a store table: the one store-backed form of
:class:`~bishui.enforcement.audit.AuditEvent` that the people workflows share.

``bishui.police`` (``police_audit``), ``bishui.participation`` (``participation_audit``),
``bishui.programmes`` (``programme_audit``) and ``bishui.rivers`` (``river_audit``) each keep
their own table of the same eleven columns (:data:`COLUMNS`) and one :class:`AuditTable` over
it. :meth:`AuditTable.append` writes an event inside the caller's transaction (so the change and
its event commit or roll back together), chained on the table's last row: ``seq`` + 1,
``prev_hash`` = that row's ``hash``, ``hash`` = SHA-256 of the event's canonical JSON
(:meth:`AuditEvent.body`). :meth:`AuditTable.verify` re-reads the whole table in ``seq`` order
and raises :class:`~bishui.errors.ConflictError` naming the table and the first event whose
hash does not match its content or that does not follow its predecessor — so an edit, insert or
delete made with SQL behind the platform's back shows up. (Enforcement's own
``enforcement_audit`` keeps its writer, :mod:`bishui.enforcement.service`, which refuses an
event earlier than the last instead of taking the last one's time.)

Times never go back along a chain: an event stamped earlier than the last stored one (a clock
step) takes the last one's time, as each workflow did before this module.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bishui.enforcement.audit import GENESIS, AuditEvent, AuditLog
from bishui.errors import ConflictError
from bishui.store import Store, Transaction

#: The columns of every audit table, in the order they are written.
COLUMNS = ("seq", "ts", "actor", "role", "subject", "action", "from_state", "to_state",
           "payload", "prev_hash", "hash")  # fmt: skip
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

#: One event to append: subject, action, from-state, to-state, payload.
Entry = tuple[str, str, str, str, Mapping[str, Any]]


def event_of(row: Mapping[str, Any]) -> AuditEvent:
    """The event of a stored row (``payload`` as stored JSON text or already parsed)."""
    p = row["payload"]
    return AuditEvent(int(row["seq"]), row["ts"], row["actor"], row["role"], row["subject"],
                      row["action"], row["from_state"], row["to_state"],
                      json.loads(p) if isinstance(p, str) else dict(p), row["prev_hash"],
                      row["hash"])  # fmt: skip


def chained(
    prev: AuditEvent | None, at: dt.datetime, actor: str, role: str, entries: Sequence[Entry]
) -> list[AuditEvent]:
    """*entries* as events following *prev* (None: the chain's start), all at *at* (or at
    *prev*'s time where *at* is earlier). Pure: nothing is written."""
    seq, head = (prev.seq, prev.hash) if prev else (0, GENESIS)
    if prev is not None and at < prev.time:
        at = prev.time
    out: list[AuditEvent] = []
    for subject, action, from_state, to_state, payload in entries:
        seq += 1
        # the payload as it reads back from JSON (dates as text, tuples as lists)
        body = json.loads(json.dumps(dict(payload), ensure_ascii=False, default=str))
        e = AuditEvent(seq, at, actor, role, subject, action, str(from_state), str(to_state),
                       body, head)  # fmt: skip
        e = AuditEvent(**{**e.__dict__, "hash": e.computed_hash()})
        head = e.hash
        out.append(e)
    return out


def history_chained(rows: Iterable[Sequence[Any]]) -> list[AuditEvent]:
    """An unchained log's rows — ``(ts, actor, role, subject, action, from_state, to_state,
    payload)``, in the order they were written — as a chain from its start: ``seq`` 1, 2, …,
    each row keeping its own time and content (a migration chaining a log kept before it was
    hash-chained). Pure: nothing is written."""
    out: list[AuditEvent] = []
    head = GENESIS
    for n, (ts, actor, role, subject, action, from_state, to_state, payload) in enumerate(rows):
        body = json.loads(payload) if isinstance(payload, str) else dict(payload)
        e = AuditEvent(n + 1, ts, actor, role, subject, action, from_state, to_state, body, head)
        e = AuditEvent(**{**e.__dict__, "hash": e.computed_hash()})
        head = e.hash
        out.append(e)
    return out


def row_of(e: AuditEvent) -> list[Any]:
    """The stored row of *e*, in :data:`COLUMNS` order."""
    payload = json.dumps(e.payload, ensure_ascii=False, sort_keys=True)
    return [e.seq, e.time, e.actor, e.role, e.subject, e.action, e.from_state, e.to_state,
            payload, e.prev_hash, e.hash]  # fmt: skip


@dataclass(frozen=True)
class AuditTable:
    """The hash-chained audit log in the store table *name* (of :data:`COLUMNS`)."""

    name: str

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"not an audit table name: {self.name!r}")

    def _select(self) -> str:
        return f"SELECT {', '.join(COLUMNS)} FROM {self.name}"  # noqa: S608

    def last(self, tx: Transaction) -> AuditEvent | None:
        """The chain's last event as *tx* sees it (None: empty)."""
        row = tx.fetch_one(self._select() + " ORDER BY seq DESC LIMIT 1")
        return None if row is None else event_of(dict(zip(COLUMNS, row, strict=True)))

    def append(
        self, tx: Transaction, at: dt.datetime, actor: str, role: str, subject: str,
        action: str, from_state: str, to_state: str, payload: Mapping[str, Any] | None = None,
    ) -> AuditEvent:  # fmt: skip
        """Append one event inside *tx* and return it (with its ``seq`` and hash)."""
        entry = (subject, action, from_state, to_state, payload or {})
        return self.append_many(tx, at, actor, role, [entry])[0]

    def append_many(
        self, tx: Transaction, at: dt.datetime, actor: str, role: str, entries: Sequence[Entry]
    ) -> list[AuditEvent]:
        """Append *entries* inside *tx* by one actor at one time (one read of the chain's
        head, one insert)."""
        out = chained(self.last(tx), at, actor, role, entries)
        tx.insert_rows(self.name, COLUMNS, [row_of(e) for e in out])
        return out

    def events(
        self, store: Store, subject: str | None = None, limit: int | None = None
    ) -> list[AuditEvent]:
        """The events in ``seq`` order: all, or one subject's (``case:<id>``); at most
        *limit*."""
        sql = self._select()
        params: list[Any] = []
        if subject is not None:
            sql += " WHERE subject = ?"
            params.append(subject)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [event_of(r) for r in store.query(sql, params)]

    def verify(self, store: Store) -> int:
        """Check the whole chain; the number of events, or :class:`ConflictError` naming the
        table and the first event that breaks it (hash not matching its content, or not
        following the event before)."""
        events = self.events(store)
        try:
            AuditLog(events)
        except ConflictError as e:
            raise ConflictError(f"{self.name}: {e}") from None
        return len(events)
