"""``bishui report`` end to end on a DuckDB file, and the one header-rows helper of the
exports (bishui.export_header) through both writers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from reports_support import air_store

from bishui.app import open_store
from bishui.cli import main
from bishui.compensation.export import write_table
from bishui.export_header import SYNTHETIC_NOTICE, header_rows
from bishui.web.export import to_csv, to_xlsx


def test_header_rows() -> None:
    assert header_rows("表") == [["表"]]
    rows = header_rows("空气质量日报", place="荆门市", period="2026-11-05", units="μg/m³",
                       source="碧水", synthetic=True)  # fmt: skip
    assert rows == [["空气质量日报"], ["地点：荆门市；时段：2026-11-05"], ["单位：μg/m³"],
                    ["数据来源：碧水"], [SYNTHETIC_NOTICE]]  # fmt: skip
    en = header_rows("Air", period="2026", units="µg/m³", synthetic=True, lang="en")
    assert en[1] == ["Period: 2026"] and "synthetic" in en[-1][0]


def test_web_writers_put_the_rows_first_and_neutralise_them() -> None:
    pre = header_rows("=cmd", units="mg/L", synthetic=True)
    text = to_csv(["a"], [[1]], pre).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["'=cmd"] and lines[1] == ["单位：mg/L"] and lines[3:] == [["a"], ["1"]]
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(to_xlsx(["a"], [[1]], "s", pre))).active
    assert ws is not None and ws["A1"].value == "'=cmd" and ws["A4"].value == "a"
    assert ws.freeze_panes == "A5" and ws["A1"].font.bold


def test_compensation_writer_csv_and_bad_suffix(tmp_path: Path) -> None:
    pre = header_rows("结算单", period="2026", units="元", synthetic=True)
    sheet = ((("金额", "amount"),), [{"amount": Decimal("1.50")}])
    out = write_table(tmp_path / "s.csv", {"s": sheet}, preamble=pre)
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines == ["结算单", "时段：2026", "单位：元", SYNTHETIC_NOTICE, "金额", "1.50"]
    # a party named like a formula is neutralised, in CSV and Excel (export_header.safe_cell)
    bad = ((("单位", "party"), ("金额", "amount")), [{"party": "=HYPERLINK(1)", "amount": "-3"}])
    out = write_table(tmp_path / "f.csv", {"s": bad}, preamble=[["+title"]])
    assert out.read_text(encoding="utf-8-sig").splitlines() == [
        "'+title", "单位,金额", "'=HYPERLINK(1),-3"
    ]  # fmt: skip
    from openpyxl import load_workbook

    ws = load_workbook(write_table(tmp_path / "f.xlsx", {"s": bad}, preamble=[["@x"]])).active
    assert ws is not None and ws["A1"].value == "'@x" and ws["A3"].value == "'=HYPERLINK(1)"
    import pytest

    from bishui.errors import InputError

    with pytest.raises(InputError):
        write_table(tmp_path / "s.txt", {"s": ((("金额", "amount"),), [])})


def test_report_cli(tmp_path: Path) -> None:
    db = str(tmp_path / "r.duckdb")
    s = open_store(db)
    air_store(s)
    s.close()
    run = CliRunner().invoke
    out = tmp_path / "d.pdf"
    r = run(main, ["report", "generate", "air-daily", "2026-11-05", "--db", db, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "stored air-daily-2026-11-05-v1" in r.output and out.read_bytes().startswith(b"%PDF")
    r = run(main, ["report", "list", "--db", db])
    assert (
        r.exit_code == 0
        and "air-daily-2026-11-05-v1" in r.output
        and "环境空气质量日报" in r.output
    )
    again = tmp_path / "again.pdf"
    r = run(main, ["report", "get", "air-daily-2026-11-05-v1", "--db", db, "--out", str(again)])
    assert r.exit_code == 0 and again.read_bytes() == out.read_bytes()
    r = run(main, ["report", "reproduce", "air-daily-2026-11-05-v1", "--db", db])
    assert r.exit_code == 0 and "identical" in r.output
    r = run(main, ["report", "generate", "air-month", "2026-11", "--db", db, "--no-store",
                   "--as-of", "2026-12-01", "--out", str(tmp_path / "m.pdf")])  # fmt: skip
    assert r.exit_code == 0, r.output
    r = run(main, ["report", "list", "--db", db, "--kind", "air-month"])
    assert "air-month-2026-11" not in r.output  # --no-store kept nothing
    for bad in (
        ["report", "generate", "air-daily", "2026-13-05", "--db", db],
        ["report", "generate", "air-month", "2026-11", "--db", db, "--no-store"],
        ["report", "generate", "air-month", "2026-11", "--db", db, "--as-of", "soon"],
        ["report", "generate", "air-month", "2026-11", "--db", db, "--font-cjk", "/no/such.ttf"],
        ["report", "get", "nope-2026-v1", "--db", db, "--out", str(tmp_path / "x.pdf")],
    ):
        r = run(main, bad)
        assert r.exit_code != 0, bad
        assert "Traceback" not in r.output, r.output
    r = run(main, ["report", "generate", "bogus", "2026", "--db", db])
    assert r.exit_code == 2  # click refuses an unknown kind
