"""The rule-set document: every rule cites a source; bad documents are refused by key."""

import tomllib
from importlib import resources
from pathlib import Path

import pytest

from bishui.errors import ConfigError
from bishui.sources.rules import DEFAULT_FILE, SCHEMA, load_ruleset, parse_ruleset


def _doc() -> dict:
    text = (resources.files("bishui.sources") / "data" / DEFAULT_FILE).read_text("utf-8")
    return tomllib.loads(text)


def test_packaged_ruleset_loads() -> None:
    rs = load_ruleset()
    assert rs.version == "2026.11-1"
    assert set(rs.rules) == set(SCHEMA)
    assert rs["HOUR"]["min_valid_minutes"] == 45  # HJ 212-2017 eq. 24
    assert rs["DAY"]["min_valid_hours_air"] == 20  # HJ 212-2017 eq. 25
    assert rs["CAP"]["warn_levels"] == [0.8, 0.9]
    for rule in rs.rules.values():
        assert rule.source.strip()
        # Anything not read in a primary text must say so.
        assert rule.status in ("verified", "secondary", "policy", "unverified")
    assert rs["FLAT"].status == "unverified"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (
            lambda d: d["rules"]["HOUR"]["params"].pop("min_valid_minutes"),
            "rules.HOUR.params.min_valid_minutes",
        ),
        (
            lambda d: d["rules"]["HOUR"]["params"].update(min_valid_minutes="45"),
            "rules.HOUR.params.min_valid_minutes",
        ),
        (
            lambda d: d["rules"]["HOUR"]["params"].update(min_valid_minutes=61),
            "rules.HOUR.params.min_valid_minutes",
        ),
        (
            lambda d: d["rules"]["HOUR"]["params"].update(valid_flags=["X"]),
            "rules.HOUR.params.valid_flags",
        ),
        (lambda d: d["rules"]["FLAT"]["params"].update(extra=1), "rules.FLAT.params.extra"),
        (lambda d: d["rules"]["FLAT"].update(source=" "), "rules.FLAT.source"),
        (lambda d: d["rules"]["FLAT"].update(severity="grave"), "rules.FLAT.severity"),
        (lambda d: d["rules"]["FLAT"].update(status="sure"), "rules.FLAT.status"),
        (lambda d: d["rules"]["FLAT"].pop("title"), "rules.FLAT.title"),
        (lambda d: d["rules"].pop("TWIN"), "rules.TWIN"),
        (lambda d: d["rules"].update(NEW={}), "rules.NEW"),
        (
            lambda d: d["rules"]["CAP"]["params"].update(warn_levels=[0.9, 0.8]),
            "rules.CAP.params.warn_levels",
        ),
        (lambda d: d.pop("meta"), "meta"),
    ],
)
def test_bad_documents(mutate, field: str) -> None:  # type: ignore[no-untyped-def]
    d = _doc()
    mutate(d)
    with pytest.raises(ConfigError) as ei:
        parse_ruleset(d)
    assert ei.value.field == field


def test_file_errors(tmp_path: Path) -> None:
    p = tmp_path / "r.toml"
    p.write_text("[meta\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="TOML"):
        load_ruleset(p)
    with pytest.raises(ConfigError, match="cannot read"):
        load_ruleset(tmp_path / "missing.toml")
    with pytest.raises(ConfigError):
        load_ruleset()["NOPE"]


def test_with_params_validates() -> None:
    rs = load_ruleset()
    with pytest.raises(ConfigError):
        rs.with_params("FLAT", min_minutes="x")
    assert rs.with_params("FLAT", min_minutes=30)["FLAT"]["min_minutes"] == 30
    assert rs["FLAT"]["min_minutes"] == 60
