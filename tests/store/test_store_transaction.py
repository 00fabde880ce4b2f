"""The public write API: ``Store.transaction()`` and its :class:`Transaction` (issue 15)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from bishui.errors import InputError, StorageError
from bishui.store import NestedTransactionError, Store, Transaction

TABLE = "CREATE TABLE IF NOT EXISTS tx_probe (k TEXT PRIMARY KEY, n INTEGER NOT NULL)"


def _rows(store: Store) -> list[tuple[str, int]]:
    return [(r["k"], int(r["n"])) for r in store.query("SELECT k, n FROM tx_probe ORDER BY k")]


def test_a_transaction_commits_its_statements_together(store: Store) -> None:
    store.execute(TABLE)
    with store.transaction() as tx:
        tx.execute("INSERT INTO tx_probe (k, n) VALUES (?, ?)", ["a", 1])
        tx.execute_many("INSERT INTO tx_probe (k, n) VALUES (?, ?)", [["b", 2], ["c", 3]])
        tx.insert_rows("tx_probe", ("k", "n"), [("d", 4)])
        # read-your-writes: the transaction sees what it wrote before it commits
        assert tx.fetch("SELECT COUNT(*) FROM tx_probe") == [(4,)]
        assert tx.fetch_one("SELECT n FROM tx_probe WHERE k = ?", ["c"]) == (3,)
        assert tx.fetch_one("SELECT n FROM tx_probe WHERE k = ?", ["zz"]) is None
    assert _rows(store) == [("a", 1), ("b", 2), ("c", 3), ("d", 4)]


def test_upsert_rows_replaces_by_key_and_the_last_of_a_batch_wins(store: Store) -> None:
    store.execute(TABLE)
    with store.transaction() as tx:
        tx.upsert_rows("tx_probe", ("k", "n"), ("k",), [("a", 1), ("b", 2)])
    with store.transaction() as tx:
        tx.upsert_rows("tx_probe", ("k", "n"), ("k",), [("b", 20), ("c", 3), ("c", 30)])
    assert _rows(store) == [("a", 1), ("b", 20), ("c", 30)]


def test_insert_columns_appends_numpy_columns_in_bulk(store: Store) -> None:
    store.execute(TABLE)
    with store.transaction() as tx:
        n = tx.insert_columns(
            "tx_probe",
            {"k": np.array(["a", "b", "c"], dtype=object), "n": np.arange(1, 4, dtype=np.int32)},
        )
        assert n == 3
        assert tx.insert_columns("tx_probe", {"k": np.array([], dtype=object),
                                              "n": np.array([], dtype=np.int64)}) == 0  # fmt: skip
        with pytest.raises(StorageError, match="lengths"):
            tx.insert_columns("tx_probe", {"k": np.array(["d"], dtype=object), "n": np.arange(2)})
        with pytest.raises(StorageError, match="identifier"):
            tx.insert_columns("tx_probe", {"k; --": np.array(["d"], dtype=object)})
    assert _rows(store) == [("a", 1), ("b", 2), ("c", 3)]


def test_an_error_rolls_the_whole_transaction_back(store: Store) -> None:
    store.execute(TABLE)
    store.execute("INSERT INTO tx_probe (k, n) VALUES (?, ?)", ["a", 1])
    with pytest.raises(RuntimeError, match="stop"), store.transaction() as tx:
        tx.execute("UPDATE tx_probe SET n = ? WHERE k = ?", [99, "a"])
        tx.execute("INSERT INTO tx_probe (k, n) VALUES (?, ?)", ["b", 2])
        raise RuntimeError("stop")
    assert _rows(store) == [("a", 1)]
    with pytest.raises(StorageError), store.transaction() as tx:
        tx.execute("INSERT INTO tx_probe (k, n) VALUES (?, ?)", ["c", 3])
        tx.execute("INSERT INTO tx_probe (k, n) VALUES (?, ?)", ["a", 2])  # duplicate key
    assert _rows(store) == [("a", 1)]
    store.execute("INSERT INTO tx_probe (k, n) VALUES (?, ?)", ["c", 3])  # the writer is free
    assert _rows(store) == [("a", 1), ("c", 3)]


def test_nested_use_is_an_error_not_a_deadlock(store: Store) -> None:
    store.execute(TABLE)
    with store.transaction() as tx:
        tx.execute("INSERT INTO tx_probe (k, n) VALUES (?, ?)", ["a", 1])
        with pytest.raises(NestedTransactionError), store.transaction():
            pass  # pragma: no cover - never entered
        with pytest.raises(NestedTransactionError):
            store.execute("INSERT INTO tx_probe (k, n) VALUES (?, ?)", ["b", 2])
        with pytest.raises(NestedTransactionError):
            store.upsert("regions", [{"code": "x", "name": "x", "kind": "city"}])
    # the outer transaction was not disturbed and committed; the writer is free again
    assert _rows(store) == [("a", 1)]
    with store.transaction() as tx:
        tx.execute("INSERT INTO tx_probe (k, n) VALUES (?, ?)", ["b", 2])
    assert _rows(store) == [("a", 1), ("b", 2)]


def test_another_thread_waits_for_the_writer(store: Store) -> None:
    """Only the same thread's nesting is refused; another thread queues on the writer lock."""
    store.execute(TABLE)
    order: list[str] = []
    inside = threading.Event()

    def other() -> None:
        inside.wait()
        with store.transaction() as tx:
            order.append("other")
            tx.execute("INSERT INTO tx_probe (k, n) VALUES (?, ?)", ["b", 2])

    t = threading.Thread(target=other)
    t.start()
    with store.transaction() as tx:
        inside.set()
        tx.execute("INSERT INTO tx_probe (k, n) VALUES (?, ?)", ["a", 1])
        t.join(0.2)  # it cannot get in while this transaction holds the writer
        order.append("first")
    t.join()
    assert order == ["first", "other"]
    assert _rows(store) == [("a", 1), ("b", 2)]


def test_a_transaction_object_is_dead_after_its_block(store: Store) -> None:
    store.execute(TABLE)
    with store.transaction() as tx:
        assert isinstance(tx, Transaction)
    with pytest.raises(StorageError, match="ended"):
        tx.execute("INSERT INTO tx_probe (k, n) VALUES (?, ?)", ["a", 1])


def test_names_in_the_row_helpers_are_plain_identifiers(store: Store) -> None:
    store.execute(TABLE)
    with store.transaction() as tx:
        with pytest.raises(StorageError, match="identifier"):
            tx.insert_rows("tx_probe; DROP TABLE sites", ("k", "n"), [("a", 1)])
        with pytest.raises(StorageError, match="identifier"):
            tx.upsert_rows("tx_probe", ("k", "n) --"), ("k",), [("a", 1)])
    assert store.table_exists("tx_probe") and store.table_exists("sites")
    assert not store.table_exists("no_such_table")


def test_page_counts_the_listing_and_returns_one_page(store: Store) -> None:
    store.execute(TABLE)
    with store.transaction() as tx:
        tx.insert_rows("tx_probe", ("k", "n"), [(f"k{i:02d}", i) for i in range(25)])
    sql = "SELECT k, n FROM tx_probe WHERE n >= ? ORDER BY n DESC, k"
    total, rows = store.page(sql, [5], limit=10, offset=15)
    assert total == 20
    assert [r["n"] for r in rows] == [9, 8, 7, 6, 5]
    assert store.page(sql, [5], limit=0) == (20, [])
    with pytest.raises(InputError):
        store.page(sql, [5], limit=-1)
