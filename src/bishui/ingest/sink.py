"""The gateway's sink: every frame to the raw log, data to the series, the rest to quarantine.

``accept`` returns only when the packet's raw-log entry and its rows are committed (group
commit through :class:`~bishui.ingest.writer.GroupCommitWriter`): the gateway sends the 9014
after that, never before. A value that fails validation is quarantined in the same
transaction, with the rule it broke; the packet's valid values are stored.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter

from bishui.hj212.auth import mask_password
from bishui.hj212.gateway import DeviceCredentials, Received, Rejection, SecurityAlert
from bishui.ingest.packets import BACKFILL_WINDOW, Context, frame_batch
from bishui.ingest.writer import GroupCommitWriter
from bishui.registry import Device
from bishui.registry import devices as registry_devices
from bishui.store import Batch, QuarantineEntry, RawEntry, Store, storable

log = logging.getLogger("bishui.ingest")


class DeviceDirectory:
    """The registry's devices by MN, cached for the gateway's per-frame lookup."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._devices: dict[str, Device] = {}
        self.refresh()

    def refresh(self) -> None:
        devices = registry_devices(self.store)
        with self._lock:
            self._devices = devices

    def device(self, mn: str) -> Device | None:
        return self._devices.get(mn)

    def lookup(self, mn: str) -> DeviceCredentials | None:
        d = self._devices.get(mn)
        if d is None or not d.active:
            return None
        return DeviceCredentials(
            mn=d.mn, pw=d.pw, site_id=d.site_id, crc_policy=d.crc_policy, edition=d.edition
        )


class StoreSink:
    """Implements :class:`bishui.hj212.gateway.Sink` on a store."""

    def __init__(
        self,
        store: Store,
        directory: DeviceDirectory,
        writer: GroupCommitWriter | None = None,
        *,
        backfill_window: dt.timedelta | None = BACKFILL_WINDOW,
    ) -> None:
        self.store = store
        self.backfill_window = backfill_window
        self.directory = directory
        self.writer = writer or GroupCommitWriter(store)
        self.counts: Counter[str] = Counter()

    async def accept(self, item: Received) -> None:
        device = self.directory.device(item.credentials.mn)
        batch = frame_batch(
            item.raw,
            item.packet,
            device,
            Context(item.received_at, item.peer, backfill_window=self.backfill_window),
        )
        await self.writer.write(batch)
        self.counts["rows"] += len(batch.rows)
        self.counts["accepted"] += 1
        self.counts["quarantined_values"] += len(batch.quarantine)

    async def reject(self, item: Rejection) -> None:
        device = self.directory.device(item.mn) if item.mn else None
        raw = mask_password(item.raw)
        batch = Batch(
            raw=[
                RawEntry(
                    item.received_at,
                    "hj212",
                    raw,
                    "rejected",
                    peer=item.peer,
                    mn=item.mn,
                    reason=item.reason,
                )
            ],
            quarantine=[
                QuarantineEntry(
                    item.received_at,
                    "hj212",
                    item.reason,
                    item.message,
                    peer=item.peer,
                    mn=item.mn,
                    site_id=device.site_id if device else None,
                    raw=raw,
                )
            ],
        )
        await self.writer.write(batch)
        self.counts["rejected"] += 1

    async def alert(self, item: SecurityAlert) -> None:
        """Store a platform alert the gateway raised (``gateway_alert``)."""
        import asyncio

        await asyncio.get_running_loop().run_in_executor(
            None,
            self.store.execute,
            "INSERT INTO gateway_alert (raised_at, kind, title, message, peer, mn, count) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                item.raised_at,
                item.kind,
                item.title,
                storable(item.message, 2000),
                storable(item.peer),
                storable(item.mn),
                item.count,
            ],
        )
        self.counts["alerts"] += 1

    async def close(self) -> None:
        await self.writer.close()
