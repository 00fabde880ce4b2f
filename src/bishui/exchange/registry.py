"""The registry's pure core: entities, accounts, serial blocks, transactions and their checks.

No I/O. A unit exists only by issuance and leaves circulation only by surrender, retirement,
cancellation or expiry — each a change of its block's status, never a deletion (exchange-and-
permits notes §A4, invariants 1–8). Units are stored as *serial blocks*: a :class:`Series`
(instrument, pollutant, vintage, region or basin) and an inclusive serial range, held by one
account in one status. Moving part of a block splits it; adjacent blocks that agree in
everything but their range are merged again, so a series' blocks are always the fewest that
describe it and any two states holding the same units look the same.

Every change is a :class:`Transaction`. :func:`plan` turns a request (an :class:`Issue`,
:class:`Transfer` …) into a transaction whose units are named serial by serial (a transfer by
quantity takes the sender's units first-in first-out: oldest vintage, then lowest serial, as
EPA 40 CFR 97.424 deducts), or raises the :class:`~bishui.exchange.checks.Refusal`\\ s. Then
:func:`apply` checks it again against the state and changes the state, returning the blocks
removed and added — the service writes exactly that diff. Replaying a log is :func:`apply`
over its transactions from an empty :class:`State`, so a state rebuilt from the log passes
every check the live one did.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from bishui.errors import InputError
from bishui.exchange.checks import Refusal, raise_refusals
from bishui.exchange.instruments import Instrument, instrument, right_pollutant
from bishui.exchange.model import (
    ISSUANCE_SOURCES,
    Account,
    AccountKind,
    AccountState,
    AddOperator,
    Block,
    Cancel,
    Change,
    Entity,
    Expire,
    Issue,
    OpenAccount,
    Range,
    RegisterEntity,
    Request,
    Retire,
    Select,
    Series,
    SetAccountState,
    SetRepresentatives,
    State,
    Status,
    Surrender,
    Transaction,
    Transfer,
)

# The vocabulary is re-exported: callers import the core from one place.
__all__ = [
    "ISSUANCE_SOURCES",
    "Account",
    "AccountKind",
    "AccountState",
    "AddOperator",
    "Block",
    "Cancel",
    "Change",
    "Entity",
    "Expire",
    "Issue",
    "OpenAccount",
    "Range",
    "RegisterEntity",
    "Request",
    "Retire",
    "Select",
    "Series",
    "SetAccountState",
    "SetRepresentatives",
    "State",
    "Status",
    "Surrender",
    "Transaction",
    "Transfer",
    "apply",
    "balances",
    "check",
    "integrity",
    "plan",
    "replay",
    "right_holdings",
    "series",
]
from bishui.registry import uscc


def _refuse(code: str, detail: str) -> list[Refusal]:
    return [Refusal(code, detail)]


def _account(state: State, aid: str | None, role: str) -> tuple[Account | None, list[Refusal]]:
    acc = state.accounts.get(aid) if aid is not None else None
    if acc is None:
        return None, _refuse("account_unknown", f"{role} {aid!r}")
    if acc.state is AccountState.CLOSED:
        return acc, _refuse("account_closed", f"{role} {aid}")
    return acc, []


def _operator(state: State, actor: str) -> list[Refusal]:
    # The first operator bootstraps the registry; after that only operators add operators.
    if actor in state.operators:
        return []
    return _refuse("not_operator", f"actor {actor!r}")


def _held_ranges(
    state: State, account: str, ranges: Sequence[Range], when: dt.date
) -> list[Refusal]:
    """Every serial of *ranges* held by *account*, in circulation and still valid."""
    out: list[Refusal] = []
    for r in ranges:
        blocks = state.blocks.get(r.series, [])
        covered = r.start  # the first serial of r not yet found
        i = bisect.bisect_right(blocks, r.start, key=lambda b: b.start) - 1
        for b in blocks[max(i, 0) :]:
            if b.end < covered:
                continue
            if b.start > covered:
                break  # a gap: serials never issued
            where = f"{r.series.key()} {covered}–{min(b.end, r.end)}"
            if b.account != account:
                out += _refuse("units_not_held", f"{where} held by {b.account}")
            elif b.status is not Status.HELD:
                out += _refuse("unit_not_active", f"{where} is {b.status.value}")
            elif b.valid_until is not None and b.valid_until < when:
                out += _refuse("unit_expired", f"{where} valid until {b.valid_until}")
            covered = b.end + 1
            if covered > r.end:
                break
        if covered <= r.end:
            out += _refuse("units_not_held", f"{r.series.key()} {covered}–{r.end} not issued")
    return out


def _fifo(state: State, account: str, sel: Select, when: dt.date) -> tuple[Range, ...] | Refusal:
    """*sel.quantity* units of *account* first-in first-out: oldest vintage, lowest serial."""
    assert sel.quantity is not None and sel.instrument is not None
    need, out = sel.quantity, []
    for series in sorted(state.blocks, key=lambda s: (s.vintage, s.key())):
        if (
            series.instrument is not sel.instrument
            or (sel.pollutant is not None and series.pollutant != sel.pollutant)
            or (sel.vintage is not None and series.vintage != sel.vintage)
            or (sel.region is not None and series.region != sel.region)
        ):
            continue
        for b in state.blocks[series]:
            if need == 0:
                break
            if b.account != account or b.status is not Status.HELD:
                continue
            if b.valid_until is not None and b.valid_until < when:
                continue
            take = min(need, b.size)
            out.append(Range(series, b.start, b.start + take - 1))
            need -= take
    if need:
        return Refusal(
            "insufficient_units",
            f"{account} holds {sel.quantity - need} usable {sel.instrument.value} units "
            f"matching the request, {sel.quantity} asked",
        )
    return tuple(out)


def _resolve(state: State, account: str, sel: Select, when: dt.date) -> tuple[Range, ...] | Refusal:
    if sel.ranges:
        return tuple(sel.ranges)
    return _fifo(state, account, sel, when)


def plan(
    state: State, req: Request, *, tx_id: str, time: dt.datetime, actor: str, reason: str = ""
) -> Transaction:
    """The transaction *req* asks for, checked against *state*; raises ``Refused`` (or
    ``RefusedPermission``) with every failed check otherwise. *state* is not changed."""
    _validate(req)
    tx = _transaction(state, req, tx_id=tx_id, time=time, actor=actor, reason=reason)
    raise_refusals(check(state, tx))
    return tx


def _transaction(
    state: State, req: Request, *, tx_id: str, time: dt.datetime, actor: str, reason: str
) -> Transaction:
    def mk(
        kind: str,
        source: str | None,
        target: str | None,
        moves: tuple[Range, ...] = (),
        data: Mapping[str, Any] | None = None,
    ) -> Transaction:
        return Transaction(tx_id, kind, time, actor, reason, source, target, moves, data or {})

    match req:
        case Issue():
            start = req.start if req.start is not None else _next_serial(state, req.series)
            r = Range(req.series, start, start + req.quantity - 1)
            return mk(
                "issue",
                None,
                req.account,
                (r,),
                {"source": req.source, "valid_until": req.valid_until},
            )
        case Transfer() | Surrender() | Retire() | Cancel():
            src = req.source if isinstance(req, Transfer) else req.account
            kind = _KIND[type(req)]
            data = {"compliance_year": req.compliance_year} if isinstance(req, Surrender) else {}
            got = _resolve(state, src, req.select, time.date())
            if isinstance(got, Refusal):
                # Authorisation and the accounts' checks still speak first (see check()).
                raise_refusals(check(state, mk(kind, src, _target(req), (), data)) or [got])
                raise AssertionError("unreachable")
            return mk(kind, src, _target(req), got, data)
        case Expire():
            moves = tuple(
                Range(b.series, b.start, b.end)
                for b in state.all_blocks()
                if b.status is Status.HELD and b.valid_until is not None and b.valid_until < req.on
            )
            return mk("expire", None, None, moves, {"on": req.on})
        case RegisterEntity():
            e = req.entity
            return mk(
                "register_entity",
                None,
                None,
                (),
                {"entity": e.id, "entity_kind": e.kind, "name": e.name},
            )
        case OpenAccount():
            reps = sorted(set(req.representatives))
            return mk(
                "open_account",
                None,
                req.id,
                (),
                {"account_kind": req.kind.value, "holder": req.holder, "representatives": reps},
            )
        case SetAccountState():
            return mk("set_account_state", req.account, None, (), {"state": req.state.value})
        case SetRepresentatives():
            reps = sorted(set(req.representatives))
            return mk("set_representatives", req.account, None, (), {"representatives": reps})
        case AddOperator():
            return mk("add_operator", None, None, (), {"username": req.username})
    raise InputError("request", "a registry request", type(req).__name__)


_KIND: dict[type, str] = {
    Transfer: "transfer",
    Surrender: "surrender",
    Retire: "retire",
    Cancel: "cancel",
}


def _target(req: Transfer | Surrender | Retire | Cancel) -> str | None:
    return None if isinstance(req, Surrender) else req.target


def _next_serial(state: State, series: Series) -> int:
    blocks = state.blocks.get(series)
    return max(b.end for b in blocks) + 1 if blocks else 1


def _validate(req: Request) -> None:
    """Malformed requests are input errors (field, rule, value), not refusals."""
    sel = getattr(req, "select", None)
    if isinstance(sel, Select):
        if sel.ranges and sel.quantity is not None:
            raise InputError("select", "either ranges or a quantity, not both", sel.quantity)
        if not sel.ranges:
            if sel.quantity is None or sel.quantity <= 0:
                raise InputError("quantity", "a whole number of registry units > 0", sel.quantity)
            if sel.instrument is None:
                raise InputError("instrument", "required with a quantity", None)
        for r in sel.ranges:
            if r.start < 1 or r.end < r.start:
                raise InputError("ranges", "1 <= start <= end", (r.start, r.end))
    if isinstance(req, Issue):
        if req.quantity <= 0:
            raise InputError("quantity", "a whole number of registry units > 0", req.quantity)
        if req.source not in ISSUANCE_SOURCES:
            raise InputError("source", "one of " + ", ".join(ISSUANCE_SOURCES), req.source)
        if req.start is not None and req.start < 1:
            raise InputError("start", "a serial >= 1", req.start)
        series(req.series.instrument, req.series.pollutant, req.series.vintage, req.series.region)
    if isinstance(req, RegisterEntity):
        if req.entity.kind == "enterprise":
            uscc.validate(req.entity.id, "entity")
        elif req.entity.kind != "government" or not req.entity.id.strip():
            raise InputError("entity_kind", "enterprise or government, with an id", req.entity.kind)
    if isinstance(req, OpenAccount | SetRepresentatives):
        reps = req.representatives
        if any(not isinstance(u, str) or not u.strip() for u in reps):
            raise InputError("representatives", "platform user names", list(reps))


def series(inst: object, pollutant: str, vintage: int, region: str) -> Series:
    """A :class:`Series` checked: emission rights name one of the four pollutants, the other
    instruments none; vintage a year; region a GB/T 2260 code or a basin name."""
    i = instrument(inst)
    if i is Instrument.EMISSION_RIGHT:
        right_pollutant(pollutant)
    elif pollutant:
        raise InputError("pollutant", f"empty for {i.value}", pollutant)
    if not isinstance(vintage, int) or not 1990 <= vintage <= 2200:
        raise InputError("vintage", "a year", vintage)
    if not region or not region.strip():
        raise InputError("region", "a region code or basin", region)
    return Series(i, pollutant, vintage, region)


# -- checks --------------------------------------------------------------------------------
#: What only the registry's operators do.
_OPERATOR_KINDS = frozenset(
    {
        "issue",
        "expire",
        "register_entity",
        "open_account",
        "set_account_state",
        "set_representatives",
    }
)


def check(state: State, tx: Transaction) -> list[Refusal]:
    """Every check of *tx* against *state*, authorisation first: an actor who may not act for
    the account learns nothing more about it."""
    k, when = tx.kind, tx.time.date()
    if k in _OPERATOR_KINDS and (refused := _operator(state, tx.actor)):
        return refused
    if k == "add_operator":
        return [] if not state.operators else _operator(state, tx.actor)
    if k == "register_entity":
        eid = tx.data["entity"]
        return _refuse("duplicate_id", f"entity {eid}") if eid in state.entities else []
    if k == "open_account":
        out = []
        if tx.target in state.accounts:
            out += _refuse("duplicate_id", f"account {tx.target}")
        if tx.data["holder"] not in state.entities:
            out += _refuse("entity_unknown", f"holder {tx.data['holder']!r}")
        return out
    if k in ("set_account_state", "set_representatives"):
        acc, out = _account(state, tx.source, "account")
        if acc is not None and k == "set_account_state" and tx.data["state"] == "closed":
            n = sum(
                b.size
                for bs in state.blocks.values()
                for b in bs
                if b.account == acc.id and b.status is Status.HELD
            )
            if n:
                out += _refuse("account_not_empty", f"{acc.id} holds {n} units")
        return out
    if k == "issue":
        acc, out = _account(state, tx.target, "acquiring account")
        if acc is not None and acc.kind not in (AccountKind.HOLDING, AccountKind.RESERVE):
            out += _refuse("account_kind", f"issue into {acc.kind.value} account {acc.id}")
        elif acc is not None and acc.state is AccountState.BLOCKED:
            out += _refuse("account_blocked", f"acquiring account {acc.id}")
        for r in tx.moves:
            for b in state.blocks.get(r.series, []):
                if b.start <= r.end and r.start <= b.end:
                    out += _refuse(
                        "serial_issued_twice",
                        f"{r.series.key()} {max(b.start, r.start)}–{min(b.end, r.end)}",
                    )
                    break
        return out
    if k == "expire":
        return _held_everywhere(state, tx.moves)
    # transfer, surrender, retire, cancel: units leave tx.source
    src, out = _account(state, tx.source, "transferring account")
    if src is not None and tx.actor not in src.representatives:
        return _refuse("not_representative", f"{tx.actor!r} for {src.id}")
    if src is not None and src.state is AccountState.BLOCKED and k != "surrender":
        out += _refuse("account_blocked", f"transferring account {src.id}")
    if src is not None and src.kind not in (AccountKind.HOLDING, AccountKind.RESERVE):
        out += _refuse("account_kind", f"{k} from {src.kind.value} account {src.id}")
    if k != "surrender":
        dst, more = _account(state, tx.target, "acquiring account")
        out += more
        want = {
            "transfer": (AccountKind.HOLDING, AccountKind.RESERVE),
            "retire": (AccountKind.RETIREMENT,),
            "cancel": (AccountKind.CANCELLATION,),
        }[k]
        if dst is not None and dst.kind not in want:
            out += _refuse("account_kind", f"{k} into {dst.kind.value} account {dst.id}")
        if dst is not None and dst.state is AccountState.BLOCKED:
            out += _refuse("account_blocked", f"acquiring account {dst.id}")
        if tx.source == tx.target:
            out += _refuse("same_account", f"{tx.source}")
    if k == "surrender":
        year = int(tx.data["compliance_year"])
        for r in tx.moves:
            if r.series.vintage > year:
                out += _refuse(
                    "vintage_after_year", f"{r.series.key()} vintage {r.series.vintage} > {year}"
                )
    if tx.source is not None and tx.moves:
        out += _held_ranges(state, tx.source, tx.moves, when)
    out += _overlaps(tx.moves)
    return out


def _held_everywhere(state: State, ranges: Sequence[Range]) -> list[Refusal]:
    out: list[Refusal] = []
    for r in ranges:
        bs = [b for b in state.blocks.get(r.series, []) if b.start <= r.end and r.start <= b.end]
        if sum(min(b.end, r.end) - max(b.start, r.start) + 1 for b in bs) != r.size or any(
            b.status is not Status.HELD for b in bs
        ):
            out += _refuse("unit_not_active", f"{r.series.key()} {r.start}–{r.end}")
    return out + _overlaps(ranges)


def _overlaps(ranges: Sequence[Range]) -> list[Refusal]:
    """A request naming a serial twice would put it in two places."""
    out: list[Refusal] = []
    by: dict[Series, list[Range]] = {}
    for r in ranges:
        by.setdefault(r.series, []).append(r)
    for s, rs in by.items():
        rs.sort(key=lambda r: r.start)
        for a, b in itertools.pairwise(rs):
            if b.start <= a.end:
                out += _refuse(
                    "unit_in_two_accounts", f"{s.key()} {b.start}–{min(a.end, b.end)} named twice"
                )
    return out


def integrity(state: State) -> list[Refusal]:
    """The state's own invariant: within a series no serial is in two blocks (invariant 1)."""
    out: list[Refusal] = []
    for s, bs in state.blocks.items():
        for a, b in itertools.pairwise(bs):
            if b.start <= a.end:
                out += _refuse(
                    "unit_in_two_accounts",
                    f"{s.key()} {b.start}–{min(a.end, b.end)}: {a.account} and {b.account}",
                )
    return out


