"""Errors of the HJ 212 layer.

::

    bishui.errors.ProtocolError
    ├── FrameError        one frame broke the protocol; ``reason`` is a stable code
    └── ProxyHeaderError  a connection's PROXY protocol header broke its specification
                          (bishui.hj212.proxy); ``rule`` is a stable code

Reason codes (``FrameError.reason``, ``Rejected.reason``, the CLI's ``error``):

===============  ==============================================================================
crc_mismatch     the CRC does not match the data segment under the device's CRC policy
bad_header       the data segment lacks a required field (ST, CN, PW, MN, ``CP=&&…&&``)
                 or is not UTF-8
bad_length       the length field is not 4 digits, or the frame does not end with CR LF where
                 the length says it must
bad_field        a field breaks its rule (Flag not 0–255, PNUM/PNO not integers, a CP item
                 without ``=``, a DataTime/BeginTime/EndTime that is not a valid time …)
too_long         the declared data-segment length exceeds the configured maximum
truncated        the input ended inside a frame
not_hj212        the bytes are not an HJ 212 frame at all (no ``##``)
unknown_mn       (gateway) the MN is not in the registry
bad_password     (gateway) the PW does not match the registry
throttled        (gateway) the PW was not checked: too many wrong ones for this MN lately
suppressed       (gateway) a summary: this many rejections of one address were counted, not stored
proxy_header     (gateway, ``proxy_protocol`` on) the connection did not begin with a valid PROXY
                 protocol header within ``frame_timeout``; the message names the rule broken
proxy_untrusted  (gateway, ``proxy_protocol`` on) a connection from an address not in
                 ``trusted_proxies``: refused before anything is read (counted, not stored)
===============  ==============================================================================

Rules of ``ProxyHeaderError.rule`` ("The PROXY protocol, Versions 1 & 2", haproxy
doc/proxy-protocol.txt; :mod:`bishui.hj212.proxy`):

============  ==============================================================================
signature     neither ``PROXY `` (version 1) nor the version 2 signature (§2.2)
v1_length     no CRLF within the first 107 bytes (§2.1)
v1_line_end   a lone CR or LF (§2.1)
v1_syntax     not six fields separated by exactly one space (§2.1)
v1_protocol   the protocol is not TCP4, TCP6 or UNKNOWN (§2.1)
v1_address    an address is not of the announced family, or has heading zeroes (§2.1)
v1_port       a port is not 0–65535 without heading zeroes (§2.1)
v2_version    the version after the signature is not 2 (§2.2)
v2_command    the command is neither LOCAL nor PROXY (§2.2)
v2_family     an unassigned address family or transport (§2.2)
v2_length     longer than 536 bytes (§2), or shorter than the address block (§2.2)
============  ==============================================================================
"""

from __future__ import annotations

from bishui.errors import ProtocolError

REASONS: tuple[str, ...] = (
    "crc_mismatch",
    "bad_header",
    "bad_length",
    "bad_field",
    "too_long",
    "truncated",
    "not_hj212",
    "unknown_mn",
    "bad_password",
    "throttled",
    "suppressed",
    "proxy_header",
    "proxy_untrusted",
)

#: ``ProxyHeaderError.rule`` values (the second table above).
PROXY_RULES: tuple[str, ...] = (
    "signature",
    "v1_length",
    "v1_line_end",
    "v1_syntax",
    "v1_protocol",
    "v1_address",
    "v1_port",
    "v2_version",
    "v2_command",
    "v2_family",
    "v2_length",
)


class FrameError(ProtocolError):
    """A frame broke the protocol. The peer (the data logger) is at fault, not the caller."""

    code = "hj212_frame"

    def __init__(self, reason: str, message: str, *, mn: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.mn = mn


class ProxyHeaderError(ProtocolError):
    """A PROXY protocol header broke its specification. The sender (the load balancer, or a
    client that is not one) is at fault; the connection is to be closed (PROXY §2.1: "cause
    the receiver to abort the connection")."""

    code = "proxy_header"

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
