"""The approval step (issue 16 item 9): a penalty waits for a chief who did not dispose; the
location check-in; both as transitions of the task machine."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bishui.enforcement import tasks as tk
from bishui.enforcement.audit import AuditLog
from bishui.enforcement.policy import load_policy, parse_policy, read_toml
from bishui.enforcement.tasks import Action, Actor, Disposal, Role, State
from bishui.errors import ConfigError, PermissionDenied

POLICY = load_policy()
T0 = dt.datetime(2026, 3, 2, 9, 0)
USCC = "91130200699229617X"
ART = "排污许可管理条例 第三十四条"
SYS = Actor("system", Role.SYSTEM)
SUP = Actor("sup-1", Role.SUPERVISOR)
INSP = Actor("insp-1", Role.INSPECTOR)
INSP2 = Actor("insp-2", Role.INSPECTOR)
CHIEF = Actor("chief-1", Role.CHIEF)
CHIEF2 = Actor("chief-2", Role.CHIEF)
ENT = Actor("ent-1", Role.ENTERPRISE, USCC)
FILE = {"id": "a" * 32, "sha256": "b" * 64}


def _penalty_pending(log: AuditLog, policy: tk.Policy = POLICY, by: Actor = INSP) -> tk.Task:
    t = tk.new_task("T1", ["a1"], USCC, USCC + "001", "high", "超标", T0, policy, log, SYS)
    at = T0 + dt.timedelta(hours=1)
    t, _ = tk.apply(t, Action.ASSIGN, SUP, at, policy, log, assignee="insp-1")
    t, _ = tk.apply(t, Action.VISIT, by, at, policy, log, note="现场检查")
    t, _ = tk.apply(t, Action.ADD_EVIDENCE, by, at, policy, log, files=[FILE])
    t, _ = tk.apply(t, Action.DISPOSE, by, at, policy, log, **tk.penalty_payload(ART, "300000"))
    return t


def test_a_penalty_waits_for_a_chief_then_closes() -> None:
    log = AuditLog()
    t = _penalty_pending(log)
    assert t.state is State.AWAITING_APPROVAL and t.disposal is not None
    at = T0 + dt.timedelta(hours=2)
    with pytest.raises(tk.TransitionRefused, match="close from awaiting_approval"):
        tk.apply(t, Action.CLOSE, INSP, at, POLICY, log)
    with pytest.raises(PermissionDenied):  # an inspector is no approver
        tk.apply(t, Action.APPROVE, INSP2, at, POLICY, log)
    with pytest.raises(PermissionDenied):
        tk.apply(t, Action.APPROVE, ENT, at, POLICY, log)
    t, ev = tk.apply(t, Action.APPROVE, CHIEF, at, POLICY, log, note="同意")
    assert t.state is State.DISPOSED and ev.from_state == "awaiting_approval"
    assert t.approval is not None and t.approval["by"] == "chief-1"
    t, _ = tk.apply(t, Action.CLOSE, INSP, at, POLICY, log)
    assert t.state is State.CLOSED
    assert tk.replay(log.for_subject("task:T1"), POLICY) == t


def test_a_rejected_penalty_goes_back_to_work_and_needs_a_reason() -> None:
    log = AuditLog()
    t = _penalty_pending(log)
    at = T0 + dt.timedelta(hours=2)
    with pytest.raises(tk.TransitionRefused, match="reason"):
        tk.apply(t, Action.REJECT, CHIEF, at, POLICY, log)
    t, _ = tk.apply(t, Action.REJECT, CHIEF, at, POLICY, log, reason="罚款金额依据不足")
    assert t.state is State.IN_PROGRESS and t.disposal is None and t.approval is None
    # disposed again, and this time approved: the earlier rejection is in the log only
    t, _ = tk.apply(t, Action.DISPOSE, INSP, at, POLICY, log, **tk.penalty_payload(ART, "200000"))
    t, _ = tk.apply(t, Action.APPROVE, CHIEF2, at, POLICY, log)
    assert t.state is State.DISPOSED
    assert [e.action for e in log][-4:] == ["dispose", "reject", "dispose", "approve"]


def test_nobody_approves_their_own_disposal() -> None:
    """A bureau whose policy lets supervisors approve: still not their own disposal."""
    doc = read_toml("policy", "enforcement_policy_2026.11-1.toml")
    doc["approval"] = {"roles": ["chief", "supervisor"], "disposals": ["penalty"]}
    policy = parse_policy(doc)
    log = AuditLog()
    t = _penalty_pending(log, policy, by=SUP)
    at = T0 + dt.timedelta(hours=2)
    with pytest.raises(tk.TransitionRefused, match="another user"):
        tk.apply(t, Action.APPROVE, SUP, at, policy, log)
    t, _ = tk.apply(t, Action.APPROVE, Actor("sup-2", Role.SUPERVISOR), at, policy, log)
    assert t.state is State.DISPOSED
    # and under the model city's policy a supervisor is no approver at all
    t2 = _penalty_pending(AuditLog())
    with pytest.raises(tk.TransitionRefused, match="not an approver"):
        tk.apply(t2, Action.APPROVE, SUP, at, POLICY, AuditLog())


def test_other_disposals_need_no_approval_unless_the_policy_says_so() -> None:
    log = AuditLog()
    t = _penalty_pending(log)
    t = dataclasses.replace(t, state=State.IN_PROGRESS, disposal=None)
    at = T0 + dt.timedelta(hours=2)
    done, _ = tk.apply(t, Action.DISPOSE, INSP, at, POLICY, log, kind="false_alarm", reason="r")
    assert done.state is State.DISPOSED
    doc = read_toml("policy", "enforcement_policy_2026.11-1.toml")
    doc["approval"] = {"roles": ["chief"], "disposals": ["penalty", "false_alarm"]}
    strict = parse_policy(doc)
    held, _ = tk.apply(t, Action.DISPOSE, INSP, at, strict, AuditLog(), kind="false_alarm",
                       reason="r")  # fmt: skip
    assert held.state is State.AWAITING_APPROVAL


@pytest.mark.parametrize(
    ("approval", "field"),
    [
        ({"roles": ["mayor"]}, "approval.roles"),
        ({"roles": []}, "approval.roles"),
        ({"disposals": ["closure_of_the_universe"]}, "approval.disposals"),
    ],
)
def test_a_bad_approval_section_is_refused(approval: dict, field: str) -> None:
    doc = read_toml("policy", "enforcement_policy_2026.11-1.toml")
    doc["approval"] = approval
    with pytest.raises(ConfigError) as e:
        parse_policy(doc)
    assert e.value.field == field


def test_a_policy_without_an_approval_section_keeps_the_safe_default() -> None:
    doc = read_toml("policy", "enforcement_policy_2026.11-1.toml")
    del doc["approval"]
    p = parse_policy(doc)
    assert p.approval_roles == ("chief",) and p.approval_disposals == ("penalty",)


# ---- property: no path closes a penalty task without another user's approval ------------------
ACTORS = [SUP, INSP, INSP2, CHIEF, CHIEF2, ENT, SYS]
PAYLOADS: dict[Action, list[dict[str, object]]] = {
    Action.ASSIGN: [{"assignee": "insp-1"}],
    Action.VISIT: [{"note": "n"}],
    Action.CHECK_IN: [{"lat": 31.0, "lon": 112.2, "accuracy": 10}],
    Action.ADD_EVIDENCE: [{"files": [FILE]}],
    Action.DISPOSE: [
        tk.penalty_payload(ART, "300000"),
        {"kind": Disposal.FALSE_ALARM, "reason": "r"},
        {"kind": Disposal.RECTIFICATION_ORDER, "due": dt.date(2027, 1, 1)},
    ],
    Action.SUBMIT_RECTIFICATION: [{"files": [FILE]}],
    Action.VERIFY_RECTIFICATION: [{"accepted": True}],
    Action.CLOSE: [{}],
    Action.ESCALATE: [{}],
    Action.REOPEN: [{"reason": "r"}],
    Action.APPROVE: [{}],
    Action.REJECT: [{"reason": "r"}],
}
STEP = st.tuples(
    st.sampled_from(list(Action)), st.sampled_from(ACTORS), st.integers(min_value=0, max_value=2)
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEP, min_size=1, max_size=40))
def test_no_path_closes_a_penalty_without_an_approval_by_another_approver(steps: list) -> None:
    log = AuditLog()
    t = tk.new_task("T1", ["a1"], USCC, USCC + "001", "high", "超标", T0, POLICY, log, SYS)
    at = T0
    for action, actor, i in steps:
        at += dt.timedelta(minutes=10)
        options = PAYLOADS[action]
        try:
            t, _ = tk.apply(t, action, actor, at, POLICY, log, **options[i % len(options)])
        except (tk.TransitionRefused, PermissionDenied):
            continue
        if t.state is State.CLOSED and t.disposal and t.disposal["kind"] == Disposal.PENALTY:
            events = list(log)
            last_dispose = max(k for k, e in enumerate(events) if e.action == "dispose")
            approvals = [e for e in events[last_dispose:] if e.action == "approve"]
            assert approvals, "a penalty task closed without an approval"
            assert approvals[-1].role in POLICY.approval_roles
            assert approvals[-1].actor != events[last_dispose].actor
    assert tk.replay(log.for_subject("task:T1"), POLICY) == t


# ---- check-in -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("payload", "why"),
    [
        ({"lat": 91, "lon": 112.2}, "lat: between"),
        ({"lat": -90.5, "lon": 112.2}, "lat: between"),
        ({"lat": 31, "lon": 180.01}, "lon: between"),
        ({"lat": 31, "lon": -181}, "lon: between"),
        ({"lat": "31", "lon": 112.2}, "lat: a number"),
        ({"lon": 112.2}, "lat: a number"),
        ({"lat": float("nan"), "lon": 112.2}, "lat: a number"),
        ({"lat": True, "lon": 112.2}, "lat: a number"),
        ({"lat": 31, "lon": 112.2, "accuracy": -1}, "accuracy"),
        ({"lat": 31, "lon": 112.2, "accuracy": float("inf")}, "accuracy"),
    ],
)
def test_a_check_in_out_of_range_is_refused(payload: dict, why: str) -> None:
    log = AuditLog()
    t = tk.new_task("T1", ["a1"], USCC, USCC + "001", "high", "超标", T0, POLICY, log, SYS)
    t, _ = tk.apply(t, Action.ASSIGN, SUP, T0, POLICY, log, assignee="insp-1")
    n = len(log)
    with pytest.raises(tk.TransitionRefused) as e:
        tk.apply(t, Action.CHECK_IN, INSP, T0, POLICY, log, **payload)
    assert why in e.value.why and len(log) == n


def test_a_check_in_is_recorded_and_changes_no_state() -> None:
    log = AuditLog()
    t = tk.new_task("T1", ["a1"], USCC, USCC + "001", "high", "超标", T0, POLICY, log, SYS)
    t, _ = tk.apply(t, Action.ASSIGN, SUP, T0, POLICY, log, assignee="insp-1")
    t, ev = tk.apply(t, Action.CHECK_IN, INSP, T0, POLICY, log, lat=-90, lon=180, accuracy=0)
    assert t.state is State.ASSIGNED and ev.action == "check_in"
    assert t.checkins[0]["lat"] == -90 and t.checkins[0]["by"] == "insp-1"
    with pytest.raises(PermissionDenied):
        tk.apply(t, Action.CHECK_IN, ENT, T0, POLICY, log, lat=31, lon=112)
    with pytest.raises(PermissionDenied):
        tk.apply(t, Action.CHECK_IN, CHIEF, T0, POLICY, log, lat=31, lon=112)


def test_a_penalty_is_announced_to_the_party_only_once_approved() -> None:
    from bishui.enforcement.notify import notifications_for

    log = AuditLog()
    t = _penalty_pending(log)
    events = list(log)
    waiting = notifications_for(events[-1], t)
    assert [x.recipient for x in waiting] == ["role:chief"] and "待审批" in waiting[0].subject
    at = T0 + dt.timedelta(hours=2)
    back, ev = tk.apply(t, Action.REJECT, CHIEF, at, POLICY, log, reason="补充证据")
    assert [x.recipient for x in notifications_for(ev, back)] == ["insp-1"]
    again, ev = tk.apply(back, Action.DISPOSE, INSP, at, POLICY, log,
                         **tk.penalty_payload(ART, "250000"))  # fmt: skip
    done, ev = tk.apply(again, Action.APPROVE, CHIEF, at, POLICY, log)
    out = notifications_for(ev, done)
    assert [x.recipient for x in out] == [f"enterprise:{USCC}", "insp-1"]
    assert "penalty" in out[0].subject and ART in out[0].body
    # a disposal that needs no approval is announced at once, as before
    free = dataclasses.replace(back, disposal=None)
    direct, ev = tk.apply(free, Action.DISPOSE, INSP, at, POLICY, log, kind="false_alarm",
                          reason="标记遗漏")  # fmt: skip
    assert [x.recipient for x in notifications_for(ev, direct)] == [f"enterprise:{USCC}"]


def test_the_records_are_filled_from_the_task() -> None:
    from bishui.enforcement import inspection
    from bishui.errors import InputError

    log = AuditLog()
    t = _penalty_pending(log)
    at = T0 + dt.timedelta(hours=1)
    t, _ = tk.apply(t, Action.REJECT, CHIEF, at, POLICY, log, reason="r")
    t, _ = tk.apply(t, Action.CHECK_IN, INSP2, at, POLICY, log, lat=31, lon=112.2, accuracy=9)
    party = inspection.Party(name="示例热电（模拟）", uscc=USCC, address="荆门市某路1号")
    people = {"insp-1": "李四", "insp-2": "王五"}
    rec = inspection.fill("inspection", t, party, ["SO2 浓度超标"], people)
    assert rec.title == "现场检查（勘察）笔录" and rec.inspectors == ("李四", "王五")
    assert rec.started == "2026-03-02 10:00" and rec.place == "荆门市某路1号"
    assert rec.evidence[0]["sha256"] == FILE["sha256"] and rec.questions == ()
    asked = inspection.fill("inquiry", t, party, ["SO2 浓度超标"])
    assert any("SO2 浓度超标" in q for q in asked.questions)
    assert asked.questions[: len(inspection.INQUIRY_OPENING)] == inspection.INQUIRY_OPENING
    assert asked.inspectors == ("insp-1", "insp-2")  # no display names: the user names
    with pytest.raises(InputError):
        inspection.fill("decision", t, party, [])
