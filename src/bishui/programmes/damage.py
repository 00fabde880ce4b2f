"""The ecological-damage compensation case (生态环境损害赔偿) and its state machine.

Stages after 《生态环境损害赔偿制度改革方案》(中办发〔2017〕68号), the 管理规定
(环法规〔2022〕31号) and the Supreme People's Court rules (2019, amended 2020) as the notes
(governance §1) summarise them::

    registered ─investigate─▶ investigating ─assess─▶ assessed ─consult─▶ consulting
    registered / investigating ─decline (不启动, a listed reason)─▶ declined
    consulting ─agree (赔偿协议)─▶ settled
    assessed / consulting ─sue (磋商不成 or 无法磋商, a written reason)─▶ litigating
    litigating ─judge (生效裁判)─▶ settled
    settled ─schedule (payment schedule)─▶ performing
    performing ─complete (all paid, restoration accepted)─▶ restored
    restored ─close (效果评估, or a stated exemption)─▶ closed
    self-loops: assessed ─assess (重新评估)─▶ assessed; consulting ─meet (磋商记录)─▶ consulting;
    settled / performing ─confirm (司法确认 of an agreement)─▶ same; performing ─pay─▶ performing

The machine is the data table :data:`TRANSITIONS` (state, action) → (next state, guards);
anything else is refused with :class:`TransitionRefused` naming the transition. Who may act is
:data:`PERMISSIONS` (domain roles: the bureau's case officer, the finance bureau recording
payments). The service (:mod:`bishui.programmes.service`) validates payloads into plain values,
supplies the facts a guard needs from elsewhere (whether the restoration projects are accepted)
and stores each transition with its audit event.

Amounts are integer fen, by the five heads of 民法典 Art 1235 (:data:`HEADS`). The simplified
appraisal's ceiling (简易评估 ≤ 30万元 by the 2025 opinion [S]) is a setting
(:class:`Settings`), as is the judicial-confirmation publication period (≥ 30 days, SPC rules
Art 20 [V]).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bishui.errors import ConflictError, PermissionDenied
from bishui.programmes import money


class State(StrEnum):
    REGISTERED = "registered"  # 线索登记
    INVESTIGATING = "investigating"  # 调查
    DECLINED = "declined"  # 不启动索赔
    ASSESSED = "assessed"  # 鉴定评估完成
    CONSULTING = "consulting"  # 磋商
    LITIGATING = "litigating"  # 诉讼
    SETTLED = "settled"  # 协议或生效裁判
    PERFORMING = "performing"  # 履行: 赔偿金支付、修复
    RESTORED = "restored"  # 修复完成并验收, 赔偿金付清
    CLOSED = "closed"  # 效果评估后结案


class Action(StrEnum):
    INVESTIGATE = "investigate"
    DECLINE = "decline"
    ASSESS = "assess"
    CONSULT = "consult"
    MEET = "meet"
    AGREE = "agree"
    SUE = "sue"
    JUDGE = "judge"
    CONFIRM = "confirm"
    SCHEDULE = "schedule"
    PAY = "pay"
    COMPLETE = "complete"
    CLOSE = "close"


class Role(StrEnum):
    OFFICER = "officer"  # the designated department's case officer (bureau staff)
    FINANCE = "finance"  # the finance bureau: records money received into the treasury


S, A = State, Action
TERMINAL = frozenset({S.DECLINED, S.CLOSED})

#: (state, action) → (next state, guard names). The whole machine; nothing else moves a case.
TRANSITIONS: dict[tuple[State, Action], tuple[State, tuple[str, ...]]] = {
    (S.REGISTERED, A.INVESTIGATE): (S.INVESTIGATING, ()),
    (S.REGISTERED, A.DECLINE): (S.DECLINED, ("decline_reason",)),
    (S.INVESTIGATING, A.DECLINE): (S.DECLINED, ("decline_reason",)),
    (S.INVESTIGATING, A.ASSESS): (S.ASSESSED, ("appraisal",)),
    (S.ASSESSED, A.ASSESS): (S.ASSESSED, ("appraisal",)),
    (S.ASSESSED, A.CONSULT): (S.CONSULTING, ("liable_party",)),
    (S.CONSULTING, A.MEET): (S.CONSULTING, ("summary",)),
    (S.CONSULTING, A.AGREE): (S.SETTLED, ("amount",)),
    (S.ASSESSED, A.SUE): (S.LITIGATING, ("reason",)),
    (S.CONSULTING, A.SUE): (S.LITIGATING, ("reason",)),
    (S.LITIGATING, A.JUDGE): (S.SETTLED, ("amount", "court")),
    (S.SETTLED, A.CONFIRM): (S.SETTLED, ("agreement", "court", "publication")),
    (S.PERFORMING, A.CONFIRM): (S.PERFORMING, ("agreement", "court", "publication")),
    (S.SETTLED, A.SCHEDULE): (S.PERFORMING, ("schedule",)),
    (S.PERFORMING, A.PAY): (S.PERFORMING, ("payment",)),
    (S.PERFORMING, A.COMPLETE): (S.RESTORED, ("paid", "restoration_accepted")),
    (S.RESTORED, A.CLOSE): (S.CLOSED, ("effect",)),
}

#: Roles allowed to take each action.
PERMISSIONS: dict[Action, frozenset[Role]] = {
    **{a: frozenset({Role.OFFICER}) for a in Action},
    A.PAY: frozenset({Role.OFFICER, Role.FINANCE}),
}

#: The 五项 of 民法典 Art 1235 [V] → (中文, English).
HEADS: dict[str, tuple[str, str]] = {
    "service_loss": ("生态环境受到损害至修复完成期间服务功能丧失导致的损失",
                     "service-function losses until restoration"),
    "permanent_loss": ("生态环境功能永久性损害造成的损失", "losses from permanent damage"),
    "investigation": ("生态环境损害调查、鉴定评估等费用", "investigation and appraisal costs"),
    "restoration": ("清除污染、修复生态环境费用", "clean-up and restoration costs"),
    "prevention": ("防止损害的发生和扩大所支出的合理费用",
                   "reasonable costs of preventing or limiting the damage"),
}  # fmt: skip

#: 不启动索赔 reasons (管理规定 Art 18 as recalled in the notes [U]; configurable by
#: :class:`Settings`) → (中文, English).
DECLINE_REASONS: dict[str, tuple[str, str]] = {
    "already_compensated": ("已赔偿到位", "already compensated"),
    "court_ruled": ("人民法院已作出生效裁判", "a court has already ruled"),
    "slight": ("损害显著轻微，无需赔偿", "slight damage, no compensation needed"),
    "no_liable_party": ("赔偿义务人已终止且无财产", "liable party dissolved without assets"),
    "permitted_discharge": ("依法许可范围内排放", "discharge within a valid permit"),
}

METHODS = ("simplified", "full")  # 简易评估, 鉴定评估
RESTORATION_MODES = ("self", "third_party", "substitute", "money")  # 自行/委托/替代修复/资金赔偿


@dataclass(frozen=True)
class Settings:
    """The case rules where the notes are secondary or silent (docs/governance.md)."""

    simplified_cap_fen: int = 30_000_000  # 30万元, the 2025 opinion [S]; a province may set 50万
    publication_days: int = 30  # SPC rules Art 20 [V]: the agreement published ≥ 30 days
    decline_reasons: tuple[str, ...] = tuple(DECLINE_REASONS)


class TransitionRefused(ConflictError):
    """A transition not in the table, or whose guard failed."""

    def __init__(self, case_id: str, state: str, action: str, why: str) -> None:
        self.case_id, self.state, self.action, self.why = case_id, state, action, why
        super().__init__(f"case {case_id}: {action} from {state} refused: {why}")


@dataclass(frozen=True)
class Case:
    """A damage case. Sub-records are JSON-ready dicts; ``schedule`` a :class:`money.Schedule`."""

    id: str
    title: str
    county: str
    site: str  # where the damage is (a place name or a registry site id)
    event_date: dt.date
    lead_source: str  # 线索来源: 督察, 突发事件, 行政处罚, 涉嫌犯罪, 其他 …
    liable: tuple[str, ...]  # 赔偿义务人: unified social credit codes from the registry
    state: State = State.REGISTERED
    claimant: str = ""  # 赔偿权利人 (the city government), acting through the department
    appraisal: Mapping[str, Any] | None = None
    meetings: tuple[Mapping[str, Any], ...] = ()
    litigation: Mapping[str, Any] | None = None
    settlement: Mapping[str, Any] | None = None
    confirmation: Mapping[str, Any] | None = None
    schedule: money.Schedule | None = None
    payments: tuple[Mapping[str, Any], ...] = ()
    decline: Mapping[str, Any] | None = None
    effect: Mapping[str, Any] | None = None
    illustrative: bool = False  # the demo's made-up cases say so
    meta: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["event_date"] = self.event_date.isoformat()
        d["state"] = str(self.state)
        d["liable"] = list(self.liable)
        d["meetings"] = list(self.meetings)
        d["payments"] = list(self.payments)
        d["schedule"] = None if self.schedule is None else self.schedule.as_dict()
        d["allowed_actions"] = [str(a) for a in allowed(self.state)]
        return d


def case_from_dict(d: Mapping[str, Any]) -> Case:
    """The case of :meth:`Case.as_dict` (as stored)."""
    kw: dict[str, Any] = {f.name: d.get(f.name) for f in dataclasses.fields(Case) if f.name in d}
    kw["event_date"] = dt.date.fromisoformat(d["event_date"])
    kw["state"] = State(d["state"])
    kw["liable"] = tuple(d.get("liable") or ())
    kw["meetings"] = tuple(d.get("meetings") or ())
    kw["payments"] = tuple(d.get("payments") or ())
    kw["schedule"] = None if not d.get("schedule") else money.schedule_from(d["schedule"])
    kw["meta"] = d.get("meta") or {}
    return Case(**kw)


# ---- guards: each returns None if satisfied, else the reason --------------------------------
Payload = Mapping[str, Any]
Facts = Mapping[str, Any]


def _g_decline(c: Case, p: Payload, f: Facts, s: Settings) -> str | None:
    return None if p.get("reason") in s.decline_reasons else (
        "a 不启动 reason of the list: " + ", ".join(s.decline_reasons))  # fmt: skip


def _g_appraisal(c: Case, p: Payload, f: Facts, s: Settings) -> str | None:
    heads = p.get("amounts")
    if not isinstance(heads, Mapping) or not heads or set(heads) - set(HEADS):
        return "amounts by the heads of 民法典 Art 1235: " + ", ".join(HEADS)
    if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in heads.values()):
        return "each amount an integer of fen, not negative"
    if sum(heads.values()) <= 0:
        return "a total above zero (a case without damage is declined, not assessed)"
    if p.get("method") not in METHODS:
        return "method simplified (简易评估) or full (鉴定评估)"
    if p.get("method") == "simplified" and sum(heads.values()) > s.simplified_cap_fen:
        return f"a simplified appraisal only up to {s.simplified_cap_fen} fen (简易评估上限)"
    if not str(p.get("assessor", "")).strip():
        return "the assessor (鉴定评估机构 or expert) is named"
    if not p.get("report"):
        return "the appraisal report, an uploaded file of the case"
    return None


def _g_liable(c: Case, p: Payload, f: Facts, s: Settings) -> str | None:
    return None if c.liable else "consultation needs an identified liable party (赔偿义务人)"


def _g_summary(c: Case, p: Payload, f: Facts, s: Settings) -> str | None:
    return None if str(p.get("summary", "")).strip() else "the meeting's record (summary)"


def _g_amount(c: Case, p: Payload, f: Facts, s: Settings) -> str | None:
    a = p.get("amount_fen")
    if not isinstance(a, int) or isinstance(a, bool) or a < 0:
        return "the settled amount, integer fen, not negative"
    if p.get("restoration") not in RESTORATION_MODES:
        return "restoration mode: " + ", ".join(RESTORATION_MODES)
    if a == 0 and p.get("restoration") == "money":
        return "compensation in money only needs an amount above zero"
    return None


def _g_reason(c: Case, p: Payload, f: Facts, s: Settings) -> str | None:
    return None if str(p.get("reason", "")).strip() else "a written reason (书面说明)"


def _g_court(c: Case, p: Payload, f: Facts, s: Settings) -> str | None:
    if not str(p.get("court", "")).strip() or not str(p.get("ruling_no", "")).strip():
        return "the court and the ruling's number"
    return None


def _g_agreement(c: Case, p: Payload, f: Facts, s: Settings) -> str | None:
    if not c.settlement or c.settlement.get("basis") != "agreement":
        return "only an agreement is confirmed (司法确认); a judgment is already binding"
    if c.confirmation:
        return "already confirmed"
    return None


def _g_publication(c: Case, p: Payload, f: Facts, s: Settings) -> str | None:
    a, b = p.get("published_from"), p.get("published_to")
    if not isinstance(a, dt.date) or not isinstance(b, dt.date):
        return "the publication dates published_from and published_to"
    if (b - a).days < s.publication_days:
        return f"the agreement published at least {s.publication_days} days (SPC rules Art 20)"
    return None


def _g_schedule(c: Case, p: Payload, f: Facts, s: Settings) -> str | None:
    sch = p.get("schedule")
    if not isinstance(sch, money.Schedule):
        return "a payment schedule"
    due = int((c.settlement or {}).get("amount_fen", -1))
    if sch.due_fen != due:
        return f"instalments summing to the settled {due} fen"
    return None


def _g_payment(c: Case, p: Payload, f: Facts, s: Settings) -> str | None:
    a = p.get("amount_fen")
    if c.schedule is None:
        return "no schedule"
    if not isinstance(a, int) or isinstance(a, bool) or a <= 0:
        return "a positive amount of fen"
    if a > c.schedule.outstanding_fen:
        return f"at most the outstanding {c.schedule.outstanding_fen} fen"
    if not isinstance(p.get("paid_on"), dt.date):
        return "the date paid (paid_on)"
    return None


def _g_paid(c: Case, p: Payload, f: Facts, s: Settings) -> str | None:
    if c.schedule is None or c.schedule.outstanding_fen:
        left = "no schedule" if c.schedule is None else f"{c.schedule.outstanding_fen} fen"
        return f"the settled amount is not paid in full (outstanding {left})"
    return None


def _g_restored(c: Case, p: Payload, f: Facts, s: Settings) -> str | None:
    mode = (c.settlement or {}).get("restoration")
    if mode == "money":
        return None
    if not f.get("restoration_projects"):
        return f"restoration ({mode}) needs a restoration project in the register"
    if not f.get("restoration_accepted"):
        return "every restoration project accepted (验收)"
    return None


def _g_effect(c: Case, p: Payload, f: Facts, s: Settings) -> str | None:
    if str(p.get("exempt", "")).strip():
        return None  # the 2025 opinion's cases needing no effect assessment [S], stated
    if not str(p.get("conclusion", "")).strip() or not p.get("report"):
        return "an effect assessment (conclusion and report file) or the exemption stated"
    return None


Guard = Callable[[Case, Payload, Facts, Settings], "str | None"]
GUARDS: dict[str, Guard] = {
    "decline_reason": _g_decline, "appraisal": _g_appraisal, "liable_party": _g_liable,
    "summary": _g_summary, "amount": _g_amount, "reason": _g_reason, "court": _g_court,
    "agreement": _g_agreement, "publication": _g_publication, "schedule": _g_schedule,
    "payment": _g_payment, "paid": _g_paid, "restoration_accepted": _g_restored,
    "effect": _g_effect,
}  # fmt: skip


def allowed(state: State) -> list[Action]:
    return [a for (s, a) in TRANSITIONS if s is state]


def _record(p: Payload, by: str, at: dt.datetime) -> dict[str, Any]:
    out: dict[str, Any] = {k: (v.isoformat() if isinstance(v, dt.date) else v)
                           for k, v in p.items() if k != "schedule"}  # fmt: skip
    return {**out, "by": by, "at": at.isoformat()}


def apply(
    case: Case, action: Action | str, role: Role, by: str, at: dt.datetime,
    payload: Payload, facts: Facts | None = None, settings: Settings = Settings(),
) -> Case:  # fmt: skip
    """The case after *action*, or :class:`TransitionRefused` / :class:`PermissionDenied`."""
    try:
        act = Action(action)
    except ValueError:
        raise TransitionRefused(case.id, case.state, str(action), "no such action") from None
    if role not in PERMISSIONS[act]:
        raise PermissionDenied(f"case {case.id}: role {role} may not {act}")
    step = TRANSITIONS.get((case.state, act))
    if step is None:
        raise TransitionRefused(case.id, case.state, act, "not a transition of the machine")
    nxt, guards = step
    for g in guards:
        why = GUARDS[g](case, payload, facts or {}, settings)
        if why is not None:
            raise TransitionRefused(case.id, case.state, act, why)
    rec = _record(payload, by, at)
    c = dataclasses.replace(case, state=nxt)
    if act is A.DECLINE:
        c = dataclasses.replace(c, decline=rec)
    elif act is A.ASSESS:
        c = dataclasses.replace(c, appraisal={**rec, "total_fen": sum(payload["amounts"].values())})
    elif act is A.MEET or act is A.CONSULT:
        c = dataclasses.replace(c, meetings=(*c.meetings, {**rec, "action": str(act)}))
    elif act is A.AGREE:
        c = dataclasses.replace(c, settlement={**rec, "basis": "agreement"})
    elif act is A.SUE:
        c = dataclasses.replace(c, litigation=rec)
    elif act is A.JUDGE:
        c = dataclasses.replace(c, settlement={**rec, "basis": "judgment"})
    elif act is A.CONFIRM:
        c = dataclasses.replace(c, confirmation=rec)
    elif act is A.SCHEDULE:
        c = dataclasses.replace(c, schedule=payload["schedule"])
    elif act is A.PAY:
        assert c.schedule is not None
        c = dataclasses.replace(c, schedule=money.pay(c.schedule, payload["amount_fen"]),
                                payments=(*c.payments, rec))  # fmt: skip
    elif act is A.CLOSE:
        c = dataclasses.replace(c, effect=rec)
    return c
