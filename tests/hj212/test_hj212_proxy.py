"""The PROXY protocol header parser (bishui.hj212.proxy), sans-IO: every rule of "The PROXY
protocol, Versions 1 & 2" (haproxy doc/proxy-protocol.txt, 2020/03/05) it enforces, byte-at-a-time
feeding, and hypothesis: it never crashes and never reads past the header."""

from __future__ import annotations

import ipaddress
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui.errors import ProtocolError
from bishui.hj212.errors import PROXY_RULES, ProxyHeaderError
from bishui.hj212.proxy import (
    MAX_V1_LENGTH,
    MAX_V2_LENGTH,
    SIGNATURE_V2,
    ProxyHeader,
    ProxyHeaderReader,
    parse_header,
)

FRAME = b"##0101QN=20260301000000001;ST=22;CN=2011;PW=123456;MN=X;Flag=5;CP=&&&&ABCD\r\n"


def v2(ver_cmd: int, fam: int, body: bytes, length: int | None = None) -> bytes:
    size = len(body) if length is None else length
    return SIGNATURE_V2 + bytes([ver_cmd, fam]) + struct.pack(">H", size) + body


def tcp4(src: str, dst: str, sport: int, dport: int) -> bytes:
    a = ipaddress.IPv4Address
    return a(src).packed + a(dst).packed + struct.pack(">HH", sport, dport)


def tcp6(src: str, dst: str, sport: int, dport: int) -> bytes:
    a = ipaddress.IPv6Address
    return a(src).packed + a(dst).packed + struct.pack(">HH", sport, dport)


def rule_of(data: bytes) -> str:
    with pytest.raises(ProxyHeaderError) as exc:
        parse_header(data)
    assert isinstance(exc.value, ProtocolError)
    return exc.value.rule


# -- version 1 (PROXY §2.1) ------------------------------------------------------------------


def test_the_specifications_version_1_example() -> None:
    # PROXY §2.1: "An example of such a line before an HTTP request"
    line = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
    got = parse_header(line + b"GET / HTTP/1.1\r\n")
    assert got == ProxyHeader(
        1, "PROXY", "TCP4", ("192.168.0.1", 56324), ("192.168.0.11", 443), len(line)
    )
    assert got is not None and got.length == 47


def test_the_longest_lines_the_receiver_must_support() -> None:
    # PROXY §2.1: 56 chars for TCP/IPv4, 104 for TCP/IPv6, 107 for the worst UNKNOWN line
    ffff = ":".join(["ffff"] * 8)
    v4 = b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n"
    v6 = f"PROXY TCP6 {ffff} {ffff} 65535 65535\r\n".encode()
    unknown = f"PROXY UNKNOWN {ffff} {ffff} 65535 65535\r\n".encode()
    assert (len(v4), len(v6), len(unknown)) == (56, 104, MAX_V1_LENGTH)
    assert parse_header(v4) == ProxyHeader(
        1, "PROXY", "TCP4", ("255.255.255.255", 65535), ("255.255.255.255", 65535), 56
    )
    h6 = parse_header(v6)
    assert h6 is not None and h6.source == (str(ipaddress.IPv6Address(ffff)), 65535)
    assert parse_header(unknown) == ProxyHeader(1, "PROXY", "UNKNOWN", None, None, 107)
    # one byte more and the CRLF is not within the first 107
    assert rule_of(f"PROXY UNKNOWN {ffff} {ffff} 65535 655350\r\n".encode()) == "v1_length"


def test_unknown_uses_the_real_connection_and_ignores_the_rest_of_the_line() -> None:
    assert parse_header(b"PROXY UNKNOWN\r\n" + FRAME) == ProxyHeader(
        1, "PROXY", "UNKNOWN", None, None, 15
    )
    assert parse_header(b"PROXY UNKNOWN anything \xff at all\r\n") == ProxyHeader(
        1, "PROXY", "UNKNOWN", None, None, 33
    )


