"""Parsers under arbitrary input: the upload parser answers InputError or a record, the report
code verifier answers a reason, never a traceback."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bishui.errors import InputError
from bishui.vehicles import reportcode, service

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "id": JSON,
        "station": JSON,
        "lane": JSON,
        "vin": JSON,
        "plate": JSON,
        "method": st.sampled_from(["tsi", "asm", "vmas", "lug_down", "free_accel", "x"]) | JSON,
        "start": st.sampled_from(["2026-11-02T09:00:00", "nope"]) | JSON,
        "claimed_result": JSON,
        "nature": JSON,
        "rated_power_kw": JSON,
        "curve": st.dictionaries(
            st.sampled_from(["phase", "co", "hc", "k", "speed", "zz"]),
            st.lists(st.floats(allow_nan=False, width=32) | st.none(), max_size=5),
        )
        | JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(FIELDS)
def test_parse_inspection_never_crashes(d: dict[str, Any]) -> None:
    with contextlib.suppress(InputError):
        service.parse_inspection(d)


KEYS = {
    "k": reportcode.public_of("k", reportcode.private_from_seed(bytes(32)), dt.date(2020, 1, 1))
}


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=300)
    | st.builds(lambda a, b: f"https://x/r/{a}?s={b}", st.text(max_size=20), st.text(max_size=200))
)
def test_verify_answers_a_reason(code: str) -> None:
    v = reportcode.verify(code, KEYS)
    assert not v.ok and v.reason in {
        "malformed",
        "mismatch",
        "unknown_key",
        "key_not_valid",
        "bad_signature",
    }
