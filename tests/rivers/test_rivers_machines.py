"""Every workflow's state machine, transition by transition and refusal by refusal; the rules
file; the track checks (pure, no store)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from bishui.errors import ConfigError, InputError, PermissionDenied, TooLarge
from bishui.rivers import machines as m
from bishui.rivers import track
from bishui.rivers.rules import load_rules, parse_rules

ROLES = ("admin", "analyst", "inspector", "chief", "county", "enterprise", "river_chief",
         "volunteer", "system")  # fmt: skip

#: (machine, from, action, to, a role that may) — the whole table, written out by hand
EXPECTED = [
    (m.ASSIGNMENT, None, "assign", "active", "admin"),
    (m.ASSIGNMENT, "active", "end", "ended", "admin"),
    (m.VOLUNTEER_MACHINE, None, "enrol", "active", "admin"),
    (m.VOLUNTEER_MACHINE, "active", "end", "ended", "admin"),
    (m.PATROL, None, "start", "open", "river_chief"),
    (m.PATROL, "open", "track", "open", "volunteer"),
    (m.PATROL, "open", "photo", "open", "river_chief"),
    (m.PATROL, "open", "problem", "open", "volunteer"),
    (m.PATROL, "open", "submit", "submitted", "river_chief"),
    (m.PATROL, "open", "cancel", "cancelled", "volunteer"),
    (m.PATROL, "submitted", "void", "void", "admin"),
    (m.PROBLEM, None, "record", "recorded", "river_chief"),
    (m.PROBLEM, "recorded", "route", "routed", "system"),
    (m.PROBLEM, "recorded", "withdraw", "withdrawn", "volunteer"),
    (m.PROBLEM, "routed", "resolve", "resolved", "system"),
    (m.PROBLEM, "resolved", "confirm", "confirmed", "river_chief"),
    (m.PROBLEM, "resolved", "dispute", "routed", "river_chief"),
]


@pytest.mark.parametrize(("machine", "frm", "action", "to", "role"), EXPECTED,
                         ids=lambda v: getattr(v, "name", str(v)))  # fmt: skip
def test_each_transition(machine: m.Machine, frm: str | None, action: str, to: str,
                         role: str) -> None:  # fmt: skip
    assert machine.step(frm, action, role) == to


def test_the_tables_are_exactly_the_expected_ones() -> None:
    for machine in m.MACHINES:
        mine = {(f, a): t for mm, f, a, t, _ in EXPECTED if mm is machine}
        assert dict(machine.transitions) == mine, machine.name
        assert set(machine.actors) == machine.actions


def test_every_other_pair_is_refused_naming_it() -> None:
    for machine in m.MACHINES:
        states: list[str | None] = [None, *sorted(machine.states)]
        for state, action in itertools.product(states, sorted(machine.actions)):
            if (state, action) in machine.transitions:
                continue
            role = next(iter(machine.actors[action]))
            with pytest.raises(m.TransitionRefused) as e:
                machine.step(state, action, role)
            assert (e.value.machine, e.value.state, e.value.action) == (machine.name, state,
                                                                         action)  # fmt: skip
        with pytest.raises(m.TransitionRefused):
            machine.step(None, "no-such-action", "admin")


def test_every_role_not_listed_is_refused() -> None:
    for machine in m.MACHINES:
        for (state, action), _ in machine.transitions.items():
            for role in ROLES:
                if role in machine.actors[action]:
                    continue
                with pytest.raises(PermissionDenied):
                    machine.step(state, action, role)


def test_allowed_lists_what_a_role_may_do() -> None:
    assert m.PATROL.allowed("open", "river_chief") == ["track", "photo", "problem", "submit",
                                                       "cancel"]  # fmt: skip
    assert m.PATROL.allowed("submitted", "river_chief") == []
    assert m.PROBLEM.allowed("resolved", "volunteer") == []
    assert m.PROBLEM.allowed("resolved", "river_chief") == ["confirm", "dispute"]


def test_rules_periods_and_sources() -> None:
    r = load_rules()
    assert dict(r.interval) == {"city": "quarter", "county": "quarter", "township": "month",
                                "village": "week"}  # fmt: skip
    assert "阿合奇" in r.interval_source and (r.min_minutes, r.min_metres) == (30, 2000)
    day = dt.date(2026, 12, 9)  # a Wednesday
    assert r.period("village", day) == (dt.date(2026, 12, 7), dt.date(2026, 12, 13))
    assert r.period("township", day) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert r.period("county", day) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert r.period("county", dt.date(2026, 2, 28)) == (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert {c.severity for c in r.categories.values()} <= {"low", "medium", "high"}


def test_rules_refuse_a_bad_file() -> None:
    with pytest.raises(ConfigError):
        parse_rules({"meta": {"version": "x"}})
    import tomllib
    from importlib import resources

    doc = tomllib.loads((resources.files("bishui.rivers") / "data" /
                         "rivers_rules_2026.12-1.toml").read_text("utf-8"))  # fmt: skip
    doc["patrol_interval"]["village"] = "fortnight"
    with pytest.raises(ConfigError, match="patrol_interval"):
        parse_rules(doc)


def test_track_checks_and_length() -> None:
    t0 = dt.datetime(2026, 12, 7, 9)
    pts = [{"lat": 30.5 + 0.001 * i, "lon": 112.47, "t": (t0 + dt.timedelta(minutes=i)).isoformat()}
           for i in range(11)]  # fmt: skip
    got = track.check_points(pts, [], per_request=100, total=100)
    assert round(track.length_m(got)) == 1112  # 0.01° of latitude on the sphere ≈ 1.112 km
    assert track.duration_s(got) == 600
    aware = [{"lat": 30.6, "lon": 112.47, "t": "2026-12-07T01:20:00+00:00"}]
    assert track.check_points(aware, got, per_request=5, total=100)[0][2] == t0.replace(minute=20)
    for bad, field in (
        ([{"lat": 91, "lon": 0, "t": t0.isoformat()}], "points[0].lat"),
        ([{"lat": float("nan"), "lon": 0, "t": t0.isoformat()}], "points[0].lat"),
        ([{"lat": 0, "lon": "x", "t": t0.isoformat()}], "points[0].lon"),
        ([{"lat": 0, "lon": 0, "t": "yesterday"}], "points[0].t"),
        ([{"lat": 0, "lon": 0, "t": "2026-12-07T08:00:00"}], "points[0].t"),  # before the last
        (["<script>"], "points[0]"),
    ):
        with pytest.raises(InputError) as e:
            track.check_points(bad, got, per_request=5, total=100)
        assert e.value.field == field
    with pytest.raises(TooLarge):
        track.check_points(pts, [], per_request=5, total=100)
    with pytest.raises(TooLarge):
        track.check_points(pts, got, per_request=100, total=20)