# -- apply ---------------------------------------------------------------------------------
def apply(state: State, tx: Transaction) -> Change:
    """Check *tx* against *state* (raising its refusals) and change *state*; returns the
    blocks removed and added."""
    raise_refusals(check(state, tx))
    d, k = tx.data, tx.kind
    if k == "add_operator":
        state.operators.add(d["username"])
    elif k == "register_entity":
        state.entities[d["entity"]] = Entity(d["entity"], d["entity_kind"], d["name"])
    elif k == "open_account":
        assert tx.target is not None
        state.accounts[tx.target] = Account(
            tx.target,
            AccountKind(d["account_kind"]),
            d["holder"],
            AccountState.OPEN,
            frozenset(d["representatives"]),
        )
    elif k == "set_account_state":
        assert tx.source is not None
        acc = state.accounts[tx.source]
        state.accounts[tx.source] = replace(acc, state=AccountState(d["state"]))
    elif k == "set_representatives":
        assert tx.source is not None
        acc = state.accounts[tx.source]
        state.accounts[tx.source] = replace(acc, representatives=frozenset(d["representatives"]))
    elif k == "issue":
        assert tx.target is not None
        vu = d["valid_until"]
        new = [Block(r.series, r.start, r.end, vu, tx.target, Status.HELD) for r in tx.moves]
        return _rewrite(state, tx.moves, lambda b: b, extra=new)
    else:
        status = {
            "transfer": Status.HELD,
            "surrender": Status.SURRENDERED,
            "retire": Status.RETIRED,
            "cancel": Status.CANCELLED,
            "expire": Status.EXPIRED,
        }[k]
        dest = tx.target if k in ("transfer", "retire", "cancel") else None
        return _rewrite(
            state, tx.moves, lambda b: replace(b, account=dest or b.account, status=status)
        )
    return Change((), ())


