"""Four-eyes approval of registry transfers and the trusted-account list (EU Union Registry
practice, exchange-and-permits notes §A4 [V]).

* A transfer request of more than the instrument's threshold (``four_eyes_above_units`` in
  ``market/data/approvals.toml``, the project's choice — the notes give none) waits for a
  second representative of the sending account (not the one who asked) to approve it.
* The trusted-account list: a representative proposes a target account, a second
  representative approves it, and it takes effect after ``effective_after_working_days``
  working days (4 [V]; Monday to Friday, no holiday calendar — a documented simplification).
* A transfer to an account on the sending account's effective trusted list is executed as
  soon as it is (approved if it needs to be); to any other account it is released
  ``untrusted_delay_hours`` (26 [V]) after it was requested or approved, by
  :func:`release_due` (the operator's action, or a periodic task).

Requests (``exchange_transfer_request``) and the list (``exchange_trusted``) are rows of the
market's records chain (:mod:`bishui.exchange.records`): every step is chained and audited.
Execution is :func:`bishui.exchange.service.submit` — every registry check runs then.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bishui.errors import ConflictError, InputError, NotFoundError, PermissionDenied
from bishui.exchange import records, service
from bishui.exchange.checks import (
    CheckCode,
    Refusal,
    Refused,
    RefusedPermission,
    raise_refusals,
    register_code,
)
from bishui.exchange.instruments import Instrument
from bishui.exchange.registry import Range, Select, Series, Transfer
from bishui.store import Store

_DATA = Path(__file__).parent / "market" / "data" / "approvals.toml"

#: The refusals of this module (registered with the registry's codes).
SAME_REPRESENTATIVE = CheckCode(
    "four_eyes_same_person",
    "EU four-eyes: an additional authorised representative approves (notes §A4 [V])",
    "审批人须为另一名授权代表",
    "the approver must be another authorised representative",
)
register_code(SAME_REPRESENTATIVE)

#: Builds the extra checks of a transfer from *source* to *target* (the web's Hubei restrictions).
ChecksFor = Callable[[Store, str, str], Sequence[service.ExtraCheck]]


@dataclass(frozen=True, slots=True)
class Settings:
    """Thresholds [registry units] per instrument and the trusted list's timings."""

    four_eyes_above: dict[Instrument, int]
    effective_after_working_days: int
    untrusted_delay: dt.timedelta


def load_settings(path: Path | None = None) -> Settings:
    """The settings file (``market/data/approvals.toml`` by default)."""
    d = tomllib.loads((path or _DATA).read_text("utf-8"))
    return Settings(
        {Instrument(k): int(v) for k, v in d["four_eyes_above_units"].items()},
        int(d["trusted"]["effective_after_working_days"]),
        dt.timedelta(hours=int(d["trusted"]["untrusted_delay_hours"])),
    )


def add_working_days(t: dt.datetime, days: int) -> dt.datetime:
    """*t* plus *days* working days (Monday to Friday; no holiday calendar)."""
    out, left = t, days
    while left > 0:
        out += dt.timedelta(days=1)
        if out.weekday() < 5:
            left -= 1
    return out


def _is_rep(store: Store, account: str, user: str) -> bool:
    return bool(
        store.query(
            "SELECT 1 AS x FROM exchange_representative WHERE account = ? AND username = ?",
            [account, user],
        )
    )


def _require_rep(store: Store, account: str, user: str) -> None:
    if not _is_rep(store, account, user):
        raise PermissionDenied(f"{user!r} does not represent {account}")


# -- the trusted-account list -------------------------------------------------------------------
_TRUST_COLS = "account, trusted, state, proposed_by, proposed_at, approved_by, effective_at"


def trusted_list(store: Store, account: str) -> list[dict[str, Any]]:
    """The account's trusted list: every proposed, active or removed entry."""
    return store.query(
        f"SELECT {_TRUST_COLS} FROM exchange_trusted WHERE account = ? ORDER BY trusted",  # noqa: S608
        [account],
    )


