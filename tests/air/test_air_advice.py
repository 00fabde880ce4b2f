"""Health advice per AQI level: HJ 633-2012 Table 2 and HJ 633-2026 Tables 1 and 2."""

from __future__ import annotations

import datetime as dt

import pytest

from bishui.air.advice import advice, health_table, sensitive_groups
from bishui.air.tables import level_table
from bishui.errors import InputError


def test_every_level_of_both_editions_has_its_text() -> None:
    for ed in ("2012", "2026"):
        rows = health_table(ed)
        assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 6]
        # the categories agree with the level table of the same edition
        assert [r[1] for r in rows] == [lv.category for lv in level_table(ed)]
        assert all(r[2] and r[3] for r in rows)


def test_2012_table_2_as_printed() -> None:
    a = advice(1, edition="2012")
    assert a.health_effect == "空气质量令人满意，基本无空气污染"
    assert a.measures == "各类人群可正常活动"
    a = advice(3, edition="2012")
    assert a.health_effect == "易感人群症状有轻度加剧，健康人群出现刺激症状"
    assert a.measures.startswith("儿童、老年人及心脏病、呼吸系统疾病患者")
    assert advice(6, edition="2012").measures == (
        "儿童、老年人和病人应当留在室内，避免体力消耗，一般人群应避免户外活动"
    )
    assert advice(3, edition="2012").citation == "HJ 633-2012 表2"
    assert advice(5, edition="2012", over_100=("PM2.5_1h",)).sensitive_groups == {}


def test_2026_table_1_rewords_levels_3_to_6() -> None:
    for level in (1, 2):
        assert advice(level, edition="2026").measures == advice(level, edition="2012").measures
    a = advice(3, edition="2026")
    assert a.health_effect == "敏感人群症状有轻度加剧，健康人群出现刺激症状"
    assert a.measures == (
        "青少年儿童、老年人及心血管系统疾病、呼吸系统疾病患者应减少长时间、高强度的户外锻炼"
    )
    assert advice(5, edition="2026").health_effect.startswith("心血管系统和呼吸系统患者")
    assert advice(6, edition="2026").measures.startswith("青少年儿童、老年人和病人")
    assert a.citation == "HJ 633-2026 表1"


def test_edition_follows_the_date_of_the_data() -> None:
    assert advice(3, when=dt.date(2026, 2, 28)).edition == "2012"
    assert advice(3, when=dt.date(2026, 3, 1)).edition == "2026"
    # an hour label is dated by its hour's start: 2026-03-01 00:00 is data of 2026-02-28
    assert advice(3, when="2026-03-01T00:00").edition == "2012"
    assert advice(3, when="2026-03-01T01:00").edition == "2026"


def test_2026_table_2_sensitive_groups_for_pollutants_over_100() -> None:
    a = advice(4, edition="2026", over_100=("PM2.5_1h", "CO_1h", "unknown"))
    assert a.sensitive_groups == {
        "PM2.5": sensitive_groups()["PM2.5"],
        "CO": "患有心血管系统疾病的人",
    }
    assert set(sensitive_groups()) == {"SO2", "NO2", "CO", "O3", "PM10", "PM2.5"}


@pytest.mark.parametrize("level", [0, 7, -1, True, "3", 3.0])
def test_bad_level_is_refused(level: object) -> None:
    with pytest.raises(InputError, match="level"):
        advice(level, edition="2026")  # type: ignore[arg-type]


def test_edition_or_date_is_required() -> None:
    with pytest.raises(InputError, match="edition"):
        advice(3)
    with pytest.raises(InputError, match="edition"):
        advice(3, edition="2020")  # type: ignore[arg-type]