def _rewrite(
    state: State, ranges: Sequence[Range], change: Any, extra: Sequence[Block] = ()
) -> Change:
    """Split the blocks *ranges* cut, pass the pieces inside them through *change*, add
    *extra*, merge neighbours, and report the difference. Only the blocks a range touches and
    their neighbours are rewritten (a transfer's ranges may lie far apart in a long series)."""
    by: dict[Series, list[Range]] = {}
    for r in ranges:
        by.setdefault(r.series, []).append(r)
    edits: list[tuple[Series, int, int, list[Block]]] = []  # (series, i, j, blocks for [i:j])
    for s, rs in by.items():
        old = state.blocks.get(s, [])
        spans = sorted(
            (
                (
                    max(bisect.bisect_right(old, r.start - 1, key=_start) - 1, 0),
                    bisect.bisect_right(old, r.end + 1, key=_start),
                    r,
                )
                for r in rs
            ),
            key=lambda t: (t[0], t[1], t[2].start),
        )
        groups: list[tuple[int, int, list[Range]]] = []
        for i, j, r in spans:
            if groups and i <= groups[-1][1]:
                gi, gj, grs = groups[-1]
                groups[-1] = (gi, max(gj, j), [*grs, r])
            else:
                groups.append((i, j, [r]))
        news = [x for x in extra if x.series == s]
        for i, j, grs in groups:
            lo, hi = grs[0].start, max(r.end for r in grs)
            mine = [x for x in news if lo <= x.start <= hi]
            edits.append((s, i, j, _cut(old[i:j], grs, change, mine)))
    # before the state changes (a refused apply leaves it as it was): each rewritten window
    # and the blocks either side of it hold no serial twice
    for s, i, j, merged in edits:
        old = state.blocks.get(s, [])
        raise_refusals(
            integrity(State(blocks={s: old[max(i - 1, 0) : i] + merged + old[j : j + 1]}))
        )
    removed: list[Block] = []
    added: list[Block] = []
    for s, i, j, merged in sorted(edits, key=lambda e: (e[0], -e[1])):  # right to left
        old = state.blocks.setdefault(s, [])
        window = old[i:j]
        before, after = {id(b) for b in window}, {id(b) for b in merged}
        removed += [b for b in window if id(b) not in after]
        added += [b for b in merged if id(b) not in before]
        old[i:j] = merged
    return Change(tuple(removed), tuple(added))


