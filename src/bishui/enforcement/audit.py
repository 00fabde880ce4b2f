"""The append-only audit log of enforcement events, hash-chained.

Every change to an alert or a task is an :class:`AuditEvent`; nothing is updated or deleted.
Each event carries the SHA-256 of its predecessor, so any edit to a stored log shows up in
:meth:`AuditLog.verify`. The store persists events in order; :func:`bishui.enforcement.tasks.replay`
rebuilds a task from its events.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from bishui.errors import ConflictError

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEvent:
    """One recorded change. ``seq`` is the log position (from 1)."""

    seq: int
    time: dt.datetime
    actor: str
    role: str
    subject: str  # "task:<id>" or "alert:<id>"
    action: str
    from_state: str
    to_state: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = ""

    def body(self) -> str:
        """Canonical JSON of everything but ``hash`` (what the hash covers)."""
        return json.dumps(
            {
                "seq": self.seq, "time": self.time.isoformat(), "actor": self.actor,
                "role": self.role, "subject": self.subject, "action": self.action,
                "from": self.from_state, "to": self.to_state, "payload": self.payload,
                "prev": self.prev_hash,
            },
            ensure_ascii=False, sort_keys=True, default=str,
        )  # fmt: skip

    def computed_hash(self) -> str:
        return hashlib.sha256(self.body().encode("utf-8")).hexdigest()


class AuditLog:
    """An in-memory append-only log; the store mirrors it row by row."""

    def __init__(self, events: tuple[AuditEvent, ...] | list[AuditEvent] = ()) -> None:
        self._events: list[AuditEvent] = []
        for e in events:
            self._check_next(e)
            self._events.append(e)

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[AuditEvent]:
        return iter(tuple(self._events))

    @property
    def head(self) -> str:
        return self._events[-1].hash if self._events else GENESIS

    def append(
        self, time: dt.datetime, actor: str, role: str, subject: str, action: str,
        from_state: str, to_state: str, payload: Mapping[str, Any] | None = None,
    ) -> AuditEvent:  # fmt: skip
        """Record an event and return it (with its sequence number and hash)."""
        if self._events and time < self._events[-1].time:
            raise ConflictError(
                f"audit: event at {time.isoformat()} is earlier than the last one "
                f"({self._events[-1].time.isoformat()})"
            )
        e = AuditEvent(len(self._events) + 1, time, actor, role, subject, action, from_state,
                       to_state, dict(payload or {}), self.head)  # fmt: skip
        e = AuditEvent(**{**e.__dict__, "hash": e.computed_hash()})
        self._events.append(e)
        return e

    def _check_next(self, e: AuditEvent) -> None:
        if e.seq != len(self._events) + 1 or e.prev_hash != self.head:
            raise ConflictError(f"audit: event {e.seq} does not follow event {len(self._events)}")
        if e.hash != e.computed_hash():
            raise ConflictError(f"audit: event {e.seq} hash does not match its content")

    def verify(self) -> None:
        """Raise :class:`ConflictError` at the first event that breaks the chain."""
        AuditLog(self._events)

    def for_subject(self, subject: str) -> list[AuditEvent]:
        return [e for e in self._events if e.subject == subject]
