"""A citizen report (公众举报): its state machine, follow-up code and the checks it passes.

Sources (governance notes §4): reports may come by letter, fax, email, 12369 or a website and
must be investigated, the result told to the reporter and the reporter protected
(《环境保护公众参与办法》, 环境保护部令第35号 [S]; 《环境保护法》 Art. 57 [V]); the 12369 rules
(环境保护部令第15号) take every report ("有报必接、违法必查") and tell the reporter within 15 days
whether it is accepted [S]. The notes give no rule for a web form's follow-up code, its
length or the states a reporter sees: those are bishui's choices, in
``data/participation_*.toml`` and ``docs/governance.md``.

States a reporter sees (``received`` → ``accepted`` → ``in_progress`` → ``closed``):

=============  =================  ==============  ==============================================
from           event              to              by
=============  =================  ==============  ==============================================
received       accept             accepted        staff triage: the report becomes an alert
received       reject             closed          staff triage, with a reason category
accepted       task_opened        in_progress     enforcement opened a task for the alert
accepted       alert_dismissed    closed          enforcement dismissed the alert (no task)
in_progress    task_closed        closed          the task closed (its disposal is the outcome)
closed         task_reopened      in_progress     the task was reopened
=============  =================  ==============  ==============================================

Everything else is refused (:class:`ReportRefused`). Only ``accept`` and ``reject`` are
staff actions; the other events follow the enforcement loop (:func:`bishui.participation.
service.sync`).
"""

from __future__ import annotations

import hashlib
import math
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any

from bishui.enforcement import evidence
from bishui.errors import ConfigError, ConflictError, InputError, TooLarge


