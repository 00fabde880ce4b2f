"""The public report form under abuse, the status by code, staff triage and the disclosure —
through the app, on both backends (issue 20; docs/governance.md "公众举报与信息公开").

One store and one app per backend for the module (the model city's registry and permits, the
two staff accounts the tests log in as, the demo's reports and published case); each test sets the
app's settings it needs and starts with empty report limiters (:func:`_app`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_support import PASSWORD, client_for, csrf_of, drop_store, login, make_store

from bishui.participation import reports as rp
from bishui.participation import service as svc
from bishui.registry import apply
from bishui.store import Store
from bishui.timeutil import now_beijing
from bishui.web import Settings, accounts, create_app

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5f0000000049454e44ae426082"
)
TEXT = "竹皮河边排口傍晚排出发黑的污水，有臭味。"
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
FORM = {"lat": "31.0357", "lon": "112.2048", "description": TEXT, "contact": ""}


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, cheap_argon2: None
) -> Iterator[tuple[Store, dict[str, Any], dict[str, str], Any]]:
    from bishui.demo import city
    from bishui.demo import participation as demo
    from bishui.demo.city_permits import load_demo_permits

    data = tmp_path_factory.mktemp("participation")
    store, _, _ = make_store(str(request.param), data)
    try:
        model = city.build()
        apply(store, model.registry)
        load_demo_permits(store, model)
        users = {}
        for role in ("analyst", "inspector"):
            accounts.add_user(store, f"demo.{role}", PASSWORD, role)
            users[role] = {"username": f"demo.{role}"}
        demo.setup(store, data, now=now_beijing(), echo=lambda *a: None)
        lines = (Path(data) / demo.CODES_FILE).read_text(encoding="utf-8").split()
        codes = dict(zip(lines[::2], lines[1::2], strict=True))
        yield store, users, codes, create_app(store, Settings(secret=""))
    finally:
        drop_store(store)


def _app(seeded: Any, **kw: Any) -> Any:
    """The module's app with these settings and empty report limiters."""
    app = seeded[3]
    app.state.web.settings = Settings(secret="", **kw)
    if hasattr(app.state, "report_limits"):
        del app.state.report_limits
    return app


async def _post(
    client: httpx.AsyncClient, data: dict[str, str] | None = None,
    photo: tuple[str, bytes, str] | None = None,
) -> httpx.Response:  # fmt: skip
    files = {"photo": photo} if photo else None
    return await client.post("/api/v1/citizen-reports", data=data or FORM, files=files)


async def test_a_flood_is_refused_per_address_then_globally(seeded: Any) -> None:
    app = _app(seeded, report_rate="2/3600", report_global_rate="3/3600")
    async with client_for(app, client=("198.51.100.7", 4000)) as one:
        for _ in range(2):
            r = await _post(one, photo=("a.png", PNG, "image/png"))
            assert r.status_code == 201, r.text
            assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}(-[2-9A-HJKMNP-Z]{4}){2}", r.json()["code"])
        r = await _post(one)
        assert r.status_code == 429 and r.json()["error"] == "rate_limited"
        assert int(r.headers["retry-after"]) > 0
    async with client_for(app, client=("198.51.100.8", 4000)) as other:
        assert (await _post(other)).status_code == 201  # another address: its own allowance
        r = await _post(other)  # but the form as a whole is limited too
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # the form page says the same, with Retry-After
    async with client_for(app, client=("198.51.100.9", 4000)) as page:
        csrf = await csrf_of(page, "/report")
        r = await page.post("/report", data={**FORM, "csrf_token": csrf},
                            headers={"Accept": "text/html"})  # fmt: skip
        assert r.status_code == 429 and "retry-after" in r.headers


async def test_size_and_type_limits(seeded: Any) -> None:
    app = _app(seeded, max_report_photo_bytes=4096, max_body_bytes=8192)
    async with client_for(app) as client:
        big = PNG + b"\x00" * 20_000  # over the body limit: refused before it is read
        r = await _post(client, photo=("a.png", big, "image/png"))
        assert r.status_code == 413 and r.json()["error"] == "too_large"
        over = PNG + b"\x00" * 5000  # within the body, over the photo limit
        r = await _post(client, photo=("a.png", over, "image/png"))
        assert r.status_code == 413 and r.json()["field"] == "photo"
        # a page renamed .jpg, declared as a JPEG: the bytes decide
        fake = b"<html><script>alert(1)</script></html>"
        r = await _post(client, photo=("a.jpg", fake, "image/jpeg"))
        assert r.status_code == 400 and r.json()["field"] == "photo"
        r = await _post(client, photo=("a.jpg", PNG, "image/jpeg"))
        assert r.status_code == 400 and r.json()["field"] == "photo"
        r = await _post(client, data={**FORM, "description": "x" * 2001})
        assert r.status_code == 400 and r.json()["field"] == "description"
        r = await _post(client, data={**FORM, "lat": "39.9"})  # not in the city
        assert r.status_code == 400 and r.json()["field"] == "lat"


