"""The reports domain's table (migrations in the store's format, see ``bishui.store.schema``).

``reports``
    one generated PDF per (kind, period, version): the parameters it was built from (``as_of``,
    the cut-off day of a period not yet over; ``created``, the time printed in it and the PDF's
    creation date), the rule sets and editions its figures used, whether any figure rests on
    partial data, the SHA-256 of the PDF and the PDF itself. A report is regenerated from these
    stored inputs byte for byte while the stored data are the same
    (:func:`bishui.reports.service.reproduce`).
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE reports (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            period TEXT NOT NULL,
            version INTEGER NOT NULL,
            title TEXT NOT NULL,
            as_of DATE NOT NULL,
            created TIMESTAMP NOT NULL,
            requested_by TEXT NOT NULL,
            rules {JSON} NOT NULL,
            partial BOOLEAN NOT NULL,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL,
            pdf {BLOB} NOT NULL
        )""",
        "CREATE UNIQUE INDEX reports_kind_period ON reports (kind, period, version)",
    ],
]
