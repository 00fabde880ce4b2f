"""Errors of the HJ 212 layer.

::

    bishui.errors.ProtocolError
    └── FrameError     one frame broke the protocol; ``reason`` is a stable code

Reason codes (``FrameError.reason``, ``Rejected.reason``, the CLI's ``error``):

============  ==============================================================================
crc_mismatch  the CRC does not match the data segment under the device's CRC policy
bad_header    the data segment lacks a required field (ST, CN, PW, MN, ``CP=&&…&&``)
              or is not UTF-8
bad_length    the length field is not 4 digits, or the frame does not end with CR LF where
              the length says it must
bad_field     a field breaks its rule (Flag not 0–255, PNUM/PNO not integers, a CP item
              without ``=``, a DataTime/BeginTime/EndTime that is not a valid time …)
too_long      the declared data-segment length exceeds the configured maximum
truncated     the input ended inside a frame
not_hj212     the bytes are not an HJ 212 frame at all (no ``##``)
unknown_mn    (gateway) the MN is not in the registry
bad_password  (gateway) the PW does not match the registry
throttled     (gateway) the PW was not checked: too many wrong ones for this MN lately
suppressed    (gateway) a summary: this many rejections of one address were counted, not stored
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
)


class FrameError(ProtocolError):
    """A frame broke the protocol. The peer (the data logger) is at fault, not the caller."""

    code = "hj212_frame"

    def __init__(self, reason: str, message: str, *, mn: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.mn = mn
