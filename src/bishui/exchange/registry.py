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
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from bishui.errors import InputError
from bishui.exchange.checks import Refusal, raise_refusals
from bishui.exchange.instruments import Instrument, instrument, right_pollutant
from bishui.registry import uscc


class Status(StrEnum):
    """Where a unit is in its life: held (in circulation) or out of it, for good."""

    HELD = "held"
    SURRENDERED = "surrendered"
    RETIRED = "retired"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class AccountKind(StrEnum):
    HOLDING = "holding"  # an enterprise's (or a government's) units in circulation
    RESERVE = "reserve"  # the government reserve (政府储备)
    RETIREMENT = "retirement"  # retired units rest here (自愿注销)
    CANCELLATION = "cancellation"  # cancelled units rest here (收回、取消)


class AccountState(StrEnum):
    OPEN = "open"
    BLOCKED = "blocked"  # only surrender (EU 7025)
    CLOSED = "closed"  # holds nothing, does nothing


#: How a unit came to exist (issue 17).
ISSUANCE_SOURCES = (
    "determination",  # 初始分配 (核定)
    "paid_allocation",  # 有偿使用
    "auction",  # 竞价
    "reserve_release",  # 政府储备投放
    "energy_saving",  # 节能量审核确认
    "carbon_sink",  # 林业碳汇核证
)


@dataclass(frozen=True, slots=True, order=True)
class Series:
    """The units that share a serial space: instrument, pollutant ('' for carbon and energy),
    vintage year and region or basin code."""

    instrument: Instrument
    pollutant: str
    vintage: int
    region: str

    def key(self) -> tuple[str, str, int, str]:
        return (self.instrument.value, self.pollutant, self.vintage, self.region)


@dataclass(frozen=True, slots=True)
class Block:
    """Serials ``start`` … ``end`` (inclusive) of one series, held by one account in one status."""

    series: Series
    start: int
    end: int
    valid_until: dt.date | None
    account: str
    status: Status

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    def same_lot(self, other: Block) -> bool:
        """Whether the two could be one block (everything but the range agrees)."""
        return (self.series, self.valid_until, self.account, self.status) == (
            other.series,
            other.valid_until,
            other.account,
            other.status,
        )


@dataclass(frozen=True, slots=True)
class Range:
    """Named serials of one series (a transfer request names them; a transaction lists them)."""

    series: Series
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True, slots=True)
class Entity:
    id: str  # enterprise: 统一社会信用代码 (GB 32100); government: a name the operator gives
    kind: str  # "enterprise" | "government"
    name: str


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    kind: AccountKind
    holder: str  # an Entity id
    state: AccountState
    representatives: frozenset[str]  # platform user names


# -- requests ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Select:
    """Which units: either named ``ranges``, or ``quantity`` units of *instrument* (and, when
    given, pollutant, vintage, region) taken first-in first-out."""

    instrument: Instrument | None = None
    quantity: int | None = None
    pollutant: str | None = None
    vintage: int | None = None
    region: str | None = None
    ranges: tuple[Range, ...] = ()


@dataclass(frozen=True, slots=True)
class Issue:
    account: str
    series: Series
    quantity: int
    source: str  # one of ISSUANCE_SOURCES
    valid_until: dt.date | None = None
    start: int | None = None  # the first serial; by default the next free one of the series


@dataclass(frozen=True, slots=True)
class Transfer:
    source: str
    target: str
    select: Select


@dataclass(frozen=True, slots=True)
class Surrender:
    account: str
    compliance_year: int
    select: Select


@dataclass(frozen=True, slots=True)
class Retire:
    account: str
    target: str  # a retirement account
    select: Select


@dataclass(frozen=True, slots=True)
class Cancel:
    account: str
    target: str  # a cancellation account
    select: Select


@dataclass(frozen=True, slots=True)
class Expire:
    """Mark every held unit whose validity ended before *on* as expired."""

    on: dt.date


@dataclass(frozen=True, slots=True)
class RegisterEntity:
    entity: Entity


@dataclass(frozen=True, slots=True)
class OpenAccount:
    id: str
    kind: AccountKind
    holder: str
    representatives: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SetAccountState:
    account: str
    state: AccountState


