import datetime as dt
import io

import pytest
from openpyxl import Workbook

from bishui.errors import InputError
from bishui.ingest.upload import import_file
from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
from bishui.store import Store

NOW = dt.datetime(2025, 7, 2, 12)
DEV = Device(
    mn="LAB0001",
    site_id="WS01",
    pw="123456",
    st="21",
    parameters=(
        DeviceParameter("w21003", "mg/L", 0, 100),
        DeviceParameter("w01001", "无量纲", 0, 14),
    ),
)


@pytest.fixture
def city(store: Store) -> Store:
    apply(
        store,
        Registry(
            regions=[Region("420802", "东宝区", "district")],
            sites=[Site("WS01", "water", "竹皮河三三零", "420802", body="river", target_class=4)],
            devices=[DEV],
        ),
    )
    return store


GOOD = (
    "站点编号,监测项目,监测时间,监测值,单位\n"
    "WS01,w21003,2025-07-01 08:00,1.23,mg/L\n"
    "WS01,w01001,2025-07-01 08:00,7.4,\n"
)


def test_good_csv_is_stored_once(city: Store) -> None:
    r = import_file(city, GOOD.encode(), "lab.csv", {DEV.mn: DEV}, now=NOW)
    assert (r.rows, r.duplicate_of_previous) == (2, False)
    again = import_file(city, GOOD.encode(), "lab.csv", {DEV.mn: DEV}, now=NOW)
    assert again.duplicate_of_previous
    assert city.count("measurement") == 2
    assert city.count("raw_log") == 2  # every upload is kept as received


def test_gbk_csv_from_excel_is_read(city: Store) -> None:
    r = import_file(city, GOOD.encode("gb18030"), "lab.csv", {DEV.mn: DEV}, now=NOW)
    assert r.rows == 2


@pytest.mark.parametrize(
    ("line", "field", "rule"),
    [
        ("WS09,w21003,2025-07-01 08:00,1.0,", "site", "not a registered site"),
        ("WS01,w99999,2025-07-01 08:00,1.0,", "parameter", "not registered"),
        ("WS01,w21003,yesterday,1.0,", "time", "a time like"),
        ("WS01,w21003,2030-01-01 00:00,1.0,", "time", "in the future"),
        ("WS01,w21003,2025-07-01 09:00,abc,", "value", "a number"),
        ("WS01,w21003,2025-07-01 09:00,nan,", "value", "finite"),
        ("WS01,w21003,2025-07-01 09:00,-1,", "value", "instrument range"),
        ("WS01,w21003,2025-07-01 09:00,1.0,μg/L", "unit", "registered unit"),
        ("WS01,w21003,2025-07-01 08:00,1.5,", "time", "a second value"),
    ],
)
def test_bad_row_refuses_the_whole_file(city: Store, line: str, field: str, rule: str) -> None:
    data = (GOOD + line + "\n").encode()
    with pytest.raises(InputError) as e:
        import_file(city, data, "lab.csv", {DEV.mn: DEV}, now=NOW)
    assert (e.value.row, e.value.field) == (4, field)
    assert rule in e.value.rule
    assert city.count("measurement") == 0  # nothing partial


def test_missing_column_names_the_column(city: Store) -> None:
    with pytest.raises(InputError) as e:
        import_file(city, b"site,parameter,value\nWS01,w21003,1\n", "x.csv", {DEV.mn: DEV}, now=NOW)
    assert (e.value.field, e.value.row) == ("time", 1)


@pytest.mark.parametrize(
    ("data", "name"), [(b"", "x.csv"), (b"a,b", "x.txt"), (b"not a zip", "x.xlsx")]
)
def test_unreadable_files(city: Store, data: bytes, name: str) -> None:
    with pytest.raises(InputError):
        import_file(city, data, name, {DEV.mn: DEV}, now=NOW)


def test_excel_upload(city: Store) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["site", "parameter", "time", "value", "flag"])
    ws.append(["WS01", "w21003", dt.datetime(2025, 7, 1, 8), 0.8, "N"])
    ws.append(["WS01", "w21003", dt.datetime(2025, 7, 1, 12), 0.9, "C"])
    buf = io.BytesIO()
    wb.save(buf)
    r = import_file(city, buf.getvalue(), "lab.xlsx", {DEV.mn: DEV}, now=NOW)
    assert r.rows == 2
    got = city.query("SELECT flag, valid FROM measurement ORDER BY ts")
    assert got == [{"flag": "N", "valid": True}, {"flag": "C", "valid": False}]
