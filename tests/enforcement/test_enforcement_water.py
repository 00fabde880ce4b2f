"""Drinking-water source alerts in the enforcement loop (``bishui.enforcement.water``), on both
backends: routing (idempotent, one enforcement alert per water alert, severity by the routing
file, tasks per kind, joining a live task), the source task's state machine (no penalty, no
enterprise), who sees what through the API, and the migration from the previous schema."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from evidence_files import pdf, png

from bishui.enforcement import service as enf
from bishui.enforcement import tasks as tk
from bishui.enforcement import water as ew
from bishui.enforcement.audit import AuditLog
from bishui.enforcement.policy import load_policy
from bishui.errors import ConfigError, InputError, PermissionDenied
from bishui.store import Store, open_store, rows_to_columns
from bishui.water import outbox as wo
from bishui.water.supervision import SupervisionRules, run_alerts, stored_alerts

_spec = importlib.util.spec_from_file_location(
    "bishui_tests_root_conftest_enf_water", Path(__file__).resolve().parents[1] / "conftest.py"
)
assert _spec and _spec.loader
root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(root)


def _ref(name: str) -> dict[str, object]:
    """The record of an uploaded file, as ``evidence.refs`` hands it to the machine."""
    import hashlib

    digest = hashlib.sha256(name.encode()).hexdigest()
    return {"id": digest[:32], "name": name, "media_type": "image/jpeg", "size": 1,
            "sha256": digest}  # fmt: skip


POLICY = load_policy()
ROUTING = ew.load_routing()
SHAYANG, ZHONGXIANG = "420822", "420881"
USCC = "91420800MA4900000X"  # an enterprise of 沙洋 (for the enterprise account)
DAY = dt.date(2026, 7, 1)
PASSWORD = "correct horse battery"


def _registry(store: Store) -> None:
    store.upsert("regions", [
        {"code": "420800", "name": "荆门市", "kind": "city", "central": False, "parent": None},
        {"code": SHAYANG, "name": "沙洋县", "kind": "county", "parent": "420800", "central": False},
        {"code": ZHONGXIANG, "name": "钟祥市", "kind": "county_city", "parent": "420800",
         "central": False},
    ])  # fmt: skip
    store.upsert("enterprises", [{"uscc": USCC, "name": "甲化工", "industry": "2614",
                                  "region": SHAYANG, "key_unit": True}])  # fmt: skip
    store.upsert("sites", [
        {"id": sid, "kind": "water", "name": name, "region": region, "body": "lake",
         "target_class": 2, "control": "provincial", "assessment": False,
         "drinking_source": True, "attrs": {}}
        for sid, name, region in (("D1", "甲水库", SHAYANG), ("D2", "乙水库", ZHONGXIANG))
    ])  # fmt: skip


def _readings(store: Store, site: str, start: dt.datetime, values: list[float]) -> None:
    """Four-hourly NH3-N readings of *site* from *start* (a valid logger value each)."""
    rows = []
    for i, v in enumerate(values):
        t = start + dt.timedelta(hours=4 * i)
        rows.append((site, "w21003", "hour", t, "logger", v, None, None, None, "N", True, None,
                     "test", t + dt.timedelta(minutes=65)))  # fmt: skip
    store.write_measurements(rows_to_columns(rows))


def _stored(store: Store, rules: SupervisionRules, now: dt.datetime) -> list[dict[str, Any]]:
    run_alerts(store, now=now, rules=rules)
    return stored_alerts(store, limit=10_000)


def _count(store: Store, table: str) -> int:
    return int(store.query(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"])


T0 = dt.datetime.combine(DAY, dt.time())
RULES = SupervisionRules(window_days=2)


def _d1_exceeding(store: Store) -> dt.datetime:
    """D1: NH3-N above the Class Ⅱ limit 0.5 from 08:00 (peak 0.9: 超标倍数 0.8); D2 has no
    reading at all (one gap alert). Returns the time to evaluate at."""
    _registry(store)
    _readings(store, "D1", T0, [0.2, 0.2, 0.6, 0.9, 0.8, 0.7])
    return T0 + dt.timedelta(hours=21)


# ---------------------------------------------------------------- routing
def test_routing_raises_alerts_and_a_task_once(store: Store) -> None:
    now = _d1_exceeding(store)
    water = _stored(store, RULES, now)
    assert sorted((w["source"], w["kind"]) for w in water) == [("D1", "exceedance"),
                                                              ("D2", "gap")]  # fmt: skip
    r = wo.route(store, now=now)
    assert r.routed == 2 and r.joined == 0 and len(r.tasks) == 1
    by_kind = {a.finding["kind"]: a for a in r.alerts}
    ex, gap = by_kind["exceedance"], by_kind["gap"]
    assert ex.subject_kind == gap.subject_kind == tk.WATER_SOURCE
    assert (ex.severity, ex.rule_id, ex.site_code, ex.pollutant) == (
        "high", "water.exceedance", "D1", "w21003")  # fmt: skip
    assert ex.end == T0 + dt.timedelta(hours=20)  # the episode's last exceeding reading
    assert gap.severity == "low" and gap.state == "new" and not gap.task_id  # no task for a gap
    task = r.tasks[0]
    assert ex.task_id == task.id and task.alert_ids == (ex.id,)
    assert (task.subject_kind, task.uscc, task.site_code) == (tk.WATER_SOURCE, "", "D1")
    assert task.deadline == now + dt.timedelta(hours=POLICY.deadline_hours["high"])
    assert (task.state, task.assignee) == (tk.State.ASSIGNED, f"team:{SHAYANG}")
    assert task.title.startswith("甲水库（D1）饮用水水源地预警") and "氨氮" in task.title
    # The water alerts are routed with the enforcement alert they became (the same key).
    rows = {w["id"]: w for w in stored_alerts(store)}
    assert {w["state"] for w in rows.values()} == {"routed"}
    assert rows[ex.id]["alert_id"] == ex.id and rows[ex.id]["task_id"] == task.id
    assert rows[gap.id]["alert_state"] == "new" and rows[gap.id]["task_id"] is None
    # In the store: no enterprise, no outlet (NULL), the region of the source.
    stored = {a["id"]: a for a in enf.list_alerts(store)[1]}
    assert stored[ex.id]["uscc"] is None and stored[ex.id]["outlet_id"] is None
    assert stored[ex.id]["region"] == SHAYANG and stored[gap.id]["region"] == ZHONGXIANG
    assert stored[ex.id]["subject_kind"] == tk.WATER_SOURCE
    # Idempotent: a second run routes nothing, writes nothing.
    events = _count(store, "enforcement_audit")
    again = wo.route(store, now=now + dt.timedelta(minutes=1))
    assert (again.alerts, again.tasks, again.routed) == ([], [], 0)
    assert _count(store, "enforcement_audit") == events
    assert enf.verify_audit(store) == events
    snapshot, region = enf.get_task(store, task.id)
    assert region == SHAYANG and enf.replay_task(store, task.id).as_dict() == snapshot.as_dict()


def test_an_alert_that_keeps_being_seen_is_one_alert(store: Store) -> None:
    now = _d1_exceeding(store)
    _stored(store, RULES, now)
    first = wo.route(store, now=now)
    ex = next(a for a in first.alerts if a.finding["kind"] == "exceedance")
    # The episode goes on: the water alert's last_seen and evidence move, its key does not.
    _readings(store, "D1", T0 + dt.timedelta(hours=24), [0.75])
    later = now + dt.timedelta(hours=4)
    water = {w["id"]: w for w in _stored(store, RULES, later)}
    assert water[ex.id]["last_seen"] == later and water[ex.id]["state"] == "routed"
    assert water[ex.id]["evidence"]["until"] == "2026-07-02 00:00:00"
    assert len(water) == 2  # D1's exceedance, D2's gap: each still one water alert
    n_alerts, n_events = _count(store, "enforcement_alert"), _count(store, "enforcement_audit")
    r = wo.route(store, now=later)
    assert (r.alerts, r.routed) == ([], 0)
    assert _count(store, "enforcement_alert") == n_alerts == 2
    assert _count(store, "enforcement_audit") == n_events
    assert _count(store, "enforcement_task") == 1


def test_a_new_episode_joins_the_live_task_then_opens_a_new_one(store: Store) -> None:
    no_merge = dataclasses.replace(ROUTING, merge_hours=0.0)  # each episode its own alert
    now = _d1_exceeding(store)
    _stored(store, RULES, now)
    task = wo.route(store, now=now, routing=no_merge).tasks[0]
    # Back within the limit, then above it again: a second episode, a second water alert.
    _readings(store, "D1", T0 + dt.timedelta(hours=24), [0.3, 0.6])
    t1 = T0 + dt.timedelta(hours=29)
    _stored(store, RULES, t1)
    r = wo.route(store, now=t1, routing=no_merge)
    joined = [a for a in r.alerts if a.finding["kind"] == "exceedance"]
    assert r.tasks == [] and r.joined == 1 and len(joined) == 1
    assert joined[0].task_id == task.id and joined[0].state == "tasked"
    assert enf.audit_events(store, joined[0].subject)[-1].payload == {
        "task_id": task.id, "joined": True}  # fmt: skip
    assert enf.get_task(store, task.id)[0].alert_ids == task.alert_ids  # the task is unchanged
    # … and the joined alert is found from the task (what the task's API detail lists)
    linked = {a["id"] for a in enf.list_alerts(store, "task_id = ?", [task.id])[1]}
    assert linked == {*task.alert_ids, joined[0].id}
    # Once the task is closed, the next episode opens a new task.
    insp = tk.Actor("insp-1", tk.Role.INSPECTOR)
    for action, payload in (("visit", {"note": "库区巡查：上游养殖场尾水"}),
                            ("dispose", {"kind": "false_alarm", "reason": "仪器漂移，已校准"}),
                            ("close", {})):  # fmt: skip
        enf.transition(store, task.id, action, insp, now=t1 + dt.timedelta(hours=1), **payload)
    # the closure waits for a chief's approval (结案审批, the model city's policy; intended)
    enf.transition(store, task.id, "approve", tk.Actor("chief-1", tk.Role.CHIEF),
                   now=t1 + dt.timedelta(hours=1))  # fmt: skip
    _readings(store, "D1", T0 + dt.timedelta(hours=32), [0.3, 0.7])
    t2 = T0 + dt.timedelta(hours=37)
    _stored(store, RULES, t2)
    r2 = wo.route(store, now=t2, routing=no_merge)
    assert len(r2.tasks) == 1 and r2.tasks[0].id != task.id and r2.joined == 0
    assert enf.verify_audit(store) == _count(store, "enforcement_audit")


def test_a_new_episode_within_merge_hours_continues_the_live_alert(store: Store) -> None:
    """By default (merge_hours 72) a second crossing of the same source, kind and parameter
    continues the live alert: no second alert, the alert's end moves on, a ``merge`` event; once
    the alert's task is closed, the next episode is a new alert and a new task."""
    now = _d1_exceeding(store)
    _stored(store, RULES, now)
    first = wo.route(store, now=now)
    ex, task = next(a for a in first.alerts if a.finding["kind"] == "exceedance"), first.tasks[0]
    _readings(store, "D1", T0 + dt.timedelta(hours=24), [0.3, 0.6])
    t1 = T0 + dt.timedelta(hours=29)
    second = [w for w in _stored(store, RULES, t1) if w["id"] not in {a.id for a in first.alerts}]
    (w2,) = [w["id"] for w in second if w["kind"] == "exceedance"]
    r = wo.route(store, now=t1)
    # The exceedance (and D2's gap, seen again) continue their alerts; the trend is new.
    assert r.merged == len(second) - 1 and r.routed == len(second) and r.tasks == []
    assert [a.finding["kind"] for a in r.alerts] == ["trend"]
    rows = {w["id"]: w for w in stored_alerts(store)}
    assert rows[w2]["state"] == "routed" and rows[w2]["alert_id"] == ex.id
    stored = {a["id"]: a for a in enf.list_alerts(store)[1]}
    assert _count(store, "enforcement_alert") == len(first.alerts) + 1
    assert stored[ex.id]["end_ts"] > ex.end and stored[ex.id]["task_id"] == task.id
    last = enf.audit_events(store, ex.subject)[-1]
    assert last.action == "merge" and last.payload["water_alert"] == w2
    assert wo.route(store, now=t1 + dt.timedelta(minutes=1)).routed == 0  # once
    # Close the task: the next episode is a new alert with a new task.
    insp = tk.Actor("insp-1", tk.Role.INSPECTOR)
    for action, payload in (("visit", {"note": "库区巡查"}),
                            ("dispose", {"kind": "false_alarm", "reason": "仪器漂移，已校准"}),
                            ("close", {})):  # fmt: skip
        enf.transition(store, task.id, action, insp, now=t1 + dt.timedelta(hours=1), **payload)
    # the closure waits for a chief's approval (结案审批, the model city's policy; intended)
    enf.transition(store, task.id, "approve", tk.Actor("chief-1", tk.Role.CHIEF),
                   now=t1 + dt.timedelta(hours=1))  # fmt: skip
    _readings(store, "D1", T0 + dt.timedelta(hours=32), [0.3, 0.7])
    t2 = T0 + dt.timedelta(hours=37)
    _stored(store, RULES, t2)
    r2 = wo.route(store, now=t2)
    assert [a.finding["kind"] for a in r2.alerts] == ["exceedance"]  # (the gap merged again)
    assert len(r2.tasks) == 1 and r2.tasks[0].id != task.id
    assert enf.verify_audit(store) == _count(store, "enforcement_audit")


