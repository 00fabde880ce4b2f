"""The programmes service on both backends: a damage case from registration to closure with its
files, payments and restoration project; the project register, its conserving fund ledger and
the fund rules; overdue milestones raised as 督办 tasks in the enforcement engine; the audit
chain verified and a tampered row found."""

from __future__ import annotations

import datetime as dt

import pytest

from bishui.enforcement import notify
from bishui.enforcement import service as enf
from bishui.enforcement import tasks as tk
from bishui.enforcement.audit import AuditEvent
from bishui.errors import ConflictError, InputError, NotFoundError, TooLarge
from bishui.programmes import service as ps
from bishui.registry import Registry, apply
from bishui.registry.model import Enterprise, Region
from bishui.registry.uscc import generate
from bishui.store import Store

A, B = "420802", "420822"
NOW = dt.datetime(2026, 12, 1, 9, 0)
PDF = b"%PDF-1.7\n" + b"0" * 64
JPG = b"\xff\xd8\xff\xe0" + b"1" * 64
ENT = generate(A, 7)


def _setup(store: Store) -> None:
    regions = [Region(A, "东宝区", "district"), Region(B, "沙洋县", "county")]
    apply(store, Registry(regions=regions, enterprises=[Enterprise(ENT, "某化工公司", "chem", A)]))


def _day(n: int) -> dt.datetime:
    return NOW + dt.timedelta(days=n)


