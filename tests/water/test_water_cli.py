"""``bishui water``: classify, assess, rank, alerts (DuckDB file store with the model city)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from water_support import load_model_city

from bishui.cli import main
from bishui.store import open_store


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("water_cli") / "city.duckdb"
    store = open_store(path)
    try:
        load_model_city(store, dt.datetime(2026, 9, 1), dt.datetime(2026, 11, 1))
    finally:
        store.close()
    return str(path)


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, ["water", *args])
    return r.exit_code, r.stdout, r.stderr


def test_classify_one_sample() -> None:
    code, out, _ = run("classify", "--body", "river", "w21003=1.2", "w01001=7.5", "w01009=6.1")
    assert code == 0
    assert "水质类别 class: Ⅳ类" in out and "氨氮(0.2)" in out


def test_classify_lake_tp_and_unknown_parameter_reported() -> None:
    code, out, _ = run("classify", "--body", "lake", "w21011=0.05", "x99=1")
    assert code == 0 and "Ⅲ类" in out and "unknown parameters (not assessed): x99" in out
    code, _, err = run("classify", "--strict", "w21011=0.05", "x99=1")
    assert code == 2 and "x99" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["w21003=abc"], "w21003: must be a number (got 'abc')"),
        (["w21003"], "each must be CODE=VALUE"),
        (["w21003=-1"], "must not be negative"),
        (["w01001=15"], "pH must be within 0–14"),
        (["--body", "sea", "w21003=1"], "body: must be 'river' or 'lake'"),
        ([], "give CODE=VALUE pairs"),
    ],
)
def test_classify_bad_input_is_refused_clearly(args: list[str], message: str) -> None:
    code, _, err = run("classify", *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_classify_csv(tmp_path: Path) -> None:
    src = tmp_path / "s.csv"
    src.write_text(
        "id,body,w21003,w21011,w01009\nA,river,0.45,0.12,6.5\nB,湖库,2.87,0.05,4.0\n",
        encoding="utf-8",
    )
    out = tmp_path / "classes.csv"
    code, text, _ = run("classify", "--csv", str(src), "--out", str(out))
    assert code == 0 and "劣Ⅴ类" in text
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][:3] == ["样品", "水体类型", "水质类别"]
    assert [r[2] for r in rows[1:]] == ["Ⅲ类", "劣Ⅴ类"]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,w21003\nA,x\n", encoding="utf-8")
    code, _, err = run("classify", "--csv", str(bad))
    assert code == 2 and "row 2, w21003: must be a number" in err


def test_assess_month_writes_the_bureau_tables(db: str, tmp_path: Path) -> None:
    out = tmp_path / "2026-09.xlsx"
    code, text, err = run("assess", "--db", db, "--period", "2026-09", "--out", str(out))
    assert code == 0, err
    assert "2026年9月 断面水质状况" in text and "惠亭水库" in text and "达标" in text
    wb = load_workbook(out)
    assert wb.sheetnames == ["断面水质状况", "河流湖库水质状况", "区县水质统计"]
    sections = list(wb["断面水质状况"].values)
    assert sections[0][:2] == ("断面编号", "断面名称") and len(sections) == 16
    assert {r[-5] for r in sections[1:]} <= {"Ⅰ类", "Ⅱ类", "Ⅲ类", "Ⅳ类", "Ⅴ类", "劣Ⅴ类"}
    counties = list(wb["区县水质统计"].values)
    assert counties[-1][1] == "荆门市(全市)" and counties[-1][2] == 15


def test_assess_csv_and_bad_period(db: str, tmp_path: Path) -> None:
    out = tmp_path / "q.csv"
    code, _, err = run("assess", "--db", db, "--period", "2026-Q4", "--out", str(out))
    assert code == 0, err
    assert out.exists() and (tmp_path / "q-2.csv").exists() and (tmp_path / "q-3.csv").exists()
    code, _, err = run("assess", "--db", db, "--period", "2026-13")
    assert code == 2 and "period: written 2026" in err
    code, _, err = run(
        "assess", "--db", db, "--period", "2026-09", "--out", str(tmp_path / "x.pdf")
    )
    assert code == 2 and "out: must end in .xlsx or .csv" in err


def test_rank(db: str) -> None:
    code, text, err = run("rank", "--db", db, "--period", "2026-10")
    assert code == 0, err
    assert "荆门市 CWQI" in text and "区县城市水质指数排名" in text
    lines = [ln for ln in text.splitlines() if ln.startswith("1 ")]
    assert any("漳河水库" in ln for ln in lines)


def test_alerts(db: str) -> None:
    code, text, err = run("alerts", "--db", db, "--now", "2026-10-31T00:00", "--days", "10")
    assert code == 0, err
    assert "惠亭水库" in text and "超标" in text and "new" in err
    code, _, err = run("alerts", "--db", db, "--now", "2026-10-31T00:00", "--days", "10")
    assert code == 0 and "0 new" in err
    code, _, err = run("alerts", "--db", db, "--now", "yesterday")
    assert code == 2 and "now: an ISO time" in err


def test_alerts_route_into_enforcement(db: str) -> None:
    """``--route``: the stored alerts become enforcement alerts and tasks (惠亭水库's among
    them); a second run routes nothing; ``--dry-run --route`` is refused."""
    args = ("alerts", "--db", db, "--now", "2026-10-31T00:00", "--days", "7", "--route")
    code, text, err = run(*args)
    assert code == 0, err
    assert "routed to enforcement:" in err and "routed" in text
    store = open_store(db)
    try:
        tasks = store.query(
            "SELECT site_code, region FROM enforcement_task WHERE subject_kind = 'water_source'"
        )
        n = len(tasks)
        assert ("WS14", "420882") in {(t["site_code"], t["region"]) for t in tasks}
    finally:
        store.close()
    code, _, err = run(*args, "--json")
    assert code == 0, err
    store = open_store(db)
    try:
        assert len(store.query("SELECT id FROM enforcement_task")) == n
    finally:
        store.close()
    code, _, err = run("alerts", "--db", db, "--dry-run", "--route")
    assert code == 2 and "route: not with --dry-run" in err
    listed = CliRunner().invoke(main, ["tasks", "list", "--db", db])
    assert listed.exit_code == 0, listed.stderr
    ws14 = [ln for ln in listed.stdout.splitlines() if "WS14" in ln and "惠亭水库" in ln]
    assert ws14 and "饮用水水源地" in ws14[0]
