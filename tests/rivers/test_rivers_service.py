"""The chief system on both backends: registry, scoping, patrols, problems → enforcement tasks,
coverage, joint control, and every write audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bishui.enforcement import service as enf
from bishui.enforcement import tasks as tk
from bishui.errors import ConflictError, InputError, NotFoundError, PermissionDenied, TooLarge
from bishui.rivers import service as sv
from bishui.store import Store
from bishui.timeutil import now_beijing

CHIEF = sv.Who("hg.chief", "river_chief")  # 后港镇 township chief (长湖后港镇片)
VOL = sv.Who("zh.volunteer", "volunteer")  # 漳河水库 volunteer
ADMIN = sv.Who("root", "admin")
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 100


def _walk(n: int, lat: float = 30.5, minutes: int = 4) -> list[dict[str, Any]]:
    t0 = now_beijing().replace(microsecond=0) - dt.timedelta(hours=3)
    step = dt.timedelta(minutes=minutes)
    return [
        {"lat": lat + 0.0009 * i, "lon": 112.47, "t": (t0 + step * i).isoformat()} for i in range(n)
    ]


def test_the_demo_registry_and_its_sources(rstore: tuple[Store, dict[str, Any]]) -> None:
    store, got = rstore
    assert got["bodies"] == 9 and got["joint"] == 3 and got["problems"] == 2
    names = {s["name"] for s in sv.sections(store, ADMIN)}
    assert {"汉江钟祥段", "漳河水库漳河新区片", "长湖后港镇片", "竹皮河马良镇段"} <= names
    assert all(s["source"] for s in sv.sections(store, ADMIN))
    # a township section hangs under its county section; a lake's chief is a 湖长
    hg = next(s for s in sv.sections(store, ADMIN) if s["id"] == "CH-420822-HG")
    assert hg["parent_id"] == "CH-420822" and hg["chiefs"][0]["title"] == "乡级湖长"


def test_scoping(rstore: tuple[Store, dict[str, Any]]) -> None:
    store, _ = rstore
    assert sv.scope_sections(store, CHIEF) == {"CH-420822-HG"}  # his section only
    assert sv.scope_sections(store, VOL) == {"ZHR-420800-ZH", "ZHR-420802"}
    county = sv.Who("c", "county", ("420881",))
    assert sv.scope_sections(store, county) == {"HJ-420881", "HJ-420881-HZ"}
    assert sv.scope_sections(store, sv.Who("e", "enterprise")) == set()
    assert sv.scope_sections(store, sv.Who("a", "analyst")) is None
    # his problems only; another's section answers 404 as if it did not exist
    assert {q["section_id"] for q in sv.problems(store, CHIEF)} == {"CH-420822-HG"}
    assert {q["section_id"] for q in sv.problems(store, VOL)} == {"ZHR-420800-ZH"}
    assert sv.problems(store, county) == []
    with pytest.raises(NotFoundError):
        sv.start_patrol(store, CHIEF, "HJ-420881")
    with pytest.raises(NotFoundError):
        sv.chief_page(store, CHIEF, chief_id="C-HJ-420881")
    other = next(p for p in sv.patrols(store, ADMIN) if p["section_id"] == "ZHR-420800-ZH")
    with pytest.raises(NotFoundError):
        sv.patrol(store, CHIEF, other["id"])
    with pytest.raises(NotFoundError):
        sv.add_points(store, CHIEF, other["id"], _walk(2))


def test_a_county_chief_sees_the_township_sections_below_him(
    rstore: tuple[Store, dict[str, Any]],
) -> None:
    store, _ = rstore
    store.execute("UPDATE river_chief SET username = 'sy.chief' WHERE id = 'C-HJ-420822'")
    who = sv.Who("sy.chief", "river_chief")
    assert {"CH-420822", "CH-420822-HG", "ZPH-420822-ML", "HJ-420822"} <= sv.scope_sections(
        store, who
    )  # type: ignore[operator]
    page = sv.chief_page(store, who)
    assert {c["section"] for c in page["coverage"]} == {"HJ-420822", "CH-420822", "ZPH-420822"}
    assert any(q["section_id"] == "CH-420822-HG" for q in page["problems"])  # the one below


def test_demo_problems_became_tasks_routed_to_their_department(
    rstore: tuple[Store, dict[str, Any]],
) -> None:
    store, _ = rstore
    page = sv.chief_page(store, CHIEF)
    (q,) = [x for x in page["problems"] if x["category"] == "garbage"]
    assert q["state"] == "routed" and q["task_state"] == "assigned"
    task, region = enf.get_task(store, q["task_id"])
    assert task.subject_kind == tk.RIVER_SECTION and region == "420822" and not task.uscc
    assert task.assignee == "dept:市城市管理执法局" and task.assignee_kind == "team"
    assert task.deadline - task.created == dt.timedelta(hours=120)  # medium, enforcement policy
    alert = store.query("SELECT finding FROM enforcement_alert WHERE id = ?", [q["alert_id"]])
    assert q["id"] in alert[0]["finding"]
    assert page["coverage"][0]["covered"]  # the demo patrol: 96 min, 2.4 km — valid
    assert page["coverage_ratio"] == "1/1" and "阿合奇" in page["rules"]["interval_source"]


def test_a_patrol_from_start_to_a_confirmed_problem(rstore: tuple[Store, dict[str, Any]]) -> None:
    store, _ = rstore
    p = sv.start_patrol(store, CHIEF, "CH-420822-HG")
    got = sv.add_points(store, CHIEF, p["id"], _walk(5))
    assert got["points"] == 5 and 300 < got["distance_m"] < 500
    photo = sv.add_photo(store, CHIEF, p["id"], "岸边.jpg", "image/jpeg", JPG)
    again = sv.add_photo(store, CHIEF, p["id"], "again.jpg", "image/jpeg", JPG)
    assert again["id"] == photo["id"]  # the same bytes are one photo
    with pytest.raises(InputError):
        sv.add_photo(store, CHIEF, p["id"], "x.jpg", "image/jpeg", b"MZ\x90\x00 not a jpeg")
    with pytest.raises(TooLarge):
        sv.add_photo(store, CHIEF, p["id"], "x.jpg", "image/jpeg", JPG + b"\x00" * 10_485_760)
    with pytest.raises(InputError, match="category"):
        sv.record_problem(store, CHIEF, p["id"], "aliens", "x")
    with pytest.raises(InputError):
        sv.record_problem(store, CHIEF, p["id"], "discharge", "x", photos=["f" * 32])
    q = sv.record_problem(store, CHIEF, p["id"], "discharge", "<script>alert(1)</script> 暗管",
                          lat=30.5, lon=112.47, photos=[photo["id"]])  # fmt: skip
    assert q["state"] == "routed" and q["department"] == "市生态环境局"
    assert q["photos"][0]["sha256"] == photo["sha256"]
    done = sv.submit_patrol(store, CHIEF, p["id"], "完成")
    assert done["valid"] is False  # 16 min, 0.4 km: kept, not counted
    with pytest.raises(ConflictError):
        sv.add_points(store, CHIEF, p["id"], _walk(2))  # submitted: no more points
    with pytest.raises(ConflictError):
        sv.act_on_problem(store, CHIEF, q["id"], "confirm")  # its task is not closed
    # the enforcement loop works the task to closure (its own machine)
    insp = tk.Actor("insp", tk.Role.INSPECTOR)
    boss = tk.Actor("boss", tk.Role.CHIEF)
    tid = q["task_id"]
    enf.transition(store, tid, "visit", insp, note="现场核查")
    enf.transition(store, tid, "dispose", insp, kind="rectification_order",
                   due=now_beijing().date() + dt.timedelta(days=3))  # fmt: skip
    with pytest.raises(ConflictError):  # no penalty on a river section: no enterprise
        enf.transition(store, tid, "dispose", insp, kind="penalty")
    from bishui.enforcement import evidence

    rec, _ = evidence.store_file(store, tid, "整改.jpg", "image/jpeg", JPG, insp)
    fid = rec.id
    enf.transition(store, tid, "submit_rectification", insp, files=[fid])
    enf.transition(store, tid, "verify_rectification", insp)
    enf.transition(store, tid, "close", insp)
    enf.transition(store, tid, "approve", boss)
    assert sv.sync(store)["resolved"] >= 1
    with pytest.raises(NotFoundError):  # a volunteer: not his section, as if it did not exist
        sv.act_on_problem(store, VOL, q["id"], "confirm")
    again = sv.act_on_problem(store, CHIEF, q["id"], "dispute", "仍有暗管排水")
    assert again["state"] == "routed" and again["round"] == 2 and again["task_id"] != tid
    audit = store.query("SELECT action FROM river_audit WHERE subject = ? ORDER BY seq",
                        [f"problem:{q['id']}"])  # fmt: skip
    assert [a["action"] for a in audit] == ["record", "route", "resolve", "dispute"]


def test_volunteer_patrols_and_refusals(rstore: tuple[Store, dict[str, Any]]) -> None:
    store, _ = rstore
    p = sv.start_patrol(store, VOL, "ZHR-420802")
    with pytest.raises(PermissionDenied):
        sv.close_patrol(store, VOL, p["id"], "void", "x")  # void is the admin's
    with pytest.raises(InputError):
        sv.submit_patrol(store, VOL, p["id"])  # no track
    assert sv.close_patrol(store, VOL, p["id"], "cancel", "信号不好")["state"] == "cancelled"
    with pytest.raises(PermissionDenied):
        sv.start_patrol(store, ADMIN, "ZHR-420802")
    with pytest.raises(PermissionDenied):
        sv.assign(store, VOL, "C-HJ-420822", "HJ-420822", "2026-01-01")


def test_assignments_end_and_joint_control(rstore: tuple[Store, dict[str, Any]]) -> None:
    store, _ = rstore
    store.execute("INSERT INTO river_chief (id, name, level, username, post, synthetic) "
                  "VALUES ('C-T', '测试', 'township', 't.chief', '', TRUE)")  # fmt: skip
    aid = sv.assign(store, ADMIN, "C-T", "HJ-420881-HZ", "2026-01-01")
    with pytest.raises(InputError):
        sv.assign(store, ADMIN, "C-T", "HJ-420881", "2026-01-01")  # a county section
    t = sv.Who("t.chief", "river_chief")
    assert sv.scope_sections(store, t) == {"HJ-420881-HZ"}
    with pytest.raises(InputError):
        sv.end_assignment(store, ADMIN, aid, "2025-12-31", "早于开始")
    sv.end_assignment(store, ADMIN, aid, "2026-06-30", "换届")
    with pytest.raises(ConflictError):
        sv.end_assignment(store, ADMIN, aid, "2026-06-30", "again")
    assert sv.scope_sections(store, t) == set()
    # joint control: 沙洋's county official sees 钟祥's 汉江 sections too, not 长湖 of others
    shayang = sv.Who("c", "county", ("420822",))
    assert {g["id"] for g in sv.joint_groups(store, shayang)} == {"hanjiang", "changhu"}
    view = sv.joint_view(store, shayang, "hanjiang")
    members = {m["region"]: m for m in view["member_data"]}
    assert {s["id"] for s in members["420881"]["sections"]} == {"HJ-420881", "HJ-420881-HZ"}
    assert view["neighbours"] == ["潜江市"] and "water_quality" in view["shared"]
    with pytest.raises(NotFoundError):
        sv.joint_view(store, shayang, "zhanghe")
    assert {g["id"] for g in sv.joint_groups(store, VOL)} == {"zhanghe"}
    assert {g["id"] for g in sv.joint_groups(store, CHIEF)} == {"changhu"}


def test_the_registry_loader_refuses_what_the_city_does_not_hold(
    rstore: tuple[Store, dict[str, Any]],
) -> None:
    store, _ = rstore
    base = {"id": "X-1", "body": "hanjiang", "name": "x", "level": "county", "region": "420881",
            "sites": [], "source": "test"}  # fmt: skip
    for change, field in (
        ({"sites": ["AQ01"]}, "sections.sites"),  # an air station is not a water section
        ({"level": "province"}, "sections.level"),
        ({"body": "yangtze"}, "sections.body"),
        ({"region": "110000"}, "sections.region"),
        ({"parent": "NO-SUCH"}, "sections.parent"),
        ({"id": "../x"}, "sections.id"),
    ):
        with pytest.raises(InputError) as e:
            sv.load_registry(store, {"sections": [{**base, **change}]}, ADMIN)
        assert e.value.field == field
    with pytest.raises(PermissionDenied):
        sv.load_registry(store, {"sections": [base]}, sv.Who("a", "analyst"))
    assert not store.query("SELECT id FROM river_section WHERE id = 'X-1'")  # all or nothing


def test_the_audit_is_hash_chained_and_an_sql_edit_is_named(
    rstore: tuple[Store, dict[str, Any]],
) -> None:
    """Every write so far is in one chain; a row edited by SQL is named by its ``seq``."""
    store, _ = rstore
    n = sv.verify_audit(store)
    events = sv.audit_events(store)
    assert n == len(events) == store.count("river_audit") and n > 20
    assert [e.seq for e in events] == list(range(1, n + 1))
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    victim = events[n // 2]
    store.execute("UPDATE river_audit SET actor = 'mallory' WHERE seq = ?", [victim.seq])
    try:
        with pytest.raises(ConflictError) as err:
            sv.verify_audit(store)
        assert str(err.value) == (
            f"river_audit: audit: event {victim.seq} hash does not match its content"
        )
    finally:
        store.execute("UPDATE river_audit SET actor = ? WHERE seq = ?", [victim.actor, victim.seq])
    assert sv.verify_audit(store) == n
