"""Permit model, validation and versions (条例 Art. 13–16; HJ 608-2017)."""

import contextlib
import dataclasses
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bishui.errors import InputError
from bishui.sources import permits_io
from bishui.sources.permits import (
    Limit,
    ManagementClass,
    Outlet,
    Permit,
    amend,
    check_history,
    in_force,
    permit_for_outlet,
)
from conftest import PERMIT_NO, USCC, make_permit


def test_valid_permit(permit: Permit) -> None:
    assert permit.site_code == USCC + "001"
    assert permit.outlet("DA001").limit("a21026").reference_o2 == 6  # type: ignore[union-attr]
    assert permit.outlet("DA001").limit("a21026").averaging == "hour"  # type: ignore[union-attr]
    assert permit.outlet("DW001").limit("w01018").averaging == "day"  # type: ignore[union-attr]
    assert permit.annual_caps["a21026"] == Decimal("120.5")


@pytest.mark.parametrize(
    ("kw", "field", "fragment"),
    [
        ({"uscc": "91350100M000100Y44"}, "uscc", "check character"),
        ({"permit_no": USCC + "01P"}, "permit_no", "HJ 608"),
        ({"permit_no": "914403001922038216001P"}, "permit_no", "HJ 608"),
        ({"permit_no": USCC + "001W"}, "permit_no", "identifier"),
        ({"management_class": "重点"}, "management_class", "one of"),
        ({"valid_to": dt.date(2024, 1, 1)}, "valid_to", "not before"),
        ({"annual_caps": {"x99999": Decimal(1)}}, "annual_caps", "Appendix B"),
        ({"annual_caps": {"a21026": 1.5}}, "annual_quantity_t", "not float"),
        ({"annual_caps": {"a21026": Decimal(-1)}}, "annual_quantity_t", ">= 0"),
        ({"outlets": (Outlet("DA001"), Outlet("DA001"))}, "outlet_id", "twice"),
    ],
)
def test_permit_refused(kw: dict[str, object], field: str, fragment: str) -> None:
    with pytest.raises(InputError) as ei:
        make_permit(**kw)
    assert ei.value.field == field
    assert fragment in ei.value.rule


def test_registration_uses_w() -> None:
    p = make_permit(permit_no=USCC + "001W", management_class=ManagementClass.REGISTRATION)
    assert p.management_class is ManagementClass.REGISTRATION


