"""Exact money: amounts in integer fen (分, 0.01 元), a damage case's payment schedule, and the
conserving ledger of a project's funds. Pure: no storage, no clock.

Two invariants, checked by the property tests (``tests/programmes/test_programmes_money.py``):

* a payment schedule conserves: at every step ``due = paid + outstanding`` and
  ``0 <= paid <= due``; a payment beyond what is outstanding is refused, never truncated;
* a fund ledger conserves: for every (project, fund) ``allocated = disbursed + available`` and
  ``available >= 0``; a disbursement beyond the available balance is refused.

Every amount is an ``int`` of fen below :data:`MAX_FEN` (10¹⁵ fen = 10¹³ 元, BIGINT-safe).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from bishui.errors import ConflictError, InputError

MAX_FEN = 10**15
"""Any amount is below this [fen]."""
MAX_INSTALMENTS = 120
"""At most this many instalments in one schedule (ten years monthly)."""


def fen(v: object, field: str, *, positive: bool = True) -> int:
    """An amount in fen from an integer (or integer text); booleans and fractions refused."""
    if isinstance(v, bool) or v is None:
        raise InputError(field, "an integer amount in fen", v)
    try:
        d = Decimal(str(v).strip())
    except (InvalidOperation, ValueError):
        raise InputError(field, "an integer amount in fen", v) from None
    if not d.is_finite() or d != d.to_integral_value():
        raise InputError(field, "an integer amount in fen", v)
    n = int(d)
    if n < (1 if positive else 0):
        raise InputError(field, "a positive amount in fen" if positive else "not negative", v)
    if n >= MAX_FEN:
        raise InputError(field, f"below {MAX_FEN} fen", v)
    return n


def yuan_to_fen(text: str, field: str = "amount") -> int:
    """``"1234.56"`` 元 → 123456 fen; more than two decimals refused (never rounded)."""
    try:
        d = Decimal(str(text).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise InputError(field, "an amount in 元 with at most two decimals", text) from None
    if not d.is_finite() or d != d.quantize(Decimal("0.01")):
        raise InputError(field, "an amount in 元 with at most two decimals", text)
    return fen(int(d * 100), field, positive=False)


def fen_to_yuan(n: int) -> str:
    """123456 → ``"1234.56"`` (exact, two decimals)."""
    sign = "-" if n < 0 else ""
    q, r = divmod(abs(int(n)), 100)
    return f"{sign}{q}.{r:02d}"


# -- a damage case's payment schedule ---------------------------------------------------------
@dataclass(frozen=True)
class Instalment:
    seq: int
    due_on: dt.date
    amount_fen: int
    paid_fen: int = 0

    @property
    def outstanding_fen(self) -> int:
        return self.amount_fen - self.paid_fen


@dataclass(frozen=True)
class Schedule:
    """The instalments of an agreed or adjudged amount, and what has been paid against them."""

    instalments: tuple[Instalment, ...]

    @property
    def due_fen(self) -> int:
        return sum(i.amount_fen for i in self.instalments)

    @property
    def paid_fen(self) -> int:
        return sum(i.paid_fen for i in self.instalments)

    @property
    def outstanding_fen(self) -> int:
        return self.due_fen - self.paid_fen

    def overdue(self, today: dt.date) -> list[Instalment]:
        """Instalments due before *today* and not fully paid."""
        return [i for i in self.instalments if i.due_on < today and i.outstanding_fen > 0]

    def as_dict(self) -> dict[str, object]:
        return {
            "due_fen": self.due_fen, "paid_fen": self.paid_fen,
            "outstanding_fen": self.outstanding_fen,
            "instalments": [{"seq": i.seq, "due_on": i.due_on.isoformat(),
                             "amount_fen": i.amount_fen, "paid_fen": i.paid_fen}
                            for i in self.instalments],
        }  # fmt: skip


def make_schedule(total_fen: int, parts: Iterable[tuple[dt.date, int]]) -> Schedule:
    """A schedule of instalments ``(due date, amount)`` that sum exactly to *total_fen*.

    Dates strictly increase; every amount is positive; at most :data:`MAX_INSTALMENTS`.
    """
    items = list(parts)
    if not items:
        raise InputError("instalments", "at least one instalment", [])
    if len(items) > MAX_INSTALMENTS:
        raise InputError("instalments", f"at most {MAX_INSTALMENTS}", len(items))
    out = []
    last: dt.date | None = None
    for n, (due, amount) in enumerate(items, 1):
        a = fen(amount, f"instalments[{n}].amount_fen")
        if last is not None and due <= last:
            raise InputError(f"instalments[{n}].due_on", "after the previous instalment", due)
        last = due
        out.append(Instalment(n, due, a))
    s = Schedule(tuple(out))
    if s.due_fen != total_fen:
        raise InputError("instalments", f"amounts summing to the settled {total_fen} fen",
                         s.due_fen)  # fmt: skip
    return s


def pay(schedule: Schedule, amount_fen: int) -> Schedule:
    """Apply a payment to the earliest unpaid instalments (oldest first).

    Refused (:class:`ConflictError`) beyond what is outstanding: money received over the
    settled amount is not a payment of this schedule.
    """
    a = fen(amount_fen, "amount_fen")
    if a > schedule.outstanding_fen:
        raise ConflictError(f"payment of {a} fen exceeds the outstanding "
                            f"{schedule.outstanding_fen} fen")  # fmt: skip
    out = []
    for i in schedule.instalments:
        take = min(a, i.outstanding_fen)
        a -= take
        out.append(replace(i, paid_fen=i.paid_fen + take))
    return Schedule(tuple(out))


def schedule_from(data: Mapping[str, object]) -> Schedule:
    """The schedule of :meth:`Schedule.as_dict` (as stored)."""
    items = data.get("instalments")
    assert isinstance(items, list)
    return Schedule(tuple(
        Instalment(int(i["seq"]), dt.date.fromisoformat(i["due_on"]), int(i["amount_fen"]),
                   int(i["paid_fen"])) for i in items
    ))  # fmt: skip


# -- a project's fund ledger --------------------------------------------------------------------
ALLOCATE = "allocate"  # 下达: money assigned to the project from a fund
DISBURSE = "disburse"  # 拨付/支出: money paid out of the allocation for an eligible use
ENTRY_KINDS = (ALLOCATE, DISBURSE)


@dataclass(frozen=True)
class Balance:
    """One (project, fund) balance: ``allocated = disbursed + available``."""

    allocated_fen: int = 0
    disbursed_fen: int = 0

    @property
    def available_fen(self) -> int:
        return self.allocated_fen - self.disbursed_fen


def post(balance: Balance, kind: str, amount_fen: int) -> Balance:
    """The balance after an entry; a disbursement beyond what is available is refused."""
    a = fen(amount_fen, "amount_fen")
    if kind == ALLOCATE:
        if balance.allocated_fen + a >= MAX_FEN:
            raise InputError("amount_fen", f"allocations below {MAX_FEN} fen", a)
        return replace(balance, allocated_fen=balance.allocated_fen + a)
    if kind == DISBURSE:
        if a > balance.available_fen:
            raise ConflictError(f"disbursement of {a} fen exceeds the available "
                                f"{balance.available_fen} fen of the allocation")  # fmt: skip
        return replace(balance, disbursed_fen=balance.disbursed_fen + a)
    raise InputError("kind", f"one of {', '.join(ENTRY_KINDS)}", kind)


def balances(entries: Iterable[tuple[str, str, int]]) -> dict[str, Balance]:
    """Per fund, the balance of entries ``(fund, kind, amount)`` in their order."""
    out: dict[str, Balance] = {}
    for fund, kind, amount in entries:
        out[fund] = post(out.get(fund, Balance()), kind, amount)
    return out
