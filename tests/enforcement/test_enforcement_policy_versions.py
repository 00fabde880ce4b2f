"""Policy versions (issue 19, platform principle 5): each file carries its version and
effective-from date; a task is opened under the version in force and judged by it afterwards
(deadlines, penalty brackets, approvals); tasks that recorded none take the earliest."""

import dataclasses
import datetime as dt
import hashlib
import json
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from bishui.enforcement import evidence, intake
from bishui.enforcement import service as svc
from bishui.enforcement.policy import (
    load_policy,
    parse_policy,
    policies,
    policy_set,
    read_toml,
)
from bishui.enforcement.tasks import Actor, Role, TransitionRefused
from bishui.errors import ConfigError
from bishui.store import Store

#: A released policy file is never edited (a change is a new version): its hash is pinned.
RELEASED = {
    "enforcement_policy_2026.11-1.toml": (
        "232b6d367a1461fca3069778c599eb3e0b5c34fba5072c4c63bed7512a71fbb1"
    ),
}
USCC = "91130200699229617X"
ART = "排污许可管理条例 第三十四条"
SUP = Actor("sup-1", Role.SUPERVISOR)
INSP = Actor("insp-1", Role.INSPECTOR)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _doc(version: str, effective: dt.date, high_hours: int, low: int) -> dict[str, object]:
    doc = read_toml("policy", "enforcement_policy_2026.11-1.toml")
    doc["meta"] = {**doc["meta"], "version": version, "effective_from": effective}
    doc["deadline_hours"] = {**doc["deadline_hours"], "high": high_hours}
    doc["penalty_articles"] = {**doc["penalty_articles"], ART: [low, 1000000]}
    return doc


V1 = parse_policy(_doc("2026.01-1", dt.date(2026, 1, 1), 48, 200000))
V2 = dataclasses.replace(
    parse_policy(_doc("2026.06-1", dt.date(2026, 6, 1), 24, 300000)), approval_disposals=()
)
SET = policy_set([V2, V1])  # any order: sorted by effective_from


def test_released_files_are_never_edited() -> None:
    folder = resources.files("bishui.enforcement") / "data"
    for name, digest in RELEASED.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name


def test_the_packaged_versions() -> None:
    packaged = policies()
    assert packaged.versions[0].version == "2026.11-1"
    assert packaged.earliest.effective_from == dt.date(2026, 11, 22)
    assert load_policy() == packaged.latest
    assert packaged.get(None) == packaged.get("") == packaged.earliest
    with pytest.raises(ConfigError, match="policy_version"):
        packaged.get("1999.01-1")


def test_the_version_in_force() -> None:
    assert SET.versions == (V1, V2)
    assert SET.at(dt.datetime(2025, 12, 31, 23)) == V1  # before every version: the earliest
    assert SET.at(dt.datetime(2026, 5, 31, 23, 59)) == V1
    assert SET.at(dt.datetime(2026, 6, 1, 0, 0)) == V2
    assert SET.at(dt.date(2027, 1, 1)) == V2
    with pytest.raises(ConfigError, match=r"meta\.version"):
        policy_set([V1, V1])
    with pytest.raises(ConfigError, match="effective_from"):
        policy_set([V1, dataclasses.replace(V2, effective_from=V1.effective_from)])
    bad = _doc("x", dt.date(2026, 1, 1), 48, 1)
    bad["meta"] = {**bad["meta"], "effective_from": "not a date"}  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="policy"):
        parse_policy(bad)


