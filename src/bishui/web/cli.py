"""``bishui users …``: manage the web accounts.

Passwords are read from a hidden prompt or from standard input (``--password-stdin``), never
from the command line, where they would land in the shell history and the process list.
"""

from __future__ import annotations

import sys

import click

from bishui.store import Store, open_store
from bishui.web import accounts, schema

DB_HELP = "store URL: a DuckDB path / duckdb:///path, or postgresql://…"


def _store(db: str) -> Store:
    store = open_store(db)
    schema.ensure(store)
    return store


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    value: str = click.prompt("password", hide_input=True, confirmation_prompt=True)
    return value


@click.group("users")
def users() -> None:
    """Web accounts: add, list, change passwords, disable."""


@users.command("add")
@click.argument("username")
@click.option("--db", required=True, envvar="BISHUI_DB", help=DB_HELP)
@click.option("--role", required=True, type=click.Choice(accounts.ACCOUNT_ROLES))
@click.option("--region", help="GB/T 2260 code (county accounts)")
@click.option("--enterprise", help="unified social credit code (enterprise accounts)")
@click.option("--name", "display_name", help="display name")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def add(
    username: str,
    db: str,
    role: str,
    region: str | None,
    enterprise: str | None,
    display_name: str | None,
    password_stdin: bool,
) -> None:
    """Create the account USERNAME."""
    store = _store(db)
    try:
        accounts.add_user(
            store,
            username,
            _password(password_stdin),
            role,
            region=region,
            enterprise=enterprise,
            display_name=display_name,
        )
    finally:
        store.close()
    click.echo(f"added {username} ({role})")


@users.command("list")
@click.option("--db", required=True, envvar="BISHUI_DB", help=DB_HELP)
def list_(db: str) -> None:
    """Every account, its role and scope."""
    store = _store(db)
    try:
        rows = accounts.list_users(store)
    finally:
        store.close()
    for u in rows:
        scope = u.region or u.enterprise or ""
        state = "" if u.active else "  (disabled)"
        click.echo(f"{u.username}\t{u.role}\t{scope}{state}")


@users.command("passwd")
@click.argument("username")
@click.option("--db", required=True, envvar="BISHUI_DB", help=DB_HELP)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def passwd(username: str, db: str, password_stdin: bool) -> None:
    """Set USERNAME's password (ends its sessions)."""
    store = _store(db)
    try:
        accounts.set_password(store, username, _password(password_stdin))
    finally:
        store.close()
    click.echo(f"password of {username} changed")


@users.command("disable")
@click.argument("username")
@click.option("--db", required=True, envvar="BISHUI_DB", help=DB_HELP)
def disable(username: str, db: str) -> None:
    """Disable USERNAME: no login, sessions ended, API tokens revoked."""
    store = _store(db)
    try:
        accounts.set_active(store, username, False)
    finally:
        store.close()
    click.echo(f"disabled {username}")


@users.command("enable")
@click.argument("username")
@click.option("--db", required=True, envvar="BISHUI_DB", help=DB_HELP)
def enable(username: str, db: str) -> None:
    """Re-enable USERNAME (its old tokens stay revoked)."""
    store = _store(db)
    try:
        accounts.set_active(store, username, True)
    finally:
        store.close()
    click.echo(f"enabled {username}")


@users.command("token")
@click.argument("username")
@click.option("--db", required=True, envvar="BISHUI_DB", help=DB_HELP)
@click.option("--name", required=True, help="what the token is for")
@click.option(
    "--days",
    type=float,
    default=accounts.TOKEN_DAYS,
    show_default=True,
    help="lifetime in days (every token expires)",
)
def token(username: str, db: str, name: str, days: float) -> None:
    """Issue an API token for USERNAME and print it (shown once)."""
    store = _store(db)
    try:
        _, value = accounts.new_token(store, username, name, days)
    finally:
        store.close()
    click.echo(value)


@users.command("unlock")
@click.argument("username")
@click.option("--db", required=True, envvar="BISHUI_DB", help=DB_HELP)
def unlock(username: str, db: str) -> None:
    """Clear USERNAME's recorded failed logins (lifts its lockouts and login delay)."""
    store = _store(db)
    try:
        n = accounts.unlock(store, username)
    finally:
        store.close()
    click.echo(f"unlocked {username} ({n} failed logins cleared)")
