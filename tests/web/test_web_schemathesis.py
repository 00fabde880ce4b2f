"""Property-based requests generated from the OpenAPI spec (schemathesis): never a 5xx.

Every operation of ``/api/v1/openapi.json`` (walked one by one with hypothesis; schemathesis's
own pytest plugin is not used) gets a few generated requests (valid and
edge-case parameters, bodies from the schemas) as the public and as an analyst with an API
token, on the DuckDB model city. A 4xx is a fine answer to nonsense; a 5xx is a bug (issue 8:
"no 5xx on any generated request"). Bounded: ``MAX_EXAMPLES`` per operation and role, no
shrinking phase, so the whole file stays well under a minute and a half.

schemathesis is a test dependency (the ``test`` group); without it the test skips with a
message, unless ``CI`` is set, where it fails.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
import pytest

try:
    import schemathesis
    from hypothesis import HealthCheck, Phase, settings
except ImportError:  # pragma: no cover - the skip below says what is missing
    schemathesis = None

if schemathesis is None:
    if os.environ.get("CI"):
        raise ImportError("CI is set but schemathesis is missing (pip install schemathesis)")
    pytest.skip("schemathesis is missing (pip install schemathesis)", allow_module_level=True)

from bishui.web import Settings, accounts, create_app

MAX_EXAMPLES = 3
pytestmark = pytest.mark.parametrize("city_db", ["duckdb"], indirect=True)


@pytest.fixture(scope="module")
def spec_app(city_db: Any) -> Any:
    store, _ = city_db
    return create_app(store, Settings(secret="", api_rate="100000/60", snapshot_seconds=60))


@pytest.fixture(scope="module")
def analyst_token(city_db: Any) -> str:
    store, users = city_db
    _, token = accounts.new_token(store, users["analyst"]["username"], "schemathesis", days=1)
    return token


@pytest.fixture(scope="module")
def web_schema(spec_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", spec_app)


def test_no_server_error(web_schema: Any, analyst_token: str) -> None:
    from hypothesis import given
    from hypothesis.errors import Unsatisfiable

    operations = [r.ok() for r in web_schema.get_all_operations()]
    assert len(operations) >= 35  # the whole API, not an empty spec
    failures: list[Any] = []
    unsatisfiable: list[str] = []
    for op in operations:

        @given(case=op.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            for headers in ({}, {"Authorization": f"Bearer {analyst_token}"}):
                response = case.call(headers=headers)
                if response.status_code >= 500:
                    failures.append(
                        (case.method, case.formatted_path, case.query, response.status_code,
                         response.text[:300])
                    )  # fmt: skip

        try:
            check()
        except Unsatisfiable:
            # a path pattern hypothesis cannot generate from (e.g. "{statement_id:path}");
            # those routes have hand-written bad-input tests of their own
            unsatisfiable.append(op.label)
    assert not failures, failures
    # only the statement routes, whose ids hold "/" (a path segment cannot be generated with
    # one); tests/compensation covers their bad input by hand
    assert all("/compensation/statements/{statement_id}" in u for u in unsatisfiable), unsatisfiable


#: Extreme values for every date, date-time and period parameter (issue 14: year 1 was a 500).
EDGE_DATES = {
    "date": ["0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01"],
    "date-time": ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "0001-01-01T00:00:00+14:00",
                  "9999-12-31T23:59:59-12:00"],
    "period": ["0001", "9999-12", "1901-02-03", "0000-Q1"],
}  # fmt: skip
#: Bodies every JSON write must refuse with a 4xx (issue 14: these were 500s).
EDGE_BODIES: list[Any] = [
    b'{"note": "\\ud800"}',  # a lone surrogate: not text (sent as raw JSON)
    b'{"\\udfff": 1}',
    {"note": "x"},  # replaced below by a list 500 deep
]
for _ in range(500):
    EDGE_BODIES[-1] = [EDGE_BODIES[-1]]


def _date_kind(name: str, schema: dict[str, Any]) -> str | None:
    if name in ("period", "month"):
        return "period"
    for s in (schema, *schema.get("anyOf", ())):
        if s.get("format") in ("date", "date-time"):
            return str(s["format"])
    return None


def test_dates_and_deep_bodies_are_refused_cleanly(
    web_schema: Any, analyst_token: str, spec_app: Any
) -> None:
    """Every date, time and period parameter at the ends of the calendar, and every JSON body
    nested 500 deep or holding a lone surrogate: a 4xx, never a 5xx (one generated case per
    operation, its date parameters and body replaced)."""

    def raw(method: str, path: str, query: dict[str, Any], body: bytes, headers: Any) -> Any:
        # raw bytes (a lone surrogate is no str the generator can encode), in-process
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=spec_app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                h = {**headers, "Content-Type": "application/json"}
                return await c.request(method, path, params=query, content=body, headers=h)

        return asyncio.run(go())

    failures: list[Any] = []
    checked = {"dates": 0, "bodies": 0}
    for op in (r.ok() for r in web_schema.get_all_operations()):
        dates = {p.name: k for p in op.query if (k := _date_kind(p.name, p.definition["schema"]))}
        has_json = any(b.media_type == "application/json" for b in op.body)
        if not dates and not has_json:
            continue

        try:
            _edge_check(op, dates, has_json, analyst_token, failures, checked, raw)()
        except Exception as exc:  # Unsatisfiable: the statement routes (see above)
            if "statement_id" not in op.label:
                raise AssertionError(op.label) from exc
    assert not failures, failures
    assert checked["dates"] >= 40 and checked["bodies"] >= 20, checked


def _edge_check(
    op: Any, dates: dict[str, str], has_json: bool, analyst_token: str, failures: list[Any],
    checked: dict[str, int], raw: Any,
) -> Any:  # fmt: skip
    from hypothesis import given

    @given(case=op.as_strategy())
    @settings(max_examples=1, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)  # fmt: skip
    def check(case: Any) -> None:
        variants: list[tuple[dict[str, Any], Any]] = []
        for name, kind in dates.items():
            variants += [({**(case.query or {}), name: v}, None) for v in EDGE_DATES[kind]]
        if has_json:
            variants += [(dict(case.query or {}), b) for b in EDGE_BODIES]
        for query, body in variants:
            case.query = query
            if body is not None:
                if not isinstance(body, bytes):
                    case.body, case.media_type = body, "application/json"
                checked["bodies"] += 1
            else:
                checked["dates"] += 1
            for headers in ({}, {"Authorization": f"Bearer {analyst_token}"}):
                if isinstance(body, bytes):
                    r = raw(case.method, case.formatted_path, query, body, headers)
                else:
                    r = case.call(headers=headers)
                if r.status_code >= 500:
                    failures.append((case.method, case.formatted_path, query,
                                         str(body)[:40], r.status_code, r.text[:200]))  # fmt: skip
                elif body is not None and r.status_code == 200 and case.method != "GET":
                    failures.append(("accepted", case.method, case.formatted_path))

    return check