async def test_the_form_needs_its_csrf_token_and_renders_input_inert(seeded: Any) -> None:
    store = seeded[0]
    async with client_for(_app(seeded)) as client:
        page = await client.get("/report", headers={"Accept": "text/html"})
        assert page.status_code == 200 and 'id="report-map"' in page.text
        assert "echarts-6.1.0.min.js" in page.text and "//cdn" not in page.text
        r = await client.post("/report", data={**FORM, "csrf_token": "forged"},
                              headers={"Accept": "text/html"})  # fmt: skip
        assert r.status_code == 403
        csrf = await csrf_of(client, "/report")
        bad = {**FORM, "lat": "north", "description": SCRIPT + TEXT, "contact": SCRIPT[:60],
               "csrf_token": csrf}  # fmt: skip
        r = await client.post("/report", data=bad, headers={"Accept": "text/html"})
        assert r.status_code == 400 and "&lt;script&gt;" in r.text
        assert SCRIPT not in r.text and "<img src=x" not in r.text
        good = {**FORM, "description": SCRIPT + TEXT, "contact": SCRIPT[:60], "csrf_token": csrf}
        r = await client.post("/report", data=good, files={"photo": ("p.png", PNG, "image/png")},
                              headers={"Accept": "text/html"})  # fmt: skip
        assert r.status_code == 201, r.text[:300]
        code = re.search(r'id="report-code">([0-9A-Z-]+)<', r.text)
        assert code
        status = await client.get("/report/status", params={"code": code.group(1)},
                                  headers={"Accept": "text/html"})  # fmt: skip
        assert status.status_code == 200 and "已收到，待受理" in status.text
        assert "<script>alert" not in status.text and TEXT not in status.text
    # staff read it back as data: the text is kept as sent, and JSON carries it inert
    rid = svc.find_by_code(store, code.group(1))
    assert svc.get_report(store, rid)["description"].startswith(SCRIPT)


async def test_a_citizen_sees_his_report_and_published_things_only(seeded: Any) -> None:
    store, _, codes, _ = seeded
    in_progress = next(c for c in codes.values() if svc.status(store, c)["state"] == "in_progress")
    async with client_for(_app(seeded)) as client:
        r = await client.get(f"/api/v1/citizen-reports/status/{in_progress.lower()}")
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        body = r.json()["status"]
        assert body["state"] == "in_progress"
        text = r.text
        for private in ("demo.inspector", "13800000000", "T20", "R20", "team:", "citizen:"):
            assert private not in text
        r = await client.get("/api/v1/citizen-reports/status/2222-3333-4444")
        assert r.status_code == 404
        # staff lists, a report's record and its photo are not the public's
        for url in ("/api/v1/citizen-reports", f"/api/v1/citizen-reports/{next(iter(codes))}",
                    f"/api/v1/citizen-reports/{next(iter(codes))}/photo"):  # fmt: skip
            assert (await client.get(url)).status_code == 401
        # the disclosure: the closed penalty case with the enterprise, no person
        cases = (await client.get("/api/v1/disclosure/cases")).json()
        assert cases["total"] >= 1
        case = cases["items"][0]
        assert case["disposal"] == "penalty" and case["enterprise"] and case["amount_yuan"]
        assert not {"assignee", "visits", "evidence", "legal_rep", "contact"} & set(case)
        assert "demo.inspector" not in str(cases) and "demo.chief" not in str(cases)
        permits = (await client.get("/api/v1/disclosure/permits", params={"limit": 5})).json()
        assert permits["total"] >= 1 and "recorded_by" not in permits["items"][0]
        page = await client.get("/disclosure", headers={"Accept": "text/html"})
        assert page.status_code == 200 and case["enterprise"] in page.text
        assert "demo.inspector" not in page.text
        # a citizen report's task (no enterprise) is never a published case
        assert all(c["subject_kind"] != "citizen_report" for c in cases["items"])


