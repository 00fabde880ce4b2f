"""Enforcement policy: deadlines by severity, escalation, and the penalty articles.

Loaded from ``data/enforcement_policy_2026.11-1.toml`` (or a bureau's own copy). Deadlines are
local policy (no standard sets them); the penalty brackets are 排污许可管理条例 Art. 33–43.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from bishui.errors import ConfigError, InputError

DEFAULT_FILE = "enforcement_policy_2026.11-1.toml"


@dataclass(frozen=True)
class Policy:
    version: str
    deadline_hours: Mapping[str, int]
    escalate_every_hours: int
    escalation_roles: tuple[str, ...]
    penalty_articles: Mapping[str, tuple[Decimal, Decimal]]
    rule_articles: Mapping[str, str]
    #: Task-machine roles that may approve a disposal (``[approval] roles``).
    approval_roles: tuple[str, ...] = ("chief",)
    #: Disposal kinds that wait for an approval before they take effect.
    approval_disposals: tuple[str, ...] = ("penalty",)
    #: Whether closing a task waits for an approver (结案审批, ``[approval] closure``).
    approval_closure: bool = True
    #: Subject kind → the article a task cites when none of its rules is in ``rule_articles``
    #: (``[subject_articles]``: an inspection station's findings → 大气污染防治法 Art. 112).
    subject_articles: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def needs_approval(self, disposal_kind: str) -> bool:
        return disposal_kind in self.approval_disposals

    def deadline(self, severity: str, created: dt.datetime) -> dt.datetime:
        try:
            return created + dt.timedelta(hours=self.deadline_hours[severity])
        except KeyError:
            raise InputError(
                "severity", "one of " + ", ".join(self.deadline_hours), severity
            ) from None

    def check_penalty(self, article: str, amount: Decimal) -> None:
        """Refuse a penalty whose article is unknown or whose amount is outside its bracket."""
        if article not in self.penalty_articles:
            raise InputError("article", "a regulation article listed in the policy", article)
        if not isinstance(amount, Decimal) or not amount.is_finite():
            raise InputError("amount", "a Decimal amount in yuan", amount)
        low, high = self.penalty_articles[article]
        if not low <= amount <= high:
            raise InputError("amount", f"{article}: between {low} and {high} yuan", str(amount))

    def escalation_role(self, level: int) -> str:
        return self.escalation_roles[min(level, len(self.escalation_roles)) - 1]


def parse_policy(doc: Mapping[str, Any]) -> Policy:
    try:
        dh = {str(k): int(v) for k, v in doc["deadline_hours"].items()}
        esc = doc["escalation"]
        arts = {
            str(k): (Decimal(str(v[0])), Decimal(str(v[1])))
            for k, v in doc["penalty_articles"].items()
        }
        policy = Policy(
            version=str(doc["meta"]["version"]),
            deadline_hours=dh,
            escalate_every_hours=int(esc["every_hours"]),
            escalation_roles=tuple(str(r) for r in esc["roles"]),
            penalty_articles=arts,
            rule_articles={str(k): str(v) for k, v in doc.get("rule_articles", {}).items()},
            # A bureau's copy without [approval] keeps the safe default: penalties approved
            # by a chief (docs/enforcement.md, "Approval").
            approval_roles=tuple(str(r) for r in doc.get("approval", {}).get("roles", ["chief"])),
            approval_disposals=tuple(
                str(k) for k in doc.get("approval", {}).get("disposals", ["penalty"])
            ),
            approval_closure=doc.get("approval", {}).get("closure", True),
            subject_articles={str(k): str(v) for k, v in doc.get("subject_articles", {}).items()},
        )
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise ConfigError("policy", f"malformed policy document: {e!r}", None) from None
    if any(h <= 0 for h in dh.values()) or policy.escalate_every_hours <= 0:
        raise ConfigError("deadline_hours", "positive hours", dh)
    if not policy.escalation_roles:
        raise ConfigError("escalation.roles", "at least one role", [])
    task_roles = ("inspector", "supervisor", "chief")
    if not policy.approval_roles or any(r not in task_roles for r in policy.approval_roles):
        raise ConfigError("approval.roles", "one or more of " + ", ".join(task_roles),
                          list(policy.approval_roles))  # fmt: skip
    if not isinstance(policy.approval_closure, bool):
        raise ConfigError("approval.closure", "true or false", policy.approval_closure)
    kinds = ("rectification_order", "penalty", "false_alarm")
    if any(k not in kinds for k in policy.approval_disposals):
        raise ConfigError("approval.disposals", "disposal kinds: " + ", ".join(kinds),
                          list(policy.approval_disposals))  # fmt: skip
    for art, (lo, hi) in arts.items():
        if lo < 0 or hi < lo:
            raise ConfigError(f"penalty_articles.{art}", "0 <= min <= max", [lo, hi])
    for rule, art in policy.rule_articles.items():
        if art not in arts:
            raise ConfigError(f"rule_articles.{rule}", "an article listed in penalty_articles", art)
    for kind, art in policy.subject_articles.items():
        if art not in arts:
            raise ConfigError(f"subject_articles.{kind}", "an article listed in penalty_articles",
                              art)  # fmt: skip
    return policy


def read_toml(what: str, default_file: str, path: str | Path | None = None) -> dict[str, Any]:
    """A packaged data file of this package (``data/<default_file>``), or a bureau's own
    *path*, parsed; :class:`ConfigError` naming *what* if it cannot be read or parsed."""
    try:
        if path is None:
            text = (resources.files("bishui.enforcement") / "data" / default_file).read_text(
                "utf-8"
            )
        else:
            text = Path(path).read_text("utf-8")
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(what, f"not valid TOML: {e}", str(path)) from None
    except OSError as e:
        raise ConfigError(what, f"cannot read: {e.strerror}", str(path)) from None


def load_policy(path: str | Path | None = None) -> Policy:
    """Load the packaged policy, or a bureau's own file."""
    return parse_policy(read_toml("policy", DEFAULT_FILE, path))
