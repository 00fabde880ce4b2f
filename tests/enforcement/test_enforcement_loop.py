"""The loop finding → alert → task → disposal → closure, the audit chain and notifications."""

import dataclasses
import datetime as dt
import json
import logging
from pathlib import Path

import pytest

from bishui.enforcement import alerts as al
from bishui.enforcement import notify
from bishui.enforcement import tasks as tk
from bishui.enforcement.audit import AuditLog
from bishui.enforcement.policy import load_policy, parse_policy
from bishui.enforcement.tasks import Action, Actor, Role, State
from bishui.errors import ConfigError, ConflictError, InputError
from bishui.sources import findings as fd
from bishui.sources.findings import OutletRef
from bishui.sources.rules import load_ruleset

POLICY = load_policy()
RULES = load_ruleset()
T0 = dt.datetime(2026, 3, 2, 9, 0)
SITE = "91130200699229617X001"
SYS = Actor("system", Role.SYSTEM)
SUP = Actor("sup-1", Role.SUPERVISOR)
INSP = Actor("insp-1", Role.INSPECTOR)
ENT = Actor("ent-1", Role.ENTERPRISE, SITE[:18])


def _ref(name: str) -> dict[str, object]:
    # an uploaded file's record (bishui.enforcement.evidence.refs)
    import hashlib

    digest = hashlib.sha256(name.encode()).hexdigest()
    return {"id": digest[:32], "name": name, "sha256": digest}


def _finding(rule: str = "EXC", hour: int = 10, site: str = SITE) -> fd.Finding:
    return fd.make(RULES[rule], RULES.version, OutletRef(site, "DA001"), "a21026",
                   T0.replace(hour=hour), T0.replace(hour=hour + 2), {"peak": 260.0})  # fmt: skip


def test_full_loop_with_notifications(caplog: pytest.LogCaptureFixture) -> None:
    log = AuditLog()
    sender = notify.LoggingSender()
    f1, f2 = _finding(), _finding("FLAT", 14)
    alerts = al.alerts_from_findings([f1, f2, f1], [], T0, log, SYS)
    assert [a.id for a in alerts] == [f1.key, f2.key] and alerts[0].uscc == SITE[:18]
    assert al.alerts_from_findings([f1], [a.id for a in alerts], T0, log, SYS) == []
    task, alerts = al.open_task("T1", alerts, T0, POLICY, log, SYS)
    assert task.severity == "high" and task.deadline == T0 + dt.timedelta(hours=48)
    assert task.suggested_article == "排污许可管理条例 第三十四条"
    assert all(a.state is al.AlertState.TASKED and a.task_id == "T1" for a in alerts)
    with pytest.raises(ConflictError):
        al.open_task("T2", alerts, T0, POLICY, log, SYS)
    notify.dispatch(log.for_subject("task:T1")[0], task, sender)

    steps = [
        (Action.ASSIGN, SUP, {"assignee": "insp-1"}),
        (Action.VISIT, INSP, {"note": "现场检查"}),
        (Action.ADD_EVIDENCE, INSP, {"files": [_ref("dcs-screenshot.png")]}),
        (Action.DISPOSE, INSP, {"kind": "rectification_order", "due": "2026-03-20"}),
        (Action.SUBMIT_RECTIFICATION, ENT, {"files": [_ref("整改报告.pdf")]}),
        (Action.VERIFY_RECTIFICATION, INSP, {"accepted": True}),
        (Action.CLOSE, INSP, {}),
        # closure approval (结案审批, the model city's policy; intended change): a chief closes
        (Action.APPROVE, Actor("chief-1", Role.CHIEF), {}),
    ]
    now = T0
    with caplog.at_level(logging.INFO, logger="bishui.enforcement"):
        for action, actor, payload in steps:
            now += dt.timedelta(hours=1)
            task, ev = tk.apply(task, action, actor, now, POLICY, log, **payload)
            notify.dispatch(ev, task, sender)
    assert task.state is State.CLOSED
    recipients = [n.recipient for n in sender.sent]
    assert recipients == ["role:supervisor", "insp-1", f"enterprise:{SITE[:18]}", "insp-1",
                          "role:chief", f"enterprise:{SITE[:18]}", "insp-1"]  # fmt: skip
    assert [n.subject for n in sender.sent][-3:] == [
        "任务 T1 申请结案，待审批", "任务 T1 已办结", "任务 T1 结案已审批"]  # fmt: skip
    assert "notify insp-1" in caplog.text
    log.verify()
    assert tk.replay(log.for_subject("task:T1"), POLICY) == task


