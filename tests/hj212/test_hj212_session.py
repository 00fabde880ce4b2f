"""Session: framing under every split, noise, reply rules, Appendix C transcripts, fuzz."""

from __future__ import annotations

from hj212_helpers import sample_frames
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui.hj212.codec import Packet, decode, encode
from bishui.hj212.crc import crc_hex
from bishui.hj212.session import (
    Acknowledged,
    AckTimedOut,
    CommandAnswered,
    CommandFinished,
    CommandTimedOut,
    Noise,
    PacketReceived,
    Rejected,
    Session,
)

SAMPLES = sample_frames()
VECTOR = {s["notes_section"]: s["raw"] for s in SAMPLES}


def frame_of(mn: str) -> bytes:
    return next(s["raw"] for s in SAMPLES if f"MN={mn};" in s["frame"])


MN = "010000A8900016F000169DC0"


def by_section(prefix: str) -> bytes:
    return next(raw for sec, raw in VECTOR.items() if sec.startswith(prefix))


def summary(events: list) -> tuple[list, int]:
    """Events without noise, plus the total noise count (noise runs may be cut anywhere)."""
    out, noise = [], 0
    for e in events:
        if isinstance(e, Noise):
            noise += e.count
        elif isinstance(e, PacketReceived):
            out.append(("packet", e.packet, e.raw, e.reassembled))
        elif isinstance(e, Rejected):
            out.append(("rejected", e.reason, e.raw))
        else:
            out.append(e)
    return out, noise


STREAM = (
    b"\x01\x03\x00\x00\x00\x0a\xc5\xcd"  # a Modbus RTU request
    + by_section("C.16 device")
    + b"GET / HTTP/1.1\r\n\r\n"  # a health check
    + by_section("4.2 Real-world")  # MODBUS-swapped CRC: rejected under strict policy
    + by_section("C.50 device 2061 segmented packet 1/2")
    + b"#"
    + by_section("C.50 device 2061 segmented packet 2/2")
    + by_section("C.4 device 1013")
)


def feed(chunks: list[bytes]) -> tuple[list, int, bytes]:
    s = Session()
    events = []
    for c in chunks:
        events += s.receive_data(c)
    return (*summary(events), s.data_to_send())


def test_stream_whole() -> None:
    events, noise, out = feed([STREAM])
    kinds = [e[0] for e in events]
    assert kinds == ["packet", "rejected", "packet", "packet", "packet"]
    assert events[1][1] == "crc_mismatch"
    assert events[3][3] is not None  # reassembled on the second segment
    assert noise == 8 + 18 + 1
    # 1013 is a notice: the platform answers 9013 at once (C.4/C.5)
    assert decode(out).cn == "9013"


def test_every_split_point_same_events() -> None:
    expected = feed([STREAM])
    for k in range(0, len(STREAM) + 1, 7):
        assert feed([STREAM[:k], STREAM[k:]]) == expected, k


def test_byte_at_a_time() -> None:
    expected = feed([STREAM])
    assert feed([STREAM[i : i + 1] for i in range(len(STREAM))]) == expected


def test_every_split_point_of_one_frame() -> None:
    raw = by_section("C.16 device")
    for k in range(len(raw) + 1):
        s = Session()
        ev = s.receive_data(raw[:k]) + s.receive_data(raw[k:])
        assert [type(e) for e in ev] == [PacketReceived], k


def test_acknowledge_only_when_asked_and_only_on_request() -> None:
    # C.16 → 9014 C241 (notes §5; also found independently, §4.1 #20)
    s = Session()
    (ev,) = s.receive_data(by_section("C.16 device"))
    assert isinstance(ev, PacketReceived)
    assert s.data_to_send() == b""  # nothing is sent on receipt
    assert s.acknowledge(ev.packet) == by_section("C.16 platform 9014")
    # Flag=4: no answer wanted
    assert s.acknowledge(Packet.make(st="32", cn="2011", pw="1", mn="m", flag=4)) == b""


