"""The case-transfer and operation machines as tables: every transition from every state, for
every role, is taken or refused exactly as :data:`TRANSITIONS` says; the guards; the time
limits from the rules file (国务院令第310号 Arts 5–9); the operation window across midnight."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from bishui.errors import ConfigError, InputError, PermissionDenied
from bishui.police import operations as op
from bishui.police import transfer as tr
from bishui.police.rules import load_rules, parse_rules

RULES = load_rules()
T0 = dt.datetime(2026, 12, 7, 9, 0)
SHA = "a" * 64
PAYLOAD = {"reason": "理由", "police_case_no": "X-1", "outcome": "prosecution",
           "package_sha256": SHA}  # fmt: skip


def case(state: tr.State, entered: dt.datetime = T0) -> tr.Case:
    return tr.Case("YS20261207-001", "T1", "914208021623558405", "E01", "420802", "t", "r",
                   ("a", "b"), ("ord310-5",), "insp", T0, state=state, entered=entered)  # fmt: skip


@pytest.mark.parametrize(("state", "action", "role"),
                         list(itertools.product(tr.State, tr.Action, tr.Role)))  # fmt: skip
def test_every_transition_and_refusal(state: tr.State, action: tr.Action, role: tr.Role) -> None:
    entry = tr.TRANSITIONS.get((state, action))
    c = case(state)
    if entry is None:
        with pytest.raises(tr.TransitionRefused):
            tr.apply(c, action, role, "u", T0, PAYLOAD, RULES)
        return
    nxt, roles, required = entry
    if role not in roles:
        with pytest.raises(PermissionDenied):
            tr.apply(c, action, role, "u", T0, PAYLOAD, RULES)
        return
    new, _event = tr.apply(c, action, role, "u", T0 + dt.timedelta(hours=1), PAYLOAD, RULES)
    assert new.state == nxt and new.entered == T0 + dt.timedelta(hours=1)
    assert new.history[-1]["action"] == action and new.history[-1]["to"] == nxt
    for f in required:  # each required field is refused when missing
        with pytest.raises(InputError, match=f):
            tr.apply(c, action, role, "u", T0, {k: v for k, v in PAYLOAD.items() if k != f},
                     RULES)  # fmt: skip
    if action in tr.PACKAGE_ACTIONS:
        assert new.package_version == 1 and new.package_sha256 == SHA
        assert new.transferred_at is not None and nxt in tr.POLICE_STATES
        with pytest.raises(InputError, match="package_sha256"):
            tr.apply(c, action, role, "u", T0, {}, RULES)


def test_police_states_are_exactly_those_after_a_transfer() -> None:
    reachable = {tr.State.PROPOSED}
    via_transfer: set[tr.State] = set()
    frontier = [(tr.State.PROPOSED, False)]
    while frontier:
        s, sent = frontier.pop()
        for (a, act), (nxt, _, _) in tr.TRANSITIONS.items():
            if a != s:
                continue
            now_sent = sent or act in tr.PACKAGE_ACTIONS
            key = (nxt, now_sent)
            if nxt not in reachable or (now_sent and nxt not in via_transfer):
                reachable.add(nxt)
                if now_sent:
                    via_transfer.add(nxt)
                frontier.append(key)
    assert via_transfer - {tr.State.WITHDRAWN} == tr.POLICE_STATES
    assert reachable == set(tr.State)


def test_proposal_needs_two_officers_and_known_articles() -> None:
    with pytest.raises(InputError, match="two officers"):
        tr.check_proposal("r", ["甲"], ["ord310-5"], RULES)
    with pytest.raises(InputError, match="two officers"):
        tr.check_proposal("r", ["甲", "甲 "], ["ord310-5"], RULES)
    with pytest.raises(InputError, match="articles"):
        tr.check_proposal("r", ["甲", "乙"], ["art-999"], RULES)
    with pytest.raises(InputError, match="report"):
        tr.check_proposal(" ", ["甲", "乙"], ["ord310-5"], RULES)
    assert tr.check_proposal("r", ["甲", "乙"], ["ord310-5"], RULES)[1] == ("甲", "乙")


def test_deadlines_follow_the_rules_and_lateness_is_recorded() -> None:
    # 310号令 Art 5: the head decides within 3 days; 24 h to send after approval
    assert RULES.deadlines["proposed"].hours == 72
    assert RULES.deadlines["approved"].hours == 24
    assert RULES.deadlines["transferred"].article == "ord310-7-8"
    c = case(tr.State.APPROVED)
    end, what = tr.deadline(c, RULES) or (None, "")
    assert end == T0 + dt.timedelta(hours=24) and what
    _, ev = tr.apply(c, "transfer", tr.Role.INSPECTOR, "u", T0 + dt.timedelta(hours=25),
                     {"package_sha256": SHA}, RULES)  # fmt: skip
    assert ev["late"] is True
    assert tr.deadline(case(tr.State.CONCLUDED), RULES) is None


def test_every_article_has_a_source_and_a_tag() -> None:
    for a in RULES.articles.values():
        assert a.source and a.tag in ("V", "S", "U", "V/S"), a.id
    with pytest.raises(ConfigError):
        parse_rules({"articles": {"x": {"document": "d", "article": "1", "summary": "s",
                                        "source": "s", "tag": "Z"}}})  # fmt: skip
    with pytest.raises(ConfigError):
        parse_rules({"deadlines": {"proposed": {"hours": 72, "article": "none"}}})


def test_unknown_action_and_outcome() -> None:
    with pytest.raises(InputError, match="action"):
        tr.apply(case(tr.State.PROPOSED), "fly", tr.Role.HEAD, "u", T0, {}, RULES)
    with pytest.raises(InputError, match="outcome"):
        tr.apply(case(tr.State.ACCEPTED), "conclude", tr.Role.POLICE, "u", T0,
                 {"outcome": "hanged"}, RULES)  # fmt: skip


@pytest.mark.parametrize(("state", "action"), list(itertools.product(op.State, op.Action)))
def test_every_operation_transition_and_refusal(state: op.State, action: op.Action) -> None:
    entry = op.TRANSITIONS.get((state, action))
    if entry is None:
        with pytest.raises(op.TransitionRefused):
            op.next_state(state, action)
    else:
        assert op.next_state(state, action) == entry


def at(s: str) -> dt.datetime:
    return op.parse_time(s, "t")


def test_night_window_crosses_midnight_in_beijing_time() -> None:
    op.check_window("night", at("2026-12-07T22:00"), at("2026-12-08T04:00"), RULES)
    op.check_window("night", at("2026-12-08T00:00"), at("2026-12-08T03:00"), RULES)
    # given in UTC: 14:00Z is 22:00 in Shanghai
    assert at("2026-12-07T14:00:00+00:00") == dt.datetime(2026, 12, 7, 22, 0)
    op.check_window("night", at("2026-12-07T14:00:00+00:00"), at("2026-12-07T20:00:00Z"), RULES)
    with pytest.raises(InputError, match="crosses midnight"):
        op.check_window("night", at("2026-12-07T19:00"), at("2026-12-07T23:00"), RULES)
    with pytest.raises(InputError, match="start"):
        op.check_window("night", at("2026-12-07T15:00"), at("2026-12-08T01:00"), RULES)
    with pytest.raises(InputError, match="end"):
        op.check_window("night", at("2026-12-07T22:00"), at("2026-12-08T10:00"), RULES)
    with pytest.raises(InputError, match="after start"):
        op.check_window("joint", at("2026-12-07T10:00"), at("2026-12-07T09:00"), RULES)
    with pytest.raises(InputError, match="24 h"):
        op.check_window("joint", at("2026-12-07T10:00"), at("2026-12-08T11:00"), RULES)
    with pytest.raises(InputError, match="kind"):
        op.check_window("raid", at("2026-12-07T10:00"), at("2026-12-07T11:00"), RULES)
    with pytest.raises(InputError, match="ISO"):
        op.parse_time("tonight", "start")
    with pytest.raises(InputError, match="2000"):
        op.parse_time("9999-12-31T23:59:59-12:00", "start")  # never an overflow


def test_a_team_needs_bureau_and_police() -> None:
    ok = op.check_team([{"name": "甲", "agency": "bureau"}, {"name": "乙", "agency": "police"}],
                       "night")  # fmt: skip
    assert [m["agency"] for m in ok] == ["bureau", "police"]
    with pytest.raises(InputError, match="bureau and police"):
        op.check_team([{"name": "甲", "agency": "bureau"}], "joint")
    with pytest.raises(InputError, match="agency"):
        op.check_team([{"name": "甲", "agency": "army"}], "joint")
    with pytest.raises(InputError, match="name"):
        op.check_team([{"name": "", "agency": "bureau"}], "joint")
