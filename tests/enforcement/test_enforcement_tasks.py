"""The task state machine, exhaustively: every state × every action."""

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from bishui.enforcement import tasks as tk
from bishui.enforcement.audit import AuditLog
from bishui.enforcement.policy import load_policy
from bishui.enforcement.tasks import Action, Actor, Disposal, Role, State, Task
from bishui.errors import ConflictError, InputError, PermissionDenied

POLICY = load_policy()
T0 = dt.datetime(2026, 3, 2, 9, 0)
LATE = T0 + dt.timedelta(hours=100)  # past the 48 h deadline of a high-severity task
USCC = "91130200699229617X"
SUP = Actor("sup-1", Role.SUPERVISOR)
INSP = Actor("insp-1", Role.INSPECTOR)
ENT = Actor("ent-1", Role.ENTERPRISE, USCC)
SYS = Actor("system", Role.SYSTEM)
CHIEF = Actor("chief-1", Role.CHIEF)


def ref(name: str) -> dict[str, object]:
    """The record of an uploaded file, as ``evidence.refs`` hands it to the machine."""
    import hashlib

    digest = hashlib.sha256(name.encode()).hexdigest()
    return {"id": digest[:32], "name": name, "media_type": "image/jpeg", "size": 1,
            "sha256": digest}  # fmt: skip


ACTOR = {
    Action.ASSIGN: SUP, Action.SUBMIT_RECTIFICATION: ENT, Action.ESCALATE: SYS,
    Action.REOPEN: SUP, Action.APPROVE: CHIEF, Action.REJECT: CHIEF,
}  # fmt: skip
GOOD = {
    Action.ASSIGN: {"assignee": "insp-2", "kind": "inspector"},
    Action.VISIT: {"note": "现场检查，在线设备运行正常"},
    Action.ADD_EVIDENCE: {"files": [ref("photo-1.jpg")]},
    Action.DISPOSE: {"kind": Disposal.FALSE_ALARM, "reason": "停炉检修期间标记遗漏"},
    Action.SUBMIT_RECTIFICATION: {"files": [ref("rectified.pdf")]},
    Action.VERIFY_RECTIFICATION: {"accepted": True},
    Action.CLOSE: {},
    Action.ESCALATE: {},
    Action.REOPEN: {"reason": "复查发现问题仍存在"},
    Action.APPROVE: {"note": "同意"},
    Action.REJECT: {"reason": "证据不足，补充调查"},
    Action.CHECK_IN: {"lat": 31.03, "lon": 112.2, "accuracy": 15.0},
}


def _new(log: AuditLog) -> Task:
    return tk.new_task("T1", ["a1"], USCC, USCC + "001", "high", "SO2 超标", T0, POLICY, log, SYS)


def in_state(state: State, log: AuditLog) -> Task:
    if state is State.AWAITING_APPROVAL:
        t = in_state(State.IN_PROGRESS, log)
        at = T0 + dt.timedelta(hours=1)
        t, _ = tk.apply(t, Action.ADD_EVIDENCE, INSP, at, POLICY, log, files=[ref("p.jpg")])
        t, _ = tk.apply(t, Action.DISPOSE, INSP, at, POLICY, log,
                        **tk.penalty_payload("排污许可管理条例 第三十四条", "200000"))  # fmt: skip
        assert t.state is State.AWAITING_APPROVAL
        return t
    t = _new(log)
    steps = [
        (State.ASSIGNED, Action.ASSIGN, SUP, {"assignee": "insp-1"}),
        (State.IN_PROGRESS, Action.VISIT, INSP, {"note": "visit"}),
        (State.DISPOSED, Action.DISPOSE, INSP,
         {"kind": Disposal.RECTIFICATION_ORDER, "due": dt.date(2026, 4, 1)}),
        (State.DISPOSED, Action.SUBMIT_RECTIFICATION, ENT, {"files": [ref("r.pdf")]}),
        (State.DISPOSED, Action.VERIFY_RECTIFICATION, INSP, {"accepted": True}),
        # the model city's policy has closure approval (结案审批): close asks, a chief closes
        (State.AWAITING_CLOSURE, Action.CLOSE, INSP, {}),
        (State.CLOSED, Action.APPROVE, CHIEF, {}),
    ]  # fmt: skip
    for _target, action, actor, payload in steps:
        if t.state == state and not (state is State.DISPOSED and not t.rectification_verified):
            break
        t, _ = tk.apply(t, action, actor, T0 + dt.timedelta(hours=1), POLICY, log, **payload)
    assert t.state == state
    return t


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", list(Action))
def test_every_state_and_action(state: State, action: Action) -> None:
    log = AuditLog()
    t = in_state(state, log)
    n = len(log)
    actor = ACTOR.get(action, INSP)
    if (state, action) in tk.TRANSITIONS:
        new, ev = tk.apply(t, action, actor, LATE, POLICY, log, **GOOD[action])
        expected = tk.TRANSITIONS[(state, action)][0]
        if action is Action.CLOSE:  # routed: the model city's closure waits for its approval
            expected = State.AWAITING_CLOSURE
        assert new.state == expected
        assert (ev.from_state, ev.to_state, ev.action) == (state, new.state, action)
        assert len(log) == n + 1
    else:
        with pytest.raises(tk.TransitionRefused) as ei:
            tk.apply(t, action, actor, LATE, POLICY, log, **GOOD[action])
        assert ei.value.action == action and ei.value.state == state
        assert f"{action} from {state}" in str(ei.value)
        assert isinstance(ei.value, ConflictError)
        assert len(log) == n  # nothing recorded