class State(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class Event(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    TASK_OPENED = "task_opened"
    ALERT_DISMISSED = "alert_dismissed"
    TASK_CLOSED = "task_closed"
    TASK_REOPENED = "task_reopened"


S, E = State, Event

#: (state, event) → next state. The whole machine; nothing else moves a report.
TRANSITIONS: dict[tuple[State, Event], State] = {
    (S.RECEIVED, E.ACCEPT): S.ACCEPTED,
    (S.RECEIVED, E.REJECT): S.CLOSED,
    (S.ACCEPTED, E.TASK_OPENED): S.IN_PROGRESS,
    (S.ACCEPTED, E.ALERT_DISMISSED): S.CLOSED,
    (S.IN_PROGRESS, E.TASK_CLOSED): S.CLOSED,
    (S.CLOSED, E.TASK_REOPENED): S.IN_PROGRESS,
}

#: Events a person takes (the rest follow enforcement).
STAFF_EVENTS = frozenset({E.ACCEPT, E.REJECT})

#: Public labels of the states (zh, en).
STATE_LABELS: dict[State, tuple[str, str]] = {
    S.RECEIVED: ("已收到，待受理", "received"),
    S.ACCEPTED: ("已受理，转为告警", "accepted as an alert"),
    S.IN_PROGRESS: ("已立任务，正在核查处理", "task in progress"),
    S.CLOSED: ("已办结", "closed"),
}

#: Public labels of an outcome (the task's disposal kind, or why there was none) (zh, en).
OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "penalty": ("查实，已依法行政处罚", "substantiated: penalised"),
    "rectification_order": ("查实，已责令整改", "substantiated: rectification ordered"),
    "false_alarm": ("经现场核查，未发现违法行为", "checked on site: no violation found"),
    "not_substantiated": ("经核查，不需立案", "checked: no case needed"),
}


class ReportRefused(ConflictError):
    """An event the report's state does not allow."""

    def __init__(self, report_id: str, state: State, event: Event) -> None:
        self.report_id, self.state, self.event = report_id, state, event
        super().__init__(f"report {report_id}: {event} from {state} refused")


def step(report_id: str, state: State, event: Event) -> State:
    """The state after *event*, or :class:`ReportRefused`."""
    nxt = TRANSITIONS.get((State(state), Event(event)))
    if nxt is None:
        raise ReportRefused(report_id, State(state), Event(event))
    return nxt


# ------------------------------------------------------------------------- rules (data file)
@dataclass(frozen=True)
class Rules:
    """The choices of ``data/participation_*.toml`` (see its comments)."""

    version: str
    description_min: int
    description_max: int
    contact_max: int
    code_length: int
    code_alphabet: str
    lat_range: tuple[float, float]
    lon_range: tuple[float, float]
    default_severity: str
    reject_reasons: Mapping[str, tuple[str, str]]
    disclosed_disposals: tuple[str, ...]


DEFAULT_RULES = "participation_2026.12-1.toml"


def parse_rules(doc: Mapping[str, Any]) -> Rules:
    try:
        r = doc["report"]
        rules = Rules(
            version=str(doc["meta"]["version"]),
            description_min=int(r["description_min"]),
            description_max=int(r["description_max"]),
            contact_max=int(r["contact_max"]),
            code_length=int(r["code_length"]),
            code_alphabet=str(r["code_alphabet"]),
            lat_range=(float(r["lat_min"]), float(r["lat_max"])),
            lon_range=(float(r["lon_min"]), float(r["lon_max"])),
            default_severity=str(r["default_severity"]),
            reject_reasons={
                str(k): (str(v[0]), str(v[1])) for k, v in doc["reject_reasons"].items()
            },
            disclosed_disposals=tuple(str(d) for d in doc["disclosure"]["disposals"]),
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ConfigError("participation", "the keys of participation_*.toml", str(exc)) from exc
    if len(set(rules.code_alphabet)) ** rules.code_length < 2**50:
        raise ConfigError("report.code_length", "a code space of at least 2^50", rules.code_length)
    if not 1 <= rules.description_min <= rules.description_max <= 20_000:
        raise ConfigError("report.description_max", "1 ≤ min ≤ max ≤ 20000", rules.description_max)
    return rules


def load_rules(path: str | None = None) -> Rules:
    """The packaged rules, or those of the TOML file at *path*."""
    if path:
        with open(path, "rb") as f:
            return parse_rules(tomllib.load(f))
    text = (resources.files("bishui.participation") / "data" / DEFAULT_RULES).read_text("utf-8")
    return parse_rules(tomllib.loads(text))


# ------------------------------------------------------------------------- the follow-up code
def new_code(rules: Rules) -> str:
    """A fresh follow-up code: ``code_length`` characters drawn by :mod:`secrets`."""
    return "".join(secrets.choice(rules.code_alphabet) for _ in range(rules.code_length))


def normalise_code(text: str, rules: Rules) -> str:
    """A code as typed (lower case, spaces, dashes) → its canonical form, or InputError."""
    code = "".join(ch for ch in text.upper() if ch not in " -")
    if len(code) != rules.code_length or any(ch not in rules.code_alphabet for ch in code):
        raise InputError(
            "code", f"{rules.code_length} characters of {rules.code_alphabet}", text[:40]
        )
    return code


def code_hash(code: str) -> str:
    """What the store keeps of a code: its SHA-256 (a copy of the table does not give the
    codes away)."""
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def grouped(code: str) -> str:
    """``ABCD-EFGH-JKLM``: easier to read out and copy."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


# ------------------------------------------------------------------------- a submission
#: Photo media types accepted (their first bytes are checked by enforcement's evidence
#: signatures, :data:`bishui.enforcement.evidence.MEDIA_TYPES`).
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")


@dataclass(frozen=True)
class Submission:
    """A checked report as it will be stored."""

    lat: float
    lon: float
    description: str
    contact: str
    photo: bytes | None
    photo_type: str


def _text(value: str, name: str, low: int, high: int) -> str:
    text = " ".join(value.replace("\x00", "").split()) if name == "contact" else value.strip()
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        raise InputError(name, "no control characters", text[:40])
    if not low <= len(text) <= high:
        raise InputError(name, f"{low}–{high} characters", len(text))
    return text


def sniff_photo(content: bytes) -> str | None:
    """The photo's media type judged from its first bytes (never from its name), or None."""
    for mt in PHOTO_TYPES:
        if evidence.MEDIA_TYPES[mt][1](content):
            return mt
    return None


def check_submission(
    rules: Rules, lat: Any, lon: Any, description: str, contact: str = "",
    photo: bytes | None = None, declared_type: str = "", max_photo_bytes: int = 5 * 1024 * 1024,
) -> Submission:  # fmt: skip
    """Check a report as sent; every refusal names its field, rule and value.

    The photo's bytes decide its type: they must be JPEG, PNG or WebP by their signature,
    and the declared type (if any) must agree — a script or page renamed ``.jpg`` is refused.
    """
    coords = []
    for name, value, (low, high) in (("lat", lat, rules.lat_range), ("lon", lon, rules.lon_range)):
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise InputError(name, "a number (WGS 84 degrees)", str(value)[:40]) from None
        if not math.isfinite(v) or not low <= v <= high:
            raise InputError(name, f"within the city: {low}–{high}", str(value)[:40])
        coords.append(round(v, 6))
    text = _text(description, "description", rules.description_min, rules.description_max)
    who = _text(contact, "contact", 0, rules.contact_max)
    mt = ""
    if photo:
        if len(photo) > max_photo_bytes:
            raise TooLarge("photo", f"at most {max_photo_bytes} bytes", len(photo))
        mt = sniff_photo(photo) or ""
        if not mt:
            raise InputError("photo", "a JPEG, PNG or WebP image (by its content)", declared_type)
        declared = declared_type.split(";")[0].strip().lower()
        if declared and declared not in ("application/octet-stream", mt):
            raise InputError("photo", f"content is {mt}; declared type must agree", declared)
    return Submission(coords[0], coords[1], text, who, photo or None, mt)


# ------------------------------------------------------------------------- the public view
def public_view(
    report: Mapping[str, Any], events: list[Mapping[str, Any]], lang: str = "zh"
) -> dict[str, Any]:
    """What the reporter sees: the state, its label, the dates of each step and the outcome
    — no staff names, no contact, no task or alert ids, no free text written by staff."""
    i = 0 if lang == "zh" else 1
    rules_reasons = report.get("reason_labels") or {}
    state = State(report["state"])
    outcome = report.get("outcome") or ""
    if outcome.startswith("rejected:"):
        key = outcome.split(":", 1)[1]
        label = rules_reasons.get(key, (key, key))[i]
        outcome_label = ("不予受理：" if i == 0 else "not accepted: ") + label
    else:
        outcome_label = OUTCOME_LABELS.get(outcome, ("", ""))[i] if outcome else ""
    return {
        "state": str(state),
        "state_label": STATE_LABELS[state][i],
        "submitted": report["created"].isoformat(timespec="minutes"),
        "region": report.get("region_name") or "",
        "outcome": outcome,
        "outcome_label": outcome_label,
        "steps": [
            {
                "state": e["to_state"],
                "label": STATE_LABELS[State(e["to_state"])][i],
                "at": e["ts"].isoformat(timespec="minutes"),
            }
            for e in events
        ],
    }