def test_ipv6_forms_and_canonical_addresses() -> None:
    got = parse_header(b"PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::ffff:10.0.0.1 0 9212\r\n")
    assert got is not None
    assert (got.source, got.destination) == (("2001:db8::1", 0), ("::ffff:a00:1", 9212))


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (b"#", "signature"),  # an HJ 212 frame where the header should be
        (FRAME, "signature"),
        (b"PROXZ", "signature"),
        (b"PROXY\t", "signature"),
        (b"GET / HTTP/1.1\r\n", "signature"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "v1_line_end"),  # LF alone
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", "v1_line_end"),  # CR alone
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2" + b" " * 80, "v1_length"),
        (b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "v1_protocol"),
        (b"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "v1_protocol"),
        (b"PROXY \r\n", "v1_protocol"),
        (b"PROXY UNKNOWNX\r\n", "v1_protocol"),
        (b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "v1_syntax"),  # two spaces
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "v1_syntax"),  # a trailing space
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "v1_syntax"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "v1_syntax"),
        (b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", "v1_address"),  # heading zero: octal?
        (b"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", "v1_address"),
        (b"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", "v1_address"),
        (b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n", "v1_address"),  # not the announced family
        (b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "v1_address"),
        (b"PROXY TCP6 ::1 fe80::1%eth0 1 2\r\n", "v1_address"),  # no scope
        (b"PROXY TCP6 ::1 1::2::3 1 2\r\n", "v1_address"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "v1_port"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", "v1_port"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", "v1_port"),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 +2\r\n", "v1_port"),
    ],
)
def test_version_1_rules(data: bytes, rule: str) -> None:
    assert rule_of(data) == rule


# -- version 2 (PROXY §2.2) ------------------------------------------------------------------


def test_haproxy_send_proxy_v2_bytes() -> None:
    # the 28 bytes haproxy's send-proxy-v2 wrote for 172.19.0.1:42578 → 172.19.0.3:80
    raw = bytes.fromhex("0d0a0d0a000d0a515549540a2111000cac130001ac130003a6520050")
    assert parse_header(raw + b"GET / HTTP/1.1\r\n") == ProxyHeader(
        2, "PROXY", "TCP4", ("172.19.0.1", 42578), ("172.19.0.3", 80), 28
    )


def test_version_2_tcp6_and_tlvs_skipped() -> None:
    tlvs = bytes([0x04, 0x00, 0x03]) + b"pad" + bytes([0x02, 0x00, 0x05]) + b"a.com"
    raw = v2(0x21, 0x21, tcp6("2001:db8::7", "::1", 50000, 9212) + tlvs)
    got = parse_header(raw + FRAME)
    assert got == ProxyHeader(2, "PROXY", "TCP6", ("2001:db8::7", 50000), ("::1", 9212), 66)
    assert len(raw) == 16 + 36 + 14 == 66


def test_local_is_a_health_check_on_the_real_connection() -> None:
    # PROXY §2.2: LOCAL → the real endpoints; the family is ignored, the length still skipped
    assert parse_header(v2(0x20, 0x00, b"")) == ProxyHeader(2, "LOCAL", "UNKNOWN", None, None, 16)
    skipped = v2(0x20, 0x11, tcp4("10.0.0.1", "10.0.0.2", 1, 2))
    assert parse_header(skipped + FRAME) == ProxyHeader(2, "LOCAL", "UNKNOWN", None, None, 28)
    short = v2(0x20, 0x21, b"\x00" * 4)  # LOCAL need not carry a whole address block
    assert parse_header(short) == ProxyHeader(2, "LOCAL", "UNKNOWN", None, None, 20)


