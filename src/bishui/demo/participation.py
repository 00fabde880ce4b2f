"""The demo's citizen reports and a published case (issue 20; docs/governance.md).

Three reports from the public: one waiting for triage, one accepted whose alert opened a task
that an inspector has visited (its status reads 已立任务，正在核查处理), one refused as a
duplicate. Their follow-up codes are printed and written to ``citizen-codes.txt`` in the data
directory (the store keeps only their hashes). One enforcement case about an enterprise is run
to closure with a penalty, so the disclosure page has a case to publish. Idempotent: nothing is
added once a report exists. All synthetic.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from bishui.enforcement import evidence
from bishui.enforcement import service as enf
from bishui.enforcement import tasks as tk
from bishui.enforcement.intake import AlertIn
from bishui.participation import reports as rp
from bishui.participation import service as svc
from bishui.store import Store

CODES_FILE = "citizen-codes.txt"

#: (lat, lon, description) — synthetic, at places of the model city.
REPORTS = (
    (31.0357, 112.2048, "竹皮河边一处排口傍晚排出发黑的污水，有明显臭味，已持续三天。"),
    (30.9551, 112.1810, "夜间工业园区内一根烟囱冒浓黑烟，附近居民闻到刺鼻气味。"),
    (31.0357, 112.2048, "竹皮河排口排黑水（与之前反映的是同一处）。"),
)

#: A 1×1 PNG: the evidence photo of the demo's penalty case (ISO/IEC 15948 signature).
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5f0000000049454e44ae426082"
)


def setup(
    store: Store, data_dir: Path | None, *, now: dt.datetime, echo: Any = print
) -> dict[str, Any]:
    """Seed the reports and the published case (once)."""
    if store.count("participation_report"):
        return {}
    rules = rp.load_rules()
    at = now.replace(microsecond=0) - dt.timedelta(hours=2)
    # Enforcement's log is one chain in time order: its new events come at or after its head.
    head = store.query("SELECT MAX(ts) AS ts FROM enforcement_audit")[0]["ts"]
    t1 = max(now.replace(microsecond=0), head or now.replace(microsecond=0))
    codes: list[tuple[str, str]] = []
    for i, (lat, lon, text) in enumerate(REPORTS):
        sub = rp.check_submission(rules, lat, lon, text, "" if i else "13800000000", _PNG, "")
        codes.append(svc.submit(store, rules, sub, now=at + dt.timedelta(minutes=10 * i)))
    second, third = codes[1][0], codes[2][0]
    svc.accept(store, second, "demo.inspector", "inspector", severity="high", now=t1)
    svc.reject(store, third, "demo.inspector", "inspector", "duplicate", now=t1)
    task_id = svc.get_report(store, second)["task_id"]
    if task_id:
        inspector = tk.Actor("demo.inspector", tk.Role.INSPECTOR)
        enf.transition(store, task_id, "visit", inspector, now=t1,
                       note="现场查看：园区内某企业锅炉烟囱冒黑烟，已取证。")  # fmt: skip
    svc.sync(store, now=t1)
    case = _published_case(store, t1)
    lines = [f"{rid}\t{rp.grouped(code)}" for rid, code in codes]
    if data_dir is not None:
        (data_dir / CODES_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    shown = (ln.split("\t") for ln in lines)
    echo("      citizen reports: " + "; ".join(f"{r} → /report/status?code={c}" for r, c in shown))
    return {"reports": len(codes), "task": task_id, "published_case": case}


def _published_case(store: Store, at: dt.datetime) -> str:
    """One outlet case run to closure with a penalty (the chief approves the penalty and the
    closure, as the model city's policy asks)."""
    rows = store.query(
        "SELECT s.id, s.enterprise, s.region FROM sites s WHERE s.kind LIKE 'source%' "
        "AND s.enterprise IS NOT NULL ORDER BY s.id LIMIT 1"
    )
    if not rows:
        return ""
    site = rows[0]
    alert = AlertIn(
        key=f"demo:disclosure:{site['id']}", rule_id="EXC", severity="medium",
        site_code=site["id"], pollutant="w01018", start=at - dt.timedelta(hours=1), end=at,
        evidence={"note": "synthetic demo case"}, outlet_id=site["id"], uscc=site["enterprise"],
    )  # fmt: skip
    _, tasks = enf.raise_alerts(store, [alert], {site["id"]: site["region"]}, now=at)
    if not tasks:
        return ""
    tid = tasks[0].id
    inspector = tk.Actor("demo.inspector", tk.Role.INSPECTOR)
    chief = tk.Actor("demo.chief", tk.Role.CHIEF)
    step = dt.timedelta(0)  # every step at the chain's head (no event in the future)
    found = "现场检查，COD超标排放属实。"
    enf.transition(store, tid, "visit", inspector, now=at + step, note=found)
    rec, _ = evidence.store_file(store, tid, "现场照片.png", "image/png", _PNG, inspector,
                                 now=at + 2 * step)  # fmt: skip
    enf.transition(store, tid, "add_evidence", inspector, now=at + 3 * step, files=[rec.id],
                   note="现场照片")  # fmt: skip
    enf.transition(store, tid, "dispose", inspector, now=at + 4 * step, kind="penalty",
                   article="排污许可管理条例 第三十四条", amount=Decimal("200000"))  # fmt: skip
    enf.transition(store, tid, "approve", chief, now=at + 5 * step)
    enf.transition(store, tid, "close", inspector, now=at + 6 * step)
    enf.transition(store, tid, "approve", chief, now=at + 7 * step)
    return tid
