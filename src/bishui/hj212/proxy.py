"""The PROXY protocol header a TCP load balancer puts before the HJ 212 bytes, sans-IO.

Bytes in, one of three answers out: ``None`` (need more bytes), a :class:`ProxyHeader`
(the client's address and port, or LOCAL: use the socket's own), or
:class:`~bishui.hj212.errors.ProxyHeaderError` naming the rule broken. No sockets, timers or
logging; the gateway (:mod:`bishui.hj212.gateway`) owns those.

Specification: "The PROXY protocol, Versions 1 & 2", W. Tarreau, HAProxy Technologies,
revision 2020/03/05 — haproxy's ``doc/proxy-protocol.txt`` (docs/references.md), cited below
as "PROXY §n":

* §2: both formats fit in the smallest TCP segment a host must take, 576 − 40 = 536 bytes
  (:data:`MAX_V2_LENGTH`); the receiver must not start processing the connection before a
  complete and valid header. Partial headers are tolerated (the recommendation): the bytes are
  kept until the header is whole, within the bounds below.
* §2.1 (version 1): one US-ASCII line ``PROXY <TCP4|TCP6|UNKNOWN> <src> <dst> <sport>
  <dport>\\r\\n``, fields separated by exactly one space, at most 107 bytes with the CRLF
  (:data:`MAX_V1_LENGTH`); no CRLF in the first 107 → invalid; a lone CR or LF never ends the
  line; IPv4 addresses and ports without heading zeroes; for ``UNKNOWN`` the rest of the line
  is ignored and the real connection's addresses are used.
* §2.2 (version 2): the 12-byte signature :data:`SIGNATURE_V2`, then version 2 and a command
  (0 LOCAL, 1 PROXY; others dropped), family and transport (unassigned values rejected), the
  16-bit length of what follows. LOCAL (a health check) uses the real endpoints whatever the
  family; TCP over IPv4 (``\\x11``, 12 address bytes) and over IPv6 (``\\x21``, 36) give the
  client's address; the other valid combinations (UNSPEC, UDP, UNIX) fall back to UNSPEC —
  the real endpoints, as the text allows ("only the UNSPEC protocol byte is mandatory").
  The TLVs after the addresses are skipped, not read (PROXY §2.2: "a receiver may choose to
  skip over and ignore those bytes"); so a PP2_TYPE_CRC32C is not checked.
* §2.2, detection: the signature and version 2 → version 2; ``PROXY`` → version 1; anything
  else is not this protocol and the connection is dropped. Here a mismatch is seen at its
  first byte, not only after 16.
* §5: the header is read only when configured, and only from trusted senders — the gateway's
  ``proxy_protocol`` and ``trusted_proxies`` (docs/hj212.md, "Behind a load balancer").

Only the first :data:`MAX_V2_LENGTH` bytes of what is given are ever looked at, and nothing
after the header: :attr:`ProxyHeader.length` says where the HJ 212 bytes begin.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Final, Literal

from bishui.hj212.errors import ProxyHeaderError

__all__ = [
    "MAX_V1_LENGTH",
    "MAX_V2_LENGTH",
    "SIGNATURE_V2",
    "ProxyHeader",
    "ProxyHeaderReader",
    "parse_header",
]

#: PROXY §2.2: the 12 bytes every version 2 header begins with.
SIGNATURE_V2: Final = b"\r\n\r\n\x00\r\nQUIT\n"
#: PROXY §2.1: "PROXY" and exactly one space.
_PREFIX_V1: Final = b"PROXY "
#: PROXY §2.1: the longest line a receiver must take, CRLF included ("worst case": 107 chars).
MAX_V1_LENGTH: Final = 107
#: PROXY §2: "Both formats are designed to fit in the smallest TCP segment that any TCP/IP host is
#: required to support (576 - 40 = 536 bytes)": a longer version 2 header (16 + length) is refused.
MAX_V2_LENGTH: Final = 536
_FIXED_V2: Final = 16  # signature, version/command, family/transport, length (PROXY §2.2)

#: PROXY §2.2 "In practice, the following protocol bytes are expected": family/transport byte →
#: the address block's size. TCP over IPv4 and IPv6 are read; the rest fall back to UNSPEC.
_ADDRESS_BYTES: Final = {0x11: 12, 0x12: 12, 0x21: 36, 0x22: 36, 0x31: 216, 0x32: 216}

#: PROXY §2.1: four decimal numbers 0–255 without heading zeroes.
_IPV4 = re.compile(rb"(?:0|[1-9][0-9]{0,2})(?:\.(?:0|[1-9][0-9]{0,2})){3}")
#: PROXY §2.1: groups of hexadecimal digits and colons (and the dotted tail of an
#: IPv4-mapped address, as inet_ntop writes it); the rest is checked by ipaddress.
_IPV6 = re.compile(rb"[0-9A-Fa-f:.]{2,45}")
#: PROXY §2.1: a decimal port without heading zeroes.
_PORT = re.compile(rb"0|[1-9][0-9]{0,4}")

Family = Literal["TCP4", "TCP6", "UNKNOWN"]


@dataclass(frozen=True, slots=True)
class ProxyHeader:
    """A complete, valid PROXY protocol header.

    ``source`` and ``destination`` are ``(address, port)`` of the client and of the address it
    connected to, the address in canonical form (``str(ipaddress.ip_address(...))``); both are
    ``None`` when the real connection's endpoints are to be used: the LOCAL command (version 2
    health checks) and ``UNKNOWN`` (version 1) or a family other than TCP over IPv4/IPv6
    (version 2). ``length`` is the header's size in bytes: the protocol carried behind it
    starts there.
    """

    version: Literal[1, 2]
    command: Literal["PROXY", "LOCAL"]
    family: Family
    source: tuple[str, int] | None
    destination: tuple[str, int] | None
    length: int


def parse_header(data: bytes | bytearray) -> ProxyHeader | None:
    """Parse the PROXY header at the start of *data*.

    Returns the header, or ``None`` while *data* is a valid beginning of one that needs more
    bytes. Raises :class:`~bishui.hj212.errors.ProxyHeaderError` as soon as *data* cannot be
    the beginning of a valid header (PROXY §2.1 "Any sequence which does not exactly match the
    protocol must be discarded"). Looks at no byte after the header, and at most
    :data:`MAX_V2_LENGTH` bytes in all.
    """
    if not data:
        return None
    if data[0] == 0x0D:
        return _parse_v2(data)
    if data[0] == 0x50:  # "P"
        return _parse_v1(data)
    raise _not_proxy(data)


def _not_proxy(data: bytes | bytearray) -> ProxyHeaderError:
    return ProxyHeaderError(
        "signature",
        "the connection does not begin with a PROXY protocol header (neither 'PROXY ' nor the "
        f"version 2 signature; PROXY §2.2): {bytes(data[:16])!r}",
    )


def _parse_v1(data: bytes | bytearray) -> ProxyHeader | None:
    n = min(len(data), len(_PREFIX_V1))
    if data[:n] != _PREFIX_V1[:n]:
        raise _not_proxy(data)
    window = bytes(data[:MAX_V1_LENGTH])
    cr, lf = window.find(b"\r"), window.find(b"\n")
    if lf != -1 and (cr == -1 or lf < cr):
        raise ProxyHeaderError(
            "v1_line_end", f"a lone LF at byte {lf + 1} of the PROXY line (PROXY §2.1: CRLF only)"
        )
    if cr == -1 or cr + 1 == len(window):  # no CR yet, or the CR is the last byte seen
        if len(window) >= MAX_V1_LENGTH:
            raise ProxyHeaderError(
                "v1_length",
                f"no CRLF in the first {MAX_V1_LENGTH} bytes of the PROXY line (PROXY §2.1)",
            )
        return None
    if window[cr + 1] != 0x0A:
        raise ProxyHeaderError(
            "v1_line_end", f"a lone CR at byte {cr + 1} of the PROXY line (PROXY §2.1: CRLF only)"
        )
    line, length = window[:cr], cr + 2
    fields = line.split(b" ")
    if fields[1] == b"UNKNOWN":  # PROXY §2.1: the receiver must ignore the rest of the line
        return ProxyHeader(1, "PROXY", "UNKNOWN", None, None, length)
    if fields[1] not in (b"TCP4", b"TCP6"):
        raise ProxyHeaderError(
            "v1_protocol",
            f"protocol {_shown(fields[1])} is not TCP4, TCP6 or UNKNOWN (PROXY §2.1)",
        )
    if len(fields) != 6 or not all(fields):
        raise ProxyHeaderError(
            "v1_syntax",
            "the PROXY line is not PROXY, protocol, two addresses and two ports separated by "
            f"exactly one space (PROXY §2.1): {_shown(line)}",
        )
    family: Family = "TCP4" if fields[1] == b"TCP4" else "TCP6"
    src = _v1_address(fields[2], family, "source")
    dst = _v1_address(fields[3], family, "destination")
    sport = _v1_port(fields[4], "source")
    dport = _v1_port(fields[5], "destination")
    return ProxyHeader(1, "PROXY", family, (src, sport), (dst, dport), length)


def _shown(value: bytes) -> str:
    return repr(value.decode("ascii", "backslashreplace"))


def _v1_address(raw: bytes, family: Family, which: str) -> str:
    try:
        if family == "TCP4":
            if _IPV4.fullmatch(raw):
                return str(ipaddress.IPv4Address(raw.decode("ascii")))
        elif _IPV6.fullmatch(raw):
            return str(ipaddress.IPv6Address(raw.decode("ascii")))
    except ValueError:
        pass
    kind = "an IPv4 address without heading zeroes" if family == "TCP4" else "an IPv6 address"
    raise ProxyHeaderError(
        "v1_address", f"the {which} address {_shown(raw)} is not {kind} ({family}; PROXY §2.1)"
    )


def _v1_port(raw: bytes, which: str) -> int:
    if _PORT.fullmatch(raw):
        port = int(raw)
        if port <= 65535:
            return port
    raise ProxyHeaderError(
        "v1_port",
        f"the {which} port {_shown(raw)} is not a decimal 0–65535 without heading zeroes "
        "(PROXY §2.1)",
    )


def _parse_v2(data: bytes | bytearray) -> ProxyHeader | None:
    n = min(len(data), len(SIGNATURE_V2))
    if data[:n] != SIGNATURE_V2[:n]:
        raise _not_proxy(data)
    if len(data) > 12:
        version, command = data[12] >> 4, data[12] & 0x0F
        if version != 2:
            raise ProxyHeaderError(
                "v2_version", f"version {version} after the signature; only 2 (PROXY §2.2)"
            )
        if command > 1:
            raise ProxyHeaderError(
                "v2_command", f"command {command} is neither LOCAL (0) nor PROXY (1) (PROXY §2.2)"
            )
    if len(data) > 13:
        family, transport = data[13] >> 4, data[13] & 0x0F
        if family > 3 or transport > 2:
            raise ProxyHeaderError(
                "v2_family",
                f"family/transport byte 0x{data[13]:02x}: family 0–3 and transport 0–2 only "
                "(PROXY §2.2)",
            )
    if len(data) < _FIXED_V2:
        return None
    size = int.from_bytes(data[14:16], "big")
    length = _FIXED_V2 + size
    if length > MAX_V2_LENGTH:
        raise ProxyHeaderError(
            "v2_length",
            f"the header would be {length} bytes; at most {MAX_V2_LENGTH} (PROXY §2: it fits "
            "the smallest TCP segment)",
        )
    local = data[12] & 0x0F == 0
    needed = 0 if local else _ADDRESS_BYTES.get(data[13], 0)
    if size < needed:
        raise ProxyHeaderError(
            "v2_length",
            f"length {size} is shorter than the {needed}-byte address block of family/transport "
            f"0x{data[13]:02x} (PROXY §2.2)",
        )
    if len(data) < length:
        return None
    if local:  # PROXY §2.2: the real endpoints; the family and addresses are ignored
        return ProxyHeader(2, "LOCAL", "UNKNOWN", None, None, length)
    if data[13] == 0x11:
        a = bytes(data[16:28])
        src4, dst4 = ipaddress.IPv4Address(a[0:4]), ipaddress.IPv4Address(a[4:8])
        sport, dport = int.from_bytes(a[8:10], "big"), int.from_bytes(a[10:12], "big")
        return ProxyHeader(2, "PROXY", "TCP4", (str(src4), sport), (str(dst4), dport), length)
    if data[13] == 0x21:
        a = bytes(data[16:52])
        src6, dst6 = ipaddress.IPv6Address(a[0:16]), ipaddress.IPv6Address(a[16:32])
        sport, dport = int.from_bytes(a[32:34], "big"), int.from_bytes(a[34:36], "big")
        return ProxyHeader(2, "PROXY", "TCP6", (str(src6), sport), (str(dst6), dport), length)
    return ProxyHeader(2, "PROXY", "UNKNOWN", None, None, length)


class ProxyHeaderReader:
    """Feed a connection's first bytes until the header is whole.

    :meth:`receive_data` keeps what it is given and answers ``None`` (more bytes needed) or the
    header; then :attr:`rest` holds every byte received after the header, untouched, for the
    HJ 212 session. The buffer stays small: a header is at most :data:`MAX_V2_LENGTH` bytes,
    so a reader given more than that without a header has already raised.
    """

    __slots__ = ("_buffer", "header", "rest")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.header: ProxyHeader | None = None
        self.rest = b""

    def receive_data(self, data: bytes) -> ProxyHeader | None:
        """Add *data*; the header once complete (then call no more), else ``None``.

        Raises :class:`~bishui.hj212.errors.ProxyHeaderError` when the bytes so far cannot
        begin a valid header.
        """
        if self.header is not None:
            raise RuntimeError("the PROXY header was already read; pass the bytes on")
        self._buffer += data
        header = parse_header(self._buffer)
        if header is not None:
            self.header = header
            self.rest = bytes(self._buffer[header.length :])
            self._buffer = bytearray()
        return header

    @property
    def buffered(self) -> bytes:
        """The bytes received so far while no header is complete (for a quarantine record)."""
        return bytes(self._buffer[:MAX_V2_LENGTH])
