"""Group commit: many concurrent writers, one transaction, each told when it is durable.

The gateway calls :meth:`GroupCommitWriter.write` once per packet and awaits it; the writer
gathers whatever has queued while the previous transaction was committing, writes it all in
one transaction on the store's writer thread, and only then resolves every waiting caller.
A caller that is resolved may acknowledge (HJ 212 9014): its data has been committed.

One caller's data can never fail the others' (issue 13): if the group's transaction fails,
the group is split in halves and each half retried, down to the single item the database
refuses (about 2·log₂ n transactions for one bad item in n). That item alone gets the
exception (so nothing of it is acknowledged) and is quarantined alone: its raw bytes go to
the raw log and quarantine with reason ``store_refused`` and the database's message, without
the fields that were refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

from bishui.store import Batch, QuarantineEntry, RawEntry, Store, storable
from bishui.timeutil import now_beijing

log = logging.getLogger("bishui.ingest")


class GroupCommitWriter:
    def __init__(self, store: Store, *, max_batch: int = 20_000, max_wait: float = 0.0) -> None:
        self.store = store
        self.max_batch = max_batch  # rows + entries in one transaction (soft cap)
        self.max_wait = (
            max_wait  # seconds to linger for more work (0: take what queued during the last commit)
        )
        self._queue: asyncio.Queue[tuple[Batch, asyncio.Future[None]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        # One thread: the store's single writer (Datasette's rule for embedded databases).
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bishui-writer")
        self.commits = 0
        self.items = 0
        self.refused = 0  # items the store refused alone (quarantined as store_refused)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="group-commit")

    async def write(self, batch: Batch) -> None:
        """Queue *batch*; return once it is committed (raise if the commit failed)."""
        if self._task is None:
            self.start()
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((batch, fut))
        await fut

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        # Anything still queued was never written: its callers must not acknowledge.
        while not self._queue.empty():
            _, fut = self._queue.get_nowait()
            if not fut.done():
                fut.set_exception(ConnectionAbortedError("writer closed before commit"))
        self._pool.shutdown(wait=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self._queue.get()
            group = [first]
            size = len(first[0])
            deadline = loop.time() + self.max_wait
            while size < self.max_batch:
                try:
                    timeout = deadline - loop.time()
                    if timeout <= 0:
                        item = self._queue.get_nowait()
                    else:
                        item = await asyncio.wait_for(self._queue.get(), timeout)
                except (asyncio.QueueEmpty, TimeoutError):
                    break
                group.append(item)
                size += len(item[0])
            await self._commit(loop, group)

    async def _commit(
        self,
        loop: asyncio.AbstractEventLoop,
        group: list[tuple[Batch, asyncio.Future[None]]],
    ) -> None:
        merged = Batch()
        for b, _ in group:
            merged.extend(b)
        try:
            await loop.run_in_executor(self._pool, self.store.write_batch, merged)
        except Exception as exc:
            if len(group) > 1:
                log.warning("commit of %d items failed (%s); splitting", len(group), exc)
                half = len(group) // 2
                await self._commit(loop, group[:half])
                await self._commit(loop, group[half:])
                return
            batch, fut = group[0]
            log.error("commit refused one item: %s", exc)
            self.refused += 1
            await self._quarantine_refused(loop, batch, exc)
            if not fut.done():
                fut.set_exception(exc)
            return
        self.commits += 1
        self.items += len(group)
        for _, fut in group:
            if not fut.done():
                fut.set_result(None)

    async def _quarantine_refused(
        self, loop: asyncio.AbstractEventLoop, batch: Batch, exc: Exception
    ) -> None:
        """Keep what the database refused: its raw bytes, in the raw log and quarantine."""
        entries = batch.raw or [RawEntry(now_beijing(), "unknown", b"", "rejected")]
        message = storable(f"the store refused this item: {exc}", 500)
        fallback = Batch(
            raw=[
                RawEntry(e.received_at, e.channel, e.raw, "rejected", reason="store_refused")
                for e in entries
            ],
            quarantine=[
                QuarantineEntry(e.received_at, e.channel, "store_refused", message, raw=e.raw)
                for e in entries
            ],
        )
        try:
            await loop.run_in_executor(self._pool, self.store.write_batch, fallback)
        except Exception:  # the store itself is failing: nothing more can be kept here
            log.exception("quarantine of a refused item failed")
