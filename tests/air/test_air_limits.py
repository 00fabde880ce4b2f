"""GB 3095-2012 and GB 3095-2026 Table 1 limits, with the 2026 phases by date (notes §3)."""

import datetime as dt

import pytest

from bishui.air.editions import edition_for, editions_for, gb3095_phase
from bishui.air.limits import limit, limit_set
from bishui.errors import InputError

# GB 3095-2012 Table 1 (notes §3.1): (pollutant, period) → (grade I, grade II)
GB3095_2012 = {
    ("SO2", "annual"): (20, 60), ("SO2", "daily"): (50, 150), ("SO2", "hourly"): (150, 500),
    ("NO2", "annual"): (40, 40), ("NO2", "daily"): (80, 80), ("NO2", "hourly"): (200, 200),
    ("CO", "daily"): (4, 4), ("CO", "hourly"): (10, 10),
    ("O3", "mda8"): (100, 160), ("O3", "hourly"): (160, 200),
    ("PM10", "annual"): (40, 70), ("PM10", "daily"): (50, 150),
    ("PM2.5", "annual"): (15, 35), ("PM2.5", "daily"): (35, 75),
}  # fmt: skip
# GB 3095-2026 Table 1 (notes §3.2): transition and final columns.
CHANGED_TRANSITION = {("PM10", "annual"): (40, 60), ("PM10", "daily"): (50, 120),
                      ("PM2.5", "annual"): (15, 30), ("PM2.5", "daily"): (35, 60)}  # fmt: skip
CHANGED_FINAL = {
    ("SO2", "annual"): (20, 20), ("SO2", "daily"): (50, 50), ("SO2", "hourly"): (150, 150),
    ("NO2", "annual"): (30, 30), ("NO2", "daily"): (50, 50),
    ("PM10", "annual"): (20, 50), ("PM10", "daily"): (50, 100),
    ("PM2.5", "annual"): (10, 25), ("PM2.5", "daily"): (25, 50),
}  # fmt: skip


@pytest.mark.parametrize(
    ("edition", "phase", "table"),
    [
        ("2012", "all", GB3095_2012),
        ("2026", "transition", GB3095_2012 | CHANGED_TRANSITION),
        ("2026", "final", GB3095_2012 | CHANGED_FINAL),
    ],
)
def test_tables(edition: str, phase: str, table: dict) -> None:
    for grade in (1, 2):
        got = limit_set(grade, edition=edition, phase=phase)  # type: ignore[arg-type]
        assert got == {k: float(v[grade - 1]) for k, v in table.items()}


def test_phase_by_date() -> None:
    assert limit("PM2.5", "annual", when=dt.date(2026, 2, 28)) == 35
    assert limit("PM2.5", "annual", when=dt.date(2026, 3, 1)) == 30
    assert limit("PM2.5", "annual", when=dt.date(2030, 12, 31)) == 30
    assert limit("PM2.5", "annual", when=dt.date(2031, 1, 1)) == 25
    assert gb3095_phase(dt.datetime(2026, 3, 1, 0, 0)) == "all"  # hour label → Feb 28's data
    assert gb3095_phase(dt.datetime(2026, 3, 1, 1, 0)) == "transition"


def test_edition_switch_2026_03_01() -> None:
    assert edition_for(dt.date(2026, 2, 28)) == "2012"
    assert edition_for(dt.date(2026, 3, 1)) == "2026"
    assert edition_for("2026-03-01") == "2026"
    # The hourly value labelled 2026-03-01 00:00 covers 23:00-24:00 on 28 February.
    assert edition_for(dt.datetime(2026, 3, 1, 0)) == "2012"
    assert edition_for(dt.datetime(2026, 3, 1, 1)) == "2026"
    labels = ["2026-02-28T23:00", "2026-03-01T00:00", "2026-03-01T01:00"]
    assert editions_for(labels).tolist() == [False, False, True]
    assert editions_for(["2026-02-28", "2026-03-01"]).tolist() == [False, True]


def test_bad_input() -> None:
    with pytest.raises(InputError, match="grade"):
        limit("SO2", "annual", 3, edition="2012")
    with pytest.raises(InputError, match="no annual limit"):
        limit("CO", "annual", edition="2012")
    with pytest.raises(InputError, match="phase"):
        limit("SO2", "annual", edition="2012", phase="final")
    with pytest.raises(InputError, match="edition"):
        limit("SO2", "annual", edition="2018")  # type: ignore[arg-type]
