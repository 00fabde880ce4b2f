"""Accounts, passwords, browser sessions and API tokens (the store side).

Passwords are hashed with argon2id (``argon2-cffi``'s defaults, RFC 9106's second recommended
parameter set) and re-hashed on login when those defaults change. Session cookies and API
token secrets are random (``secrets``, 256 bits) and only their SHA-256 is stored.

Lockout is per (account, client address): every attempt on an existing account is recorded
*before* its password is checked, then the attempts of that pair within ``lockout_minutes``
are counted, so concurrent guesses cannot all slip under the count while argon2 runs — at
most ``lockout_after`` of them are ever checked. An address past the count is refused, right
or wrong, until its attempts age out (it keeps its own lock alive by guessing on; other
addresses are not affected, so a stranger cannot lock ``admin`` out). Failures from every
address slow the account down instead: past ``lockout_after`` of them, each attempt first waits
a delay doubling with each further failure, up to ``login_delay_max``. A success clears its
address's record; :func:`unlock` (an administrator) clears the account's.

Passwords: 8–256 characters, not the username, not in the 30,000 most common passwords
shipped with ``zxcvbn`` (its ``passwords`` frequency list), and not guessable by its estimator
in under a million guesses (score 0 or 1: ``aaaaaaaa``, ``abcd1234``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bishui.errors import ConflictError, InputError, NotFoundError
from bishui.store import Store
from bishui.web.errors import Unauthenticated
from bishui.web.settings import Settings

ROLES: dict[str, tuple[str, str]] = {
    # role: (Chinese name, English name)
    "admin": ("系统管理员", "administrator"),
    "analyst": ("分析人员", "bureau analyst"),
    "inspector": ("监察人员", "inspector"),
    # approves penalties (bishui.enforcement.tasks: the approval step, issue 16 item 9)
    "chief": ("执法科长", "section chief"),
    # reads the county scorecards and decides the fund allocation they drive (issue 18)
    "finance": ("财政局", "finance bureau"),
    "county": ("区县用户", "county official"),
    # the energy-saving office (节能办): energy accounts and dual control (issue 18)
    "energy_office": ("节能办", "energy-saving office"),
    "enterprise": ("企业用户", "enterprise"),
    # runs the environmental-resource exchange's registry (bishui.exchange, docs/exchange.md)
    "operator": ("交易机构", "exchange operator"),
    # environmental police (环保警察): the cases transferred to them, joint operations (issue 20)
    "police": ("环保警察", "environmental police"),
    # river and lake chiefs (河长/湖长) and volunteer supervisors: their sections / area only
    # (bishui.rivers, docs/governance.md; issue 20)
    "river_chief": ("河湖长", "river or lake chief"),
    "volunteer": ("义务监督员", "volunteer supervisor"),
    "public": ("公众", "public"),
}
#: Roles an account can have ("public" is the absence of one).
ACCOUNT_ROLES = tuple(r for r in ROLES if r != "public")

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256  # bounded: argon2 of a megabyte is a denial of service
SESSION_COOKIE = "bishui_session"
TOKEN_PREFIX = "bsh_"  # noqa: S105 - a public prefix, not a secret
BAD_LOGIN = "invalid username or password, or the account is temporarily locked"

_hasher = PasswordHasher()
# Verified against when the username does not exist, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def use_hasher(hasher: PasswordHasher) -> None:
    """Replace the argon2 parameters (a deployment tuning them; tests making them cheap)."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash(secrets.token_hex(16))


_generation = 0


def generation() -> int:
    """Bumped by every change that can end a session or a token (for caches of logins)."""
    return _generation


def _changed() -> None:
    global _generation
    _generation += 1


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: str
    region: str | None = None
    enterprise: str | None = None
    display_name: str | None = None
    active: bool = True


def _user(row: dict[str, Any]) -> User:
    return User(
        username=row["username"],
        role=row["role"],
        region=row["region"],
        enterprise=row["enterprise"],
        display_name=row["display_name"],
        active=bool(row["active"]),
    )