def test_a_damage_case_runs_to_closure(store: Store) -> None:
    _setup(store)
    c = ps.register_case(store, {"id": "DC-2026-001", "title": "某化工厂废液渗漏", "county": A,
                                 "site": "东宝区某沟渠", "event_date": "2026-10-02",
                                 "lead_source": "行政处罚"}, "officer1", now=NOW)  # fmt: skip
    assert c.state == "registered" and c.liable == ()
    with pytest.raises(ConflictError, match="already exists"):
        ps.register_case(store, {"id": "DC-2026-001", "title": "x", "county": A, "site": "x",
                                 "event_date": "2026-10-02", "lead_source": "x"}, "o")  # fmt: skip
    with pytest.raises(InputError, match="enterprise of the registry"):
        ps.set_liable(store, c.id, ["91420800MA0000000X"], "officer1")
    ps.set_liable(store, c.id, [ENT], "officer1", now=NOW)
    subject = f"case:{c.id}"
    report, created = ps.add_file(store, subject, "鉴定评估报告.pdf", "application/pdf", PDF,
                                  "officer1", "officer", now=NOW)  # fmt: skip
    assert created and ps.add_file(store, subject, "again.pdf", "application/pdf", PDF, "o",
                                   "officer")[1] is False  # fmt: skip
    with pytest.raises(InputError, match="signature"):
        ps.add_file(store, subject, "x.pdf", "application/pdf", JPG, "o", "officer")
    with pytest.raises(TooLarge):
        ps.add_file(store, subject, "x.pdf", "application/pdf", PDF, "o", "officer", max_bytes=8)
    with pytest.raises(NotFoundError):
        ps.add_file(store, "case:nope", "x.pdf", "application/pdf", PDF, "o", "officer")
    steps = [
        ("investigate", {}),
        ("assess", {"method": "full", "assessor": "某鉴定评估机构",
                    "amounts": {"restoration": 50_000_000, "investigation": 1_200_000,
                                "service_loss": 8_800_000}, "report": report["id"]}),
        ("consult", {"notice_on": "2026-11-10"}),
        ("meet", {"summary": "首次磋商，义务人认可损害事实"}),
        ("agree", {"amount_fen": 60_000_000, "restoration": "third_party",
                   "signed_on": "2026-11-20", "terms": "分两期支付"}),
        ("confirm", {"court": "荆门市中级人民法院", "ruling_no": "(2026)鄂08民特1号",
                     "published_from": "2026-11-21", "published_to": "2026-12-21"}),
        ("schedule", {"instalments": [{"due_on": "2026-12-31", "amount_fen": 20_000_000},
                                      {"due_on": "2027-06-30", "amount_fen": 40_000_000}]}),
    ]  # fmt: skip
    for n, (action, payload) in enumerate(steps):
        c = ps.act_case(store, c.id, action, payload, "officer1", now=_day(n))
    assert c.state == "performing" and c.appraisal is not None
    assert c.appraisal["total_fen"] == 60_000_000
    assert c.appraisal["report"][0]["sha256"] == report["sha256"]
    with pytest.raises(InputError, match="ids of files uploaded"):
        ps.act_case(store, c.id, "pay", {"amount_fen": 1, "paid_on": "2026-12-20",
                                         "files": ["0" * 32]}, "fin", "finance")  # fmt: skip
    with pytest.raises(ConflictError, match="outstanding 60000000"):
        ps.act_case(store, c.id, "pay", {"amount_fen": 60_000_001, "paid_on": "2026-12-20"},
                    "fin", "finance")  # fmt: skip
    c = ps.act_case(store, c.id, "pay", {"amount_fen": 20_000_000, "paid_on": "2026-12-20"},
                    "fin", "finance", now=_day(10))  # fmt: skip
    assert c.schedule is not None and c.schedule.outstanding_fen == 40_000_000
    with pytest.raises(ConflictError, match="not paid in full"):
        ps.act_case(store, c.id, "complete", {}, "officer1")
    c = ps.act_case(store, c.id, "pay", {"amount_fen": 40_000_000, "paid_on": "2027-06-01"},
                    "fin", "finance", now=_day(11))  # fmt: skip
    with pytest.raises(ConflictError, match="restoration project in the register"):
        ps.act_case(store, c.id, "complete", {}, "officer1")
    # the restoration project: a project of the register tied to the case
    ps.register_projects(store, [{
        "id": "R-001", "name": "某沟渠生态修复", "kind": "restoration", "county": A,
        "owner": "某修复公司", "programme": "损害赔偿修复", "budget_fen": 50_000_000,
        "case_id": c.id, "milestones": [{"name": "清淤", "planned_on": "2027-01-31"}],
    }], "officer1", now=_day(12))  # fmt: skip
    with pytest.raises(ConflictError, match="accepted"):
        ps.act_case(store, c.id, "complete", {}, "officer1")
    ps.act_project(store, "R-001", "start", {"on": "2027-01-02"}, "o1", now=_day(13))
    with pytest.raises(ConflictError, match="not done"):
        ps.act_project(store, "R-001", "complete", {"on": "2027-02-01"}, "o1")
    ps.act_project(store, "R-001", "milestone", {"seq": 1, "on": "2027-01-30"}, "o1", now=_day(14))
    ps.act_project(store, "R-001", "complete", {"on": "2027-02-01"}, "o1", now=_day(15))
    acc, _ = ps.add_file(store, "project:R-001", "验收报告.pdf", "application/pdf", PDF, "o1",
                         "officer", now=_day(16))  # fmt: skip
    assert ps.act_project(store, "R-001", "accept", {"on": "2027-02-20", "report": acc["id"]},
                          "o1", now=_day(17)) == "accepted"  # fmt: skip
    c = ps.act_case(store, c.id, "complete", {}, "officer1", now=_day(18))
    c = ps.act_case(store, c.id, "close", {"conclusion": "水体恢复", "report": report["id"]},
                    "officer1", now=_day(19))  # fmt: skip
    assert c.state == "closed" and ps.get_case(store, c.id) == c
    assert [x.id for x in ps.list_cases(store, [A])] == [c.id]
    assert ps.list_cases(store, [B]) == [] and ps.list_cases(store, uscc="x" * 18) == []
    events = ps.audit_events(store, f"case:{c.id}")
    assert [e.action for e in events][:3] == ["register", "liable", "investigate"]
    assert ps.verify_audit(store) >= len(events)
    _, content = ps.read_file(store, subject, report["id"])
    assert content == PDF and [f["id"] for f in ps.list_files(store, subject)] == [report["id"]]
    # tampering with a stored event breaks the chain
    store.execute("UPDATE programme_audit SET actor = 'mallory' WHERE seq = 2")
    with pytest.raises(ConflictError, match="hash"):
        ps.verify_audit(store)


