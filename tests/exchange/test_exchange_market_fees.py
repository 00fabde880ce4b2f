"""有偿使用费 (财税〔2015〕61号): fee = confirmed quantity × provincial rate; instalments."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bishui.errors import ConfigError, InputError
from bishui.exchange.market.fees import (
    add_months,
    fixed_allocation,
    instalments,
    load_schedule,
    paid_use_fee,
    parse_schedule,
    schedules,
)

ZZ = load_schedule("hn-zhuzhou-2017")


def test_the_zhuzhou_schedule_is_shipped_as_a_labelled_example() -> None:
    # notes §A2 [V]: COD 230, NH3-N 260, SO2 200, NOx 200 CNY/t·a; base prices 20,000 …
    assert "hn-zhuzhou-2017" in schedules()
    assert ZZ.example is True
    assert ZZ.published == dt.date(2017, 10, 26)
    assert ZZ.paid_use == {"w01018": 23_000, "w21003": 26_000, "a21026": 20_000, "a21002": 20_000}
    assert ZZ.base_price == {
        "w01018": 2_000_000,
        "w21003": 4_000_000,
        "a21026": 1_500_000,
        "a21002": 2_500_000,
    }


def test_paid_use_fee() -> None:
    # 12.345 t COD for 5 years at 230 CNY/t·a = 14,196.75 CNY
    assert paid_use_fee(12_345, "w01018", 5, ZZ) == 1_419_675
    # 0.001 t NH3-N for one year at 260 CNY = 0.26 CNY
    assert paid_use_fee(1, "w21003", 1, ZZ) == 26


def test_fixed_allocation_lines_add_up() -> None:
    a = fixed_allocation({"a21002": 50_000, "w01018": 12_345}, 5, ZZ)
    assert [(x.pollutant, x.fee_fen) for x in a.lines] == [
        ("w01018", 1_419_675),
        ("a21002", 5_000_000),  # 50 t × 200 CNY × 5 a = 50,000 CNY
    ]
    assert a.total_fen == 6_419_675


def test_bad_fee_inputs() -> None:
    with pytest.raises(InputError) as e:
        paid_use_fee(1, "a34013", 1, ZZ)
    assert e.value.field == "pollutant"
    with pytest.raises(InputError) as e:
        paid_use_fee(1, "w01018", 0, ZZ)
    assert e.value.field == "years"
    with pytest.raises(InputError) as e:
        load_schedule("hb-2026")
    assert e.value.field == "schedule"


def test_a_schedule_file_must_be_sourced_and_in_whole_fen(tmp_path: Path) -> None:
    text = (
        'schema = "bishui.exchange.fee_schedule/1"\nid = "x"\ntitle = "x"\nregion = "420800"\n'
        'example = false\npublished = 2026-01-01\nsource = "s"\ntag = "S"\n'
        '[paid_use_cny_per_t_a]\nw01018 = "{rate}"\n'
    )
    p = tmp_path / "s.toml"
    p.write_text(text.format(rate="1000.5"), "utf-8")
    assert load_schedule(p).paid_use == {"w01018": 100_050}
    p.write_text(text.format(rate="1.005"), "utf-8")
    with pytest.raises(ConfigError) as e:
        load_schedule(p)
    assert e.value.field == "paid_use_cny_per_t_a.w01018"
    p.write_text(text.format(rate="1").replace('tag = "S"', 'tag = "?"'), "utf-8")
    with pytest.raises(ConfigError, match="tag"):
        load_schedule(p)


def test_instalments_sum_exactly_and_fall_due_monthly() -> None:
    out = instalments(1_000, 3, dt.date(2026, 1, 31), every_months=1)
    assert [(i.number, i.due, i.amount_fen) for i in out] == [
        (1, dt.date(2026, 1, 31), 334),
        (2, dt.date(2026, 2, 28), 333),
        (3, dt.date(2026, 3, 31), 333),
    ]
    assert add_months(dt.date(2027, 12, 15), 12) == dt.date(2028, 12, 15)
    assert add_months(dt.date(2028, 1, 30), 1) == dt.date(2028, 2, 29)


@given(st.integers(0, 10**13), st.integers(1, 60), st.integers(1, 12))
def test_instalments_are_exact(total: int, n: int, every: int) -> None:
    out = instalments(total, n, dt.date(2026, 6, 30), every)
    assert sum(i.amount_fen for i in out) == total
    assert max(i.amount_fen for i in out) - min(i.amount_fen for i in out) <= 1
    assert all(a.due < b.due for a, b in itertools.pairwise(out))


GOOD = {
    "schema": "bishui.exchange.fee_schedule/1",
    "id": "x",
    "title": "x",
    "region": "420800",
    "example": False,
    "published": dt.date(2026, 1, 1),
    "source": "s",
    "tag": "S",
    "paid_use_cny_per_t_a": {"w01018": "1"},
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"schema": "v0"}, "schema"),
        ({"source": " "}, "source"),
        ({"example": "no"}, "example"),
        ({"published": "2026-01-01"}, "published"),
        ({"paid_use_cny_per_t_a": {}}, "paid_use_cny_per_t_a"),
        ({"paid_use_cny_per_t_a": {"w01018": "x"}}, "paid_use_cny_per_t_a.w01018"),
        ({"paid_use_cny_per_t_a": {"w01018": "-1"}}, "paid_use_cny_per_t_a.w01018"),
        ({"paid_use_cny_per_t_a": {"a34013": "1"}}, "paid_use_cny_per_t_a.a34013"),
        ({"base_price_cny_per_t": {"w01018": "0.001"}}, "base_price_cny_per_t.w01018"),
    ],
)
def test_schedule_fields_are_checked(change: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as e:
        parse_schedule({**GOOD, **change})
    assert e.value.field == field


def test_a_schedule_without_a_rate_for_the_pollutant() -> None:
    s = parse_schedule(GOOD)
    with pytest.raises(InputError, match="rate in x"):
        paid_use_fee(1, "a21026", 1, s)
    with pytest.raises(InputError) as e:
        fixed_allocation({"a34013": 1}, 1, s)
    assert e.value.field == "rights.a34013"
