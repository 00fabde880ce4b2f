"""Published responses kept in memory for a few seconds, per web process (issue 21 item 6).

What the public sees is the same for every anonymous visitor: a handler marks it
``Cache-Control: public, max-age=…`` (:func:`bishui.web.api.common.cache_for`). Computing it
costs 2–13 ms of CPU (the AQI now, the water sections: docs/benchmarks.md, "The web under
load"), so on a bad-air day a thousand visitors would need several cores for the same few
answers. This middleware keeps such a response for ``web.public_cache_seconds`` (10 s, the
same staleness as the overview's snapshot, ``web.snapshot_seconds``, and well inside the
``max-age`` it already tells browsers and caches) and answers repeats from memory.

What may be kept, and for whom — each rule is why a kept answer is the answer the handler
would give:

* only ``GET`` requests carrying no credential (no ``Authorization`` header, no session
  cookie): an anonymous request is the public role (:func:`bishui.web.auth.resolve`), so its
  answer depends only on the path, the query and the language (``?lang=`` or the
  ``bishui_lang`` cookie, :func:`bishui.web.i18n.language`) — the key;
* only a ``200`` marked ``public`` that sets no cookie and issued no CSRF nonce (a page with
  a form is never kept: its token belongs to one visitor);
* bodies of at most ``MAX_BODY`` bytes, at most ``MAX_ENTRIES`` keys (least recently used
  dropped first), so varied query strings cannot grow memory without bound.

It sits inside :class:`bishui.web.app.WebMiddleware`: body limits, the per-address API rate
limit and the security headers apply to a kept answer as to any other, and the ETag and
``304`` of :mod:`bishui.web.conditional` still come from outside. Requests for one key that
arrive while it is being computed wait for that answer instead of computing it again (one
computation per key and expiry: no stampede when a popular answer expires).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bishui import metrics
from bishui.web.accounts import SESSION_COOKIE
from bishui.web.conditional import published
from bishui.web.i18n import LANG_COOKIE

#: Largest body kept [bytes]; larger answers pass through.
MAX_BODY = 1024 * 1024
#: Keys kept per process; the least recently used is dropped first.
MAX_ENTRIES = 512


ANSWERS = metrics.REGISTRY.counter(
    "bishui_web_public_cache_total",
    "anonymous GETs that may be kept: answered from memory (hit) or computed (miss)",
    labels=("result",),
)


@dataclass(frozen=True)
class Kept:
    expires: float  # time.monotonic()
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def cache_key(scope: Scope) -> tuple[str, bytes, str] | None:
    """The key of an anonymous GET (path, query, language cookie), or None: not cacheable."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    headers = Headers(scope=scope)
    if "authorization" in headers:
        return None
    # the app's own cookie parser (what request.cookies uses): the key must read the session
    # and the language exactly as auth.resolve and i18n.language will
    jar = cookie_parser(headers.get("cookie", ""))
    if SESSION_COOKIE in jar:
        return None
    return scope["path"], scope.get("query_string", b""), jar.get(LANG_COOKIE, "")


def keepable(status: int, headers: Headers, scope: Scope) -> bool:
    # what ConditionalGet tags, and no CSRF nonce issued to this one visitor
    return published(status, headers) and not scope.get("state", {}).get("csrf_nonce")


class PublicCache:
    """ASGI middleware: published answers to anonymous GETs, kept for *seconds* (0: off)."""

    def __init__(self, app: ASGIApp, seconds: float = 10.0) -> None:
        self.app = app
        self.seconds = seconds
        self.kept: OrderedDict[tuple[str, bytes, str], Kept] = OrderedDict()
        self.pending: dict[tuple[str, bytes, str], asyncio.Future[Kept | None]] = {}
        #: keys whose last answer could not be kept, until when: those go straight through
        self.passing: OrderedDict[tuple[str, bytes, str], float] = OrderedDict()
        self.hits = self.misses = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = cache_key(scope) if self.seconds > 0 else None
        if key is None or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        if self.passing.get(key, 0.0) > now:  # answered uncacheably a moment ago: no waiting
            await self.app(scope, receive, send)
            return
        kept = self.kept.get(key)
        if kept is not None and kept.expires <= now:
            del self.kept[key]
            kept = None
        computing = self.pending.get(key)
        if kept is None and computing is not None:
            kept = await asyncio.shield(computing)
        if kept is not None:
            if key in self.kept:
                self.kept.move_to_end(key)
            self.hits += 1
            ANSWERS.inc(result="hit")
            await replay(kept, send)
            return
        self.misses += 1
        ANSWERS.inc(result="miss")
        if computing is not None:  # the one computed before us could not be kept
            await self.app(scope, receive, send)
            return
        future: asyncio.Future[Kept | None] = asyncio.get_running_loop().create_future()
        self.pending[key] = future
        result: Kept | None = None
        try:
            result = await self._compute(scope, receive, send)
        finally:
            del self.pending[key]  # only the request that registered it is here
            future.set_result(result)  # None: the waiters compute it themselves
            self._remember(key, result)

    def _remember(self, key: tuple[str, bytes, str], result: Kept | None) -> None:
        """Keep *result*, or note that *key* was not keepable, for ``seconds``; bounded."""
        if result is not None:
            self.passing.pop(key, None)
            self.kept[key] = result
            if len(self.kept) > MAX_ENTRIES:
                self.kept.popitem(last=False)
        else:
            self.passing[key] = time.monotonic() + self.seconds
            self.passing.move_to_end(key)
            if len(self.passing) > MAX_ENTRIES:
                self.passing.popitem(last=False)

    async def _compute(self, scope: Scope, receive: Receive, send: Send) -> Kept | None:
        """Run the app, passing its answer on, and return it if it may be kept."""
        start: Message | None = None
        start_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        size = 0
        keep = True

        async def capture(message: Message) -> None:
            nonlocal start, start_headers, size, keep
            if message["type"] == "http.response.start":
                start = message
                # the app's own headers, copied before the outer layers add theirs to the
                # same list (security headers, the ETag): those are added again on replay
                start_headers = list(message["headers"])
                keep = keepable(message["status"], Headers(raw=message["headers"]), scope)
            elif message["type"] == "http.response.body" and keep:
                size += len(message.get("body", b""))
                if size > MAX_BODY:
                    keep = False
                    chunks.clear()
                else:
                    chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        if not keep or start is None:
            return None
        return Kept(
            time.monotonic() + self.seconds,
            start["status"],
            start_headers,
            b"".join(chunks),
        )


async def replay(kept: Kept, send: Send) -> None:
    # a new list each time: the outer layers add to the one they are given
    headers = list(kept.headers)
    await send({"type": "http.response.start", "status": kept.status, "headers": headers})
    await send({"type": "http.response.body", "body": kept.body, "more_body": False})
