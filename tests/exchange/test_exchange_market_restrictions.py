"""Hubei's emission-rights trade restrictions (hberec FAQ, notes §A2 [V])."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bishui.errors import InputError
from bishui.exchange.instruments import Instrument
from bishui.exchange.market.restrictions import (
    Party,
    TradeUnits,
    check_transfer,
    prefecture,
)

# 东宝区 and 掇刀区 of 荆门市; 潜江市 is a province-administered city (a 市州 of its own)
SELLER = Party("s", "420802", "汉江", "industry", False, True)
BUYER = Party("b", "420804", "汉江", "industry", False, True)
SO2 = TradeUnits(Instrument.EMISSION_RIGHT, "a21026", 1_000)
COD = TradeUnits(Instrument.EMISSION_RIGHT, "w01018", 1_000)


def codes(seller: Party, buyer: Party, trade: TradeUnits) -> list[str]:
    return [r.code for r in check_transfer(seller, buyer, trade)]


def test_prefecture_from_gbt2260() -> None:
    assert prefecture("420802") == "420800"
    assert prefecture("420881") == "420800"  # 钟祥市, a county-level city of 荆门
    assert prefecture("429005") == "429005"  # 潜江市
    assert prefecture("429006") != prefecture("429005")  # 天门 and 潜江 are different 市州


def test_a_trade_within_one_city_and_basin_is_allowed() -> None:
    assert codes(SELLER, BUYER, SO2) == []
    assert codes(SELLER, BUYER, COD) == []


def test_air_within_the_city_water_within_the_basin() -> None:
    qianjiang = replace(BUYER, region="429005")
    assert codes(SELLER, qianjiang, SO2) == ["air_cross_city"]
    assert codes(SELLER, qianjiang, COD) == []  # same basin: water may cross the city line
    assert codes(SELLER, qianjiang, replace(SO2, provincial_approval=True)) == []
    other_basin = replace(BUYER, basin="长江")
    assert codes(SELLER, other_basin, COD) == ["water_cross_basin"]
    assert codes(SELLER, other_basin, SO2) == []
    assert codes(SELLER, replace(BUYER, basin=""), COD) == ["water_cross_basin"]
    assert codes(SELLER, other_basin, replace(COD, provincial_approval=True)) == []


def test_sector_rules() -> None:
    farm = replace(BUYER, sector="agriculture")
    assert codes(SELLER, farm, COD) == ["industry_agriculture"]
    assert codes(replace(SELLER, sector="other"), farm, COD) == []
    power = replace(SELLER, thermal_power=True)
    assert codes(power, BUYER, SO2) == ["thermal_power_air"]
    assert codes(power, BUYER, COD) == []  # water rights are not restricted for power
    assert codes(power, replace(BUYER, thermal_power=True), SO2) == []


def test_non_attainment_areas_may_not_raise_their_total() -> None:
    missing = replace(BUYER, area_attains_targets=False, region="429005")
    assert codes(SELLER, missing, COD) == ["non_attainment_increase"]
    assert codes(replace(SELLER, region="429005", party_id="s2"), missing, COD) == []
    # selling out of a non-attainment area lowers its total: allowed
    assert (
        codes(replace(SELLER, area_attains_targets=False), replace(BUYER, region="420100"), COD)
        == []
    )


def test_all_reasons_are_returned_with_messages() -> None:
    buyer = Party("b", "110105", "海河", "agriculture", True, False)  # Beijing
    out = check_transfer(SELLER, buyer, SO2)
    assert [r.code for r in out] == [
        "outside_province",
        "air_cross_city",
        "industry_agriculture",
        "thermal_power_air",
        "non_attainment_increase",
    ]
    assert out[0].zh == "排污权交易限于省内"
    assert all(r.en for r in out)


def test_other_instruments_and_bad_input() -> None:
    carbon = TradeUnits(Instrument.CARBON_ALLOWANCE, "", 10)
    assert (
        check_transfer(SELLER, Party("b", "110105", "", "agriculture", True, False), carbon) == []
    )
    with pytest.raises(InputError) as e:
        Party("x", "4208", "", "industry", False, True)
    assert e.value.field == "region"
    with pytest.raises(InputError) as e:
        TradeUnits(Instrument.EMISSION_RIGHT, "a34013", 1)
    assert e.value.field == "pollutant"
    with pytest.raises(InputError):
        check_transfer(SELLER, SELLER, SO2)


PARTIES = st.builds(
    Party,
    st.sampled_from(["p", "q"]),
    st.sampled_from(["420802", "420881", "429005", "420100", "110105"]),
    st.sampled_from(["汉江", "长江", ""]),
    st.sampled_from(["industry", "agriculture", "other"]),
    st.booleans(),
    st.booleans(),
)


@given(PARTIES, PARTIES, st.sampled_from(["a21026", "a21002", "w01018", "w21003"]), st.booleans())
def test_approval_only_lifts_the_city_and_basin_rules(
    s: Party, b: Party, pollutant: str, approved: bool
) -> None:
    if s.party_id == b.party_id:
        b = replace(b, party_id=s.party_id + "'")
    trade = TradeUnits(Instrument.EMISSION_RIGHT, pollutant, 1, approved)
    with_approval = set(codes(s, b, replace(trade, provincial_approval=True)))
    without = set(codes(s, b, replace(trade, provincial_approval=False)))
    assert with_approval <= without
    assert without - with_approval <= {"air_cross_city", "water_cross_basin"}
