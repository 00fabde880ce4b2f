"""``bishui vehicles`` end to end on a DuckDB file: simulate with frauds, analyse, rank, keys,
issue a report code, verify it online and offline, refuse a tampered one, the old register."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from bishui.cli import main


def test_vehicles_commands(tmp_path: Path) -> None:
    db = str(tmp_path / "v.duckdb")
    run = CliRunner().invoke

    def ok(*args: str) -> str:
        r = run(main, ["vehicles", *args, "--db", db])
        assert r.exit_code == 0, r.output
        return r.output

    out = ok(
        "simulate",
        "--stations",
        "4",
        "--tests-per-lane",
        "9",
        "--fraud",
        "clone=0.3",
        "--fraud",
        "edited=0.3",
    )
    assert json.loads(out)["inspections"] > 70
    checks = tmp_path / "checks.jsonl"
    row = {"kind": "selfcheck", "station": "S01", "lane": "S01-L1", "item": "coastdown",
           "at": "2026-11-02T07:30:00", "ccdt_s": 20.0, "acdt_s": 20.4}  # fmt: skip
    checks.write_text(json.dumps(row) + "\n" + json.dumps(dict(row, lane="S09-L1")) + "\n")
    r = run(main, ["vehicles", "selfchecks", str(checks), "--db", db])
    assert r.exit_code != 0 and "row 2" in r.output and "lane" in r.output  # all or none
    checks.write_text(json.dumps(row) + "\n")
    assert json.loads(ok("selfchecks", str(checks))) == {"selfchecks": 1, "failed": 0}
    out = ok("analyse", "--from", "2026-11-02", "--to", "2026-11-02", "--alerts")
    assert "曲线雷同" in out and "曲线被修改" in out
    out = ok("ranking", "--from", "2026-11-02", "--to", "2026-11-02")
    first = out.splitlines()[3]
    assert first.split()[:2] == ["1", "荆门第1机动车检测站"]
    assert "证据" in ok("findings", "--station", "S01")
    key = tmp_path / "k1.hex"
    ok("keygen", "--key-id", "jm2026", "--valid-from", "2026-01-01", "--out", str(key))
    assert (key.stat().st_mode & 0o777) == 0o600
    keys = tmp_path / "keys.json"
    keys.write_text(ok("keys"), encoding="utf-8")
    qr = tmp_path / "qr.svg"
    code = ok("issue", "T0000002", "--key-id", "jm2026", "--key-file", str(key), "--qr", str(qr))
    code = code.strip().splitlines()[-1]
    assert "<svg" in qr.read_text(encoding="utf-8")
    assert json.loads(ok("verify", code))["ok"] is True
    assert json.loads(ok("verify", code, "--offline", str(keys)))["ok"] is True
    bad = code[:-3] + ("AAA" if not code.endswith("AAA") else "BBB")
    r = run(main, ["vehicles", "verify", bad, "--db", db])
    assert r.exit_code == 1 and json.loads(r.output)["reason"] in ("bad_signature", "malformed")
    assert "420802" in ok("old", "--today", "2026-12-07")
    r = run(main, ["vehicles", "simulate", "--fraud", "teleport=1", "--db", db])
    assert r.exit_code != 0 and "teleport" in r.output
