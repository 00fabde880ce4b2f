"""The model city's environmental police for the demo (docs/governance.md "环保警察与联合执法").

One enforcement task (the first open one the engines raised, or one raised here when there is
none) gets a site photo and the inspectors' report as evidence and is transferred to the
police, who accept it; one night operation (零点行动) across midnight before the demo's end
visits two enterprises, and one visit's finding raises an enforcement task. Everything is
recorded at *now* (the audit chains only move forward); the visits carry their times in the
night window. All synthetic; the
legal basis is the packaged rules. Idempotent: nothing happens when a case already exists.
Takes well under a second (a few small transactions).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bishui.enforcement import evidence
from bishui.enforcement import service as enf
from bishui.enforcement import tasks as tk
from bishui.enforcement.intake import AlertIn
from bishui.police import service
from bishui.store import Store

# A 1×1 PNG (ISO/IEC 15948): the demo's stand-in for a site photo.
PHOTO = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db00000000049454e44ae426082"
)
REPORT = b"%PDF-1.4\n% bishui demo: synthetic investigation report (no real case)\n%%EOF\n"


def _task(store: Store, at: dt.datetime) -> str:
    rows = store.query(
        "SELECT id FROM enforcement_task WHERE state <> 'closed' AND subject_kind = 'outlet' "
        "ORDER BY created, id LIMIT 1"
    )
    if rows:
        return str(rows[0]["id"])
    site = store.query(
        "SELECT id, region, enterprise FROM sites WHERE kind LIKE 'source%' ORDER BY id LIMIT 1"
    )[0]
    _, tasks = enf.raise_alerts(store, [AlertIn(
        key="demo:police:1", rule_id="demo.hidden_pipe", severity="high", site_code=site["id"],
        pollutant="", start=at, end=at, uscc=site["enterprise"] or "",
        evidence={"note": "synthetic: 暗管 found on a site visit"})],
        {site["id"]: site["region"]}, now=at)  # fmt: skip
    return tasks[0].id


def setup(store: Store, now: dt.datetime) -> dict[str, Any]:
    """Seed one accepted transfer and one night operation with visits (idempotent)."""
    if store.query("SELECT id FROM police_case LIMIT 1"):
        return {"cases": 0, "operations": 0}
    at = now.replace(tzinfo=None, microsecond=0)
    head = store.query("SELECT MAX(ts) AS ts FROM enforcement_audit")[0]["ts"]
    if head is not None and head > at:
        at = head  # enforcement's chain only moves forward
    task_id = _task(store, at)
    who = tk.Actor("inspector", tk.Role.INSPECTOR)
    evidence.store_file(store, task_id, "现场照片.png", "image/png", PHOTO, who, now=at)
    evidence.store_file(store, task_id, "调查报告.pdf", "application/pdf", REPORT, who, now=at)
    c = service.propose(
        store, task_id,
        "（合成数据）现场检查发现企业通过暗管排放废水，涉嫌严重污染环境，建议移送公安机关。",
        ["监察员甲", "监察员乙"], ["ord310-5", "ord310-6", "jsi-2023-7", "epl-63"],
        by="inspector", role="inspector", now=at,
    )  # fmt: skip
    service.act(store, c.id, "approve", {}, by="chief", role="chief", now=at)
    service.act(store, c.id, "transfer", {}, by="inspector", role="inspector", now=at)
    service.act(store, c.id, "accept", {"police_case_no": "（合成）JGH-2026-0001"},
                by="police", role="police", now=at)  # fmt: skip
    # the night operation: the night before *now*, 22:00 → 04:00
    day = (at - dt.timedelta(days=1)).date()
    start = dt.datetime.combine(day, dt.time(22, 0))
    ents = store.query(
        "SELECT DISTINCT enterprise FROM sites WHERE kind LIKE 'source%' AND enterprise IS NOT "
        "NULL ORDER BY enterprise LIMIT 2"
    )
    o = service.plan_operation(store, {
        "name": "零点行动（合成演示）", "kind": "night", "start": start.isoformat(),
        "end": (start + dt.timedelta(hours=6)).isoformat(),
        "targets": [{"uscc": r["enterprise"]} for r in ents],
        "team": [{"name": "监察员甲", "agency": "bureau"}, {"name": "监察员乙", "agency": "bureau"},
                 {"name": "环保民警丙", "agency": "police"}],
    }, by="inspector", role="inspector", now=at)  # fmt: skip
    service.operation_act(store, o["id"], "start", {}, by="inspector", role="inspector", now=at)
    t1, t2 = o["targets"][0], o["targets"][-1]
    service.record_visit(store, o["id"], {
        "site": t1["site"], "at": (start + dt.timedelta(hours=2, minutes=10)).isoformat(),
        "note": "治污设施运行正常", "findings": []}, by="inspector", role="inspector",
        now=at)  # fmt: skip
    service.record_visit(store, o["id"], {
        "site": t2["site"], "at": (start + dt.timedelta(hours=3)).isoformat(),
        "note": "夜间停运治污设施", "findings": [
            {"severity": "high", "description": "（合成）废气处理设施夜间未运行，直接排放"}]},
        by="police", role="police", now=at)  # fmt: skip
    service.operation_act(
        store,
        o["id"],
        "finish",
        {"summary": "检查2家，发现问题1个，已转执法任务"},
        by="inspector",
        role="inspector",
        now=at,
    )
    return {"cases": 1, "operations": 1}
