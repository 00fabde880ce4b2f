"""履约: status A/B/C/- (Reg. (EU) 2019/1122 Annex XIII, notes §A4), Hubei 2014 Art. 46 (notes
§A1 [V]), offset limits, and the emission-rights finding."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bishui.errors import ConfigError, InputError
from bishui.exchange.market.compliance import (
    Position,
    load_rules,
    parse_rules,
    penalty,
    reconcile,
    rights_finding,
    rule_sets,
)

HUBEI = load_rules("hubei-carbon-2014")


def pos(
    verified: int | None, allowances: int, offsets: int = 0, obligated: bool = True
) -> Position:
    return Position("e1", 2015, obligated, verified, allowances, offsets, 100_000)


def test_the_hubei_2014_rules_as_shipped() -> None:
    assert HUBEI.valid_from == dt.date(2014, 6, 1)
    assert HUBEI.penalty.cap_fen == 15_000_000  # CNY 150,000
    assert (HUBEI.penalty.min_multiple, HUBEI.penalty.max_multiple) == (1, 3)
    assert HUBEI.deduction_multiple == 2
    assert HUBEI.offset_max_share == Fraction(1, 10)
    assert HUBEI.penalty.tag == "V" and HUBEI.offset_tag == "S"


def test_status_codes() -> None:
    assert reconcile(pos(90_000, 90_000), HUBEI).status == "A"
    assert reconcile(pos(90_000, 95_000), HUBEI).status == "A"
    r = reconcile(pos(90_000, 89_000), HUBEI)
    assert (r.status, r.status_zh, r.shortfall) == ("B", "未足额履约", 1_000)
    assert reconcile(pos(None, 90_000), HUBEI).status == "C"
    assert reconcile(pos(None, 0, obligated=False), HUBEI).status_zh == "无义务"


def test_offsets_count_up_to_ten_percent_of_the_initial_allocation() -> None:
    r = reconcile(pos(100_000, 80_000, offsets=12_000), HUBEI)
    assert (r.offset_limit, r.offsets_counted, r.offsets_excess) == (10_000, 10_000, 2_000)
    assert (r.status, r.shortfall) == ("B", 10_000)
    assert reconcile(pos(100_000, 90_000, offsets=10_000), HUBEI).status == "A"


def test_hubei_article_46_penalty_and_deduction() -> None:
    # 1,000 t short at an average price of CNY 25/t: CNY 25,000–75,000; 2,000 t deducted
    p = penalty(1_000, HUBEI, average_price_fen=2_500)
    assert (p.min_fen, p.max_fen, p.deduction) == (2_500_000, 7_500_000, 2_000)
    # 10,000 t short: 1× would be CNY 250,000 — both ends capped at CNY 150,000
    p = penalty(10_000, HUBEI, average_price_fen=2_500)
    assert (p.min_fen, p.max_fen, p.deduction) == (15_000_000, 15_000_000, 20_000)
    assert penalty(0, HUBEI, 2_500).max_fen == 0
    with pytest.raises(InputError) as e:
        penalty(1, HUBEI)
    assert e.value.field == "average_price_fen"


def test_unverified_national_rules_need_consent() -> None:
    assert {"cn-national-ets-2021", "cn-national-ets-2024"} <= set(rule_sets())
    with pytest.raises(ConfigError, match="allow_unverified"):
        load_rules("cn-national-ets-2024")
    n = load_rules("cn-national-ets-2024", allow_unverified=True)
    assert n.penalty.tag == "M"
    # offsets ≤ 5 % of the quantity due
    r = reconcile(pos(100_000, 94_000, offsets=6_000), n)
    assert (r.offset_limit, r.shortfall) == (5_000, 1_000)
    p = penalty(1_000, n, average_price_fen=9_000)
    assert (p.min_fen, p.max_fen, p.deduction) == (45_000_000, 90_000_000, 1_000)
    old = load_rules("cn-national-ets-2021", allow_unverified=True)
    assert (penalty(5, old).min_fen, penalty(5, old).max_fen) == (2_000_000, 3_000_000)


def test_a_rule_file_is_validated(tmp_path: Path) -> None:
    doc = (
        'schema = "bishui.exchange.compliance_rules/1"\nid = "x"\ntitle = "x"\n'
        'instrument = "carbon_allowance"\nvalid_from = 2026-01-01\n'
        '[penalty]\nkind = "{kind}"\nmin_multiple = "3"\nmax_multiple = "1"\n'
        'clause = "c"\ntag = "V"\n[deduction]\nmultiple = "1"\nclause = "c"\ntag = "V"\n'
        '[offsets]\nmax_share = "0.1"\nbasis = "due"\nclause = "c"\ntag = "V"\n'
    )
    p = tmp_path / "r.toml"
    p.write_text(doc.format(kind="price_multiple"), "utf-8")
    with pytest.raises(ConfigError) as e:
        load_rules(p)
    assert e.value.field == "penalty"
    p.write_text(doc.format(kind="lottery"), "utf-8")
    with pytest.raises(ConfigError) as e:
        load_rules(p)
    assert e.value.field == "penalty.kind"
    with pytest.raises(InputError):
        load_rules("eu-ets")


def test_emission_rights_finding() -> None:
    assert rights_finding("u1", "w01018", 2026, 10_000, 10_000) is None
    f = rights_finding("u1", "w01018", 2026, 10_000, 10_500)
    assert f is not None
    assert (f.excess, f.code) == (500, "emissions_above_rights")


@given(
    st.integers(0, 10**7) | st.none(),
    st.integers(0, 10**7),
    st.integers(0, 10**6),
    st.integers(0, 10**5),
)
def test_reconcile_properties(
    verified: int | None, allowances: int, offsets: int, price: int
) -> None:
    r = reconcile(pos(verified, allowances, offsets), HUBEI)
    assert r.offsets_counted + r.offsets_excess == offsets
    assert r.offsets_counted <= 10_000
    if verified is None:
        assert r.status == "C"
    else:
        assert (r.status == "A") == (allowances + r.offsets_counted >= verified)
        assert r.shortfall == max(0, verified - allowances - r.offsets_counted)
        p = penalty(r.shortfall, HUBEI, price)
        assert p.min_fen <= p.max_fen <= 15_000_000
        assert p.deduction == 2 * r.shortfall


def _doc() -> dict[str, object]:
    return {
        "schema": "bishui.exchange.compliance_rules/1",
        "id": "x",
        "title": "x",
        "instrument": "carbon_allowance",
        "valid_from": dt.date(2026, 1, 1),
        "penalty": {
            "kind": "fixed_range",
            "min_cny": "1",
            "max_cny": "2",
            "clause": "c",
            "tag": "V",
        },
        "deduction": {"multiple": "1", "clause": "c", "tag": "V"},
        "offsets": {"max_share": "0.1", "basis": "due", "clause": "c", "tag": "V"},
    }


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("schema",), "v0", "schema"),
        (("title",), "", "title"),
        (("instrument",), "gold", "instrument"),
        (("valid_from",), "2026", "valid_from"),
        (("valid_to",), "2027", "valid_to"),
        (("penalty",), "none", "penalty"),
        (("penalty", "tag"), "X", "penalty.tag"),
        (("penalty", "clause"), "", "penalty.clause"),
        (("penalty", "min_cny"), "3", "penalty"),
        (("penalty", "max_cny"), "0.001", "penalty.max_cny"),
        (("deduction", "multiple"), "-1", "deduction.multiple"),
        (("offsets", "basis"), "emissions", "offsets.basis"),
        (("offsets", "max_share"), "1.5", "offsets.max_share"),
        (("offsets", "max_share"), "ten", "offsets.max_share"),
    ],
)
def test_rule_fields_are_checked(path: tuple[str, ...], value: object, field: str) -> None:
    doc = _doc()
    target: dict[str, object] = doc
    for key in path[:-1]:
        target = target[key]  # type: ignore[assignment]
    target[path[-1]] = value
    with pytest.raises(InputError) as e:
        parse_rules(doc)
    assert e.value.field == field
    assert parse_rules(_doc()).penalty.max_fen == 200
