"""An in-memory sink for the gateway tests (test helper only — not durable)."""

from __future__ import annotations

import asyncio

from bishui.hj212.gateway import Received, Rejection


class MemorySink:
    """Keeps everything in lists; ``fail_next`` makes the next accepts raise."""

    def __init__(self, delay: float = 0.0) -> None:
        self.accepted: list[Received] = []
        self.rejected: list[Rejection] = []
        self.delay = delay
        self.fail_next = 0

    async def accept(self, item: Received) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_next:
            self.fail_next -= 1
            raise OSError("disk full (simulated)")
        self.accepted.append(item)

    async def reject(self, item: Rejection) -> None:
        self.rejected.append(item)
