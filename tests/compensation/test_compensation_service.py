"""The store-backed service on both backends: run, idempotence, corrections, explain, confirm.

One store per backend for the module: the model city's registry and July 2026 of synthetic
history (``comp_store.load_city``). The tests run in file order on it: the first run, a
re-run, then a late corrected value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from comp_store import change_value, load_city, load_registry, root

from bishui.cli import main
from bishui.compensation import explain, load_agreement, service
from bishui.compensation.jingmen import AGREEMENTS_DIR, load_jingmen_agreements
from bishui.compensation.period import Period
from bishui.errors import ConfigError, ConflictError, InputError
from bishui.store import Store

START, END = dt.datetime(2026, 7, 1), dt.datetime(2026, 7, 16)


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def city(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, str]]:
    store, url, schema = root.make_store(str(request.param), tmp_path_factory.mktemp("comp"))
    load_city(store, START, END)
    try:
        yield store, (url if schema is None else f"{url}?schema={schema}")
    finally:
        root.drop_store(store)


def _balances_from_heads(store: Store) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for st in service.heads(store, Period.parse("2026")):
        for t in st.transfers:
            out[t.payee] = out.get(t.payee, Decimal(0)) + t.amount
            out[t.payer] = out.get(t.payer, Decimal(0)) - t.amount
    return {k: v for k, v in sorted(out.items()) if v}


def test_run_produces_a_statement_for_every_agreement(city: tuple[Store, str]) -> None:
    store, _ = city
    items = service.run(store, "2026", by="test", now=dt.datetime(2026, 11, 22, 9))
    ids = {i.statement.agreement_id for i in items}
    assert ids == set(load_jingmen_agreements())
    # 2 monthly × 12 + 1 quarterly × 4 + 5 yearly
    assert len(items) == 33 and {i.action for i in items} == {"new"}
    by_id = {i.statement.id: i.statement for i in items}
    # July has data: the July and Q3 statements are computed; the air year is held (31 days)
    for sid in (
        "jingmen-zhupihe-sishuiqiao/2026-07/v1",
        "jingmen-tianmenhe-tuoshi/2026-07/v1",
        "jingmen-zhupihe-gongjiawan/2026-Q3/v1",
        "jingmen-zhanghe-reservoir/2026/v1",
        "jingmen-hanjiang-luohanzha/2026/v1",
    ):
        assert by_id[sid].status == "computed", (sid, by_id[sid].notes)
    assert by_id["jingmen-air-dongbao/2026/v1"].status == "held"
    assert "少于 324 个" in by_id["jingmen-air-dongbao/2026/v1"].notes[0]
    assert by_id["jingmen-zhupihe-sishuiqiao/2026-08/v1"].status == "held"
    # 漳河: 1 month at Class Ⅰ of the 10 of the baseline, forest 1.02 ≥ 1 →
    # 450万 × (0.8 × 0.1 + 0.2 × 1) = 126万, of which 漳河新区's own quarter is no transfer
    assert by_id["jingmen-zhanghe-reservoir/2026/v1"].amount == Decimal("1260000.00")
    # the evidence names the stored values used
    pt = by_id["jingmen-zhupihe-gongjiawan/2026-Q3/v1"].evidence["inputs"]["points"]["WS04"]
    assert "source:synthetic" in pt["flags"] and any(f.startswith("sha256=") for f in pt["flags"])
    assert any(f.startswith("used:logger=") for f in pt["flags"])
    assert "模拟数据" in pt["source"]
    # every stored statement recomputes to its own hash from the stored agreement
    for sid in by_id:
        assert service.verify_stored(store, sid), sid
    bal = service.balances(store)
    assert sum(bal.values(), Decimal(0)) == 0
    assert {k: v for k, v in bal.items() if v} == _balances_from_heads(store)


def test_rerun_adds_nothing(city: tuple[Store, str]) -> None:
    store, _ = city
    service.run(store, "2026", by="test")  # idempotent: the state the tests build on
    n = store.query("SELECT COUNT(*) AS n FROM compensation_statement")[0]["n"]
    j = store.query("SELECT COUNT(*) AS n FROM compensation_journal")[0]["n"]
    items = service.run(store, "2026", by="test")
    assert {i.action for i in items} == {"unchanged"}
    assert store.query("SELECT COUNT(*) AS n FROM compensation_statement")[0]["n"] == n
    assert store.query("SELECT COUNT(*) AS n FROM compensation_journal")[0]["n"] == j


def test_confirmation_steps(city: tuple[Store, str]) -> None:
    store, _ = city
    service.run(store, "2026", by="test")  # idempotent: the state the tests build on
    sid = "jingmen-zhupihe-gongjiawan/2026-Q3/v1"
    c = service.confirm(store, sid, "420822", "acknowledge", by="sy.official")
    assert c.states["420822"] == "acknowledged" and c.state == "pending"
    with pytest.raises(InputError):
        service.confirm(store, sid, "420802", "dispute", by="db.official", reason=" ")
    c = service.confirm(store, sid, "420802", "dispute", by="db.official", reason="流量数据有误")
    assert c.state == "disputed"
    with pytest.raises(ConflictError):
        service.confirm(store, sid, "420822", "acknowledge", by="sy.official")
    with pytest.raises(ConflictError):  # not a party
        service.confirm(store, sid, "420881", "acknowledge", by="zx.official")
    events = service.confirmation_events(store, sid)
    assert [(e["party"], e["state"], e["by_user"]) for e in events] == [
        ("420822", "acknowledged", "sy.official"),
        ("420802", "disputed", "db.official"),
    ]
    assert events[1]["reason"] == "流量数据有误"


def test_corrected_value_gives_version_2(city: tuple[Store, str]) -> None:
    store, _ = city
    service.run(store, "2026", by="test")  # idempotent: the state the tests build on
    before = service.head(store, "jingmen-zhupihe-gongjiawan", Period.parse("2026-Q3"))
    assert before is not None
    # a late COD value at 马良龚家湾 (WS04), far above the others
    change_value(store, "WS04", "w01018", dt.datetime(2026, 7, 10, 8), 400.0)
    items = service.run(store, "2026-Q3", by="test")
    acts = {i.statement.agreement_id: i for i in items}
    v2 = acts["jingmen-zhupihe-gongjiawan"]
    assert v2.action == "corrected" and v2.statement.version == 2
    assert v2.statement.supersedes == before.content_hash
    assert v2.statement.difference == v2.statement.amount - before.amount
    assert v2.statement.difference is not None and v2.statement.difference < 0
    # the other points' data did not change
    assert acts["jingmen-tianmenhe-tuoshi"].action == "unchanged"
    assert acts["jingmen-zhupihe-sishuiqiao"].action == "unchanged"
    # v1 stays, verifiable; its confirmations are closed
    assert service.verify_stored(store, before.id)
    assert service.verify_stored(store, v2.statement.id)
    assert service.confirmation(store, before.id).state == "superseded"
    assert service.confirmation(store, v2.statement.id).state == "pending"
    bal = service.balances(store)
    assert sum(bal.values(), Decimal(0)) == 0
    assert {k: v for k, v in bal.items() if v} == _balances_from_heads(store)
    # the correction's journal entry posts only the difference
    fen = store.query(
        "SELECT SUM(p.amount_fen) AS s, COUNT(*) AS n FROM compensation_posting p JOIN "
        "compensation_journal j ON j.seq = p.seq WHERE j.statement_id = ?",
        [v2.statement.id],
    )[0]
    assert fen["s"] == 0 and fen["n"] > 0
    text = explain(service.load_statement(store, v2.statement.id), service.region_names(store))
    assert "更正：本版取代 v1" in text
    # the year's party statement nets the current versions only
    ps = service.party_statement_of(store, "420822", Period.parse("2026"))
    assert ps.net == bal["420822"]


def test_explain_and_export_cli_from_the_store(city: tuple[Store, str], tmp_path: Path) -> None:
    store, url = city  # DuckDB: a second connection to the open file shares its instance
    service.run(store, "2026", by="test")  # idempotent: the state the tests build on
    r = CliRunner().invoke(main, ["compensation", "run", "--period", "2026-07", "--db", url])
    assert r.exit_code == 0, r.output
    assert "jingmen-zhupihe-sishuiqiao/2026-07/v1\tunchanged" in r.output
    assert "沙洋县（420822）\t付" in r.output
    r = CliRunner().invoke(main, ["compensation", "agreements", "--stored", "--db", url])
    assert r.exit_code == 0 and "jingmen-zhanghe-reservoir\tv1\tverified" in r.output
    r = CliRunner().invoke(
        main,
        [
            "compensation",
            "explain",
            "--statement",
            "jingmen-zhanghe-reservoir/2026/v1",
            "--db",
            url,
            "--html",
            str(tmp_path / "s.html"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "重算核验：一致" in r.output and "months_class1" in r.output
    page = (tmp_path / "s.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in page and "模拟数据" in page
    out = tmp_path / "s.xlsx"
    r = CliRunner().invoke(
        main, ["compensation", "export", "--period", "2026", "--out", str(out), "--db", url]
    )
    assert r.exit_code == 0, r.output
    from openpyxl import load_workbook

    wb = load_workbook(out)
    assert wb.sheetnames == ["结算单", "各方对账单"]
    ws = wb["结算单"]  # title, period, units, source, the synthetic-data notice, then the table
    assert ws["A1"].value == "生态补偿结算单及各方对账单" and ws["A2"].value == "时段：2026"
    assert str(ws["A3"].value).startswith("单位：元") and "模拟数据" in str(ws["A5"].value)
    assert ws["A6"].value == "结算单编号"


def test_tampered_statement_is_refused(city: tuple[Store, str]) -> None:
    store, _ = city
    service.run(store, "2026", by="test")  # idempotent: the state the tests build on
    sid = "jingmen-tianmenhe-tuoshi/2026-07/v1"
    body = store.query("SELECT body FROM compensation_statement WHERE id = ?", [sid])[0]["body"]
    store.execute(
        "UPDATE compensation_statement SET body = ? WHERE id = ?",
        [body.replace('"amount": "-', '"amount": "-1'), sid],
    )
    with pytest.raises(ConflictError):
        service.load_statement(store, sid)
    store.execute("UPDATE compensation_statement SET body = ? WHERE id = ?", [body, sid])
    assert service.verify_stored(store, sid)


def test_changed_rule_needs_a_new_version(city: tuple[Store, str], tmp_path: Path) -> None:
    store, _ = city
    text = (AGREEMENTS_DIR / "tianmenhe-tuoshi.toml").read_text(encoding="utf-8")
    (tmp_path / "t.toml").write_text(text.replace('"10 万元"', '"11 万元"'), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        service.sync_agreements(store, tmp_path)
    assert "new version" in e.value.rule
    # as version 2 it is a new rule: the July statement gets a corrected version under it
    service.run(store, "2026", by="test")
    v2_text = text.replace('"10 万元"', '"11 万元"').replace("version = 1", "version = 2")
    a2 = service.add_agreement(store, v2_text, by="test")
    (item,) = service.run(store, "2026-07", agreements={a2.id: a2}, by="test")
    st = item.statement
    assert item.action == "corrected" and st.agreement_version == 2
    assert st.difference is not None and st.difference <= 0  # a larger base, paid
    assert service.verify_stored(store, st.id)
    assert service.verify_stored(store, "jingmen-tianmenhe-tuoshi/2026-07/v1")  # under v1
    # going back to the older rule is refused
    with pytest.raises(ConflictError):
        service.run(store, "2026-07", agreements={"x": load_jingmen_agreements()[a2.id]})


def test_air_change_from_the_store(store: Store) -> None:
    """PM10 80 → 72, PM2.5 50 → 46 µg/m³ at AQ06 (notes worked example 11): 120万."""
    load_registry(store)
    rows: dict[str, list[object]] = {k: [] for k in ("parameter", "ts", "value")}
    for year, pm10, pm25 in ((2025, 80.0, 50.0), (2026, 72.0, 46.0)):
        hours = np.arange(
            np.datetime64(f"{year}-07-01T00"),
            np.datetime64(f"{year}-07-28T00"),
            np.timedelta64(1, "h"),
        )
        for code, v in (("a34002", pm10), ("a34004", pm25)):
            rows["parameter"] += [code] * len(hours)
            rows["ts"] += list(hours.astype("datetime64[us]"))
            rows["value"] += [v] * len(hours)
    n = len(rows["value"])
    store.write_measurements(
        {
            "site_id": np.full(n, "AQ06", dtype=object),
            "parameter": np.array(rows["parameter"], dtype=object),
            "period": np.full(n, "hour", dtype=object),
            "ts": np.array(rows["ts"], dtype="datetime64[us]"),
            "origin": np.full(n, "logger", dtype=object),
            "value": np.array(rows["value"], dtype=np.float64),
            "vmin": np.full(n, np.nan),
            "vmax": np.full(n, np.nan),
            "cou": np.full(n, np.nan),
            "flag": np.full(n, "N", dtype=object),
            "valid": np.ones(n, dtype=bool),
            "n_valid": np.full(n, -1, dtype=np.int32),
            "source": np.full(n, "test", dtype=object),
            "received_at": np.array(rows["ts"], dtype="datetime64[us]"),
        }
    )
    text = (AGREEMENTS_DIR / "air-zhanghe.toml").read_text(encoding="utf-8")
    text = text.replace('period = "year"', 'period = "month"').replace(
        "min_count = 324", "min_count = 27"
    )
    text = text.replace('id = "jingmen-air-zhanghe"', 'id = "test-air-zhanghe-monthly"')
    a = load_agreement(text, set(service.region_names(store)), service.known_points(store))
    with pytest.raises(ConfigError):  # a rule must be in the store before it is used
        service.run(store, "2026-07", agreements={a.id: a}, by="test")
    a = service.add_agreement(store, text, by="test")
    items = service.run(store, "2026-07", agreements={a.id: a}, by="test")
    (st,) = [i.statement for i in items]
    assert st.status == "computed" and st.amount == Decimal("1200000.00")
    ind = st.evidence["inputs"]["points"]["AQ06"]["indicators"]["a34002"]
    assert (ind["value"], ind["previous"], ind["count"]) == ("72", "80", 27)
    assert service.verify_stored(store, st.id)
