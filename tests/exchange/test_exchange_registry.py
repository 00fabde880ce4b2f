"""The registry's pure core: serial blocks, FIFO and named transfers, and a worked example of
every refusal code (exchange-and-permits notes §A4: EU transaction-log codes, Kyoto ITL checks,
EPA 40 CFR 73.35 / 73.50 / 97.61)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from exreg_helpers import ALICE, BOB, GOV, OP, A, Book, book, carbon, cod

from bishui.errors import InputError
from bishui.exchange.checks import (
    CODES,
    REGISTRY_CODES,
    Refusal,
    Refused,
    RefusedPermission,
    permit_consistency,
)
from bishui.exchange.registry import (
    AccountKind,
    AccountState,
    Block,
    Cancel,
    Entity,
    Expire,
    Issue,
    OpenAccount,
    Range,
    RegisterEntity,
    Retire,
    Select,
    SetAccountState,
    SetRepresentatives,
    State,
    Status,
    Surrender,
    Transfer,
    balances,
    integrity,
    replay,
    right_holdings,
    series,
)
from bishui.sources.permits import ManagementClass, Permit


def qty(n: int, **kw: object) -> Select:
    return Select(instrument=cod().instrument, quantity=n, **kw)  # type: ignore[arg-type]


def rng(start: int, end: int, s: object = None) -> Select:
    return Select(ranges=(Range(s or cod(), start, end),))  # type: ignore[arg-type]


def refused(bk: Book, req: object, actor: str = ALICE, **kw: object) -> list[str]:
    """The codes *req* is refused with (and the state is unchanged)."""
    before = (dict(bk.state.blocks), dict(bk.state.accounts), len(bk.log))
    with pytest.raises((Refused, RefusedPermission)) as ei:
        bk.do(req, actor, **kw)  # type: ignore[arg-type]
    assert (dict(bk.state.blocks), dict(bk.state.accounts), len(bk.log)) == before
    return [r.code for r in ei.value.refusals]  # type: ignore[union-attr]


# -- blocks --------------------------------------------------------------------------------
def test_issue_allocates_the_next_serials_of_the_series() -> None:
    bk = book(1000)
    t = bk.do(Issue("HB", cod(), 500, "auction"))
    assert t.moves == (Range(cod(), 1001, 1500),)
    assert [(b.account, b.start, b.end) for b in bk.state.blocks[cod()]] == [
        ("HA", 1, 1000),
        ("HB", 1001, 1500),
    ]


def test_transfer_by_quantity_is_fifo_oldest_vintage_then_lowest_serial() -> None:
    bk = book(1000)
    bk.do(Issue("HA", cod(2025), 500, "determination"))
    t = bk.do(Transfer("HA", "HB", qty(700)), ALICE)
    assert t.moves == (Range(cod(2025), 1, 500), Range(cod(2026), 1, 200))
    assert [(b.account, b.start, b.end) for b in bk.state.blocks[cod()]] == [
        ("HB", 1, 200),
        ("HA", 201, 1000),
    ]


def test_a_named_range_splits_the_block_in_three_and_merges_back() -> None:
    bk = book(1000)
    bk.do(Transfer("HA", "HB", rng(400, 599)), ALICE)
    assert [(b.account, b.start, b.end) for b in bk.state.blocks[cod()]] == [
        ("HA", 1, 399),
        ("HB", 400, 599),
        ("HA", 600, 1000),
    ]
    bk.do(Transfer("HB", "HA", rng(400, 599)), BOB)
    assert [(b.account, b.start, b.end) for b in bk.state.blocks[cod()]] == [("HA", 1, 1000)]


def test_surrender_retire_cancel_expire_change_status_never_delete() -> None:
    bk = book(1000)
    bk.do(Issue("HA", carbon(), 10, "determination", valid_until=dt.date(2026, 6, 30)))
    bk.do(Surrender("HA", 2026, qty(100)), ALICE)
    bk.do(Retire("HA", "RET", qty(50)), ALICE)
    bk.do(Cancel("HA", "CAN", qty(25)), ALICE)
    bk.do(Expire(dt.date(2026, 7, 1)), OP, time=dt.datetime(2026, 7, 1))
    got = balances(bk.state)
    assert got[("HA", "surrendered", "emission_right", 2026, "w01018", "420800")] == 100
    assert got[("RET", "retired", "emission_right", 2026, "w01018", "420800")] == 50
    assert got[("CAN", "cancelled", "emission_right", 2026, "w01018", "420800")] == 25
    assert got[("HA", "held", "emission_right", 2026, "w01018", "420800")] == 825
    assert got[("HA", "expired", "carbon_allowance", 2026, "", "420800")] == 10
    assert sum(v for k, v in got.items() if k[2] == "emission_right") == 1000


def test_replay_of_the_log_rebuilds_the_state() -> None:
    bk = book(1000)
    bk.do(Transfer("HA", "HB", qty(300)), ALICE)
    bk.do(Surrender("HB", 2026, qty(100)), BOB)
    again = replay(bk.log)
    assert again.blocks == bk.state.blocks
    assert again.accounts == bk.state.accounts


def test_right_holdings_and_permit_consistency() -> None:
    bk = book(1000)  # 1000 kg COD = 1.000 t
    permit = Permit(
        permit_no=A + "001P",
        version=1,
        uscc=A,
        enterprise="荆门甲化工有限公司",
        management_class=ManagementClass.KEY,
        valid_from=dt.date(2025, 1, 1),
        valid_to=dt.date(2029, 12, 31),
        annual_caps={"w01018": Decimal("1.000")},
    )
    held = right_holdings(bk.state, A, 2026)
    assert held == {"w01018": 1000}
    assert permit_consistency(held, permit) == []
    bk.do(Transfer("HA", "HB", qty(1)), ALICE)
    [r] = permit_consistency(right_holdings(bk.state, A, 2026), permit)
    assert r.code == "permit_mismatch"
    assert "w01018: holds 999 kg, permitted 1000 kg" in r.message
    # a pollutant held but not permitted counts against a permitted 0
    [r] = permit_consistency({"w01018": 1000, "w21003": 5}, permit)
    assert "w21003: holds 5 kg, permitted 0 kg" in r.message


# -- a worked example of every refusal code ---------------------------------------------------
def _closed_target(bk: Book) -> list[str]:
    bk.do(SetAccountState("HB", AccountState.CLOSED))
    return refused(bk, Transfer("HA", "HB", qty(1)))


def _blocked_source(bk: Book) -> list[str]:
    bk.do(SetAccountState("HA", AccountState.BLOCKED))
    codes = refused(bk, Transfer("HA", "HB", qty(1)))
    bk.do(Surrender("HA", 2026, qty(1)), ALICE)  # EU 7025: a blocked account may still surrender
    return codes


def _not_active(bk: Book) -> list[str]:
    bk.do(Surrender("HA", 2026, rng(1, 10)), ALICE)
    return refused(bk, Transfer("HA", "HB", rng(5, 20)))


def _expired(bk: Book) -> list[str]:
    bk.do(Issue("HA", carbon(), 10, "determination", valid_until=dt.date(2026, 6, 30)))
    late = dt.datetime(2026, 7, 1, 8, 0)
    codes = refused(bk, Transfer("HA", "HB", rng(1, 10, carbon())), time=late)
    # by quantity, expired units are not usable: not enough
    more = refused(bk, Transfer("HA", "HB", Select(carbon().instrument, quantity=1)), time=late)
    assert more == ["insufficient_units"]
    return codes


def _two_places_in_state(bk: Book) -> list[str]:
    s = cod()
    bad = State(blocks={s: [Block(s, 1, 10, None, "HA", Status.HELD),
                            Block(s, 5, 20, None, "HB", Status.HELD)]})  # fmt: skip
    codes = [r.code for r in integrity(bad)]
    codes += refused(bk, Transfer("HA", "HB", Select(ranges=(Range(s, 1, 10), Range(s, 5, 6)))))
    return codes


def _permit(bk: Book) -> list[str]:
    p = Permit(A + "001P", 1, A, "甲", ManagementClass.KEY, dt.date(2025, 1, 1),
               dt.date(2029, 12, 31), annual_caps={"w01018": Decimal("0.5")})  # fmt: skip
    return [r.code for r in permit_consistency(right_holdings(bk.state, A, 2026), p)]


EXAMPLES: dict[str, Callable[[Book], list[str]]] = {
    "account_unknown": lambda bk: refused(bk, Transfer("HA", "NOPE", qty(1))),
    "account_closed": _closed_target,
    "account_blocked": _blocked_source,
    "account_kind": lambda bk: refused(bk, Transfer("HA", "RET", qty(1))),
    "same_account": lambda bk: refused(bk, Transfer("HA", "HA", qty(1))),
    "not_representative": lambda bk: refused(bk, Transfer("HA", "HB", qty(1)), BOB),
    "not_operator": lambda bk: refused(bk, Issue("HA", cod(), 1, "auction"), ALICE),
    "units_not_held": lambda bk: refused(bk, Transfer("HA", "HB", rng(990, 1010))),
    "insufficient_units": lambda bk: refused(bk, Transfer("HA", "HB", qty(1001))),
    "unit_not_active": _not_active,
    "unit_expired": _expired,
    "serial_issued_twice": lambda bk: refused(bk, Issue("HB", cod(), 10, "auction", start=995), OP),
    "unit_in_two_accounts": _two_places_in_state,
    "vintage_after_year": lambda bk: (
        bk.do(Issue("HA", cod(2027), 5, "determination")),
        refused(bk, Surrender("HA", 2026, Select(ranges=(Range(cod(2027), 1, 5),)))),
    )[1],
    "account_not_empty": lambda bk: refused(bk, SetAccountState("HA", AccountState.CLOSED), OP),
    "duplicate_id": lambda bk: refused(bk, OpenAccount("HA", AccountKind.HOLDING, A, (ALICE,)), OP),
    "entity_unknown": lambda bk: refused(
        bk, OpenAccount("HX", AccountKind.HOLDING, "91420800398259791X", (ALICE,)), OP
    ),
    "permit_mismatch": _permit,
}


def test_every_code_has_a_worked_example() -> None:
    assert set(EXAMPLES) == set(REGISTRY_CODES)


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_worked_example(code: str) -> None:
    got = EXAMPLES[code](book(1000))
    assert code in got, got


def test_refusals_name_what_failed_in_both_languages() -> None:
    bk = book(1000)
    with pytest.raises(Refused) as ei:
        bk.do(Transfer("HA", "HB", rng(990, 1010)), ALICE)
    [r] = ei.value.refusals
    assert r.message == (
        "one or more units in the serial block are not held by the transferring account: "
        "('emission_right', 'w01018', 2026, '420800') 1001–1010 not issued"
    )
    assert r.message_zh.startswith("转出账户未持有所列全部序列号：")
    assert "[units_not_held]" in str(ei.value)
    for c in CODES.values():
        assert c.message_zh and c.message_en and c.mirrors
    with pytest.raises(KeyError):
        Refusal("no_such_code", "x")


def test_a_refusal_lists_every_failed_check() -> None:
    bk = book(1000)
    bk.do(SetAccountState("HB", AccountState.BLOCKED))
    assert refused(bk, Transfer("HA", "HB", rng(990, 1010))) == [
        "account_blocked",
        "units_not_held",
    ]


# -- role boundaries -----------------------------------------------------------------------
def test_only_representatives_move_an_accounts_units() -> None:
    bk = book(1000)
    for req in (
        Transfer("HA", "HB", qty(1)),
        Surrender("HA", 2026, qty(1)),
        Retire("HA", "RET", qty(1)),
        Cancel("HA", "CAN", qty(1)),
    ):
        for who in (BOB, GOV, OP, "mallory"):
            assert refused(bk, req, who) == ["not_representative"]
        bk.do(req, "alice2")  # the account's second representative may
    # a representative removed is refused from then on; one added may act
    bk.do(SetRepresentatives("HA", (BOB,)))
    assert refused(bk, Transfer("HA", "HB", qty(1)), ALICE) == ["not_representative"]
    bk.do(Transfer("HA", "HB", qty(1)), BOB)


def test_an_unauthorised_actor_learns_nothing_more() -> None:
    # BOB asks for more than HA holds: he hears only that he may not act for HA
    assert refused(book(1000), Transfer("HA", "HB", qty(10**6)), BOB) == ["not_representative"]


def test_only_operators_administer_the_registry() -> None:
    bk = book(1000)
    for req in (
        Issue("HA", cod(), 1, "auction"),
        Expire(dt.date(2027, 1, 1)),
        RegisterEntity(Entity("荆门市财政局", "government", "荆门市财政局")),
        OpenAccount("HZ", AccountKind.HOLDING, A, (ALICE,)),
        SetAccountState("HA", AccountState.BLOCKED),
        SetRepresentatives("HA", (ALICE, BOB)),
    ):
        for who in (ALICE, BOB, GOV):
            assert refused(bk, req, who) == ["not_operator"]
        bk.do(req, OP)
    from bishui.exchange.registry import AddOperator

    assert refused(bk, AddOperator(ALICE), ALICE) == ["not_operator"]
    bk.do(AddOperator("op.zhao"), OP)
    bk.do(Issue("HB", cod(), 1, "auction"), "op.zhao")


# -- input errors --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Transfer("HA", "HB", qty(0)), "quantity"),
        (lambda: Transfer("HA", "HB", Select(quantity=5)), "instrument"),
        (
            lambda: Transfer("HA", "HB", Select(cod().instrument, 5, ranges=rng(1, 2).ranges)),
            "select",
        ),
        (lambda: Transfer("HA", "HB", rng(5, 4)), "ranges"),
        (lambda: Issue("HA", cod(), 10, "gift"), "source"),
        (lambda: Issue("HA", cod(), -1, "auction"), "quantity"),
        (lambda: RegisterEntity(Entity("91420800000000000X", "enterprise", "x")), "entity"),
        (lambda: OpenAccount("HY", AccountKind.HOLDING, A, ("",)), "representatives"),
    ],
)
def test_malformed_requests_are_input_errors(make: Callable[[], object], field: str) -> None:
    with pytest.raises(InputError) as ei:
        book(1000).do(make(), OP)  # type: ignore[arg-type]
    assert ei.value.field == field


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("coal", "", 2026, "420800"), "instrument"),
        (("emission_right", "a34013", 2026, "420800"), "pollutant"),
        (("carbon_allowance", "w01018", 2026, "420800"), "pollutant"),
        (("carbon_allowance", "", 26, "420800"), "vintage"),
        (("carbon_allowance", "", 2026, " "), "region"),
    ],
)
def test_series_are_checked(args: tuple[object, str, int, str], field: str) -> None:
    with pytest.raises(InputError) as ei:
        series(*args)
    assert ei.value.field == field


def test_blocks_are_value_objects() -> None:
    b = Block(cod(), 1, 10, None, "HA", Status.HELD)
    assert b.size == 10 and dataclasses.replace(b, end=1).size == 1


def test_every_code_is_documented_with_what_it_mirrors() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "exchange.md").read_text("utf-8")
    rows = {line.split("|")[1].strip(" `"): line for line in doc.splitlines()
            if line.startswith("| `")}  # fmt: skip
    for code, c in CODES.items():
        assert code in rows, f"{code} is not in docs/exchange.md's check table"
        first = c.mirrors.split(";")[0].split(" (")[0].split(":")[0]
        assert first in rows[code], (code, first)


def test_a_code_is_registered_once_with_one_meaning(monkeypatch: pytest.MonkeyPatch) -> None:
    from bishui.exchange.checks import CheckCode, register_code

    monkeypatch.setattr("bishui.exchange.checks.CODES", dict(CODES))
    mine = CheckCode("hubei_same_city", "鄂政发〔2012〕64号", "跨市交易受限", "same city only")
    register_code(mine)
    register_code(mine)  # the same meaning again is fine
    with pytest.raises(ValueError, match="another meaning"):
        register_code(CheckCode("hubei_same_city", "x", "y", "z"))
    with pytest.raises(ValueError, match="another meaning"):
        register_code(CheckCode("units_not_held", "x", "y", "z"))


def test_a_closed_account_neither_sends_nor_receives() -> None:
    bk = book(1000)
    bk.do(Transfer("HA", "HB", qty(10)), ALICE)
    bk.do(Transfer("HB", "HA", qty(10)), BOB)
    bk.do(SetAccountState("HB", AccountState.CLOSED))
    assert refused(bk, Transfer("HB", "HA", qty(1)), BOB) == ["account_closed"]
    assert refused(bk, Transfer("HA", "HB", qty(1))) == ["account_closed"]
    assert refused(bk, SetAccountState("HB", AccountState.OPEN), OP) == ["account_closed"]