@pytest.mark.parametrize(
    ("args", "kw", "field"),
    [
        (("a21026", Decimal(200), "", "GB 13223-2011"), {}, "limit_unit"),  # no unit
        (("a21026", Decimal(200), "mg/L", "GB 13223-2011"), {}, "limit_unit"),
        (("zz0000", Decimal(200), "mg/m3", "GB 13223-2011"), {}, "pollutant"),
        (("a19001", Decimal(6), "mg/m3", "x"), {}, "pollutant"),  # O2 is not a pollutant
        (("a21026", Decimal(0), "mg/m3", "GB 13223-2011"), {}, "limit_value"),
        (("a21026", Decimal(200), "mg/m3", " "), {}, "standard"),
        (("a21026", Decimal(200), "mg/m3", "GB"), {"averaging": "week"}, "averaging"),
        (("a21026", Decimal(200), "mg/m3", "GB"), {"reference_o2": Decimal(21)}, "reference_o2"),
        (("w01018", Decimal(50), "mg/L", "GB"), {"reference_o2": Decimal(6)}, "reference_o2"),
        (("w01001", Decimal(9), "mg/L", "GB"), {}, "limit_unit"),
        (("w01001", Decimal(9), "1", "GB"), {"lower": Decimal(10)}, "limit_lower"),
        (("a21026", 200.0, "mg/m3", "GB"), {}, "limit_value"),
    ],
)
def test_limit_refused(args: tuple[object, ...], kw: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as ei:
        Limit(*args, **kw)  # type: ignore[arg-type]
    assert ei.value.field == field


def test_outlet_refusals() -> None:
    with pytest.raises(InputError, match="HJ 608"):
        Outlet("DX001")
    water = Limit("w01018", Decimal(50), "mg/L", "GB 18918-2002")
    with pytest.raises(InputError, match="air outlet"):
        Outlet("DA001", (water,))
    with pytest.raises(InputError, match="twice"):
        Outlet("DW001", (water, water))


def test_limit_units_convert() -> None:
    lim = Limit("a20057", Decimal(30), "ug/m3", "GB 13223-2011")
    assert lim.in_check_unit() == pytest.approx(0.03)


def test_versions_and_in_force(permit: Permit) -> None:
    """A check on a date uses that date's version (issue 6)."""
    new_limit = Limit("a21026", Decimal(35), "mg/m3", "超低排放", reference_o2=Decimal(6))
    outlets = (Outlet("DA001", (new_limit,)), permit.outlets[1])
    hist = amend(
        [permit],
        PERMIT_NO,
        dt.date(2026, 7, 1),
        "超低排放改造",
        outlets=outlets,
        annual_caps={"a21026": Decimal(80)},
    )
    assert [p.version for p in hist] == [1, 2]
    assert hist[0].valid_to == dt.date(2026, 6, 30)
    v_before = permit_for_outlet(hist, permit.site_code, "DA001", dt.date(2026, 6, 30))
    v_after = permit_for_outlet(hist, permit.site_code, "DA001", dt.date(2026, 7, 1))
    assert v_before is not None and v_after is not None
    assert v_before.outlet("DA001").limit("a21026").value == 200  # type: ignore[union-attr]
    assert v_after.outlet("DA001").limit("a21026").value == 35  # type: ignore[union-attr]
    assert v_after.change_reason == "超低排放改造"
    assert in_force(hist, dt.date(2030, 1, 1)) == []
    assert permit_for_outlet(hist, permit.site_code, "DA009", dt.date(2026, 7, 1)) is None


def test_amend_refusals(permit: Permit) -> None:
    with pytest.raises(InputError, match="reason"):
        amend([permit], PERMIT_NO, dt.date(2026, 1, 1), " ")
    with pytest.raises(InputError, match="in force"):
        amend([permit], PERMIT_NO, dt.date(2031, 1, 1), "renewal")
    with pytest.raises(InputError, match="after"):
        amend([permit], PERMIT_NO, permit.valid_from, "x")


def test_overlapping_versions_refused(permit: Permit) -> None:
    v2 = dataclasses.replace(
        permit, version=2, valid_from=dt.date(2029, 12, 31), valid_to=dt.date(2034, 12, 30)
    )
    with pytest.raises(InputError) as ei:
        check_history([permit, v2])
    assert ei.value.field == "valid_from"
    assert "overlaps" in ei.value.rule
    with pytest.raises(InputError, match="twice"):
        check_history(
            [
                permit,
                dataclasses.replace(
                    permit, valid_from=dt.date(2030, 1, 1), valid_to=dt.date(2030, 2, 1)
                ),
            ]
        )
    ok = dataclasses.replace(v2, valid_from=dt.date(2030, 1, 1))
    check_history([permit, ok])


def test_revoked(permit: Permit) -> None:
    p = dataclasses.replace(permit, revoked_on=dt.date(2026, 3, 1))
    assert p.is_in_force(dt.date(2026, 2, 28))
    assert not p.is_in_force(dt.date(2026, 3, 1))


@given(st.dates(dt.date(2024, 1, 1), dt.date(2031, 1, 1)), st.integers(1, 1500))
def test_at_most_one_version_in_force(day: dt.date, shift: int) -> None:
    p = make_permit()
    eff = p.valid_from + dt.timedelta(days=shift)
    hist = amend([p], PERMIT_NO, eff, "trade", annual_caps={"a21026": Decimal(1)})
    assert len(in_force(hist, day)) <= 1
    assert (len(in_force(hist, day)) == 1) == (p.valid_from <= day <= p.valid_to)


def test_csv_round_trip(permit: Permit, tmp_path: Path) -> None:
    hist = amend(
        [permit],
        PERMIT_NO,
        dt.date(2026, 7, 1),
        "排污权交易",
        annual_caps={"a21026": Decimal("100.25")},
    )
    buf = io.StringIO()
    permits_io.write_csv(hist, buf)
    back = permits_io.read_csv(io.StringIO(buf.getvalue()))
    assert back == hist
    path = tmp_path / "p.xlsx"
    permits_io.write_xlsx(hist, path)
    assert permits_io.read_xlsx(path) == hist
    csv_path = tmp_path / "p.csv"
    permits_io.write_csv(hist, csv_path)
    assert permits_io.read_csv(csv_path) == hist


def test_csv_errors_carry_row(permit: Permit) -> None:
    rows = permits_io.permits_to_rows([permit])
    rows[2] = rows[2] | {"limit_unit": ""}
    with pytest.raises(InputError) as ei:
        permits_io.permits_from_rows(rows)
    assert (ei.value.field, ei.value.row) == ("limit_unit", 4)
    rows = permits_io.permits_to_rows([permit])
    rows[1] = rows[1] | {"enterprise": "另一家"}
    with pytest.raises(InputError, match="differs"):
        permits_io.permits_from_rows(rows)
    rows = permits_io.permits_to_rows([permit])
    rows[0] = rows[0] | {"valid_from": "2025/1/1"}
    rows = [r | {"valid_from": "2025/1/1"} for r in rows]
    with pytest.raises(InputError, match="ISO date"):
        permits_io.permits_from_rows(rows)
    with pytest.raises(InputError, match="missing column"):
        permits_io.read_csv(io.StringIO("a,b\n1,2\n"))


@given(
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**6), places=3),
    st.decimals(min_value=Decimal(0), max_value=Decimal(10**5), places=6),
    st.sampled_from(["mg/m3", "ug/m3", "ng/m3"]),
    st.one_of(st.none(), st.decimals(min_value=Decimal(0), max_value=Decimal("20.9"), places=1)),
)
def test_csv_round_trip_any_values(
    value: Decimal, cap: Decimal, unit: str, o2: Decimal | None
) -> None:
    lim = Limit("a21026", value, unit, "GB 13223-2011", "表1", reference_o2=o2)
    p = make_permit(outlets=(Outlet("DA001", (lim,)),), annual_caps={"a21026": cap})
    buf = io.StringIO()
    permits_io.write_csv([p], buf)
    assert permits_io.read_csv(io.StringIO(buf.getvalue())) == [p]


@given(
    st.lists(
        st.text(max_size=8), min_size=len(permits_io.COLUMNS), max_size=len(permits_io.COLUMNS)
    )
)
def test_arbitrary_rows_never_crash(cells: list[str]) -> None:
    row = dict(zip(permits_io.COLUMNS, cells, strict=True))
    with contextlib.suppress(InputError):
        permits_io.permits_from_rows([row])


def test_dict_round_trip(permit: Permit) -> None:
    d = json.loads(json.dumps(permits_io.permit_to_dict(permit), ensure_ascii=False))
    assert d["annual_caps_t"]["a21026"] == "120.5"
    assert permits_io.permit_from_dict(d) == permit
    del d["uscc"]
    with pytest.raises(InputError) as ei:
        permits_io.permit_from_dict(d)
    assert ei.value.field == "uscc"
    d = permits_io.permit_to_dict(permit)
    d["outlets"][0]["limits"][0]["unit"] = ""
    with pytest.raises(InputError, match="unit"):
        permits_io.permit_from_dict(d)
    d = permits_io.permit_to_dict(permit)
    d["outlets"] = "DA001"
    with pytest.raises(InputError):
        permits_io.permit_from_dict(d)
