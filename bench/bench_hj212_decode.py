"""HJ 212 decode + CRC throughput on realistic minute-data frames.

Frames: 2051 minute data of a flue-gas source, 10 pollutants with Min, Avg, Max and Flag
(the shape of the real air-station sample in the notes, §4.1 #4), a 742-byte data segment
each (issue 13; issue 3 measured 450-byte frames with Avg and Flag only).
Measured: ``bishui.hj212.codec.decode`` (strict CRC policy, header and CP grammar, time
validation), and ``Session.receive_data`` on the frames as one stream (what the gateway
runs: framing + resynchronisation + decode), against a straightforward per-byte reference
written here — Appendix A's bit loop for the CRC, then ``split`` parsing — on the same frames
in the same run, all timed in process CPU time (one core). ``--old-src DIR`` also times
another checkout's ``decode`` and session (e.g. the code before issue 13) on the same frames,
in a subprocess, for the ratio.
Goal: >= 50,000 frames/s on one core.

    /work/venv/bin/python bench/bench_hj212_decode.py [--short] [--old-src /tmp/old/src]
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

if "--measure-only" not in sys.argv:  # the subprocess of --old-src imports from PYTHONPATH
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bishui.hj212.codec import Packet, decode, encode

CODES = (
    "a00000",
    "a21026",
    "a21002",
    "a21003",
    "a21004",
    "a21005",
    "a34013",
    "a19001",
    "a01012",
    "a01011",
)


def frames(n: int) -> list[bytes]:
    rng = random.Random(212)
    out = []
    for i in range(n):
        cp = {"DataTime": f"202603{1 + i % 28:02d}{i % 24:02d}{(i * 10) % 60:02d}00"}
        for c in CODES:
            v = rng.uniform(10, 99)
            cp[f"{c}-Min"] = f"{v * 0.9:.1f}"
            cp[f"{c}-Avg"] = f"{v:.2f}"
            cp[f"{c}-Max"] = f"{v * 1.1:.1f}"
            cp[f"{c}-Flag"] = "N"
        p = Packet.make(
            qn=f"20260301{i:09d}",
            st="31",
            cn="2051",
            pw="123456",
            mn="010000A8900016F000169DC0",
            flag=5,
            cp=cp,
        )
        out.append(encode(p))
    return out


def session_rate(items: list[bytes], seconds: float) -> float:
    """Frames/s through ``Session.receive_data`` fed 64 KiB reads of the frames back to back."""
    from bishui.hj212.session import Session

    stream = b"".join(items)
    chunks = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]
    count = 0
    t0 = time.process_time()
    while True:
        s = Session()
        for c in chunks:
            count += len(s.receive_data(c))
        el = time.process_time() - t0
        if el >= seconds:
            return count / el


def reference_decode(frame: bytes) -> dict[str, object]:
    """The straightforward way: per-byte, per-bit CRC and string splitting."""
    if frame[:2] != b"##":
        raise ValueError("not a frame")
    n = int(frame[2:6])
    seg = frame[6 : 6 + n]
    crc = 0xFFFF
    for b in seg:
        crc = (crc >> 8) ^ b
        for _ in range(8):
            check = crc & 1
            crc >>= 1
            if check:
                crc ^= 0xA001
    if f"{crc:04X}".encode() != frame[6 + n : 10 + n]:
        raise ValueError("crc")
    text = seg.decode()
    head, _, cp = text.partition("CP=&&")
    fields = dict(f.split("=", 1) for f in head.rstrip(";").split(";"))
    data = {}
    for group in cp[:-2].split(";"):
        for item in group.split(","):
            k, _, v = item.partition("=")
            data[k] = v
    return {"header": fields, "cp": data}


def rate(fn, items: list[bytes], seconds: float) -> float:
    # CPU time of this process: what one core delivers, and far less sensitive than wall
    # time to other processes on a shared machine
    count = 0
    t0 = time.process_time()
    while True:
        for f in items:
            fn(f)
        count += len(items)
        el = time.process_time() - t0
        if el >= seconds:
            return count / el


def measure(short: bool) -> dict[str, float]:
    items = frames(200 if short else 2000)
    secs = 0.5 if short else 5.0
    return {
        "size": sum(len(f) - 12 for f in items) / len(items),
        "decode": rate(decode, items, secs),
        "session": session_rate(items, secs),
    }


def main() -> int:
    short = "--short" in sys.argv
    if "--measure-only" in sys.argv:  # the subprocess of --old-src
        print(json.dumps(measure(short)))
        return 0
    items = frames(200 if short else 2000)
    for f in items[:5]:
        assert decode(f).get("DataTime") == reference_decode(f)["cp"]["DataTime"]
    secs = 0.5 if short else 5.0
    ref = rate(reference_decode, items[:100] if short else items[:500], secs / 2)
    ours = measure(short)
    old = None
    if "--old-src" in sys.argv:
        src = sys.argv[sys.argv.index("--old-src") + 1]
        env = {**os.environ, "PYTHONPATH": src}
        args = [sys.executable, __file__, "--measure-only", *(["--short"] if short else [])]
        out = subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout
        old = json.loads(out.splitlines()[-1])
    print(
        f"frames: 2051 minute data, 10 pollutants x Min/Avg/Max/Flag, "
        f"{ours['size']:.0f}-byte data segment on average"
    )
    print(f"baseline per-byte reference decode+CRC : {ref:10,.0f} frames/s")
    d, sess = ours["decode"], ours["session"]
    print(
        f"bishui.hj212.codec.decode (strict CRC) : {d:10,.0f} frames/s  "
        f"({d / ref:.1f}x baseline; goal 50,000 frames/s: "
        f"{'met' if d >= 50_000 else 'NOT met'})"
    )
    print(f"Session.receive_data (framing + decode) : {sess:10,.0f} frames/s  ({sess / ref:.1f}x)")
    if old is not None:
        print(
            f"old checkout: decode {old['decode']:,.0f} frames/s "
            f"(new/old {d / old['decode']:.2f}), "
            f"session {old['session']:,.0f} frames/s (new/old {sess / old['session']:.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