def test_allowed_lists_the_table() -> None:
    assert set(tk.allowed(State.CLOSED)) == {Action.REOPEN}
    assert Action.CLOSE not in tk.allowed(State.IN_PROGRESS)


@pytest.mark.parametrize(
    ("state", "action", "payload", "why"),
    [
        (State.OPEN, Action.ASSIGN, {"assignee": " "}, "assignee"),
        (State.OPEN, Action.ASSIGN, {"assignee": "x", "kind": "robot"}, "kind"),
        (State.ASSIGNED, Action.VISIT, {}, "note"),
        (State.IN_PROGRESS, Action.ADD_EVIDENCE, {"files": []}, "file"),
        (State.IN_PROGRESS, Action.ADD_EVIDENCE, {"files": ["photo-1.jpg"]}, "not names"),
        (State.IN_PROGRESS, Action.ADD_EVIDENCE,
         {"files": [{**ref("p.jpg"), "sha256": "x" * 64}]}, "sha256"),
        (State.ASSIGNED, Action.VISIT, {"note": "n", "files": ["p.jpg"]}, "not names"),
        (State.IN_PROGRESS, Action.DISPOSE, {"kind": "warning"}, "disposal kind"),
        (State.IN_PROGRESS, Action.DISPOSE, {"kind": "false_alarm"}, "reason"),
        (State.IN_PROGRESS, Action.DISPOSE, {"kind": "rectification_order"}, "due date"),
        (State.IN_PROGRESS, Action.DISPOSE,
         {"kind": "rectification_order", "due": dt.date(2026, 1, 1)}, "due date"),
        (State.IN_PROGRESS, Action.DISPOSE,
         {"kind": "penalty", "article": "排污许可管理条例 第三十四条", "amount": Decimal(500000)},
         "evidence"),
        (State.ASSIGNED, Action.DISPOSE,
         {"kind": "rectification_order", "due": dt.date(2026, 4, 1)}, "false-alarm"),
        (State.CLOSED, Action.REOPEN, {"reason": ""}, "reason"),
    ],
)  # fmt: skip
def test_guards_refuse(state: State, action: Action, payload: dict, why: str) -> None:
    log = AuditLog()
    t = in_state(state, log)
    with pytest.raises(tk.TransitionRefused) as ei:
        tk.apply(t, action, ACTOR.get(action, INSP), T0 + dt.timedelta(hours=2), POLICY, log,
                 **payload)  # fmt: skip
    assert why in ei.value.why


def test_penalty_needs_article_and_bracket() -> None:
    log = AuditLog()
    t = in_state(State.IN_PROGRESS, log)
    t, _ = tk.apply(t, Action.ADD_EVIDENCE, INSP, T0 + dt.timedelta(hours=2), POLICY, log,
                    files=[ref("hourly-data.pdf")])  # fmt: skip
    now = T0 + dt.timedelta(hours=3)
    art = "排污许可管理条例 第三十四条"
    with pytest.raises(tk.TransitionRefused, match="article"):
        tk.apply(t, Action.DISPOSE, INSP, now, POLICY, log,
                 **tk.penalty_payload("条例 第九十九条", "300000"))  # fmt: skip
    with pytest.raises(tk.TransitionRefused, match="between 200000 and 1000000"):
        tk.apply(t, Action.DISPOSE, INSP, now, POLICY, log, **tk.penalty_payload(art, "150000"))
    t, ev = tk.apply(t, Action.DISPOSE, INSP, now, POLICY, log, **tk.penalty_payload(art, "200000"))
    assert t.disposal is not None and t.disposal["amount"] == Decimal(200000)
    assert ev.payload["amount"] == "200000"  # the log is JSON-ready
    # A penalty waits for a chief's approval (issue 16 item 9; intended change), then needs no
    # rectification to close.
    assert t.state is State.AWAITING_APPROVAL
    t, _ = tk.apply(t, Action.APPROVE, CHIEF, now, POLICY, log)
    t, _ = tk.apply(t, Action.CLOSE, INSP, now, POLICY, log)
    # and the closure waits for a chief's approval too (结案审批; intended change)
    assert t.state is State.AWAITING_CLOSURE and t.closed_at is None
    t, _ = tk.apply(t, Action.APPROVE, CHIEF, now, POLICY, log)
    assert t.state is State.CLOSED and t.closed_at == now


