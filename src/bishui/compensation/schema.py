"""The compensation domain's tables (registered with the store by ``bishui.app.DOMAINS``).

Append-only by design: a statement version, a journal entry or a confirmation event is
inserted once and never updated, so the store itself is the audit trail.

``compensation_agreement``   every agreement version as loaded: id, version, rule hash, the
                             TOML document as written and its parsed canonical JSON
``compensation_statement``   every statement version (never overwritten): amount and the
                             difference in integer fen, the content hash and the full
                             statement JSON (evidence included), who computed it and when
``compensation_statement_party``  the parties of each version with what it pays / receives
                             [fen], for scoping by region and party statements
``compensation_journal``     the double-entry ledger: one entry per posted version …
``compensation_posting``     … and its lines (account ``party:<code>``, signed fen; each
                             entry sums to zero)
``compensation_confirmation`` acknowledge / dispute / supersede events per party, with the
                             state after the event, the reason, when and who
``compensation_figure``      figures a shape needs that no monitoring series gives (e.g. the
                             forest area against its 2020 baseline), entered with their source
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # 1 — agreements, statements, ledger, confirmations, entered figures
    [
        """CREATE TABLE compensation_agreement (
            id TEXT NOT NULL,
            version INTEGER NOT NULL,
            rule_hash TEXT NOT NULL,
            title TEXT NOT NULL,
            status TEXT NOT NULL,
            period_kind TEXT NOT NULL,
            parties TEXT NOT NULL,
            document TEXT NOT NULL,
            parsed {JSON} NOT NULL,
            loaded_at TIMESTAMP NOT NULL,
            loaded_by TEXT NOT NULL,
            PRIMARY KEY (id, version)
        )""",
        """CREATE TABLE compensation_statement (
            id TEXT PRIMARY KEY,
            agreement_id TEXT NOT NULL,
            agreement_version INTEGER NOT NULL,
            rule_hash TEXT NOT NULL,
            period TEXT NOT NULL,
            period_kind TEXT NOT NULL,
            period_start DATE NOT NULL,
            period_end DATE NOT NULL,
            version INTEGER NOT NULL,
            status TEXT NOT NULL,
            amount_fen BIGINT NOT NULL,
            previous_amount_fen BIGINT,
            difference_fen BIGINT,
            supersedes TEXT,
            content_hash TEXT NOT NULL,
            body {JSON} NOT NULL,
            synthetic BOOLEAN NOT NULL,
            created_at TIMESTAMP NOT NULL,
            created_by TEXT NOT NULL,
            UNIQUE (agreement_id, period, version)
        )""",
        """CREATE TABLE compensation_statement_party (
            statement_id TEXT NOT NULL,
            party TEXT NOT NULL,
            role TEXT NOT NULL,
            pays_fen BIGINT NOT NULL,
            receives_fen BIGINT NOT NULL,
            PRIMARY KEY (statement_id, party)
        )""",
        "CREATE SEQUENCE compensation_journal_seq",
        """CREATE TABLE compensation_journal (
            seq BIGINT PRIMARY KEY DEFAULT nextval('compensation_journal_seq'),
            statement_id TEXT NOT NULL UNIQUE,
            statement_hash TEXT NOT NULL,
            agreement_id TEXT NOT NULL,
            period TEXT NOT NULL,
            period_start DATE NOT NULL,
            period_end DATE NOT NULL,
            memo TEXT NOT NULL,
            posted_at TIMESTAMP NOT NULL,
            posted_by TEXT NOT NULL
        )""",
        """CREATE TABLE compensation_posting (
            seq BIGINT NOT NULL,
            line INTEGER NOT NULL,
            account TEXT NOT NULL,
            amount_fen BIGINT NOT NULL,
            PRIMARY KEY (seq, line)
        )""",
        "CREATE SEQUENCE compensation_confirmation_seq",
        """CREATE TABLE compensation_confirmation (
            id BIGINT PRIMARY KEY DEFAULT nextval('compensation_confirmation_seq'),
            statement_id TEXT NOT NULL,
            party TEXT NOT NULL,
            action TEXT NOT NULL,
            state TEXT NOT NULL,
            reason TEXT,
            acted_at TIMESTAMP NOT NULL,
            by_user TEXT NOT NULL
        )""",
        """CREATE TABLE compensation_figure (
            point TEXT NOT NULL,
            name TEXT NOT NULL,
            period TEXT NOT NULL,
            value TEXT NOT NULL,
            source TEXT NOT NULL,
            entered_at TIMESTAMP NOT NULL,
            entered_by TEXT NOT NULL,
            PRIMARY KEY (point, name, period)
        )""",
        "-- postgresql\nCREATE INDEX compensation_statement_ap "
        "ON compensation_statement (agreement_id, period)",
        "-- postgresql\nCREATE INDEX compensation_confirmation_st "
        "ON compensation_confirmation (statement_id)",
    ],
]
