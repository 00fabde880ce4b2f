"""Enforcement policy: deadlines by severity, escalation, and the penalty articles.

Versioned by date (platform principle 5, issue 19): every ``data/enforcement_policy_<version>.toml``
is one version, carrying ``[meta] version`` and ``effective_from`` (a date, Beijing time, in
force from 00:00 of that day). :func:`policies` loads them all (:class:`PolicySet`);
:meth:`PolicySet.at` is the version in force at a moment (a new task is opened under it and
records its version), :meth:`PolicySet.get` the version a task recorded (a task recorded none —
opened before versions were recorded — gets the earliest). A released file is never edited:
a change is a new file with a new version and date (docs/enforcement.md, "Policy versions").
Deadlines are local policy (no standard sets them); the penalty brackets are 排污许可管理条例
Art. 33–43 and 大气污染防治法 Art. 112.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from bishui.errors import ConfigError, InputError

#: The packaged policy files: ``data/enforcement_policy_<version>.toml``.
FILE_PATTERN = "enforcement_policy_*.toml"
#: The newest packaged version (what :func:`load_policy` without a path returns).
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
    #: The first day (Beijing time) this version is in force (``[meta] effective_from``);
    #: None for a bureau's single file that states none.
    effective_from: dt.date | None = None

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
        eff = doc["meta"].get("effective_from")
        if isinstance(eff, str):
            eff = dt.date.fromisoformat(eff)
        if isinstance(eff, dt.datetime) or not (eff is None or isinstance(eff, dt.date)):
            raise ValueError(f"effective_from: a date, not {eff!r}")
        policy = Policy(
            version=str(doc["meta"]["version"]),
            effective_from=eff,
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
    """A bureau's own policy file, or (no *path*) the newest packaged version."""
    if path is None:
        return _packaged().latest
    return parse_policy(read_toml("policy", DEFAULT_FILE, path))


@dataclass(frozen=True)
class PolicySet:
    """Every version of the policy, earliest first (by ``effective_from``)."""

    versions: tuple[Policy, ...]

    def __post_init__(self) -> None:
        if not self.versions:
            raise ConfigError("policy", "at least one policy version", [])
        labels = [p.version for p in self.versions]
        if len(set(labels)) != len(labels):
            raise ConfigError("meta.version", "one file per version", labels)
        dates = [p.effective_from for p in self.versions]
        if any(d is None for d in dates) and len(dates) > 1:
            raise ConfigError("meta.effective_from", "a date on every version", labels)
        if len(set(dates)) != len(dates):
            raise ConfigError(
                "meta.effective_from", "one version per date", [str(d) for d in dates]
            )
        ordered = tuple(sorted(self.versions, key=lambda p: p.effective_from or dt.date.min))
        object.__setattr__(self, "versions", ordered)

    @property
    def earliest(self) -> Policy:
        return self.versions[0]

    @property
    def latest(self) -> Policy:
        return self.versions[-1]

    def at(self, moment: dt.datetime | dt.date) -> Policy:
        """The version in force at *moment* (Beijing local time): the latest whose
        ``effective_from`` is on or before its date. A moment before every version gets the
        earliest (a documented choice: the platform had no other rule then)."""
        day = moment.date() if isinstance(moment, dt.datetime) else moment
        found = self.earliest
        for p in self.versions:
            if p.effective_from is None or p.effective_from <= day:
                found = p
        return found

    def get(self, version: str | None) -> Policy:
        """The version labelled *version*; ``None`` or ``""`` (a task opened before tasks
        recorded their version) → the earliest. An unknown label is refused, never guessed."""
        if not version:
            return self.earliest
        for p in self.versions:
            if p.version == version:
                return p
        raise ConfigError("policy_version", "a version of the enforcement policy", version)


def policy_set(policies_: Iterable[Policy]) -> PolicySet:
    return PolicySet(tuple(policies_))


@functools.cache
def _packaged() -> PolicySet:
    folder = resources.files("bishui.enforcement") / "data"
    names = sorted(f.name for f in folder.iterdir() if Path(f.name).match(FILE_PATTERN))
    return PolicySet(tuple(parse_policy(read_toml("policy", n)) for n in names))


def policies(directory: str | Path | None = None) -> PolicySet:
    """Every version: the packaged ones, or the ``enforcement_policy_*.toml`` of a bureau's
    own *directory*."""
    if directory is None:
        return _packaged()
    files = sorted(Path(directory).glob(FILE_PATTERN))
    if not files:
        raise ConfigError("policy", f"no {FILE_PATTERN} in the directory", str(directory))
    return PolicySet(tuple(parse_policy(read_toml("policy", f.name, f)) for f in files))
