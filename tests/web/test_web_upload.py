"""The data-upload API and page (issue 16 item 6): preview, all-or-nothing commit with the row
errors named (row, field, rule, value — in Chinese too), the size limit, roles and scope."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import httpx
import pytest
from openpyxl import Workbook
from web_support import PASSWORD, client_for, csrf_of, login

from bishui.registry import Device, DeviceParameter, Region, Registry, Site, apply
from bishui.store import Store
from bishui.web import Settings, accounts, create_app

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
GOOD = (
    "站点编号,监测项目,监测时间,监测值,单位\n"
    "WS01,w21003,2025-07-01 08:00,1.23,mg/L\n"
    "WS01,w01001,2025-07-01 08:00,7.4,\n"
)
#: the same file with one bad row (row 3: pH 15 is outside the instrument range 0…14)
BAD = GOOD.replace("7.4", "15")


@pytest.fixture
def small(store: Store) -> Store:
    from bishui.web import schema

    schema.ensure(store)
    apply(
        store,
        Registry(
            regions=[Region("420802", "东宝区", "district")],
            sites=[Site("WS01", "water", "竹皮河三三零", "420802", body="river", target_class=4)],
            devices=[DEV],
        ),
    )
    for role in ("admin", "analyst", "inspector"):
        accounts.add_user(store, f"u.{role}", PASSWORD, role)
    return store


@pytest.fixture
async def as_analyst(small: Store) -> Any:
    app = create_app(small, Settings(secret="", max_upload_bytes=8192))
    async with client_for(app) as c:
        r = await login(c, "u.analyst")
        assert r.status_code == 303
        c.headers["X-CSRF-Token"] = await csrf_of(c, "/upload")
        yield c


async def _send(c: httpx.AsyncClient, body: bytes, name: str = "lab.csv", commit: bool = False):
    return await c.post(
        "/api/v1/uploads",
        params={"name": name, "commit": "true" if commit else "false"},
        content=body,
        headers={"Content-Type": "application/octet-stream"},
    )


async def test_valid_file_previews_then_commits(
    as_analyst: httpx.AsyncClient, small: Store
) -> None:
    r = await _send(as_analyst, GOOD.encode())
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["committed"], body["rows"], body["errors"]) == (False, 2, [])
    assert body["preview"][0] == {
        "site": "WS01", "parameter": "w21003", "period": "hour",
        "time": "2025-07-01T08:00:00+08:00", "value": 1.23, "flag": "N",
    }  # fmt: skip
    assert small.count("measurement") == 0  # the preview stores nothing
    r = await _send(as_analyst, GOOD.encode(), commit=True)
    assert r.status_code == 201, r.text
    assert (r.json()["rows"], r.json()["duplicate_of_previous"]) == (2, False)
    assert small.count("measurement") == 2
    # the uploader is recorded with the file, and in the upload log
    (raw,) = small.query("SELECT peer FROM raw_log WHERE channel = 'upload'")
    assert raw["peer"] == "u.analyst: lab.csv"
    again = await _send(as_analyst, GOOD.encode(), commit=True)
    assert again.json()["duplicate_of_previous"] is True and small.count("measurement") == 2
    log = (await as_analyst.get("/api/v1/uploads")).json()["items"]
    assert [(x["username"], x["outcome"], x["rows_stored"]) for x in log] == [
        ("u.analyst", "duplicate", 2),
        ("u.analyst", "stored", 2),
    ]


async def test_excel_file_commits(as_analyst: httpx.AsyncClient, small: Store) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["site", "parameter", "time", "value"])
    ws.append(["WS01", "w21003", dt.datetime(2025, 7, 1, 9), 2.5])
    buf = io.BytesIO()
    wb.save(buf)
    r = await _send(as_analyst, buf.getvalue(), name="lab.xlsx", commit=True)
    assert r.status_code == 201, r.text
    assert small.query("SELECT value FROM measurement")[0]["value"] == 2.5


async def test_one_bad_row_commits_nothing_and_is_named(
    as_analyst: httpx.AsyncClient, small: Store
) -> None:
    r = await _send(as_analyst, BAD.encode(), commit=True)
    assert r.status_code == 422
    body = r.json()
    assert body["ok"] is False and body["error"] == "invalid_input"
    assert body["errors"] == [
        {
            "row": 3,
            "field": "value",
            "field_zh": "监测值",
            "rule": "inside the instrument range 0.0…14.0",
            "rule_zh": "应在仪器量程 0.0～14.0 之内",
            "value": "15",
        }
    ]
    assert small.count("measurement") == 0 and small.count("raw_log") == 0
    # the preview lists every bad row, not only the first
    worse = BAD + "WS99,w21003,2025-07-01 09:00,1,mg/L\nWS01,w21003,soon,1,mg/L\n"
    body = (await _send(as_analyst, worse.encode())).json()
    assert [(e["row"], e["field"], e["rule_zh"]) for e in body["errors"]] == [
        (3, "value", "应在仪器量程 0.0～14.0 之内"),
        (4, "site", "不是已登记的站点"),
        (5, "time", "北京时间，格式如 2025-07-01 08:00"),
    ]
    assert body["rows"] == 1
    log = (await as_analyst.get("/api/v1/uploads")).json()["items"]
    assert [(x["outcome"], x["errors"], x["rows_stored"]) for x in log] == [("refused", 1, 0)]


@pytest.mark.parametrize(
    ("body", "name", "field"),
    [
        (b"a,b\n1,2\n", "lab.csv", "site"),  # a required column missing
        (b"", "lab.csv", "file"),
        (b"\xff\xfe\x00garbage", "lab.xlsx", "file"),
    ],
)
async def test_file_level_problems(
    as_analyst: httpx.AsyncClient, small: Store, body: bytes, name: str, field: str
) -> None:
    r = await _send(as_analyst, body, name=name, commit=True)
    assert r.status_code == 400 and r.json()["field"] == field
    assert small.count("measurement") == 0
    preview = await _send(as_analyst, body, name=name)
    assert preview.status_code == 400 and preview.json()["field"] == field
    log = (await as_analyst.get("/api/v1/uploads")).json()["items"]
    assert [(x["outcome"], x["source"]) for x in log] == [("refused", None)]


@pytest.mark.parametrize("name", ["lab.exe", "../lab.csv", "x.csv/", ""])
async def test_bad_names_are_refused(as_analyst: httpx.AsyncClient, name: str) -> None:
    r = await _send(as_analyst, GOOD.encode(), name=name)
    assert r.status_code == 422


async def test_oversize_file_is_refused(as_analyst: httpx.AsyncClient, small: Store) -> None:
    big = GOOD + "WS01,w21003,2025-07-01 08:00,1.23,mg/L\n" * 300  # > 8192 bytes
    r = await _send(as_analyst, big.encode(), commit=True)
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    assert small.count("measurement") == 0


async def test_roles(small: Store) -> None:
    app = create_app(small, Settings(secret=""))
    async with client_for(app) as c:
        assert (await _send(c, GOOD.encode())).status_code == 401
        await login(c, "u.inspector")
        c.headers["X-CSRF-Token"] = await csrf_of(c, "/")
        assert (await _send(c, GOOD.encode())).status_code == 403
        page = await c.get("/upload", headers={"Accept": "text/html"})
        assert page.status_code == 403
    async with client_for(app) as c:
        await login(c, "u.admin")
        # a session without its CSRF header writes nothing
        r = await _send(c, GOOD.encode(), commit=True)
        assert r.status_code == 403 and small.count("measurement") == 0
        page = await c.get("/upload", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert "手工与实验室数据上传" in page.text and "监测值" in page.text
        assert 'href="/upload"' in page.text and 'href="/users"' in page.text


async def test_an_enterprise_uploads_for_its_own_sites_only(
    app: Any, users: dict[str, Any], city_store: Store
) -> None:
    ent = users["enterprise"]["enterprise"]
    own = city_store.query(
        "SELECT d.site_id, p.parameter, p.unit FROM devices d JOIN sites s ON s.id = d.site_id "
        "JOIN device_parameters p ON p.mn = d.mn WHERE s.enterprise = ? ORDER BY d.site_id LIMIT 1",
        [ent],
    )[0]
    other = city_store.query(
        "SELECT d.site_id, p.parameter FROM devices d JOIN sites s ON s.id = d.site_id "
        "JOIN device_parameters p ON p.mn = d.mn WHERE s.enterprise <> ? LIMIT 1",
        [ent],
    )[0]
    text = (
        "site,parameter,time,value\n"
        f"{own['site_id']},{own['parameter']},2025-07-01 08:00,1\n"
        f"{other['site_id']},{other['parameter']},2025-07-01 08:00,1\n"
    )
    async with client_for(app) as c:
        await login(c, users["enterprise"]["username"])
        c.headers["X-CSRF-Token"] = await csrf_of(c, "/upload")
        body = (await _send(c, text.encode())).json()  # a preview: nothing is stored
        log = (await c.get("/api/v1/uploads")).json()["items"]
    assert log == []  # an enterprise sees its own uploads only (and a preview is not logged)
    assert body["rows"] == 1
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(3, "site")]


def test_every_period_has_a_name() -> None:
    from bishui.store import PERIODS
    from bishui.web.admin_pages import PERIOD_NAMES

    assert set(PERIOD_NAMES) == set(PERIODS)


def test_check_limits_its_errors_and_its_size() -> None:
    from bishui.errors import TooLarge
    from bishui.ingest.upload import check

    now = dt.datetime(2025, 7, 2, 12)
    text = GOOD + "".join(f"WS01,w01001,2025-07-01 {h:02d}:00,99,\n" for h in range(10, 14))
    got = check(text.encode(), "lab.csv", {"WS01": DEV}, now=now, max_errors=2)
    assert [e.row for e in got.errors] == [4, 5] and got.truncated and len(got.rows) == 2
    with pytest.raises(TooLarge):
        check(GOOD.encode(), "lab.csv", {"WS01": DEV}, now=now, max_bytes=10)
