"""The sources domain's tables (registered by ``bishui.app.DOMAINS``, in the store's format).

``source_permit``       every permit version as recorded, never overwritten: a version whose
                        content changes (e.g. its ``valid_to`` closed by an amendment, or a
                        revocation) gets a new ``revision`` row; the current state of a version
                        is its highest revision. ``body`` is :func:`permits_io.permit_to_dict`,
                        ``content_hash`` its SHA-256.
``source_finding``      every finding once, keyed by :attr:`Finding.key` (rule, rule version,
                        outlet, pollutant, span), with its evidence (the whole
                        :meth:`Finding.as_dict`) and the rule / rule-set versions. ``event_key``
                        names the first stored finding of the same event (same rule, outlet,
                        pollutant and level, overlapping or adjacent span): only a finding that
                        is its own event raises an alert.
``source_mass_daily``   emitted mass per outlet, pollutant and day [t] with the missing hours
                        (derived data, replaced when a day is checked again): the CAP check
                        sums it from 1 January without re-reading the year.
``source_run``          one row per checks run: period, rule-set version, counts.
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # 1 — permits (versioned), findings, daily masses, runs
    [
        """CREATE TABLE source_permit (
            permit_no TEXT NOT NULL,
            version INTEGER NOT NULL,
            revision INTEGER NOT NULL,
            uscc TEXT NOT NULL,
            enterprise TEXT NOT NULL,
            management_class TEXT NOT NULL,
            valid_from DATE NOT NULL,
            valid_to DATE NOT NULL,
            revoked_on DATE,
            change_reason TEXT,
            body {JSON} NOT NULL,
            content_hash TEXT NOT NULL,
            recorded_at TIMESTAMP NOT NULL,
            recorded_by TEXT NOT NULL,
            PRIMARY KEY (permit_no, version, revision)
        )""",
        """CREATE TABLE source_finding (
            finding_key TEXT PRIMARY KEY,
            event_key TEXT NOT NULL,
            rule_id TEXT NOT NULL,
            rule_version TEXT NOT NULL,
            ruleset_version TEXT NOT NULL,
            severity TEXT NOT NULL,
            site_code TEXT NOT NULL,
            outlet_id TEXT NOT NULL,
            site_id TEXT,
            uscc TEXT NOT NULL,
            region TEXT,
            pollutant TEXT NOT NULL,
            start_ts TIMESTAMP NOT NULL,
            end_ts TIMESTAMP NOT NULL,
            permit_no TEXT,
            permit_version INTEGER,
            message TEXT,
            body {JSON} NOT NULL,
            resolution TEXT NOT NULL,
            run_id TEXT NOT NULL,
            found_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE source_mass_daily (
            site_code TEXT NOT NULL,
            outlet_id TEXT NOT NULL,
            pollutant TEXT NOT NULL,
            day DATE NOT NULL,
            mass_t DOUBLE PRECISION NOT NULL,
            missing_hours INTEGER NOT NULL,
            PRIMARY KEY (site_code, outlet_id, pollutant, day)
        )""",
        """CREATE TABLE source_run (
            id TEXT PRIMARY KEY,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP NOT NULL,
            period_start TIMESTAMP NOT NULL,
            period_end TIMESTAMP NOT NULL,
            ruleset_version TEXT NOT NULL,
            outlets INTEGER NOT NULL,
            findings INTEGER NOT NULL,
            new_findings INTEGER NOT NULL,
            alerts INTEGER NOT NULL,
            tasks INTEGER NOT NULL
        )""",
        "-- postgresql\nCREATE INDEX source_finding_site ON source_finding (site_code, rule_id)",
        "-- postgresql\nCREATE INDEX source_finding_time ON source_finding (start_ts)",
    ],
]