def _start(x: Block | Range) -> int:
    return x.start


def _cut(window: list[Block], rs: list[Range], change: Any, extra: list[Block]) -> list[Block]:
    """*window* with *rs* cut out and changed, *extra* added, neighbours merged."""
    pieces: list[Block] = []
    for b in window:
        cuts = [r for r in rs if r.start <= b.end and b.start <= r.end]
        if not cuts:
            pieces.append(b)  # untouched: the same object (not reported as changed)
            continue
        at = b.start
        for r in cuts:
            lo, hi = max(r.start, b.start), min(r.end, b.end)
            if lo > at:
                pieces.append(replace(b, start=at, end=lo - 1))
            pieces.append(change(replace(b, start=lo, end=hi)))
            at = hi + 1
        if at <= b.end:
            pieces.append(replace(b, start=at, end=b.end))
    pieces += extra
    pieces.sort(key=_start)
    merged: list[Block] = []
    for p in pieces:
        if merged and merged[-1].end + 1 == p.start and merged[-1].same_lot(p):
            merged[-1] = replace(merged[-1], end=p.end)
        else:
            merged.append(p)
    return merged


def replay(transactions: Iterable[Transaction]) -> State:
    """The state a log describes: every transaction applied, in order, from nothing."""
    state = State()
    for tx in transactions:
        apply(state, tx)
    return state


def balances(state: State) -> dict[tuple[str, str, str, int, str, str], int]:
    """Units per (account, status, instrument, pollutant, vintage, region)."""
    out: dict[tuple[str, str, str, int, str, str], int] = {}
    for b in state.all_blocks():
        k = (
            b.account,
            b.status.value,
            b.series.instrument.value,
            b.series.vintage,
            b.series.pollutant,
            b.series.region,
        )
        out[k] = out.get(k, 0) + b.size
    return out


def right_holdings(state: State, holder: str, vintage: int) -> dict[str, int]:
    """Emission rights of *vintage* held (in circulation) by *holder*'s holding accounts, by
    pollutant [kg] — what :func:`bishui.exchange.checks.permit_consistency` compares."""
    mine = {
        a.id
        for a in state.accounts.values()
        if a.holder == holder and a.kind is AccountKind.HOLDING
    }
    out: dict[str, int] = {}
    for b in state.all_blocks():
        if (
            b.account in mine
            and b.status is Status.HELD
            and b.series.vintage == vintage
            and b.series.instrument is Instrument.EMISSION_RIGHT
        ):
            out[b.series.pollutant] = out.get(b.series.pollutant, 0) + b.size
    return out
