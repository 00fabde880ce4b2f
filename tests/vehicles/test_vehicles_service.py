"""The vehicles service on both backends: registry, uploads and file import, the analysis and
its findings, alerts into enforcement, gas and patrol comparisons, the old-vehicle register,
report codes with published keys, and the audit rows every write leaves."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pytest

from bishui.enforcement import service as enforcement
from bishui.errors import ConflictError, InputError, NotFoundError
from bishui.store import Store
from bishui.vehicles import gas, oldvehicles, reportcode, service
from bishui.vehicles.simulate import SimConfig, SimDay, simulate

NOW = dt.datetime(2026, 11, 2, 20, 0)
DAY = dt.date(2026, 11, 2)


@pytest.fixture(scope="module")
def day() -> SimDay:
    return simulate(
        SimConfig(
            stations=4,
            tests_per_lane=12,
            seed=3,
            frauds={"clone": 0.2, "edited": 0.2, "equipment": 0.2},
        )
    )


def _load(store: Store, d: SimDay) -> None:
    for s in d.stations.values():
        service.save_station(store, s, "admin", NOW)
    for lane, an in d.analysers.items():
        service.save_lane(store, lane, lane.split("-")[0], "gasoline", an, "admin", NOW)
    service.save_vehicles(store, list(d.vehicles.values()), "admin", NOW)
    service.upload(store, d.inspections, "station", now=NOW)
    service.upload_captures(store, list(d.captures.values()), "blackbox", NOW)


def _audits(store: Store) -> list[str]:
    return [r["action"] for r in store.query("SELECT action FROM vehicles_audit ORDER BY seq")]


def test_upload_analyse_rank_and_alert(store: Store, day: SimDay) -> None:
    _load(store, day)
    back = service.inspections(store, DAY, DAY)
    assert len(back) == len(day.inspections)
    t0 = next(t for t in back if t.id == day.inspections[0].id)
    for ch, v in day.inspections[0].curve.items():
        assert np.allclose(t0.curve[ch], v)
    with pytest.raises(ConflictError):
        service.upload(store, day.inspections[:1], "station", now=NOW)
    found = service.analyse(store, DAY, DAY, "supervisor", NOW)
    rules_found = {f.rule_id for f in found}
    assert {"CLONE", "BB_EDITED", "BB_EQUIPMENT"} <= rules_found
    assert {f.station for f in found} == {"S01"}
    stored = service.findings(store)
    assert len(stored) == len({service.finding_id(f) for f in found})
    assert stored[0]["rule_name"]
    again = service.analyse(store, DAY, DAY, "supervisor", NOW)  # the same findings, same ids
    assert len(service.findings(store)) == len(stored) and len(again) == len(found)
    ranked = service.ranking(store, DAY, DAY)
    assert ranked[0]["station"] == "S01" and len(ranked) == 4
    n = service.route_alerts(store, found, now=NOW)
    assert n > 0
    rows = store.query("SELECT id, site_code, uscc FROM enforcement_alert")
    assert len(rows) == n and {r["site_code"] for r in rows} == {"S01"}
    assert rows[0]["uscc"] == day.stations["S01"].uscc
    kinds = store.query("SELECT DISTINCT subject_kind FROM enforcement_alert")
    assert [r["subject_kind"] for r in kinds] == ["inspection_station"]
    _, tasks = enforcement.list_tasks(store)
    assert tasks and {t["suggested_article"] for t in tasks} == {"大气污染防治法 第一百一十二条"}
    assert service.route_alerts(store, found, now=NOW) == n  # handed again: no new alerts
    assert store.count("enforcement_alert") == n
    acts = _audits(store)
    assert acts[:1] == ["save_station"] and "upload_inspections" in acts
    assert acts.count("analyse") == 2


def test_file_import_is_all_or_nothing(store: Store, day: SimDay) -> None:
    t = day.inspections[1]
    row = {
        "kind": "inspection",
        "id": "F1",
        "station": t.station,
        "lane": t.lane,
        "vin": t.vin,
        "plate": t.plate,
        "method": t.method,
        "start": t.start.isoformat(),
        "claimed_result": 1,
        "curve": {k: v.tolist() for k, v in t.curve.items()},
    }
    cap = {
        "kind": "capture",
        "inspection_id": "F1",
        "box_serial": "BB1",
        "analyser": t.analyser,
        "start": t.start.isoformat(),
        "curve": {k: v.tolist() for k, v in t.curve.items()},
    }
    text = json.dumps(row, ensure_ascii=False) + "\n" + json.dumps(cap) + "\n"
    assert service.import_jsonl(store, text, "station", NOW) == {"inspections": 1, "captures": 1}
    bad = dict(row, id="F2", method="warp")
    with pytest.raises(InputError) as e:
        text = json.dumps(dict(row, id="F3")) + "\n" + json.dumps(bad)
        service.import_jsonl(store, text, "s", NOW)
    assert e.value.row == 2 and e.value.field == "method"
    assert store.count("vehicles_inspections") == 1  # nothing of the bad file
    with pytest.raises(InputError):
        service.parse_inspection(dict(row, curve={"co": [1.0] * 5000}))
    with pytest.raises(InputError):
        service.parse_inspection(dict(row, curve={"co": [1, 2], "warp": [1, 2]}))


def test_gas_check_invalidates_later_tests(store: Store, day: SimDay) -> None:
    _load(store, day)
    an = day.analysers["S02-L1"]
    failed = gas.GasCheck(
        an,
        "S02",
        dt.datetime(2026, 11, 2, 7, 50),
        "unannounced",
        "low",
        {"hc": 200.0, "co": 0.5},
        {"hc": 240.0, "co": 0.5},
    )
    assert service.record_gas_check(store, failed, "supervisor", now=NOW) is False
    ok = gas.GasCheck(
        an,
        "S02",
        dt.datetime(2026, 11, 2, 10, 0),
        "self",
        "low",
        {"hc": 200.0, "co": 0.5},
        {"hc": 201.0, "co": 0.5},
    )
    assert service.record_gas_check(store, ok, "station", now=NOW) is True
    found = service.analyse(store, DAY, DAY, "supervisor", NOW)
    found = [f for f in found if f.rule_id == "GAS_FAIL"]
    tests = [t for t in day.inspections if t.analyser == an]
    expect = {t.id for t in tests if t.start < dt.datetime(2026, 11, 2, 10, 0)}
    assert expect and {f.subject for f in found} == expect
    rows = service.gas_checks(store)
    assert [r["passed"] for r in rows] == [False, True]
    # with daily self-checks required: every analyser but S02-L1's lacks one before its first test
    found = service.analyse(store, DAY, DAY, "supervisor", NOW, require_daily_check=True)
    missing = {f.evidence["analyser"] for f in found if f.rule_id == "GAS_MISSING"}
    assert missing == set(day.analysers.values())  # S02-L1's self-check came at 10:00, too late
    assert rows[0]["detail"]["hc"]["passed"] is False


def test_patrol_and_old_vehicles(store: Store) -> None:
    rows = [
        {
            "kind": "reference",
            "station": f"S{i:02d}",
            "at": "2026-11-01T09:00",
            "vin": "REF",
            "pollutant": "co",
            "station_value": 0.5 + 0.01 * (i % 3),
        }
        for i in range(1, 9)
    ]
    rows.append(
        {
            "kind": "reference",
            "station": "S09",
            "at": "2026-11-01T09:00",
            "vin": "REF",
            "pollutant": "co",
            "station_value": 0.3,
        }
    )
    assert service.record_patrol(store, rows, "supervisor", NOW) == 9
    summary = service.patrol_summary(store)
    assert summary["reference"]["S09"]["co"]["outlier"] is True
    patrol = service._patrol_findings(store, {}, NOW)
    assert [(f.rule_id, f.station) for f in patrol] == [("PATROL", "S09")]
    assert summary["reference"]["S01"]["co"]["outlier"] is False
    es = [
        oldvehicles.OldVehicle(f"V{i}", f"鄂H{i}", "420881", "diesel", 2, dt.date(2026, 6, 30))
        for i in range(3)
    ]
    service.save_old(store, es, "admin", NOW)
    e = service.close_old(store, "V1", "scrapped", "BF-001", DAY, "admin", NOW)
    assert e.closed == DAY
    prog = oldvehicles.progress(service.old_register(store), dt.date(2026, 12, 7))
    assert prog == [
        {
            "region": "420881",
            "total": 3,
            "done": 1,
            "pending": 2,
            "overdue": 2,
            "done_permille": 333,
        }
    ]
    with pytest.raises(NotFoundError):
        service.close_old(store, "NOPE", "scrapped", "x", DAY, "admin", NOW)


def test_report_codes_online(store: Store, day: SimDay) -> None:
    _load(store, day)
    sk = reportcode.private_from_seed(bytes(range(32)))
    service.publish_key(store, reportcode.public_of("k1", sk, dt.date(2026, 1, 1)), "admin", NOW)
    t = day.inspections[0]
    r = service.issue_report(store, t.id, "k1", sk, "https://hbj.jingmen.gov.cn/v", "platform", NOW)
    assert service.lookup(store, r["report_no"])["summary"] == r["summary"]
    assert service.verify_code(store, r["payload"]).ok
    with pytest.raises(ConflictError):
        service.issue_report(store, t.id, "k1", sk, "https://x", "platform", NOW)
    other = dict(r["summary"], report_no="420802000000000000")
    other = reportcode.sign(other, "k1", sk, "https://x/v")
    assert service.verify_code(store, other).reason == "unknown_report"
    flipped = dict(r["summary"], result="1" if r["summary"]["result"] != "1" else "0")
    forger = reportcode.private_from_seed(bytes(32))
    tampered = reportcode.sign(flipped, "k1", forger, "https://x/v")
    assert service.verify_code(store, tampered).reason == "bad_signature"
    assert "publish_key" in _audits(store) and "issue_report" in _audits(store)


def test_alerts_need_a_station_credit_code(day: SimDay) -> None:
    f = service.rules.Finding("CLONE", "high", "S01", "T1", {}, NOW)
    st = {"S01": dataclasses.replace(day.stations["S01"], uscc="")}
    assert service.alerts([f], st) == []
    assert service.alerts([dataclasses.replace(f, severity="low")], day.stations) == []
    (a,) = service.alerts([f], day.stations)
    assert a.rule_id == "vehicles.CLONE" and a.region == day.stations["S01"].region


def test_refresh_analyses_the_previous_day_once(store: Store, day: SimDay) -> None:
    _load(store, day)
    assert service.refresh(store, dt.datetime(2026, 11, 2, 12, 0)) == []  # no tests the day before
    found = service.refresh(store, dt.datetime(2026, 11, 3, 0, 1))
    assert found and store.count("enforcement_alert") > 0
    assert service.refresh(store, dt.datetime(2026, 11, 3, 0, 2)) == []  # once


def test_register_checks_then_writes(store: Store, day: SimDay) -> None:
    s = day.stations["S01"]
    data = {
        "stations": [
            {
                "code": "S01",
                "name": s.name,
                "region": s.region,
                "uscc": s.uscc,
                "opens": "07:30",
                "closes": "19:00",
            }
        ],
        "lanes": [{"code": "S01-L1", "station": "S01", "fuel": "gasoline", "analyser": "AN-1"}],
        "vehicles": [dataclasses.asdict(v) for v in list(day.vehicles.values())[:3]],
    }
    for v in data["vehicles"]:
        v.pop("registered")
    assert service.register(store, data, "admin", NOW) == {"stations": 1, "lanes": 1, "vehicles": 3}
    assert service.stations(store)["S01"].opens == dt.time(7, 30)
    assert service.lane_analysers(store) == {"S01-L1": "AN-1"}
    bad = dict(data, stations=[dict(data["stations"][0], uscc="91420800XXXXXXXXX1")])
    with pytest.raises(InputError) as e:
        service.register(store, bad, "admin", NOW)
    assert e.value.field == "uscc"
    with pytest.raises(InputError):
        service.register(
            store, {"lanes": [{"code": "L", "station": "S", "fuel": "steam"}]}, "a", NOW
        )


def test_self_checks_stored_and_a_failed_one_invalidates(store: Store, day: SimDay) -> None:
    from bishui.vehicles import selfcheck as sc

    _load(store, day)
    lane = next(t.lane for t in day.inspections if t.method in sc.ITEMS["coastdown"][2])
    st = lane.split("-")[0]
    seven = dt.datetime.combine(DAY, dt.time(7))
    failed = sc.SelfCheck(st, lane, "coastdown", seven, 20.0, 23.0)
    assert service.record_selfchecks(store, [failed], "station", NOW) == 1
    (back,) = service.selfchecks(store)
    assert (back.lane, back.item, back.acdt_s) == (lane, "coastdown", 23.0)
    found = service.analyse(store, DAY, DAY, "supervisor", NOW)
    bad = {f.subject for f in found if f.rule_id == "SELFCHECK_FAIL"}
    uses = {
        t.id for t in day.inspections if t.lane == lane and t.method in sc.ITEMS["coastdown"][2]
    }
    assert bad == uses and "record_selfchecks" in _audits(store)
