"""Permits for the model city's demo enterprises, built from the limits in the notes.

The enterprises are invented: credit codes come from :func:`bishui.registry.uscc.generate`.
The **limits** are the published ones, cited in each ``Limit`` with their tag from the notes
(exchange-and-permits.md B7 and C3). The **annual quantities** are the demo's own assumption,
made from a nominal design load; they are not taken from any real permit.

============ ===================================================== ==========================
template     limits (mg/m³ or mg/L)                                source, tag
============ ===================================================== ==========================
power        SO2 200, NOx 100, dust 30 at 6 % O2                    GB 13223-2011 表1, existing
                                                                    units from 2014-07-01 [V]
cement       PM 30, SO2 200, NOx 400, NH3 10 (kiln, Table 2)         GB 4915-2013 [S]; 10 % O2 [M]
boiler       PM 80, SO2 400 (in-use coal boiler, 表1) at 9 % O2      GB 13271-2014 [V]; 9 % O2 [S]
wwtp         COD 50, NH3-N 5, TN 15, TP 0.5, pH 6–9 (一级A)          GB 18918-2002 [V]
============ ===================================================== ==========================
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from bishui.registry import uscc
from bishui.sources.permits import Limit, ManagementClass, Outlet, Permit

D = Decimal


def _power() -> tuple[tuple[Outlet, ...], dict[str, Decimal]]:
    src, cl, o2 = "GB 13223-2011", "表1 现有机组(2014-07-01起) [V]", D(6)
    da = Outlet("DA001", (
        Limit("a21026", D(200), "mg/m3", src, cl, reference_o2=o2),
        Limit("a21002", D(100), "mg/m3", src, cl, reference_o2=o2),
        Limit("a34013", D(30), "mg/m3", src, cl, reference_o2=o2),
    ), name="1#锅炉烟囱")  # fmt: skip
    return (da,), {"a21026": D(800), "a21002": D(400), "a34013": D(120)}


def _cement() -> tuple[tuple[Outlet, ...], dict[str, Decimal]]:
    src, cl, o2 = "GB 4915-2013", "表2 水泥窑及窑尾余热利用系统 [S]; 基准氧10% [M]", D(10)
    da = Outlet("DA001", (
        Limit("a34013", D(30), "mg/m3", src, cl, reference_o2=o2),
        Limit("a21026", D(200), "mg/m3", src, cl, reference_o2=o2),
        Limit("a21002", D(400), "mg/m3", src, cl, reference_o2=o2),
        Limit("a21001", D(10), "mg/m3", src, cl, reference_o2=o2),
    ), name="窑尾烟囱")  # fmt: skip
    return (da,), {"a21026": D(300), "a21002": D(900), "a34013": D(60)}


def _boiler() -> tuple[tuple[Outlet, ...], dict[str, Decimal]]:
    src, cl, o2 = "GB 13271-2014", "表1 在用燃煤锅炉 [V]; 基准氧9% [S]", D(9)
    da = Outlet("DA001", (
        Limit("a34013", D(80), "mg/m3", src, cl, reference_o2=o2),
        Limit("a21026", D(400), "mg/m3", src, cl, reference_o2=o2),
    ), name="锅炉房烟囱", main=False)  # fmt: skip
    return (da,), {}


def _wwtp() -> tuple[tuple[Outlet, ...], dict[str, Decimal]]:
    src, cl = "GB 18918-2002", "表1 一级A [V]"
    dw = Outlet("DW001", (
        Limit("w01018", D(50), "mg/L", src, cl),
        Limit("w21003", D(5), "mg/L", src, cl),
        Limit("w21001", D(15), "mg/L", src, cl),
        Limit("w21011", D("0.5"), "mg/L", src, cl + " 2006-01-01后建"),
        Limit("w01001", D(9), "1", src, cl, lower=D(6)),
    ), name="总排口")  # fmt: skip
    return (dw,), {"w01018": D(365), "w21003": D("36.5")}


TEMPLATES = {
    "power": ("热电", ManagementClass.KEY, _power),
    "cement": ("水泥", ManagementClass.KEY, _cement),
    "boiler": ("供热", ManagementClass.SIMPLIFIED, _boiler),
    "wwtp": ("污水处理厂", ManagementClass.KEY, _wwtp),
}


def demo_permits(
    regions: Sequence[str],
    seed: int = 0,
    kinds: Sequence[str] = ("power", "cement", "boiler", "wwtp"),
    valid_from: dt.date = dt.date(2024, 1, 1),
) -> list[Permit]:
    """One permit per (region, kind), valid five years (条例 Art. 14).

    Parameters
    ----------
    regions : sequence of str
        GB/T 2260 codes of the registering authorities (e.g. the model city's districts).
    seed : int
        Seeds the credit codes.
    """
    out = []
    for i, region in enumerate(regions):
        for j, kind in enumerate(kinds):
            label, mc, make = TEMPLATES[kind]
            code = uscc.generate(region, seed * 10_000 + i * 100 + j)
            outlets, caps = make()
            out.append(
                Permit(
                    permit_no=code + "001P", version=1, uscc=code,
                    enterprise=f"示范{label}有限公司（{region}）", management_class=mc,
                    valid_from=valid_from,
                    valid_to=valid_from.replace(year=valid_from.year + 5) - dt.timedelta(days=1),
                    outlets=outlets, annual_caps=caps, issued_by="荆门市生态环境局",
                )
            )  # fmt: skip
    return out
