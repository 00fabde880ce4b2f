"""The model city's synthetic monitoring data: deterministic, vectorised, seeded.

Every value is a pure function of (seed, site, parameter, time), so the year of history and the
live stream the simulated loggers send join without a seam, and a run with the same seed
reproduces every figure. A series is built from

* a seasonal cycle and a daily cycle (PM and CO high in winter, O3 high on summer afternoons,
  NO2 peaking with the traffic hours, DO high in cold water …),
* slow "weather" variation (a sum of sinusoids of 2–15 days with seeded phases),
* hour-to-hour noise from a counter-based hash (so any hour can be computed alone),
* episodes: regional haze in winter, exceedances at outlets, a drinking-water source that
  degrades, and
* data faults: missing hours, flat-lined sensors, calibration (C) and maintenance (M) periods,
  plants stopped (F), and a few enterprises that fake their data.

Nothing here is real monitoring data, and every page and file that shows it says so.
The injected episodes and faults are returned as :class:`Event` records: the ground truth
against which the checks' detection and false-alarm rates are measured.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

HOUR = np.timedelta64(1, "h")
_TWO_PI = 2.0 * np.pi


@dataclass(frozen=True, slots=True)
class Event:
    """One injected episode or fault (ground truth for the checks)."""

    kind: str
    site_id: str
    parameter: str | None
    start: np.datetime64
    end: np.datetime64  # exclusive
    detail: str = ""


def key_of(*parts: object) -> np.uint64:
    """A stable 64-bit key for a tuple of names (independent of PYTHONHASHSEED)."""
    h = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(h, "little"))


def _mix(x: np.ndarray) -> np.ndarray:
    # splitmix64 finaliser: a bijective scramble of uint64 counters.
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def uniform(key: np.uint64, idx: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) numbers, one per integer counter in *idx*, for stream *key*."""
    with np.errstate(over="ignore"):
        x = _mix(idx.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + key)
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def normal(key: np.uint64, idx: np.ndarray) -> np.ndarray:
    """Standard normal numbers, one per counter (Box–Muller on two hashed uniforms)."""
    i = idx.astype(np.int64) * 2
    u1 = uniform(key, i)
    u2 = uniform(key, i + 1)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(_TWO_PI * u2)


def hours_of(times: np.ndarray) -> np.ndarray:
    """Hours since 1970-01-01T00 (Beijing time, as stored) for datetime64 times."""
    return times.astype("datetime64[h]").astype(np.int64)


def _doy_phase(hours: np.ndarray, peak_doy: float) -> np.ndarray:
    # cos(2π(doy − peak)/365.25): +1 on the peak day of the year, −1 half a year away.
    days = hours / 24.0
    return np.cos(_TWO_PI * ((days - 10.0) % 365.25 - peak_doy) / 365.25)


def weather(key: np.uint64, hours: np.ndarray, n: int = 6) -> np.ndarray:
    """Slow synoptic variation with unit variance: n sinusoids of 2–15 days, seeded phases."""
    k = np.arange(n)
    periods = 48.0 + (360.0 - 48.0) * uniform(key, k + 1000)
    phases = _TWO_PI * uniform(key, k + 2000)
    return np.sqrt(2.0 / n) * np.sin(
        _TWO_PI * hours[:, None] / periods[None, :] + phases[None, :]
    ).sum(axis=1)


def windows(
    key: np.uint64,
    hours: np.ndarray,
    per_year: float,
    min_len: int,
    max_len: int,
    weight_peak_doy: float | None = None,
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Seeded episode windows overlapping *hours*: (mask over hours, [(start, end) hours]).

    A window may start at any whole day; whether one does is a hashed coin with probability
    ``per_year / 365`` (weighted towards *weight_peak_doy* when given).
    """
    if hours.size == 0:
        return np.zeros(0, dtype=bool), []
    first_day = int(hours.min()) // 24 - (max_len // 24 + 1)
    last_day = int(hours.max()) // 24
    days = np.arange(first_day, last_day + 1)
    p = np.full(days.shape, per_year / 365.0)
    if weight_peak_doy is not None:
        p = p * (1.0 + _doy_phase(days * 24.0, weight_peak_doy))
    starts = days[uniform(key, days) < p]
    spans: list[tuple[int, int]] = []
    mask = np.zeros(hours.shape, dtype=bool)
    for d in starts:  # a handful a year: a loop over windows, not over hours
        start = int(d) * 24 + int(uniform(key, np.array([d + 7919]))[0] * 24)
        length = min_len + int(uniform(key, np.array([d + 15401]))[0] * (max_len - min_len + 1))
        end = start + length
        sel = (hours >= start) & (hours < end)
        if sel.any():
            mask |= sel
            spans.append((start, end))
    return mask, spans


def to_time(hour: int) -> np.datetime64:
    return np.datetime64(hour, "h").astype("datetime64[s]")
