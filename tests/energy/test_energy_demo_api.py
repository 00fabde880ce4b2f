"""The model city's synthetic energy accounts (the demo's setup) served by the API, on both
backends: the 2016 anchors, dual control per county, reduction accounts, the role matrix and
the county scoping, the Excel export and the printable report."""

from __future__ import annotations

import importlib.util
import io
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bishui.demo import city as demo_city
from bishui.demo import energy as demo_energy
from bishui.energy import service as es
from bishui.registry import apply
from bishui.store import Store
from bishui.web import Settings, accounts, create_app

_spec = importlib.util.spec_from_file_location(
    "bishui_tests_root_conftest_energy", Path(__file__).resolve().parents[1] / "conftest.py"
)
assert _spec and _spec.loader
root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(root)

PASSWORD = "correct horse battery"
ROLES = ("admin", "analyst", "energy_office", "county", "enterprise", "public")
B = "/api/v1/energy"
SHAYANG = "420822"


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, dict[str, str]]]:
    store, _, _ = root.make_store(str(request.param), tmp_path_factory.mktemp("energyapi"))
    try:
        model = demo_city.build()
        apply(store, model.registry)
        demo_energy.setup(store)
        tokens: dict[str, str] = {}
        for role in ROLES[:-1]:
            kw: dict[str, Any] = {}
            if role == "county":
                kw["region"] = SHAYANG
            if role == "enterprise":
                kw["enterprise"] = model.registry.enterprises[0].uscc
            accounts.add_user(store, f"e.{role}", PASSWORD, role, **kw)
            tokens[role] = accounts.new_token(store, f"e.{role}", "test")[1]
        yield store, tokens
    finally:
        root.drop_store(store)


@pytest.fixture
async def client(demo: tuple[Store, dict[str, str]]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(demo[0], Settings(secret=""))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=30
    ) as c:
        yield c


def _h(tokens: dict[str, str], role: str) -> dict[str, str]:
    h = {"Accept": "application/json"}
    if role in tokens:
        h["Authorization"] = f"Bearer {tokens[role]}"
    return h


def test_the_model_city_2016_is_at_the_published_scale(demo: tuple[Store, dict[str, str]]) -> None:
    store, _ = demo
    [r16] = es.accounts(store, "420800", [2016])
    assert r16["gdp_current_wan"] == "15210000" and r16["gdp_comparable_wan"] == "15072000"
    assert r16["intensity_comparable"] == "0.5284" and r16["intensity_current"] == "0.5236"
    assert abs(r16["equivalent_kgce"] - 7_964_000_000) < 1000
    assert r16["equal_value_kgce"] > r16["equivalent_kgce"]  # electricity at the coal rate
    s = es.savings(store, "420800", 2016, "节能量基期（假设C）")
    assert s["saved_wan_tce"].startswith("182.6")  # 182.68 from the rounded 0.6496 (docs)
    att = {a["county"]: a for a in es.attainment(store, 2025)}
    assert att["420804"]["status"] == "missed" and att[SHAYANG]["status"] == "met"
    assert len(att) == 8 and all("deductions" in a for a in att.values())


MATRIX = [
    ("GET", f"{B}/accounts?county={SHAYANG}&years=2019-2021", (200, 200, 200, 200, 403, 401)),
    ("GET", f"{B}/accounts?county=420804&years=2020", (200, 200, 200, 403, 403, 401)),
    ("GET", f"{B}/attainment?year=2025", (200, 200, 200, 200, 403, 401)),
    ("GET", f"{B}/measures", (200, 200, 200, 200, 403, 401)),
    ("GET", f"{B}/reduction?year=2025", (200, 200, 200, 200, 403, 401)),
    ("GET", f"{B}/export.xlsx?year=2025", (200, 200, 200, 200, 403, 401)),
    ("GET", f"{B}/report?year=2025", (200, 200, 200, 200, 403, 401)),
    ("POST", f"{B}/load/gdp", (200, 403, 200, 403, 403, 401)),
]


async def test_role_matrix(client: httpx.AsyncClient, demo: tuple[Store, dict[str, str]]) -> None:
    _, tokens = demo
    body = {"rows": [{"county": SHAYANG, "year": 2025, "price_base": 2025,
                      "value_wan": "1000000", "source": "test"}]}  # fmt: skip
    for method, url, expected in MATRIX:
        got = []
        for role in ROLES:
            r = await client.request(method, url, headers=_h(tokens, role),
                                     json=body if method == "POST" else None)  # fmt: skip
            got.append(r.status_code)
        assert tuple(got) == expected, (url, got)


async def test_a_county_sees_its_own_county_only(
    client: httpx.AsyncClient, demo: tuple[Store, dict[str, str]]
) -> None:
    store, tokens = demo
    mine = (await client.get(f"{B}/attainment?year=2025", headers=_h(tokens, "county"))).json()
    assert {a["county"] for a in mine["items"]} == {SHAYANG}
    red = (await client.get(f"{B}/reduction?year=2025", headers=_h(tokens, "county"))).json()
    assert red["totals"] and {t["county"] for t in red["totals"]} == {SHAYANG}
    assert {r["county"] for r in red["results"]} == {SHAYANG}
    assert all(p["county"] == SHAYANG for p in red["projects"])
    assert all(f["basis"] in ("declared", "factor", "permit", "monitoring") for f in red["figures"])
    office = await client.get(f"{B}/attainment?year=2025", headers=_h(tokens, "energy_office"))
    assert len(office.json()["items"]) == 8
    # a load is audited with the account's name
    assert any(r["actor"] == "e.energy_office" for r in es.audit_log(store, 50))


async def test_export_and_report_are_chinese_with_names(
    client: httpx.AsyncClient, demo: tuple[Store, dict[str, str]]
) -> None:
    _, tokens = demo
    r = await client.get(f"{B}/report?year=2025", headers=_h(tokens, "energy_office"))
    text = r.text
    assert "能耗双控目标完成情况" in text and "掇刀区" in text and "未完成" in text
    assert "420804" not in text and "合成数据" in text
    x = await client.get(f"{B}/export.xlsx?year=2025", headers=_h(tokens, "analyst"))
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(x.content))
    assert wb.sheetnames[:2] == ["能耗双控目标完成情况", "主要污染物排放量"]
    cells = [c for row in wb["能耗双控目标完成情况"].iter_rows(values_only=True) for c in row]
    assert "沙洋县" in cells and "当量值" in cells


async def test_the_page_shows_names_not_codes_in_both_languages(
    client: httpx.AsyncClient, demo: tuple[Store, dict[str, str]]
) -> None:
    _, tokens = demo
    h = {"Authorization": f"Bearer {tokens['energy_office']}"}
    page = (await client.get("/energy?year=2025", headers=h)).text
    zh = re.sub(r"<script.*?</script>", "", page, flags=re.S)  # the visible page
    assert "能耗双控目标完成情况" in zh and "掇刀区" in zh and "未完成" in zh and "荆门市" in zh
    assert "0.5284" in zh  # the city's 2016 intensity in the ten-year accounts
    for code in ("420804", "420822", "NOX", "NH3N", "missed", "equivalent"):
        i = zh.find(code)
        assert i < 0, (code, zh[max(0, i - 200) : i + 60])
    en = (await client.get("/energy?year=2025&lang=en", headers=h)).text
    assert "Duodao District" in en and "Dual control" in en
    county = (await client.get("/energy?year=2025", headers=_h(tokens, "county"))).text
    assert "沙洋县" in county and "掇刀区" not in county
    r = await client.get("/energy", headers=_h(tokens, "enterprise"))
    assert r.status_code == 403
