"""What every source check returns: a :class:`Finding` that can be reproduced.

A finding names the rule (id, the rule's version, the rule-set version), its severity, the
outlet and pollutant, the time span ``[start, end)``, the measured figures, the parameters the
rule ran with, and the data points that show it (:class:`EvidencePoint`). Re-running the rule
with those parameters over those points gives the same finding (issue 6).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from bishui.enforcement.intake import AlertIn
from bishui.sources.rules import Rule


class OutletRef(NamedTuple):
    """An outlet as the data know it: site code (permit number without the identifier)."""

    site_code: str
    outlet_id: str


@dataclass(frozen=True)
class EvidencePoint:
    """One data point behind a finding: time, value [channel unit], HJ 212 flag, channel."""

    time: dt.datetime
    value: float
    flag: str = "N"
    channel: str = ""


@dataclass(frozen=True)
class Finding:
    rule_id: str
    rule_version: str
    ruleset_version: str
    severity: str
    outlet: OutletRef
    pollutant: str
    start: dt.datetime
    end: dt.datetime
    measured: Mapping[str, Any]
    evidence: tuple[EvidencePoint, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    permit_no: str = ""
    permit_version: int = 0
    message: str = ""

    @property
    def key(self) -> str:
        """Stable identity: the same event found twice has the same key (alert dedupe)."""
        text = "|".join(
            (self.rule_id, self.rule_version, self.outlet.site_code, self.outlet.outlet_id,
             self.pollutant, self.start.isoformat(), self.end.isoformat())
        )  # fmt: skip
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def alert_in(self) -> AlertIn:
        """This finding as enforcement's intake takes it. The enterprise is the site code's
        first 18 characters (its credit code, HJ 608-2017)."""
        site = self.outlet.site_code
        return AlertIn(
            key=self.key, rule_id=self.rule_id, severity=self.severity, site_code=site,
            pollutant=self.pollutant, start=self.start, end=self.end, evidence=self.as_dict(),
            outlet_id=self.outlet.outlet_id, uscc=site[:18],
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the API and the store."""
        return {
            "key": self.key,
            "rule_id": self.rule_id,
            "rule_version": self.rule_version,
            "ruleset_version": self.ruleset_version,
            "severity": self.severity,
            "site_code": self.outlet.site_code,
            "outlet_id": self.outlet.outlet_id,
            "pollutant": self.pollutant,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "measured": dict(self.measured),
            "params": {k: (list(v) if isinstance(v, tuple | list) else v)
                       for k, v in self.params.items()},
            "evidence": [
                {"time": e.time.isoformat(), "value": e.value, "flag": e.flag,
                 "channel": e.channel}
                for e in self.evidence
            ],
            "permit_no": self.permit_no,
            "permit_version": self.permit_version,
            "message": self.message,
        }  # fmt: skip


def make(
    rule: Rule,
    ruleset_version: str,
    outlet: OutletRef,
    pollutant: str,
    start: dt.datetime,
    end: dt.datetime,
    measured: Mapping[str, Any],
    evidence: Sequence[EvidencePoint] = (),
    *,
    severity: str | None = None,
    permit_no: str = "",
    permit_version: int = 0,
    message: str = "",
) -> Finding:
    """Build a finding from a rule, copying its identity, version and parameters."""
    return Finding(
        rule_id=rule.id,
        rule_version=rule.version,
        ruleset_version=ruleset_version,
        severity=severity or rule.severity,
        outlet=outlet,
        pollutant=pollutant,
        start=start,
        end=end,
        measured={k: _plain(v) for k, v in measured.items()},
        evidence=tuple(evidence),
        params=dict(rule.params),
        permit_no=permit_no,
        permit_version=permit_version,
        message=message or rule.title,
    )


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def evidence_points(
    start: dt.datetime,
    step: dt.timedelta,
    values: NDArray[np.float64],
    flags: NDArray[np.uint8] | None,
    first: int,
    stop: int,
    channel: str,
    max_points: int = 0,
) -> tuple[EvidencePoint, ...]:
    """Evidence points for positions ``first..stop-1`` of one row (all, or ``max_points``
    spread evenly over the span keeping the first and last)."""
    from bishui.sources.flags import FLAG_CHARS

    idx = np.arange(first, stop)
    if max_points and len(idx) > max_points:
        idx = np.unique(np.linspace(first, stop - 1, max_points).round().astype(np.int64))
    return tuple(
        EvidencePoint(
            time=start + step * int(i),
            value=float(values[i]),
            flag=FLAG_CHARS[int(flags[i])] if flags is not None else "N",
            channel=channel,
        )
        for i in idx
    )
