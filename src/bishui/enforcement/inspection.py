"""The inspector's day, pure: the distance of a check-in from the registered location, and the
contents of the two on-site enforcement records (执法笔录) filled from a task.

The records follow the structure of the templates in 环境行政执法文书制作指南 (环境保护部环境
监察局, 2016-05; template 3 现场检查（勘察）笔录, template 4 调查询问笔录), which 生态环境行政
处罚办法 (生态环境部令第30号, 2023, in force 2023-07-01) keeps as the evidence of an on-site
investigation: who was inspected (name, address, legal representative, contact), when and where,
by which officers (at least two, with their certificate numbers), what was found, which evidence
was taken, the party's opinion and the signatures. What a task does not know (certificate
numbers, the party's answers, signatures) is left as a blank line to fill in by hand on the
printed page; nothing is invented. docs/enforcement.md lists the fields and their sources.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bishui.enforcement.tasks import Task

#: Mean Earth radius [m] (IUGG R1), for the great-circle distance of a check-in.
EARTH_RADIUS_M = 6_371_008.8

#: The records this module fills: key → (Chinese title, English title).
RECORDS: dict[str, tuple[str, str]] = {
    "inspection": ("现场检查（勘察）笔录", "On-site inspection record"),
    "inquiry": ("调查询问笔录", "Inquiry record"),
}


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres between two WGS 84 points.

    A sphere is within 0.5 % of the ellipsoid: metres at the scale of a check-in (is the
    inspector at the plant or not), which is all it is used for.
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Party:
    """Who is inspected (当事人 / 被检查单位), from the registry."""

    name: str
    uscc: str = ""
    address: str = ""
    legal_rep: str = ""
    contact: str = ""
    phone: str = ""
    region: str = ""
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Record:
    """One record's filled fields, ready for a template."""

    kind: str
    title: str
    task_id: str
    party: Party
    started: str  # the first visit or check-in (Beijing time), else ""
    place: str
    inspectors: tuple[str, ...]
    checkins: tuple[Mapping[str, Any], ...]
    findings: tuple[str, ...]
    evidence: tuple[Mapping[str, Any], ...]
    visits: tuple[Mapping[str, Any], ...]
    disposal: Mapping[str, Any] | None
    approval: Mapping[str, Any] | None
    questions: tuple[str, ...] = field(default=())


#: The questions an inquiry record opens with (template 4's 告知 and identity questions; the
#: case questions come from the task's findings).
INQUIRY_OPENING = (
    "我们是生态环境局的执法人员，已出示执法证件。依法就有关问题进行调查，请如实回答。"
    "你有申请回避和陈述、申辩的权利。你是否申请回避？",
    "请说明你的姓名、工作单位、职务及与本单位的关系。",
)


def _time(v: Any) -> str:
    s = str(v or "")
    return s[:16].replace("T", " ")


def fill(
    kind: str,
    task: Task,
    party: Party,
    findings: Sequence[str],
    people: Mapping[str, str] | None = None,
) -> Record:
    """The record *kind* (:data:`RECORDS`) of *task*. *findings* are the task's alerts in
    words; *people* maps user names to display names (the inspectors' names as they sign)."""
    if kind not in RECORDS:
        from bishui.errors import InputError

        raise InputError("kind", "one of " + ", ".join(RECORDS), kind)
    names = dict(people or {})
    acting = [
        str(e.get("by", "")) for e in (*task.checkins, *task.visits, *task.evidence) if e.get("by")
    ]
    if task.assignee and task.assignee_kind == "inspector":
        acting.insert(0, task.assignee)
    inspectors = tuple(dict.fromkeys(names.get(a, a) for a in acting))
    starts = sorted(_time(e.get("at")) for e in (*task.checkins, *task.visits) if e.get("at"))
    questions: tuple[str, ...] = ()
    if kind == "inquiry":
        questions = (
            *INQUIRY_OPENING,
            *(f"监控数据显示：{f}。对此你有何说明？" for f in findings),
            "你对以上情况还有什么补充？",
        )
    return Record(
        kind=kind,
        title=RECORDS[kind][0],
        task_id=task.id,
        party=party,
        started=starts[0] if starts else "",
        place=party.address,
        inspectors=inspectors,
        checkins=task.checkins,
        findings=tuple(findings),
        evidence=tuple(
            {**f, "at": _time(e.get("at")), "note": e.get("note", "")}
            for e in task.evidence
            for f in e.get("files", ())
        ),
        visits=tuple({**v, "at": _time(v.get("at"))} for v in task.visits),
        disposal=task.disposal,
        approval=task.approval,
        questions=questions,
    )
