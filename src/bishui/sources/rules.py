"""The versioned rule-set: every threshold the source checks use, with its source.

The packaged document is ``data/rules_sources_2026.11-1.toml``. A bureau may load its own copy
(same schema) with :func:`load_ruleset`; :meth:`RuleSet.with_params` derives a variant in code
(tests, what-if runs) and marks the changed rule's version so findings stay traceable.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bishui.errors import ConfigError

DEFAULT_FILE = "rules_sources_2026.11-1.toml"
SEVERITIES = ("info", "low", "medium", "high")
STATUSES = ("verified", "secondary", "policy", "unverified")

#: rule id → parameter name → type the document must give.
SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "HOUR": {
        "min_valid_minutes": int,
        "valid_flags": list,
        "min_valid_minutes_water": int,
        "water_any_abnormal_invalidates": bool,
    },
    "DAY": {"min_valid_hours_air": int, "min_valid_hours_water": int, "water_flow_weighted": bool},
    "O2REF": {"o2_air": float},
    "EXC": {"merge_gap": int, "evidence_max_points": int},
    "MASS": {"substitution": str},
    "CAP": {"warn_levels": list, "breach_level": float, "projection_window_days": int},
    "NOPERMIT": {"min_discharge_minutes": int},
    "FLAT": {"min_minutes": int, "tolerance": float, "min_level": float},
    "STUCK": {"band": float, "min_share": float, "min_valid_hours": int},
    "ZFLOW": {"flow_zero": float, "conc_min_ratio": float, "min_minutes": int},
    "ZCONC": {"flow_min": float, "conc_zero_ratio": float, "min_minutes": int},
    "DILUTE": {
        "window_hours": int,
        "o2_rise": float,
        "conc_fall_ratio": float,
        "max_correlation": float,
    },
    "CALSHARE": {"flags": list, "max_share": float},
    "TWIN": {"decimals": int, "min_valid_minutes": int},
    "GAPX": {"min_gap_minutes": int, "lookback_minutes": int, "approach_ratio": float},
    "RANGE": {"min_minutes": int},
}


@dataclass(frozen=True)
class Rule:
    """One rule: identity, version, severity, provenance and its parameters."""

    id: str
    version: str
    title: str
    severity: str
    status: str
    source: str
    params: Mapping[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.params[name]


@dataclass(frozen=True)
class RuleSet:
    """All rules of one rule-set document."""

    name: str
    version: str
    rules: Mapping[str, Rule]

    def __getitem__(self, rule_id: str) -> Rule:
        try:
            return self.rules[rule_id]
        except KeyError:
            raise ConfigError("rule", "no such rule in the rule-set", rule_id) from None

    def with_params(self, rule_id: str, **params: Any) -> RuleSet:
        """A copy with *params* of *rule_id* replaced; its version gets a ``+local`` suffix."""
        old = self[rule_id]
        merged = dict(old.params) | params
        _check_params(rule_id, merged)
        new = dataclasses.replace(
            old, params=MappingProxyType(merged), version=old.version.split("+")[0] + "+local"
        )
        return dataclasses.replace(self, rules=MappingProxyType(dict(self.rules) | {rule_id: new}))


def _check_params(rule_id: str, params: Mapping[str, Any]) -> None:
    schema = SCHEMA[rule_id]
    for name in params:
        if name not in schema:
            raise ConfigError(f"rules.{rule_id}.params.{name}", "unknown parameter", name)
    for name, typ in schema.items():
        if name not in params:
            raise ConfigError(f"rules.{rule_id}.params.{name}", "missing parameter", None)
        value = params[name]
        ok = isinstance(value, typ) and not (typ in (int, float) and isinstance(value, bool))
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise ConfigError(
                f"rules.{rule_id}.params.{name}", f"must be {getattr(typ, '__name__', typ)}", value
            )


def parse_ruleset(doc: Mapping[str, Any]) -> RuleSet:
    """Validate a parsed rule-set document; :class:`ConfigError` names the offending key."""
    meta = doc.get("meta")
    if not isinstance(meta, Mapping) or not meta.get("version") or not meta.get("ruleset"):
        raise ConfigError("meta", "needs ruleset and version", meta)
    raw = doc.get("rules")
    if not isinstance(raw, Mapping):
        raise ConfigError("rules", "a table of rules", raw)
    missing = sorted(set(SCHEMA) - set(raw))
    if missing:
        raise ConfigError(f"rules.{missing[0]}", "rule missing from the rule-set", None)
    rules: dict[str, Rule] = {}
    for rid, body in raw.items():
        if rid not in SCHEMA:
            raise ConfigError(f"rules.{rid}", "unknown rule", rid)
        if not isinstance(body, Mapping):
            raise ConfigError(f"rules.{rid}", "a table", body)
        for key in ("title", "version", "severity", "status", "source"):
            if key not in body:
                raise ConfigError(f"rules.{rid}.{key}", "required", None)
        if body["severity"] not in SEVERITIES:
            raise ConfigError(f"rules.{rid}.severity", f"one of {SEVERITIES}", body["severity"])
        if body["status"] not in STATUSES:
            raise ConfigError(f"rules.{rid}.status", f"one of {STATUSES}", body["status"])
        if not str(body["source"]).strip():
            raise ConfigError(f"rules.{rid}.source", "every rule cites its source", body["source"])
        params = dict(body.get("params", {}))
        _check_params(rid, params)
        rules[rid] = Rule(
            id=rid,
            version=str(body["version"]),
            title=str(body["title"]),
            severity=str(body["severity"]),
            status=str(body["status"]),
            source=str(body["source"]),
            params=MappingProxyType(params),
        )
    _check_values(rules)
    return RuleSet(str(meta["ruleset"]), str(meta["version"]), MappingProxyType(rules))


def _check_values(rules: Mapping[str, Rule]) -> None:
    if not 1 <= rules["HOUR"]["min_valid_minutes"] <= 60:
        raise ConfigError(
            "rules.HOUR.params.min_valid_minutes",
            "between 1 and 60",
            rules["HOUR"]["min_valid_minutes"],
        )
    for rid in ("HOUR",):
        bad = [f for f in rules[rid]["valid_flags"] if f not in "NFMSDCTB" or len(f) != 1]
        if bad:
            raise ConfigError(
                f"rules.{rid}.params.valid_flags", "HJ 212-2017 Table 8 flags", bad[0]
            )
    cap = rules["CAP"]
    levels = [*cap["warn_levels"], cap["breach_level"]]
    if any(not isinstance(x, int | float) or x <= 0 for x in levels) or levels != sorted(levels):
        raise ConfigError(
            "rules.CAP.params.warn_levels", "increasing, positive, below breach", levels
        )


def load_ruleset(path: str | Path | None = None) -> RuleSet:
    """Load and validate a rule-set TOML file (the packaged default when *path* is None)."""
    try:
        if path is None:
            text = (resources.files("bishui.sources") / "data" / DEFAULT_FILE).read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("ruleset", f"not valid TOML: {e}", str(path)) from None
    except OSError as e:
        raise ConfigError("ruleset", f"cannot read: {e.strerror}", str(path)) from None
    return parse_ruleset(doc)