def test_trend_and_gap_raise_alerts_without_tasks_by_default(store: Store) -> None:
    _registry(store)
    # Rising towards 0.5 without reaching it: a trend (plus D2's gap).
    _readings(store, "D1", T0, [0.30, 0.32, 0.34, 0.36, 0.38, 0.40])
    now = T0 + dt.timedelta(hours=21)
    kinds = {w["kind"] for w in _stored(store, RULES, now)}
    assert kinds == {"trend", "gap"}
    r = wo.route(store, now=now)
    assert {(a.finding["kind"], a.severity) for a in r.alerts} == {("trend", "medium"),
                                                                   ("gap", "low")}  # fmt: skip
    assert r.tasks == [] and _count(store, "enforcement_task") == 0


def test_a_bureau_routing_file_opens_tasks_for_gaps(store: Store, tmp_path: Path) -> None:
    text = (Path(ew.__file__).parent / "data" / ew.DEFAULT_FILE).read_text("utf-8")
    mine = tmp_path / "routing.toml"
    gap_rule = 'task = false\nseverity = "low"'
    mine.write_text(text.replace(gap_rule, 'task = true\nseverity = "medium"'), encoding="utf-8")
    routing = ew.load_routing(mine)
    assert routing.kinds["gap"] == ew.KindRule(True, True, "medium")
    _registry(store)
    now = T0 + dt.timedelta(hours=21)
    _stored(store, RULES, now)  # no readings at all: one gap per source
    r = wo.route(store, now=now, routing=routing)
    assert sorted(t.site_code for t in r.tasks) == ["D1", "D2"]
    assert {t.severity for t in r.tasks} == {"medium"}
    assert {t.assignee for t in r.tasks} == {f"team:{SHAYANG}", f"team:{ZHONGXIANG}"}