def test_transcript_c14_upload_9014() -> None:
    s = Session()
    (ev,) = s.receive_data(by_section("C.14 device 2011"))
    assert s.acknowledge(ev.packet) == by_section("C.14 platform 9014")


def test_transcript_c6_request_9011_9012() -> None:
    platform, device = Session("platform"), Session("device")
    _cmd, raw = platform.send_command(
        "1062", mn=MN, pw="123456", cp="RtdInterval=30", now=0.0, qn="20160801085857223"
    )
    assert raw == by_section("C.6 platform")
    (req,) = device.receive_data(raw)
    assert isinstance(req, PacketReceived) and req.packet.rtd_interval == 30
    a = device.answer_request(req.packet, 1)
    f = device.finish_request(req.packet, 1)
    assert a == by_section("C.6 device 9011") and f == by_section("C.6 device 9012")
    (ans,) = platform.receive_data(a)
    assert isinstance(ans, CommandAnswered) and ans.qn_rtn == 1
    (fin,) = platform.receive_data(f)
    assert isinstance(fin, CommandFinished) and fin.exe_rtn == 1
    assert fin.command.state == "finished"
    assert platform.tick(1000.0) == []  # nothing left pending


def test_transcript_history_request() -> None:
    # C.21/C.48: 2061 request with BeginTime/EndTime → 9011 → data with new QN → 9012
    platform, device = Session("platform"), Session("device")
    _cmd, raw = platform.send_command(
        "2061",
        mn=MN,
        pw="123456",
        now=0.0,
        qn="20160801085857223",
        cp="BeginTime=20160801080000;EndTime=20160801080000",
    )
    assert raw == by_section("C.21 platform 2061")
    (req,) = device.receive_data(raw)
    platform.receive_data(device.answer_request(req.packet))
    (data,) = platform.receive_data(by_section("C.50 device 2061 segmented packet 1/2"))
    assert isinstance(data, PacketReceived) and data.command is not None
    assert data.command.qn == "20160801085857223"
    assert platform.acknowledge(data.packet) == by_section("C.50 platform 9014 for packet 1")
    (fin,) = platform.receive_data(device.finish_request(req.packet))
    assert isinstance(fin, CommandFinished)


def test_transcript_notice_9013_both_ways() -> None:
    # platform 2012 (stop real-time data) → device 9013 (C.11)
    platform, device = Session("platform"), Session("device")
    stop = encode(
        Packet.make(qn="20160801085857223", st="32", cn="2012", pw="123456", mn=MN, flag=5)
    )
    (_ev,) = device.receive_data(stop)
    assert device.data_to_send() == by_section("C.11 device 9013")
    # device 1013 → platform 9013
    platform.receive_data(by_section("C.4 device 1013"))
    assert decode(platform.data_to_send()).cn == "9013"


def test_transcript_segmented_upload() -> None:
    s = Session()
    e1 = s.receive_data(by_section("C.50 device 2061 segmented packet 1/2"))
    e2 = s.receive_data(by_section("C.50 device 2061 segmented packet 2/2"))
    assert s.acknowledge(e1[0].packet) == by_section("C.50 platform 9014 for packet 1")
    assert s.acknowledge(e2[0].packet) == by_section("C.50 platform 9014 for packet 2")
    assert e1[0].reassembled is None
    merged = e2[0].reassembled
    assert merged is not None and set(merged.items()) == {"w00000", "w01001", "w01018"}


def test_command_timeouts_resend_then_give_up() -> None:
    s = Session(timeout=10, retries=3)
    _cmd, raw = s.send_command("1011", mn=MN, pw="123456", now=0.0)
    assert s.tick(5.0) == [] and s.data_to_send() == b""
    for k in range(3):
        assert s.tick(10.0 * (k + 1) + 0.1) == []
        assert s.data_to_send() == raw  # resent
    (ev,) = s.tick(100.0)
    assert isinstance(ev, CommandTimedOut) and ev.stage == "answer"


