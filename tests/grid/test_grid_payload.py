"""The grid sensors' message convention: parse, canonical form, signature (docs/grid.md)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui.grid.payload import (
    MAX_PAYLOAD,
    PayloadError,
    canonical,
    device_key,
    encode,
    parse,
    sign,
    topic_for,
    verify,
)

PLATFORM_KEY = b"k" * 32
BJ = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 12, 7, 17, 21, tzinfo=BJ)

devices = st.from_regex(r"[0-9A-Za-z_-]{1,24}", fullmatch=True)
numbers = st.decimals(min_value=-1e6, max_value=1e6, places=3, allow_nan=False).map(str)
codes = st.sampled_from(["a34004", "a34002", "a34001", "a01001", "w01018"])
units = st.sampled_from(["μg/m³", "mg/m³", "℃", "dB"])
flags = st.sampled_from(list("NFMSDCTB"))


@settings(max_examples=30, deadline=None)
@given(
    device=devices,
    seq=st.integers(0, 2**63 - 1),
    minutes=st.integers(-60 * 24 * 400, 60 * 24 * 400),
    values=st.dictionaries(codes, st.tuples(numbers, units, flags), min_size=1, max_size=5),
    period=st.sampled_from(["rt", "min", "hour"]),
)
def test_a_signed_message_parses_back_and_verifies(device, seq, minutes, values, period) -> None:
    key = device_key(PLATFORM_KEY, device)
    topic, payload = encode("420800", device, seq, T0 + dt.timedelta(minutes=minutes), values,
                            key, period=period)  # fmt: skip
    msg = parse(topic, payload)
    assert (msg.device, msg.seq, msg.period, msg.city) == (device, seq, period, "420800")
    # the numbers are kept as the text sent: that is what the signature covers
    assert {v.code: (v.text, v.unit, v.flag) for v in msg.values} == values
    assert verify(msg, key)
    assert not verify(msg, device_key(PLATFORM_KEY, device + "x"))  # another device's key
    # any change of a value's text breaks the signature
    data = json.loads(payload)
    code = sorted(values)[0]
    data["values"][code]["value"] = float(values[code][0]) + 1
    forged = parse(topic, json.dumps(data, ensure_ascii=False).encode())
    assert not verify(forged, key)


def test_the_canonical_form_is_the_documented_one() -> None:
    key = device_key(PLATFORM_KEY, "D1")
    topic, payload = encode(
        "420800",
        "D1",
        7,
        T0,
        {"a34004": ("35.20", "μg/m³", "N"), "a34002": ("61", "μg/m³", "N")},
        key,
    )
    msg = parse(topic, payload)
    assert canonical(msg).decode() == (
        "bishui/v1\nbishui/v1/420800/D1/data\n7\n2026-12-07T17:21:00+08:00\nmin\n"
        "a34002\t61\tμg/m³\tN\na34004\t35.20\tμg/m³\tN"
    )
    assert b'"value":35.20' in payload  # the number travels as its text, not re-formatted
    assert msg.sig == sign(msg, key) and len(msg.sig) == 64


def _payload(**over: object) -> bytes:
    body: dict[str, object] = {
        "v": 1, "device": "D1", "seq": 1, "time": "2026-12-07T17:21:00+08:00", "period": "min",
        "values": {"a34004": {"value": 35, "unit": "μg/m³"}}, "sig": "0" * 64,
    }  # fmt: skip
    body.update(over)
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


@pytest.mark.parametrize(
    ("topic", "payload", "reason", "field"),
    [
        ("bishui/v1/420800/D1/data", b"x" * (MAX_PAYLOAD + 1), "too_large", "payload"),
        ("bishui/v2/420800/D1/data", _payload(), "bad_topic", "topic"),
        ("bishui/v1/42080/D1/data", _payload(), "bad_topic", "topic.city"),
        ("bishui/v1/420800/D1/data", b"{not json", "bad_json", "payload"),
        ("bishui/v1/420800/D1/data", b"[1]", "bad_payload", "payload"),
        ("bishui/v1/420800/D1/data", _payload(extra=1), "bad_payload", "payload"),
        ("bishui/v1/420800/D1/data", _payload(device="D2"), "topic_mismatch", "device"),
        ("bishui/v1/420800/D1/data", _payload(seq=1.5), "bad_payload", "seq"),
        ("bishui/v1/420800/D1/data", _payload(seq=-1), "bad_payload", "seq"),
        ("bishui/v1/420800/D1/data", _payload(time="2026-12-07T17:21:00"), "bad_time", "time"),
        ("bishui/v1/420800/D1/data", _payload(time="2026-02-30T17:21:00Z"), "bad_time", "time"),
        ("bishui/v1/420800/D1/data", _payload(period="day"), "bad_payload", "period"),
        ("bishui/v1/420800/D1/data", _payload(values={}), "bad_payload", "values"),
        ("bishui/v1/420800/D1/data", _payload(values={"PM25": {"value": 1, "unit": "u"}}),
         "bad_payload", "values"),
        ("bishui/v1/420800/D1/data", _payload(values={"a34004": {"value": "35", "unit": "u"}}),
         "bad_value", "values.a34004.value"),
        ("bishui/v1/420800/D1/data", _payload(values={"a34004": {"value": 1, "unit": "a\tb"}}),
         "bad_payload", "values.a34004.unit"),
        ("bishui/v1/420800/D1/data",
         _payload(values={"a34004": {"value": 1, "unit": "u", "flag": "NN"}}),
         "bad_flag", "values.a34004.flag"),
        ("bishui/v1/420800/D1/data", _payload(sig="XYZ"), "bad_signature", "sig"),
    ],
)  # fmt: skip
def test_a_malformed_message_names_its_reason_and_field(topic, payload, reason, field) -> None:
    with pytest.raises(PayloadError) as err:
        parse(topic, payload)
    assert (err.value.reason, err.value.field) == (reason, field)


def test_topic_for_round_trips() -> None:
    assert topic_for("420800", "4208GR000000000000000001") == (
        "bishui/v1/420800/4208GR000000000000000001/data"
    )
