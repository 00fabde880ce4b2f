"""``bishui hj212 decode|encode|crc``: the JSON shapes of issue 3, and never a traceback."""

from __future__ import annotations

import json

from click.testing import CliRunner
from hj212_helpers import sample_frames
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui.cli import main

SAMPLES = sample_frames()


def run(args: list[str], data: bytes) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["hj212", *args], input=data)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stdout


def test_decode_good_frame_shape() -> None:
    code, out = run(["decode"], SAMPLES[0]["raw"])
    assert code == 0
    assert json.loads(out) == {
        "ok": True,
        "edition": "2017",
        "qn": "20160801085857223",
        "st": "32",
        "cn": "1062",
        "pw": "100000",
        "mn": "010000A8900016F000169DC0",
        "flag": 5,
        "pnum": None,
        "pno": None,
        "crc": "1C80",
        "cp": {"RtdInterval": "30"},
    }


def test_decode_bad_frames_and_noise() -> None:
    bad = next(s["raw"] for s in SAMPLES if s["crc_verdict"] == "invalid")
    code, out = run(["decode"], b"junk!" + bad + SAMPLES[0]["raw"][:30])
    lines = [json.loads(x) for x in out.splitlines()]
    assert [x["error"] for x in lines] == ["not_hj212", "crc_mismatch", "truncated"]
    assert all(set(x) == {"ok", "error", "message"} and x["ok"] is False for x in lines)
    assert code == 0


def test_decode_crc_policy_option() -> None:
    raw = next(s["raw"] for s in SAMPLES if s["crc_verdict"] == "modbus_swapped")
    _, out = run(["decode", "--crc-policy", "modbus_swapped"], raw)
    assert json.loads(out)["ok"] is True


def test_decode_encode_round_trip() -> None:
    frames = b"".join(s["raw"] for s in SAMPLES if "C." in s["notes_section"])
    _, out = run(["decode"], frames)
    code, _ = run(["encode"], out.encode())
    r = CliRunner().invoke(main, ["hj212", "encode"], input=out.encode())
    assert code == 0 and r.stdout_bytes == frames


def test_encode_bad_json_reports_and_exits_1() -> None:
    r = CliRunner().invoke(main, ["hj212", "encode"], input=b'{"st": 1}\nnot json\n')
    assert r.exit_code == 1 and r.stdout_bytes == b""


def test_crc_command() -> None:
    seg = SAMPLES[0]["frame"][6:-4]
    assert run(["crc", seg], b"")[1].strip() == "1C80"
    assert run(["crc"], seg.encode() + b"\n")[1].strip() == "1C80"


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=600))
def test_decode_never_raises(data: bytes) -> None:
    code, out = run(["decode"], data)
    assert code == 0
    for line in out.splitlines():
        assert json.loads(line)["ok"] in (True, False)


def test_simulate_against_a_gateway() -> None:
    import asyncio
    import threading

    from hj212_memory_sink import MemorySink

    from bishui.hj212.gateway import DeviceCredentials, Gateway

    sink = MemorySink()
    ready = threading.Event()
    done = threading.Event()
    holder: dict = {}

    def serve() -> None:
        async def main() -> None:
            gw = Gateway(lambda mn: DeviceCredentials(mn, "123456", "s"), sink, port=0)
            await gw.start()
            holder["port"] = gw.port
            ready.set()
            while not done.is_set():
                await asyncio.sleep(0.02)
            await gw.stop()

        asyncio.run(main())

    t = threading.Thread(target=serve)
    t.start()
    ready.wait(10)
    try:
        r = CliRunner().invoke(
            main,
            [
                "hj212",
                "simulate",
                "--to",
                f"127.0.0.1:{holder['port']}",
                "--loggers",
                "3",
                "--duration",
                "1.5",
                "--speed",
                "1200",
            ],
        )
    finally:
        done.set()
        t.join(10)
    assert r.exit_code == 0, r.output
    stats = json.loads(r.stdout)
    assert stats["loggers"] == 3 and stats["acked"] >= 3
    assert len(sink.accepted) >= 3
