"""The read model of stored series (bishui.readings): one origin precedence for every reader.

The water bulletin and the compensation statement for one section and month rest on the same
samples (issue 15; docs/architecture.md rule 7), with logger, platform and upload values stored
for the same hours.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from bishui import readings
from bishui.compensation.agreement import load_agreement
from bishui.compensation.period import Period
from bishui.compensation.store_inputs import InputOptions, period_inputs
from bishui.registry.model import Site
from bishui.store import Store, rows_to_columns
from bishui.water.periods import WaterPeriod
from bishui.water.readings import daily_values
from bishui.water.rounding import round_assessment
from bishui.water.service import ServiceRules, period_samples

SECTION = "WS01"
CODES = ("w01019", "w21003")  # CODMn, NH3-N: both 环办监测函〔2020〕82号 automatic items
JULY = dt.datetime(2026, 7, 1)
AUGUST = dt.datetime(2026, 8, 1)

AGREEMENT = f"""
schema = "bishui.compensation/1"
id = "readings-equality"
version = 1
title = "读模型一致性"
status = "verified"
basis = "test"
period = "month"
indicators = ["w01019", "w21003"]

[parties]
assessed = "420200"
counterparty = "420000"

[point]
kind = "water_section"
ids = ["{SECTION}"]

[missing_data]
rule = "no_payment"

[[terms]]
shape = "linear"
[terms.params]
reference = {{ w01019 = "4 mg/L", w21003 = "1 mg/L" }}
coefficient = {{ w01019 = "1 元/(mg/L)", w21003 = "1 元/(mg/L)" }}
"""


def _registry(store: Store) -> None:
    store.upsert(
        "regions",
        [
            {
                "code": "420000",
                "name": "湖北省",
                "kind": "province",
                "parent": None,
                "central": False,
            },
            {
                "code": "420200",
                "name": "黄石市",
                "kind": "city",
                "parent": "420000",
                "central": False,
            },
        ],
    )
    store.upsert(
        "sites",
        [
            {"id": SECTION, "kind": "water", "name": "一号断面", "region": "420200",
             "river": "测试河", "body": "river", "target_class": 3, "control": "national",
             "drinking_source": False, "assessment": True},
        ],
    )  # fmt: skip


def _row(day: int, hour: int, code: str, origin: str, value: float) -> tuple[Any, ...]:
    ts = JULY + dt.timedelta(days=day, hours=hour)
    return (SECTION, code, "hour", ts, origin, value, None, None, None, "N", True, None,
            origin, ts)  # fmt: skip


def _history(store: Store) -> None:
    """Every day of July, six four-hourly values of each item: the logger's at 0, 4 and 8 h,
    the platform's at 12, 16 and 20 h, and where both hold a value (0 h) the logger's differs
    from the platform's; uploads at 0, 12 and 16 h, differing from both."""
    rows = []
    for day in range(31):
        for k, code in enumerate(CODES):
            base = (2.0, 0.5)[k] + 0.01 * day
            for i, hour in enumerate((0, 4, 8)):
                rows.append(_row(day, hour, code, "logger", base + 0.1 * i))
            for i, hour in enumerate((0, 12, 16, 20)):
                rows.append(_row(day, hour, code, "platform", base + 0.3 + 0.05 * i))
            for hour in (0, 12, 16):
                rows.append(_row(day, hour, code, "upload", base + 5.0))
    store.write_measurements(rows_to_columns(rows))


def _expected(code: str) -> float:
    """The month mean of the samples the one order selects (logger's, else platform's)."""
    k = CODES.index(code)
    vals = []
    for day in range(31):
        base = (2.0, 0.5)[k] + 0.01 * day
        vals += [base + 0.1 * i for i in range(3)]
        vals += [base + 0.3 + 0.05 * i for i in (1, 2, 3)]
    return float(np.mean(vals))


def test_bulletin_month_mean_equals_statement_input(store: Store) -> None:
    _registry(store)
    _history(store)
    rules = ServiceRules()
    dv = daily_values(store, [SECTION], JULY, AUGUST, day_min_readings=rules.day_min_readings)
    ps = period_samples(dv, WaterPeriod.parse("2026-07"), rules)
    agreement = load_agreement(AGREEMENT, {"420000", "420200"}, {SECTION: "water_section"})
    exact = period_inputs(
        store, [agreement], Period.parse("2026-07"), InputOptions(round_values=False)
    )
    published = period_inputs(store, [agreement], Period.parse("2026-07"))
    point, shown = exact.points[SECTION], published.points[SECTION]
    assert "used:upload" not in " ".join(point.flags)  # every hour has an automatic value
    for code in CODES:
        bulletin = float(ps.means[0, dv.codes.index(code)])
        statement = point.indicators[code].value
        assert statement is not None
        assert bulletin == pytest.approx(_expected(code), rel=1e-12)
        assert float(statement) == pytest.approx(bulletin, rel=1e-12)
        assert point.indicators[code].count == 31 * 6
        # the published (rounded) figures agree too
        rounded = round_assessment(np.array([bulletin]), [code])[0]
        assert float(shown.indicators[code].value) == pytest.approx(float(rounded))


