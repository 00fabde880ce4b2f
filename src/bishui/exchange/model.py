"""The registry's vocabulary: statuses, account kinds and states, series, serial blocks,
entities, accounts, the requests a caller makes, the :class:`Transaction` the log records and
the :class:`State` the log describes. Plain values, no behaviour beyond their own arithmetic;
``bishui.exchange.registry`` plans, checks and applies.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bishui.exchange.instruments import Instrument


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