def test_open_task_refusals() -> None:
    log = AuditLog()
    a = al.alerts_from_findings([_finding(), _finding(site="914403001922038216001")], [], T0,
                                log, SYS)  # fmt: skip
    with pytest.raises(InputError):
        al.open_task("T", a, T0, POLICY, log, SYS)
    with pytest.raises(InputError):
        al.open_task("T", [], T0, POLICY, log, SYS)


def test_dismiss_alert() -> None:
    log = AuditLog()
    (a,) = al.alerts_from_findings([_finding("RANGE")], [], T0, log, SYS)
    with pytest.raises(InputError):
        al.dismiss(a, " ", T0, log, SUP)
    d = al.dismiss(a, "量程设置错误，已更正", T0, log, SUP)
    assert d.state is al.AlertState.DISMISSED
    with pytest.raises(ConflictError):
        al.dismiss(d, "again", T0, log, SUP)
    # Below the severity floor: no alert.
    info = dataclasses.replace(_finding(), severity="info")
    assert al.alerts_from_findings([info], [], T0, log, SYS) == []


def test_audit_chain_detects_tampering() -> None:
    log = AuditLog()
    log.append(T0, "a", "system", "task:1", "create", "", "open", {"x": 1})
    e2 = log.append(T0, "b", "supervisor", "task:1", "assign", "open", "assigned",
                    {"assignee": "i"})  # fmt: skip
    log.verify()
    events = list(log)
    forged = dataclasses.replace(events[0], payload={"x": 2})
    with pytest.raises(ConflictError, match="hash"):
        AuditLog([forged, e2])
    with pytest.raises(ConflictError, match="follow"):
        AuditLog([e2])
    with pytest.raises(ConflictError, match="earlier"):
        log.append(T0 - dt.timedelta(seconds=1), "c", "system", "task:1", "x", "a", "b")
    assert AuditLog(events).head == e2.hash


def test_policy_documents(tmp_path: Path) -> None:
    assert POLICY.deadline("low", T0) == T0 + dt.timedelta(hours=240)
    assert POLICY.escalation_role(5) == "director"
    doc = {"meta": {"version": "x"}, "deadline_hours": {"high": 1},
           "escalation": {"every_hours": 1, "roles": ["s"]},
           "penalty_articles": {"A": [1, 2]}, "rule_articles": {"EXC": "B"}}  # fmt: skip
    with pytest.raises(ConfigError, match="rule_articles"):
        parse_policy(doc)
    with pytest.raises(ConfigError):
        parse_policy({"meta": {}})
    bad = tmp_path / "p.toml"
    bad.write_text("[x", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_policy(bad)
    with pytest.raises(ConfigError):
        load_policy(tmp_path / "none.toml")


def test_enterprise_sees_its_own_alerts() -> None:
    log = AuditLog()
    mine, other = al.alerts_from_findings(
        [_finding(), _finding(site="914403001922038216001")], [], T0, log, SYS
    )
    assert al.visible_to(ENT, [mine, other]) == [mine]
    assert al.visible_to(INSP, [mine, other]) == [mine, other]


def test_json_forms() -> None:
    log = AuditLog()
    alerts = al.alerts_from_findings([_finding()], [], T0, log, SYS)
    task, alerts = al.open_task("T1", alerts, T0, POLICY, log, SYS)
    d = json.loads(json.dumps(task.as_dict(), ensure_ascii=False))
    assert d["state"] == "open" and d["allowed_actions"] == ["assign", "escalate"]
    assert d["deadline"] == "2026-03-04T09:00:00"
    a = json.loads(json.dumps(alerts[0].as_dict(), ensure_ascii=False))
    assert a["state"] == "tasked" and a["finding"]["rule_id"] == "EXC"
