"""The web layer's tables: accounts, browser sessions and API tokens.

:data:`MIGRATION` is one migration in the store's format (a list of SQL statements written for
both backends). It is meant to be chained into ``bishui.store.schema.MIGRATIONS`` as its own
version (``bishui.store.schema`` may import this module: it imports nothing of the store or
the web stack at load time); until it is, :func:`ensure` applies it (every statement is
idempotent, so applying it again through the store's migrations later is harmless).

``users``       one account: role, scope (a region code or an enterprise USCC), argon2 hash,
                lockout counters
``sessions``    browser sessions, keyed by the SHA-256 of the cookie value (a leaked table
                does not hand out live sessions)
``api_tokens``  machine tokens, keyed by a public id; only the SHA-256 of the secret part is kept
``account_audit``  who changed which account how (created, disabled, enabled, password reset,
                role or scope changed, unlocked), append-only (second migration)
``data_uploads``   every data file sent to the upload page: who, when, which file, and whether it
                was stored or refused (second migration)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing the store here would be a cycle when the store imports this
    from bishui.store import Store

MIGRATION: list[str] = [
    """CREATE TABLE IF NOT EXISTS users (
        username TEXT PRIMARY KEY,
        display_name TEXT,
        role TEXT NOT NULL,
        region TEXT,
        enterprise TEXT,
        password_hash TEXT NOT NULL,
        active BOOLEAN NOT NULL DEFAULT TRUE,
        created_at TIMESTAMP NOT NULL,
        password_changed_at TIMESTAMP NOT NULL,
        last_login_at TIMESTAMP
    )""",
    # Lockout counters change on every failed login; DuckDB rewrites a row with an index on
    # update, so they live apart from the keyed account row.
    """CREATE TABLE IF NOT EXISTS login_failures (
        username TEXT NOT NULL,
        failed_at TIMESTAMP NOT NULL,
        peer TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS sessions (
        id_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        created_at TIMESTAMP NOT NULL,
        expires_at TIMESTAMP NOT NULL,
        peer TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS api_tokens (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        name TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at TIMESTAMP NOT NULL,
        expires_at TIMESTAMP,
        revoked BOOLEAN NOT NULL DEFAULT FALSE
    )""",
]

#: The account audit and the upload log (issue 16 item 6).
MIGRATION_2: list[str] = [
    """CREATE TABLE IF NOT EXISTS account_audit (
        changed_at TIMESTAMP NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        username TEXT NOT NULL,
        detail TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS data_uploads (
        uploaded_at TIMESTAMP NOT NULL,
        username TEXT NOT NULL,
        role TEXT NOT NULL,
        filename TEXT NOT NULL,
        source TEXT,
        bytes BIGINT NOT NULL,
        rows_stored BIGINT NOT NULL,
        outcome TEXT NOT NULL,
        errors BIGINT NOT NULL
    )""",
]

#: The web domain's migrations, handed to the store by ``bishui.app.DOMAINS``.
MIGRATIONS: list[list[str]] = [MIGRATION, MIGRATION_2]

TABLES = ("users", "login_failures", "sessions", "api_tokens", "account_audit", "data_uploads")


def ensure(store: Store) -> None:
    """Create the web tables if the store's own migrations have not (yet) done so."""
    if not (store.table_exists("users") and store.table_exists("api_tokens")):
        store.execute_many([(sql, ()) for sql in MIGRATION])
    if not (store.table_exists("account_audit") and store.table_exists("data_uploads")):
        store.execute_many([(sql, ()) for sql in MIGRATION_2])
