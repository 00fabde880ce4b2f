"""Channels that carry a message out of the platform: a generic HTTP SMS gateway, a WeChat Work
(企业微信) group robot and a DingTalk (钉钉) custom robot — and the registry that holds the
configured ones.

Each channel is a :class:`ChannelSender`: ``deliver(message)`` either returns (delivered) or
raises :class:`DeliveryFailed` with a reason that carries no secret (the outbox records it and
tries again later, :mod:`bishui.enforcement.delivery`). Nothing here runs on the request path or
during ingest; only the outbox's worker calls :meth:`ChannelSender.deliver`.

The configuration is a plain mapping of the ``alerts.*`` settings (declared once in
:mod:`bishui.settings`; :func:`registry_from_config`). Secrets — the robots' webhook addresses,
which carry their key/token, the DingTalk signing secret, the SMS gateway's password — are read
from the environment by the settings and are never logged: errors name the channel and the HTTP
status, never the address (:func:`redact`).

Message formats (public documentation of the two robots; see docs/alerts.md for the sources):

* WeChat Work group robot: ``POST`` JSON ``{"msgtype": "text", "text": {"content": …}}`` or
  ``{"msgtype": "markdown", "markdown": {"content": …}}`` to the robot's webhook address; the
  answer is JSON with ``errcode`` 0 on success. Text content is limited to 2048 bytes.
* DingTalk custom robot: ``POST`` JSON ``{"msgtype": "text", "text": {"content": …}}`` or
  ``{"msgtype": "markdown", "markdown": {"title": …, "text": …}}``; with the robot's "加签"
  security setting the address also carries ``timestamp`` (milliseconds) and ``sign`` =
  URL-encoded Base64 of HMAC-SHA256 over ``timestamp + "\\n" + secret`` keyed with the secret
  (:func:`dingtalk_sign`); the answer is JSON with ``errcode`` 0 on success.
* The SMS gateway is generic (each operator's differs): ``POST`` the JSON made from the
  ``alerts.sms_body`` template (``$to`` and ``$text`` filled in as JSON strings) with HTTP Basic
  credentials when a user is configured; any 2xx answer is success.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import string
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bishui.errors import ConfigError

log = logging.getLogger("bishui.enforcement.delivery")

#: Every channel name the outbox knows. ``inapp`` is the platform's own bell (no sender: the
#: stored row is the message); ``log`` writes to the log (the demo's default).
CHANNELS = ("inapp", "log", "sms", "wecom", "dingtalk")
#: WeChat Work's limit on a text message's content [bytes].
WECOM_TEXT_BYTES = 2048


@dataclass(frozen=True)
class Message:
    """One message to one recipient on one channel (a row of the outbox)."""

    id: int
    channel: str
    recipient: str  # "tel:<number>" for SMS; "group" for a robot; a user or "role:<r>" in-app
    subject: str
    body: str


class DeliveryFailed(Exception):
    """A delivery did not go through (the reason carries no secret)."""


class ChannelSender(Protocol):
    def deliver(self, message: Message) -> None: ...


def redact(url: str) -> str:
    """*url* without its query and credentials (robot addresses carry their key there)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


#: (request, timeout) → (status, body); replaced in tests only through the senders' ``post``.
Post = Callable[[urllib.request.Request, float], tuple[int, bytes]]


def _urlopen(request: urllib.request.Request, timeout: float) -> tuple[int, bytes]:
    with urllib.request.urlopen(request, timeout=timeout) as r:  # noqa: S310 (http/https only)
        return int(r.status), r.read(65536)


def _post_json(
    url: str, body: Mapping[str, Any], timeout: float, headers: Mapping[str, str] | None = None,
    post: Post = _urlopen,
) -> tuple[int, bytes]:  # fmt: skip
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(  # noqa: S310 (the scheme is checked at configuration)
        url, data=data, method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )  # fmt: skip
    try:
        return post(req, timeout)
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"{redact(url)}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryFailed(f"{redact(url)}: {type(reason).__name__}") from None


