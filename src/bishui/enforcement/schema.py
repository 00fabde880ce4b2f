"""The enforcement domain's tables (registered with the store by ``bishui.app.DOMAINS``).

``enforcement_audit``         the append-only, hash-chained event log
                              (:class:`~bishui.enforcement.audit.AuditEvent` row by row): the
                              record. Nothing is updated or deleted; ``seq`` is unique, so two
                              writers cannot fork the chain.
``enforcement_alert``         the latest snapshot of each alert (rebuildable from the log)
``enforcement_task``          the latest snapshot of each task (``body`` = ``Task.as_dict``);
                              :func:`bishui.enforcement.service.replay_task` rebuilds it from
                              the log and must agree
``enforcement_notification``  every notification sent, with the event that produced it
``enforcement_evidence``      evidence files of a task (:mod:`bishui.enforcement.evidence`): the
                              bytes with their SHA-256, media type, size and who uploaded them
                              when, the ``seq`` of its upload event in the audit log; never
                              updated or deleted. One row per task and content
                              (``UNIQUE (task_id, sha256)``): the same bytes uploaded twice are
                              one file.

An alert or task is about a *subject* (``subject_kind``): ``outlet`` — an enterprise's
discharge outlet (``uscc``, ``site_code``, ``outlet_id``) — or ``water_source`` — a
drinking-water source's monitoring site (``site_code`` = the water site id, ``region``; no
enterprise, so ``uscc`` and ``outlet_id`` are NULL). Migration 3 adds the column (existing rows
are outlets) and lets those two be NULL.

Migration 4 (alerts that reach people, issue 16 item 4; :mod:`bishui.enforcement.delivery`):

``enforcement_alert.ack_by/ack_at``  who acknowledged the alert and when (the audit log has the
                              ``acknowledge`` event too)
``enforcement_delivery``      the outbox: one row per message and channel (``inapp``, ``sms``,
                              ``wecom``, ``dingtalk``, ``log``) — recipient, text, status
                              (``pending`` → ``sent`` | ``failed``), attempts, the next
                              attempt's time and the last error. Written in the transaction
                              that raised the alert or moved the task; senders work it off
                              later (the runtime loop), so a sender that is down loses nothing
                              and blocks nothing.
``enforcement_route``         routing rules: alerts of a rule (prefix), subject kind, region and
                              severity at least … → recipients (roles, users, phone numbers) on
                              channels; edited by an admin
``enforcement_inbox_seen``    per user, the last in-app message id they have seen (the bell's
                              unread count)

Migration 5 (policy versions, issue 19; :mod:`bishui.enforcement.policy`):

``enforcement_task.policy_version``  the enforcement policy version the task was opened under
                              (also in its ``create`` event); it is judged by that version
                              afterwards. NULL for tasks opened before: the earliest version.
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # 1 — audit log, alert and task snapshots, notifications
    [
        """CREATE TABLE enforcement_audit (
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
        """CREATE TABLE enforcement_alert (
            id TEXT PRIMARY KEY,
            rule_id TEXT NOT NULL,
            severity TEXT NOT NULL,
            site_code TEXT NOT NULL,
            outlet_id TEXT NOT NULL,
            pollutant TEXT NOT NULL,
            start_ts TIMESTAMP NOT NULL,
            end_ts TIMESTAMP NOT NULL,
            uscc TEXT NOT NULL,
            region TEXT,
            created TIMESTAMP NOT NULL,
            state TEXT NOT NULL,
            task_id TEXT,
            finding {JSON} NOT NULL
        )""",
        """CREATE TABLE enforcement_task (
            id TEXT PRIMARY KEY,
            uscc TEXT NOT NULL,
            site_code TEXT NOT NULL,
            region TEXT,
            severity TEXT NOT NULL,
            state TEXT NOT NULL,
            assignee TEXT,
            assignee_kind TEXT,
            title TEXT NOT NULL,
            created TIMESTAMP NOT NULL,
            deadline TIMESTAMP NOT NULL,
            updated TIMESTAMP NOT NULL,
            body {JSON} NOT NULL
        )""",
        "CREATE SEQUENCE enforcement_notification_seq",
        """CREATE TABLE enforcement_notification (
            id BIGINT PRIMARY KEY DEFAULT nextval('enforcement_notification_seq'),
            event_seq BIGINT NOT NULL,
            task_id TEXT NOT NULL,
            recipient TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            sender TEXT NOT NULL,
            sent_at TIMESTAMP NOT NULL
        )""",
        "-- postgresql\nCREATE INDEX enforcement_audit_subject ON enforcement_audit (subject)",
    ],
    # 2 — evidence files (the bytes themselves; the audit log records their SHA-256)
    [
        """CREATE TABLE enforcement_evidence (
            id TEXT PRIMARY KEY,
            task_id TEXT NOT NULL,
            name TEXT NOT NULL,
            media_type TEXT NOT NULL,
            size BIGINT NOT NULL,
            sha256 TEXT NOT NULL,
            uploaded_by TEXT NOT NULL,
            uploader_role TEXT NOT NULL,
            uploaded_at TIMESTAMP NOT NULL,
            audit_seq BIGINT NOT NULL,
            content {BLOB} NOT NULL,
            UNIQUE (task_id, sha256)
        )""",
    ],
    # 3 — the alert/task subject: an enterprise outlet or a drinking-water source (no uscc)
    [
        "ALTER TABLE enforcement_alert ADD COLUMN subject_kind TEXT NOT NULL DEFAULT 'outlet'",
        "ALTER TABLE enforcement_alert ALTER COLUMN uscc DROP NOT NULL",
        "ALTER TABLE enforcement_alert ALTER COLUMN outlet_id DROP NOT NULL",
        "ALTER TABLE enforcement_task ADD COLUMN subject_kind TEXT NOT NULL DEFAULT 'outlet'",
        "ALTER TABLE enforcement_task ALTER COLUMN uscc DROP NOT NULL",
    ],
    # 4 — acknowledgement, the delivery outbox, routing rules, the in-app inbox
    [
        "ALTER TABLE enforcement_alert ADD COLUMN ack_by TEXT",
        "ALTER TABLE enforcement_alert ADD COLUMN ack_at TIMESTAMP",
        "CREATE SEQUENCE enforcement_delivery_seq",
        """CREATE TABLE enforcement_delivery (
            id BIGINT PRIMARY KEY DEFAULT nextval('enforcement_delivery_seq'),
            created TIMESTAMP NOT NULL,
            channel TEXT NOT NULL,
            recipient TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            alert_id TEXT,
            task_id TEXT,
            route_id BIGINT,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            next_at TIMESTAMP NOT NULL,
            last_error TEXT,
            sent_at TIMESTAMP
        )""",
        "-- postgresql\nCREATE INDEX enforcement_delivery_due "
        "ON enforcement_delivery (status, next_at)",
        "CREATE SEQUENCE enforcement_route_seq",
        """CREATE TABLE enforcement_route (
            id BIGINT PRIMARY KEY DEFAULT nextval('enforcement_route_seq'),
            name TEXT NOT NULL,
            rule_prefix TEXT NOT NULL,
            subject_kind TEXT NOT NULL,
            region TEXT NOT NULL,
            min_severity TEXT NOT NULL,
            recipients {JSON} NOT NULL,
            channels {JSON} NOT NULL,
            enabled BOOLEAN NOT NULL,
            updated_by TEXT NOT NULL,
            updated TIMESTAMP NOT NULL
        )""",
        # the default rule (an admin edits it): medium and high alerts to staff, in the app
        "INSERT INTO enforcement_route (name, rule_prefix, subject_kind, region, min_severity, "
        "recipients, channels, enabled, updated_by, updated) VALUES ('中级及以上告警：站内通知', "
        "'', '', '', 'medium', '[\"role:admin\", \"role:inspector\"]', '[\"inapp\"]', TRUE, "
        "'system', TIMESTAMP '2026-12-07 00:00:00')",
        """CREATE TABLE enforcement_inbox_seen (
            username TEXT PRIMARY KEY,
            seen_id BIGINT NOT NULL
        )""",
    ],
    # 5 — the policy version a task was opened under (NULL: opened before; the earliest)
    [
        "ALTER TABLE enforcement_task ADD COLUMN policy_version TEXT",
    ],
]
