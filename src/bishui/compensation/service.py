"""The store-backed service: agreements, statements, the ledger and confirmations in the store.

Everything is append-only (``bishui.compensation.schema``):

- :func:`sync_agreements` records every agreement version as loaded (a changed document under
  an old version number is refused: a changed rule is a new version);
- :func:`run` computes every agreement's statements for a period from the store
  (:func:`~bishui.compensation.store_inputs.period_inputs`), stores a statement only when it
  is new or differs from the current version (a late or corrected value → version n + 1 with
  the difference; an unchanged result adds nothing), posts it to the double-entry ledger and
  closes the superseded version's confirmations — all of one statement in one transaction;
- :func:`load_statement` reads a stored version back and checks its hash;
  :func:`verify_stored` also recomputes it from the stored agreement and evidence;
- :func:`confirm` records a party's acknowledgement or dispute (the state machine of
  :mod:`~bishui.compensation.confirmation`, replayed from the stored events).

Money is stored in integer fen (``*_fen`` columns); the statement JSON keeps the exact text.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from bishui.compensation.agreement import Agreement, load_agreement
from bishui.compensation.canonical import canonical_json
from bishui.compensation.confirmation import Confirmation
from bishui.compensation.engine import Statement, compute, verify, verify_hash
from bishui.compensation.inputs import PeriodInputs
from bishui.compensation.jingmen import AGREEMENTS_DIR
from bishui.compensation.ledger import PartyStatement, party_statement, posting_lines
from bishui.compensation.period import Period
from bishui.compensation.store_inputs import InputOptions, period_inputs
from bishui.errors import ConfigError, ConflictError, InputError, NotFoundError
from bishui.store import Store, Transaction
from bishui.timeutil import now_beijing

__all__ = [
    "RunItem",
    "add_agreement",
    "balances",
    "confirm",
    "confirmation",
    "fen",
    "head",
    "heads",
    "known_points",
    "list_statements",
    "load_statement",
    "party_statement_of",
    "record",
    "region_names",
    "run",
    "set_figure",
    "stored_agreement",
    "stored_agreements",
    "sync_agreements",
    "verify_stored",
]

_FEN = Decimal("0.01")


def fen(amount: Decimal) -> int:
    """Integer fen of an amount in 元 that is a whole number of fen (refused otherwise)."""
    q = amount / _FEN
    if q != q.to_integral_value():
        raise InputError("amount", "a whole number of fen (rounding places ≤ 2)", str(amount))
    return int(q)


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or now_beijing()).replace(tzinfo=None, microsecond=0)


# --------------------------------------------------------------------------- registry


def region_names(store: Store) -> dict[str, str]:
    """Region code → name; the city itself as "<city>本级" (the city-level government)."""
    out = {}
    for r in store.rows("regions"):
        out[r["code"]] = r["name"] + ("本级" if r["kind"] == "city" else "")
    return out


def known_points(store: Store) -> dict[str, str]:
    """Point id → kind, for the agreement loader: sites that have a data source."""
    kinds = {"air": "air_station", "water": "water_section"}
    return {r["id"]: kinds[r["kind"]] for r in store.rows("sites", "kind IN ('air', 'water')")}


def _parse(store: Store, text: str) -> Agreement:
    return load_agreement(text, set(region_names(store)), known_points(store))


def sync_agreements(
    store: Store,
    directory: str | Path = AGREEMENTS_DIR,
    *,
    by: str = "system",
    now: dt.datetime | None = None,
) -> dict[str, Agreement]:
    """Load every agreement file, validated against the store's registry, and record it.

    A version already stored with the same rule hash is left alone; the same id and version
    with a different hash is refused (:class:`ConfigError`): a changed rule must carry a new
    ``version``. Returns the loaded agreements by id.
    """
    regions, points = set(region_names(store)), known_points(store)
    loaded: dict[str, tuple[Agreement, str]] = {}
    for f in sorted(Path(directory).glob("*.toml")):
        text = f.read_text(encoding="utf-8")
        try:
            a = load_agreement(text, regions, points)
        except ConfigError as exc:
            raise ConfigError(f"{f.name}: {exc.field}", exc.rule, exc.value) from None
        if a.id in loaded:
            raise ConfigError(f"{f.name}: id", "unique among the agreements", a.id)
        loaded[a.id] = (a, text)
    _record(store, list(loaded.values()), by, now)
    return {k: v[0] for k, v in loaded.items()}


def add_agreement(
    store: Store, text: str, *, by: str = "system", now: dt.datetime | None = None
) -> Agreement:
    """Validate one agreement document against the store's registry and record it."""
    a = _parse(store, text)
    _record(store, [(a, text)], by, now)
    return a


