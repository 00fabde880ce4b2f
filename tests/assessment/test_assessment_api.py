"""The assessment API on both backends: who may do what, and a county sees its own county."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from assess_helpers import load_regions

from bishui.assessment import scorecard as sc
from bishui.assessment import service
from bishui.assessment.scorecard import Evidence
from bishui.store import Store
from bishui.web import Settings, accounts, create_app

_root = Path(__file__).resolve().parents[1] / "conftest.py"
import importlib.util  # noqa: E402

_spec = importlib.util.spec_from_file_location("bishui_tests_root_conftest_assess", _root)
assert _spec and _spec.loader
root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(root)

PASSWORD = "correct horse battery"
ROLES = ("admin", "analyst", "finance", "county", "enterprise", "public")
B = "/api/v1/assessment"
NOW = dt.datetime(2026, 12, 7, 9, 0)


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def api_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, dict[str, str], dict[str, str]]]:
    store, _, _ = root.make_store(str(request.param), tmp_path_factory.mktemp("assessapi"))
    try:
        load_regions(store)
        from bishui.demo import city
        from bishui.registry import Registry, apply

        ent = city.build().registry.enterprises[0]
        apply(store, Registry(enterprises=[ent]))
        card = sc.load_scorecard("scorecard_2026_demo")
        ev = {
            c: {"air_good": Evidence(v, "%", "t"), "water_attain": Evidence(v, "%", "t")}
            for c, v in (("420802", "90"), ("420822", "80"), ("420881", "75"))
        }
        rid = service.store_run(store, card, ev, by="t", role="analyst", now=NOW)
        aid = service.allocate(
            store,
            rid,
            fund="演示资金",
            kind="transfer",
            rule={"kind": "proportional"},
            total_fen=100_000,
            by="t",
            role="finance",
            now=NOW,
        )
        tokens: dict[str, str] = {}
        for role in ROLES[:-1]:
            kw: dict[str, Any] = {}
            if role == "county":
                kw["region"] = "420822"
            if role == "enterprise":
                kw["enterprise"] = ent.uscc
            accounts.add_user(store, f"a.{role}", PASSWORD, role, **kw)
            tokens[role] = accounts.new_token(store, f"a.{role}", "test")[1]
        yield store, tokens, {"run": rid, "allocation": aid}
    finally:
        root.drop_store(store)


@pytest.fixture
async def client(api_store: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(api_store[0], Settings(secret=""))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=30
    ) as c:
        yield c


def _h(tokens: dict[str, str], role: str) -> dict[str, str]:
    h = {"Accept": "application/json"}
    if role in tokens:
        h["Authorization"] = f"Bearer {tokens[role]}"
    return h


async def test_roles_and_scoping(client: httpx.AsyncClient, api_store: Any) -> None:
    _, tokens, ids = api_store
    run = ids["run"]
    body = {
        "run": run,
        "fund": "f",
        "kind": "transfer",
        "total_fen": 7,
        "rule": {"kind": "proportional"},
    }
    expect = [
        ("GET", f"{B}/runs/{run}", None, (200, 200, 200, 200, 403, 401)),
        ("GET", f"{B}/allocations/{ids['allocation']}", None, (200, 200, 200, 200, 403, 401)),
        ("POST", f"{B}/allocations", body, (201, 403, 201, 403, 403, 401)),
        ("GET", f"{B}/assets?county=420802&year=2026", None, (200, 200, 200, 403, 403, 401)),
    ]
    for method, path, payload, want in expect:
        got = []
        for role in ROLES:
            r = await client.request(method, path, json=payload, headers=_h(tokens, role))
            got.append(r.status_code)
        assert tuple(got) == want, (method, path, got)
    r = await client.get(f"{B}/runs/{run}", headers=_h(tokens, "county"))
    assert [c["county"] for c in r.json()["counties"]] == ["420822"]
    r = await client.get(f"{B}/runs/{run}", headers=_h(tokens, "finance"))
    assert len(r.json()["counties"]) == 3
    r = await client.get(f"{B}/allocations/{ids['allocation']}", headers=_h(tokens, "county"))
    shares = r.json()["shares"]
    assert [s["county"] for s in shares] == ["420822"] and "by_user" not in r.json()
    r = await client.get(f"{B}/allocations/{ids['allocation']}", headers=_h(tokens, "finance"))
    assert sum(int(s["fen"]) for s in r.json()["shares"]) == 100_000


async def test_terms_cases_and_print(client: httpx.AsyncClient, api_store: Any) -> None:
    _, tokens, _ = api_store
    r = await client.post(
        f"{B}/terms",
        json={
            "leader": "王五",
            "post": "县委书记",
            "county": "420822",
            "start": "2024-01-01",
            "end": "2026-10-31",
        },
        headers=_h(tokens, "admin"),
    )
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    r = await client.post(
        f"{B}/cases",
        json={
            "leader": "王五",
            "county": "420822",
            "article": "5",
            "item": 9,
            "forms": ["admonition"],
            "facts": "演示",
            "opened": "2026-11-01",
            "term": tid,
        },
        headers=_h(tokens, "admin"),
    )
    assert r.status_code == 400 and r.json()["field"] == "item"  # Art. 5 has 8 items
    r = await client.post(
        f"{B}/cases",
        json={
            "leader": "王五",
            "county": "420822",
            "article": "5",
            "item": 1,
            "forms": ["admonition"],
            "facts": "演示",
            "opened": "2026-11-01",
            "term": tid,
        },
        headers=_h(tokens, "admin"),
    )
    assert r.status_code == 201, r.text
    r = await client.get(f"{B}/terms/{tid}/print", headers=_h(tokens, "county"))
    assert r.status_code == 200 and "离任审计" in r.text and "沙洋县" in r.text
    assert "420822" not in r.text  # names, not codes
    assert "诫勉" in r.text
    r = await client.get(f"{B}/terms/{tid}/summary.pdf", headers=_h(tokens, "county"))
    assert r.status_code == 200 and r.content[:5] == b"%PDF-"
    r = await client.get(f"{B}/terms/{tid}/summary", headers=_h(tokens, "finance"))
    assert r.json()["cases"][0]["article"] == "5"


async def test_page_in_chinese_with_names(client: httpx.AsyncClient, api_store: Any) -> None:
    _, tokens, _ = api_store
    h = {**_h(tokens, "finance"), "Accept": "text/html"}
    r = await client.get("/assessment", headers=h)
    assert r.status_code == 200
    text = r.text
    assert "生态文明考核" in text and "东宝区" in text and "无数据" in text
    assert "演示资金" in text and "1,000.00" in text  # 100 000 fen in yuan, exact
    body = text.split("<main", 1)[-1]
    import re

    visible = re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<script.*?</script>", " ", body))
    assert "420802" not in visible and "air.good_days_ratio" not in visible
    # what the browser tests call raw (tests/web/test_web_browser.py RAW): codes, states in
    # English, JSON, unrounded floats (the page is rendered on the server, no script fills it)
    for pattern in (
        r"(?<![0-9A-Z])4208\d\d(-[A-Z]+)?(?![0-9A-Z])",
        r"\b(undefined|null|NaN|None)\b",
        r"\b(open|decided|closed|admonition|transfer|proportional)\b",
        r'\{"',
        r"\d\.\d{6,}",
        r"\b(air|water|energy|enforcement|compensation)\.[a-z_]+",
    ):
        assert re.search(pattern, visible) is None, (pattern, visible[:2000])
    assert "第5条第1项" in visible and "诫勉" in visible  # the case registered above
    r = await client.get("/assessment?lang=en", headers=h)
    assert "County scorecards" in r.text and "good air days ratio" in r.text
    assert "Dongbao District" in r.text and "admonishment" in r.text
    h = {**_h(tokens, "county"), "Accept": "text/html"}
    r = await client.get("/assessment", headers=h)
    assert "沙洋县" in r.text and "东宝区" not in r.text.split("<main", 1)[-1]


async def test_exports(client: httpx.AsyncClient, api_store: Any) -> None:
    _, tokens, ids = api_store
    r = await client.get(f"{B}/runs/{ids['run']}/export.csv", headers=_h(tokens, "county"))
    assert r.status_code == 200 and "沙洋县" in r.text and "东宝区" not in r.text
    assert "无数据" in r.text
    r = await client.get(
        f"{B}/allocations/{ids['allocation']}/export.xlsx", headers=_h(tokens, "finance")
    )
    assert r.status_code == 200 and r.content[:2] == b"PK"


async def test_summary_stored_as_versioned_report(
    client: httpx.AsyncClient, api_store: Any
) -> None:
    """The departure-audit summary stored as a report (kind departure-audit): versions, the
    runs it used in its rules, reproduced byte for byte, read by the audit's readers only."""
    from bishui.reports import service as reports

    store, tokens, ids = api_store
    r = await client.post(
        f"{B}/terms",
        json={"leader": "赵六", "post": "县长", "county": "420822",
              "start": "2025-03-01", "end": "2026-06-30"},
        headers=_h(tokens, "admin"),
    )  # fmt: skip
    tid = r.json()["id"]
    r = await client.post(
        f"{B}/terms",
        json={"leader": "钱七", "post": "区长", "county": "420802",
              "start": "2025-03-01", "end": "2026-06-30"},
        headers=_h(tokens, "admin"),
    )  # fmt: skip
    other = r.json()["id"]
    got = []
    for role in ROLES:
        r = await client.post(f"{B}/terms/{other}/reports", headers=_h(tokens, role))
        got.append(r.status_code)
    assert got == [201, 201, 403, 403, 403, 401]
    r = await client.post(f"{B}/terms/{tid}/reports", headers=_h(tokens, "analyst"))
    assert r.status_code == 201, r.text
    meta = r.json()["report"]
    assert meta["id"] == f"departure-audit-{tid}-v1"
    assert meta["rules"]["runs"] == [ids["run"]]
    assert meta["rules"]["summary"] == "departure-audit/1"
    r = await client.post(f"{B}/terms/{tid}/reports", headers=_h(tokens, "admin"))
    assert r.json()["report"]["version"] == 2
    got = []
    for role in ROLES:
        r = await client.get(f"{B}/terms/{tid}/reports", headers=_h(tokens, role))
        got.append(r.status_code)
    assert got == [200, 200, 200, 200, 403, 401]
    r = await client.get(f"{B}/terms/{tid}/reports", headers=_h(tokens, "county"))
    assert [x["version"] for x in r.json()["items"]] == [2, 1]
    r = await client.get(f"{B}/terms/{other}/reports", headers=_h(tokens, "county"))
    assert r.status_code == 403  # another county's term
    r = await client.get(f"{B}/terms/{other}/reports/1.pdf", headers=_h(tokens, "county"))
    assert r.status_code == 403
    r = await client.get(f"{B}/terms/{tid}/reports/1.pdf", headers=_h(tokens, "county"))
    assert r.status_code == 200 and r.content[:5] == b"%PDF-"
    r = await client.get(f"{B}/terms/{tid}/reports/9.pdf", headers=_h(tokens, "finance"))
    assert r.status_code == 404
    same, _ = reports.reproduce(store, f"departure-audit-{tid}-v1")
    assert same
    # not among the bureau's bulletins of /reports (read per term, scoped to the county)
    r = await client.get("/api/v1/reports", headers=_h(tokens, "analyst"))
    assert all(x["kind"] != "departure-audit" for x in r.json()["items"])
    log = service.audit_log(store, f"term:{tid}")
    assert [x["action"] for x in log].count("store_summary") == 2
