"""What reading the PROXY protocol header costs the HJ 212 gateway (issue 21).

1. ``bishui.hj212.proxy.parse_header`` on the headers a balancer sends (version 1 TCP4 and
   TCP6, version 2 TCP4 and TCP6 with a TLV, LOCAL), against the baseline of the same run:
   ``bishui.hj212.codec.decode`` of one minute-data frame. Process CPU time, one core. A
   header is parsed once per connection; a logger sends a frame a minute for hours.
2. The gateway over loopback, in this process: C connections, each sending F minute frames
   at once (pipelined) and reading their F 9014 answers; with ``proxy_protocol`` off (no
   header: the baseline) and on (a version 2 header before the frames). Process CPU time per
   frame (gateway and clients together, the same clients both ways) and frames/s from the
   first connect to the last 9014. After the header the connection runs the same loop as a
   direct one, so the two should match within the machine's noise.

    /work/main/.venv/bin/python bench/bench_hj212_proxy.py [--short]
"""

from __future__ import annotations

import asyncio
import ipaddress
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bishui.hj212.codec import Packet, decode, encode
from bishui.hj212.gateway import DeviceCredentials, Gateway, GatewayLimits, Received, Rejection
from bishui.hj212.proxy import SIGNATURE_V2, parse_header

PW = "123456"


def frame(k: int, mn: str = "B0001") -> bytes:
    cp = {"DataTime": f"202603010{k // 600 % 10}{k // 10 % 60:02d}00"}
    cp.update({f"a3400{i}-Avg": f"{k % 97 + i}.{k % 10}" for i in range(1, 6)})
    cp.update({f"a3400{i}-Flag": "N" for i in range(1, 6)})
    p = Packet.make(st="22", cn="2051", pw=PW, mn=mn, flag=5, qn=f"2026030100{k:07d}", cp=cp)
    return encode(p)


def v2(fam: int, body: bytes, cmd: int = 1) -> bytes:
    return SIGNATURE_V2 + bytes([0x20 | cmd, fam]) + struct.pack(">H", len(body)) + body


def headers() -> dict[str, bytes]:
    a4, a6 = ipaddress.IPv4Address, ipaddress.IPv6Address
    ports = struct.pack(">HH", 51234, 9212)
    tcp6 = a6("2001:db8:1:2::7").packed + a6("2001:db8::1").packed + ports
    return {
        "v1 TCP4": b"PROXY TCP4 203.0.113.5 10.0.0.11 51234 9212\r\n",
        "v1 TCP6": b"PROXY TCP6 2001:db8:1:2::7 2001:db8::1 51234 9212\r\n",
        "v2 TCP4": v2(0x11, a4("203.0.113.5").packed + a4("10.0.0.11").packed + ports),
        "v2 TCP6 + TLV": v2(0x21, tcp6 + b"\x05\x00\x10" + bytes(16)),
        "v2 LOCAL": v2(0x00, b"", cmd=0),
    }


def cpu_per_call(fn: object, arg: bytes, n: int) -> float:
    call = fn  # type: ignore[assignment]
    t0 = time.process_time()
    for _ in range(n):
        call(arg)  # type: ignore[operator]
    return (time.process_time() - t0) / n * 1e6  # [µs]


class Sink:
    async def accept(self, item: Received) -> None:
        pass

    async def reject(self, item: Rejection) -> None:
        raise AssertionError(item.message)


async def one_run(proxy: bool, conns: int, per: int) -> tuple[float, float]:
    creds = DeviceCredentials("B0001", PW, "site")  # clear PW: no hash in the measurement
    limits = GatewayLimits(
        max_connections_per_peer=10_000,
        proxy_protocol=proxy,
        trusted_proxies=("127.0.0.1",) if proxy else (),
    )
    frames = b"".join(frame(k) for k in range(per))
    header = headers()["v2 TCP4"] if proxy else b""

    async def client(gw: Gateway) -> None:
        r, w = await asyncio.open_connection("127.0.0.1", gw.port)
        w.write(header + frames)
        await w.drain()
        for _ in range(per):
            await r.readuntil(b"\r\n")
        w.close()
        await w.wait_closed()

    async with Gateway({"B0001": creds}.get, Sink(), port=0, limits=limits) as gw:
        c0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(client(gw) for _ in range(conns)))
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        m = gw.metrics()
        assert m["frames_accepted"] == conns * per, m
        assert m["noise_bytes"] == 0 and m["frames_rejected_total"] == 0, m
    n = conns * per
    return cpu / n * 1e6, n / wall


def main() -> int:
    short = "--short" in sys.argv
    n = 2_000 if short else 50_000
    one = frame(1)
    decode(one)
    base = cpu_per_call(decode, one, n)
    print(f"parse_header, {n:,} calls each, process CPU time (one core)")
    print(f"{'input':>16} {'bytes':>5} {'µs/call':>8} {'÷ one decode':>12}")
    print(f"{'decode (base)':>16} {len(one):>5} {base:>8.2f} {1.0:>12.2f}")
    for name, h in headers().items():
        assert parse_header(h + one) is not None
        us = cpu_per_call(parse_header, h + one, n)
        print(f"{name:>16} {len(h):>5} {us:>8.2f} {us / base:>12.2f}")
    plan = [(20, 20)] if short else [(100, 100), (500, 20)]
    print("\ngateway over loopback, process CPU (gateway + clients) per frame, frames/s")
    print(f"{'conns × frames':>15} | {'off: µs/frame':>13} {'f/s':>7} | {'on: µs/frame':>12} "
          f"{'f/s':>7} | {'CPU on/off':>10}")  # fmt: skip
    rounds = 1 if short else 3
    for conns, per in plan:
        off, on = [], []
        for _ in range(rounds):  # interleaved, so drift in the machine's load hits both
            off.append(asyncio.run(one_run(False, conns, per)))
            on.append(asyncio.run(one_run(True, conns, per)))
        off_cpu, off_fs = min(x[0] for x in off), max(x[1] for x in off)
        on_cpu, on_fs = min(x[0] for x in on), max(x[1] for x in on)
        print(f"{f'{conns} × {per}':>15} | {off_cpu:>13.1f} {off_fs:>7,.0f} | {on_cpu:>12.1f} "
              f"{on_fs:>7,.0f} | {on_cpu / off_cpu:>10.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
