"""Citizen reports in the store, on both backends: the loop from submission to closure
through enforcement's alerts and tasks, the refusals, the audit chain, and the demo's seed."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

from bishui.demo import city
from bishui.enforcement import service as enf
from bishui.enforcement import tasks as tk
from bishui.errors import ConflictError, InputError, NotFoundError, PermissionDenied
from bishui.participation import disclosure
from bishui.participation import reports as rp
from bishui.participation import service as svc
from bishui.registry import Registry, apply
from bishui.store import Store

RULES = rp.load_rules()
T0 = dt.datetime(2026, 12, 7, 9, 0)
TEXT = "夜间工业园区内烟囱冒浓黑烟，气味刺鼻。"


@cache
def _registry() -> Registry:
    reg = city.build().registry
    return Registry(regions=reg.regions, enterprises=reg.enterprises, sites=reg.sites)


def _submit(store: Store, minutes: int = 0, contact: str = "") -> tuple[str, str]:
    sub = rp.check_submission(RULES, 31.0357, 112.2048, TEXT, contact)
    return svc.submit(store, RULES, sub, now=T0 + dt.timedelta(minutes=minutes))


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def test_a_report_runs_through_the_enforcement_loop(store: Store) -> None:
    apply(store, _registry())
    inspector = tk.Actor("zhang", tk.Role.INSPECTOR)
    chief = tk.Actor("li", tk.Role.CHIEF)
    refused, code_r = _submit(store, 0)
    low, code_l = _submit(store, 1)
    high, code_h = _submit(store, 2, contact="13800000000")
    assert svc.status(store, code_h, now=at(0.1))["state"] == "received"
    assert store.query("SELECT region FROM participation_report WHERE id = ?", [high])[0][
        "region"
    ]  # the nearest site's region

    # refusals: an analyst may not triage; an unknown reason; an unknown code
    with pytest.raises(PermissionDenied):
        svc.accept(store, high, "wang", "analyst", now=at(0.2))
    with pytest.raises(InputError):
        svc.reject(store, refused, "zhang", "inspector", "no-such-reason", now=at(0.2))
    with pytest.raises(NotFoundError):
        svc.status(store, rp.new_code(RULES))

    # received → closed (rejected, the category shown)
    svc.reject(store, refused, "zhang", "inspector", "duplicate", now=at(0.3))
    view = svc.status(store, code_r, now=at(0.3))
    assert (view["state"], view["outcome"]) == ("closed", "rejected:duplicate")
    with pytest.raises(rp.ReportRefused):
        svc.accept(store, refused, "zhang", "inspector", now=at(0.4))

    # received → accepted (a low alert waits) → closed when enforcement dismisses the alert
    out = svc.accept(store, low, "zhang", "inspector", severity="low", now=at(0.5))
    assert out["state"] == "accepted" and out["task_id"] is None
    alert = enf.list_alerts(store, "id = ?", [out["alert_id"]])[1][0]
    assert (alert["subject_kind"], alert["rule_id"], alert["state"]) == (
        "citizen_report", svc.RULE_ID, "new"
    )  # fmt: skip
    enf.dismiss_alert(store, out["alert_id"], inspector, "现场核查无异常", now=at(0.6))
    view = svc.status(store, code_l, now=at(0.7))
    assert (view["state"], view["outcome"]) == ("closed", "not_substantiated")

    # received → accepted → in_progress (a high alert opens a task at once)
    out = svc.accept(store, high, "zhang", "inspector", severity="high", now=at(1))
    assert out["state"] == "in_progress" and out["task_id"]
    task_id = out["task_id"]
    task, _ = enf.get_task(store, task_id)
    assert task.subject_kind == "citizen_report" and not task.uscc
    with pytest.raises(rp.ReportRefused):
        svc.reject(store, high, "zhang", "inspector", "duplicate", now=at(1.1))
    # the task is worked like any other; a citizen report names no enterprise to penalise
    enf.transition(store, task_id, "visit", inspector, now=at(2), note="现场查看")
    with pytest.raises(tk.TransitionRefused, match="citizen report"):
        enf.transition(store, task_id, "dispose", inspector, now=at(2.1), kind="penalty",
                       article="排污许可管理条例 第三十四条", amount=Decimal("200000"))  # fmt: skip
    enf.transition(store, task_id, "dispose", inspector, now=at(3), kind="false_alarm",
                   reason="为锅炉点火短时冒烟，已恢复")  # fmt: skip
    enf.transition(store, task_id, "close", inspector, now=at(3.1))
    assert svc.status(store, code_h, now=at(3.2))["state"] == "in_progress"  # awaiting closure
    enf.transition(store, task_id, "approve", chief, now=at(4))
    view = svc.status(store, code_h, now=at(4.1))
    assert (view["state"], view["outcome"]) == ("closed", "false_alarm")
    assert [s["state"] for s in view["steps"]] == ["received", "accepted", "in_progress", "closed"]
    # nothing of the people: no staff, no contact, no ids
    shown = str(view)
    for secret in ("zhang", "li", "13800000000", task_id, high, TEXT):
        assert secret not in shown

    # closed → in_progress when the task is reopened
    enf.transition(store, task_id, "reopen", tk.Actor("boss", tk.Role.SUPERVISOR), now=at(5),
                   reason="群众再次反映")  # fmt: skip
    assert svc.status(store, code_h, now=at(5.1))["state"] == "in_progress"

    # every change audited, one intact chain; staff see the whole record
    assert svc.verify_audit(store) == len(svc.audit_events(store))
    record = svc.get_report(store, high)
    assert record["contact"] == "13800000000"
    assert [e["action"] for e in record["events"]] == [
        "submit", "accept", "task_opened", "task_closed", "task_reopened"
    ]  # fmt: skip
    assert {e["actor"] for e in record["events"]} == {"public", "zhang", "system"}
    total, rows = svc.list_reports(store, state="closed")
    assert (total, {r["id"] for r in rows}) == (2, {refused, low})
    # the citizen report's task is not a published enforcement case (no enterprise)
    assert disclosure.closed_cases(store, RULES)[0] == 0


def test_a_tampered_audit_chain_is_found(store: Store) -> None:
    rid, _ = _submit(store)
    svc.reject(store, rid, "zhang", "admin", "abusive", now=at(1))
    store.execute("UPDATE participation_audit SET actor = 'someone' WHERE seq = 1")
    with pytest.raises(ConflictError):
        svc.verify_audit(store)


def test_the_demo_seed_is_quick_and_followable(store: Store, tmp_path: Path) -> None:
    from bishui.demo import participation as demo
    from bishui.timeutil import now_beijing

    apply(store, _registry())
    t = time.monotonic()
    out = demo.setup(store, tmp_path, now=now_beijing(), echo=lambda *a: None)
    took = time.monotonic() - t
    assert out["reports"] == 3 and out["task"] and out["published_case"]
    assert took < 10  # a sanity bound: about 1 s on an idle machine (docs/governance.md)
    lines = (tmp_path / demo.CODES_FILE).read_text(encoding="utf-8").split()
    codes = dict(zip(lines[::2], lines[1::2], strict=True))
    states = {rid: svc.status(store, code)["state"] for rid, code in codes.items()}
    assert sorted(states.values()) == ["closed", "in_progress", "received"]
    total, cases = disclosure.closed_cases(store, RULES)
    assert total == 1 and cases[0]["disposal"] == "penalty" and cases[0]["amount_yuan"]
    assert demo.setup(store, tmp_path, now=now_beijing()) == {}  # once
