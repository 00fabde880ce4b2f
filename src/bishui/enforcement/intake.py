"""What an alert must carry to enter enforcement: :class:`AlertIn`, the intake contract.

Enforcement imports none of the domains that raise alerts. A producer — the source checks
(:mod:`bishui.sources`), the drinking-water supervision (:mod:`bishui.water`), the domains to
come — turns what it found into :class:`AlertIn` values (or hands objects that can make one,
:class:`AlertProducer`) and passes them to enforcement's intake
(:func:`bishui.enforcement.service.raise_alerts`,
:func:`bishui.enforcement.alerts.alerts_from_findings`).
The dependency points one way: producers → enforcement.

A producer also names its parameters for the titles enforcement writes (a task about a
drinking-water source says 氨氮, not ``w21003``): it registers a label function for its subject
kind with :func:`register_labels` (the water package does so when it is imported), and
enforcement asks :func:`label`. Without one, the code itself is the label.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from bishui.enforcement.tasks import INSPECTION_STATION, OUTLET, WATER_SOURCE
from bishui.store import Transaction

__all__ = [
    "INSPECTION_STATION", "OUTLET", "WATER_SOURCE", "AlertIn", "AlertProducer", "Outbox", "coerce",
    "label", "register_labels",
]  # fmt: skip


@dataclass(frozen=True)
class AlertIn:
    """One alert as a producer hands it in.

    ``key`` is the producer's stable identity of the event (the same event found twice has the
    same key, so it becomes one alert). ``subject_kind`` and ``site_code`` name the subject
    (an outlet of an enterprise: ``outlet_id`` and the enterprise's credit code ``uscc``; a
    drinking-water source: neither). ``rule_id`` and ``severity`` (``info``, ``low``, ``medium``,
    ``high``) decide alerting and tasking; ``start``/``end`` is the period; ``evidence`` is the
    JSON-ready record the producer keeps of what it saw (stored with the alert as its
    ``finding``, so the alert can be reproduced).

    ``region`` and ``subject_name`` are for producers that hand alerts in through an
    :class:`Outbox` (the drinking-water sources): the subject's region (scoping, team
    assignment) and its name (task titles). The source checks pass regions separately and
    leave both empty.
    """

    key: str
    rule_id: str
    severity: str
    site_code: str
    pollutant: str
    start: dt.datetime
    end: dt.datetime
    evidence: Mapping[str, Any] = field(default_factory=dict)
    outlet_id: str = ""
    uscc: str = ""
    subject_kind: str = OUTLET
    region: str | None = None
    subject_name: str = ""


@runtime_checkable
class AlertProducer(Protocol):
    """Anything that can state itself as an :class:`AlertIn` (e.g. a source-check finding)."""

    def alert_in(self) -> AlertIn: ...


class Outbox(Protocol):
    """A producer's store of alerts waiting to enter enforcement (the water supervision's
    ``water_alerts``). Enforcement reads it and marks it through these two methods, inside the
    one transaction in which it raises the alerts and tasks — so nothing is routed twice, and
    enforcement never reads the producer's tables itself.
    """

    def pending(self, tx: Transaction, now: dt.datetime) -> Sequence[AlertIn]:
        """The alerts not handed in yet, oldest first (the producer decides which and how many)."""
        ...

    def mark(self, tx: Transaction, routed: Mapping[str, str]) -> None:
        """Every alert :meth:`pending` returned has entered: ``key → enforcement alert id``
        (its own key, or the id of the live alert it continued)."""
        ...


def coerce(item: AlertIn | AlertProducer) -> AlertIn:
    """*item* as an :class:`AlertIn`."""
    return item if isinstance(item, AlertIn) else item.alert_in()


#: subject kind → the producer's parameter-code → name function
_LABELS: dict[str, Callable[[str], str]] = {}


def register_labels(subject_kind: str, names: Callable[[str], str]) -> None:
    """The producer of *subject_kind* alerts names its parameter codes with *names*."""
    _LABELS[subject_kind] = names


def label(subject_kind: str, code: str) -> str:
    """The name of parameter *code* as the producer of *subject_kind* alerts calls it."""
    names = _LABELS.get(subject_kind)
    return names(code) if names is not None else code