def _record(
    store: Store, docs: Sequence[tuple[Agreement, str]], by: str, now: dt.datetime | None
) -> None:
    stored = {
        (r["id"], r["version"]): r["rule_hash"]
        for r in store.query("SELECT id, version, rule_hash FROM compensation_agreement")
    }
    at = _now(now)
    with store.transaction() as tx:
        for a, text in docs:
            have = stored.get((a.id, a.version))
            if have == a.rule_hash:
                continue
            if have is not None:
                raise ConfigError(
                    f"{a.id}: version",
                    "a changed rule needs a new version number (stored with another hash)",
                    a.version,
                )
            tx.execute(
                "INSERT INTO compensation_agreement (id, version, rule_hash, title, status, "
                "period_kind, parties, document, parsed, loaded_at, loaded_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    a.id,
                    a.version,
                    a.rule_hash,
                    a.title,
                    a.status,
                    a.period_kind,
                    ",".join(a.parties),
                    text,
                    canonical_json(a.document),
                    at,
                    by,
                ],
            )


def stored_agreement(store: Store, agreement_id: str, version: int) -> Agreement:
    """An agreement version as stored (re-validated against today's registry)."""
    rows = store.query(
        "SELECT document FROM compensation_agreement WHERE id = ? AND version = ?",
        [agreement_id, version],
    )
    if not rows:
        raise NotFoundError(f"agreement {agreement_id} v{version} is not in the store")
    return _parse(store, rows[0]["document"])


