"""``bishui exchange …`` on a seeded DuckDB file: every read command, a bid refused, the report
as Excel and CSV, verify and rebuild — and verify failing on an edited ledger row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner
from exsvc_helpers import city

from bishui.cli import main
from bishui.exchange.seed import seed_exchange
from bishui.store import open_store


def test_the_exchange_commands(tmp_path: Path) -> None:
    db = str(tmp_path / "x.duckdb")
    store = open_store(db)
    city(store)
    seed_exchange(store, on=dt.date(2026, 11, 30), operator="admin", regulator="analyst")
    store.close()
    run = CliRunner().invoke
    for args in (["accounts"], ["fees"], ["sessions", "list"], ["transfers", "list"],
                 ["compliance", "2026"], ["report"], ["verify"], ["rebuild"]):  # fmt: skip
        r = run(main, ["exchange", *args, "--db", db])
        assert r.exit_code == 0, (args, r.output)
    r = run(main, ["exchange", "accounts", "--db", db])
    assert "GOV-FEE" in r.output and "emission_right" in r.output
    r = run(main, ["exchange", "report", "--db", db])
    assert "排污权" in r.output and "2026-11" in r.output
    for ext in ("xlsx", "csv"):
        out = tmp_path / f"m.{ext}"
        r = run(main, ["exchange", "report", "--month", "2026-11", "--out", str(out), "--db", db])
        assert r.exit_code == 0 and out.stat().st_size > 0
    r = run(main, ["exchange", "compliance", "2026", "--db", db])
    assert "履约" in r.output
    store = open_store(db)
    store.execute("UPDATE exchange_ledger SET reason = 'x' WHERE seq = 3")
    store.close()
    r = run(main, ["exchange", "verify", "--db", db])
    assert r.exit_code == 1 and "money ledger: broken at seq 3" in r.output
