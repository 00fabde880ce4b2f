"""Inspection stations (机动车排放检验机构) as enforcement subjects: their own kind, their own
legal basis (大气污染防治法 Art. 112), never a 排污许可管理条例 article."""

import dataclasses
import datetime as dt

import pytest

from bishui.enforcement import alerts as al
from bishui.enforcement import intake
from bishui.enforcement import tasks as tk
from bishui.enforcement.audit import AuditLog
from bishui.enforcement.policy import load_policy, parse_policy, read_toml
from bishui.enforcement.tasks import Actor, Role
from bishui.errors import ConfigError, InputError

POLICY = load_policy()
T0 = dt.datetime(2026, 3, 2, 9, 0)
USCC = "91420800MA49XXXX0X"
SYS = Actor("system", Role.SYSTEM)
ART_112 = "大气污染防治法 第一百一十二条"


def _alert(rule: str = "vehicles.CLONE", site: str = "S01") -> intake.AlertIn:
    return intake.AlertIn(key=f"vehicles:{rule}:{site}", rule_id=rule, severity="high",
                          site_code=site, pollutant=rule.split(".")[-1], start=T0, end=T0,
                          uscc=USCC, subject_kind=intake.INSPECTION_STATION)  # fmt: skip


def _task(*items: intake.AlertIn) -> tk.Task:
    log = AuditLog()
    new = al.alerts_from_findings(list(items), set(), T0, log, SYS)
    task, _ = al.open_task("T1", new, T0, POLICY, log, SYS)
    return task


def test_station_task_cites_the_air_law_not_the_permit_regulation() -> None:
    task = _task(_alert(), _alert("vehicles.BB_EDITED"))
    assert task.subject_kind == "inspection_station" and task.uscc == USCC
    assert task.suggested_article == ART_112
    assert "排污许可" not in task.suggested_article
    assert POLICY.penalty_articles[ART_112] == (100000, 500000)  # Art. 112 para. 1


def test_a_penalty_under_art_112_is_checked_against_its_bracket() -> None:
    POLICY.check_penalty(ART_112, __import__("decimal").Decimal("100000"))
    with pytest.raises(InputError):
        POLICY.check_penalty(ART_112, __import__("decimal").Decimal("99999"))


def test_outlet_tasks_keep_their_articles() -> None:
    out = dataclasses.replace(_alert("EXC"), subject_kind=intake.OUTLET)
    assert _task(out).suggested_article == "排污许可管理条例 第三十四条"
    unknown = dataclasses.replace(_alert("NEWRULE"), subject_kind=intake.OUTLET)
    assert _task(unknown).suggested_article == ""  # no kind default for outlets


def test_a_station_task_names_its_operator() -> None:
    with pytest.raises(InputError, match="uscc"):
        tk.new_task("T2", ["a"], "", "S01", "high", "x", T0, POLICY, AuditLog(), SYS,
                    subject_kind=tk.INSPECTION_STATION)  # fmt: skip


def test_the_operator_sees_its_station_tasks_only() -> None:
    task = _task(_alert())
    mine = Actor("ent-1", Role.ENTERPRISE, USCC)
    other = Actor("ent-2", Role.ENTERPRISE, "91420800MA49YYYY0Y")
    assert tk.visible_to(mine, [task]) == [task]
    assert tk.visible_to(other, [task]) == []


def test_a_kind_default_must_be_a_listed_article() -> None:
    doc = read_toml("policy", "enforcement_policy_2026.11-1.toml")
    doc["subject_articles"] = {"inspection_station": "no such article"}
    with pytest.raises(ConfigError, match="subject_articles"):
        parse_policy(doc)
    assert POLICY.subject_articles == {"inspection_station": ART_112}


def test_vehicles_names_its_rules_for_titles() -> None:
    import bishui.vehicles  # noqa: F401  (registers the labels)

    assert intake.label(intake.INSPECTION_STATION, "CLONE") == "曲线雷同（不同车辆）"
