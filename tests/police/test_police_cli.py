"""``bishui police``: a transfer from proposal to acceptance, its package verified, and a
night operation planned, started, visited and finished — all from the command line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner

from bishui.app import open_store
from bishui.cli import main
from bishui.enforcement import evidence
from bishui.enforcement import service as enf
from bishui.enforcement import tasks as tk
from bishui.enforcement.intake import AlertIn
from bishui.registry import Registry, apply
from bishui.registry.model import Enterprise, Region, Site

USCC = "914208021623558405"
AT = dt.datetime(2026, 12, 7, 10, 0)


def run(*args: str) -> str:
    r = CliRunner().invoke(main, list(args))
    assert r.exit_code == 0, r.output
    return r.output


def test_transfer_and_operation_from_the_command_line(tmp_path: Path) -> None:
    db = str(tmp_path / "p.duckdb")
    s = open_store(db)
    apply(s, Registry(
        regions=[Region("420802", "东宝区", "district")],
        enterprises=[Enterprise(USCC, "某化工厂", "化工", "420802")],
        sites=[Site("E01", "source_water", "某化工厂 总排口", "420802", enterprise=USCC,
                    outlet="DW001")],
    ))  # fmt: skip
    _, tasks = enf.raise_alerts(s, [AlertIn("k", "t.rule", "high", "E01", "w01018", AT, AT,
                                            uscc=USCC)], {"E01": "420802"}, now=AT)  # fmt: skip
    task = tasks[0].id
    evidence.store_file(s, task, "p.png", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(8),
                        tk.Actor("insp", tk.Role.INSPECTOR), now=AT)  # fmt: skip
    s.close()
    out = run("police", "propose", task, "--report", "暗管", "--officer", "甲", "--officer", "乙",
              "--article", "ord310-5", "--by", "insp", "--db", db)  # fmt: skip
    case = out.split(":")[0]
    run("police", "act", case, "approve", "--by", "chief", "--role", "chief", "--db", db)
    out = run("police", "act", case, "transfer", "--by", "insp", "--role", "inspector",
              "--db", db)  # fmt: skip
    assert "transferred, package v1" in out
    r = CliRunner().invoke(main, ["police", "act", case, "accept", "--by", "p", "--role",
                                  "police", "--db", db])  # fmt: skip
    assert r.exit_code == 2 and "police_case_no" in r.output
    run("police", "act", case, "accept", "--case-no", "J1", "--by", "p", "--role", "police",
        "--db", db)  # fmt: skip
    assert "accepted" in run("police", "cases", "--police", "--db", db)
    out = run("police", "package", case, "--out", str(tmp_path / "pkg.json"), "--db", db)
    assert "1 files" in out and "verified" in out
    assert json.loads((tmp_path / "pkg.json").read_text("utf-8"))["verified"] is True
    assert "ord310-5" in run("police", "basis")
    spec = {
        "name": "零点行动",
        "kind": "night",
        "start": "2026-12-07T23:00",
        "end": "2026-12-08T02:00",
        "targets": [{"uscc": USCC}],
        "team": [{"name": "甲", "agency": "bureau"}, {"name": "丙", "agency": "police"}],
    }
    (tmp_path / "op.json").write_text(json.dumps(spec, ensure_ascii=False), "utf-8")
    op_id = run("police", "plan", str(tmp_path / "op.json"), "--by", "insp", "--db", db)
    op_id = op_id.split(":")[0]
    run("police", "op-act", op_id, "start", "--by", "insp", "--db", db)
    visit = {
        "site": "E01",
        "at": "2026-12-08T00:20",
        "findings": [{"severity": "medium", "description": "台账缺失"}],
    }
    (tmp_path / "v.json").write_text(json.dumps(visit, ensure_ascii=False), "utf-8")
    out = run("police", "visit", op_id, str(tmp_path / "v.json"), "--by", "p", "--role",
              "police", "--db", db)  # fmt: skip
    assert "1 findings, tasks T" in out
    run("police", "op-act", op_id, "finish", "--summary", "完成", "--by", "insp", "--db", db)
    assert "completed" in run("police", "operations", "--db", db)
    assert "chain intact" in run("police", "verify", "--db", db)
