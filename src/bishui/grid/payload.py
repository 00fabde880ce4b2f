"""The grid sensors' MQTT message: topic, JSON payload, canonical form and signature.

Sans-IO: bytes and a topic in, a :class:`Message` (or a :class:`PayloadError` naming the
field, the rule and the value) out. No sockets, clocks or storage here; the intake
(:mod:`bishui.grid.intake`) supplies the receive time and the registry.

Topic: ``bishui/v1/<city>/<device_id>/data`` — the city's GB/T 2260 code, the device's registry
id (its ``mn``, 1–24 of ``0-9 A-Z a-z _ -``). Payload (UTF-8 JSON, at most
:data:`MAX_PAYLOAD` bytes)::

    {"v": 1, "device": "4208GR000000000000000001", "seq": 1207,
     "time": "2026-12-07T17:21:00+08:00", "period": "min",
     "values": {"a34004": {"value": 35.2, "unit": "μg/m³", "flag": "N"},
                "a34002": {"value": 61, "unit": "μg/m³"}},
     "sig": "<64 hex digits>"}

``time`` is ISO 8601 *with* an offset (a sensor's clock is in UTC or Beijing time, never
implicit); for ``min`` and ``hour`` it is the start of the period, as HJ 212's DataTime.
``flag`` is an HJ 212-2017 Table 8 data flag (default ``N``). ``seq`` is the device's message
counter (0 … 2⁶³−1); it may restart at 0 after a reboot — redeliveries are recognised by
(device, seq, time), never by seq alone.

Signature: ``sig`` is HMAC-SHA256, in lower-case hex, under the device's key over the
canonical form (:func:`canonical`): lines joined by ``\\n``::

    bishui/v1
    <topic>
    <seq>
    <time as sent>
    <period>
    <code>\\t<value as sent>\\t<unit>\\t<flag>      (one line per value, codes sorted)

A number is signed as the text the device sent (``35.20`` stays ``35.20``), so no float
formatting has to agree between a sensor's firmware and the platform. Every field is checked
before the signature so that no tab or newline can move text from one line to another.

The device key is derived from one platform key (:func:`device_key`:
HMAC-SHA256(platform key, ``"bishui-grid-v1\\0" + device id``)): the platform keeps a single
secret by reference (``BISHUI_MQTT_KEY``), the store holds no device key, and a key read out of
one sensor signs for that sensor only (docs/grid.md, "Why signatures").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = [
    "MAX_PAYLOAD",
    "MAX_VALUES",
    "PERIODS",
    "Message",
    "PayloadError",
    "canonical",
    "device_key",
    "encode",
    "parse",
    "parse_topic",
    "sign",
    "topic_for",
    "verify",
]

#: The largest payload accepted [bytes]; a few dozen values fit in well under this.
MAX_PAYLOAD = 4096
#: The most values one message may carry.
MAX_VALUES = 32
#: The periods a message can fill (the store's; HJ 212 2011 / 2051 / 2061).
PERIODS = ("rt", "min", "hour")
VERSION = 1
PREFIX = "bishui/v1"

_DEVICE = re.compile(r"^[0-9A-Za-z_-]{1,24}$")
_CITY = re.compile(r"^\d{6}$")
_CODE = re.compile(r"^[a-z]{1,3}\d{2,6}[a-z]?$")
_FLAG = re.compile(r"^[A-Za-z]$")
_SIG = re.compile(r"^[0-9a-f]{64}$")
# A JSON number's text, as json.loads hands it to parse_float / parse_int.
_NUMBER = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$")
# ISO 8601 with an offset (Z or ±hh:mm), seconds required, fraction optional.
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")
_MAX_UNIT = 16
_MAX_SEQ = 2**63 - 1
_KEYS = {"v", "device", "seq", "time", "period", "values", "sig"}
_VALUE_KEYS = {"value", "unit", "flag"}


class PayloadError(ValueError):
    """A message that cannot be taken: *reason* (the quarantine's), *field*, *rule*, *value*."""

    def __init__(self, reason: str, field: str, rule: str, value: Any = None) -> None:
        self.reason, self.field, self.rule, self.value = reason, field, rule, value
        super().__init__(f"{field}: {rule}" + ("" if value is None else f" ({value!r})"))


@dataclass(frozen=True, slots=True)
class Value:
    code: str
    text: str  # the number as sent
    value: float
    unit: str
    flag: str


@dataclass(frozen=True, slots=True)
class Message:
    """A parsed message (its signature not yet checked: :func:`verify`)."""

    topic: str
    city: str
    device: str
    seq: int
    time_text: str
    time: dt.datetime  # aware
    period: str
    values: tuple[Value, ...]
    sig: str

    @property
    def key(self) -> str:
        """What identifies a delivery of this message: device, sequence number and time."""
        return f"{self.device}/{self.seq}/{self.time_text}"


def topic_for(city: str, device: str) -> str:
    return f"{PREFIX}/{city}/{device}/data"


def parse_topic(topic: str) -> tuple[str, str]:
    """``bishui/v1/<city>/<device>/data`` → (city, device)."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != PREFIX or parts[4] != "data":
        raise PayloadError("bad_topic", "topic", f"{PREFIX}/<city>/<device>/data", topic[:200])
    city, device = parts[2], parts[3]
    if not _CITY.match(city):
        raise PayloadError("bad_topic", "topic.city", "a GB/T 2260 code (6 digits)", city[:40])
    if not _DEVICE.match(device):
        raise PayloadError("bad_topic", "topic.device", "1–24 of 0-9 A-Z a-z _ -", device[:40])
    return city, device


def _text(raw: Any) -> str:
    return raw if isinstance(raw, str) else str(raw)


def parse(topic: str, payload: bytes) -> Message:
    """The message in *payload* received on *topic*; :class:`PayloadError` if malformed."""
    if len(payload) > MAX_PAYLOAD:
        raise PayloadError("too_large", "payload", f"at most {MAX_PAYLOAD} bytes", len(payload))
    city, device = parse_topic(topic)
    try:
        # Numbers kept as the text sent (Decimal keeps "35.20"), for the canonical form.
        data = json.loads(payload.decode("utf-8"), parse_float=Decimal, parse_int=Decimal)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PayloadError("bad_json", "payload", "UTF-8 JSON", str(exc)[:120]) from exc
    if not isinstance(data, dict):
        raise PayloadError("bad_payload", "payload", "a JSON object", type(data).__name__)
    extra = set(data) - _KEYS
    if extra:
        raise PayloadError("bad_payload", "payload", "unknown key", sorted(extra)[0][:40])
    if data.get("v") != VERSION:
        raise PayloadError("bad_payload", "v", f"must be {VERSION}", _short(data.get("v")))
    if data.get("device") != device:
        raise PayloadError(
            "topic_mismatch", "device", "must equal the topic's device", _short(data.get("device"))
        )
    seq = data.get("seq")
    if not isinstance(seq, Decimal) or not seq.is_finite() or seq.as_tuple().exponent != 0:
        raise PayloadError("bad_payload", "seq", "an integer", _short(seq))
    if not 0 <= seq <= _MAX_SEQ:
        raise PayloadError("bad_payload", "seq", f"0 … {_MAX_SEQ}", str(seq)[:40])
    time_text = data.get("time")
    if not isinstance(time_text, str) or not _TIME.match(time_text):
        raise PayloadError(
            "bad_time", "time", "ISO 8601 with an offset, e.g. 2026-12-07T17:21:00+08:00",
            _short(time_text),
        )  # fmt: skip
    try:
        when = dt.datetime.fromisoformat(time_text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PayloadError("bad_time", "time", "a real date and time", time_text) from exc
    period = data.get("period")
    if period not in PERIODS:
        raise PayloadError("bad_payload", "period", f"one of {', '.join(PERIODS)}", _short(period))
    raw_values = data.get("values")
    if not isinstance(raw_values, dict) or not raw_values:
        raise PayloadError("bad_payload", "values", "a non-empty object", _short(raw_values))
    if len(raw_values) > MAX_VALUES:
        raise PayloadError("too_large", "values", f"at most {MAX_VALUES}", len(raw_values))
    values = []
    for code in sorted(raw_values):
        values.append(_value(code, raw_values[code]))
    sig = data.get("sig")
    if not isinstance(sig, str) or not _SIG.match(sig):
        raise PayloadError("bad_signature", "sig", "64 lower-case hex digits", _short(sig))
    return Message(topic, city, device, int(seq), time_text, when, str(period), tuple(values), sig)


def _value(code: str, item: Any) -> Value:
    where = f"values.{code[:12]}"
    if not _CODE.match(code):
        raise PayloadError("bad_payload", "values", "keys are HJ 212 codes like a34004", code[:40])
    if not isinstance(item, dict):
        raise PayloadError("bad_payload", where, "an object {value, unit, flag}", _short(item))
    extra = set(item) - _VALUE_KEYS
    if extra:
        raise PayloadError("bad_payload", where, "unknown key", sorted(extra)[0][:40])
    number = item.get("value")
    text = str(number) if isinstance(number, Decimal) else None
    if text is None or not _NUMBER.match(text):
        raise PayloadError("bad_value", f"{where}.value", "a JSON number", _short(number))
    v = float(number)  # type: ignore[arg-type]
    if v != v or v in (float("inf"), float("-inf")):
        raise PayloadError("bad_value", f"{where}.value", "a finite number", text[:40])
    unit = item.get("unit")
    if not isinstance(unit, str) or not 0 < len(unit) <= _MAX_UNIT or not unit.isprintable():
        raise PayloadError(
            "bad_payload", f"{where}.unit", f"1–{_MAX_UNIT} printable characters", _short(unit)
        )
    flag = item.get("flag", "N")
    if not isinstance(flag, str) or not _FLAG.match(flag):
        raise PayloadError("bad_flag", f"{where}.flag", "one letter (HJ 212 Table 8)", _short(flag))
    return Value(code, text, v, unit, flag)


def _short(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)[:40]
    if isinstance(value, str):
        return value[:40]
    if isinstance(value, dict | list):
        return type(value).__name__
    return value


def canonical(msg: Message) -> bytes:
    """The bytes the signature covers (module docstring)."""
    lines = [PREFIX, msg.topic, str(msg.seq), msg.time_text, msg.period]
    lines += [f"{v.code}\t{v.text}\t{v.unit}\t{v.flag}" for v in msg.values]
    return "\n".join(lines).encode("utf-8")


def device_key(platform_key: bytes, device: str) -> bytes:
    """The device's signing key, derived from the platform key [32 bytes]."""
    return hmac.new(platform_key, b"bishui-grid-v1\0" + device.encode("ascii"), "sha256").digest()


def sign(msg: Message, key: bytes) -> str:
    """The signature of *msg* under the device key *key* (lower-case hex)."""
    return hmac.new(key, canonical(msg), hashlib.sha256).hexdigest()


def verify(msg: Message, key: bytes) -> bool:
    """Whether *msg* carries the signature of the device key *key* (constant time)."""
    return hmac.compare_digest(sign(msg, key), msg.sig)


def encode(
    city: str,
    device: str,
    seq: int,
    time: dt.datetime,
    values: dict[str, tuple[str, str, str]],
    key: bytes,
    period: str = "min",
) -> tuple[str, bytes]:
    """A signed message as a sensor sends it: (topic, payload). *values* maps a code to
    (number as text, unit, flag); *time* must be aware. For the simulator and the tests."""
    if time.tzinfo is None:
        raise ValueError("time must carry its offset")
    topic = topic_for(city, device)
    time_text = time.isoformat(timespec="seconds")
    vals = tuple(
        Value(code, text, float(text), unit, flag)
        for code, (text, unit, flag) in sorted(values.items())
    )
    msg = Message(topic, city, device, seq, time_text, time, period, vals, "")
    body = {
        "v": VERSION,
        "device": device,
        "seq": seq,
        "time": time_text,
        "period": period,
        # numbers written as their text: json.dumps of a float could differ from it
        "values": {v.code: {"value": "@@", "unit": v.unit, "flag": v.flag} for v in vals},
        "sig": sign(msg, key),
    }
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    for v in vals:  # splice each number in as its exact text (in code order, as dumped)
        text = text.replace('"@@"', v.text, 1)
    return topic, text.encode("utf-8")
