"""The water domain's tables (migrations in the store's format, see ``bishui.store.schema``).

``water_alerts``
    drinking-water source alerts raised by :func:`bishui.water.supervision.run_alerts`, one row
    per alert key (source, kind, parameter, start time): re-running the rules over the same data
    updates the row (``last_seen``, ``evidence``) and never adds a second one. ``state`` is for
    the enforcement module: ``new`` → ``routed`` when :func:`bishui.water.outbox.route`
    has raised the enforcement alert ``alert_id`` (migration 2) for it; the water module never
    changes it once set.
``water_results``
    a cache of published period results (section, river, city, ranking tables) keyed by period,
    table and rule version, with a fingerprint of the data they were computed from; a result is
    reused only while the fingerprint is unchanged, so late data is always included.
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # 1 — drinking-water source alerts and the results cache
    [
        """CREATE TABLE water_alerts (
            id TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            kind TEXT NOT NULL,
            parameter TEXT NOT NULL,
            ts TIMESTAMP NOT NULL,
            value DOUBLE PRECISION,
            limit_value DOUBLE PRECISION,
            target_class INTEGER,
            evidence {JSON},
            rules_version TEXT NOT NULL,
            first_seen TIMESTAMP NOT NULL,
            last_seen TIMESTAMP NOT NULL,
            state TEXT NOT NULL DEFAULT 'new'
        )""",
        """CREATE TABLE water_results (
            period TEXT NOT NULL,
            tab TEXT NOT NULL,
            rules_version TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            computed_at TIMESTAMP NOT NULL,
            payload {JSON} NOT NULL,
            PRIMARY KEY (period, tab, rules_version)
        )""",
        "-- postgresql\nCREATE INDEX water_alerts_ts ON water_alerts (source, ts)",
    ],
    # 2 — the enforcement alert a routed water alert became
    [
        "ALTER TABLE water_alerts ADD COLUMN alert_id TEXT",
        "-- postgresql\nCREATE INDEX water_alerts_state ON water_alerts (state)",
    ],
]
