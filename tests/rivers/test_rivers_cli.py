"""``bishui rivers``: the model city's registry loaded from its file, listed, its rules shown,
its audit chain verified (and an edited row named)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from click.testing import CliRunner

from bishui.app import open_store, register_domains
from bishui.cli import main
from bishui.demo import city
from bishui.registry import apply


def test_load_list_coverage_sync_rules(tmp_path: Path) -> None:
    register_domains()
    db = str(tmp_path / "r.duckdb")
    store = open_store(db)
    apply(store, city.build().registry)
    store.close()
    toml = Path(str(resources.files("bishui.demo") / "jingmen" / "rivers.toml"))
    run = CliRunner().invoke
    r = run(main, ["rivers", "load", str(toml), "--db", db])
    assert r.exit_code == 0, r.output
    assert "sections 16" in r.output and "joint 3" in r.output
    r = run(main, ["rivers", "sections", "--db", db])
    assert r.exit_code == 0 and "长湖后港镇片" in r.output and "WS12" in r.output
    r = run(main, ["rivers", "coverage", "C-HJ-420822", "--day", "2026-12-07", "--db", db])
    assert r.exit_code == 0 and "2026-10-01—2026-12-31" in r.output and "否" in r.output
    r = run(main, ["rivers", "sync", "--db", db])
    assert r.exit_code == 0 and "resolved 0, routed 0" in r.output
    r = run(main, ["rivers", "problems", "--db", db])
    assert r.exit_code == 0
    r = run(main, ["rivers", "rules"])
    assert r.exit_code == 0 and "阿合奇" in r.output and "市生态环境局" in r.output
    r = run(main, ["rivers", "verify", "--db", db])
    assert r.exit_code == 0 and r.output.startswith("river audit: ") and "chain intact" in r.output
    store = open_store(db)
    store.execute("UPDATE river_audit SET action = 'erase' WHERE seq = 7")
    store.close()
    r = run(main, ["rivers", "verify", "--db", db])
    assert r.exit_code == 2
    assert "error: river_audit: audit: event 7 hash does not match its content" in r.output