def test_alerts_not_seen_for_long_are_not_routed(store: Store) -> None:
    now = _d1_exceeding(store)
    _stored(store, RULES, now)
    late = now + dt.timedelta(days=ROUTING.max_age_days + 1)
    assert wo.route(store, now=late).routed == 0
    assert {w["state"] for w in stored_alerts(store)} == {"new"}
    assert wo.route(store, now=now).routed == 2  # still routable when recent


def test_severity_mapping() -> None:
    sev = ROUTING.severity
    assert sev("exceedance", 0.5, 0.6) == "medium"  # 超标倍数 0.2
    assert sev("exceedance", 0.5, 0.75) == "high"  # exactly 0.5: the band's lower bound
    assert sev("exceedance", 0.5, 1.5) == "high"
    assert sev("exceedance", 6.0, 4.0) == "high"  # DO below its minimum: no 超标倍数
    assert sev("exceedance", None, 9.6) == "high"  # pH: a range, no 超标倍数
    assert sev("trend", 0.5, 0.45) == "medium" and sev("gap", 6.0, None) == "low"
    doc: dict[str, Any] = {
        "meta": {"version": "x"}, "routing": {"max_age_days": 7, "batch": 10},
        "kinds": {k: {"route": True, "task": False, "severity": "low"} for k in ew.KINDS},
    }  # fmt: skip
    bands = {"1": "high", "0": "low", "0.2": "medium"}
    doc["kinds"]["exceedance"] = {"route": True, "task": True, "severity": "high",
                                  "multiple": bands}  # fmt: skip
    r = ew.parse_routing(doc)
    assert r.kinds["exceedance"].multiple == ((0.0, "low"), (0.2, "medium"), (1.0, "high"))
    assert [r.severity("exceedance", 1.0, p) for p in (1.1, 1.5, 2.0)] == ["low", "medium", "high"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["kinds"].update(flood={"route": True, "task": True, "severity": "low"}),
         "kinds"),
        (lambda d: d["kinds"]["gap"].update(severity="grave"), "kinds.gap.severity"),
        (lambda d: d["kinds"]["gap"].update(route=False, task=True), "kinds.gap.task"),
        (lambda d: d["kinds"]["trend"].update(multiple={"-1": "low"}), "kinds.trend.multiple"),
        (lambda d: d["routing"].update(max_age_days=0), "routing.max_age_days"),
        (lambda d: d["routing"].update(merge_hours=-1), "routing.merge_hours"),
        (lambda d: d["routing"].update(batch=0), "routing.batch"),
        (lambda d: d["kinds"].pop("trend"), "water_routing"),
    ],
)  # fmt: skip
def test_routing_file_errors_name_the_field(change: Any, field: str) -> None:
    doc: dict[str, Any] = {
        "meta": {"version": "x"}, "routing": {"max_age_days": 7, "batch": 10},
        "kinds": {k: {"route": True, "task": k == "exceedance", "severity": "low"}
                  for k in ew.KINDS},
    }  # fmt: skip
    ew.parse_routing(doc)
    change(doc)
    with pytest.raises(ConfigError) as e:
        ew.parse_routing(doc)
    assert e.value.field == field


