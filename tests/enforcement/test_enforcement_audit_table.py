"""The store-backed audit chain the people workflows share (bishui.enforcement.audit_table), on
both backends, over one of their tables (``police_audit``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from backends import drop_store, make_store
from bishui.enforcement.audit import GENESIS
from bishui.enforcement.audit_table import AuditTable, history_chained
from bishui.errors import ConflictError
from bishui.store import Store

T0 = dt.datetime(2026, 12, 1, 10, 0, 0)
LOG = AuditTable("police_audit")


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def chain(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """A store with five events: one, then three in one call, then one with its clock behind."""
    store, _, _ = make_store(str(request.param), tmp_path_factory.mktemp("audit"))
    try:
        with store.transaction() as tx:
            LOG.append(tx, T0, "a", "admin", "case:1", "propose", "", "proposed",
                       {"on": dt.date(2026, 12, 1), "ids": ("x", "y")})  # fmt: skip
        with store.transaction() as tx:
            LOG.append_many(tx, T0 + dt.timedelta(hours=1), "b", "inspector", [
                ("case:1", "review", "proposed", "reviewed", {}),
                ("case:2", "propose", "", "proposed", {"note": "中文"}),
                ("case:1", "transfer", "reviewed", "transferred", {"n": 1}),
            ])  # fmt: skip
        with store.transaction() as tx:
            LOG.append(tx, T0, "c", "police", "case:2", "accept", "proposed", "accepted")
        yield store
    finally:
        drop_store(store)


def test_append_chains_in_the_callers_transaction(chain: Store) -> None:
    events = LOG.events(chain)
    assert [(e.seq, e.subject, e.action, e.actor) for e in events] == [
        (1, "case:1", "propose", "a"), (2, "case:1", "review", "b"),
        (3, "case:2", "propose", "b"), (4, "case:1", "transfer", "b"),
        (5, "case:2", "accept", "c"),
    ]  # fmt: skip
    assert events[0].prev_hash == GENESIS
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert all(e.hash == e.computed_hash() for e in events)
    assert events[0].payload == {"on": "2026-12-01", "ids": ["x", "y"]}  # as JSON reads back
    assert events[4].time == T0 + dt.timedelta(hours=1)  # never back in time
    assert [e.seq for e in LOG.events(chain, "case:1")] == [1, 2, 4]
    assert [e.seq for e in LOG.events(chain, "case:1", limit=2)] == [1, 2]
    assert LOG.events(chain, "case:9") == []
    assert LOG.verify(chain) == 5
    with pytest.raises(RuntimeError), chain.transaction() as tx:  # rolled back with the caller
        LOG.append(tx, T0, "d", "admin", "case:3", "propose", "", "proposed")
        raise RuntimeError
    assert LOG.verify(chain) == 5
    # the pure chaining of a migration gives the same hashes for the same rows
    again = history_chained([(e.time, e.actor, e.role, e.subject, e.action, e.from_state,
                              e.to_state, dict(e.payload)) for e in events])  # fmt: skip
    assert [e.hash for e in again] == [e.hash for e in events]


@pytest.mark.parametrize(
    ("edit", "undo", "message"),
    [
        ("UPDATE police_audit SET to_state = 'closed' WHERE seq = 2",
         "UPDATE police_audit SET to_state = 'reviewed' WHERE seq = 2",
         "police_audit: audit: event 2 hash does not match its content"),
        ("UPDATE police_audit SET payload = '{\"note\": \"改\"}' WHERE seq = 3",
         "UPDATE police_audit SET payload = '{\"note\": \"中文\"}' WHERE seq = 3",
         "police_audit: audit: event 3 hash does not match its content"),
        ("UPDATE police_audit SET seq = 40 WHERE seq = 4",  # a row deleted from the middle
         "UPDATE police_audit SET seq = 4 WHERE seq = 40",
         "police_audit: audit: event 5 does not follow event 3"),
    ],
)  # fmt: skip
def test_verify_names_the_first_row_edited_by_sql(
    chain: Store, edit: str, undo: str, message: str
) -> None:
    chain.execute(edit)
    try:
        with pytest.raises(ConflictError) as err:
            LOG.verify(chain)
        assert str(err.value) == message
    finally:
        chain.execute(undo)
    assert LOG.verify(chain) == 5


def test_a_table_name_is_a_plain_identifier() -> None:
    with pytest.raises(ValueError, match="not an audit table name"):
        AuditTable("police_audit; DROP TABLE x")