def test_device_upload_acknowledged_or_timed_out() -> None:
    d = Session("device", timeout=5, retries=1)
    p = Packet.make(
        qn="20160801085000001",
        st="32",
        cn="2051",
        pw="123456",
        mn=MN,
        flag=5,
        cp="DataTime=20160801084000;w01018-Avg=40.1,w01018-Flag=N",
    )
    d.send_upload(p, now=0.0)
    assert d.awaiting_ack() == [p.qn]
    ack = Session().acknowledge(p)
    (ev,) = d.receive_data(ack)
    assert ev == Acknowledged(p.qn, "9014") and d.awaiting_ack() == []
    d.send_upload(p, now=0.0)
    d.tick(6.0)
    assert d.data_to_send() != b""
    (gone,) = d.tick(20.0)
    assert isinstance(gone, AckTimedOut)


def test_heartbeat_2025_answered_at_once() -> None:
    hb = encode(Packet.make(qn="20260101000000000", st="21", cn="9015", pw="1", mn="M", flag=9))
    s = Session()
    (ev,) = s.receive_data(hb)
    reply = decode(s.data_to_send())
    assert (reply.cn, reply.flag, reply.qn, reply.st) == ("9014", 8, "20260101000000000", "91")
    assert s.acknowledge(ev.packet) == b""


def test_wrong_length_does_not_swallow_next_frame() -> None:
    good = by_section("C.16 device")
    seg = good[6:-6]
    wrong = b"##%04d%s%s\r\n" % (len(seg) + 10, seg, crc_hex(seg).encode())
    short = b"##%04d%s%s\r\n" % (len(seg) - 3, seg, crc_hex(seg).encode())
    s = Session()
    ev, _ = summary(s.receive_data(wrong + good + short + good))
    assert [e[0] if isinstance(e, tuple) else e for e in ev] == ["rejected", "packet"] * 2
    assert ev[0][1] == ev[2][1] == "bad_length"


def test_length_counted_in_characters_is_tolerated() -> None:
    seg = "ST=32;CN=3020;PW=1;MN=M;Flag=4;CP=&&i11001-Info=//清洗管路//&&".encode()
    frame = b"##%04d%s%s\r\n" % (len(seg.decode()), seg, crc_hex(seg).encode())
    (ev,) = Session().receive_data(frame)
    assert isinstance(ev, PacketReceived) and ev.packet.get("i11001-Info") == "//清洗管路//"


def test_too_long_and_truncated() -> None:
    s = Session(max_data_length=1024)
    ev = s.receive_data(frame_of("4201003")[:40])
    assert ev == [] or isinstance(ev[0], Rejected)
    s2 = Session(max_data_length=1024)
    big = next(s["raw"] for s in SAMPLES if s["frame"].startswith("##1025"))
    ev2, _ = summary(s2.receive_data(big))
    assert ev2[0][1] == "too_long"
    s3 = Session()
    s3.receive_data(by_section("C.16 device")[:50])
    (t,) = s3.end_of_stream()
    assert isinstance(t, Rejected) and t.reason == "truncated"


def test_crc_policy_per_device() -> None:
    raw = frame_of("4201003")
    policies = {"4201003": "modbus_swapped"}
    s = Session(crc_policy=lambda mn: policies.get(mn or "", "hj212"))
    (ev,) = s.receive_data(raw)
    assert isinstance(ev, PacketReceived) and ev.packet.crc_variant == "modbus_swapped"
    (ev,) = Session().receive_data(raw)
    assert isinstance(ev, Rejected) and ev.reason == "crc_mismatch" and ev.mn == "4201003"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_random_bytes_never_raise_and_memory_is_bounded(chunks: list[bytes]) -> None:
    s = Session(max_data_length=256)
    for c in chunks:
        for e in s.receive_data(c):
            if isinstance(e, Rejected):
                assert e.reason in (
                    "crc_mismatch",
                    "bad_header",
                    "bad_length",
                    "bad_field",
                    "too_long",
                    "truncated",
                    "not_hj212",
                )
        assert s.buffered <= 256 + 12
    s.end_of_stream()
    assert s.buffered == 0


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.sampled_from([f["raw"] for f in SAMPLES] + [b"##", b"#", b"\r\n", b"##0", b"xyz"]),
        max_size=12,
    ),
    st.integers(1, 64),
)
def test_frames_and_debris_never_raise(parts: list[bytes], step: int) -> None:
    s = Session()
    data = b"".join(parts)
    for i in range(0, len(data), step):
        s.receive_data(data[i : i + step])
    assert s.buffered <= s.max_data_length + 12


