"""The participation domain's tables (registered with the store by ``bishui.app.DOMAINS``).

``participation_report``  one row per citizen report: where (WGS 84), what (description, the
                          photo's bytes with their media type, size and SHA-256), the contact
                          the reporter chose to give (staff only), the state the reporter sees,
                          the enforcement alert and task it became and the outcome. The
                          follow-up code is kept only as its SHA-256 (``code_hash``). No client
                          address is stored.
``participation_audit``   the append-only, hash-chained log of every change to a report (the
                          submission, staff triage, the steps that follow enforcement), in the
                          shape of :class:`bishui.enforcement.audit.AuditEvent`.
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # 1 — citizen reports and their audit log
    [
        """CREATE TABLE participation_report (
            id TEXT PRIMARY KEY,
            code_hash TEXT NOT NULL UNIQUE,
            created TIMESTAMP NOT NULL,
            updated TIMESTAMP NOT NULL,
            lat DOUBLE PRECISION NOT NULL,
            lon DOUBLE PRECISION NOT NULL,
            region TEXT,
            description TEXT NOT NULL,
            contact TEXT NOT NULL,
            photo {BLOB},
            photo_type TEXT NOT NULL,
            photo_size BIGINT NOT NULL,
            photo_sha256 TEXT NOT NULL,
            state TEXT NOT NULL,
            alert_id TEXT,
            task_id TEXT,
            outcome TEXT NOT NULL
        )""",
        """CREATE TABLE participation_audit (
            seq BIGINT PRIMARY KEY,
            ts TIMESTAMP NOT NULL,
            actor TEXT NOT NULL,
            role TEXT NOT NULL,
            subject TEXT NOT NULL,
            action TEXT NOT NULL,
            from_state TEXT NOT NULL,
            to_state TEXT NOT NULL,
            payload {JSON} NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE
        )""",
    ],
]