def test_close_needs_verified_rectification() -> None:
    log = AuditLog()
    t = in_state(State.IN_PROGRESS, log)
    now = T0 + dt.timedelta(hours=2)
    t, _ = tk.apply(t, Action.DISPOSE, INSP, now, POLICY, log,
                    kind="rectification_order", due="2026-04-01")  # fmt: skip
    with pytest.raises(tk.TransitionRefused, match="not verified"):
        tk.apply(t, Action.CLOSE, INSP, now, POLICY, log)
    with pytest.raises(tk.TransitionRefused, match="no rectification"):
        tk.apply(t, Action.VERIFY_RECTIFICATION, INSP, now, POLICY, log)


def test_reopen_keeps_history_and_clears_disposal() -> None:
    log = AuditLog()
    t = in_state(State.CLOSED, log)
    t, _ = tk.apply(t, Action.REOPEN, SUP, LATE, POLICY, log, reason="复查仍超标")
    assert t.state is State.IN_PROGRESS and t.disposal is None and t.reopen_count == 1
    # closed by the closure's approval (结案审批; intended change), then reopened
    assert [e.action for e in log.for_subject("task:T1")][-3:] == ["close", "approve", "reopen"]
    assert t.closure is None and t.closure_approval is None


def test_permissions() -> None:
    log = AuditLog()
    t = in_state(State.OPEN, log)
    with pytest.raises(PermissionDenied):
        tk.apply(t, Action.ASSIGN, INSP, T0, POLICY, log, assignee="x")
    d = in_state(State.DISPOSED, AuditLog())
    other = Actor("ent-9", Role.ENTERPRISE, "914403001922038216")
    with pytest.raises(PermissionDenied):
        tk.apply(d, Action.SUBMIT_RECTIFICATION, other, T0, POLICY, log, files=["x"])
    with pytest.raises(InputError):
        tk.apply(t, "fly", SUP, T0, POLICY, log)
    assert tk.visible_to(other, [t, d]) == []
    assert tk.visible_to(ENT, [t, d]) == [t, d]
    assert tk.visible_to(INSP, [t]) == [t]


def test_escalation_once_per_period() -> None:
    log = AuditLog()
    t = in_state(State.ASSIGNED, log)
    assert tk.escalate_overdue([t], T0 + dt.timedelta(hours=47), POLICY, log) == []
    ((t, ev),) = tk.escalate_overdue([t], T0 + dt.timedelta(hours=49), POLICY, log)
    assert t.escalation_level == 1 and ev.payload["notify_role"] == "supervisor"
    assert tk.escalate_overdue([t], T0 + dt.timedelta(hours=60), POLICY, log) == []
    ((t, ev),) = tk.escalate_overdue([t], T0 + dt.timedelta(hours=73), POLICY, log)
    assert t.escalation_level == 2 and ev.payload["notify_role"] == "director"
    closed = in_state(State.CLOSED, AuditLog())
    assert tk.escalate_overdue([closed], LATE, POLICY, log) == []
    assert not closed.is_overdue(LATE)


def test_replay_rebuilds_the_task() -> None:
    log = AuditLog()
    t = in_state(State.CLOSED, log)
    t, _ = tk.apply(t, Action.REOPEN, SUP, LATE, POLICY, log, reason="复查")
    rebuilt = tk.replay(log.for_subject("task:T1"), POLICY)
    assert rebuilt == t
    with pytest.raises(ConflictError):
        tk.replay([], POLICY)


def test_new_task_refusals() -> None:
    with pytest.raises(InputError):
        tk.new_task("", ["a"], USCC, USCC + "001", "high", "x", T0, POLICY, AuditLog(), SYS)
    with pytest.raises(InputError):
        tk.new_task("T", [], USCC, USCC + "001", "high", "x", T0, POLICY, AuditLog(), SYS)
    with pytest.raises(InputError):
        tk.new_task("T", ["a"], USCC, USCC + "001", "grave", "x", T0, POLICY, AuditLog(), SYS)


def test_tasks_are_immutable() -> None:
    t = _new(AuditLog())
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.state = State.CLOSED  # type: ignore[misc]
