"""``bishui hj212`` — decode, encode, CRC and the logger simulator from the shell.

``decode`` never raises on any input: every frame (or run of non-HJ 212 bytes) becomes one
JSON line, and it exits 0 once the input is read.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, BinaryIO

import click

from bishui.hj212.codec import Packet, encode
from bishui.hj212.crc import POLICIES, hj212_crc, modbus_crc, parse_policy
from bishui.hj212.session import Noise, PacketReceived, Rejected, Session


@click.group()
def hj212() -> None:
    """HJ 212 data-logger protocol (HJ 212-2017, HJ/T 212-2005, HJ 212-2025)."""


def packet_json(p: Packet) -> dict[str, Any]:
    """The CLI's JSON shape of a good frame (``cp``: every key → value as sent)."""
    cp: dict[str, str] = {}
    for group in p.cp_groups:
        for k, v in group:
            cp.setdefault(k, v)
    return {
        "ok": True,
        "edition": p.edition,
        "qn": p.qn,
        "st": p.st,
        "cn": p.cn,
        "pw": p.pw,
        "mn": p.mn,
        "flag": p.flag,
        "pnum": p.pnum,
        "pno": p.pno,
        "crc": p.crc,
        "cp": cp,
    }


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _decode_stream(stream: BinaryIO, session: Session) -> None:
    pending_noise = bytearray()

    def flush_noise() -> None:
        if pending_noise.strip():
            sample = bytes(pending_noise[:32])
            _emit(
                {
                    "ok": False,
                    "error": "not_hj212",
                    "message": f"{len(pending_noise)} bytes outside any HJ 212 frame: {sample!r}",
                }
            )
        pending_noise.clear()

    def handle(events: list[Any]) -> None:
        for e in events:
            if isinstance(e, Noise):
                if len(pending_noise) < 64:
                    pending_noise.extend(e.sample)
                continue
            flush_noise()
            if isinstance(e, PacketReceived):
                _emit(packet_json(e.packet))
            elif isinstance(e, Rejected):
                _emit({"ok": False, "error": e.reason, "message": e.message})
            elif hasattr(e, "command"):
                pass  # answers to requests this CLI never sent cannot occur
        sys.stdout.flush()

    read = getattr(stream, "read1", stream.read)
    while True:
        chunk = read(65536)
        if not chunk:
            break
        handle(session.receive_data(chunk))
        session.data_to_send()  # automatic replies are not for stdout
    handle(session.end_of_stream())
    flush_noise()
    sys.stdout.flush()


@hj212.command()
@click.option(
    "--crc-policy",
    default="hj212",
    show_default=True,
    help=f"Allowed CRC variants, comma-separated: {', '.join(POLICIES)}.",
)
@click.option("--max-length", default=4096, show_default=True, help="Largest data segment [bytes].")
def decode(crc_policy: str, max_length: int) -> None:
    """Read frames from stdin (any framing), write one JSON object per frame."""
    try:
        parse_policy(crc_policy)
    except Exception as exc:
        raise click.BadParameter(str(exc), param_hint="--crc-policy") from None
    session = Session(crc_policy=crc_policy, max_data_length=max_length)
    try:
        _decode_stream(sys.stdin.buffer, session)
    except BrokenPipeError:
        # the reader went away (``| head``): stop quietly, without a second error at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except Exception as exc:  # last line of defence: never a traceback
        _emit({"ok": False, "error": "internal", "message": repr(exc)})


def packet_from_json(obj: Any) -> Packet:
    """Build a packet from the CLI's JSON shape (``ok``, ``edition``, ``crc`` ignored)."""
    from bishui.errors import InputError

    if not isinstance(obj, dict):
        raise InputError("json", "must be an object", obj)
    for name in ("st", "cn", "pw", "mn"):
        if not isinstance(obj.get(name), str):
            raise InputError(name, "is required and must be a string", obj.get(name))
    cp = obj.get("cp") or {}
    if not isinstance(cp, dict) or not all(isinstance(v, str) for v in cp.values()):
        raise InputError("cp", "must map keys to value strings", cp)
    ints: dict[str, int | None] = {}
    for name in ("flag", "pnum", "pno"):
        v = obj.get(name)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
            raise InputError(name, "must be an integer or null", v)
        ints[name] = v
    qn = obj.get("qn")
    if qn is not None and not isinstance(qn, str):
        raise InputError("qn", "must be a string or null", qn)
    return Packet.make(
        st=obj["st"],
        cn=obj["cn"],
        pw=obj["pw"],
        mn=obj["mn"],
        cp=cp,
        qn=qn,
        flag=ints["flag"],
        pnum=ints["pnum"],
        pno=ints["pno"],
    )


@hj212.command("encode")
@click.option(
    "--crc-variant",
    type=click.Choice(["hj212", "hj212_lower", "modbus", "modbus_swapped", "bad"]),
    default="hj212",
    show_default=True,
)
def encode_cmd(crc_variant: str) -> None:
    """Read JSON objects (one per line, the shape ``decode`` writes) and write frames."""
    failed = 0
    out = sys.stdout.buffer
    for n, line in enumerate(sys.stdin.buffer, 1):
        if not line.strip():
            continue
        try:
            out.write(encode(packet_from_json(json.loads(line)), crc_variant=crc_variant))
        except Exception as exc:
            failed += 1
            msg = getattr(exc, "message", str(exc))
            err = {"ok": False, "error": "bad_input", "line": n, "message": msg}
            click.echo(json.dumps(err, ensure_ascii=False), err=True)
    out.flush()
    if failed:
        sys.exit(1)


@hj212.command()
@click.argument("segment", required=False)
@click.option("--variant", type=click.Choice(["hj212", "modbus"]), default="hj212")
def crc(segment: str | None, variant: str) -> None:
    """Print the CRC of a data segment (argument, or stdin without the final newline)."""
    data = segment.encode("utf-8") if segment is not None else sys.stdin.buffer.read()
    data = data.rstrip(b"\r\n")
    value = hj212_crc(data) if variant == "hj212" else modbus_crc(data)
    click.echo(f"{value:04X}")


@hj212.command()
@click.option("--to", "target", required=True, help="HOST:PORT of the gateway.")
@click.option("--loggers", default=10, show_default=True, help="Number of simulated loggers.")
@click.option("--duration", default=60.0, show_default=True, help="Seconds to run.")
@click.option("--speed", default=1.0, show_default=True, help="Simulated seconds per real second.")
@click.option("--mn-prefix", default="SIM", show_default=True)
@click.option("--pw", default="123456", show_default=True)
@click.option(
    "--misbehave",
    multiple=True,
    help="bad_crc, split, merge, duplicate, late, flags, wrong_password, garbage (repeatable).",
)
@click.option("--seed", default=0, show_default=True)
def simulate(
    target: str,
    loggers: int,
    duration: float,
    speed: float,
    mn_prefix: str,
    pw: str,
    misbehave: tuple[str, ...],
    seed: int,
) -> None:
    """Run N simulated data loggers against a gateway."""
    import asyncio

    from bishui.hj212.simulator import LoggerConfig, run_fleet

    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter("must be HOST:PORT", param_hint="--to")
    configs = LoggerConfig.fleet(loggers, mn_prefix=mn_prefix, pw=pw, misbehave=misbehave)
    stats = asyncio.run(
        run_fleet(configs, host, int(port), duration=duration, speed=speed, seed=seed)
    )
    click.echo(json.dumps(stats, ensure_ascii=False))
