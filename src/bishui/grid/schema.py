"""The grid domain's table (registered with the store by ``bishui.app.DOMAINS``).

``grid_message``   one row per MQTT message written: its key (device/seq/time for a signed
                   message, ``raw/<sha256>`` otherwise), the digest of its topic and bytes,
                   when it arrived and its verdict. The intake looks keys up in the same
                   transaction that writes a message, so a redelivery is written once.
                   On PostgreSQL an index on ``received_at`` serves the prune (``prune``).

Everything else a message writes goes to the core tables: ``raw_log`` (channel ``mqtt``),
``measurement`` and ``quarantine``.
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # 1 — redelivery keys
    [
        """CREATE TABLE grid_message (
            key TEXT PRIMARY KEY,
            device_id TEXT,
            digest TEXT NOT NULL,
            received_at TIMESTAMP NOT NULL,
            verdict TEXT NOT NULL
        )""",
    ],
    # 2 — the prune's range on received_at (issue 21): PostgreSQL's only, like the core's
    # secondary indexes — DuckDB prunes the range with its zone maps (keys arrive in time
    # order) and would pay for an ART index on every intake insert.
    [
        "-- postgresql\nCREATE INDEX grid_message_received ON grid_message (received_at)",
    ],
]
