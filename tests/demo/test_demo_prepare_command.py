"""Split from test_demo_prepare.py so that the demo's preparations, each a minute or more,
run on different workers (``--dist loadfile`` keeps a file on one worker; docs/benchmarks.md,
"The test suite's time")."""

from pathlib import Path

from click.testing import CliRunner

from bishui.demo.cli import demo


def test_demo_command_prepare_only(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        demo, ["--data-dir", str(tmp_path / "d"), "--days", "3", "--prepare-only"]
    )
    assert r.exit_code == 0, r.output
    assert "Generating synthetic history" in r.output
    assert (tmp_path / "d" / "bishui.duckdb").exists()
