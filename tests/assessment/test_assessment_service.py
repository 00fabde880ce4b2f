"""The assessment service on both backends: runs, recomputation, allocation, asset tables,
terms, cases and the departure summary; every write audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from assess_helpers import load_regions

from bishui.assessment import audit as au
from bishui.assessment import scorecard as sc
from bishui.assessment import service
from bishui.assessment.scorecard import Evidence
from bishui.demo import history
from bishui.errors import ConflictError, InputError
from bishui.store import Store

NOW = dt.datetime(2026, 12, 7, 10, 0)
CARD = sc.load_scorecard("scorecard_2026_demo")


def _evidence(good: str, pm: str) -> dict[str, Evidence]:
    return {
        "air_good": Evidence(good, "%", "t"),
        "air_pm25": Evidence(pm, "µg/m3", "t"),
        "water_attain": Evidence("80.0", "%", "t"),
        "water_cwqi": Evidence("4.1", "", "t"),
    }


EVIDENCE = {
    "420802": _evidence("82.5", "45"),
    "420804": _evidence("90.0", "40"),
    "420822": _evidence("70.0", "61"),
}


def test_run_stored_recomputed_ranked_and_audited(store: Store) -> None:
    load_regions(store)
    rid = service.store_run(store, CARD, EVIDENCE, by="ana", role="analyst", now=NOW)
    assert rid == "scorecard_2026_demo:2026:v1"
    assert service.recompute(store, rid)
    tab = service.run_table(store, rid)
    top = tab["counties"][0]
    assert top["county"] == "420804" and top["rank"] == 1 and top["name"] == "掇刀区"
    ind = top["indicators"]
    assert ind["air_good"]["points"] == "12.00"  # 15 × (90 − 70) / 25
    assert (
        ind["energy_intensity"]["no_data"] and ind["energy_intensity"]["evidence"]["value"] is None
    )
    # a county sees its own
    assert [c["county"] for c in service.run_table(store, rid, ["420822"])["counties"]] == [
        "420822"
    ]
    # tampering with a stored point is caught by recomputation
    store.execute(
        "UPDATE assessment_evidence SET points = '15.00' WHERE run_id = ? AND county = ? "
        "AND indicator = 'air_good'",
        [rid, "420822"],
    )
    assert not service.recompute(store, rid)
    log = service.audit_log(store, f"run:{rid}")
    assert log[0]["action"] == "score" and log[0]["by_user"] == "ana"
    # a second run is a new version; year on year compares the latest runs
    rid2 = service.store_run(store, CARD, EVIDENCE, by="ana", role="analyst", now=NOW)
    assert rid2.endswith(":v2")
    yoy = service.year_on_year(store, 2026)
    assert yoy[0]["this"]["run"] == rid2 and "last" not in yoy[0]


def test_allocation_conserves_the_fund(store: Store) -> None:
    load_regions(store)
    rid = service.store_run(store, CARD, EVIDENCE, by="ana", role="analyst", now=NOW)
    aid = service.allocate(
        store,
        rid,
        fund="2026年生态补偿资金",
        kind="compensation",
        rule={"kind": "above_floor", "floor": 10},
        total_fen=123_456_789,
        by="fin",
        role="finance",
        now=NOW,
    )
    a = service.allocation(store, aid)
    assert sum(int(s["fen"]) for s in a["shares"]) == 123_456_789
    assert int(a["total_fen"]) == 123_456_789
    assert service.audit_log(store, f"allocation:{aid}")[0]["payload"]["total_fen"] == 123_456_789
    with pytest.raises(InputError):
        service.allocate(
            store,
            rid,
            fund="x",
            kind="lottery",
            rule={"kind": "proportional"},
            total_fen=1,
            by="fin",
            role="finance",
        )


HEAD = "county,year,resource,category,item,cause,quantity,unit\n"


def test_assets_load_balance_and_continuity(store: Store) -> None:
    load_regions(store)
    y25 = HEAD + (
        "420802,2025,land,耕地,opening,,100.00,hm2\n"
        "420802,2025,land,耕地,decrease,human,1.25,hm2\n"
        "420802,2025,land,耕地,closing,,98.75,hm2\n"
    )
    service.load_assets(store, y25.encode(), filename="y25.csv", by="ana", role="analyst", now=NOW)
    bad = HEAD + (
        "420802,2026,land,耕地,opening,,99.00,hm2\n420802,2026,land,耕地,closing,,99.00,hm2\n"
    )
    with pytest.raises(InputError) as e:
        service.load_assets(store, bad.encode(), filename="bad.csv", by="ana", role="analyst")
    assert e.value.value[0]["field"] == "opening"
    assert service.asset_lines(store, "420802", 2026) == []  # nothing half-loaded
    good = bad.replace("99.00,hm2\n420802", "98.75,hm2\n420802").replace(
        "closing,,99.00", "closing,,98.75"
    )
    service.load_assets(store, good.encode(), filename="y26.csv", by="ana", role="analyst")
    lines = service.asset_lines(store, "420802", 2026)
    assert lines[0]["balanced"] and Decimal(lines[0]["closing"]) == Decimal("98.75")


def test_term_cases_and_departure_summary(store: Store) -> None:
    load_regions(store)
    service.store_run(store, CARD, EVIDENCE, by="ana", role="analyst", now=NOW)
    term = au.Term("张三", "区长", "420802", dt.date(2025, 3, 1), dt.date(2026, 11, 30))
    tid = service.add_term(store, term, by="adm", role="admin")
    with pytest.raises(InputError):
        service.open_case(
            store,
            leader="张三",
            county="420802",
            article="9",
            item=1,
            forms=["admonition"],
            facts="x",
            opened=dt.date(2026, 12, 1),
            by="adm",
            role="admin",
        )
    cid = service.open_case(
        store,
        leader="张三",
        county="420802",
        article="5",
        item=6,
        forms=["admonition", "apology"],
        facts="任期内发生一般突发环境事件（演示）",
        opened=dt.date(2026, 12, 1),
        term_id=tid,
        by="adm",
        role="admin",
    )
    service.set_case_state(store, cid, "decided", by="adm", role="admin")
    with pytest.raises(ConflictError):
        service.set_case_state(store, cid, "open", by="adm", role="admin")
    s = service.departure_summary(store, tid)
    assert s["term"]["years"] == [2025, 2026]
    t = s["targets"]
    assert t["no_data"] >= 4 and t["met"] + t["missed"] + t["no_data"] == len(CARD.indicators)
    assert s["cases"][0]["article"] == "5" and s["cases"][0]["state"] == "decided"
    assert [e["action"] for e in service.audit_log(store, f"case:{cid}")] == [
        "open_case",
        "case_state",
    ]


def test_score_year_from_the_engines(store: Store) -> None:
    sub = load_regions(store, sites=True)
    history.generate(store, sub, dt.datetime(2026, 7, 1), dt.datetime(2026, 7, 4))
    rid = service.score_year(store, "scorecard_2026_demo", by="ana", role="analyst", now=NOW)
    tab = service.run_table(store, rid)
    assert len(tab["counties"]) == len(service.counties(store))
    for c in tab["counties"]:
        good = c["indicators"]["air_good"]["evidence"]
        if good["value"] is not None:
            assert good["partial"] and 0 <= Decimal(good["value"]) <= 100
            assert good["inputs"]["valid_days"] <= 3
        for code in ("energy_intensity", "energy_total", "emission_reduction"):
            assert c["indicators"][code]["no_data"]
    assert service.recompute(store, rid)


def test_quality_link_beside_monitoring(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from bishui.assessment import sources

    load_regions(store)
    # the water engine's class counts for the county (Ⅰ … 劣Ⅴ), as its annual assessment gives
    by_class = [0, 2, 3, 1, 0, 0]
    monkeypatch.setattr(
        sources,
        "water_attainment",
        lambda st, c, y: Evidence(
            "83.3", "%", "t", False, {"by_class": by_class, "attained": 5, "targets": 6}
        ),
    )
    link = service.quality_link(store, "420802", 2026)
    assert link["water"]["monitoring"] == {
        "Ⅰ": "0",
        "Ⅱ": "2",
        "Ⅲ": "3",
        "Ⅳ": "1",
        "Ⅴ": "0",
        "劣Ⅴ": "0",
    }
    assert link["water"]["agree"] is None  # no account on file yet
    head = "county,year,resource,category,item,cause,quantity,unit\n"
    rows = [
        f"420802,2026,water_quality,{k},{item},,{v},section"
        for k, v in zip(["Ⅱ", "Ⅲ", "Ⅳ"], [2, 3, 1], strict=True)
        for item in ("opening", "closing")
    ]
    service.load_assets(
        store, (head + "\n".join(rows) + "\n").encode(), filename="q.csv", by="ana", role="analyst"
    )
    assert service.quality_link(store, "420802", 2026)["water"]["agree"] is True
    rows[-1] = "420802,2026,water_quality,Ⅳ,closing,,2,section"
    rows[-2] = "420802,2026,water_quality,Ⅳ,opening,,2,section"
    service.load_assets(
        store, (head + "\n".join(rows) + "\n").encode(), filename="q2.csv", by="ana", role="analyst"
    )
    assert service.quality_link(store, "420802", 2026)["water"]["agree"] is False
