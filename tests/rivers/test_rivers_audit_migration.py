"""Rivers migration 2: the unchained ``river_audit`` of migration 1 becomes a hash chain, its
rows kept in the order they were written, so an existing database verifies (both backends)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from backends import drop_store, make_store
from bishui.errors import ConflictError
from bishui.rivers import schema as rv_schema
from bishui.rivers import service as sv
from bishui.store import open_store

T0 = dt.datetime(2026, 11, 3, 9, 0, 0)
#: Rows as migration 1's writer stored them: (ts, actor, role, subject, action, from, to, detail)
OLD = [
    (T0, "system", "system", "body:B1", "load", "", "stored", {"name": "长湖", "kind": "lake"}),
    (T0 + dt.timedelta(minutes=5), "hg.chief", "river_chief", "patrol:P1", "start", "",
     "open", {"section": "S-1"}),
    # a clock step back: the old log kept it as written, and the chain keeps it so
    (T0 + dt.timedelta(minutes=2), "hg.chief", "river_chief", "patrol:P1", "submit", "open",
     "submitted", {"points": [[30.1, 112.2]], "note": "引号\"与\\反斜杠\n换行"}),
    (T0 + dt.timedelta(hours=1), "root", "admin", "problem:Q1", "record", "", "recorded", {}),
]  # fmt: skip


def test_migration_2_chains_the_rows_written_before_it(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as m:
        m.setattr(rv_schema, "MIGRATIONS", rv_schema.MIGRATIONS[:1])
        old, url, pg_schema = make_store(backend, tmp_path)
        assert old.schema_version("rivers") == 1
        for ts, actor, role, subject, action, frm, to, detail in OLD:  # the old writer's SQL
            old.execute(
                "INSERT INTO river_audit (ts, actor, role, subject, action, from_state, to_state, "
                "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [ts, actor, role, subject, action, frm, to,
                 json.dumps(detail, ensure_ascii=False, sort_keys=True)],
            )  # fmt: skip
        old.close()
    store = open_store(url, schema=pg_schema) if pg_schema else open_store(url)
    try:
        assert store.schema_version("rivers") == len(rv_schema.MIGRATIONS) == 2
        assert sv.verify_audit(store) == len(OLD)
        events = sv.audit_events(store)
        assert [(e.seq, e.time, e.actor, e.role, e.subject, e.action, e.from_state, e.to_state,
                 dict(e.payload)) for e in events] == [
            (i + 1, *row) for i, row in enumerate(OLD)
        ]  # fmt: skip
        assert events[0].prev_hash == "0" * 64
        assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
        assert [e.action for e in sv.audit_events(store, "patrol:P1")] == ["start", "submit"]
        # the writer continues the chain, at the last event's time where its clock is behind
        with store.transaction() as tx:
            e = sv.AUDIT.append(tx, T0, "root", "admin", "problem:Q1", "route", "recorded",
                                "routed", {"task": "T1"})  # fmt: skip
        assert (e.seq, e.prev_hash, e.time) == (5, events[-1].hash, OLD[-1][0])
        assert sv.verify_audit(store) == 5
        # an old row edited by SQL after the migration is named
        store.execute("UPDATE river_audit SET payload = '{}' WHERE seq = 3")
        with pytest.raises(ConflictError, match=r"^river_audit: audit: event 3 hash does not"):
            sv.verify_audit(store)
        assert store.migrate()["rivers"] == 2  # nothing applied again
    finally:
        drop_store(store)
