"""HJ 212 data-logger protocol: codec, sans-IO session, asyncio gateway, logger simulator.

HJ 212-2017 (污染物在线监控（监测）系统数据传输标准) is the main edition; HJ/T 212-2005 and
HJ 212-2025 frames are decoded too (see ``docs/hj212.md``). The codec and the session are
sans-IO: bytes in, packets and bytes out, no sockets, timers or logging. The gateway and the
simulator are thin asyncio shells around them.
"""

from __future__ import annotations

from bishui.hj212.codec import Item, Packet, decode, encode, flag_for, merge_segments
from bishui.hj212.crc import crc_hex, hj212_crc
from bishui.hj212.errors import REASONS, FrameError

__all__ = [
    "REASONS",
    "FrameError",
    "Item",
    "Packet",
    "crc_hex",
    "decode",
    "encode",
    "flag_for",
    "hj212_crc",
    "merge_segments",
]
