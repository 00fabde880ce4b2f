"""``bishui programmes``: a case and a project driven from the command line, the fund rules,
the ledger, 督办 and the audit chain (on a DuckDB file; the service runs on both backends in
test_programmes_service.py)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from bishui.app import open_store
from bishui.cli import main
from bishui.registry import Registry, apply
from bishui.registry.model import Region


def test_the_commands(tmp_path: Path) -> None:
    db = str(tmp_path / "p.duckdb")
    s = open_store(db)
    apply(s, Registry(regions=[Region("420802", "东宝区", "district")]))
    s.close()

    def run(*args: str) -> str:
        r = CliRunner().invoke(main, ["programmes", *args, "--db", db])
        assert r.exit_code == 0, (args, r.output)
        return r.output

    def write(name: str, data: object) -> str:
        (tmp_path / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return str(tmp_path / name)

    r = CliRunner().invoke(main, ["programmes", "funds"])
    assert r.exit_code == 0 and "生态建设专项资金" in r.output and "1/10" in r.output
    run("project-add", write("p.json", [{
        "id": "P1", "name": "示例项目", "kind": "wastewater_plant", "county": "420802",
        "owner": "某局", "programme": "ww52", "budget_fen": 1000,
        "milestones": [{"name": "开工", "planned_on": "2026-01-10"}]}]), "--by", "a")  # fmt: skip
    assert "示例项目" in run("projects", "--programme", "ww52")
    run("entry", "P1", "allocate", "--fund", "eco_special", "--amount-fen", "800", "--on",
        "2026-01-02", "--doc", "文号", "--by", "fin")  # fmt: skip
    out = run("entry", "P1", "disburse", "--fund", "eco_special", "--amount-fen", "80", "--on",
              "2026-01-03", "--doc", "设计费", "--use", "preparation", "--by", "fin")  # fmt: skip
    assert "available 720" in out
    assert "720" in run("ledger", "P1")
    args = [
        "entry",
        "P1",
        "disburse",
        "--fund",
        "eco_special",
        "--amount-fen",
        "1",
        "--on",
        "2026-01-03",
        "--doc",
        "x",
        "--use",
        "preparation",
        "--by",
        "f",
        "--db",
        db,
    ]
    r = CliRunner().invoke(main, ["programmes", *args])
    assert r.exit_code != 0 and "capped" in r.output
    assert "1 tasks" in run("supervise", "--today", "2026-02-01")
    assert "no overdue" in run("supervise", "--today", "2026-02-01")
    run("project-act", "P1", "start", "--payload", write("s.json", {"on": "2026-01-11"}),
        "--by", "a")  # fmt: skip
    run("case-add", write("c.json", {"id": "C1", "title": "某案", "county": "420802",
                                     "site": "某地", "event_date": "2026-01-01",
                                     "lead_source": "督察"}), "--by", "o")  # fmt: skip
    (tmp_path / "r.pdf").write_bytes(b"%PDF-1.7\n")
    fid = run("file", "case:C1", str(tmp_path / "r.pdf"), "--by", "o").split()[0]
    run("case-act", "C1", "investigate", "--by", "o")
    run("case-act", "C1", "assess", "--payload", write("a.json", {
        "method": "simplified", "assessor": "专家", "amounts": {"restoration": 500},
        "report": fid}), "--by", "o")  # fmt: skip
    assert "assessed" in run("cases")
    r = CliRunner().invoke(main, ["programmes", "case-act", "C1", "pay", "--finance", "--by",
                                  "f", "--db", db])  # fmt: skip
    assert r.exit_code != 0 and "refused" in r.output
    assert "intact" in run("verify")