def test_select_one_value_per_key_by_the_one_order(store: Store) -> None:
    _registry(store)
    _history(store)
    r = readings.select(store, [SECTION], CODES, JULY, JULY + dt.timedelta(days=1), text=True)
    assert len(r) == 2 * 6  # six hours of two items
    origins = dict(
        zip(r.ts.astype("datetime64[h]").astype(int) % 24, r.origin_names(), strict=False)
    )
    assert origins == {0: "logger", 4: "logger", 8: "logger", 12: "platform", 16: "platform",
                       20: "platform"}  # fmt: skip
    assert set(r.source.tolist()) == {"logger", "platform"}  # type: ignore[union-attr]
    assert set(r.flag.tolist()) == {"N"}  # type: ignore[union-attr]
    manual = readings.select(store, [SECTION], CODES, JULY, AUGUST, origins=readings.MANUAL)
    assert len(manual) == 31 * 2 * 3 and set(manual.origin_names()) == {"upload"}
    air = readings.select(
        store, [SECTION], ["w01019"], JULY, AUGUST, origins=readings.KIND_ORIGINS["air"]
    )
    assert "upload" not in set(air.origin_names())


def test_latest_takes_the_best_origin_at_the_newest_time(store: Store) -> None:
    _registry(store)
    _history(store)
    rows = readings.latest(store, [SECTION])
    assert [(r["parameter"], r["value"]) for r in rows] == [
        ("w01019", pytest.approx(2.0 + 0.3 + 0.3 + 0.15)),
        ("w21003", pytest.approx(0.5 + 0.3 + 0.3 + 0.15)),
    ]
    # 0 h of the last day: the logger's value before the platform's and the upload's
    last_day = readings.select(store, [SECTION], ["w01019"], AUGUST - dt.timedelta(days=1), AUGUST)
    assert last_day.origin_names()[0] == "logger"


def test_sites_are_registry_records(store: Store) -> None:
    _registry(store)
    (site,) = readings.sites(store, "kind = ?", ["water"])
    assert isinstance(site, Site) and site.target_class == 3 and site.assessment


def test_origins_must_keep_the_one_order() -> None:
    with pytest.raises(ValueError, match="order"):
        readings.origin_rank_sql("origin", ("upload", "logger"))
    with pytest.raises(ValueError, match="subset"):
        readings.origin_rank_sql("origin", ("manual",))


def test_flag_codes_and_unordered_reads_select_the_same_values(store: Store) -> None:
    _registry(store)
    _history(store)
    day = (JULY, JULY + dt.timedelta(days=1))
    ordered = readings.select(store, [SECTION], CODES, *day, flags=("F", "N"))
    loose = readings.select(store, [SECTION], CODES, *day, flags=("F", "N"), ordered=False)
    assert ordered.flag_code is not None and set(ordered.flag_code.tolist()) == {1}

    def keyed(r: readings.Readings) -> list[tuple[Any, ...]]:
        return sorted(
            zip(
                r.parameter.tolist(),
                r.ts.tolist(),
                r.value.tolist(),
                r.origin.tolist(),
                strict=True,
            )
        )

    assert keyed(ordered) == keyed(loose)
    automatic = readings.select(
        store, [SECTION], CODES, *day, origins=readings.AUTOMATIC, ordered=False
    )
    assert len(automatic) == len(ordered)  # one origin per key at every hour already


def test_air_latest_hour_reads_the_automatic_network_only(store: Store) -> None:
    from bishui.air.store_io import latest_hour

    t0 = dt.datetime(2026, 7, 1, 10)
    rows = [
        ("AQ01", "a34004", "hour", t0, "logger", 35.0, None, None, None, "N", True, None, "q", t0),
        ("AQ01", "a34004", "hour", t0 + dt.timedelta(hours=1), "upload", 40.0, None, None, None,
         "N", True, None, "upload:x", t0),
    ]  # fmt: skip
    store.write_measurements(rows_to_columns(rows))
    assert latest_hour(store, ["AQ01"]) == t0  # the upload's later hour is not the report's