async def test_staff_triage_through_the_api(seeded: Any) -> None:
    store, users, codes, _ = seeded
    received = next(r for r, c in codes.items() if svc.status(store, c)["state"] == "received")
    async with client_for(_app(seeded)) as client:
        await login(client, users["analyst"]["username"])
        csrf = await csrf_of(client, "/report")
        items = (await client.get("/api/v1/citizen-reports")).json()["items"]
        assert received in {i["id"] for i in items}
        url = f"/api/v1/citizen-reports/{received}/triage"
        r = await client.post(url, json={"decision": "accept"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 403  # an analyst reads, does not triage
    async with client_for(_app(seeded)) as client:
        await login(client, users["inspector"]["username"])
        csrf = await csrf_of(client, "/report")
        url = f"/api/v1/citizen-reports/{received}/triage"
        r = await client.post(url, json={"decision": "accept"})
        assert r.status_code == 403  # a session's JSON write needs its CSRF header
        r = await client.post(url, json={"decision": "reject", "reason": "nonsense"},
                              headers={"X-CSRF-Token": csrf})  # fmt: skip
        assert r.status_code == 400 and r.json()["field"] == "reason"
        r = await client.post(url, json={"decision": "accept", "severity": "high"},
                              headers={"X-CSRF-Token": csrf})  # fmt: skip
        assert r.status_code == 200 and r.json()["report"]["state"] == "in_progress"
        r = await client.post(url, json={"decision": "accept"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 409  # already accepted
        photo = await client.get(f"/api/v1/citizen-reports/{received}/photo")
        assert photo.status_code == 200 and photo.content == PNG
        assert photo.headers["content-security-policy"].endswith("sandbox")
        record = (await client.get(f"/api/v1/citizen-reports/{received}")).json()["report"]
        assert [e["action"] for e in record["events"]][-2:] == ["accept", "task_opened"]
        # the enforcement pages and API carry the new subject kind like any other
        task_id = record["task_id"]
        for url in (f"/api/v1/tasks/{task_id}", f"/api/v1/tasks/{task_id}/party",
                    "/api/v1/alerts/groups", "/api/v1/alerts", "/api/v1/tasks"):  # fmt: skip
            r = await client.get(url)
            assert r.status_code == 200, (url, r.text[:200])
        for page in ("/tasks", "/alerts"):
            r = await client.get(page, headers={"Accept": "text/html"})
            assert r.status_code == 200, page
    assert svc.status(store, codes[received])["state"] == "in_progress"


async def test_the_staff_page_shows_reports_inert_and_triages(seeded: Any) -> None:
    store, users, _, _ = seeded
    rules = rp.load_rules()
    rid, _ = svc.submit(store, rules, rp.check_submission(rules, 31.0, 112.2, SCRIPT + TEXT))
    async with client_for(_app(seeded)) as client:
        await login(client, users["inspector"]["username"])
        page = await client.get("/citizen-reports", headers={"Accept": "text/html"})
        assert page.status_code == 200 and rid in page.text
        assert "&lt;script&gt;" in page.text and SCRIPT not in page.text
        assert "<img src=x" not in page.text
        csrf = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
        assert csrf
        url = f"/citizen-reports/{rid}/triage"
        r = await client.post(url, data={"decision": "reject", "reason": "abusive"},
                              headers={"Accept": "text/html"})  # fmt: skip
        assert r.status_code == 403  # no csrf_token
        r = await client.post(url, data={"decision": "reject", "reason": "abusive",
                                         "csrf_token": csrf.group(1)})  # fmt: skip
        assert r.status_code == 303
    assert svc.get_report(store, rid)["outcome"] == "rejected:abusive"
    async with client_for(_app(seeded)) as client:  # an analyst reads, without the forms
        await login(client, users["analyst"]["username"])
        page = await client.get("/citizen-reports", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "/triage" not in page.text


async def test_the_exports_hold_no_contact_and_no_formula(seeded: Any) -> None:
    """Staff's export of the reports (issue 20 item 6): Chinese headers, the synthetic-data
    notice, no reporter contact, a description starting with ``=`` written as text; the public
    export of the published cases; neither path is taken for an id."""
    import csv
    import io

    from openpyxl import load_workbook

    from bishui.export_header import SYNTHETIC_NOTICE

    store, users, _, _ = seeded
    rules = rp.load_rules()
    formula = '=HYPERLINK("http://evil.example","点此")'
    sub = rp.check_submission(rules, 31.0, 112.2, formula + TEXT, "13912345678")
    rid, _ = svc.submit(store, rules, sub)
    async with client_for(_app(seeded)) as client:
        assert (await client.get("/api/v1/citizen-reports/export.csv")).status_code == 401
        pub = await client.get("/api/v1/disclosure/cases/export.csv")
        assert pub.status_code == 200
        lines = list(csv.reader(io.StringIO(pub.content.decode("utf-8-sig"))))
        pub_head = next(x for x in lines if x and x[0] == "案件编号")
        assert [SYNTHETIC_NOTICE] in lines
        assert pub_head[:3] == ["案件编号", "企业名称", "统一社会信用代码"]
        assert "demo.inspector" not in pub.text and "行政处罚" in pub.text
        await login(client, users["analyst"]["username"])
        r = await client.get("/api/v1/citizen-reports/export.csv")
        assert r.status_code == 200, r.text
        text = r.content.decode("utf-8")
        assert text.startswith("\ufeff") and "13912345678" not in text and "联系方式" not in text
        lines = list(csv.reader(io.StringIO(text[1:])))
        assert [SYNTHETIC_NOTICE] in lines
        head = next(x for x in lines if x and x[0] == "编号")
        assert head[:4] == ["编号", "时间", "当前状态", "所在区域"] and "情况描述" in head
        row = next(x for x in lines if x and x[0] == rid)
        assert row[head.index("情况描述")] == "'" + formula + TEXT
        assert row[head.index("当前状态")] == rp.STATE_LABELS[rp.State.RECEIVED][0]
        x = await client.get("/api/v1/citizen-reports/export.xlsx", params={"state": "received"})
        assert x.status_code == 200
        ws = load_workbook(io.BytesIO(x.content)).active
        assert ws is not None
        cells = [c.value for row_ in ws.iter_rows() for c in row_]
        assert "'" + formula + TEXT in cells and "13912345678" not in map(str, cells)
        page = await client.get("/citizen-reports", headers={"Accept": "text/html"})
        assert "/api/v1/citizen-reports/export.csv" in page.text
