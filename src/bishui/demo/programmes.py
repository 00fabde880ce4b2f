"""The model city's damage case and projects — **illustrative**, every row marked so.

What is from the notes: that the city took on 52 wastewater plants as the people's projects
(民生工程) and runs 十大工程 (issue 20, from the plan); the counties and rivers are the model
city's (``jingmen/city.toml``). Everything else is made up for the demonstration and says so
(``illustrative``, names with 示例): which county each plant is in, the names, budgets,
milestone dates, allocations, and the damage case (its liable party is one of the model city's
synthetic enterprises). The dates are placed around *now* so the schedule shows milestones done,
due and overdue, and the overdue ones raise 督办 tasks through enforcement.

Idempotent: a store that already holds the programme is left as it is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bishui.programmes import service
from bishui.store import Store

BY = "demo"
PROGRAMME = "ww52"
TEN = "十大工程"
#: county → number of the 52 plants (an illustrative split, not the city's plan)
PLANTS = {"420802": 6, "420804": 5, "420822": 12, "420881": 14, "420882": 11, "420800-ZH": 2,
          "420800-QJL": 2}  # fmt: skip
MILESTONES = (("开工", -300), ("主体完工", -120), ("设备安装调试", -30), ("通水运行", 60),
              ("竣工验收", 150))  # fmt: skip
#: 十大工程: illustrative projects on the model city's rivers
TEN_PROJECTS = (
    ("TEN-01", "示例：竹皮河流域水环境综合治理", "river_remediation", "420804", 300_000_000_00),
    ("TEN-02", "示例：汉江沿岸生态修复", "restoration", "420881", 120_000_000_00),
    ("TEN-03", "示例：漳河水库周边农村环境整治", "rural_environment", "420800-ZH", 45_000_000_00),
)
PDF = b"%PDF-1.4\n% bishui demo: illustrative document\n%%EOF\n"


def _plants(today: dt.date) -> list[dict[str, Any]]:
    rows = []
    n = 0
    for county, count in PLANTS.items():
        for k in range(count):
            n += 1
            lag = (n * 37) % 90  # spread the schedules over three months
            rows.append({
                "id": f"WW-{n:02d}", "name": f"示例乡镇污水处理厂 {n:02d}号",
                "kind": "wastewater_plant", "county": county, "owner": "示例：区县住建部门",
                "programme": PROGRAMME, "budget_fen": (1_500 + 100 * (k % 5)) * 10_000_00,
                "funding": [{"fund": "eco_special", "planned_fen": 800 * 10_000_00},
                            {"fund": "local_budget", "planned_fen": 700 * 10_000_00}],
                "milestones": [{"name": m, "planned_on": (today + dt.timedelta(days=d + lag))
                                .isoformat()} for m, d in MILESTONES],
                "illustrative": True, "note": "演示数据：名称、区县分布、预算与工期均为示例",
            })  # fmt: skip
    return rows


def setup(store: Store, now: dt.datetime) -> dict[str, int]:
    """Seed the illustrative programme and the damage case (skipped when present)."""
    if store.query("SELECT id FROM programme_project WHERE programme = ?", [PROGRAMME]):
        return {"projects": 0, "cases": 0, "tasks": 0}
    today = now.date()
    at = now.replace(microsecond=0) - dt.timedelta(hours=3)
    plants = _plants(today)
    ten = [{"id": pid, "name": name, "kind": kind, "county": county, "owner": "示例：市直部门",
            "programme": TEN, "budget_fen": budget,
            "funding": [{"fund": "water_central", "planned_fen": budget // 2},
                        {"fund": "eco_special", "planned_fen": budget // 4}],
            "milestones": [{"name": "开工", "planned_on": (today - dt.timedelta(days=200))
                            .isoformat()},
                           {"name": "阶段目标", "planned_on": (today - dt.timedelta(days=20))
                            .isoformat()},
                           {"name": "完工", "planned_on": (today + dt.timedelta(days=300))
                            .isoformat()}],
            "illustrative": True, "note": "演示数据：十大工程示例项目"}
           for pid, name, kind, county, budget in TEN_PROJECTS]  # fmt: skip
    ent = store.query(
        "SELECT uscc FROM enterprises WHERE region = ? ORDER BY uscc LIMIT 1", ["420804"]
    ) or store.query("SELECT uscc FROM enterprises ORDER BY uscc LIMIT 1")
    with service.batch(store):  # one transaction: the demo seeds in well under a second
        at = _seed(store, plants, ten, at, today, [e["uscc"] for e in ent])
    tasks = service.supervise(store, today, now=max(at, now.replace(microsecond=0)))
    return {"projects": len(plants) + len(ten), "cases": 1, "tasks": len(tasks)}


def _seed(
    store: Store, plants: list[dict[str, Any]], ten: list[dict[str, Any]], at: dt.datetime,
    today: dt.date, liable: list[str],
) -> dt.datetime:  # fmt: skip
    step = dt.timedelta(hours=1)
    entries: list[dict[str, Any]] = []
    for i, p in enumerate(plants + ten):
        ms = p["milestones"]
        first = ms[0]["planned_on"]
        fund, alloc = p["funding"][0]["fund"], p["funding"][0]["planned_fen"]
        entries.append({"project_id": p["id"], "kind": "allocate", "fund": fund,
                        "amount_fen": alloc, "on": first, "doc": "示例：资金下达文件"})  # fmt: skip
        if dt.date.fromisoformat(first) >= today:
            continue
        # registered with its history: started, and the milestones done on their dates —
        # except every ninth project, which slips (its past milestones go overdue → 督办)
        p["started_on"] = first
        for m in ms:
            if dt.date.fromisoformat(m["planned_on"]) < today and (i % 9 != 4 or m is ms[0]):
                m["actual_on"] = m["planned_on"]
        entries.append({"project_id": p["id"], "kind": "disburse", "fund": fund,
                        "amount_fen": alloc * 3 // 5, "use": "construction",
                        "on": today.isoformat(), "doc": "示例：工程进度款"})  # fmt: skip
    service.register_projects(store, plants + ten, BY, "officer", now=at)
    service.post_entries(store, entries, BY, "finance", now=at + step)
    return _damage_case(store, at + step, today, liable)


def _damage_case(store: Store, at: dt.datetime, today: dt.date, liable: list[str]) -> dt.datetime:
    """One illustrative case run from registration to closure, its restoration accepted."""
    cid = "DC-DEMO-001"
    d = today - dt.timedelta(days=330)

    def day(n: int) -> str:
        return (d + dt.timedelta(days=n)).isoformat()

    service.register_case(store, {
        "id": cid, "title": "示例：企业废水渗漏致沟渠污染", "county": "420804",
        "site": "示例：竹皮河支流某沟渠", "event_date": day(0), "lead_source": "行政处罚",
        "liable": liable, "claimant": "荆门市人民政府（示例）",
        "illustrative": True,
    }, BY, now=at)  # fmt: skip
    subject = f"case:{cid}"
    rep, _ = service.add_file(store, subject, "示例-鉴定评估报告.pdf", "application/pdf",
                              PDF + b"appraisal", BY, "officer", now=at)  # fmt: skip
    eff, _ = service.add_file(store, subject, "示例-修复效果评估报告.pdf", "application/pdf",
                              PDF + b"effect", BY, "officer", now=at)  # fmt: skip
    steps: list[tuple[str, dict[str, Any], str]] = [
        ("investigate", {}, "officer"),
        ("assess", {"method": "full", "assessor": "示例：某鉴定评估机构",
                    "amounts": {"restoration": 180_000_00, "investigation": 12_000_00,
                                "service_loss": 28_000_00}, "report": rep["id"]}, "officer"),
        ("consult", {"notice_on": day(60)}, "officer"),
        ("meet", {"summary": "示例：第一次磋商，义务人认可损害事实与评估结论"}, "officer"),
        ("agree", {"amount_fen": 220_000_00, "restoration": "third_party",
                   "signed_on": day(75), "terms": "示例：委托第三方修复，赔偿金分两期缴入国库"},
         "officer"),
        ("confirm", {"court": "示例：荆门市中级人民法院", "ruling_no": "示例-司法确认-001",
                     "published_from": day(76), "published_to": day(106)}, "officer"),
        ("schedule", {"instalments": [{"due_on": day(120), "amount_fen": 100_000_00},
                                      {"due_on": day(200), "amount_fen": 120_000_00}]},
         "officer"),
        ("pay", {"amount_fen": 100_000_00, "paid_on": day(118)}, "finance"),
        ("pay", {"amount_fen": 120_000_00, "paid_on": day(195)}, "finance"),
    ]  # fmt: skip
    for action, payload, role in steps:
        at += dt.timedelta(minutes=5)
        service.act_case(store, cid, action, payload, BY, role, now=at)
    service.register_projects(store, [{
        "id": "R-DEMO-001", "name": "示例：沟渠底泥清除与生态修复", "kind": "restoration",
        "county": "420804", "owner": "示例：第三方修复单位", "programme": "损害赔偿修复",
        "budget_fen": 180_000_00, "case_id": cid,
        "funding": [{"fund": "damage_compensation", "planned_fen": 180_000_00}],
        "milestones": [{"name": "底泥清除", "planned_on": day(150)},
                       {"name": "植被恢复", "planned_on": day(240)}],
        "illustrative": True,
    }], BY, now=at)  # fmt: skip
    pid = "R-DEMO-001"
    for action, payload in (("start", {"on": day(130)}), ("milestone", {"seq": 1, "on": day(148)}),
                            ("milestone", {"seq": 2, "on": day(236)}),
                            ("complete", {"on": day(240)})):  # fmt: skip
        at += dt.timedelta(minutes=5)
        service.act_project(store, pid, action, payload, BY, now=at)
    acc, _ = service.add_file(store, f"project:{pid}", "示例-修复验收报告.pdf", "application/pdf",
                              PDF + b"acceptance", BY, "officer", now=at)  # fmt: skip
    service.act_project(store, pid, "accept", {"on": day(260), "report": acc["id"]}, BY, now=at)
    service.act_case(store, cid, "complete", {}, BY, now=at)
    service.act_case(store, cid, "close", {"conclusion": "示例：水体与底泥指标达到修复目标",
                                           "report": eff["id"]}, BY, now=at)  # fmt: skip
    return at
