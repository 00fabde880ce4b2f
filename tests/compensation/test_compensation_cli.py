"""``bishui compensation``: agreements, run from an inputs file, explain a statement."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from comp_helpers import demo_point, jingmen

from bishui.cli import main
from bishui.compensation import PeriodInputs
from bishui.compensation.period import Period


def _inputs_file(tmp_path: Path) -> Path:
    periods: dict[Period, list] = {}  # type: ignore[type-arg]
    for a in jingmen().values():
        for p in Period.in_year(a.period_kind, 2025):
            periods.setdefault(p, []).append(demo_point(a))
    data = [PeriodInputs.of(p, *pts).to_dict() for p, pts in sorted(periods.items())]
    path = tmp_path / "inputs.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_agreements_lists_every_agreement() -> None:
    r = CliRunner().invoke(main, ["compensation", "agreements"])
    assert r.exit_code == 0, r.output
    assert len(r.output.strip().splitlines()) == len(jingmen())
    assert "jingmen-zhanghe-reservoir\tv1\tverified" in r.output


def test_run_then_explain(tmp_path: Path) -> None:
    out = tmp_path / "statements.json"
    r = CliRunner().invoke(
        main,
        [
            "compensation",
            "run",
            "--period",
            "2025",
            "--inputs",
            str(_inputs_file(tmp_path)),
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    statements = json.loads(out.read_text(encoding="utf-8"))
    # 12 + 12 monthly, 4 quarterly, 5 yearly
    assert len(statements) == 33
    assert "漳河新区（420800-ZH）" in r.output
    r = CliRunner().invoke(
        main,
        [
            "compensation",
            "explain",
            "--statement",
            "jingmen-zhanghe-reservoir/2025/v1",
            "--from",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "被考核方应得 4,140,000.00 元（414 万元）" in r.output


def test_a_missing_period_is_held_and_a_tampered_statement_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("[]", encoding="utf-8")
    out = tmp_path / "s.json"
    r = CliRunner().invoke(
        main,
        ["compensation", "run", "--period", "2025-Q1", "--inputs", str(empty), "--out", str(out)],
    )
    assert r.exit_code == 0, r.output
    assert "jingmen-zhupihe-gongjiawan/2025-Q1/v1\theld\t0.00" in r.output
    data = json.loads(out.read_text(encoding="utf-8"))
    data[0]["amount"] = "1.00"
    out.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    r = CliRunner().invoke(
        main, ["compensation", "explain", "--statement", data[0]["id"], "--from", str(out)]
    )
    assert r.exit_code == 2 and "matching its hash" in r.output


def test_bad_files_give_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    r = CliRunner().invoke(main, ["compensation", "run", "--period", "2025", "--inputs", str(bad)])
    assert r.exit_code == 2 and r.output.startswith("error: --inputs")
    r = CliRunner().invoke(main, ["compensation", "run", "--period", "20x5", "--inputs", str(bad)])
    assert r.exit_code == 2 and "period" in r.output
    good = tmp_path / "g.json"
    good.write_text("[]", encoding="utf-8")
    r = CliRunner().invoke(
        main, ["compensation", "explain", "--statement", "nope/2025/v1", "--from", str(good)]
    )
    assert r.exit_code == 2 and "not found" in r.output
