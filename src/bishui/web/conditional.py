"""Conditional GETs of published responses: ``ETag`` and ``304 Not Modified`` (issue 21 item 6).

A response a handler marked cacheable by anyone (``Cache-Control: public``, which
:func:`bishui.web.api.common.cache_for` sets for the public role's published data) and that
sets no cookie gets an ``ETag``: a hash of its body. A request that sends it back in
``If-None-Match`` gets ``304 Not Modified`` without the body — the browser or a cache in front
(docs/deploy.md, "A cache in front of the web") reuses what it holds. The body is still
computed (the hash needs it); what is saved is the transfer, and a cache in front answers
repeats within ``max-age`` without asking at all.

No ``Last-Modified``: a response is computed from the store when asked and the store keeps no
modification time per response, so a date would be a guess; the ETag is exact. ``/static``
is Starlette's, which sends both already.
"""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Bodies larger than this are passed through without an ETag (never held in memory).
MAX_BODY = 4 * 1024 * 1024


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 §13.1.2: weak comparison against a list of tags, or ``*``."""
    if if_none_match.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return etag in tags


def published(status: int, headers: Headers) -> bool:
    """A response anyone may keep: a 200 marked ``Cache-Control: public`` that sets no cookie
    (also what :mod:`bishui.web.public_cache` keeps)."""
    return (
        status == 200
        and headers.get("cache-control", "").startswith("public")
        and "set-cookie" not in headers
    )


class ConditionalGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or scope["path"].startswith("/static/")
        ):
            await self.app(scope, receive, send)
            return
        request_tag = Headers(scope=scope).get("if-none-match")
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        passing = False

        async def buffered_send(message: Message) -> None:
            nonlocal start, size, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                h = Headers(raw=message["headers"])
                cacheable = published(message["status"], h) and "etag" not in h
                if not cacheable:
                    passing = True
                    await send(message)
                    return
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_BODY:  # too big to hold: send what we have and pass the rest
                passing = True
                await send(start)
                await send(
                    {"type": "http.response.body", "body": b"".join(chunks), "more_body": True}
                )
                if not message.get("more_body"):
                    await send({"type": "http.response.body", "body": b""})
                return
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            tag = etag_of(body)
            headers = MutableHeaders(scope=start)
            headers["ETag"] = tag
            if request_tag and matches(request_tag, tag):
                keep = [(k, v) for k, v in start["headers"]
                        if k.lower() not in (b"content-length", b"content-type")]  # fmt: skip
                not_modified = {"type": "http.response.start", "status": 304, "headers": keep}
                await send(not_modified)
                await send({"type": "http.response.body", "body": b""})
                return
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered_send)
