"""ETag and 304 on published responses (issue 21 item 6; bishui.web.conditional)."""

from __future__ import annotations

from typing import Any

import httpx
from web_support import client_for, login

from bishui.web.conditional import matches


def test_if_none_match_compares_weakly_and_takes_lists() -> None:
    assert matches('"a", W/"b"', '"b"') and matches("*", '"x"')
    assert not matches('"a"', '"b"')


async def test_published_api_and_page_answer_304(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/regions", "/public"):
        r = await client.get(path)
        assert r.status_code == 200 and r.headers["cache-control"].startswith("public")
        tag = r.headers["etag"]
        again = await client.get(path, headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == tag and again.headers["cache-control"].startswith("public")
        other = await client.get(path, headers={"If-None-Match": '"stale"'})
        assert other.status_code == 200 and other.content == r.content


async def test_private_responses_get_no_etag(app: Any, users: dict[str, Any]) -> None:
    async with client_for(app) as client:
        await login(client, users["analyst"]["username"])
        r = await client.get("/api/v1/regions")
        assert r.status_code == 200 and "etag" not in r.headers
        assert r.headers["cache-control"].startswith("private")