# ---------------------------------------------------------------- the source task's machine
T1 = dt.datetime(2026, 7, 2, 9)
SYS = tk.Actor("system", tk.Role.SYSTEM)
INSP = tk.Actor("insp-1", tk.Role.INSPECTOR)
SUP = tk.Actor("sup-1", tk.Role.SUPERVISOR)


def _source_task(log: AuditLog) -> tk.Task:
    t = tk.new_task("T1", ["a" * 24], "", "D1", "high", "甲水库 超标", T1, POLICY, log, SYS,
                    subject_kind=tk.WATER_SOURCE)  # fmt: skip
    t, _ = tk.apply(t, "assign", SUP, T1, POLICY, log, assignee="insp-1")
    t, _ = tk.apply(t, "visit", INSP, T1, POLICY, log, note="上游排查：发现网箱养殖")
    t, _ = tk.apply(t, "add_evidence", INSP, T1, POLICY, log, files=[_ref("网箱.jpg")])
    return t


def test_a_source_task_refuses_a_penalty() -> None:
    log = AuditLog()
    t = _source_task(log)
    with pytest.raises(tk.TransitionRefused) as e:
        tk.apply(t, "dispose", INSP, T1, POLICY, log,
                 **tk.penalty_payload("排污许可管理条例 第三十四条", "300000"))  # fmt: skip
    assert "no enterprise to penalise" in e.value.why and e.value.state is tk.State.IN_PROGRESS
    # The same penalty on an outlet task with the same evidence is accepted (the guard is the
    # subject's, not the payload's).
    outlet = dataclasses.replace(t, uscc=USCC, subject_kind=tk.OUTLET)
    done, _ = tk.apply(outlet, "dispose", INSP, T1, POLICY, AuditLog(),
                       **tk.penalty_payload("排污许可管理条例 第三十四条", "300000"))  # fmt: skip
    assert done.state is tk.State.AWAITING_APPROVAL  # a penalty waits for approval (issue 16)


