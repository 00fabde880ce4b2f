"""The black box: the lane device's own capture of the instruments' raw signals compared with
the station's submitted record, second by second.

Xi'an's 定期检测防作弊监控系统 captures the test equipment's raw data and compares it with the
result the station submits (notes §A3, [V]); the 2025 national opinion adds sealed interfaces
(明管明线). The method here is the platform's own (docs/vehicles.md): the clock offset between
the two records is estimated by normalised cross-correlation over a window of lags, the records
are aligned, and then

* ``BB_MISSING`` — no capture, or the capture lacks more seconds than allowed (dropouts);
* ``BB_CLOCK`` — the station's record is shifted against the box by more than allowed;
* ``BB_EDITED`` — after alignment, too many seconds differ beyond the tolerance;
* ``BB_EQUIPMENT`` — the analyser the box read is not the one the station names or registered.

All thresholds are parameters tagged [M] (the sources give none).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bishui.vehicles.model import EMISSION_CHANNELS, Capture, Finding, FloatArray, Inspection


@dataclass(frozen=True)
class BoxParams:
    max_lag_s: int = 60  # [M] window of the skew search
    skew_tol_s: int = 1  # [M] shift tolerated (the two clocks tick separately)
    max_dropout_share: float = 0.05  # [M] share of seconds the box may miss
    abs_tol: float = 0.02  # [M] per-second difference tolerated, absolute …
    rel_tol: float = 0.03  # [M] … or relative to the box value
    max_edited_share: float = 0.02  # [M] share of seconds allowed to differ


def estimate_skew(
    station: FloatArray, box: FloatArray, max_lag: int, tie: float = 1e-9
) -> tuple[int, float]:
    """The lag *L* (seconds) maximising the normalised correlation of ``station[i]`` with
    ``box[i + L]``, and that correlation. NaN seconds (dropouts) are left out."""
    a = np.nan_to_num(station - np.nanmean(station))
    b = np.nan_to_num(box - np.nanmean(box))
    wa = np.isfinite(station).astype(np.float64)
    wb = np.isfinite(box).astype(np.float64)
    full = np.correlate(b, a, mode="full")  # index k ↔ lag k - (len(a) - 1)
    aa = np.correlate(wb, a * a, mode="full")
    bb = np.correlate(b * b, wa, mode="full")
    lags = np.arange(full.size) - (a.size - 1)
    overlap = np.correlate(wb, wa, mode="full")
    keep = (np.abs(lags) <= max_lag) & (overlap >= 0.5 * min(int(wa.sum()), int(wb.sum())))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = full / np.sqrt(aa * bb)
    r = np.where(keep & np.isfinite(r), r, -np.inf)
    k = int(np.argmax(r))
    zero = int(np.flatnonzero(lags == 0)[0])
    if r[zero] >= r[k] - tie:  # no shift unless another lag correlates clearly better
        k = zero
    return int(lags[k]), float(r[k])


def align(station: FloatArray, box: FloatArray, lag: int) -> tuple[FloatArray, FloatArray]:
    """The overlapping seconds of ``station[i]`` and ``box[i + lag]``."""
    if lag >= 0:
        n = min(station.size, box.size - lag)
        return station[:n], box[lag : lag + n]
    n = min(station.size + lag, box.size)
    return station[-lag : -lag + n], box[:n]


def compare(
    insp: Inspection, cap: Capture | None, registered_analyser: str = "", p: BoxParams | None = None
) -> list[Finding]:
    """The black-box findings of one inspection."""
    p = p or BoxParams()
    f: list[Finding] = []

    def add(rule: str, sev: str, ev: Mapping[str, object]) -> None:
        f.append(Finding(rule, sev, insp.station, insp.id, dict(ev), insp.start))

    if cap is None:
        add("BB_MISSING", "high", {"reason": "no capture", "seconds": insp.seconds})
        return f
    chans = [c for c in EMISSION_CHANNELS[insp.method] if c in insp.curve and c in cap.curve]
    ref = chans[0]
    box = cap.curve[ref]
    dropped = int(np.isnan(box).sum()) + max(0, insp.seconds - box.size)
    if dropped > p.max_dropout_share * max(insp.seconds, 1):
        add(
            "BB_MISSING",
            "medium",
            {"reason": "dropouts", "missing_s": dropped, "seconds": insp.seconds},
        )
    lag, r = estimate_skew(insp.curve[ref], box, p.max_lag_s)
    start_diff = (cap.start - insp.start).total_seconds()
    if abs(lag) > p.skew_tol_s:
        add(
            "BB_CLOCK",
            "high",
            {
                "lag_s": lag,
                "correlation": round(r, 4),
                "start_difference_s": start_diff,
                "channel": ref,
            },
        )
    edited: dict[str, int] = {}
    compared = 0
    for ch in chans:
        s, b = align(insp.curve[ch], cap.curve[ch], lag)
        ok = np.isfinite(b)
        diff = np.abs(s[ok] - b[ok]) > np.maximum(p.abs_tol, p.rel_tol * np.abs(b[ok]))
        compared = max(compared, int(ok.sum()))
        if int(diff.sum()):
            edited[ch] = int(diff.sum())
    worst = max(edited.values(), default=0)
    if compared and worst > p.max_edited_share * compared:
        add(
            "BB_EDITED",
            "high",
            {"seconds_differing": edited, "seconds_compared": compared, "lag_s": lag},
        )
    expected = registered_analyser or insp.analyser
    if (cap.analyser and cap.analyser not in {insp.analyser, expected}) or (
        registered_analyser and cap.analyser != registered_analyser
    ):
        add(
            "BB_EQUIPMENT",
            "high",
            {
                "box_read": cap.analyser,
                "station_named": insp.analyser,
                "registered": registered_analyser,
            },
        )
    return f


# --- the box's event channels (notes §A3b rules 18, 20) -----------------------------------
#: Event channels a box may add to its capture beside the instrument signals: ``seal`` — the
#: electronic seals on the sampling line and instrument interfaces, 1 intact / 0 broken, one
#: value a second (notes §A3b rule 20 [V], the 2025 "明管明线" opinion: physical + electronic
#: seals, seal-break events logged against the registered device); ``probe_deg`` — the sampling
#: probe holder's attitude in degrees (notes §A3b rule 18 [V], a patent's attitude sensor on the
#: collector). The channel names are the platform's own [M].
SEAL, PROBE = "seal", "probe_deg"


@dataclass(frozen=True)
class EventParams:
    probe_move_deg: float = 20.0  # [M] attitude change during a test that means "pulled out"


def event_findings(
    insp: Inspection, cap: Capture | None, p: EventParams | None = None
) -> list[Finding]:
    """SEAL_BREAK: a seal reported broken during the test (high). PROBE_MOVED: the probe
    holder's attitude changed by more than ``probe_move_deg`` within the test (high). Silent
    when the box sends no event channel (the evidence is absent, not clean)."""
    p = p or EventParams()
    out: list[Finding] = []
    if cap is None:
        return out
    seal = cap.curve.get(SEAL)
    if seal is not None:
        broken = np.flatnonzero(np.isfinite(seal) & (seal < 0.5))
        if broken.size:
            out.append(Finding("SEAL_BREAK", "high", insp.station, insp.id,
                               {"first_s": int(broken[0]), "seconds_broken": int(broken.size),
                                "box": cap.box_serial}, insp.start))  # fmt: skip
    att = cap.curve.get(PROBE)
    if att is not None:
        ok = att[np.isfinite(att)]
        if ok.size and float(ok.max() - ok.min()) > p.probe_move_deg:
            out.append(Finding("PROBE_MOVED", "high", insp.station, insp.id,
                               {"range_deg": round(float(ok.max() - ok.min()), 1),
                                "limit_deg": p.probe_move_deg, "box": cap.box_serial},
                               insp.start))  # fmt: skip
    return out
