"""Use of the annual permitted quantities, year to date (service and API), on both backends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sources_store import USCC_A, make_permit, registry

from bishui.sources import permit_store, service
from bishui.store import Store


def test_cap_usage_sums_the_year_and_projects(store: Store) -> None:
    registry(store)
    p = make_permit(annual_caps={"a21026": Decimal("100")})
    permit_store.record_permits(store, [p])
    rows = [
        (p.site_code, "DA001", "a21026", dt.date(2026, 1, 1) + dt.timedelta(days=d), 0.5, 0)
        for d in range(100)
    ]  # 0.5 t a day for 100 days = 50 t
    store.execute_many(
        [
            (
                "INSERT INTO source_mass_daily (site_code, outlet_id, pollutant, day, mass_t, "
                "missing_hours) VALUES (?, ?, ?, ?, ?, ?)",
                list(r),
            )
            for r in rows
        ]
    )
    (u,) = service.cap_usage(store, dt.date(2026, 4, 10))  # day 100 of the year
    assert (u["pollutant"], u["cap_t"], u["total_t"]) == ("a21026", "100", "50.000000")
    assert u["share"] == 0.5 and u["reached"] == []
    # 50 t left at 0.5 t/day: reached 100 days after 10 April
    assert u["projected"] == "2026-07-19"
    # Nothing emitted after day 100: the share stays, and no rate means no projection.
    (u,) = service.cap_usage(store, dt.date(2026, 12, 31))
    assert (u["share"], u["reached"], u["projected"]) == (0.5, [], None)
    # 0.9 t a day from 11 April: 80 % reached on the day the cumulative mass reaches 80 t.
    store.execute_many(
        [
            (
                "INSERT INTO source_mass_daily (site_code, outlet_id, pollutant, day, mass_t, "
                "missing_hours) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    p.site_code,
                    "DA001",
                    "a21026",
                    dt.date(2026, 4, 11) + dt.timedelta(days=d),
                    0.9,
                    0,
                ],
            )
            for d in range(60)
        ]
    )
    (u,) = service.cap_usage(store, dt.date(2026, 6, 9))
    assert u["reached"][0]["level"] == 0.8
    assert u["reached"][0]["date"] == "2026-05-14"  # 50 + 0.9 × 34 = 80.6 t on day 34
    assert service.cap_usage(store, dt.date(2026, 4, 10), usccs=["nobody"]) == []
    assert len(service.cap_usage(store, dt.date(2026, 4, 10), usccs=[USCC_A])) == 1
