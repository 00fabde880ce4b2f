"""Natural-resource asset tables: balance identity, row errors, all-or-nothing."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui.assessment import assets
from bishui.errors import InputError

HEAD = "county,year,resource,category,item,cause,quantity,unit\n"
GOOD = HEAD + (
    "420802,2026,land,耕地,opening,,41234.56,hm2\n"
    "420802,2026,land,耕地,decrease,human,12.30,hm2\n"
    "420802,2026,land,耕地,increase,other,0.5,hm2\n"
    "420802,2026,land,耕地,closing,,41222.76,hm2\n"
    "420802,2026,mineral,磷矿,opening,,1000000,t\n"
    "420802,2026,mineral,磷矿,decrease,human,25000,t\n"
    "420802,2026,mineral,磷矿,closing,,975000,t\n"
)


def test_balanced_file_loads() -> None:
    lines = assets.parse_survey(GOOD.encode())
    assert [ln.category for ln in lines] == ["耕地", "磷矿"]
    land = lines[0]
    assert land.balanced and land.expected_closing == Decimal("41222.76")
    s = assets.summary(lines)
    assert s["mineral"]["decrease"] == Decimal(25000)


def test_unbalanced_and_bad_rows_all_reported_nothing_loaded() -> None:
    bad = (
        GOOD.replace("41222.76", "41222.75")
        .replace("25000,t", "25000,kg")
        .replace("decrease,human,12.30", "decrease,weather,12.30")
    )
    with pytest.raises(InputError) as e:
        assets.parse_survey(bad.encode())
    errs = e.value.value
    fields = {(r["row"], r["field"]) for r in errs}
    assert (3, "cause") in fields and (7, "unit") in fields
    # the refused decrease rows leave both lines unbalanced; each is reported at its first row
    assert {(2, "closing"), (6, "closing")} <= fields


def test_missing_closing() -> None:
    with pytest.raises(InputError) as e:
        assets.parse_survey((HEAD + "420802,2026,forest,人工林,opening,,5,m3\n").encode())
    assert e.value.value[0]["rule"].startswith("an opening and a closing")


def test_xlsx_same_as_csv() -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for line in GOOD.strip().split("\n"):
        ws.append(line.split(","))
    buf = io.BytesIO()
    wb.save(buf)
    a = assets.parse_survey(buf.getvalue(), "xlsx")
    b = assets.parse_survey(GOOD.encode())
    assert [x.as_dict() for x in a] == [x.as_dict() for x in b]


def test_continuity() -> None:
    lines = assets.parse_survey(GOOD.encode())
    errs = assets.check_continuity(lines, {("420802", "land", "耕地"): Decimal("41234.57")})
    assert len(errs) == 1 and errs[0].field == "opening"


@settings(deadline=None)  # shared CI cores: no wall-clock limit
@given(
    st.decimals(0, 10**9, places=2),
    st.lists(st.decimals(0, 10**6, places=2), max_size=5),
    st.lists(st.decimals(0, 10**6, places=2), max_size=5),
)
def test_balance_identity_exact(opening: Decimal, inc: list[Decimal], dec: list[Decimal]) -> None:
    closing = opening + sum(inc, Decimal(0)) - sum(dec, Decimal(0))
    rows = [f"420802,2026,forest,天然林,opening,,{opening},m3"]
    rows += [f"420802,2026,forest,天然林,increase,natural,{q},m3" for q in inc]
    rows += [f"420802,2026,forest,天然林,decrease,human,{q},m3" for q in dec]
    if closing < 0:
        return
    rows.append(f"420802,2026,forest,天然林,closing,,{closing},m3")
    (line,) = assets.parse_survey((HEAD + "\n".join(rows) + "\n").encode())
    assert line.balanced
    rows[-1] = f"420802,2026,forest,天然林,closing,,{closing + Decimal('0.01')},m3"
    with pytest.raises(InputError):
        assets.parse_survey((HEAD + "\n".join(rows) + "\n").encode())


@pytest.mark.parametrize("data", [b"", b"not a zip", b"PK\x03\x04broken"])
def test_damaged_excel_is_bad_input(data: bytes) -> None:
    with pytest.raises(InputError) as e:
        assets.parse_survey(data, "xlsx")
    assert e.value.field == "file"
