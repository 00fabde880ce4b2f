"""The police domain's tables (registered with the store by ``bishui.app.DOMAINS``).

``police_case``       the latest snapshot of each transfer case (``body`` = ``Case.as_dict``);
                      ``transferred_at`` is set once the case has gone to the police — what the
                      police role sees (scoping)
``police_package``    every version of a case's evidence package sent to the police: its
                      canonical JSON and the SHA-256 of it; never updated or deleted
``police_operation``  planned joint and night operations (``body``: targets, team, summary)
``police_visit``      visits of an operation with their findings and the enforcement alerts
                      and tasks the findings raised
``police_audit``      every write of this domain, append-only and hash-chained like the
                      enforcement log (:class:`bishui.enforcement.audit.AuditEvent`)
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # 1 — cases, packages, operations, visits, audit
    [
        """CREATE TABLE police_case (
            id TEXT PRIMARY KEY,
            task_id TEXT NOT NULL,
            state TEXT NOT NULL,
            region TEXT,
            uscc TEXT,
            created TIMESTAMP NOT NULL,
            transferred_at TIMESTAMP,
            updated TIMESTAMP NOT NULL,
            body {JSON} NOT NULL
        )""",
        """CREATE TABLE police_package (
            case_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            created TIMESTAMP NOT NULL,
            sha256 TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (case_id, version)
        )""",
        """CREATE TABLE police_operation (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            state TEXT NOT NULL,
            start_ts TIMESTAMP NOT NULL,
            end_ts TIMESTAMP NOT NULL,
            created TIMESTAMP NOT NULL,
            created_by TEXT NOT NULL,
            body {JSON} NOT NULL
        )""",
        """CREATE TABLE police_visit (
            id TEXT PRIMARY KEY,
            op_id TEXT NOT NULL,
            site_code TEXT NOT NULL,
            uscc TEXT,
            visited_at TIMESTAMP NOT NULL,
            by_user TEXT NOT NULL,
            note TEXT NOT NULL,
            findings {JSON} NOT NULL
        )""",
        """CREATE TABLE police_audit (
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