def stored_agreements(
    store: Store, *, parties: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Every stored agreement version (newest version first per id), optionally by party."""
    rows = store.query(
        "SELECT id, version, rule_hash, title, status, period_kind, parties, document, "
        "loaded_at, loaded_by FROM compensation_agreement ORDER BY id, version DESC"
    )
    out = []
    for r in rows:
        r["parties"] = r["parties"].split(",")
        if parties is not None and not set(parties) & set(r["parties"]):
            continue
        out.append(r)
    return out


# --------------------------------------------------------------------------- statements

_HEAD_SQL = (
    "SELECT s.body FROM compensation_statement s WHERE s.agreement_id = ? AND s.period = ? "
    "ORDER BY s.version DESC LIMIT 1"
)


def head(store: Store, agreement_id: str, period: Period) -> Statement | None:
    """The current (latest) version of an agreement's statement for a period."""
    rows = store.query(_HEAD_SQL, [agreement_id, str(period)])
    return Statement.from_dict(json.loads(rows[0]["body"])) if rows else None


def load_statement(store: Store, statement_id: str) -> Statement:
    """A stored statement version; refused if its content no longer matches its hash."""
    rows = store.query("SELECT body FROM compensation_statement WHERE id = ?", [statement_id])
    if not rows:
        raise NotFoundError(f"statement {statement_id} does not exist")
    d = json.loads(rows[0]["body"])
    if not verify_hash(d):
        raise ConflictError(f"statement {statement_id}: stored content does not match its hash")
    return Statement.from_dict(d)


def verify_stored(store: Store, statement_id: str) -> bool:
    """Recompute a stored statement from its stored agreement version and its evidence."""
    st = load_statement(store, statement_id)
    return verify(st, stored_agreement(store, st.agreement_id, st.agreement_version))


@dataclass(frozen=True)
class RunItem:
    """What :func:`run` did with one agreement and period: ``new``, ``corrected``, ``unchanged``."""

    statement: Statement
    action: str


def _same(a: Agreement, old: Statement, new: Statement) -> bool:
    return old.rule_hash == a.rule_hash and old.evidence == new.evidence


def run(
    store: Store,
    period: Period | str,
    *,
    agreements: Mapping[str, Agreement] | None = None,
    by: str = "system",
    now: dt.datetime | None = None,
    options: InputOptions | None = None,
) -> list[RunItem]:
    """Compute, store and post every agreement's statements for every period inside *period*.

    Parameters
    ----------
    store : Store
    period : Period or str
        ``2026`` runs the monthly agreements twelve times, quarterly four, yearly once;
        ``2026-Q3`` the months of the quarter and the quarter; ``2026-07`` the month.
    agreements : mapping, optional
        Defaults to :func:`sync_agreements` of the model city's directory.
    by : str
        Who runs it (recorded with each statement and journal entry).
    """
    p = Period.parse(period) if isinstance(period, str) else period
    if agreements is None:
        agreements = sync_agreements(store, by=by, now=now)
    at = _now(now)
    stored = {
        (r["id"], r["version"]): r["rule_hash"]
        for r in store.query("SELECT id, version, rule_hash FROM compensation_agreement")
    }
    for a in agreements.values():
        if stored.get((a.id, a.version)) != a.rule_hash:
            # A statement must name a rule anyone can read back from the store.
            raise ConfigError(
                f"{a.id}: version", "recorded in the store first (add_agreement)", a.version
            )
    jobs: dict[Period, list[Agreement]] = {}
    for a in agreements.values():
        for sub in Period.in_year(a.period_kind, p.year):
            if not sub.within(p):
                continue
            if (a.valid_from and sub.start < a.valid_from) or (a.valid_to and sub.end > a.valid_to):
                continue
            jobs.setdefault(sub, []).append(a)
    out: list[RunItem] = []
    for sub in sorted(jobs, key=lambda q: (q.start, q.end)):
        inputs = period_inputs(store, jobs[sub], sub, options)
        for a in sorted(jobs[sub], key=lambda x: x.id):
            out.append(record(store, a, inputs, by=by, now=at))
    return out


def record(
    store: Store,
    agreement: Agreement,
    inputs: PeriodInputs,
    *,
    by: str = "system",
    now: dt.datetime | None = None,
) -> RunItem:
    """Compute *agreement* over *inputs* and store it unless the current version is the same.

    The step :func:`run` takes for each agreement and period, usable with inputs from
    elsewhere (the agreement must be recorded in the store).
    """
    a = agreement
    prev = head(store, a.id, inputs.period)
    if prev is not None and prev.agreement_version > a.version:
        raise ConflictError(
            f"{prev.id} was computed under version {prev.agreement_version} of {a.id}; "
            f"version {a.version} is older"
        )
    fresh = compute(a, inputs)
    if prev is not None and _same(a, prev, fresh):
        return RunItem(prev, "unchanged")
    st = fresh if prev is None else compute(a, inputs, previous=prev)
    _store_statement(store, a, st, prev, by, _now(now))
    return RunItem(st, "new" if prev is None else "corrected")


def _store_statement(
    store: Store, a: Agreement, st: Statement, prev: Statement | None, by: str, at: dt.datetime
) -> None:
    """Statement, its parties, its journal entry and the superseding events: one transaction."""
    body = st.to_dict()
    synthetic = "模拟数据" in json.dumps(body["evidence"]["inputs"], ensure_ascii=False)
    lines = posting_lines(() if prev is None else prev.transfers, st.transfers)
    memo = f"记入 {st.id}" if prev is None else f"更正 {prev.id} → {st.id}"
    parties: dict[str, list[int]] = {}
    for code in (*a.assessed, *a.counterparty):
        parties.setdefault(code, [0, 0])
    roles = dict.fromkeys(a.assessed, "assessed") | {
        c: "counterparty" for c in a.counterparty if c not in a.assessed
    }
    for t in st.transfers:
        parties[t.payer][0] += fen(t.amount)
        parties[t.payee][1] += fen(t.amount)
    with store.transaction() as tx:
        # The head is re-read under the writer lock: a concurrent run of the same period loses.
        row = tx.fetch_one(_HEAD_SQL.replace("s.body", "s.id"), [st.agreement_id, str(st.period)])
        if (row[0] if row else None) != (prev.id if prev else None):
            raise ConflictError(f"{st.id}: another run stored {row[0] if row else 'nothing'}")
        tx.execute(
            "INSERT INTO compensation_statement (id, agreement_id, agreement_version, rule_hash, "  # noqa: S608 - fixed SQL fragments; values are bound
            "period, period_kind, period_start, period_end, version, status, amount_fen, "
            "previous_amount_fen, difference_fen, supersedes, content_hash, body, synthetic, "
            "created_at, created_by) VALUES (" + ", ".join("?" * 19) + ")",
            [
                st.id,
                st.agreement_id,
                st.agreement_version,
                st.rule_hash,
                str(st.period),
                st.period.kind,
                st.period.start,
                st.period.end,
                st.version,
                st.status,
                fen(st.amount),
                None if st.previous_amount is None else fen(st.previous_amount),
                None if st.difference is None else fen(st.difference),
                st.supersedes,
                st.content_hash,
                json.dumps(body, ensure_ascii=False, sort_keys=True),
                synthetic,
                at,
                by,
            ],
        )
        for code, (pays, receives) in sorted(parties.items()):
            tx.execute(
                "INSERT INTO compensation_statement_party (statement_id, party, role, pays_fen, "
                "receives_fen) VALUES (?, ?, ?, ?, ?)",
                [st.id, code, roles[code], pays, receives],
            )
        tx.execute(
            "INSERT INTO compensation_journal (statement_id, statement_hash, agreement_id, "
            "period, period_start, period_end, memo, posted_at, posted_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                st.id,
                st.content_hash,
                st.agreement_id,
                str(st.period),
                st.period.start,
                st.period.end,
                memo,
                at,
                by,
            ],
        )
        head = tx.fetch_one("SELECT seq FROM compensation_journal WHERE statement_id = ?", [st.id])
        assert head is not None  # inserted just above, in this transaction
        seq = int(head[0])
        for i, line in enumerate(lines, 1):
            tx.execute(
                "INSERT INTO compensation_posting (seq, line, account, amount_fen) "
                "VALUES (?, ?, ?, ?)",
                [seq, i, line.account, fen(line.amount)],
            )
        if prev is not None:
            # The superseded version's own parties (a new rule version may name others).
            rule = prev.evidence["rule"]
            for code in sorted(set(rule["assessed"]) | set(rule["counterparty"])):
                _event(tx, prev.id, code, "supersede", "superseded", None, at, by)