def test_a_bureau_directory_of_versions(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        policies(tmp_path)
    src = resources.files("bishui.enforcement") / "data" / "enforcement_policy_2026.11-1.toml"
    text = src.read_text("utf-8")
    (tmp_path / "enforcement_policy_2026.11-1.toml").write_text(text, "utf-8")
    (tmp_path / "enforcement_policy_2027.01-1.toml").write_text(
        text.replace('version = "2026.11-1"', 'version = "2027.01-1"').replace(
            "effective_from = 2026-11-22", "effective_from = 2027-01-01"
        ),
        "utf-8",
    )
    got = policies(tmp_path)
    assert [p.version for p in got.versions] == ["2026.11-1", "2027.01-1"]


def _alert(day: dt.datetime, n: int) -> intake.AlertIn:
    return intake.AlertIn(key=f"pv:{n}", rule_id="EXC", severity="high",
                          site_code=f"{USCC}00{n}", pollutant="a21026", start=day, end=day,
                          uscc=USCC, outlet_id="DA001")  # fmt: skip


def _penalty(store: Store, task_id: str, amount: str, at: dt.datetime) -> str:
    svc.transition(store, task_id, "assign", SUP, now=at, policy=SET, assignee="insp-1")
    svc.transition(store, task_id, "visit", INSP, now=at, policy=SET, note="现场检查")
    rec, _ = evidence.store_file(store, task_id, "记录.pdf", "application/pdf", PDF, INSP, now=at)
    svc.transition(store, task_id, "add_evidence", INSP, now=at, policy=SET, files=[rec.id])
    task, _ = svc.transition(store, task_id, "dispose", INSP, now=at, policy=SET,
                             kind="penalty", article=ART, amount=Decimal(amount))  # fmt: skip
    return str(task.state)


def test_each_task_is_judged_by_its_own_version(store: Store) -> None:
    before, after = dt.datetime(2026, 3, 2, 9), dt.datetime(2026, 7, 1, 9)
    _, (old,) = svc.raise_alerts(store, [_alert(before, 1)], {}, now=before, policy=SET)
    _, (new,) = svc.raise_alerts(store, [_alert(after, 2)], {}, now=after, policy=SET)
    _, (unrec,) = svc.raise_alerts(store, [_alert(after, 3)], {}, now=after, policy=SET)
    # deadlines: each from the version in force when it was opened
    assert (old.policy_version, old.deadline) == ("2026.01-1", before + dt.timedelta(hours=48))
    assert (new.policy_version, new.deadline) == ("2026.06-1", after + dt.timedelta(hours=24))
    rows = store.query("SELECT id, policy_version FROM enforcement_task ORDER BY created, id")
    assert [r["policy_version"] for r in rows] == ["2026.01-1", "2026.06-1", "2026.06-1"]
    # a task with no recorded version (opened before migration 5) → the earliest version
    body = json.loads(
        store.query("SELECT body FROM enforcement_task WHERE id = ?", [unrec.id])[0]["body"]
    )
    del body["policy_version"]
    store.execute("UPDATE enforcement_task SET policy_version = NULL, body = ? WHERE id = ?",
                  [json.dumps(body, ensure_ascii=False), unrec.id])  # fmt: skip
    later = after + dt.timedelta(days=1)  # long after the change: the old task keeps v1
    # 250 000 yuan: inside v1's bracket (200 000–), outside v2's (300 000–)
    assert _penalty(store, old.id, "250000", later) == "awaiting_approval"  # v1: chief approves
    assert _penalty(store, unrec.id, "250000", later) == "awaiting_approval"  # the earliest
    with pytest.raises(TransitionRefused, match="300000"):
        _penalty(store, new.id, "250000", later)
    task, _ = svc.transition(store, new.id, "dispose", INSP, now=later, policy=SET,
                             kind="penalty", article=ART, amount=Decimal("300000"))  # fmt: skip
    assert str(task.state) == "disposed"  # v2 needs no approval of a penalty
    with pytest.raises(TransitionRefused):  # nor does it wait for one
        svc.transition(store, new.id, "approve", Actor("chief-1", Role.CHIEF), now=later,
                       policy=SET)  # fmt: skip
    for t in (old, new):  # the record rebuilds each task by its own version
        assert svc.replay_task(store, t.id, SET).as_dict() == svc.get_task(store, t.id)[0].as_dict()
    # escalation: each overdue task by its own version (both still live)
    assert {t.id for t in svc.escalate(store, later + dt.timedelta(days=30), SET)} >= {old.id}
