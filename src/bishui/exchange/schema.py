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

Migration 2 — the money ledger (:mod:`bishui.exchange.ledger`) and the market's records:

``exchange_cash_account``    cash accounts: kind (cash, fee_income, reserve_fund, bank), holder.
``exchange_ledger``          the money ledger: rows shaped and hashed like ``exchange_log``,
                             chained on their own; ``exchange_ledger_head`` its head.
``exchange_ledger_entry``    the postings (derived from the ledger's bodies): balances are sums.
``exchange_party``         what the trade restrictions know of an entity (region, basin …).
``exchange_determination``   determinations (核定): per holder, pollutant, vintage — the
                             figures, the method, the issuing log transaction.
``exchange_fee``             定额出让 fee assessments; ``exchange_instalment`` their instalments
                             and the ledger row that paid each.
``exchange_lot``             bidding lots (电子竞价) with reserve price and window; ``exchange_bid``
                             the bids; awards are stored on the bids.
``exchange_transfer``        agreement transfers (协议转让) and their state; ``exchange_trade``
                             every settled trade (units, price, both parties, the log and
                             ledger rows, the permit versions issued).

Migration 3 — ``exchange_reduction`` (减排登记), ``exchange_carbon_position`` (the Hubei pilot's
positions mirrored), ``exchange_sink_project`` (林业碳汇 projects), ``exchange_issuance_record``
(what confirmed a sink credit or an energy saving before its issuance), ``exchange_compliance``
(each closed year's status per entity, instrument and pollutant).

Migration 4 — ``exchange_record`` (the market's records chain, :mod:`bishui.exchange.records`:
every write to a lot, bid, agreement transfer, fee or instalment appends the row as written,
shaped and hashed like ``exchange_log``, chained on its own) and ``exchange_record_head``;
``exchange_trusted`` (each account's trusted-account list) and ``exchange_transfer_request``
(transfers awaiting a second representative or their delay) — :mod:`bishui.exchange.approvals`,
both tracked by the records chain.
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
    # 2 — the money ledger and the market's records
    [
        """CREATE TABLE exchange_cash_account (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            holder TEXT NOT NULL,
            name TEXT NOT NULL
        )""",
        """CREATE TABLE exchange_ledger (
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
        """CREATE TABLE exchange_ledger_head (
            id INTEGER PRIMARY KEY,
            seq BIGINT NOT NULL,
            hash TEXT NOT NULL
        )""",
        "INSERT INTO exchange_ledger_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')",
        """CREATE TABLE exchange_ledger_entry (
            seq BIGINT NOT NULL,
            line INTEGER NOT NULL,
            account TEXT NOT NULL,
            amount_fen BIGINT NOT NULL,
            PRIMARY KEY (seq, line)
        )""",
        "CREATE INDEX exchange_ledger_entry_account ON exchange_ledger_entry (account)",
        """CREATE TABLE exchange_party (
            entity TEXT PRIMARY KEY,
            region TEXT NOT NULL,
            basin TEXT NOT NULL,
            sector TEXT NOT NULL,
            thermal_power BOOLEAN NOT NULL,
            attains BOOLEAN NOT NULL,
            updated_by TEXT NOT NULL
        )""",
        """CREATE TABLE exchange_determination (
            id TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            permit_no TEXT NOT NULL,
            pollutant TEXT NOT NULL,
            vintage INTEGER NOT NULL,
            region TEXT NOT NULL,
            permitted BIGINT NOT NULL,
            historical BIGINT NOT NULL,
            determined BIGINT NOT NULL,
            scaled BOOLEAN NOT NULL,
            cap BIGINT NOT NULL,
            method TEXT NOT NULL,
            determined_on DATE NOT NULL,
            valid_until DATE NOT NULL,
            log_tx TEXT
        )""",
        """CREATE TABLE exchange_fee (
            id TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            schedule_id TEXT NOT NULL,
            years INTEGER NOT NULL,
            lines TEXT NOT NULL,
            total_fen BIGINT NOT NULL,
            assessed_on DATE NOT NULL
        )""",
        """CREATE TABLE exchange_instalment (
            fee_id TEXT NOT NULL,
            number INTEGER NOT NULL,
            due DATE NOT NULL,
            amount_fen BIGINT NOT NULL,
            paid_tx TEXT,
            paid_at TIMESTAMP,
            PRIMARY KEY (fee_id, number)
        )""",
        """CREATE TABLE exchange_lot (
            id TEXT PRIMARY KEY,
            seller_account TEXT NOT NULL,
            body TEXT NOT NULL,
            opens TIMESTAMP NOT NULL,
            closes TIMESTAMP NOT NULL,
            state TEXT NOT NULL,
            announced_by TEXT NOT NULL
        )""",
        """CREATE TABLE exchange_bid (
            id TEXT PRIMARY KEY,
            lot_id TEXT NOT NULL,
            bidder TEXT NOT NULL,
            account TEXT NOT NULL,
            price_fen BIGINT NOT NULL,
            units BIGINT NOT NULL,
            ts TIMESTAMP NOT NULL,
            by_user TEXT NOT NULL,
            awarded_units BIGINT,
            awarded_fen BIGINT
        )""",
        "CREATE INDEX exchange_bid_lot ON exchange_bid (lot_id)",
        """CREATE TABLE exchange_transfer (
            id TEXT PRIMARY KEY,
            seller_account TEXT NOT NULL,
            buyer_account TEXT NOT NULL,
            body TEXT NOT NULL,
            state TEXT NOT NULL
        )""",
        """CREATE TABLE exchange_trade (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            ref TEXT NOT NULL,
            instrument TEXT NOT NULL,
            pollutant TEXT NOT NULL,
            seller_account TEXT NOT NULL,
            buyer_account TEXT NOT NULL,
            units BIGINT NOT NULL,
            price_fen BIGINT NOT NULL,
            amount_fen BIGINT NOT NULL,
            ts TIMESTAMP NOT NULL,
            log_tx TEXT NOT NULL,
            money_tx TEXT,
            permits TEXT NOT NULL
        )""",
    ],
    # 3 — reductions, carbon positions and sink projects, energy savings, compliance
    [
        """CREATE TABLE exchange_reduction (
            id TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            pollutant TEXT NOT NULL,
            year INTEGER NOT NULL,
            verified BIGINT NOT NULL,
            held BIGINT NOT NULL,
            registered BIGINT NOT NULL,
            registered_by TEXT NOT NULL,
            ts TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE exchange_carbon_position (
            entity TEXT NOT NULL,
            year INTEGER NOT NULL,
            allocation BIGINT NOT NULL,
            verified BIGINT,
            rules TEXT NOT NULL,
            source TEXT NOT NULL,
            updated_by TEXT NOT NULL,
            PRIMARY KEY (entity, year)
        )""",
        """CREATE TABLE exchange_sink_project (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            owner TEXT NOT NULL,
            area TEXT NOT NULL,
            methodology TEXT NOT NULL,
            registered_by TEXT NOT NULL
        )""",
        """CREATE TABLE exchange_issuance_record (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            ref TEXT NOT NULL,
            holder TEXT NOT NULL,
            units BIGINT NOT NULL,
            vintage INTEGER NOT NULL,
            body TEXT NOT NULL,
            log_tx TEXT NOT NULL
        )""",
        """CREATE TABLE exchange_compliance (
            instrument TEXT NOT NULL,
            entity TEXT NOT NULL,
            year INTEGER NOT NULL,
            pollutant TEXT NOT NULL,
            status TEXT NOT NULL,
            due BIGINT,
            covered BIGINT NOT NULL,
            shortfall BIGINT NOT NULL,
            body TEXT NOT NULL,
            closed_by TEXT NOT NULL,
            PRIMARY KEY (instrument, entity, year, pollutant)
        )""",
    ],
    # 4 — the market's records chain (lots, bids, transfers, fees, instalments)
    [
        """CREATE TABLE exchange_record (
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
        "CREATE INDEX exchange_record_target ON exchange_record (kind, target)",
        """CREATE TABLE exchange_record_head (
            id INTEGER PRIMARY KEY,
            seq BIGINT NOT NULL,
            hash TEXT NOT NULL
        )""",
        "INSERT INTO exchange_record_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')",
        """CREATE TABLE exchange_trusted (
            account TEXT NOT NULL,
            trusted TEXT NOT NULL,
            state TEXT NOT NULL,
            proposed_by TEXT NOT NULL,
            proposed_at TIMESTAMP NOT NULL,
            approved_by TEXT,
            effective_at TIMESTAMP,
            PRIMARY KEY (account, trusted)
        )""",
        """CREATE TABLE exchange_transfer_request (
            id TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            target TEXT NOT NULL,
            body TEXT NOT NULL,
            units BIGINT NOT NULL,
            state TEXT NOT NULL,
            requested_by TEXT NOT NULL,
            requested_at TIMESTAMP NOT NULL,
            approved_by TEXT,
            release_at TIMESTAMP,
            log_tx TEXT,
            note TEXT NOT NULL
        )""",
    ],
]
