"""The model city's permits and a short run of the checks over its synthetic history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bishui.demo import city, history
from bishui.demo import city_permits as citydemo
from bishui.enforcement import service as enf
from bishui.enforcement import tasks as tk
from bishui.registry import apply
from bishui.sources import service
from bishui.sources.evaluate import score
from bishui.store import open_store


@pytest.fixture(scope="module")
def model() -> city.ModelCity:
    return city.build()


def test_every_enterprise_has_a_permit_listing_its_outlets(model: city.ModelCity) -> None:
    permits = citydemo.model_city_permits(model)
    current = {p.uscc: p for p in permits if p.is_in_force(dt.date(2026, 1, 1))}
    assert set(current) == {e.uscc for e in model.registry.enterprises}
    for s in model.registry.sites:
        if s.kind.startswith("source"):
            p = current[s.enterprise]
            outlet = p.outlet(s.outlet)
            assert outlet is not None and outlet.limits, s.id
            assert all(lim.standard == model.limits[s.id]["standard"]
                       for lim in outlet.limits if lim.pollutant != "w01001")  # fmt: skip
    amended = [p for p in permits if p.version == 2]
    assert len(amended) == 1 and amended[0].valid_from == citydemo.AMEND_DATE
    assert amended[0].annual_caps["a21026"] > current[amended[0].uscc].annual_caps["a21026"]


def test_load_and_check_the_model_city(tmp_path: Path, model: city.ModelCity) -> None:
    # DuckDB only: the service's two-backend behaviour is covered by test_sources_service.py;
    # this is the model city's integration, and its history is the slow part.
    store = open_store(tmp_path / "city.duckdb")
    apply(store, model.registry)
    first = citydemo.load_demo_permits(store, model)
    assert first["new"] == len(citydemo.model_city_permits(model))
    assert citydemo.load_demo_permits(store, model)["new"] == 0
    start, end = dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 4)
    history.generate(store, model, start, end)
    r = service.run_checks(store, start, end, now=dt.datetime(2026, 3, 5))
    assert r.outlets == sum(s.kind.startswith("source") for s in model.registry.sites)
    assert not [f for f in r.findings if f.rule_id == "NOPERMIT"]  # every outlet is permitted
    # the same days were just checked (the platform calls its hooks every minute): skipped
    assert service.refresh(store, dt.datetime(2026, 3, 4, 6), days=3) is None
    again = service.refresh(store, dt.datetime(2026, 3, 4, 6), days=3, every=dt.timedelta(0))
    assert again is not None and again.new == [] and again.alerts == 0
    # a task of the simulator's data, worked to closure through the service
    assert r.tasks
    task_id = r.tasks[0]
    boss, insp = tk.Actor("chief", tk.Role.SUPERVISOR), tk.Actor("li", tk.Role.INSPECTOR)
    at = dt.datetime(2026, 3, 5, 9)
    enf.transition(store, task_id, "assign", boss, now=at, assignee="li")
    enf.transition(store, task_id, "visit", insp, now=at, note="现场核查")
    enf.transition(store, task_id, "dispose", insp, now=at, kind="false_alarm",
                   reason="模拟数据")  # fmt: skip
    task, _ = enf.transition(store, task_id, "close", insp, now=at)
    # the closure waits for a chief (结案审批, the model city's policy; intended)
    assert task.state == "awaiting_closure"
    task, _ = enf.transition(store, task_id, "approve", tk.Actor("zhang", tk.Role.CHIEF), now=at)
    assert task.state == "closed" and enf.verify_audit(store) > 4
    assert enf.replay_task(store, task_id).as_dict() == task.as_dict()
    store.close()


def test_score_counts_hits_and_unexplained_findings() -> None:
    t = dt.datetime(2026, 3, 1)
    events = [{"kind": "fraud_zero_flow", "site_id": "S", "parameter": "w01018",
               "start": "2026-03-01T00", "end": "2026-03-02T00"}]  # fmt: skip
    findings = [
        {"rule_id": "ZFLOW", "site_id": "S", "pollutant": "w01018", "start_ts": t,
         "end_ts": t + dt.timedelta(hours=5)},
        {"rule_id": "ZFLOW", "site_id": "S", "pollutant": "w01018",
         "start_ts": t + dt.timedelta(days=3), "end_ts": t + dt.timedelta(days=3, hours=2)},
    ]  # fmt: skip
    rows = score(findings, events, t, t + dt.timedelta(days=10), 10, {"S": {"w01018"}})
    (z,) = [x for x in rows if x["rule"] == "ZFLOW"]
    assert (z["events"], z["detected"], z["unexplained"]) == (1, 1, 1)
    assert z["per_outlet_day"] == pytest.approx(0.1)
