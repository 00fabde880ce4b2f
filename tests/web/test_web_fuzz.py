"""Arbitrary query strings never get a 5xx, and every error has the one shape.

A small, in-process stand-in for running schemathesis against the spec: hypothesis draws
values (and junk) for every parameter of the read endpoints.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web_support import client_for

pytestmark = pytest.mark.parametrize("city_db", ["duckdb"], indirect=True)

junk = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["AQ01", "WS06", "a34004", "hour", "day", "rt", "", "-1", "1e309"]),
    st.datetimes().map(lambda t: t.isoformat()),
    st.integers(-(2**70), 2**70).map(str),
)
ENDPOINTS = {
    "/api/v1/sites": ("kind", "region", "limit", "offset"),
    "/api/v1/sites/AQ01": ("period",),
    "/api/v1/measurements": ("site", "parameter", "period", "start", "end", "origin"),
    "/api/v1/overview": ("lang",),
}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    endpoint=st.sampled_from(sorted(ENDPOINTS)),
    values=st.lists(junk, min_size=6, max_size=6),
    keep=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_no_server_errors(app: Any, endpoint: str, values: list[str], keep: list[bool]) -> None:
    names = ENDPOINTS[endpoint]
    params = {n: v for n, v, k in zip(names, values, keep, strict=False) if k}

    async def call() -> Any:
        async with client_for(app, raise_app_exceptions=False) as c:
            return await c.get(endpoint, params=params)

    r = asyncio.run(call())
    assert r.status_code < 500, (endpoint, params, r.text[:300])
    body = r.json()
    if r.status_code >= 400:
        assert body["ok"] is False and body["error"] and body["message"]
        assert len(r.text) < 2000