def is_trusted(store: Store, account: str, target: str, at: dt.datetime) -> bool:
    """Whether *target* is on *account*'s list and in effect at *at*."""
    rows = store.query(
        "SELECT effective_at FROM exchange_trusted WHERE account = ? AND trusted = ? "
        "AND state = 'active'",
        [account, target],
    )
    return bool(rows) and rows[0]["effective_at"] <= at


def propose_trusted(
    store: Store, account: str, trusted: str, *, actor: str, time: dt.datetime | None = None
) -> dict[str, Any]:
    """A representative of *account* proposes *trusted* for its list (a second one approves)."""
    at = time or service.now()
    _require_rep(store, account, actor)
    if trusted == account:
        raise InputError("trusted", "another account", trusted)
    if not store.query("SELECT 1 AS x FROM exchange_account WHERE id = ?", [trusted]):
        raise NotFoundError(f"no exchange account {trusted!r}")
    key = [account, trusted]
    with store.transaction() as tx:
        service.lock_head(tx, store.dialect)
        row = tx.fetch_one(
            "SELECT state FROM exchange_trusted WHERE account = ? AND trusted = ?", key
        )
        if row is not None and str(row[0]) != "removed":
            raise ConflictError(f"{trusted} is already {row[0]} on {account}'s list")
        if row is not None:
            tx.execute("DELETE FROM exchange_trusted WHERE account = ? AND trusted = ?", key)
        tx.execute(
            "INSERT INTO exchange_trusted (account, trusted, state, proposed_by, proposed_at) "
            "VALUES (?, ?, 'proposed', ?, ?)",
            [account, trusted, actor, at],
        )
        records.snapshot_in(tx, store.dialect, "exchange_trusted", key, actor=actor,
                            reason="propose")  # fmt: skip
    return _trusted(store, account, trusted)


def _trusted(store: Store, account: str, trusted: str) -> dict[str, Any]:
    rows = store.query(
        f"SELECT {_TRUST_COLS} FROM exchange_trusted WHERE account = ? AND trusted = ?",  # noqa: S608
        [account, trusted],
    )
    if not rows:
        raise NotFoundError(f"{trusted!r} is not on {account}'s trusted list")
    return rows[0]


