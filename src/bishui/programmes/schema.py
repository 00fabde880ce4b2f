"""The programmes domain's tables (registered with the store by ``bishui.app.DOMAINS``).

Money is integer fen (BIGINT). Every write goes through :mod:`bishui.programmes.service` in one
store transaction with its event in ``programme_audit`` (hash-chained like enforcement's log,
:class:`bishui.enforcement.audit.AuditEvent`).

``programme_case``       ecological-damage compensation cases: state, county, the case as JSON
``programme_project``    the project register: kind, county, owner, budget, programme, state
``programme_milestone``  a project's milestones: planned and actual dates, the 督办 task
``programme_ledger``     fund entries per project: allocate / disburse [fen], in order
``programme_file``       evidence files of a case or project (bytes, SHA-256)
``programme_audit``      every write: seq, time, actor, subject, action, states, payload, hashes
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # 1 — damage cases, projects, milestones, the fund ledger, files, audit
    [
        """CREATE TABLE programme_case (
            id TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            county TEXT NOT NULL,
            title TEXT NOT NULL,
            liable TEXT NOT NULL,
            body TEXT NOT NULL,
            updated TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE programme_project (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            county TEXT NOT NULL,
            owner TEXT NOT NULL,
            programme TEXT NOT NULL,
            budget_fen BIGINT NOT NULL,
            state TEXT NOT NULL,
            case_id TEXT,
            illustrative BOOLEAN NOT NULL,
            body TEXT NOT NULL,
            updated TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE programme_milestone (
            project_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            name TEXT NOT NULL,
            planned_on DATE NOT NULL,
            actual_on DATE,
            task_id TEXT,
            PRIMARY KEY (project_id, seq)
        )""",
        """CREATE TABLE programme_ledger (
            seq BIGINT PRIMARY KEY,
            project_id TEXT NOT NULL,
            fund TEXT NOT NULL,
            kind TEXT NOT NULL,
            amount_fen BIGINT NOT NULL,
            purpose TEXT,
            on_date DATE NOT NULL,
            doc TEXT NOT NULL,
            entered_by TEXT NOT NULL,
            entered_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE programme_file (
            id TEXT PRIMARY KEY,
            subject TEXT NOT NULL,
            name TEXT NOT NULL,
            media_type TEXT NOT NULL,
            size BIGINT NOT NULL,
            sha256 TEXT NOT NULL,
            uploaded_by TEXT NOT NULL,
            uploaded_at TIMESTAMP NOT NULL,
            audit_seq BIGINT NOT NULL,
            content {BLOB} NOT NULL
        )""",
        """CREATE TABLE programme_audit (
            seq BIGINT PRIMARY KEY,
            ts TIMESTAMP NOT NULL,
            actor TEXT NOT NULL,
            role TEXT NOT NULL,
            subject TEXT NOT NULL,
            action TEXT NOT NULL,
            from_state TEXT NOT NULL,
            to_state TEXT NOT NULL,
            payload TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )""",
    ],
]
