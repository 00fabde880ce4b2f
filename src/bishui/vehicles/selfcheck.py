"""Daily equipment self-checks beyond the standard gas: dynamometer coast-down, analyser leak
check, opacimeter zero — and the tests a failed check invalidates.

Items and frequencies: the Henan supervision interface's own comments (notes §A3 [V]): 31/34
dynamometer coast-down (gasoline / diesel line) daily at start-up, 42 analyser leak check daily,
71 opacimeter check daily (72 before every test). The coast-down is judged here: the relative
error of the actual against the calculated coast-down time (ACDT vs CCDT) within 7.00 % — a
vendor's dialog (notes §A3, sinq123/OBD ``NHCConstLoadDlg.cpp``) [S], a parameter. The leak check
and the opacimeter zero carry no threshold in the notes: their verdict is the instrument's own
``passed`` flag as uploaded [M].

As for the gas check (:func:`bishui.vehicles.gas.invalidated`, the same vectorised search): a
device failing its check invalidates the later tests that use it until it passes again —
the dynamometer the lane's loaded methods (ASM, VMAS, lug-down), the analyser the gas methods
(two-speed idle, ASM, VMAS), the opacimeter the diesel methods (free acceleration, lug-down). A
lane testing on a day without that day's check of a device it used is ``SELFCHECK_MISSING``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bishui.errors import InputError
from bishui.vehicles.gas import invalidated
from bishui.vehicles.model import ASM, FREE_ACCEL, LUG_DOWN, TSI, VMAS, Finding, Inspection

#: item → (Chinese name, device kind, the methods that use the device)
ITEMS: dict[str, tuple[str, str, frozenset[str]]] = {
    "coastdown": ("测功机滑行检查", "dynamometer", frozenset({ASM, VMAS, LUG_DOWN})),
    "leak": ("分析仪泄漏检查", "analyser", frozenset({TSI, ASM, VMAS})),
    "opacity_zero": ("不透光烟度计零点检查", "opacimeter", frozenset({FREE_ACCEL, LUG_DOWN})),
}


@dataclass(frozen=True)
class SelfCheck:
    """One self-check of a lane's device: ``item`` (:data:`ITEMS`); for a coast-down the
    calculated and actual coast-down times [s]; for the others the instrument's verdict."""

    station: str
    lane: str
    item: str
    at: dt.datetime
    ccdt_s: float | None = None
    acdt_s: float | None = None
    device_passed: bool | None = None

    def __post_init__(self) -> None:
        if self.item not in ITEMS:
            raise InputError("item", f"one of {sorted(ITEMS)}", self.item)
        if self.item == "coastdown" and not (self.ccdt_s and self.acdt_s is not None):
            raise InputError("ccdt_s", "a coast-down names CCDT and ACDT", self.ccdt_s)
        if self.item != "coastdown" and self.device_passed is None:
            raise InputError("device_passed", "the instrument's verdict", None)


@dataclass(frozen=True)
class SelfCheckParams:
    coastdown_rel_tol: float = 0.07  # [S] a vendor's dialog (notes §A3), 7.00 %


def passed(c: SelfCheck, p: SelfCheckParams | None = None) -> bool:
    p = p or SelfCheckParams()
    if c.item == "coastdown":
        assert c.ccdt_s and c.acdt_s is not None
        return abs(c.acdt_s - c.ccdt_s) / c.ccdt_s <= p.coastdown_rel_tol
    return bool(c.device_passed)


def findings(
    checks: Sequence[SelfCheck], tests: Sequence[Inspection], p: SelfCheckParams | None = None,
    *, require_daily: bool = True,
) -> list[Finding]:  # fmt: skip
    """SELFCHECK_FAIL (high): a test on a lane after its device's failed check and before the
    next passed one. SELFCHECK_MISSING (medium): a lane's first test of a day using a device
    with no check of that item earlier that day (only with *require_daily*)."""
    p = p or SelfCheckParams()
    out: list[Finding] = []
    for item, (name, device, methods) in ITEMS.items():
        by_lane: dict[str, list[SelfCheck]] = {}
        for c in checks:
            if c.item == item:
                by_lane.setdefault(c.lane, []).append(c)
        lanes = {t.lane for t in tests if t.method in methods}
        for lane in sorted(lanes):
            ts = sorted((t for t in tests if t.lane == lane and t.method in methods),
                        key=lambda t: t.start)  # fmt: skip
            cs = sorted(by_lane.get(lane, []), key=lambda c: c.at)
            ct = np.array([c.at.timestamp() for c in cs], dtype=np.float64)
            ok = np.array([passed(c, p) for c in cs], dtype=bool)
            tt = np.array([t.start.timestamp() for t in ts], dtype=np.float64)
            bad = invalidated(ct, ok, tt) if cs else np.zeros(len(ts), dtype=bool)
            for t, b in zip(ts, bad, strict=True):
                if b:
                    last = cs[int(np.searchsorted(ct, t.start.timestamp(), side="right")) - 1]
                    out.append(Finding("SELFCHECK_FAIL", "high", t.station, t.id,
                                       {"item": item, "name": name, "device": device,
                                        "check_at": last.at.isoformat()}, t.start))  # fmt: skip
            if require_daily:
                seen: set[dt.date] = set()
                for t in ts:
                    d = t.start.date()
                    if d in seen:
                        continue
                    seen.add(d)
                    if not any(c.at.date() == d and c.at <= t.start for c in cs):
                        out.append(Finding("SELFCHECK_MISSING", "medium", t.station, t.id,
                                           {"item": item, "name": name, "day": d.isoformat()},
                                           t.start))  # fmt: skip
    return out
