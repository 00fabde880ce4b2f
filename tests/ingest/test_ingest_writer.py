import asyncio
import datetime as dt

import pytest

from bishui.errors import StorageError
from bishui.ingest.writer import GroupCommitWriter
from bishui.store import Batch, RawEntry, Store

T = dt.datetime(2025, 7, 1, 8)


def one(i: int) -> Batch:
    return Batch(
        raw=[RawEntry(T, "hj212", f"frame {i}".encode(), "accepted")],
        rows=[
            (
                "S",
                "a34004",
                "min",
                T + dt.timedelta(minutes=i),
                "logger",
                float(i),
                None,
                None,
                None,
                "N",
                True,
                None,
                f"q{i}",
                T,
            )
        ],
    )


async def test_concurrent_writers_share_commits_and_all_are_durable(store: Store) -> None:
    w = GroupCommitWriter(store)
    await asyncio.gather(*(w.write(one(i)) for i in range(200)))
    await w.close()
    assert store.count("raw_log") == 200
    assert store.count("measurement") == 200
    assert w.items == 200
    assert w.commits < 200  # grouped


class Failing:
    def write_batch(self, batch: Batch) -> None:
        raise StorageError("disk full")


async def test_a_failed_commit_reaches_every_caller() -> None:
    w = GroupCommitWriter(Failing())  # type: ignore[arg-type]
    results = await asyncio.gather(*(w.write(one(i)) for i in range(5)), return_exceptions=True)
    await w.close()
    assert all(isinstance(r, StorageError) for r in results)


async def test_close_refuses_what_was_not_written(store: Store) -> None:
    w = GroupCommitWriter(store)
    await w.write(one(1))
    await w.close()
    assert store.count("raw_log") == 1
    with pytest.raises(RuntimeError):
        await w.write(one(2))  # the writer thread is gone