def test_2005_answers_carry_qn_in_cp() -> None:
    # HJ/T 212-2005 answers: ST=91;CN=9011;…;Flag=0;CP=&&QN=…;QnRtn=1&& (notes §9)
    request = Packet.make(
        st="32", cn="2011", pw="123456", mn="88888880000001", flag=1, cp="QN=20040516010101001"
    )
    d = Session("device", edition="2005")
    answer = decode(d.answer_request(request))
    assert answer.qn is None and answer.flag == 0
    assert answer.cp == "QN=20040516010101001;QnRtn=1" and answer.reply_qn == "20040516010101001"


def _part(pno: int, pnum: int, t: str = "20160801080000") -> bytes:
    return encode(
        Packet.make(
            qn=f"2016080108585753{pno}",
            st="32",
            cn="2061",
            pw="1",
            mn=MN,
            flag=6,
            pnum=pnum,
            pno=pno,
            cp={"DataTime": t, f"w0101{pno}-Avg": "1"},
        )
    )


def test_reassembly_is_bounded() -> None:
    s = Session(max_segment_sets=2, max_segment_parts=3, segment_timeout=5)
    # more parts than the cap: delivered one by one, never reassembled
    events = [e for k in range(1, 5) for e in s.receive_data(_part(k, 4))]
    assert len(events) == 4 and all(e.reassembled is None for e in events)
    # three open sets with room for two: the oldest is dropped, the others complete
    for t in ("20160801080000", "20160801090000", "20160801100000"):
        s.receive_data(_part(1, 2, t))
    done = [
        e.reassembled
        for t in ("20160801090000", "20160801100000", "20160801080000")
        for e in s.receive_data(_part(2, 2, t))
    ]
    assert [d is not None for d in done] == [True, True, False]
    # stale sets are dropped by tick
    s.receive_data(_part(1, 2, "20160801110000"))
    s.tick(100.0)
    (last,) = s.receive_data(_part(2, 2, "20160801110000"))
    assert last.reassembled is None


# -- issue 13: resynchronisation, bounded output, nothing escapes -------------------------

GOOD = by_section("C.16 device")


def _packets(events: list) -> list:
    return [e for e in events if isinstance(e, PacketReceived)]


def test_truncated_frame_then_the_whole_frame_is_found() -> None:
    # row 2: the first 40 bytes of a frame, then (later) the whole frame
    for split in (None, 40, 41, 45):
        s = Session(crc_policy="hj212")
        events = s.receive_data(GOOD[:40])
        if split is None:
            events += s.receive_data(GOOD)
        else:
            events += s.receive_data(GOOD[:split]) + s.receive_data(GOOD[split:])
        # a second feed of the same prefix when split is set: two cut frames, one good
        got = _packets(events)
        assert len(got) == 1 and got[0].raw == GOOD
        assert all(e.reason == "truncated" for e in events if isinstance(e, Rejected))


def test_bare_header_in_noise_does_not_hide_the_next_frame() -> None:
    for debris in (b"##0100", b"##0100abc", b"##9999", b"####0012\r\n", b"##0003abc\r\n#"):
        events = Session().receive_data(debris + GOOD)
        assert [e.raw for e in _packets(events)] == [GOOD], debris
        events = []
        s = Session()
        for b in debris + GOOD:
            events += s.receive_data(bytes([b]))
        assert [e.raw for e in _packets(events)] == [GOOD], debris


