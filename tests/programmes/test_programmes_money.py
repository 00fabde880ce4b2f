"""Exact money: fen parsing, the payment schedule and the fund ledger conserve at every step
(property tests, ≤ 30 examples each), and the fund rules' eligible uses and caps."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui.errors import ConfigError, ConflictError, InputError
from bishui.programmes import funds, money

D = dt.date(2026, 1, 1)
AMOUNT = st.integers(min_value=1, max_value=10**9)


def test_fen_and_yuan() -> None:
    assert money.fen("12", "x") == 12 and money.fen(12, "x") == 12
    assert money.yuan_to_fen("1,234.56") == 123456 and money.yuan_to_fen("7") == 700
    assert money.fen_to_yuan(123456) == "1234.56" and money.fen_to_yuan(-5) == "-0.05"
    for bad in (True, None, "1.5", "x", "nan", 0, -1, 10**15):
        with pytest.raises(InputError):
            money.fen(bad, "amount_fen")
    assert money.fen(0, "x", positive=False) == 0
    with pytest.raises(InputError, match="two decimals"):
        money.yuan_to_fen("1.005")  # never rounded


def test_schedule_shape() -> None:
    with pytest.raises(InputError, match="at least one"):
        money.make_schedule(1, [])
    with pytest.raises(InputError, match="after the previous"):
        money.make_schedule(2, [(D, 1), (D, 1)])
    with pytest.raises(InputError, match="summing"):
        money.make_schedule(3, [(D, 1)])
    s = money.make_schedule(300, [(D, 100), (D.replace(month=6), 200)])
    s = money.pay(s, 150)
    assert [i.paid_fen for i in s.instalments] == [100, 50]
    assert [i.seq for i in s.overdue(D.replace(month=7))] == [2]
    with pytest.raises(ConflictError, match="exceeds the outstanding 150"):
        money.pay(s, 151)
    assert money.schedule_from(s.as_dict()) == s


@settings(max_examples=30, deadline=None)
@given(parts=st.lists(AMOUNT, min_size=1, max_size=12), pays=st.lists(AMOUNT, max_size=20))
def test_a_schedule_conserves(parts: list[int], pays: list[int]) -> None:
    total = sum(parts)
    s = money.make_schedule(total, [(D + dt.timedelta(days=30 * i), a)
                                    for i, a in enumerate(parts)])  # fmt: skip
    for p in pays:
        before = s
        try:
            s = money.pay(s, p)
        except ConflictError:
            assert p > before.outstanding_fen and s == before  # refused, nothing changed
            continue
        assert s.paid_fen == before.paid_fen + p
    assert s.due_fen == total == s.paid_fen + s.outstanding_fen
    assert all(0 <= i.paid_fen <= i.amount_fen for i in s.instalments)
    # paid oldest first: no instalment is paid while an earlier one is still open
    open_seen = False
    for i in s.instalments:
        assert not (open_seen and i.paid_fen > 0)
        open_seen = open_seen or i.outstanding_fen > 0


@settings(max_examples=30, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(money.ENTRY_KINDS),
                              AMOUNT), max_size=30))  # fmt: skip
def test_a_ledger_conserves(ops: list[tuple[str, str, int]]) -> None:
    bal: dict[str, money.Balance] = {}
    accepted = []
    for fund, kind, amount in ops:
        b = bal.get(fund, money.Balance())
        try:
            bal[fund] = money.post(b, kind, amount)
            accepted.append((fund, kind, amount))
        except ConflictError:
            assert kind == money.DISBURSE and amount > b.available_fen
        for x in bal.values():
            assert x.allocated_fen == x.disbursed_fen + x.available_fen and x.available_fen >= 0
    assert money.balances(accepted) == bal  # the ledger is its entries replayed


def test_fund_rules() -> None:
    r = funds.load_rules()
    assert "eco_special" in r.funds and r.funds["eco_special"].tag == "choice"
    assert "财资环〔2021〕36号" in r.funds["water_central"].source
    funds.check_disbursement(r, "eco_special", "preparation", 1_000, 10_000, 0)  # 10 % cap
    with pytest.raises(ConflictError, match="capped at 1/10"):
        funds.check_disbursement(r, "eco_special", "preparation", 1, 10_000, 1_000)
    with pytest.raises(InputError, match="eligible use"):
        funds.check_disbursement(r, "damage_compensation", "construction", 1, 10, 0)
    with pytest.raises(InputError, match="fund"):
        r.fund("lottery")


def test_a_deployment_replaces_the_rules(tmp_path: Path) -> None:
    p = tmp_path / "rules.toml"
    p.write_text('edition = "x"\n[uses]\na = ["甲", "a"]\n[[fund]]\ncode = "f"\n'
                 'name = ["某", "f"]\nuses = ["a"]\ncaps = { a = "0.5" }\nsource = "s"\n'
                 'tag = "choice"\n', encoding="utf-8")  # fmt: skip
    assert funds.load_rules(p).funds["f"].uses == ("a",)
    p.write_text(p.read_text(encoding="utf-8").replace('uses = ["a"]', 'uses = ["b"]'), "utf-8")
    with pytest.raises(ConfigError):
        funds.load_rules(p)
    p.write_text('edition = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError):
        funds.load_rules(p)