def act_on_trusted(
    store: Store,
    account: str,
    trusted: str,
    action: str,
    *,
    actor: str,
    time: dt.datetime | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """``approve`` (a second representative; effective after the working days) or ``remove``
    (any representative; at once — the project's choice, removing trust only restricts)."""
    s = settings or load_settings()
    at = time or service.now()
    _require_rep(store, account, actor)
    cur = _trusted(store, account, trusted)
    key = [account, trusted]
    if action == "approve":
        if cur["state"] != "proposed":
            raise ConflictError(f"{trusted} on {account}'s list is {cur['state']}")
        if cur["proposed_by"] == actor:
            raise Refused([Refusal(SAME_REPRESENTATIVE.code, f"{actor} proposed it")])
        sql = (
            "UPDATE exchange_trusted SET state = 'active', approved_by = ?, effective_at = ? "
            "WHERE account = ? AND trusted = ?"
        )
        args: list[Any] = [actor, add_working_days(at, s.effective_after_working_days), *key]
    elif action == "remove":
        if cur["state"] == "removed":
            raise ConflictError(f"{trusted} was removed from {account}'s list")
        sql = "UPDATE exchange_trusted SET state = 'removed' WHERE account = ? AND trusted = ?"
        args = key
    else:
        raise InputError("action", "approve or remove", action)
    records.record(store, sql, args, "exchange_trusted", key, actor=actor, reason=action)
    return _trusted(store, account, trusted)


# -- transfer requests ------------------------------------------------------------------------
_REQ_COLS = (
    "id, source, target, body, units, state, requested_by, requested_at, approved_by, "
    "release_at, log_tx, note"
)


def _select_json(sel: Select) -> str:
    return json.dumps(
        {
            "instrument": sel.instrument.value if sel.instrument else None,
            "quantity": sel.quantity,
            "pollutant": sel.pollutant,
            "vintage": sel.vintage,
            "region": sel.region,
            "ranges": [[*r.series.key(), r.start, r.end] for r in sel.ranges],
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def _select_of(body: str) -> Select:
    d = json.loads(body)
    return Select(
        instrument=Instrument(d["instrument"]) if d["instrument"] else None,
        quantity=d["quantity"],
        pollutant=d["pollutant"],
        vintage=d["vintage"],
        region=d["region"],
        ranges=tuple(
            Range(Series(Instrument(i), p, int(v), g), int(a), int(b))
            for i, p, v, g, a, b in d["ranges"]
        ),
    )


def _units(sel: Select) -> tuple[Instrument, int]:
    if sel.ranges:
        return sel.ranges[0].series.instrument, sum(r.end - r.start + 1 for r in sel.ranges)
    if sel.instrument is None or sel.quantity is None:
        raise InputError("select", "an instrument and a quantity, or serial ranges", None)
    return sel.instrument, int(sel.quantity)


def get_request(store: Store, request_id: str) -> dict[str, Any]:
    rows = store.query(
        f"SELECT {_REQ_COLS} FROM exchange_transfer_request WHERE id = ?",  # noqa: S608
        [request_id],
    )
    if not rows:
        raise NotFoundError(f"no transfer request {request_id!r}")
    return rows[0]


def requests(store: Store, accounts: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every transfer request (or those from or to *accounts*), newest first, in one query."""
    sql, args = f"SELECT {_REQ_COLS} FROM exchange_transfer_request", list[Any]()  # noqa: S608
    if accounts is not None:
        if not accounts:
            return []
        marks = ", ".join("?" for _ in accounts)
        sql += f" WHERE source IN ({marks}) OR target IN ({marks})"
        args = [*accounts, *accounts]
    return store.query(sql + " ORDER BY requested_at DESC, id", args)


def _execute(
    store: Store, r: dict[str, Any], actor: str, checks_for: ChecksFor | None, state_was: str
) -> dict[str, Any]:
    """Submit the request's transfer; on a refusal the request is marked ``refused`` with the
    codes (and the refusal raised)."""
    req = Transfer(r["source"], r["target"], _select_of(r["body"]))
    checks = checks_for(store, r["source"], r["target"]) if checks_for else ()
    upd = (
        "UPDATE exchange_transfer_request SET state = ?, log_tx = ?, note = ? "
        "WHERE id = ? AND state = ?"
    )
    try:
        t = service.submit(store, req, actor=r["requested_by"], reason=f"request {r['id']}",
                           extra_checks=checks)  # fmt: skip
    except (Refused, RefusedPermission) as e:
        note = ", ".join(x.code for x in e.refusals)
        records.record(store, upd, ["refused", None, note, r["id"], state_was],
                       "exchange_transfer_request", [r["id"]], actor=actor,
                       reason="refused")  # fmt: skip
        raise
    records.record(store, upd, ["done", t.id, "", r["id"], state_was],
                   "exchange_transfer_request", [r["id"]], actor=actor,
                   reason="executed")  # fmt: skip
    return get_request(store, r["id"])


def request_transfer(
    store: Store,
    source: str,
    target: str,
    select: Select,
    *,
    actor: str,
    time: dt.datetime | None = None,
    settings: Settings | None = None,
    checks_for: ChecksFor | None = None,
) -> dict[str, Any]:
    """A representative of *source* asks to transfer *select* to *target*. Above the
    threshold it waits for a second representative (``awaiting_approval``); otherwise to a
    trusted account it executes at once (``done``), to any other it is ``delayed`` until
    ``release_at``."""
    s = settings or load_settings()
    at = time or service.now()
    _require_rep(store, source, actor)
    if target == source:
        raise InputError("target", "another account", target)
    inst, units = _units(select)
    if units < 1:
        raise InputError("quantity", "more than 0", units)
    rid = f"TREQ-{uuid.uuid4().hex[:12]}"
    four_eyes = units > s.four_eyes_above.get(inst, 0)
    trusted = is_trusted(store, source, target, at)
    state = "awaiting_approval" if four_eyes else ("ready" if trusted else "delayed")
    release = None if four_eyes or trusted else at + s.untrusted_delay
    records.record(
        store,
        "INSERT INTO exchange_transfer_request (id, source, target, body, units, state, "
        "requested_by, requested_at, release_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '')",
        [rid, source, target, _select_json(select), units, state, actor, at, release],
        "exchange_transfer_request", [rid], actor=actor, reason="request",
    )  # fmt: skip
    r = get_request(store, rid)
    if state == "ready":
        return _execute(store, r, actor, checks_for, "ready")
    return r


def act_on_request(
    store: Store,
    request_id: str,
    action: str,
    *,
    actor: str,
    time: dt.datetime | None = None,
    settings: Settings | None = None,
    checks_for: ChecksFor | None = None,
) -> dict[str, Any]:
    """``approve`` (a representative of the source other than the requester: executes at once
    to a trusted account, else delays it) or ``cancel`` (any representative of the source,
    while it waits)."""
    s = settings or load_settings()
    at = time or service.now()
    r = get_request(store, request_id)
    _require_rep(store, r["source"], actor)
    upd = "UPDATE exchange_transfer_request SET state = ?, approved_by = ?, release_at = ? "
    upd += "WHERE id = ? AND state = ?"
    if action == "approve":
        if r["state"] != "awaiting_approval":
            raise ConflictError(f"transfer request {request_id} is {r['state']}")
        if actor == r["requested_by"]:
            raise Refused([Refusal(SAME_REPRESENTATIVE.code, f"{actor} requested it")])
        trusted = is_trusted(store, r["source"], r["target"], at)
        state, release = ("ready", None) if trusted else ("delayed", at + s.untrusted_delay)
        records.record(store, upd, [state, actor, release, request_id, "awaiting_approval"],
                       "exchange_transfer_request", [request_id], actor=actor,
                       reason="approve")  # fmt: skip
        r = get_request(store, request_id)
        return _execute(store, r, actor, checks_for, "ready") if trusted else r
    if action == "cancel":
        if r["state"] not in ("awaiting_approval", "delayed"):
            raise ConflictError(f"transfer request {request_id} is {r['state']}")
        records.record(
            store, "UPDATE exchange_transfer_request SET state = 'cancelled' WHERE id = ? "
            "AND state = ?", [request_id, r["state"]], "exchange_transfer_request",
            [request_id], actor=actor, reason="cancel",
        )  # fmt: skip
        return get_request(store, request_id)
    raise InputError("action", "approve or cancel", action)


def release_due(
    store: Store,
    *,
    actor: str,
    time: dt.datetime | None = None,
    checks_for: ChecksFor | None = None,
) -> list[dict[str, Any]]:
    """Execute every delayed request whose ``release_at`` has passed (registry operators only,
    when any is due); a
    refused one is marked ``refused`` and the others still run. Returns them."""
    from bishui.exchange import rights

    at = time or service.now()
    due = store.query(
        f"SELECT {_REQ_COLS} FROM exchange_transfer_request "  # noqa: S608
        "WHERE state = 'delayed' AND release_at <= ? ORDER BY release_at, id",
        [at],
    )
    if due:  # nothing due: nothing to refuse either
        rights.require_operator(store, actor)
    out = []
    for r in due:
        try:
            out.append(_execute(store, r, actor, checks_for, "delayed"))
        except (Refused, RefusedPermission):
            out.append(get_request(store, r["id"]))
    return out


__all__ = [
    "Settings",
    "act_on_request",
    "act_on_trusted",
    "add_working_days",
    "is_trusted",
    "load_settings",
    "propose_trusted",
    "raise_refusals",
    "release_due",
    "request_transfer",
    "requests",
    "trusted_list",
]