@functools.cache
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password(password: str, username: str | None = None) -> None:
    """Refuse a password that is too short or long, the username, common or guessable."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InputError("password", f"{MIN_PASSWORD}–{MAX_PASSWORD} characters", "***")
    if username and password.casefold() == username.casefold():
        raise InputError("password", "not the username", "***")
    if password.casefold() in _common_passwords():
        raise InputError("password", "not one of the 30,000 most common passwords", "***")
    from zxcvbn import zxcvbn

    # the estimator's cost grows with the length; its first 64 characters decide
    if zxcvbn(password[:64], user_inputs=[username] if username else [])["score"] < 2:
        raise InputError("password", "not guessable in under a million guesses", "***")


def check_scope(store: Store, role: str, region: str | None, enterprise: str | None) -> None:
    """A role and its scope: a county account needs a registered region, an enterprise account
    a registered enterprise, and no other account has either."""
    if role not in ACCOUNT_ROLES:
        raise InputError("role", f"one of {', '.join(ACCOUNT_ROLES)}", role)
    if role == "county":
        if not region or not store.rows("regions", "code = ?", [region]):
            raise InputError("region", "a county account needs a registered region", region)
    elif region:
        raise InputError("region", "only county accounts have a region", region)
    if role == "enterprise":
        if not enterprise or not store.rows("enterprises", "uscc = ?", [enterprise]):
            raise InputError(
                "enterprise", "an enterprise account needs a registered enterprise", enterprise
            )
    elif enterprise:
        raise InputError("enterprise", "only enterprise accounts have an enterprise", enterprise)


def add_user(
    store: Store,
    username: str,
    password: str,
    role: str,
    *,
    region: str | None = None,
    enterprise: str | None = None,
    display_name: str | None = None,
) -> User:
    """Create an account; county accounts need a region, enterprise accounts an enterprise."""
    if not isinstance(username, str) or not _USERNAME.fullmatch(username):
        raise InputError("username", "2–64 letters, digits, _ . @ -", username)
    check_scope(store, role, region, enterprise)
    check_password(password, username)
    hashed, now = _hasher.hash(password), _now()
    # Unique regardless of case ("Admin" beside "admin" would pass for it on every page):
    # checked and inserted in one write transaction, under the store's one writer.
    with store.transaction() as tx:
        if tx.fetch("SELECT username FROM users WHERE lower(username) = ?", [username.lower()]):
            raise ConflictError(f"user {username!r} already exists (usernames ignore case)")
        tx.execute(
            "INSERT INTO users (username, display_name, role, region, enterprise, password_hash, "
            "active, created_at, password_changed_at) VALUES (?, ?, ?, ?, ?, ?, TRUE, ?, ?)",
            [username, display_name, role, region, enterprise, hashed, now, now],
        )
    return User(username, role, region, enterprise, display_name)


def get_user(store: Store, username: str) -> User:
    rows = store.query("SELECT * FROM users WHERE username = ?", [username])
    if not rows:
        raise NotFoundError(f"user {username!r} does not exist")
    return _user(rows[0])


def list_users(store: Store) -> list[User]:
    return [_user(r) for r in store.query("SELECT * FROM users ORDER BY username")]


def set_password(store: Store, username: str, password: str) -> None:
    """Change a password; every session of the account ends and every API token is revoked."""
    get_user(store, username)
    check_password(password, username)
    store.execute(
        "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE username = ?",
        [_hasher.hash(password), _now(), username],
    )
    end_all_sessions(store, username)
    store.execute("UPDATE api_tokens SET revoked = TRUE WHERE username = ?", [username])
    store.execute("DELETE FROM login_failures WHERE username = ?", [username])
    _changed()


def unlock(store: Store, username: str) -> int:
    """Clear an account's recorded failed logins (an administrator); returns how many."""
    get_user(store, username)
    n = int(
        store.query("SELECT COUNT(*) AS n FROM login_failures WHERE username = ?", [username])[0][
            "n"
        ]
    )
    store.execute("DELETE FROM login_failures WHERE username = ?", [username])
    return n


def set_active(store: Store, username: str, active: bool) -> None:
    """Disable (or re-enable) an account; disabling ends its sessions and revokes its tokens."""
    get_user(store, username)
    store.execute("UPDATE users SET active = ? WHERE username = ?", [active, username])
    if not active:
        end_all_sessions(store, username)
        store.execute("UPDATE api_tokens SET revoked = TRUE WHERE username = ?", [username])
    _changed()


def set_role(
    store: Store,
    username: str,
    role: str,
    *,
    region: str | None = None,
    enterprise: str | None = None,
    display_name: str | None = None,
) -> User:
    """Change an account's role and scope (and display name); its sessions and tokens stay,
    and carry the new role from their next request."""
    old = get_user(store, username)
    check_scope(store, role, region, enterprise)
    if display_name is not None and len(display_name) > 100:
        raise InputError("display_name", "at most 100 characters", display_name)
    name = old.display_name if display_name is None else (display_name or None)
    store.execute(
        "UPDATE users SET role = ?, region = ?, enterprise = ?, display_name = ? "
        "WHERE username = ?",
        [role, region, enterprise, name, username],
    )
    _changed()
    return User(username, role, region, enterprise, name, old.active)


# -- audit of account changes ---------------------------------------------------------------
#: What an administrator can do to an account, as recorded in ``account_audit``.
AUDIT_ACTIONS = ("create", "disable", "enable", "reset_password", "change_role", "unlock")


