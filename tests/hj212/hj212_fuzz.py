"""A mutation fuzzer for the HJ 212 session (issue 13), shared by the test suite (a few
thousand cases) and ``bench/bench_hj212_fuzz.py`` (10⁶ cases, figures in docs/benchmarks.md).

Each case is garbage derived from a good frame — truncated, with nested or repeated headers,
with ``=`` and NUL inside fields, with huge or wrong lengths, with random bytes — followed by a
good frame, fed in random chunks. The checks: nothing escapes ``receive_data``; what stays
buffered is at most one partial frame; what the events carry is no more than what was fed;
the good frame placed after the garbage is delivered.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from bishui.hj212.crc import crc_hex
from bishui.hj212.session import Noise, PacketReceived, Rejected, Session

SEG = (
    b"QN=20260101000000000;ST=22;CN=2051;PW=123456;MN=FUZZ0001;Flag=5;"
    b"CP=&&DataTime=20260101000000;a21026-Avg=1.5,a21026-Flag=N;a21004-Avg=2.0,a21004-Flag=N&&"
)


def frame(seg: bytes) -> bytes:
    return b"##%04d%s%s\r\n" % (len(seg), seg, crc_hex(seg).encode())


def good(k: int) -> bytes:
    """A good frame with a distinct QN."""
    return frame(SEG.replace(b"000000000;ST", b"%09d;ST" % k, 1))


def _mutate(rng: random.Random, base: bytes) -> bytes:
    op = rng.randrange(9)
    n = len(base)
    if op == 0:  # truncation
        return base[: rng.randrange(1, n)]
    if op == 1:  # a bare or nested header
        return b"##%04d" % rng.randrange(10000) + base[: rng.randrange(n)]
    if op == 2:  # repeated headers
        return b"".join(b"##%04d" % rng.randrange(10000) for _ in range(rng.randrange(1, 20)))
    if op == 3:  # '=' or NUL inside a field, CRC recomputed (passes framing)
        seg = bytearray(base[6:-6])
        for _ in range(rng.randrange(1, 4)):
            seg.insert(rng.randrange(len(seg)), rng.choice(b"=\x00;,&"))
        return frame(bytes(seg))
    if op == 4:  # huge or wrong declared length on a real body
        return b"##%04d" % rng.choice((9999, 9998, 4097, 0, rng.randrange(10000))) + base[6:]
    if op == 5:  # random bytes
        return rng.randbytes(rng.randrange(1, 200))
    if op == 6:  # a run of '#'
        return b"#" * rng.randrange(1, 300)
    if op == 7:  # flipped bytes in a whole frame
        b = bytearray(base)
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(n)] = rng.randrange(256)
        return bytes(b)
    # bad UTF-8 in the body, CRC recomputed
    seg = bytearray(base[6:-6])
    seg.insert(rng.randrange(len(seg)), rng.choice((0xFF, 0xC3, 0x80)))
    return frame(bytes(seg))


@dataclass
class Result:
    cases: int = 0
    bytes_fed: int = 0
    good_found: int = 0
    max_buffered: int = 0
    max_emitted_ratio: float = 0.0


def run(cases: int, seed: int = 13) -> Result:
    """Run *cases* mutated inputs; raise ``AssertionError`` on the first broken property."""
    rng = random.Random(seed)
    base = good(0)
    res = Result()
    for k in range(cases):
        s = Session()
        garbage = b"".join(_mutate(rng, base) for _ in range(rng.randrange(1, 4)))
        ok = good(k + 1)
        data = garbage + ok
        events = []
        pos = 0
        steps = []
        while pos < len(data):
            step = rng.choice((1, 7, 64, 4096, len(data)))
            steps.append(step)
            chunk = data[pos : pos + step]
            pos += step
            events += s.receive_data(chunk)
            limit = s.max_data_length + 12
            assert s.buffered <= limit, (s.buffered, data)
            res.max_buffered = max(res.max_buffered, s.buffered)
        emitted = 0
        for e in events:
            if isinstance(e, Rejected | PacketReceived):
                emitted += len(e.raw)
            elif isinstance(e, Noise):
                emitted += len(e.sample)
        assert emitted <= len(data), (emitted, data)
        res.max_emitted_ratio = max(res.max_emitted_ratio, emitted / len(data))
        packets = [e.raw for e in events if isinstance(e, PacketReceived)]
        assert packets and packets[-1] == ok, (data, steps)
        res.good_found += 1
        res.cases += 1
        res.bytes_fed += len(data)
    return res
