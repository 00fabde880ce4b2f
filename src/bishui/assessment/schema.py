"""The assessment domain's tables (migrations in the store's format, see ``bishui.store.schema``).

``assessment_run``       one scoring of a scorecard for a year: the scorecard file's text as used
                         (so the points are recomputed from what is stored), who and when
``assessment_evidence``  per run, county and indicator: the evidence (JSON text), the points
                         (decimal text), no data, rank
``assessment_total``     per run and county: total points and rank
``assessment_allocation``        a fund split by a declared rule from a run's totals (fen)
``assessment_allocation_share``  each county's share [fen]; they sum to the fund
``assessment_asset_batch``       a survey file loaded (name, SHA-256, rows, who, when)
``assessment_asset_line``        a category's opening, increases and decreases by cause, closing
``assessment_term``      a leader's term of office (from, to)
``assessment_case``      an accountability case (责任追究) with its basis (article, item) and forms
``assessment_audit``     every write, numbered in order (``seq``, taken inside the writing
                         transaction): who, role, when, what, on which subject, with its payload

Quantities and points are decimal strings (exact), money integer fen.
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE assessment_run (
            id TEXT PRIMARY KEY,
            scorecard_id TEXT NOT NULL,
            year INTEGER NOT NULL,
            version INTEGER NOT NULL,
            scorecard_text TEXT NOT NULL,
            partial BOOLEAN NOT NULL,
            computed_at TIMESTAMP NOT NULL,
            by_user TEXT NOT NULL
        )""",
        "CREATE UNIQUE INDEX assessment_run_key ON assessment_run (scorecard_id, year, version)",
        """CREATE TABLE assessment_evidence (
            run_id TEXT NOT NULL,
            county TEXT NOT NULL,
            indicator TEXT NOT NULL,
            evidence TEXT NOT NULL,
            points TEXT,
            no_data BOOLEAN NOT NULL,
            rank INTEGER NOT NULL,
            PRIMARY KEY (run_id, county, indicator)
        )""",
        """CREATE TABLE assessment_total (
            run_id TEXT NOT NULL,
            county TEXT NOT NULL,
            points TEXT NOT NULL,
            rank INTEGER NOT NULL,
            PRIMARY KEY (run_id, county)
        )""",
        """CREATE TABLE assessment_allocation (
            id TEXT PRIMARY KEY,
            run_id TEXT NOT NULL,
            fund TEXT NOT NULL,
            kind TEXT NOT NULL,
            rule TEXT NOT NULL,
            total_fen BIGINT NOT NULL,
            created TIMESTAMP NOT NULL,
            by_user TEXT NOT NULL
        )""",
        """CREATE TABLE assessment_allocation_share (
            allocation_id TEXT NOT NULL,
            county TEXT NOT NULL,
            score TEXT NOT NULL,
            fen BIGINT NOT NULL,
            PRIMARY KEY (allocation_id, county)
        )""",
        """CREATE TABLE assessment_asset_batch (
            id TEXT PRIMARY KEY,
            filename TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            lines INTEGER NOT NULL,
            loaded_at TIMESTAMP NOT NULL,
            by_user TEXT NOT NULL
        )""",
        """CREATE TABLE assessment_asset_line (
            county TEXT NOT NULL,
            year INTEGER NOT NULL,
            resource TEXT NOT NULL,
            category TEXT NOT NULL,
            unit TEXT NOT NULL,
            opening TEXT NOT NULL,
            increase TEXT NOT NULL,
            decrease TEXT NOT NULL,
            closing TEXT NOT NULL,
            batch_id TEXT NOT NULL,
            PRIMARY KEY (county, year, resource, category)
        )""",
        """CREATE TABLE assessment_term (
            id TEXT PRIMARY KEY,
            leader TEXT NOT NULL,
            post TEXT NOT NULL,
            county TEXT NOT NULL,
            start_date DATE NOT NULL,
            end_date DATE NOT NULL,
            created TIMESTAMP NOT NULL,
            by_user TEXT NOT NULL
        )""",
        """CREATE TABLE assessment_case (
            id TEXT PRIMARY KEY,
            leader TEXT NOT NULL,
            county TEXT NOT NULL,
            term_id TEXT,
            article TEXT NOT NULL,
            item INTEGER NOT NULL,
            forms TEXT NOT NULL,
            facts TEXT NOT NULL,
            state TEXT NOT NULL,
            opened DATE NOT NULL,
            created TIMESTAMP NOT NULL,
            by_user TEXT NOT NULL
        )""",
        """CREATE TABLE assessment_audit (
            seq BIGINT PRIMARY KEY,
            acted_at TIMESTAMP NOT NULL,
            by_user TEXT NOT NULL,
            role TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL,
            payload TEXT NOT NULL
        )""",
    ],
]
