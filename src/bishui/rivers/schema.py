"""The river-chief domain's tables (registered with the store by ``bishui.app.DOMAINS``).

``river_body``        water bodies (河流 / 湖泊 / 水库): id, name, kind, where the entry comes from
``river_section``     sections of a body (河段 / 湖片) at ``county``, ``township`` or ``village``
                      level, each under its parent (a township section under the county one),
                      with its region and the monitoring sites (water sections of the registry)
                      that measure it
``river_chief``       chiefs (河长 / 湖长): name, level, the account (``username``) they log in as
``river_assignment``  a chief on a section from a date (to a date): ``active`` → ``ended``
``river_volunteer``   volunteer supervisors (义务监督员): account, area (section ids), dates
``river_joint``       joint-control groups (联防联控) of bodies across county borders: member
                      regions of the city, neighbours outside it, what is shared
``river_patrol``      a patrol from a phone: section, who, state, track points, distance,
                      duration, whether it meets the validity thresholds
``river_photo``       patrol photos: checked as enforcement evidence is, bytes with SHA-256
``river_problem``     problems found on a patrol: category, department, severity, the alert and
                      task of the enforcement loop that work it, state
``river_audit``       every write: when, who (account and role), subject, action, from → to,
                      payload, hash-chained like the other workflows' logs
                      (:class:`bishui.enforcement.audit_table.AuditTable`; migration 2)
"""

from __future__ import annotations

from typing import Any

from bishui.enforcement.audit_table import COLUMNS, history_chained, row_of

_CHUNK = 5000  # rows a bulk insert of migration 2


def chain_audit(tx: Any) -> None:
    """Migration 2's Python step: the rows of the unchained ``river_audit`` (migration 1), in
    the order they were written (``id``), chained from the start into ``river_audit_chain``,
    each keeping its time and content, so an existing database keeps its history and
    verifies."""
    rows = tx.fetch(
        "SELECT ts, actor, role, subject, action, from_state, to_state, detail "
        "FROM river_audit ORDER BY id"
    )
    chain = [row_of(e) for e in history_chained(rows)]
    for i in range(0, len(chain), _CHUNK):
        tx.insert_rows("river_audit_chain", COLUMNS, chain[i : i + _CHUNK])


MIGRATIONS: list[list[Any]] = [
    # 1 — bodies, sections, chiefs, assignments, volunteers, joint control, patrols, problems
    [
        """CREATE TABLE river_body (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            source TEXT NOT NULL
        )""",
        """CREATE TABLE river_section (
            id TEXT PRIMARY KEY,
            body_id TEXT NOT NULL,
            name TEXT NOT NULL,
            level TEXT NOT NULL,
            parent_id TEXT,
            region TEXT NOT NULL,
            sites {JSON} NOT NULL,
            source TEXT NOT NULL
        )""",
        """CREATE TABLE river_chief (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            level TEXT NOT NULL,
            username TEXT UNIQUE,
            post TEXT NOT NULL,
            synthetic BOOLEAN NOT NULL
        )""",
        """CREATE TABLE river_assignment (
            id TEXT PRIMARY KEY,
            chief_id TEXT NOT NULL,
            section_id TEXT NOT NULL,
            title TEXT NOT NULL,
            start_date DATE NOT NULL,
            end_date DATE,
            state TEXT NOT NULL,
            reason TEXT
        )""",
        """CREATE TABLE river_volunteer (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            username TEXT UNIQUE,
            area {JSON} NOT NULL,
            start_date DATE NOT NULL,
            end_date DATE,
            state TEXT NOT NULL,
            synthetic BOOLEAN NOT NULL
        )""",
        """CREATE TABLE river_joint (
            id TEXT PRIMARY KEY,
            bodies {JSON} NOT NULL,
            name TEXT NOT NULL,
            members {JSON} NOT NULL,
            neighbours {JSON} NOT NULL,
            shared {JSON} NOT NULL,
            source TEXT NOT NULL
        )""",
        """CREATE TABLE river_patrol (
            id TEXT PRIMARY KEY,
            section_id TEXT NOT NULL,
            patroller_kind TEXT NOT NULL,
            person_id TEXT NOT NULL,
            username TEXT NOT NULL,
            state TEXT NOT NULL,
            started TIMESTAMP NOT NULL,
            ended TIMESTAMP,
            points {JSON} NOT NULL,
            n_points INTEGER NOT NULL,
            distance_m BIGINT NOT NULL,
            duration_s BIGINT NOT NULL,
            valid BOOLEAN NOT NULL,
            note TEXT NOT NULL,
            reason TEXT
        )""",
        """CREATE TABLE river_photo (
            id TEXT PRIMARY KEY,
            patrol_id TEXT NOT NULL,
            name TEXT NOT NULL,
            media_type TEXT NOT NULL,
            size BIGINT NOT NULL,
            sha256 TEXT NOT NULL,
            uploaded_by TEXT NOT NULL,
            uploaded_at TIMESTAMP NOT NULL,
            content {BLOB} NOT NULL,
            UNIQUE (patrol_id, sha256)
        )""",
        """CREATE TABLE river_problem (
            id TEXT PRIMARY KEY,
            patrol_id TEXT NOT NULL,
            section_id TEXT NOT NULL,
            category TEXT NOT NULL,
            description TEXT NOT NULL,
            lat DOUBLE PRECISION,
            lon DOUBLE PRECISION,
            photos {JSON} NOT NULL,
            department TEXT NOT NULL,
            severity TEXT NOT NULL,
            state TEXT NOT NULL,
            round INTEGER NOT NULL,
            alert_id TEXT,
            task_id TEXT,
            recorded_by TEXT NOT NULL,
            recorded_at TIMESTAMP NOT NULL,
            updated TIMESTAMP NOT NULL
        )""",
        "CREATE SEQUENCE river_audit_seq",
        """CREATE TABLE river_audit (
            id BIGINT PRIMARY KEY DEFAULT nextval('river_audit_seq'),
            ts TIMESTAMP NOT NULL,
            actor TEXT NOT NULL,
            role TEXT NOT NULL,
            subject TEXT NOT NULL,
            action TEXT NOT NULL,
            from_state TEXT NOT NULL,
            to_state TEXT NOT NULL,
            detail {JSON} NOT NULL
        )""",
    ],
    # 2 — the audit log hash-chained (issue 20 follow-up): the same columns as the other
    # workflows' audit tables; the rows kept so far chained in their order by chain_audit
    [
        """CREATE TABLE river_audit_chain (
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
        chain_audit,
        "DROP TABLE river_audit",
        "DROP SEQUENCE river_audit_seq",
        "ALTER TABLE river_audit_chain RENAME TO river_audit",
    ],
]
