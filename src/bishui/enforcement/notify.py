"""Notifications produced by enforcement events, and a pluggable sender.

:func:`notifications_for` turns an audit event into the messages the people concerned should
get; a :class:`Sender` delivers them (SMS, mail, 政务微信 … in production). The demo uses
:class:`LoggingSender`, which writes them to the ``bishui.enforcement`` logger.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from bishui.enforcement.audit import AuditEvent
from bishui.enforcement.tasks import (
    NO_ENTERPRISE_KINDS,
    PROJECT,
    RIVER_SECTION,
    WATER_SOURCE,
    State,
    Task,
)

logger = logging.getLogger("bishui.enforcement")


@dataclass(frozen=True)
class Notification:
    recipient: str  # a user id, "role:<role>" or "enterprise:<uscc>"
    subject: str
    body: str
    task_id: str
    event_seq: int


class Sender(Protocol):
    def send(self, notification: Notification) -> None: ...


class LoggingSender:
    """Logs each notification at INFO (the demo's sender); keeps them for inspection."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification)
        logger.info("notify %s: %s — %s", notification.recipient, notification.subject,
                    notification.body)  # fmt: skip


#: Names of the codes a message carries (the messages are Chinese, like the pages: issue 16
#: item 2; the web's display-labels.toml has the same names for the pages).
_NAMES = {
    "rectification_order": "责令改正", "penalty": "行政处罚", "false_alarm": "误报排除",
    "info": "提示", "low": "低", "medium": "中", "high": "高",
}  # fmt: skip


def _zh(code: object) -> str:
    return _NAMES.get(str(code), str(code))


def notifications_for(event: AuditEvent, task: Task) -> list[Notification]:
    """Who hears of *event* on *task* (the task after the event)."""
    p = event.payload

    def n(to: str, subject: str, body: str = "") -> Notification:
        return Notification(to, subject, body or task.title, task.id, event.seq)

    # The party answerable for the subject: the enterprise of an outlet; for a drinking-water
    # source (no enterprise) the source itself, which the sender resolves to whoever is in
    # charge of it (the county's water-source authority).
    # A river section's (bishui.rivers) is the section, resolved to its chiefs' office.
    party = (f"source:{task.site_code}" if task.subject_kind == WATER_SOURCE
             else f"section:{task.site_code}" if task.subject_kind == RIVER_SECTION
             else f"enterprise:{task.uscc}")  # fmt: skip
    if task.subject_kind == PROJECT:  # 督办 of a project (bishui.programmes): its owner
        party = f"project:{task.site_code}"
    a = event.action
    if a == "create":
        return [n("role:supervisor", f"新任务 {task.id}（{_zh(task.severity)}）待分派")]
    if a == "assign":
        return [n(str(p.get("assignee", "")), f"任务 {task.id} 已分派给您，期限 "
                  f"{task.deadline:%Y-%m-%d %H:%M}")]  # fmt: skip
    if a == "dispose" and task.state is State.AWAITING_APPROVAL:
        # a draft until approved: the approvers hear of it, the party does not (yet)
        return [n("role:chief", f"任务 {task.id} 处置（{_zh(p.get('kind'))}）待审批",
                  str(p.get("article") or ""))]  # fmt: skip
    if a == "close" and task.state is State.AWAITING_CLOSURE:
        # 结案审批: the approvers hear of the request; the party only once it is closed
        return [n("role:chief", f"任务 {task.id} 申请结案，待审批", str(p.get("note") or ""))]
    if a in ("approve", "reject") and event.from_state == State.AWAITING_CLOSURE:
        asker = str((task.closure or {}).get("by", "")) if a == "approve" else ""
        if a == "reject":  # the request is gone from the task; its author is in the log
            return [n(task.assignee or "role:supervisor", f"任务 {task.id} 结案申请被退回",
                      str(p.get("reason", "")))]  # fmt: skip
        asker = asker or task.assignee or "role:supervisor"
        return [n(party, f"任务 {task.id} 已办结"), n(asker, f"任务 {task.id} 结案已审批")]
    if a == "dispose" or (a == "approve" and task.disposal is not None):
        d = task.disposal or {}
        out = [n(party, f"任务 {task.id} 处置决定：{_zh(d.get('kind'))}",
                 str(d.get("article") or d.get("reason") or d.get("due") or ""))]  # fmt: skip
        if a == "approve":
            out.append(n(str(d.get("by", "")) or "role:supervisor",
                         f"任务 {task.id} 处置已审批"))  # fmt: skip
        return out
    if a == "reject":
        return [n(task.assignee or "role:supervisor", f"任务 {task.id} 处置被退回",
                  str(p.get("reason", "")))]  # fmt: skip
    if a == "submit_rectification":
        who = "整改情况已记录" if task.subject_kind in NO_ENTERPRISE_KINDS else "企业提交整改材料"
        return [n(task.assignee or "role:supervisor", f"任务 {task.id} {who}")]
    if a == "escalate":
        return [n(f"role:{p.get('notify_role', 'supervisor')}",
                  f"任务 {task.id} 逾期，升级至第 {task.escalation_level} 级")]  # fmt: skip
    if a == "close":
        return [n(party, f"任务 {task.id} 已办结"),
                n(task.assignee or "role:supervisor", f"任务 {task.id} 已办结")]  # fmt: skip
    if a == "reopen":
        return [n(task.assignee or "role:supervisor", f"任务 {task.id} 重新打开",
                  str(p.get("reason", "")))]  # fmt: skip
    return []


def dispatch(event: AuditEvent, task: Task, sender: Sender) -> list[Notification]:
    """Produce and send the notifications of *event*; returns them."""
    out = notifications_for(event, task)
    for x in out:
        sender.send(x)
    return out