def test_repeated_length_headers_emit_bounded_output() -> None:
    # row 4: one 64 KiB read of ##9999… used to produce ~100 MB of rejected raw bytes
    data = (b"##9999" * 11000)[:65536]
    s = Session()
    events = s.receive_data(data)
    emitted = sum(len(e.raw) for e in events if isinstance(e, Rejected))
    emitted += sum(len(e.sample) for e in events if isinstance(e, Noise))
    assert emitted <= len(data)
    assert s.buffered <= s.max_data_length + 12


def test_a_flood_of_hashes_is_noise_counted_fast() -> None:
    # row 3: 1 MiB of '#' is one noise run, not a million events
    s = Session()
    events = s.receive_data(b"#" * (1 << 20))
    assert len(events) == 1 and isinstance(events[0], Noise)
    assert s.noise_since_frame >= (1 << 20) - 2  # "##" kept: a header may follow
    assert [e.raw for e in _packets(s.receive_data(GOOD))] == [GOOD]
    assert s.noise_since_frame == 0  # a good frame resets the run


def _frame(seg: bytes) -> bytes:
    return b"##%04d%s%s\r\n" % (len(seg), seg, crc_hex(seg).encode())


def test_separator_in_a_header_value_is_rejected_not_raised() -> None:
    # row 5: PW=a=b in a 1013 notice; '=' in a 9015 heartbeat's MN
    bad = [
        _frame(b"ST=32;CN=1013;PW=a=b;MN=X;Flag=5;CP=&&&&"),
        _frame(b"QN=20260101000000000;ST=32;CN=9015;PW=1;MN=A=B;Flag=9;CP=&&&&"),
        _frame(b"ST=32;CN=9015;PW=1;MN=A=B;Flag=9;CP=&&&&"),
    ]
    s = Session()
    events = s.receive_data(b"".join(bad) + GOOD)
    kinds = [(type(e).__name__, getattr(e, "reason", None)) for e in events]
    assert kinds == [("Rejected", "bad_field")] * 3 + [("PacketReceived", None)], kinds
    assert s.data_to_send() == b""


def test_lower_case_crc_accepted_by_default() -> None:
    # row 6
    seg = GOOD[6:-6]
    lower = b"##%04d%s%s\r\n" % (len(seg), seg, crc_hex(seg).lower().encode())
    s = Session()
    got = _packets(s.receive_data(lower * 100))
    assert len(got) == 100 and s.rejected == 0


def test_notice_answered_once_with_9013() -> None:
    notice = by_section("C.4 device 1013")
    s = Session()
    (ev,) = s.receive_data(notice)
    out = s.data_to_send()
    assert out.count(b"CN=9013") == 1
    assert s.acknowledge(ev.packet) == b""  # never also a 9014


def test_2025_logger_answered_in_2025_even_if_configured_2017() -> None:
    seg = b"QN=20260101000000000;ST=22;CN=2011;PW=1;MN=M25;Flag=9;CP=&&DataTime=20260101000000&&"
    s = Session(edition=lambda mn: "2017")
    (ev,) = s.receive_data(_frame(seg))
    ack = s.acknowledge(ev.packet)
    assert b"Flag=8;" in ack


def test_a_crc_collision_over_garbage_and_a_frame_does_not_hide_the_frame() -> None:
    # found by the 10^6-case fuzz run: "##0176" + "##8098##0099##2409" + a 152-byte frame
    # ends exactly where 176 says, and its CRC matched the whole by chance (1 in 256)
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from hj212_fuzz import good

    ok = good(241124)
    data = b"##0176##8098##0099##2409" + ok
    events = Session().receive_data(data)
    assert [e.raw for e in _packets(events)] == [ok]


def test_abuse_limits_stop_parsing_a_flood() -> None:
    s = Session(max_rejections=10, max_noise_bytes=1 << 20)
    events = s.receive_data(b"##9999" * 10_000 + GOOD)
    assert s.abusive
    assert sum(isinstance(e, Rejected) for e in events) == 11  # then only counted
    assert not _packets(events)
    s = Session(max_noise_bytes=1000)
    s.receive_data(b"#" * 999 + b"x" * 10)
    assert s.abusive and s.receive_data(GOOD)[0].__class__ is Noise
