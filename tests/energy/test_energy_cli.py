"""``bishui energy``: conversion without a store; load, accounts and reduction with one."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bishui.app import open_store
from bishui.cli import main
from bishui.registry import Registry, apply
from bishui.registry.model import Region


def test_convert_and_coefficients() -> None:
    r = CliRunner().invoke(main, ["energy", "convert", "electricity", "10000",
                                  "--equal-value", "0.3120"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "当量值 1229 kgce" in r.output and "等价值 3120 kgce" in r.output
    r = CliRunner().invoke(main, ["energy", "coefficients"])
    assert r.exit_code == 0 and "0.7143" in r.output and "GB/T 2589-2020" in r.output


def test_load_and_accounts(tmp_path: Path) -> None:
    db = str(tmp_path / "e.duckdb")
    s = open_store(db)
    apply(s, Registry(regions=[Region("420802", "东宝区", "district")]))
    s.close()
    (tmp_path / "units.csv").write_text(
        "id,county,kind,name\nu1,420802,industry,某厂\n", encoding="utf-8"
    )
    (tmp_path / "uses.csv").write_text(
        "unit_id,year,fuel,quantity,source\nu1,2020,raw_coal,1000000,统计\n"
        "u1,2021,raw_coal,900000,统计\n",
        encoding="utf-8",
    )
    (tmp_path / "gdp.csv").write_text(
        "county,year,price_base,value_wan,source\n420802,2020,2020,1000,统计\n"
        "420802,2021,2020,1050,统计\n420802,2021,2021,1100,统计\n",
        encoding="utf-8",
    )
    run = CliRunner()
    for kind in ("units", "uses", "gdp"):
        r = run.invoke(main, ["energy", "load", kind, str(tmp_path / f"{kind}.csv"), "--by", "t",
                              "--db", db])  # fmt: skip
        assert r.exit_code == 0, r.output
    r = run.invoke(main, ["energy", "accounts", "--county", "420802", "--years", "2020-2021",
                          "--db", db])  # fmt: skip
    assert r.exit_code == 0, r.output
    # 714 300 kgce / 1 000 万元 = 0.7143; 642 870 / 1 050 = 0.6123 (2020 prices); −14.28 %
    assert "0.7143" in r.output and "0.6123" in r.output and "-14.28" in r.output
    out = tmp_path / "a.xlsx"
    r = run.invoke(main, ["energy", "accounts", "--county", "420802", "--years", "2020-2021",
                          "--db", db, "--out", str(out)])  # fmt: skip
    assert r.exit_code == 0 and out.exists()
    bad = tmp_path / "bad.csv"
    bad.write_text("unit_id,year,fuel,quantity,source\nu1,2020,coal?,1,x\n", encoding="utf-8")
    r = run.invoke(main, ["energy", "load", "uses", str(bad), "--by", "t", "--db", db])
    assert r.exit_code != 0 and "fuel" in r.output