def test_a_source_task_is_rectified_by_the_inspector_and_never_by_an_enterprise() -> None:
    log = AuditLog()
    t = _source_task(log)
    t, _ = tk.apply(t, "dispose", INSP, T1, POLICY, log, kind="rectification_order",
                    due="2026-07-20", note="责令清理网箱（县政府）")  # fmt: skip
    for ent in (tk.Actor("e", tk.Role.ENTERPRISE, ""), tk.Actor("e", tk.Role.ENTERPRISE, USCC)):
        with pytest.raises(PermissionDenied):
            tk.apply(t, "submit_rectification", ent, T1, POLICY, log, files=[_ref("x.pdf")])
    t, _ = tk.apply(t, "submit_rectification", INSP, T1, POLICY, log, files=[_ref("清理后.jpg")])
    t, _ = tk.apply(t, "verify_rectification", SUP, T1, POLICY, log, accepted=True)
    t, _ = tk.apply(t, "close", INSP, T1, POLICY, log)
    # closed once a chief approves the closure (结案审批, the model city's policy; intended)
    assert t.state is tk.State.AWAITING_CLOSURE
    t, _ = tk.apply(t, "approve", tk.Actor("chief-1", tk.Role.CHIEF), T1, POLICY, log)
    assert t.state is tk.State.CLOSED
    assert tk.replay(log.for_subject("task:T1"), POLICY) == t
    assert tk.visible_to(tk.Actor("e", tk.Role.ENTERPRISE, ""), [t]) == []
    assert tk.visible_to(INSP, [t]) == [t]
    # An outlet task keeps the enterprise's step: the inspector may not submit for it.
    outlet = dataclasses.replace(t, state=tk.State.DISPOSED, uscc=USCC, subject_kind=tk.OUTLET)
    with pytest.raises(PermissionDenied):
        tk.apply(outlet, "submit_rectification", INSP, T1, POLICY, AuditLog(), files=[_ref("x")])


