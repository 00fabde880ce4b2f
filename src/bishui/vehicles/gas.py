"""Standard-gas comparison (标气比对): an analyser's reading of a certified gas against the
certified value, with tolerances as data.

Both readings the issue names are the same computation with a different ``kind``: the
station's daily self-check (the Henan interface's item 43, single-point zero / low / high gas,
daily, notes §A3 [V]) and the regulator's unannounced check with its own certified gas
(the Jingmen practice, notes §A3 [S]). The tolerances are two vendors' [S] values
(``data/gas_tolerances_vendors.csv``); HJ 1237-2021 was not consulted. A reading passes when it
is within the absolute **or** the relative tolerance (the vendors' dialogs show both; which one
governs is not stated — ``mode`` is a parameter [M], "either" by default).

An analyser failing a check invalidates its later tests until it passes again
(:func:`invalidated`); the drift of its relative error over time is a least-squares slope
(:func:`drift`).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt

TOLERANCE_FILE = "gas_tolerances_vendors.csv"
KINDS = {"self": "日常自检", "unannounced": "监管标气比对"}


@dataclass(frozen=True)
class GasCheck:
    analyser: str
    station: str
    at: dt.datetime
    kind: str  # self / unannounced
    level: str  # low / high
    certified: dict[str, float]
    measured: dict[str, float]


@cache
def tolerances() -> dict[tuple[str, str, str], tuple[float | None, float | None]]:
    text = resources.files("bishui.vehicles").joinpath("data", TOLERANCE_FILE).read_text("utf-8")
    rows = csv.DictReader(x for x in text.splitlines() if not x.startswith("#"))
    return {
        (r["tolerance_set"], r["gas"], r["level"]): (
            float(r["abs"]) if r["abs"] else None,
            float(r["rel"]) if r["rel"] else None,
        )
        for r in rows
    }


def judge(
    check: GasCheck, tolerance_set: str = "B", mode: str = "either"
) -> dict[str, dict[str, object]]:
    """Per gas: error, relative error, allowed, passed. ``mode`` "either" or "both"."""
    tol = tolerances()
    out: dict[str, dict[str, object]] = {}
    for gas, cert in check.certified.items():
        if gas not in check.measured:
            out[gas] = {"passed": False, "reason": "not measured"}
            continue
        a, r = tol.get((tolerance_set, gas, check.level), (None, None))
        err = check.measured[gas] - cert
        rel = err / cert if cert else float("nan")
        ok_a = a is not None and abs(err) <= a
        ok_r = r is not None and cert != 0 and abs(rel) <= r
        passed = (ok_a or ok_r) if mode == "either" else (ok_a or a is None) and (ok_r or r is None)
        out[gas] = {"error": err, "relative": rel, "abs_tol": a, "rel_tol": r, "passed": passed}
    return out


def passed(check: GasCheck, tolerance_set: str = "B", mode: str = "either") -> bool:
    return all(bool(v["passed"]) for v in judge(check, tolerance_set, mode).values())


def invalidated(
    check_times: npt.ArrayLike, check_ok: npt.ArrayLike, test_times: npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """For one analyser: which tests fall after a failed check and before the next passed one.

    Times as comparable numbers (e.g. epoch seconds); checks sorted by time.
    """
    ct = np.asarray(check_times, dtype=np.float64)
    ok = np.asarray(check_ok, dtype=bool)
    tt = np.asarray(test_times, dtype=np.float64)
    last = np.searchsorted(ct, tt, side="right") - 1  # the latest check at or before each test
    return (last >= 0) & ~ok[np.clip(last, 0, None)]


def missing_daily(
    check_days: npt.ArrayLike, first_test_days: npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """Days with tests but no self-check (notes §A3b rule 16): per day of tests, True if no
    check that day. Days as integers (e.g. ordinal)."""
    return ~np.isin(np.asarray(first_test_days), np.asarray(check_days))


def drift(times_days: npt.ArrayLike, relative_errors: npt.ArrayLike) -> float:
    """Least-squares slope of the relative error [1/day] (NaN with fewer than 3 checks)."""
    t = np.asarray(times_days, dtype=np.float64)
    e = np.asarray(relative_errors, dtype=np.float64)
    if t.size < 3 or np.ptp(t) == 0:
        return float("nan")
    return float(np.polyfit(t, e, 1)[0])
