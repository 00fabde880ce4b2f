"""``bishui permits|sources|tasks`` end to end on a DuckDB file: import, check, work a task;
a refused transition prints the reason and exits non-zero."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner
from sources_store import GAS_A, PERMIT_NO, gas_day, make_permit, registry

from bishui.cli import main
from bishui.sources import permits_io
from bishui.store import open_store


def test_permits_check_and_tasks(tmp_path: Path) -> None:
    db = str(tmp_path / "b.duckdb")
    store = open_store(db)
    registry(store)
    so2 = [120.0] * 24
    so2[10:13] = [260.0, 300.0, 250.0]
    gas_day(store, GAS_A, dt.date(2026, 6, 29), so2)
    store.close()
    csv = tmp_path / "permits.csv"
    permits_io.write_csv([make_permit()], csv)
    run = CliRunner().invoke
    r = run(main, ["permits", "import", str(csv), "--db", db])
    assert r.exit_code == 0 and "1 new" in r.output, r.output
    r = run(main, ["permits", "list", "--db", db, "--out", str(tmp_path / "p.xlsx")])
    assert r.exit_code == 0 and PERMIT_NO in r.output and "许可证编号" in r.output
    r = run(main, ["permits", "show", PERMIT_NO, "--db", db])
    assert r.exit_code == 0 and '"revision": 1' in r.output
    r = run(main, ["permits", "export", str(tmp_path / "back.csv"), "--db", db])
    assert r.exit_code == 0 and permits_io.read_csv(tmp_path / "back.csv") == [make_permit()]
    out = tmp_path / "f.xlsx"
    r = run(main, ["sources", "check", "--period", "2026-06-29", "--db", db, "--out", str(out)])
    assert r.exit_code == 0 and "EXC" in r.output and out.exists(), r.output
    r = run(main, ["sources", "check", "--period", "2026-06-29", "--db", db])
    assert "新增问题 (0)" in r.output  # idempotent
    r = run(main, ["tasks", "list", "--db", db])
    task = next(w for w in r.output.split() if w.startswith("T2"))
    r = run(main, ["tasks", "close", task, "--db", db, "--role", "inspector", "--as", "li"])
    assert r.exit_code != 0 and "close from assigned refused" in r.output
    photo = tmp_path / "现场照片.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 a photo")
    report = tmp_path / "检查记录.pdf"
    report.write_bytes(b"%PDF-1.4 the record")
    (tmp_path / "notes.txt").write_text("text")
    (tmp_path / "fake.pdf").write_bytes(b"MZ not a pdf")
    steps = [
        ["assign", task, "--to", "li"],
        ["visit", task, "--note", "现场检查", "--file", str(photo), "--role", "inspector",
         "--as", "li"],
        ["evidence", task, str(photo), str(report), "--note", "DCS 记录", "--role", "inspector",
         "--as", "li"],
        ["dispose", task, "--kind", "false_alarm", "--reason", "校准气误标 N", "--role",
         "inspector", "--as", "li"],
        ["close", task, "--role", "inspector", "--as", "li"],
        # the closure waits for a chief (结案审批, the model city's policy; intended)
        ["approve", task, "--role", "chief", "--as", "wang"],
    ]  # fmt: skip
    for s in steps:
        r = run(main, ["tasks", *s, "--db", db])
        assert r.exit_code == 0, (s, r.output)
    for bad, why in (("notes.txt", ".jpeg"), ("fake.pdf", "signature")):
        r = run(main, ["tasks", "evidence", task, str(tmp_path / bad), "--db", db])
        assert r.exit_code != 0 and why in r.output, r.output
    r = run(main, ["tasks", "reopen", task, "--db", db])
    assert r.exit_code != 0 and "reason" in r.output
    # reopened, checked in, and a penalty that waits for the chief (issue 16 item 9)
    r = run(main, ["tasks", "reopen", task, "--reason", "复查", "--db", db])
    assert r.exit_code == 0, r.output
    r = run(main, ["tasks", "check-in", task, "--lat", "91", "--lon", "112", "--role",
                   "inspector", "--as", "li", "--db", db])  # fmt: skip
    assert r.exit_code != 0 and "lat: between" in r.output
    r = run(main, ["tasks", "check-in", task, "--lat", "31.0", "--lon", "112.2", "--accuracy",
                   "15", "--role", "inspector", "--as", "li", "--db", db])  # fmt: skip
    assert r.exit_code == 0 and "check_in in_progress → in_progress" in r.output, r.output
    r = run(main, ["tasks", "dispose", task, "--kind", "penalty", "--article",
                   "排污许可管理条例 第三十四条", "--amount", "200000", "--role", "inspector",
                   "--as", "li", "--db", db])  # fmt: skip
    assert r.exit_code == 0 and "awaiting_approval" in r.output, r.output
    r = run(main, ["tasks", "approve", task, "--role", "inspector", "--as", "li", "--db", db])
    assert r.exit_code != 0
    r = run(main, ["tasks", "reject", task, "--role", "chief", "--as", "wang", "--db", db])
    assert r.exit_code != 0 and "reason" in r.output
    r = run(main, ["tasks", "approve", task, "--note", "同意", "--role", "chief", "--as", "wang",
                   "--db", db])  # fmt: skip
    assert r.exit_code == 0 and "awaiting_approval → disposed" in r.output, r.output
    r = run(main, ["tasks", "close", task, "--role", "inspector", "--as", "li", "--db", db])
    assert r.exit_code == 0 and "disposed → awaiting_closure" in r.output, r.output
    r = run(main, ["tasks", "approve", task, "--role", "chief", "--as", "li", "--db", db])
    assert r.exit_code != 0  # li is no chief; and a chief who asked may not approve
    r = run(main, ["tasks", "approve", task, "--role", "chief", "--as", "wang", "--db", db])
    assert r.exit_code == 0 and "awaiting_closure → closed" in r.output, r.output
    r = run(main, ["tasks", "show", task, "--db", db])
    assert r.exit_code == 0 and '"state": "closed"' in r.output
    shown = json.loads(r.output)
    assert [f["name"] for f in shown["files"]] == ["现场照片.jpg", "检查记录.pdf"]
    cited = [e["payload"].get("files") for e in shown["events"] if e["action"] == "add_evidence"]
    assert [f["sha256"] for f in cited[0]] == [f["sha256"] for f in shown["files"]]
    r = run(main, ["tasks", "verify", "--db", db])
    assert r.exit_code == 0 and "verifies" in r.output, r.output
    # a tasked alert cannot be dismissed; an unknown one is not found
    store = open_store(db)
    alert = store.query("SELECT id FROM enforcement_alert ORDER BY id LIMIT 1")[0]["id"]
    store.close()
    r = run(main, ["tasks", "dismiss-alert", alert, "--reason", "已知校准", "--db", db])
    assert r.exit_code != 0 and "refused" in r.output, r.output
    r = run(main, ["tasks", "dismiss-alert", "f" * 20, "--reason", "x", "--db", db])
    assert r.exit_code != 0 and "does not exist" in r.output
