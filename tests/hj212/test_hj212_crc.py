"""CRC: HJ 212-2017 Appendix A, the variants of notes §3.2, and the fast table form."""

from __future__ import annotations

import pytest
from hj212_helpers import sample_frames
from hypothesis import given
from hypothesis import strategies as st

from bishui.errors import InputError
from bishui.hj212.crc import (
    TABLE,
    check,
    crc_hex,
    hj212_crc,
    hj212_crc_reference,
    matching_variant,
    modbus_crc,
    parse_policy,
)

APPENDIX_A = (
    b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;"
    b"Flag=5;CP=&&RtdInterval=30&&"
)


def test_appendix_a_example() -> None:
    # HJ 212-2017 Appendix A [STD17 p.20]: ##0101…1C80; MODBUS would give 0759 (notes §3)
    assert len(APPENDIX_A) == 101
    assert crc_hex(APPENDIX_A) == "1C80"
    assert hj212_crc_reference(APPENDIX_A) == 0x1C80
    assert modbus_crc(APPENDIX_A) == 0x0759


def test_empty_and_zero_padding() -> None:
    assert hj212_crc(b"") == 0xFFFF  # notes §3.1
    seg = (
        b"QN=20160801085857223;ST=32;CN=1013;PW=123456;MN=010000A8900016F000169DC0;"
        b"Flag=5;CP=&& PolId=w01018&&"
    )
    assert crc_hex(seg) == "0000"  # C.4 with the printed space: zero-padded to 4 digits


def test_only_256_values() -> None:
    # notes §3.1: after ≥ 1 byte the CRC is an entry of the table; low byte in 8 values
    assert {t & 0xFF for t in TABLE} == {0x00, 0x01, 0x40, 0x41, 0x80, 0x81, 0xC0, 0xC1}


@given(st.binary(max_size=2000))
def test_fast_equals_reference(data: bytes) -> None:
    assert hj212_crc(data) == hj212_crc_reference(data)


@pytest.mark.parametrize("sample", sample_frames(), ids=lambda s: s["frame"][6:40])
def test_sample_frames(sample: dict) -> None:
    raw = sample["raw"]
    n = int(raw[2:6])
    seg, crc = raw[6 : 6 + n], raw[6 + n : 10 + n]
    assert crc_hex(seg) == sample["expected_crc"]
    verdict = sample["crc_verdict"]
    if verdict == "hj212":
        assert check(seg, crc, "hj212_any_case")
        assert check(seg, crc, "hj212")  # either case (issue 13)
        assert check(seg, crc.lower(), "hj212") and check(seg, crc.upper(), "hj212")
    elif verdict == "modbus_swapped":
        assert not check(seg, crc, "hj212_any_case")
        assert matching_variant(seg, crc, parse_policy("modbus_swapped")) == "modbus_swapped"
    else:
        assert not check(seg, crc, "hj212_any_case")
        assert not check(seg, crc, "modbus_swapped")
        assert check(seg, crc, "none")


def test_plain_modbus_sample() -> None:
    # notes §4.2 H: linqiu126/hcu test data is plain CRC-16/MODBUS, high byte first
    seg = b"QN=20170516010101001;ST=22;CN=1061;PW=123456;MN=ABCDEFG1234567;Flag=3;CP=&&&&"
    assert not check(seg, b"77E5", "hj212")
    assert check(seg, b"77E5", "modbus")
    assert check(seg, b"77E5", "hj212,modbus")


def test_bad_policy_names_the_field() -> None:
    with pytest.raises(InputError) as e:
        parse_policy("crc32")
    assert e.value.field == "crc_policy"


def test_policy_may_be_a_list() -> None:
    seg = b"QN=20170516010101001;ST=22;CN=1061;PW=123456;MN=ABCDEFG1234567;Flag=3;CP=&&&&"
    assert check(seg, b"77E5", ["hj212", "modbus"])
    assert matching_variant(seg, crc_hex(seg).encode(), parse_policy(["modbus_swapped", "hj212"]))