@pytest.mark.parametrize("fam", [0x00, 0x01, 0x10, 0x12, 0x22, 0x31, 0x32])
def test_other_families_fall_back_to_the_real_connection(fam: int) -> None:
    # PROXY §2.2: UNSPEC, UDP and UNIX are valid; a receiver not reading them uses UNSPEC
    body = b"\x00" * {0x12: 12, 0x22: 36, 0x31: 216, 0x32: 216}.get(fam, 0)
    assert parse_header(v2(0x21, fam, body)) == ProxyHeader(
        2, "PROXY", "UNKNOWN", None, None, 16 + len(body)
    )


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (SIGNATURE_V2[:7] + b"X", "signature"),
        (b"\r\n\r\n\r\n", "signature"),
        (SIGNATURE_V2 + b"\x11", "v2_version"),  # version 1 in the binary form
        (SIGNATURE_V2 + b"\x31", "v2_version"),
        (SIGNATURE_V2 + b"\x22", "v2_command"),
        (SIGNATURE_V2 + b"\x2f", "v2_command"),
        (SIGNATURE_V2 + b"\x21\x41", "v2_family"),
        (SIGNATURE_V2 + b"\x21\x13", "v2_family"),
        (SIGNATURE_V2 + b"\x20\x13", "v2_family"),  # even for LOCAL: unassigned is invalid
        (v2(0x21, 0x11, b"", length=MAX_V2_LENGTH - 15), "v2_length"),
        (v2(0x21, 0x11, b"", length=0xFFFF), "v2_length"),
        (v2(0x21, 0x11, b"\x00" * 11), "v2_length"),  # shorter than its address block
        (v2(0x21, 0x21, b"\x00" * 12), "v2_length"),
    ],
)
def test_version_2_rules(data: bytes, rule: str) -> None:
    assert rule_of(data) == rule


def test_the_length_bound_is_the_specifications_536_bytes() -> None:
    body = tcp4("10.0.0.1", "10.0.0.2", 1, 2) + bytes([0x04]) + struct.pack(">H", 505)
    body += b"\x00" * 505
    assert len(body) == MAX_V2_LENGTH - 16
    got = parse_header(v2(0x21, 0x11, body))
    assert got is not None and got.length == MAX_V2_LENGTH


def test_every_rule_is_listed() -> None:
    assert set(PROXY_RULES) == {
        "signature", "v1_length", "v1_line_end", "v1_syntax", "v1_protocol", "v1_address",
        "v1_port", "v2_version", "v2_command", "v2_family", "v2_length",
    }  # fmt: skip


# -- feeding ---------------------------------------------------------------------------------

HEADERS = [
    b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
    b"PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n",
    b"PROXY UNKNOWN\r\n",
    v2(0x21, 0x11, tcp4("10.1.2.3", "10.0.0.1", 40000, 9212)),
    v2(0x21, 0x21, tcp6("::1", "::2", 3, 4) + b"\x04\x00\x01x"),
    v2(0x20, 0x00, b""),
]


@pytest.mark.parametrize("header", HEADERS)
def test_byte_at_a_time(header: bytes) -> None:
    reader = ProxyHeaderReader()
    for i in range(len(header) - 1):
        assert reader.receive_data(header[i : i + 1]) is None, i
        assert reader.buffered == header[: i + 1]
    got = reader.receive_data(header[-1:])
    assert got == parse_header(header) and got is not None and got.length == len(header)
    assert reader.rest == b"" and reader.buffered == b""
    with pytest.raises(RuntimeError):
        reader.receive_data(b"x")


@pytest.mark.parametrize("header", HEADERS)
def test_every_split_hands_the_frame_on_untouched(header: bytes) -> None:
    stream = header + FRAME + FRAME
    for cut in range(1, len(stream)):
        reader = ProxyHeaderReader()
        got = reader.receive_data(stream[:cut])
        later = stream[cut:]
        if cut < len(header):
            assert got is None
            got, later = reader.receive_data(stream[cut:]), b""
        assert got is not None and got.length == len(header)
        assert reader.rest + later == FRAME + FRAME


