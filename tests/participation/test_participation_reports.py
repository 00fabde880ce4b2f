"""The citizen report's pure core: the state machine as a table (every transition and every
refusal), the follow-up code, the checks a submission passes, the public view."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from bishui.errors import ConfigError, InputError, TooLarge
from bishui.participation import reports as rp
from bishui.participation.reports import Event, State

RULES = rp.load_rules()
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5f0000000049454e44ae426082"
)
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
TEXT = "河边排口排出黑色污水，有臭味。"

#: The machine written out again, by hand, as the docs state it (a change to one is a change
#: to the other).
TABLE = {
    ("received", "accept"): "accepted",
    ("received", "reject"): "closed",
    ("accepted", "task_opened"): "in_progress",
    ("accepted", "alert_dismissed"): "closed",
    ("in_progress", "task_closed"): "closed",
    ("closed", "task_reopened"): "in_progress",
}


def test_the_table_is_the_documented_one() -> None:
    assert {(str(s), str(e)): str(t) for (s, e), t in rp.TRANSITIONS.items()} == TABLE
    assert {Event.ACCEPT, Event.REJECT} == rp.STAFF_EVENTS


@pytest.mark.parametrize(("state", "event"), sorted(TABLE))
def test_every_transition(state: str, event: str) -> None:
    assert rp.step("R20261207-0001", State(state), Event(event)) == State(TABLE[(state, event)])


REFUSED = sorted(
    (str(s), str(e)) for s, e in itertools.product(State, Event) if (str(s), str(e)) not in TABLE
)


@pytest.mark.parametrize(("state", "event"), REFUSED)
def test_every_refusal(state: str, event: str) -> None:
    with pytest.raises(rp.ReportRefused) as e:
        rp.step("R20261207-0001", State(state), Event(event))
    assert e.value.state == state and e.value.event == event
    assert "refused" in e.value.message


def test_codes_are_long_unambiguous_and_distinct() -> None:
    codes = {rp.new_code(RULES) for _ in range(500)}
    assert len(codes) == 500
    assert all(len(c) == RULES.code_length >= 10 for c in codes)
    assert not set("".join(codes)) & set("0O1IL")
    assert len(RULES.code_alphabet) ** RULES.code_length >= 2**50
    code = codes.pop()
    typed = "  " + rp.grouped(code).lower() + " "
    assert rp.normalise_code(typed, RULES) == code
    for bad in ("", "ABC", "0" * RULES.code_length, code + "A", "<script>"):
        with pytest.raises(InputError):
            rp.normalise_code(bad, RULES)
    assert rp.code_hash(code) != code and len(rp.code_hash(code)) == 64


def test_rules_refuse_a_guessable_code_space() -> None:
    import tomllib
    from importlib import resources

    doc = tomllib.loads(
        (resources.files("bishui.participation") / "data" / rp.DEFAULT_RULES).read_text("utf-8")
    )
    doc["report"]["code_length"] = 6
    with pytest.raises(ConfigError):
        rp.parse_rules(doc)


def test_a_good_submission() -> None:
    s = rp.check_submission(RULES, "31.0357", 112.2048, f"  {TEXT}\n", " 138 0000 0000 ", PNG)
    assert (s.lat, s.lon, s.description, s.contact, s.photo_type) == (
        31.0357, 112.2048, TEXT, "138 0000 0000", "image/png"
    )  # fmt: skip
    assert rp.check_submission(RULES, 31, 112.2, TEXT, "", JPEG, "image/jpeg").photo_type == (
        "image/jpeg"
    )
    assert rp.check_submission(RULES, 31, 112.2, TEXT).photo is None


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"lat": "north"}, "lat"),
        ({"lat": "nan"}, "lat"),
        ({"lat": 39.9}, "lat"),  # Beijing: outside the city
        ({"lon": 200}, "lon"),
        ({"description": "短"}, "description"),
        ({"description": "x" * (RULES.description_max + 1)}, "description"),
        ({"description": TEXT + "\x1b[2J"}, "description"),
        ({"contact": "c" * (RULES.contact_max + 1)}, "contact"),
        ({"photo": b"<html><script>alert(1)</script></html>", "declared_type": "image/jpeg"},
         "photo"),
        ({"photo": b"MZ\x90\x00" + b"\x00" * 60}, "photo"),
        ({"photo": PNG, "declared_type": "image/jpeg"}, "photo"),  # the bytes decide
    ],
)  # fmt: skip
def test_refusals_name_field_and_rule(kw: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"lat": 31.0, "lon": 112.2, "description": TEXT, **kw}
    with pytest.raises(InputError) as e:
        rp.check_submission(RULES, **args)  # type: ignore[arg-type]
    assert e.value.field == field and e.value.rule


def test_an_oversized_photo_is_too_large() -> None:
    with pytest.raises(TooLarge):
        rp.check_submission(RULES, 31, 112.2, TEXT, "", PNG + b"\x00" * 100, max_photo_bytes=100)


def test_the_public_view_shows_states_dates_and_outcome_only() -> None:
    t = dt.datetime(2026, 12, 7, 9, 12)
    report = {"state": "closed", "created": t, "outcome": "rejected:duplicate",
              "region_name": "东宝区", "reason_labels": RULES.reject_reasons,
              "contact": "13800000000", "description": "secret"}  # fmt: skip
    view = rp.public_view(report, [{"to_state": "received", "ts": t},
                                   {"to_state": "closed", "ts": t}])  # fmt: skip
    assert view["state_label"] == "已办结"
    assert view["outcome_label"] == "不予受理：与已受理的举报重复"
    assert set(view) == {"state", "state_label", "submitted", "region", "outcome",
                         "outcome_label", "steps"}  # fmt: skip
    assert "13800000000" not in str(view) and "secret" not in str(view)
    en = rp.public_view({**report, "outcome": "false_alarm"}, [], "en")
    assert en["outcome_label"] == "checked on site: no violation found"
