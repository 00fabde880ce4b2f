"""The exchange registry's tables (registered by ``bishui.app.DOMAINS``, in the store's format).

``exchange_log``             the append-only, hash-chained transaction log
                             (:mod:`bishui.exchange.log`): every registry write is one row —
                             issuance, transfer, surrender, retirement, cancellation, expiry, and
                             the registration of entities, accounts, representatives and
                             operators. It is the audit trail: rows are inserted, never updated
                             or deleted. Everything below is derived from it.
``exchange_head``            one row: the last ``seq`` and ``hash``. Every registry write locks
                             it first (``SELECT … FOR UPDATE`` on PostgreSQL), which serialises
                             registry writes across connections and processes.
``exchange_block``           the serial blocks as the log leaves them (the stored holdings):
                             series, inclusive serial range, validity, account, status.
``exchange_entity``          registered entities (enterprise by 统一社会信用代码, government).
``exchange_account``         accounts: kind, holder, state.
``exchange_representative``  each account's authorised representatives (platform user names).
``exchange_operator``        the registry's operators (may issue, expire, open accounts).
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # 1 — the log, its head, and the state derived from it
    [
        """CREATE TABLE exchange_log (
            seq BIGINT PRIMARY KEY,
            tx_id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            ts TIMESTAMP NOT NULL,
            actor TEXT NOT NULL,
            reason TEXT NOT NULL,
            source TEXT,
            target TEXT,
            body TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE
        )""",
        """CREATE TABLE exchange_head (
            id INTEGER PRIMARY KEY,
            seq BIGINT NOT NULL,
            hash TEXT NOT NULL
        )""",
        "INSERT INTO exchange_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')",
        """CREATE TABLE exchange_block (
            instrument TEXT NOT NULL,
            pollutant TEXT NOT NULL,
            vintage INTEGER NOT NULL,
            region TEXT NOT NULL,
            start_serial BIGINT NOT NULL,
            end_serial BIGINT NOT NULL,
            valid_until DATE,
            account TEXT NOT NULL,
            status TEXT NOT NULL,
            PRIMARY KEY (instrument, pollutant, vintage, region, start_serial)
        )""",
        "CREATE INDEX exchange_block_account ON exchange_block (account, status)",
        """CREATE TABLE exchange_entity (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            name TEXT NOT NULL
        )""",
        """CREATE TABLE exchange_account (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            holder TEXT NOT NULL,
            state TEXT NOT NULL
        )""",
        """CREATE TABLE exchange_representative (
            account TEXT NOT NULL,
            username TEXT NOT NULL,
            PRIMARY KEY (account, username)
        )""",
        "CREATE TABLE exchange_operator (username TEXT PRIMARY KEY)",
    ],
]