def test_a_bad_header_is_refused_at_its_first_wrong_byte() -> None:
    good = b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"
    for data, at in [(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", 30), (b"PRO#", 3), (b"\r\n\r\n\x01", 4)]:
        reader = ProxyHeaderReader()
        for i in range(at):
            assert reader.receive_data(data[i : i + 1]) is None
        with pytest.raises(ProxyHeaderError):
            reader.receive_data(data[at : at + 1])
    assert parse_header(good) is not None


def test_a_line_without_crlf_is_refused_at_byte_107() -> None:
    reader = ProxyHeaderReader()
    data = b"PROXY UNKNOWN " + b"x" * 200
    for i in range(MAX_V1_LENGTH - 1):
        assert reader.receive_data(data[i : i + 1]) is None
    with pytest.raises(ProxyHeaderError) as exc:
        reader.receive_data(data[MAX_V1_LENGTH - 1 : MAX_V1_LENGTH])
    assert exc.value.rule == "v1_length"
    assert len(reader.buffered) == MAX_V1_LENGTH


# -- hypothesis ------------------------------------------------------------------------------

ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)
port = st.integers(0, 65535)
tlvs = st.lists(
    st.tuples(st.integers(0, 255), st.binary(max_size=40)).map(
        lambda t: bytes([t[0]]) + struct.pack(">H", len(t[1])) + t[1]
    ),
    max_size=4,
).map(b"".join)


@st.composite
def headers(draw: st.DrawFn) -> tuple[bytes, ProxyHeader]:
    kind = draw(st.sampled_from(["v1-4", "v1-6", "v2-4", "v2-6", "local"]))
    six = kind.endswith("6")
    src, dst = draw(ipv6 if six else ipv4), draw(ipv6 if six else ipv4)
    sport, dport = draw(port), draw(port)
    family = "TCP6" if six else "TCP4"
    if kind.startswith("v1"):
        raw = f"PROXY {family} {src} {dst} {sport} {dport}\r\n".encode()
        return raw, ProxyHeader(1, "PROXY", family, (src, sport), (dst, dport), len(raw))  # type: ignore[arg-type]
    if kind == "local":
        raw = v2(0x20, draw(st.sampled_from([0x00, 0x11, 0x21])), draw(tlvs))
        return raw, ProxyHeader(2, "LOCAL", "UNKNOWN", None, None, len(raw))
    body = (tcp6 if six else tcp4)(src, dst, sport, dport) + draw(tlvs)
    raw = v2(0x21, 0x21 if six else 0x11, body)
    return raw, ProxyHeader(2, "PROXY", family, (src, sport), (dst, dport), len(raw))  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(headers(), st.binary(max_size=300), st.data())
def test_a_header_then_anything_is_read_to_its_end_and_no_further(
    case: tuple[bytes, ProxyHeader], tail: bytes, data: st.DataObject
) -> None:
    raw, expected = case
    assert parse_header(raw + tail) == expected == parse_header(raw)
    # in random chunks through the reader: the tail comes out untouched
    stream = raw + tail
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    reader = ProxyHeaderReader()
    got = None
    start = 0
    for cut in [*cuts, len(stream)]:
        got = reader.receive_data(stream[start:cut])
        start = cut
        if got is not None:
            break
    assert got == expected
    assert reader.rest + stream[start:] == tail


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.binary(max_size=600), st.binary(max_size=200).map(lambda b: b"PROXY " + b),
                 st.binary(max_size=200).map(lambda b: SIGNATURE_V2 + b)))  # fmt: skip
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    try:
        got = parse_header(data)
    except ProxyHeaderError as exc:
        assert exc.rule in PROXY_RULES
        return
    if got is not None:
        assert got.length <= min(len(data), MAX_V2_LENGTH)
        assert parse_header(data[: got.length]) == got  # the bytes after it do not matter
    else:  # more bytes needed: only while the input is shorter than the longest header
        assert len(data) < MAX_V2_LENGTH