def test_a_task_subject_is_checked() -> None:
    for uscc, kind, field in (("", tk.OUTLET, "uscc"), (USCC, tk.WATER_SOURCE, "uscc"),
                              ("", "river", "subject_kind")):  # fmt: skip
        with pytest.raises(InputError) as e:
            tk.new_task("T", ["a"], uscc, "D1", "high", "x", T1, POLICY, AuditLog(), SYS,
                        subject_kind=kind)  # fmt: skip
        assert e.value.field == field


# ---------------------------------------------------------------- who sees what (the API)
@pytest.fixture
def api(store: Store) -> Iterator[tuple[Store, dict[str, str], str, str]]:
    from bishui.web import accounts

    now = _d1_exceeding(store)
    _stored(store, RULES, now)
    r = wo.route(store, now=now)
    task = r.tasks[0].id
    gap = next(a.id for a in r.alerts if a.finding["kind"] == "gap")
    tokens: dict[str, str] = {}
    for name, role, kw in (
        ("admin", "admin", {}), ("analyst", "analyst", {}), ("inspector", "inspector", {}),
        ("county", "county", {"region": SHAYANG}), ("county2", "county", {"region": ZHONGXIANG}),
        ("enterprise", "enterprise", {"enterprise": USCC}), ("chief", "chief", {}),
    ):  # fmt: skip
        accounts.add_user(store, f"w.{name}", PASSWORD, role, **kw)
        tokens[name] = accounts.new_token(store, f"w.{name}", "test")[1]
    yield store, tokens, task, gap


def _h(tokens: dict[str, str], who: str) -> dict[str, str]:
    h = {"Accept": "application/json"}
    if who in tokens:
        h["Authorization"] = f"Bearer {tokens[who]}"
    return h


async def test_scope_of_source_alerts_and_tasks(
    api: tuple[Store, dict[str, str], str, str],
) -> None:
    from bishui.web import Settings, create_app

    store, tokens, task, gap = api
    app = create_app(store, Settings(secret=""))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver", timeout=30) as c:  # fmt: skip

        async def ids(who: str, path: str) -> set[str] | int:
            r = await c.get(path, headers=_h(tokens, who))
            return {x["id"] for x in r.json()["items"]} if r.status_code == 200 else r.status_code

        every = {a["id"] for a in enf.list_alerts(store)[1]}
        assert len(every) == 2
        for who in ("admin", "analyst", "inspector"):
            assert await ids(who, "/api/v1/alerts") == every
            assert await ids(who, "/api/v1/tasks") == {task}
        assert await ids("county", "/api/v1/alerts") == every - {gap}  # 沙洋: D1 only
        assert await ids("county", "/api/v1/tasks") == {task}
        assert await ids("county2", "/api/v1/alerts") == {gap}  # 钟祥: D2's gap
        assert await ids("county2", "/api/v1/tasks") == set()
        assert await ids("enterprise", "/api/v1/alerts") == set()
        assert await ids("enterprise", "/api/v1/tasks") == set()
        assert await ids("public", "/api/v1/alerts") == 401
        for who, code in (("county", 200), ("county2", 404), ("enterprise", 404), ("public", 401)):
            r = await c.get(f"/api/v1/tasks/{task}", headers=_h(tokens, who))
            assert r.status_code == code, (who, r.text)
        r = await c.post(f"/api/v1/tasks/{task}/submit_rectification", json={"files": ["x"]},
                         headers=_h(tokens, "enterprise"))  # fmt: skip
        assert r.status_code == 404
        # The water page's alerts name their task.
        r = await c.get("/api/v1/water/sources", params={"days": 2, "now": "2026-07-01T21:00:00"},
                        headers=_h(tokens, "county"))  # fmt: skip
        alerts = r.json()["alerts"]
        assert [(a["source"], a["state"], a["task_id"]) for a in alerts] == [("D1", "routed", task)]
        # A water alert's id (24 hex digits) is dismissable like a finding's.
        r = await c.post(f"/api/v1/alerts/{gap}/dismiss", json={"reason": "站房断电，已恢复"},
                         headers=_h(tokens, "inspector"))  # fmt: skip
        assert r.status_code == 200 and r.json()["state"] == "dismissed"


