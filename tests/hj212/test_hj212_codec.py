"""Codec: the notes' sample frames, round trips, editions, typed CP accessors, bad frames."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hj212_helpers import sample_frames
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui.errors import InputError
from bishui.hj212.codec import Packet, decode, decode_segment, encode, flag_for, merge_segments
from bishui.hj212.errors import FrameError
from bishui.hj212.tables import commands, pollutants

SAMPLES = sample_frames()


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s["frame"][6:40])
def test_samples_decode_as_documented(sample: dict) -> None:
    raw = sample["raw"]
    if sample["crc_verdict"] == "hj212":
        p = decode(raw, crc_policy="hj212_any_case")
        if raw[-6:-2] == raw[-6:-2].upper():
            assert decode(raw) == p  # strict policy accepts the upper-case ones
            assert encode(p) == raw  # canonical frames re-encode byte for byte
        else:
            # issue 13: the default policy accepts the same 16-bit value in lower case
            assert decode(raw) == p
            assert encode(p, crc_variant="hj212_lower") == raw
    elif sample["crc_verdict"] == "modbus_swapped":
        with pytest.raises(FrameError) as e:
            decode(raw)
        assert e.value.reason == "crc_mismatch"
        assert e.value.mn is not None
        p = decode(raw, crc_policy="modbus_swapped")
        assert p.crc_variant == "modbus_swapped"
    else:
        # the jsonl calls every other frame "invalid"; one of them (notes §4.2 H, 77E5) is in
        # fact plain CRC-16/MODBUS (tested in test_hj212_crc), so "modbus" is left out here
        with pytest.raises(FrameError) as e:
            decode(raw, crc_policy="hj212_any_case,modbus_swapped")
        assert e.value.reason == "crc_mismatch"
        decode(raw, crc_policy="none")  # parseable once CRC checking is off


def test_appendix_c16_minute_data() -> None:
    # HJ 212-2017 Appendix C.16 (notes §5): 2051 minute data
    raw = next(s["raw"] for s in SAMPLES if "C.16 device" in s["notes_section"])
    p = decode(raw)
    assert (p.qn, p.st, p.cn, p.pw, p.flag) == ("20160801085000001", "32", "2051", "123456", 5)
    assert p.edition == "2017" and p.ack_requested and not p.is_segment
    assert p.data_time == dt.datetime(2016, 8, 1, 8, 40)
    items = p.items()
    assert list(items) == ["w00000", "w01001", "w01018"]
    assert items["w00000"].cou == Decimal("10.5")
    assert items["w01018"].raw("Avg") == "40.1"
    assert items["w01001"].flag == "N"
    assert p.values("Avg") == {
        "w00000": Decimal("17.5"),
        "w01001": Decimal("7.5"),
        "w01018": Decimal("40.1"),
    }
    assert p.flags() == {"w00000": "N", "w01001": "N", "w01018": "N"}
    assert p.cp_dict["w01018-Max"] == "40.1"


def test_c14_suffix_fields() -> None:
    raw = next(s["raw"] for s in SAMPLES if "C.14 device 2011" in s["notes_section"])
    it = decode(raw).items()["w01018"]
    assert it.sample_time == dt.datetime(2016, 8, 1, 7, 0)
    assert it.rtd == Decimal("2.2") and it.eflag == "A01"


def test_editions() -> None:
    by_flag = {s["raw"]: decode(s["raw"], crc_policy="none") for s in SAMPLES}
    eds = {p.flag: p.edition for p in by_flag.values()}
    assert eds[None] == "2005" and eds[3] == "2005"  # no Flag, or version bits 000000
    assert eds[4] == eds[5] == eds[7] == "2017"
    assert eds[8] == eds[9] == "2025"
    assert flag_for("2017", ack=True) == 5 and flag_for("2025", ack=True) == 9
    assert flag_for("2017", ack=True, segmented=True) == 7 and flag_for("2005") == 0


def test_2005_codes_map_to_2017() -> None:
    seg = (
        "ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817;"
        "B01-Rtd=36.91;011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&"
    )
    p = decode_segment(seg.encode())
    assert p.edition == "2005" and p.qn is None
    assert {c: it.code_2017 for c, it in p.items().items()} == {
        "B01": "w00000",
        "011": "w01018",
        "060": "w21003",
    }


def test_2005_answer_qn_inside_cp() -> None:
    p = decode_segment(
        b"ST=91;CN=9011;PW=123456;MN=88888880000001;Flag=0;CP=&&QN=20040516010101001;QnRtn=1&&"
    )
    assert p.reply_qn == "20040516010101001" and p.qn_rtn == 1


def test_segmented_c50_reassembly() -> None:
    parts = [decode(s["raw"]) for s in SAMPLES if "segmented packet" in s["notes_section"]]
    assert [(p.pnum, p.pno, p.flag) for p in parts] == [(2, 1, 7), (2, 2, 7)]
    merged = merge_segments(parts[::-1])
    assert merged.pnum is None and merged.flag == 5
    assert list(merged.items()) == ["w00000", "w01001", "w01018"]
    assert merged.cp.count("DataTime=") == 1


def test_backfill_marker_2025() -> None:
    p = Packet.make(
        st="22",
        cn="2061",
        pw="123456",
        mn="M1",
        flag=9,
        rf="1",
        qn="20260101000000000",
        cp={"DataTime": "20260101000000", "a34004-Avg": "35", "a34004-Flag": "N"},
    )
    q = decode(encode(p))
    assert q == p and q.is_backfill and q.edition == "2025"
    assert q.cp == "DataTime=20260101000000;a34004-Avg=35,a34004-Flag=N"


def test_chinese_log_counts_utf8_bytes() -> None:
    p = Packet.make(
        st="32",
        cn="3020",
        pw="123456",
        mn="010000A8900016F000169DC0",
        flag=4,
        qn="20160801085857223",
        cp={"DataTime": "20160801085857", "PolId": "w01018", "i11001-Info": "//清洗管路//"},
    )
    raw = encode(p)
    n = int(raw[2:6])
    assert n == len(raw) - 12 and n != len(raw.decode()) - 12
    assert decode(raw) == p


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"hello", "not_hj212"),
        (b"##01", "truncated"),
        (b"##0x87QN=1&&&&0000\r\n", "bad_length"),
        (b"##9000" + b"x" * 20, "too_long"),
        (b"##0010abcdefghij1234XX", "bad_length"),
        (b"##0010abcdefghij12", "truncated"),
        (b"##0010abcdefghij0000\r\n", "crc_mismatch"),
    ],
)
def test_bad_frames(raw: bytes, reason: str) -> None:
    with pytest.raises(FrameError) as e:
        decode(raw)
    assert e.value.reason == reason


@pytest.mark.parametrize(
    ("seg", "reason"),
    [
        (b"ST=32;CN=2011;PW=1;MN=X;Flag=5", "bad_header"),
        (b"ST=32;CN=2011;PW=1;Flag=5;CP=&&&&", "bad_header"),
        (b"ST=32;CN=2011;PW=1;MN=X;Flag=x;CP=&&&&", "bad_field"),
        (b"ST=32;CN=2011;PW=1;MN=X;Flag=300;CP=&&&&", "bad_field"),
        (b"ST=32;CN=2011;PW=1;MN=X;Flag=7;PNUM=2;CP=&&&&", "bad_field"),
        (b"ST=32;CN=2011;PW=1;MN=X;Flag=4;CP=&&DataTime=2016;a-Rtd=1&&", "bad_field"),
        (b"ST=32;CN=2011;PW=1;MN=X;Flag=4;CP=&&a-Rtd=1,oops&&", "bad_field"),
        (b"ST=32;CN=2011;PW=1;MN=X;Flag=4;CP=&&\xff&&", "bad_header"),
    ],
)
def test_bad_segments(seg: bytes, reason: str) -> None:
    from bishui.hj212.crc import crc_hex

    frame = b"##%04d%s%s\r\n" % (len(seg), seg, crc_hex(seg).encode())
    with pytest.raises(FrameError) as e:
        decode(frame)
    assert e.value.reason == reason


def test_standard_typos_tolerated() -> None:
    # C.22/C.48: comma between QN and ST; C.19: "Flag=5CP=&&" is not tolerated by the
    # header grammar (the value would be "5CP"), but the comma case is.
    p = decode_segment(b"QN=20160801085857534,ST=32;CN=2061;PW=123456;MN=X;Flag=5;CP=&&&&")
    assert p.qn == "20160801085857534" and p.st == "32"
    p = decode_segment(
        b"QN=1;ST=32;CN=2061;PW=1;MN=X;Flag=5;CP=&&BeginTime=20160801080000,EndTime=20160801080000&&"
    )
    assert p.begin_time == p.end_time == dt.datetime(2016, 8, 1, 8)


def test_encode_rejects_separators() -> None:
    with pytest.raises(InputError):
        encode(Packet.make(st="32", cn="2011", pw="1", mn="a;b"))
    with pytest.raises(InputError):
        Packet.make(st="32", cn="2011", pw="1", mn="m", cp={"w01018-Rtd": "1,2"})


def test_code_tables() -> None:
    assert commands()["2051"].device_sends == "upload"
    assert commands()["9015"].device_sends == "heartbeat"
    assert pollutants()["w01018"].name_zh == "化学需氧量"
    assert pollutants()["a34004"].unit == "纳克/立方米"  # as printed in Appendix B (sic)
    assert len([c for c in pollutants() if c[0] in "wa"]) == 186  # 184 + a05024 + w01003


# -- property tests ---------------------------------------------------------------------

_text = st.text(
    alphabet=st.characters(blacklist_characters=";,=&\r\n", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=12,
)
_value = st.text(
    alphabet=st.characters(blacklist_characters=";,", blacklist_categories=("Cs",)), max_size=12
)
_key = _text.filter(lambda k: k.strip() not in ("DataTime", "BeginTime", "EndTime"))
_time = st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2099, 1, 1)).map(
    lambda t: t.strftime("%Y%m%d%H%M%S")
)
_group = st.lists(st.tuples(_key, _value), min_size=1, max_size=4).map(tuple)
_time_group = st.tuples(st.sampled_from(["DataTime", "BeginTime", "EndTime"]), _time).map(
    lambda kv: (kv,)
)


@st.composite
def packets(draw: st.DrawFn, cn: str) -> Packet:
    seg = draw(st.booleans())
    pnum = draw(st.integers(2, 20)) if seg else None
    return Packet.make(
        qn=draw(st.none() | st.from_regex(r"\A[0-9]{17}\Z")),
        st=draw(st.sampled_from(["21", "22", "31", "32", "91", "80"])),
        cn=cn,
        pw=draw(_text),
        mn=draw(_text),
        flag=draw(st.none() | st.integers(0, 255)),
        pnum=pnum,
        pno=None if pnum is None else draw(st.integers(1, pnum)),
        cp=draw(st.lists(_group | _time_group, max_size=6)),
    )


@pytest.mark.parametrize("cn", sorted(commands()))
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_round_trip_every_cn(cn: str, data: st.DataObject) -> None:
    p = data.draw(packets(cn))
    raw = encode(p)
    assert decode(raw) == p
    assert encode(decode(raw)) == raw


def test_data_flag_names_in_both_languages() -> None:
    """HJ 212-2017 Table 8 (2025 the same) and the 2005 list: the Chinese names the ingest
    checks against, each with its English (the table file's ``meaning`` column)."""
    from bishui.hj212.tables import data_flag_names, data_flags

    names = data_flag_names()
    assert {f: zh for f, (zh, _en) in names.items()} == data_flags()
    assert names["F"] == ("仪器仪表停运", "instrument stopped")
    assert data_flag_names("2025") == names
    assert data_flag_names("2005")["F"] == ("排放源停运", "emission source stopped")
    assert "B" not in data_flag_names("2005")