def test_projects_funds_and_supervision(store: Store) -> None:
    _setup(store)
    rows = [{
        "id": f"WW-{n}", "name": f"示例乡镇污水处理厂{n}", "kind": "wastewater_plant",
        "county": A if n < 3 else B, "owner": "区住建局", "programme": "ww52",
        "budget_fen": 1_000_000, "funding": [{"fund": "eco_special", "planned_fen": 600_000}],
        "milestones": [{"name": "开工", "planned_on": "2026-03-01"},
                       {"name": "通水", "planned_on": "2026-09-30"}],
        "illustrative": True,
    } for n in range(1, 5)]  # fmt: skip
    assert ps.register_projects(store, rows, "analyst", now=NOW) == 4
    for bad, why in (
        ({"kind": "casino"}, "kind"),
        ({"county": "999999"}, "registered region"),
        ({"funding": [{"fund": "eco_special", "planned_fen": 2_000_000}]}, "budget"),
        ({"milestones": [{"name": "a", "planned_on": "2026-02-30"}]}, "date"),
    ):
        with pytest.raises(InputError, match=why):
            ps.register_projects(store, [{**rows[0], "id": "X", **bad}], "analyst")
    post = ps.post_entry
    post(store, "WW-1", "allocate", {"fund": "eco_special", "amount_fen": 600_000,
                                     "on": "2026-02-01", "doc": "示例文号"}, "fin")  # fmt: skip
    with pytest.raises(ConflictError, match="exceed the budget"):
        post(store, "WW-1", "allocate", {"fund": "local_budget", "amount_fen": 400_001,
                                         "on": "2026-02-01", "doc": "d"}, "fin")  # fmt: skip
    rec = post(store, "WW-1", "disburse", {"fund": "eco_special", "amount_fen": 60_000,
                                           "use": "preparation", "on": "2026-03-01",
                                           "doc": "设计费"}, "fin")  # fmt: skip
    assert rec["available_fen"] == 540_000
    for row, err, why in (
        ({"amount_fen": 1, "use": "preparation"}, ConflictError, "capped"),
        ({"amount_fen": 540_001, "use": "construction"}, ConflictError, "exceeds the available"),
        ({"amount_fen": 1, "use": "banquet"}, InputError, "eligible use"),
        (
            {"amount_fen": 1, "use": "construction", "fund": "local_budget"},
            ConflictError,
            "exceeds the available 0",
        ),
    ):
        with pytest.raises(err, match=why):
            post(store, "WW-1", "disburse", {"fund": "eco_special", "on": "2026-03-02",
                                             "doc": "d", **row}, "fin")  # fmt: skip
    rest = {"fund": "eco_special", "amount_fen": 540_000, "use": "construction", "on": "2026-04-01",
            "doc": "d"}  # fmt: skip
    post(store, "WW-1", "disburse", rest, "fin")
    led = ps.ledger(store, "WW-1")
    assert [x["available_fen"] for x in led] == [600_000, 540_000, 0]
    assert all(x["allocated_fen"] == x["disbursed_fen"] + x["available_fen"] for x in led)
    ps.act_project(store, "WW-2", "start", {"on": "2026-03-01"}, "a")
    ps.act_project(store, "WW-2", "milestone", {"seq": 1, "on": "2026-03-01"}, "a")
    ps.act_project(store, "WW-4", "cancel", {"reason": "并入县城污水厂"}, "a")
    with pytest.raises(ConflictError, match="cancelled"):
        post(store, "WW-4", "allocate", {"fund": "eco_special", "amount_fen": 1,
                                         "on": "2026-02-01", "doc": "d"}, "fin")  # fmt: skip
    # 督办: overdue milestones (WW-1: 2, WW-2: 1, WW-3: 2; WW-4 cancelled) → enforcement tasks
    today = dt.date(2026, 10, 15)
    opened = ps.supervise(store, today, now=NOW)
    assert len(opened) == 3  # one task per project
    task, region = enf.get_task(store, opened[0])
    assert task.subject_kind == tk.PROJECT and task.uscc == "" and region in (A, B)
    assert len(task.alert_ids) == 2 and task.state == tk.State.ASSIGNED
    assert ps.supervise(store, today, now=NOW) == []  # nothing twice
    assert ps.refresh(store, dt.datetime.combine(today, dt.time(9))) == []  # the platform's hook
    p1 = ps.get_project(store, "WW-1", today)
    assert [m["task_id"] for m in p1["milestones"]] == [opened[0]] * 2
    assert p1["funds"]["eco_special"] == {"allocated_fen": 600_000, "disbursed_fen": 600_000,
                                          "available_fen": 0}  # fmt: skip
    s = ps.programme_summary(store, "ww52", today=today)
    assert s["projects"] == 4 and s["milestones_overdue"] == 5 and s["milestones_done"] == 1
    assert s["allocated_fen"] == s["disbursed_fen"] + s["available_fen"] == 600_000
    assert [p["id"] for p in ps.list_projects(store, [B], today=today)] == ["WW-3", "WW-4"]
    assert ps.list_projects(store, [], today=today) == []
    with pytest.raises(NotFoundError):
        ps.get_project(store, "nope")
    # the enforcement task's machinery is the engine's: no enterprise acts, no penalty
    enterprise = tk.Actor("e", tk.Role.ENTERPRISE, ENT)
    assert tk.allowed_for(task.state, enterprise.role, task.subject_kind) == []
    closed = AuditEvent(1, NOW, "i", "inspector", task.subject, "close", "disposed", "closed")
    assert notify.notifications_for(closed, task)[0].recipient == f"project:{task.site_code}"
    assert ps.verify_audit(store) > 10