async def test_an_inspector_works_a_source_task_through_the_api(
    api: tuple[Store, dict[str, str], str, str],
) -> None:
    from bishui.web import Settings, create_app

    store, tokens, task, _ = api
    app = create_app(store, Settings(secret=""))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver", timeout=30) as c:  # fmt: skip

        async def act(action: str, body: dict[str, Any], who: str = "inspector") -> httpx.Response:
            return await c.post(f"/api/v1/tasks/{task}/{action}", json=body,
                                headers=_h(tokens, who))  # fmt: skip

        r = await c.get(f"/api/v1/tasks/{task}", headers=_h(tokens, "inspector"))
        assert r.json()["task"]["subject_kind"] == tk.WATER_SOURCE
        # the party of a source task is the source (issue 16 item 9); no location registered,
        # so a check-in records no distance
        r = await c.get(f"/api/v1/tasks/{task}/party", headers=_h(tokens, "inspector"))
        assert r.json()["party"]["name"] == "甲水库" and r.json()["party"]["uscc"] == ""
        assert r.json()["party"]["region"] == "沙洋县" and r.json()["synthetic"] is False
        r = await act("check_in", {"lat": 30.7, "lon": 112.4})
        assert r.status_code == 200 and "distance_m" not in r.json()["task"]["checkins"][0]
        r = await c.get(f"/api/v1/tasks/{task}/records/inspection", headers=_h(tokens, "admin"))
        assert r.status_code == 200 and "甲水库" in r.text and "法定代表人" in r.text
        assert (await act("visit", {"note": "沿库巡查，入库支流氨氮偏高"})).status_code == 200

        async def upload(name: str, media_type: str, content: bytes) -> str:
            r = await c.post(f"/api/v1/tasks/{task}/files", params={"name": name},
                             content=content, headers={**_h(tokens, "inspector"),
                                                       "Content-Type": media_type})  # fmt: skip
            assert r.status_code == 201, r.text
            return str(r.json()["file"]["id"])

        sample = await upload("支流采样.pdf", "application/pdf", pdf("tributary sample"))
        assert (await act("add_evidence", {"files": [sample]})).status_code == 200
        r = await act("dispose", {"kind": "penalty", "article": "排污许可管理条例 第三十四条",
                                  "amount": "300000"})  # fmt: skip
        assert r.status_code == 409 and "no enterprise to penalise" in r.json()["detail"]
        due = (dt.date.today() + dt.timedelta(days=30)).isoformat()
        r = await act("dispose", {"kind": "rectification_order", "due": due})
        assert r.status_code == 200
        r = await act("submit_rectification", {"files": [sample]}, "enterprise")
        assert r.status_code == 404
        photo = await upload("清理后.png", "image/png", png(seed=3))
        assert (await act("submit_rectification", {"files": [photo]})).status_code == 200
        assert (await act("verify_rectification", {"accepted": True})).status_code == 200
        r = await act("close", {})
        # the closure waits for the chief (结案审批, the model city's policy; intended)
        assert r.status_code == 200 and r.json()["task"]["state"] == "awaiting_closure"
        r = await act("approve", {}, "chief")
        assert r.status_code == 200 and r.json()["task"]["state"] == "closed"
    assert enf.replay_task(store, task).as_dict() == enf.get_task(store, task)[0].as_dict()
    notes = enf.notifications(store, task)
    assert not any(n["recipient"].startswith("enterprise:") for n in notes)
    assert "source:D1" in {n["recipient"] for n in notes}