@dataclass(frozen=True, slots=True)
class SetRepresentatives:
    account: str
    representatives: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AddOperator:
    username: str


Request = (
    Issue
    | Transfer
    | Surrender
    | Retire
    | Cancel
    | Expire
    | RegisterEntity
    | OpenAccount
    | SetAccountState
    | SetRepresentatives
    | AddOperator
)


@dataclass(frozen=True, slots=True)
class Transaction:
    """One entry of the log: what happened, to which accounts and serials, who did it, why."""

    id: str
    kind: str
    time: dt.datetime
    actor: str
    reason: str
    source: str | None  # the account units leave (or whose state changes)
    target: str | None  # the account units arrive in
    moves: tuple[Range, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def quantity(self) -> int:
        return sum(r.size for r in self.moves)


# -- state ---------------------------------------------------------------------------------
@dataclass
class State:
    """What the log says now. The service loads only the part a request touches (the accounts
    it names, every block of the series it touches), which is all the checks read."""

    entities: dict[str, Entity] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    operators: set[str] = field(default_factory=set)
    blocks: dict[Series, list[Block]] = field(default_factory=dict)  # by start, disjoint

    def add_blocks(self, blocks: Iterable[Block]) -> None:
        for b in blocks:
            bisect.insort(self.blocks.setdefault(b.series, []), b, key=lambda x: x.start)

    def all_blocks(self) -> list[Block]:
        return [b for s in sorted(self.blocks) for b in self.blocks[s]]


@dataclass(frozen=True, slots=True)
class Change:
    """What :func:`apply` did to the blocks (the service writes this diff)."""

    removed: tuple[Block, ...]
    added: tuple[Block, ...]


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
    *extra*, merge neighbours, and report the difference. Only the window of blocks from the
    one before the first range to the one after the last is rewritten."""
    by: dict[Series, list[Range]] = {}
    for r in ranges:
        by.setdefault(r.series, []).append(r)
    windows: dict[Series, tuple[int, int, list[Block]]] = {}
    for s, rs in by.items():
        old = state.blocks.get(s, [])
        lo, hi = min(r.start for r in rs) - 1, max(r.end for r in rs) + 1
        i = max(bisect.bisect_right(old, lo, key=lambda b: b.start) - 1, 0)
        j = bisect.bisect_right(old, hi, key=lambda b: b.start)
        pieces: list[Block] = []
        for b in old[i:j]:
            cuts = [r for r in rs if r.start <= b.end and b.start <= r.end]
            at = b.start
            for r in sorted(cuts, key=lambda r: r.start):
                lo_, hi_ = max(r.start, b.start), min(r.end, b.end)
                if lo_ > at:
                    pieces.append(replace(b, start=at, end=lo_ - 1))
                pieces.append(change(replace(b, start=lo_, end=hi_)))
                at = hi_ + 1
            if at <= b.end:
                pieces.append(replace(b, start=at, end=b.end))
        pieces += [x for x in extra if x.series == s]
        pieces.sort(key=lambda b: b.start)
        merged: list[Block] = []
        for p in pieces:
            if merged and merged[-1].end + 1 == p.start and merged[-1].same_lot(p):
                merged[-1] = replace(merged[-1], end=p.end)
            else:
                merged.append(p)
        windows[s] = (i, j, merged)
    # before the state changes (a refused apply leaves it as it was): the window and the
    # blocks either side of it hold no serial twice
    edges = {s: old[max(i - 1, 0) : i] + m + old[j : j + 1]
             for s, (i, j, m) in windows.items() for old in [state.blocks.get(s, [])]}  # fmt: skip
    raise_refusals(integrity(State(blocks=edges)))
    removed: list[Block] = []
    added: list[Block] = []
    for s, (i, j, merged) in windows.items():
        old = state.blocks.setdefault(s, [])
        window = old[i:j]
        before, after = set(window), set(merged)
        removed += [b for b in window if b not in after]
        added += [b for b in merged if b not in before]
        old[i:j] = merged
    return Change(tuple(removed), tuple(added))


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
