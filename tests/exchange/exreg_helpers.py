"""A small registry to test against: an operator, two enterprises, the government, and one
account of each kind (imported by the exchange registry tests)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

from bishui.exchange.registry import (
    AccountKind,
    AddOperator,
    Entity,
    Issue,
    OpenAccount,
    RegisterEntity,
    Request,
    Series,
    State,
    Transaction,
    apply,
    plan,
    series,
)

OP = "op.wang"  # the registry operator
ALICE = "alice"  # representative of enterprise A
BOB = "bob"  # representative of enterprise B
GOV = "gov.li"  # representative of the government's accounts
A = "9142080029141777XW"  # valid 统一社会信用代码 (uscc.generate)
B = "91420800011524491L"
GOVT = "荆门市生态环境局"
T0 = dt.datetime(2026, 3, 1, 9, 0)


def cod(vintage: int = 2026, region: str = "420800") -> Series:
    return series("emission_right", "w01018", vintage, region)


def carbon(vintage: int = 2026) -> Series:
    return series("carbon_allowance", "", vintage, "420800")


class Book:
    """A pure registry and a clock: ``do`` plans and applies one request, like the service."""

    def __init__(self) -> None:
        self.state = State()
        self.log: list[Transaction] = []
        self._ids = itertools.count(1)
        self._t = itertools.count()

    def time(self) -> dt.datetime:
        return T0 + dt.timedelta(minutes=next(self._t))

    def do(self, req: Request, actor: str = OP, **kw: Any) -> Transaction:
        time = kw.pop("time", None) or self.time()
        tx = plan(self.state, req, tx_id=f"t{next(self._ids)}", time=time, actor=actor, **kw)
        apply(self.state, tx)
        self.log.append(tx)
        return tx


def setup(submit: Callable[..., Any]) -> None:
    """Register the operator, the entities and the accounts through *submit(req, actor)*."""
    submit(AddOperator(OP), OP)
    submit(RegisterEntity(Entity(A, "enterprise", "荆门甲化工有限公司")), OP)
    submit(RegisterEntity(Entity(B, "enterprise", "荆门乙热电有限公司")), OP)
    submit(RegisterEntity(Entity(GOVT, "government", GOVT)), OP)
    submit(OpenAccount("HA", AccountKind.HOLDING, A, (ALICE, "alice2")), OP)
    submit(OpenAccount("HB", AccountKind.HOLDING, B, (BOB,)), OP)
    submit(OpenAccount("RES", AccountKind.RESERVE, GOVT, (GOV,)), OP)
    submit(OpenAccount("RET", AccountKind.RETIREMENT, GOVT, (GOV,)), OP)
    submit(OpenAccount("CAN", AccountKind.CANCELLATION, GOVT, (GOV,)), OP)


def book(issue_a: int = 1000) -> Book:
    """A :class:`Book` set up, with *issue_a* kg of 2026 COD issued into HA."""
    bk = Book()
    setup(lambda req, actor: bk.do(req, actor))
    if issue_a:
        bk.do(Issue("HA", cod(), issue_a, "determination"))
    return bk
