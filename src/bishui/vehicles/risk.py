"""Station risk score and ranking: the platform's own weighting (docs/vehicles.md, [M]).

Score = Σ over findings of weight(rule) × severity factor, divided by the station's number of
tests (per 100 tests), so big and small stations compare. The weights are data
(:data:`WEIGHTS`), a deployment may change them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bishui.vehicles.model import Finding

SEVERITY = {"low": 1.0, "medium": 2.0, "high": 4.0}
WEIGHTS: dict[str, float] = {
    "CLONE": 3.0,
    "BB_EDITED": 3.0,
    "BB_EQUIPMENT": 3.0,
    "BB_CLOCK": 2.0,
    "BB_MISSING": 1.0,
    "VERDICT": 2.0,
    "RATED_POWER": 2.0,
    "OBD_SHARED": 2.0,
    "FAST_RETEST": 1.0,
    "HOURS": 1.0,
    "OXYGEN": 1.0,
    "REGULAR": 1.0,
    "PASS_RATE": 20.0,
    "GAS_FAIL": 5.0,
    "GAS_MISSING": 2.0,
    "PATROL": 10.0,
    "SEAL_BREAK": 3.0,  # [M] as an edited curve: the record cannot be trusted
    "PROBE_MOVED": 3.0,  # [M]
    "SELFCHECK_FAIL": 5.0,  # [M] as GAS_FAIL
    "SELFCHECK_MISSING": 2.0,  # [M] as GAS_MISSING
    "OLD_DIESEL": 10.0,  # [M] a station-day, not a test: weighted as PATROL
    "OBD_CLEARED": 2.0,  # [M] as RATED_POWER: one test's record cannot be trusted
}


def scores(
    findings: Sequence[Finding],
    tests: Mapping[str, int],
    weights: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Ranking rows (highest risk first): station, tests, findings per rule, score."""
    w = WEIGHTS if weights is None else weights
    rows: dict[str, dict[str, Any]] = {
        s: {"station": s, "tests": n, "by_rule": {}, "score": 0.0} for s, n in tests.items()
    }
    for f in findings:
        r = rows.setdefault(
            f.station, {"station": f.station, "tests": 0, "by_rule": {}, "score": 0.0}
        )
        by = r["by_rule"]
        assert isinstance(by, dict)
        by[f.rule_id] = by.get(f.rule_id, 0) + 1
        r["score"] = float(r["score"]) + w.get(f.rule_id, 1.0) * SEVERITY.get(f.severity, 1.0)
    for r in rows.values():
        r["score"] = round(100.0 * float(r["score"]) / max(int(r["tests"]), 1), 2)
    ranked = sorted(rows.values(), key=lambda r: (-float(r["score"]), str(r["station"])))
    for i, r in enumerate(ranked, 1):
        r["rank"] = i
    return ranked
