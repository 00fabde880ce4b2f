"""The old-vehicle register (黄标车 / 国三及以下): vehicles to eliminate, deadlines, status,
evidence of scrapping, progress by county.

Which vehicles belong on it is the deployment's rule (a maximum emission stage per fuel,
:data:`DEFAULT_MAX_STAGE`): 黄标车 are commonly gasoline vehicles below 国一 and diesel vehicles
below 国三, and Jingmen's plan names elimination of 黄标车 (issue 19); the stages are a
parameter [M] because the notes give no text for them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bishui.errors import InputError

STATUSES = {
    "pending": "待淘汰",
    "scrapped": "已报废",
    "transferred": "已转出",
    "deregistered": "已注销",
}
DONE = frozenset({"scrapped", "transferred", "deregistered"})
#: fuel → the highest 国 stage still on the register [M]
DEFAULT_MAX_STAGE = {"gasoline": 0, "diesel": 2}
#: the register's own scope for 国三及以下 (国三 and below, every fuel) [M]
NATIONAL_III_OR_BELOW = 3


@dataclass(frozen=True)
class OldVehicle:
    vin: str
    plate: str
    region: str
    fuel: str
    stage: int
    deadline: dt.date
    status: str = "pending"
    evidence: str = ""  # scrap certificate number (报废证明编号) or transfer record
    closed: dt.date | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise InputError("status", f"one of {sorted(STATUSES)}", self.status)
        if self.status in DONE and not self.evidence:
            raise InputError("evidence", "a closed entry needs its evidence", self.evidence)


def eligible(fuel: str, stage: int, max_stage: dict[str, int] | None = None) -> bool:
    return stage <= (DEFAULT_MAX_STAGE if max_stage is None else max_stage).get(fuel, -1)


def progress(entries: Iterable[OldVehicle], today: dt.date) -> list[dict[str, Any]]:
    """Per county: total, done, pending, overdue, share done in per mille (integer, exact
    floor of 1000·done/total)."""
    by: dict[str, dict[str, int]] = {}
    for e in entries:
        r = by.setdefault(e.region, {"total": 0, "done": 0, "pending": 0, "overdue": 0})
        r["total"] += 1
        if e.status in DONE:
            r["done"] += 1
        else:
            r["pending"] += 1
            if e.deadline < today:
                r["overdue"] += 1
    return [
        {"region": k, **v, "done_permille": 1000 * v["done"] // v["total"]}
        for k, v in sorted(by.items())
    ]


def close(e: OldVehicle, status: str, evidence: str, on: dt.date) -> OldVehicle:
    if status not in DONE:
        raise InputError("status", f"one of {sorted(DONE)}", status)
    if not evidence.strip():
        raise InputError("evidence", "required", evidence)
    return OldVehicle(
        e.vin, e.plate, e.region, e.fuel, e.stage, e.deadline, status, evidence.strip(), on
    )


def overdue(entries: Sequence[OldVehicle], today: dt.date) -> list[OldVehicle]:
    return [e for e in entries if e.status not in DONE and e.deadline < today]
