"""Permits for the source-check tests: a coal boiler (GB 13223-2011) and a WWTP (GB 18918-2002)."""

import datetime as dt
from decimal import Decimal

import pytest

from bishui.sources.permits import Limit, ManagementClass, Outlet, Permit

USCC = "91130200699229617X"  # HJ 608-2017 annex example (notes B8)
PERMIT_NO = USCC + "001P"


def make_permit(**kw: object) -> Permit:
    base: dict[str, object] = {
        "permit_no": PERMIT_NO,
        "version": 1,
        "uscc": USCC,
        "enterprise": "示例热电有限公司",
        "management_class": ManagementClass.KEY,
        "valid_from": dt.date(2025, 1, 1),
        "valid_to": dt.date(2029, 12, 31),
        "outlets": (
            Outlet(
                "DA001",
                (
                    # GB 13223-2011 existing units from 2014-07-01 (notes B7 [V]); 6 % O2.
                    Limit(
                        "a21026",
                        Decimal(200),
                        "mg/m3",
                        "GB 13223-2011",
                        "表1",
                        reference_o2=Decimal(6),
                    ),
                    Limit(
                        "a21002",
                        Decimal(100),
                        "mg/m3",
                        "GB 13223-2011",
                        "表1",
                        reference_o2=Decimal(6),
                    ),
                    Limit(
                        "a34013",
                        Decimal(30),
                        "mg/m3",
                        "GB 13223-2011",
                        "表1",
                        reference_o2=Decimal(6),
                    ),
                ),
            ),
            Outlet(
                "DW001",
                (
                    # GB 18918-2002 一级A (notes B7 [V]).
                    Limit("w01018", Decimal(50), "mg/L", "GB 18918-2002", "表1 一级A"),
                    Limit("w21003", Decimal(5), "mg/L", "GB 18918-2002", "表1 一级A"),
                    Limit("w01001", Decimal(9), "1", "GB 18918-2002", "表1", lower=Decimal(6)),
                ),
            ),
        ),
        "annual_caps": {"a21026": Decimal("120.5"), "a21002": Decimal(300)},
    }
    base.update(kw)
    return Permit(**base)  # type: ignore[arg-type]


@pytest.fixture
def permit() -> Permit:
    return make_permit()
