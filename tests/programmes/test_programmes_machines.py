"""The damage-case and project state machines as tables: every transition taken with a valid
payload, every (state, action) pair outside the table refused, every guard's refusal, and the
roles (docs/governance.md "生态环境损害赔偿", "项目与资金")."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from typing import Any

import pytest

from bishui.errors import PermissionDenied
from bishui.programmes import damage as dm
from bishui.programmes import money
from bishui.programmes import projects as pj

AT = dt.datetime(2026, 12, 1, 9, 0)
D = dt.date(2026, 12, 1)
REPORT = [{"id": "f" * 32, "name": "r.pdf", "sha256": "0" * 64}]
AMOUNTS = {"restoration": 800_000, "investigation": 200_000}

#: action → a payload its guards accept
VALID: dict[dm.Action, dict[str, Any]] = {
    dm.Action.INVESTIGATE: {},
    dm.Action.DECLINE: {"reason": "slight"},
    dm.Action.ASSESS: {"method": "simplified", "assessor": "专家组", "amounts": AMOUNTS,
                       "report": REPORT},
    dm.Action.CONSULT: {"notice_on": D},
    dm.Action.MEET: {"summary": "第二次磋商"},
    dm.Action.AGREE: {"amount_fen": 1_000_000, "restoration": "self", "signed_on": D},
    dm.Action.SUE: {"reason": "磋商不成"},
    dm.Action.JUDGE: {"amount_fen": 1_000_000, "restoration": "money",
                      "court": "荆门市中级人民法院",
                      "ruling_no": "(2026)鄂08民初1号"},
    dm.Action.CONFIRM: {"court": "荆门市中级人民法院", "ruling_no": "(2026)鄂08民特1号",
                        "published_from": D, "published_to": D + dt.timedelta(days=30)},
    dm.Action.SCHEDULE: {"schedule": money.make_schedule(
        1_000_000, [(D, 400_000), (D.replace(year=2027), 600_000)])},
    dm.Action.PAY: {"amount_fen": 400_000, "paid_on": D},
    dm.Action.COMPLETE: {},
    dm.Action.CLOSE: {"conclusion": "达到修复目标", "report": REPORT},
}  # fmt: skip
FACTS = {"restoration_projects": ["P1"], "restoration_accepted": True}


def case_in(state: dm.State, action: dm.Action | None = None) -> dm.Case:
    """A case in *state* carrying what the transitions from it need."""
    c = dm.Case("DC1", "某企业非法倾倒", "420802", "东宝区某地", D, "行政处罚",
                ("91420800MA0000000X",), state=state)  # fmt: skip
    settled = {"amount_fen": 1_000_000, "basis": "agreement", "restoration": "self"}
    if state in (dm.State.SETTLED, dm.State.PERFORMING, dm.State.RESTORED, dm.State.CLOSED):
        c = dataclasses.replace(c, settlement=settled)
    if state in (dm.State.PERFORMING, dm.State.RESTORED, dm.State.CLOSED):
        sch = VALID[dm.Action.SCHEDULE]["schedule"]
        if action is dm.Action.COMPLETE:
            sch = money.pay(sch, 1_000_000)
        c = dataclasses.replace(c, schedule=sch)
    return c


@pytest.mark.parametrize(("state", "action"), list(dm.TRANSITIONS), ids=str)
def test_every_damage_transition(state: dm.State, action: dm.Action) -> None:
    role = dm.Role.FINANCE if action is dm.Action.PAY else dm.Role.OFFICER
    c = dm.apply(case_in(state, action), action, role, "u1", AT, VALID[action], FACTS)
    assert c.state is dm.TRANSITIONS[(state, action)][0]


def test_every_other_pair_is_refused() -> None:
    pairs = [(s, a) for s, a in itertools.product(dm.State, dm.Action)
             if (s, a) not in dm.TRANSITIONS]  # fmt: skip
    assert len(pairs) == len(dm.State) * len(dm.Action) - len(dm.TRANSITIONS)
    for s, a in pairs:
        with pytest.raises(dm.TransitionRefused, match="not a transition"):
            dm.apply(case_in(s, a), a, dm.Role.OFFICER, "u1", AT, VALID[a], FACTS)
    for s in dm.TERMINAL:
        assert dm.allowed(s) == []


def test_unknown_action_and_roles() -> None:
    c = case_in(dm.State.REGISTERED)
    with pytest.raises(dm.TransitionRefused, match="no such action"):
        dm.apply(c, "bribe", dm.Role.OFFICER, "u1", AT, {})
    with pytest.raises(PermissionDenied):
        dm.apply(c, dm.Action.INVESTIGATE, dm.Role.FINANCE, "u1", AT, {})


def _with(action: dm.Action, **kw: Any) -> dict[str, Any]:
    return {**VALID[action], **kw}


A, S = dm.Action, dm.State
#: (state, action, payload, facts, what the refusal says)
REFUSALS = [
    (S.REGISTERED, A.DECLINE, {"reason": "tired"}, FACTS, "不启动 reason"),
    (S.INVESTIGATING, A.ASSESS, _with(A.ASSESS, amounts={"bribe": 1}), FACTS, "heads"),
    (S.INVESTIGATING, A.ASSESS, _with(A.ASSESS, amounts={"restoration": -1}), FACTS, "integer"),
    (S.INVESTIGATING, A.ASSESS, _with(A.ASSESS, amounts={"restoration": 0}), FACTS, "above zero"),
    (S.INVESTIGATING, A.ASSESS, _with(A.ASSESS, method="guess"), FACTS, "method"),
    (S.INVESTIGATING, A.ASSESS, _with(A.ASSESS, amounts={"restoration": 30_000_001}), FACTS,
     "simplified appraisal only up to 30000000"),
    (S.INVESTIGATING, A.ASSESS, _with(A.ASSESS, assessor=" "), FACTS, "assessor"),
    (S.INVESTIGATING, A.ASSESS, _with(A.ASSESS, report=[]), FACTS, "report"),
    (S.CONSULTING, A.MEET, {"summary": ""}, FACTS, "record"),
    (S.CONSULTING, A.AGREE, _with(A.AGREE, amount_fen=-5), FACTS, "settled amount"),
    (S.CONSULTING, A.AGREE, _with(A.AGREE, restoration="pray"), FACTS, "restoration mode"),
    (S.CONSULTING, A.AGREE, _with(A.AGREE, amount_fen=0, restoration="money"), FACTS, "above zero"),
    (S.CONSULTING, A.SUE, {"reason": ""}, FACTS, "written reason"),
    (S.LITIGATING, A.JUDGE, _with(A.JUDGE, ruling_no=""), FACTS, "ruling"),
    (S.SETTLED, A.CONFIRM, _with(A.CONFIRM, published_to=D + dt.timedelta(days=29)), FACTS,
     "at least 30 days"),
    (S.SETTLED, A.CONFIRM, _with(A.CONFIRM, published_from=None), FACTS, "publication dates"),
    (S.SETTLED, A.SCHEDULE, {"schedule": money.make_schedule(5, [(D, 5)])}, FACTS, "summing"),
    (S.SETTLED, A.SCHEDULE, {}, FACTS, "a payment schedule"),
    (S.PERFORMING, A.PAY, {"amount_fen": 1_000_001, "paid_on": D}, FACTS, "outstanding"),
    (S.PERFORMING, A.PAY, {"amount_fen": 0, "paid_on": D}, FACTS, "positive"),
    (S.PERFORMING, A.PAY, {"amount_fen": 1}, FACTS, "paid_on"),
    (S.PERFORMING, A.COMPLETE, {}, FACTS, "not paid in full"),
    (S.RESTORED, A.CLOSE, {"conclusion": "ok"}, FACTS, "effect assessment"),
]  # fmt: skip


@pytest.mark.parametrize(("state", "action", "payload", "facts", "why"), REFUSALS,
                         ids=[f"{s}-{a}-{w}" for s, a, _, _, w in REFUSALS])  # fmt: skip
def test_each_guard_refuses(
    state: dm.State, action: dm.Action, payload: dict[str, Any], facts: Any, why: str
) -> None:
    with pytest.raises(dm.TransitionRefused, match=why) as e:
        dm.apply(case_in(state), action, dm.Role.OFFICER, "u1", AT, payload, facts)
    assert e.value.state is state and e.value.action == action


def test_guards_needing_the_case_or_the_register() -> None:
    base = case_in(S.CONSULTING)
    with pytest.raises(dm.TransitionRefused, match="liable party"):
        dm.apply(dataclasses.replace(case_in(S.ASSESSED), liable=()), A.CONSULT, dm.Role.OFFICER,
                 "u", AT, {})  # fmt: skip
    judged = dataclasses.replace(case_in(S.SETTLED), settlement={"basis": "judgment",
                                                                 "amount_fen": 1})  # fmt: skip
    with pytest.raises(dm.TransitionRefused, match="only an agreement"):
        dm.apply(judged, A.CONFIRM, dm.Role.OFFICER, "u", AT, VALID[A.CONFIRM])
    done = dm.apply(case_in(S.SETTLED), A.CONFIRM, dm.Role.OFFICER, "u", AT, VALID[A.CONFIRM])
    with pytest.raises(dm.TransitionRefused, match="already confirmed"):
        dm.apply(done, A.CONFIRM, dm.Role.OFFICER, "u", AT, VALID[A.CONFIRM])
    paid = case_in(S.PERFORMING, A.COMPLETE)
    for facts, why in (({}, "restoration project in the register"),
                       ({"restoration_projects": ["P"], "restoration_accepted": False},
                        "accepted")):  # fmt: skip
        with pytest.raises(dm.TransitionRefused, match=why):
            dm.apply(paid, A.COMPLETE, dm.Role.OFFICER, "u", AT, {}, facts)
    money_only = dataclasses.replace(paid, settlement={**paid.settlement, "restoration": "money"})  # type: ignore[dict-item]
    assert dm.apply(money_only, A.COMPLETE, dm.Role.OFFICER, "u", AT, {}, {}).state is S.RESTORED
    exempt = dm.apply(
        case_in(S.RESTORED), A.CLOSE, dm.Role.OFFICER, "u", AT, {"exempt": "2025意见"}
    )
    assert exempt.state is S.CLOSED
    assert base.state is S.CONSULTING


def test_a_case_round_trips_and_records_its_steps() -> None:
    c = case_in(S.CONSULTING)
    c = dm.apply(c, A.AGREE, dm.Role.OFFICER, "u", AT, VALID[A.AGREE])
    c = dm.apply(c, A.SCHEDULE, dm.Role.OFFICER, "u", AT, VALID[A.SCHEDULE])
    c = dm.apply(c, A.PAY, dm.Role.FINANCE, "f", AT, VALID[A.PAY])
    assert c.schedule is not None and c.schedule.outstanding_fen == 600_000
    assert c.settlement is not None and c.settlement["basis"] == "agreement"
    assert dm.case_from_dict(c.as_dict()) == c
    assert c.as_dict()["allowed_actions"] == ["confirm", "pay", "complete"]


# -- projects ------------------------------------------------------------------------------------
MS = [pj.Milestone(1, "开工", D), pj.Milestone(2, "通水", D + dt.timedelta(days=90))]
DONE = [dataclasses.replace(m, actual_on=m.planned_on) for m in MS]
PVALID: dict[pj.Action, dict[str, Any]] = {
    pj.Action.START: {"on": D}, pj.Action.MILESTONE: {"seq": 1, "on": D},
    pj.Action.COMPLETE: {"on": D}, pj.Action.ACCEPT: {"on": D, "report": REPORT},
    pj.Action.CANCEL: {"reason": "规划调整"},
}  # fmt: skip


@pytest.mark.parametrize(("state", "action"), list(pj.TRANSITIONS), ids=str)
def test_every_project_transition(state: pj.State, action: pj.Action) -> None:
    ms = DONE if action is pj.Action.COMPLETE else MS
    assert (
        pj.check("P1", state, action, dm.Role.OFFICER, PVALID[action], ms)
        is (pj.TRANSITIONS[(state, action)][0])
    )


def test_every_other_project_pair_and_guard_is_refused() -> None:
    for s, a in itertools.product(pj.State, pj.Action):
        if (s, a) not in pj.TRANSITIONS:
            with pytest.raises(dm.TransitionRefused, match="not a transition"):
                pj.check("P1", s, a, dm.Role.OFFICER, PVALID[a], DONE)
    U, C = pj.State.UNDER_CONSTRUCTION, pj.State.COMPLETED
    for state, action, payload, ms, why in (
        (U, pj.Action.COMPLETE, {"on": D}, MS, r"not done: \[1, 2\]"),
        (U, pj.Action.MILESTONE, {"seq": 9, "on": D}, MS, "a milestone of the project"),
        (U, pj.Action.MILESTONE, {"seq": 1, "on": D}, DONE, "already done"),
        (U, pj.Action.MILESTONE, {"seq": 1}, MS, "actual date"),
        (pj.State.PLANNED, pj.Action.START, {}, MS, "the date"),
        (C, pj.Action.ACCEPT, {"on": D}, DONE, "acceptance report"),
        (U, pj.Action.CANCEL, {"reason": ""}, MS, "a reason"),
    ):
        with pytest.raises(dm.TransitionRefused, match=why):
            pj.check("P1", state, action, dm.Role.OFFICER, payload, ms)
    with pytest.raises(PermissionDenied):
        pj.check("P1", U, pj.Action.START, dm.Role.FINANCE, PVALID[pj.Action.START], MS)
    with pytest.raises(dm.TransitionRefused, match="no such action"):
        pj.check("P1", U, "demolish", dm.Role.OFFICER, {}, MS)


def test_overdue_milestones_of_live_projects_only() -> None:
    later = D + dt.timedelta(days=1)
    assert [m.seq for m in pj.overdue(pj.State.UNDER_CONSTRUCTION, MS, later)] == [1]
    assert pj.overdue(pj.State.UNDER_CONSTRUCTION, MS, D) == []  # due today is not late
    assert pj.overdue(pj.State.CANCELLED, MS, later) == []
    assert pj.overdue(pj.State.UNDER_CONSTRUCTION, DONE, later + dt.timedelta(days=365)) == []
