"""Group commit: many concurrent writers, one transaction, each told when it is durable.

The gateway calls :meth:`GroupCommitWriter.write` once per packet and awaits it; the writer
gathers whatever has queued while the previous transaction was committing, writes it all in
one transaction on the store's writer thread, and only then resolves every waiting caller.
A caller that is resolved may acknowledge (HJ 212 9014): its data has been committed.
If the transaction fails, every caller in it gets the exception and acknowledges nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

from bishui.store import Batch, Store

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
            merged = Batch()
            for b, _ in group:
                merged.extend(b)
            try:
                await loop.run_in_executor(self._pool, self.store.write_batch, merged)
            except Exception as exc:
                log.error("commit of %d items failed: %s", len(group), exc)
                for _, fut in group:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            self.commits += 1
            self.items += len(group)
            for _, fut in group:
                if not fut.done():
                    fut.set_result(None)