def _check_errcode(url: str, status: int, raw: bytes) -> None:
    """The robots answer HTTP 200 with ``{"errcode": 0, …}``; anything else is a failure."""
    if not 200 <= status < 300:
        raise DeliveryFailed(f"{redact(url)}: HTTP {status}")
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DeliveryFailed(f"{redact(url)}: answer is not JSON") from None
    code = answer.get("errcode") if isinstance(answer, dict) else None
    if code != 0:
        msg = str(answer.get("errmsg", ""))[:200] if isinstance(answer, dict) else ""
        raise DeliveryFailed(f"{redact(url)}: errcode {code} {msg}".strip())


def _check_url(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(name, "an http:// or https:// address", redact(url) or "(none)")
    return url


def _text(message: Message) -> str:
    return f"{message.subject}\n{message.body}".strip() if message.body else message.subject


class LogChannel:
    """Writes each message to the log (the demo's and a new deployment's channel)."""

    def __init__(self) -> None:
        self.sent: list[Message] = []

    def deliver(self, message: Message) -> None:
        self.sent.append(message)
        log.info("alert message to %s: %s", message.recipient, message.subject)


class WeComRobot:
    """A WeChat Work group robot (企业微信群机器人): the webhook address (with its ``key``) from
    the environment; ``msgtype`` ``text`` or ``markdown``."""

    def __init__(self, url: str, msgtype: str = "markdown", timeout: float = 5.0,
                 post: Post = _urlopen) -> None:  # fmt: skip
        self.url = _check_url(url, "alerts.wecom_webhook")
        if msgtype not in ("text", "markdown"):
            raise ConfigError("alerts.wecom_msgtype", "text or markdown", msgtype)
        self.msgtype, self.timeout, self.post = msgtype, timeout, post

    def payload(self, message: Message) -> dict[str, Any]:
        if self.msgtype == "markdown":
            content = f"**{message.subject}**\n{message.body}".strip()
            return {"msgtype": "markdown", "markdown": {"content": content}}
        text = _text(message).encode("utf-8")[:WECOM_TEXT_BYTES].decode("utf-8", "ignore")
        return {"msgtype": "text", "text": {"content": text}}

    def deliver(self, message: Message) -> None:
        status, raw = _post_json(self.url, self.payload(message), self.timeout, post=self.post)
        _check_errcode(self.url, status, raw)


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk's robot signature: Base64 of HMAC-SHA256(key=secret, ``"<ts>\\n<secret>"``),
    URL-encoded (the robot's "加签" setting)."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), to_sign, hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode("ascii"))


class DingTalkRobot:
    """A DingTalk custom robot (钉钉自定义机器人): the webhook address (with its
    ``access_token``) and, when the robot signs, its secret (``SEC…``) from the environment."""

    def __init__(self, url: str, secret: str = "", msgtype: str = "markdown",
                 timeout: float = 5.0, post: Post = _urlopen,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.url = _check_url(url, "alerts.dingtalk_webhook")
        if msgtype not in ("text", "markdown"):
            raise ConfigError("alerts.dingtalk_msgtype", "text or markdown", msgtype)
        self.secret, self.msgtype, self.timeout = secret, msgtype, timeout
        self.post, self.clock = post, clock

    def payload(self, message: Message) -> dict[str, Any]:
        if self.msgtype == "markdown":
            text = f"### {message.subject}\n\n{message.body}".strip()
            return {"msgtype": "markdown", "markdown": {"title": message.subject, "text": text}}
        return {"msgtype": "text", "text": {"content": _text(message)}}

    def address(self) -> str:
        if not self.secret:
            return self.url
        ts = int(self.clock() * 1000)
        sep = "&" if urllib.parse.urlsplit(self.url).query else "?"
        return f"{self.url}{sep}timestamp={ts}&sign={dingtalk_sign(ts, self.secret)}"

    def deliver(self, message: Message) -> None:
        url = self.address()
        status, raw = _post_json(url, self.payload(message), self.timeout, post=self.post)
        _check_errcode(url, status, raw)


class SmsGateway:
    """A generic HTTP SMS gateway: the message is ``alerts.sms_template`` (``$subject``,
    ``$body``), sent to each ``tel:`` recipient as the JSON ``alerts.sms_body`` (``$to``,
    ``$text``), with HTTP Basic credentials when ``alerts.sms_user`` is set."""

    def __init__(self, url: str, *, user: str = "", password: str = "",
                 template: str = "$subject $body", body: str = '{"to": $to, "text": $text}',
                 timeout: float = 5.0, post: Post = _urlopen) -> None:  # fmt: skip
        self.url = _check_url(url, "alerts.sms_url")
        self.template = string.Template(template)
        self.body = string.Template(body)
        self.timeout, self.post = timeout, post
        self.headers: dict[str, str] = {}
        if user:
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self.headers["Authorization"] = f"Basic {token}"
        try:  # the templates must make JSON (checked once, here)
            self.request_body("13800000000", "x")
            self.text(Message(0, "sms", "tel:0", "s", "b"))
        except (KeyError, ValueError) as exc:
            expected = "a JSON template using $to and $text; a text using $subject and $body"
            raise ConfigError("alerts.sms_body", expected, str(exc)) from None

    def text(self, message: Message) -> str:
        return self.template.substitute(subject=message.subject, body=message.body).strip()

    def request_body(self, to: str, text: str) -> Any:
        filled = self.body.substitute(
            to=json.dumps(to, ensure_ascii=False), text=json.dumps(text, ensure_ascii=False)
        )
        return json.loads(filled)

    def deliver(self, message: Message) -> None:
        if not message.recipient.startswith("tel:"):
            raise DeliveryFailed(f"sms: recipient {message.recipient!r} is not tel:<number>")
        body = self.request_body(message.recipient[4:], self.text(message))
        status, _ = _post_json(self.url, body, self.timeout, self.headers, post=self.post)
        if not 200 <= status < 300:
            raise DeliveryFailed(f"{redact(self.url)}: HTTP {status}")


@dataclass
class Registry:
    """The configured channels: name → sender (``inapp`` needs none)."""

    senders: dict[str, ChannelSender]

    def get(self, channel: str) -> ChannelSender | None:
        return self.senders.get(channel)

    @property
    def channels(self) -> tuple[str, ...]:
        return ("inapp", *sorted(self.senders))


def registry_from_config(config: Mapping[str, Any], post: Post = _urlopen) -> Registry:
    """The senders named in ``config["channels"]`` (comma-separated), each made from its
    ``alerts.*`` values. A channel named without its address is a :class:`ConfigError`."""
    names = [c.strip() for c in str(config.get("channels", "")).split(",") if c.strip()]
    timeout = float(config.get("timeout", 5.0))
    senders: dict[str, ChannelSender] = {}
    for name in names:
        if name not in CHANNELS:
            raise ConfigError("alerts.channels", f"channels among {', '.join(CHANNELS)}", name)
        if name == "inapp":
            continue
        if name == "log":
            senders[name] = LogChannel()
        elif name == "wecom":
            senders[name] = WeComRobot(str(config.get("wecom_webhook", "")),
                                       str(config.get("wecom_msgtype", "markdown")), timeout,
                                       post)  # fmt: skip
        elif name == "dingtalk":
            senders[name] = DingTalkRobot(str(config.get("dingtalk_webhook", "")),
                                          str(config.get("dingtalk_secret", "")),
                                          str(config.get("dingtalk_msgtype", "markdown")),
                                          timeout, post)  # fmt: skip
        else:  # sms
            senders[name] = SmsGateway(
                str(config.get("sms_url", "")), user=str(config.get("sms_user", "")),
                password=str(config.get("sms_password", "")),
                template=str(config.get("sms_template", "$subject $body")),
                body=str(config.get("sms_body", '{"to": $to, "text": $text}')),
                timeout=timeout, post=post,
            )  # fmt: skip
    return Registry(senders)
