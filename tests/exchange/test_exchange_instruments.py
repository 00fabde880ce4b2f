"""The exchange's instruments: exact conversion between trading units and registry units."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bishui.errors import InputError
from bishui.exchange.instruments import (
    INSTRUMENTS,
    Instrument,
    from_units,
    instrument,
    right_pollutant,
    to_units,
)


def test_a_permitted_quantity_in_t_is_whole_kilograms() -> None:
    assert to_units(Instrument.EMISSION_RIGHT, "12.345") == 12_345
    assert to_units(Instrument.EMISSION_RIGHT, Decimal("109.5")) == 109_500
    assert from_units(Instrument.EMISSION_RIGHT, 12_345) == Decimal("12.345")
    assert to_units(Instrument.CARBON_ALLOWANCE, "200000") == 200_000


@pytest.mark.parametrize(
    ("inst", "value", "rule"),
    [
        (Instrument.EMISSION_RIGHT, "1.0005", "whole number of kg"),
        (Instrument.CARBON_ALLOWANCE, "0.5", "whole number of tCO2e"),
        (Instrument.ENERGY_SAVING, "-1", ">= 0"),
        (Instrument.ENERGY_SAVING, "NaN", ">= 0"),
        (Instrument.EMISSION_RIGHT, "12 t", "a decimal number"),
    ],
)
def test_a_quantity_that_is_not_whole_units_is_refused_not_rounded(
    inst: Instrument, value: str, rule: str
) -> None:
    with pytest.raises(InputError) as e:
        to_units(inst, value, field="quantity_t")
    assert e.value.field == "quantity_t"
    assert rule in str(e.value)


def test_names_and_codes() -> None:
    assert instrument("carbon_sink") is Instrument.CARBON_SINK
    assert right_pollutant("w01018").name_zh == "化学需氧量"
    assert right_pollutant("a21002").medium == "air"
    with pytest.raises(InputError, match="instrument"):
        instrument("gold")
    with pytest.raises(InputError, match="emission-rights pollutant"):
        right_pollutant("a34013")  # dust is limited by permits but not traded


@given(st.sampled_from(list(Instrument)), st.integers(min_value=0, max_value=10**15))
def test_units_round_trip_exactly(inst: Instrument, units: int) -> None:
    assert to_units(inst, from_units(inst, units)) == units
    assert from_units(inst, units) == INSTRUMENTS[inst].quantum * units