def record(store: Store, actor: str, action: str, username: str, detail: dict[str, Any]) -> None:
    """Append one account change to ``account_audit`` (never a password, only that it changed)."""
    if action not in AUDIT_ACTIONS:
        raise InputError("action", f"one of {', '.join(AUDIT_ACTIONS)}", action)
    store.execute(
        "INSERT INTO account_audit (changed_at, actor, action, username, detail) "
        "VALUES (?, ?, ?, ?, ?)",
        [_now(), actor, action, username, json.dumps(detail, ensure_ascii=False, sort_keys=True)],
    )


def audit_log(store: Store, username: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Account changes, newest first (of one account, or of all); ``changed_at`` is UTC."""
    where, params = ("WHERE username = ?", [username]) if username else ("", [])
    rows = store.query(
        f"SELECT changed_at, actor, action, username, detail FROM account_audit {where} "  # noqa: S608
        "ORDER BY changed_at DESC LIMIT ?",
        [*params, limit],
    )
    for r in rows:
        r["detail"] = json.loads(r["detail"])
    return rows


def end_all_sessions(store: Store, username: str) -> None:
    store.execute("DELETE FROM sessions WHERE username = ?", [username])
    _changed()


# -- login ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """A recorded login attempt, before its password is checked (:func:`begin_login`)."""

    username: str
    row: dict[str, Any] | None  # None: no such account, or refused before checking
    where: str
    delay: float = 0.0  # [s] to wait before :func:`finish_login`


def begin_login(
    store: Store, settings: Settings, username: str, password: str, peer: str | None = None
) -> LoginAttempt:
    """Record the attempt and decide whether its password will be checked, and after what
    delay (see the module doc). Concurrent attempts each see the ones recorded before them,
    so no more than ``lockout_after`` per address are ever checked within ``lockout_minutes``.
    """
    where = peer or "unknown"
    if not isinstance(password, str) or len(password) > MAX_PASSWORD or len(username) > 64:
        return LoginAttempt(username, None, where)
    # no account has any other name (and a NUL or a surrogate must not reach the store)
    rows = (
        store.query("SELECT * FROM users WHERE username = ?", [username])
        if _USERNAME.fullmatch(username)
        else []
    )
    if not rows:
        return LoginAttempt(username, None, where)
    now = _now()
    since = now - dt.timedelta(minutes=settings.lockout_minutes)
    with store.transaction() as tx:
        # forget what has aged out (the table stays bounded by the window), record this one
        tx.execute("DELETE FROM login_failures WHERE failed_at <= ?", [since])
        tx.execute(
            "INSERT INTO login_failures (username, failed_at, peer) VALUES (?, ?, ?)",
            [username, now, where],
        )
    counts = store.query(
        "SELECT COUNT(*) AS n, SUM(CASE WHEN peer = ? THEN 1 ELSE 0 END) AS here "
        "FROM login_failures WHERE username = ? AND failed_at > ?",
        [where, username, since],
    )[0]
    here, everywhere = int(counts["here"] or 0), int(counts["n"] or 0)
    if here > settings.lockout_after:  # this attempt is one past the count: locked
        return LoginAttempt(username, None, where)
    return LoginAttempt(username, rows[0], where, login_delay(settings, everywhere - 1))


def finish_login(store: Store, attempt: LoginAttempt, password: str) -> User:
    """Check the password of a :func:`begin_login` attempt (after its delay); the account, or
    :class:`Unauthenticated` with one generic message. A refused attempt still pays argon2."""
    row = attempt.row
    if row is None:
        _verify(_DUMMY_HASH, password if isinstance(password, str) else "")
        raise Unauthenticated(BAD_LOGIN)
    if not _verify(row["password_hash"], password) or not row["active"]:
        raise Unauthenticated(BAD_LOGIN)  # the recorded attempt stays: a failure
    store.execute(
        "DELETE FROM login_failures WHERE username = ? AND peer = ?",
        [attempt.username, attempt.where],
    )
    new_hash = _hasher.hash(password) if _hasher.check_needs_rehash(row["password_hash"]) else None
    store.execute(
        "UPDATE users SET last_login_at = ?, password_hash = COALESCE(?, password_hash) "
        "WHERE username = ?",
        [_now(), new_hash, attempt.username],
    )
    return _user(row)


def authenticate(
    store: Store, settings: Settings, username: str, password: str, peer: str | None = None
) -> User:
    """Check a login (:func:`begin_login`, its delay, :func:`finish_login`); raise
    :class:`Unauthenticated` with one generic message on any failure. The delay blocks this
    thread: the login page waits for it on the event loop instead."""
    attempt = begin_login(store, settings, username, password, peer)
    time.sleep(attempt.delay)
    return finish_login(store, attempt, password)


def login_delay(settings: Settings, failures: int) -> float:
    """Seconds an attempt waits after *failures* recent failures of its account (any address):
    none below ``lockout_after``, then 0.25 s doubling with each further one, at most
    ``login_delay_max``."""
    extra = failures - settings.lockout_after
    if extra < 0:
        return 0.0
    return float(min(settings.login_delay_max, 0.25 * 2 ** min(extra, 16)))


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


# -- sessions ---------------------------------------------------------------------------------
def new_session(store: Store, settings: Settings, username: str, peer: str | None) -> str:
    """Start a session and return the cookie value (never stored as such)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    store.execute(
        "INSERT INTO sessions (id_hash, username, created_at, expires_at, peer) "
        "VALUES (?, ?, ?, ?, ?)",
        [_sha256(token), username, now, now + dt.timedelta(hours=settings.session_hours), peer],
    )
    return token


def end_session(store: Store, token: str) -> None:
    store.execute("DELETE FROM sessions WHERE id_hash = ?", [_sha256(token)])
    _changed()


def session_user(store: Store, token: str) -> User | None:
    """The live account behind a session cookie, or None."""
    if not token or len(token) > 100:
        return None
    rows = store.query(
        "SELECT u.*, s.expires_at FROM sessions s JOIN users u ON u.username = s.username "
        "WHERE s.id_hash = ?",
        [_sha256(token)],
    )
    if not rows or rows[0]["expires_at"] <= _now() or not rows[0]["active"]:
        return None
    return _user(rows[0])


# -- API tokens -------------------------------------------------------------------------------
#: Lifetime of an API token when none is given [days]; every token expires.
TOKEN_DAYS = 90.0
MAX_TOKEN_DAYS = 3660.0


def new_token(
    store: Store, username: str, name: str, days: float | None = TOKEN_DAYS
) -> tuple[str, str]:
    """Issue an API token; returns (token id, the full token — shown once, never stored).

    Every token expires: *days* defaults to :data:`TOKEN_DAYS`.
    """
    days = TOKEN_DAYS if days is None else days
    user = get_user(store, username)
    if not user.active:
        raise ConflictError(f"user {username!r} is disabled")
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        raise InputError("name", "1–100 characters", name)
    if not 0 < days <= MAX_TOKEN_DAYS:
        raise InputError("days", f"0 < days ≤ {MAX_TOKEN_DAYS:g}", days)
    tid = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    now = _now()
    expires = now + dt.timedelta(days=days)
    store.execute(
        "INSERT INTO api_tokens (id, username, name, secret_hash, created_at, expires_at, revoked)"
        " VALUES (?, ?, ?, ?, ?, ?, FALSE)",
        [tid, username, name, _sha256(secret), now, expires],
    )
    return tid, f"{TOKEN_PREFIX}{tid}_{secret}"


def list_tokens(store: Store, username: str) -> list[dict[str, Any]]:
    return store.query(
        "SELECT id, name, created_at, expires_at, revoked FROM api_tokens WHERE username = ? "
        "ORDER BY created_at",
        [username],
    )


def revoke_token(store: Store, username: str, tid: str) -> None:
    if not store.query("SELECT id FROM api_tokens WHERE id = ? AND username = ?", [tid, username]):
        raise NotFoundError(f"token {tid!r} does not exist")
    store.execute("UPDATE api_tokens SET revoked = TRUE WHERE id = ?", [tid])
    _changed()


def token_user(store: Store, token: str) -> User | None:
    """The live account behind ``bsh_<id>_<secret>``, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    tid, _, secret = token[len(TOKEN_PREFIX) :].partition("_")
    rows = store.query(
        "SELECT u.*, t.secret_hash, t.expires_at AS token_expires, t.revoked FROM api_tokens t "
        "JOIN users u ON u.username = t.username WHERE t.id = ?",
        [tid],
    )
    if not rows:
        return None
    row = rows[0]
    if not hmac.compare_digest(row["secret_hash"], _sha256(secret)):
        return None
    if row["revoked"] or not row["active"]:
        return None
    if row["token_expires"] is not None and row["token_expires"] <= _now():
        return None
    return _user(row)


def create_demo_accounts(
    store: Store, *, region: str, enterprise: str, prefix: str = "demo"
) -> list[tuple[str, str, str]]:
    """One account per role for the demo, with fresh random passwords; (user, role, password).

    Run again, it resets the same accounts' passwords (only hashes are stored, so the old ones
    cannot be printed again).
    """
    out = []
    for role in ACCOUNT_ROLES:
        username = f"{prefix}.{role}"
        password = secrets.token_urlsafe(9)
        if store.query("SELECT username FROM users WHERE username = ?", [username]):
            set_password(store, username, password)
            set_active(store, username, True)
        else:
            add_user(
                store,
                username,
                password,
                role,
                region=region if role == "county" else None,
                enterprise=enterprise if role == "enterprise" else None,
            )
        out.append((username, role, password))
    return out