# ---------------------------------------------------------------- migration
def test_a_store_of_the_previous_schema_migrates(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Open a store created by enforcement migrations 1–2 and water migration 1 (outlet alert,
    task and a water alert in their old shape), migrate, and find the data intact."""
    from bishui.enforcement import schema as enf_schema
    from bishui.water import schema as water_schema

    with monkeypatch.context() as m:
        m.setattr(enf_schema, "MIGRATIONS", enf_schema.MIGRATIONS[:2])
        m.setattr(water_schema, "MIGRATIONS", water_schema.MIGRATIONS[:1])
        old, url, pg_schema = root.make_store(backend, tmp_path)
        assert old.schema_version("enforcement") == 2 and old.schema_version("water") == 1
        _registry(old)
        site = USCC + "001"
        body = {"id": "T20260701-0001", "alert_ids": ["b" * 20], "uscc": USCC, "site_code": site,
                "severity": "high", "title": "old", "created": "2026-07-01T09:00:00",
                "deadline": "2026-07-03T09:00:00", "state": "open"}  # fmt: skip
        old.execute_many([
            ("INSERT INTO enforcement_alert (id, rule_id, severity, site_code, outlet_id, "
             "pollutant, start_ts, end_ts, uscc, region, created, state, task_id, finding) "
             "VALUES (?, 'EXC', 'high', ?, 'DA001', 'a21026', ?, ?, ?, ?, ?, 'tasked', ?, '{}')",
             ["b" * 20, site, T0, T0, USCC, SHAYANG, T0, body["id"]]),
            ("INSERT INTO enforcement_task (id, uscc, site_code, region, severity, state, "
             "title, created, deadline, updated, body) "
             "VALUES (?, ?, ?, ?, 'high', 'open', 'old', ?, ?, ?, ?)",
             [body["id"], USCC, site, SHAYANG, T0, T0, T0, json.dumps(body)]),
        ])  # fmt: skip
        now = _d1_exceeding_readings_only(old)
        run_alerts(old, now=now, rules=RULES)
        n_water = _count(old, "water_alerts")
        old.close()
    new = open_store(url, schema=pg_schema) if pg_schema else open_store(url)
    try:
        assert new.schema_version("enforcement") == len(enf_schema.MIGRATIONS) == 5
        assert new.schema_version("water") == len(water_schema.MIGRATIONS) == 2
        (alert,) = enf.list_alerts(new)[1]
        assert (alert["id"], alert["uscc"], alert["outlet_id"], alert["subject_kind"]) == (
            "b" * 20, USCC, "DA001", "outlet")  # fmt: skip
        t, region = enf.get_task(new, body["id"])
        assert (t.uscc, t.subject_kind, region) == (USCC, tk.OUTLET, SHAYANG)
        assert new.query("SELECT subject_kind FROM enforcement_task")[0]["subject_kind"] == "outlet"
        # no recorded policy version (migration 5): judged by the earliest (issue 19)
        assert t.policy_version == "" and new.query(
            "SELECT policy_version FROM enforcement_task")[0]["policy_version"] is None  # fmt: skip
        water = stored_alerts(new)
        assert len(water) == n_water and {w["state"] for w in water} == {"new"}
        assert {w["alert_id"] for w in water} == {None}
        r = wo.route(new, now=now)  # the old water alerts route on the new schema
        assert r.routed == n_water and len(r.tasks) == 1
    finally:
        root.drop_store(new)


def _d1_exceeding_readings_only(store: Store) -> dt.datetime:
    _readings(store, "D1", T0, [0.2, 0.2, 0.6, 0.9, 0.8, 0.7])
    return T0 + dt.timedelta(hours=21)


# ---------------------------------------------------------------- the model city, the runtime
def test_the_model_citys_degrading_source_gets_a_task(backend: str, tmp_path: Path) -> None:
    """惠亭水库 (WS14, Class Ⅱ) degrades from 2026-09-20 (bishui/demo/city.py): by the end of
    October its NH3-N exceedance is routed into an inspection task for 京山 (420882)."""
    spec = importlib.util.spec_from_file_location(
        "water_support_enf", Path(__file__).resolve().parents[1] / "water" / "water_support.py"
    )
    assert spec and spec.loader
    ws = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ws)
    store, _, _ = root.make_store(backend, tmp_path)
    try:
        ws.load_model_city(store, dt.datetime(2026, 10, 1), dt.datetime(2026, 11, 1), {"WS14"})
        now = dt.datetime(2026, 10, 31)
        run_alerts(store, now=now, rules=SupervisionRules(window_days=7))
        r = wo.route(store, now=now)
        (task,) = [t for t in r.tasks if t.site_code == "WS14"]
        assert task.title.startswith("惠亭水库（WS14）") and "超标 氨氮" in task.title
        assert enf.get_task(store, task.id)[1] == "420882"
        assert task.assignee == "team:420882" and task.subject_kind == tk.WATER_SOURCE
        nh3n = [a for a in r.alerts if (a.site_code, a.pollutant) == ("WS14", "w21003")
                and a.finding["kind"] == "exceedance"]  # fmt: skip
        assert nh3n and all(a.task_id == task.id for a in nh3n)
        peak = max(float(a.finding["evidence"]["peak"]) for a in nh3n)
        assert peak > 0.5 and task.severity == ROUTING.severity("exceedance", 0.5, peak)
    finally:
        root.drop_store(store)


def test_the_runtime_routes_after_the_water_supervision(store: Store) -> None:
    from bishui.runtime import refresh_engines, refresh_hooks

    # the application registered the domains' hooks (bishui.app.REFRESH): routing right after
    # the supervision that stores the alerts
    names = [name for name, _ in refresh_hooks()]
    assert names.index("water.outbox") == names.index("water.supervision") + 1
    _d1_exceeding(store)
    refresh_engines(store, T0 + dt.timedelta(hours=21))
    (task,) = enf.list_tasks(store, "subject_kind = ?", [tk.WATER_SOURCE])[1]
    assert task["site_code"] == "D1" and task["region"] == SHAYANG
    refresh_engines(store, T0 + dt.timedelta(hours=21, minutes=1))
    assert enf.list_tasks(store)[0] == 1