def _event(
    tx: Transaction,
    statement_id: str,
    party: str,
    action: str,
    state: str,
    reason: str | None,
    at: dt.datetime,
    by: str,
) -> None:
    tx.execute(
        "INSERT INTO compensation_confirmation (statement_id, party, action, state, reason, "
        "acted_at, by_user) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [statement_id, party, action, state, reason, at, by],
    )


def _scope(regions: Sequence[str] | None, alias: str = "s") -> tuple[str, list[Any]]:
    if regions is None:
        return "TRUE", []
    marks = ", ".join("?" for _ in regions) or "NULL"
    return (
        f"EXISTS (SELECT 1 FROM compensation_statement_party sp WHERE sp.statement_id = "  # noqa: S608 - fixed SQL fragments; values are bound
        f"{alias}.id AND sp.party IN ({marks}))",
        list(regions),
    )


def list_statements(
    store: Store,
    *,
    period: Period | None = None,
    agreement: str | None = None,
    party: str | None = None,
    regions: Sequence[str] | None = None,
    current: bool = True,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """Stored statements (current versions unless ``current=False``), newest period first.

    ``regions`` restricts to statements where one of them is a party (a county's scope);
    ``period`` takes every statement whose period lies inside it.
    """
    where, args = _scope(regions)
    conds = [where]
    if current:
        conds.append(
            "s.version = (SELECT MAX(v.version) FROM compensation_statement v "
            "WHERE v.agreement_id = s.agreement_id AND v.period = s.period)"
        )
    if period is not None:
        conds.append("s.period_start >= ? AND s.period_end <= ?")
        args += [period.start, period.end]
    if agreement:
        conds.append("s.agreement_id = ?")
        args.append(agreement)
    if party:
        conds.append(
            "EXISTS (SELECT 1 FROM compensation_statement_party q WHERE q.statement_id = s.id "
            "AND q.party = ?)"
        )
        args.append(party)
    w = " AND ".join(conds)
    total, rows = store.page(
        "SELECT s.id, s.agreement_id, s.agreement_version, s.period, s.version, s.status, "  # noqa: S608 - fixed SQL fragments; values are bound
        "s.amount_fen, s.difference_fen, s.supersedes, s.content_hash, s.synthetic, "
        f"s.created_at, s.created_by FROM compensation_statement s WHERE {w} "
        "ORDER BY s.period_start DESC, s.period_end, s.agreement_id, s.version DESC",
        args,
        limit=limit,
        offset=offset,
    )
    if rows:
        marks = ", ".join("?" for _ in rows)
        parts = store.query(
            "SELECT statement_id, party, role, pays_fen, receives_fen FROM "  # noqa: S608 - fixed SQL fragments; values are bound
            f"compensation_statement_party WHERE statement_id IN ({marks}) ORDER BY party",
            [r["id"] for r in rows],
        )
        by_id: dict[str, list[dict[str, Any]]] = {}
        for p in parts:
            by_id.setdefault(p.pop("statement_id"), []).append(p)
        for r in rows:
            r["parties"] = by_id.get(r["id"], [])
    return total, rows


def heads(store: Store, period: Period, regions: Sequence[str] | None = None) -> list[Statement]:
    """Current versions of every statement whose period lies inside *period*."""
    where, args = _scope(regions)
    rows = store.query(
        f"SELECT s.body FROM compensation_statement s WHERE {where} AND s.period_start >= ? "  # noqa: S608 - fixed SQL fragments; values are bound
        "AND s.period_end <= ? AND s.version = (SELECT MAX(v.version) FROM "
        "compensation_statement v WHERE v.agreement_id = s.agreement_id AND v.period = s.period) "
        "ORDER BY s.period_start, s.agreement_id",
        [*args, period.start, period.end],
    )
    return [Statement.from_dict(json.loads(r["body"])) for r in rows]


def party_statement_of(store: Store, party: str, period: Period) -> PartyStatement:
    """What *party* pays, receives and nets over *period*, from the current versions."""
    return party_statement(party, period, heads(store, period, [party]))


def balances(
    store: Store, *, regions: Sequence[str] | None = None, period: Period | None = None
) -> dict[str, Decimal]:
    """Ledger balance of every party [元] (positive: owed to it), from the postings.

    ``period`` counts only entries of statements whose period lies inside it; ``regions``
    keeps only those parties' accounts (a county sees its own).
    """
    conds, args = ["TRUE"], []
    if period is not None:
        conds.append("j.period_start >= ? AND j.period_end <= ?")
        args += [period.start, period.end]
    rows = store.query(
        "SELECT p.account, SUM(p.amount_fen) AS fen FROM compensation_posting p "  # noqa: S608 - fixed SQL fragments; values are bound
        "JOIN compensation_journal j ON j.seq = p.seq WHERE "
        + " AND ".join(conds)
        + " GROUP BY p.account ORDER BY p.account",
        args,
    )
    out = {r["account"].removeprefix("party:"): Decimal(int(r["fen"])) * _FEN for r in rows}
    if regions is not None:
        out = {k: v for k, v in out.items() if k in set(regions)}
    return out


# --------------------------------------------------------------------------- confirmation


def confirmation(store: Store, statement_id: str) -> Confirmation:
    """The confirmation state of a statement version, replayed from its stored events."""
    st = load_statement(store, statement_id)
    c = Confirmation.open(st)
    for e in store.query(
        "SELECT party, action, reason, acted_at FROM compensation_confirmation "
        "WHERE statement_id = ? ORDER BY id",
        [statement_id],
    ):
        if e["action"] == "supersede":
            if c.states.get(e["party"]) != "superseded":
                c = c._move(e["party"], "supersede", e["acted_at"])
        elif e["action"] == "acknowledge":
            c = c.acknowledge(e["party"], e["acted_at"])
        else:
            c = c.dispute(e["party"], e["reason"] or "", e["acted_at"])
    return c


def confirm(
    store: Store,
    statement_id: str,
    party: str,
    action: str,
    *,
    by: str,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Confirmation:
    """*party* acknowledges or disputes a statement version; returns the new state.

    Raises
    ------
    ConflictError
        The move is not allowed (acknowledged twice, superseded version, not a party …).
    InputError
        Unknown action, or a dispute without a reason.
    """
    if action not in ("acknowledge", "dispute"):
        raise InputError("action", "acknowledge or dispute", action)
    at = _now(now)
    # Read and written under the one writer: a concurrent confirmation waits for this one.
    with store.transaction() as tx:
        c = confirmation(store, statement_id)
        c = c.acknowledge(party, at) if action == "acknowledge" else c.dispute(party, reason, at)
        _event(
            tx,
            statement_id,
            party,
            action,
            c.states[party],
            reason.strip() or None,
            at,
            by,
        )
    return c


def confirmation_events(store: Store, statement_id: str) -> list[dict[str, Any]]:
    return store.query(
        "SELECT party, action, state, reason, acted_at, by_user FROM compensation_confirmation "
        "WHERE statement_id = ? ORDER BY id",
        [statement_id],
    )


# --------------------------------------------------------------------------- figures


def set_figure(
    store: Store,
    point: str,
    name: str,
    period: Period | str,
    value: Decimal | str,
    *,
    source: str,
    by: str,
    now: dt.datetime | None = None,
) -> None:
    """Enter a figure no series gives (e.g. ``forest_area_vs_2020`` of WS06 for 2026).

    Replacing an entered figure is allowed — the statements computed from the old figure keep
    it in their evidence, and the next run issues a corrected version.
    """
    p = Period.parse(period) if isinstance(period, str) else period
    try:
        d = Decimal(str(value))
    except ArithmeticError:
        raise InputError("value", "a decimal number", value) from None
    if not d.is_finite():
        raise InputError("value", "a finite decimal number", value)
    if not source.strip():
        raise InputError("source", "name the document or office the figure comes from", source)
    if point not in known_points(store) and "+" not in point:
        raise InputError("point", "a water section or air station of the registry", point)
    with store.transaction() as tx:
        tx.execute(
            "DELETE FROM compensation_figure WHERE point = ? AND name = ? AND period = ?",
            [point, name, str(p)],
        )
        tx.execute(
            "INSERT INTO compensation_figure (point, name, period, value, source, entered_at, "
            "entered_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [point, name, str(p), str(d), source.strip(), _now(now), by],
        )


def statements_in(items: Iterable[RunItem]) -> list[Statement]:
    return [i.statement for i in items]
