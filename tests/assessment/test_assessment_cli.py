"""``bishui assess`` end to end on a DuckDB file: score, show, recompute, allocate, assets,
term, case, summary."""

from __future__ import annotations

import json
from pathlib import Path

from assess_helpers import load_regions
from click.testing import CliRunner

from bishui.app import open_store
from bishui.cli import main


def test_assess_commands(tmp_path: Path) -> None:
    db = str(tmp_path / "b.duckdb")
    s = open_store(db)
    load_regions(s)
    s.close()
    r = CliRunner()

    def run(*args: str) -> str:
        res = r.invoke(main, ["assess", *args, "--db", db])
        assert res.exit_code == 0, res.output
        return res.output

    out = run("score", "scorecard_2026_demo", "--actor", "ana", "--role", "analyst")
    assert "无数据" in out and "东宝区" in out
    rid = "scorecard_2026_demo:2026:v1"
    assert "reproduced" in run("recompute", rid)
    xlsx = tmp_path / "a.xlsx"
    # no county has a figure yet (no stations, no tasks): every score is 0, a fund is refused
    args = ["allocate", rid, "--fund", "转移支付", "--kind", "transfer", "--rule",
            '{"kind": "proportional"}']  # fmt: skip
    refused = r.invoke(main, ["assess", *args, "--total-fen", "1000", "--db", db])
    assert refused.exit_code == 2 and "positive weight" in refused.output
    run(*args, "--total-fen", "0", "--out", str(xlsx))
    assert xlsx.exists()
    csv = tmp_path / "s.csv"
    csv.write_text(
        "county,year,resource,category,item,cause,quantity,unit\n"
        "420802,2026,forest,人工林,opening,,10,m3\n"
        "420802,2026,forest,人工林,increase,human,2,m3\n"
        "420802,2026,forest,人工林,closing,,12,m3\n",
        encoding="utf-8",
    )
    run("assets-load", str(csv))
    assert "人工林" in run("assets", "420802", "2026")
    tid = run(
        "term-add",
        "--leader",
        "李四",
        "--post",
        "县长",
        "--county",
        "420822",
        "--start",
        "2024-01-01",
        "--end",
        "2026-06-30",
    ).split()[-1]
    run(
        "case-open",
        "--leader",
        "李四",
        "--county",
        "420822",
        "--article",
        "5",
        "--item",
        "1",
        "--form",
        "admonition",
        "--facts",
        "演示",
        "--opened",
        "2026-07-01",
        "--term",
        tid,
    )
    s = json.loads(run("summary", tid))
    assert s["term"]["leader"] == "李四" and s["cases"][0]["item"] == 1
    bad = r.invoke(
        main,
        [
            "assess",
            "case-open",
            "--db",
            db,
            "--leader",
            "x",
            "--county",
            "420822",
            "--article",
            "5",
            "--item",
            "9",
            "--form",
            "admonition",
            "--facts",
            "x",
            "--opened",
            "2026-07-01",
        ],
    )
    assert bad.exit_code != 0
