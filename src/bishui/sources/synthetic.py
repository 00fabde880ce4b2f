"""Synthetic CEMS minute data for tests, benchmarks and the demo simulator.

Not a model of any real plant: a clean series is a load cycle plus AR(1) noise for the
concentration, O2 moving against load, flow following load, and a short daily calibration
(flag C). The ``inject_*`` functions write the episodes the checks must find, in place, and
return the minute span they wrote so a test can compare it with the finding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bishui.sources import flags as fl


@dataclass
class Block:
    """Minute data for ``(outlets, minutes)``: one pollutant, O2 and flow, with flags."""

    conc: NDArray[np.float64]
    conc_flags: NDArray[np.uint8]
    o2: NDArray[np.float64]
    o2_flags: NDArray[np.uint8]
    flow: NDArray[np.float64]
    flow_flags: NDArray[np.uint8]


def clean(
    outlets: int,
    days: int,
    seed: int,
    *,
    level: float = 60.0,
    o2: float = 8.0,
    flow: float = 300_000.0,
    calibration_minutes: int = 10,
) -> Block:
    """A clean block: concentration around *level* [mg/m³], O2 around *o2* [%], flow [m³/h].

    Calibration: *calibration_minutes* flagged C each day at 02:00 (values are calibration-gas
    readings, deliberately high, so a check that judged them would see exceedances).
    """
    rng = np.random.default_rng(seed)
    m = days * 1440
    t = np.arange(m)
    phase = rng.uniform(0, 2 * np.pi, size=(outlets, 1))
    load = 1 + 0.15 * np.sin(2 * np.pi * t / 1440 + phase)
    # AR(1) noise, vectorised over outlets: a cumulative filter via lfilter-like recursion in
    # blocks would be faster, but a plain geometric decay over a cumsum is enough here.
    eps = rng.normal(0, 1, size=(outlets, m))
    noise = _ar1(eps, 0.95) * 0.05
    conc = level * load * (1 + noise)
    o2v = o2 - 1.5 * (load - 1) / 0.15 * 0.3 + rng.normal(0, 0.1, size=(outlets, m))
    q = flow * load * (1 + rng.normal(0, 0.01, size=(outlets, m)))
    cflags = np.zeros((outlets, m), dtype=np.uint8)
    if calibration_minutes:
        cal = (t % 1440 >= 120) & (t % 1440 < 120 + calibration_minutes)
        cflags[:, cal] = fl.C
        conc[:, cal] = level * 3
    return Block(
        conc=np.round(conc, 2), conc_flags=cflags,
        o2=np.round(o2v, 2), o2_flags=np.zeros_like(cflags),
        flow=np.round(q, 0), flow_flags=np.zeros_like(cflags),
    )  # fmt: skip


def _ar1(eps: NDArray[np.float64], phi: float) -> NDArray[np.float64]:
    """x[t] = phi·x[t−1] + eps[t], computed in chunks of 64 steps with matrix powers."""
    o, m = eps.shape
    out = np.empty_like(eps)
    k = 64
    powers = phi ** np.arange(k)
    # Within a chunk: x[t] = phi^(t+1)·x0 + Σ phi^(t−j) eps[j]; a lower-triangular matrix does it.
    tri = np.tril(phi ** (np.arange(k)[:, None] - np.arange(k)[None, :]))
    x0 = np.zeros(o)
    for s in range(0, m, k):
        e = eps[:, s : s + k]
        n = e.shape[1]
        x = e @ tri[:n, :n].T + np.outer(x0, powers[:n] * phi)
        out[:, s : s + n] = x
        x0 = x[:, -1]
    scaled: NDArray[np.float64] = out * np.sqrt(1 - phi**2)
    return scaled


def inject_exceedance(b: Block, row: int, start: int, minutes: int, value: float) -> slice:
    s = slice(start, start + minutes)
    b.conc[row, s] = value
    return s


def inject_flatline(b: Block, row: int, start: int, minutes: int, value: float) -> slice:
    s = slice(start, start + minutes)
    b.conc[row, s] = value
    return s


def inject_zero_flow(b: Block, row: int, start: int, minutes: int) -> slice:
    s = slice(start, start + minutes)
    b.flow[row, s] = 0.0
    return s


def inject_zero_concentration(b: Block, row: int, start: int, minutes: int) -> slice:
    s = slice(start, start + minutes)
    b.conc[row, s] = 0.0
    return s


def inject_dilution(b: Block, row: int, start: int, hours: int) -> slice:
    """O2 climbs 1 point per hour while the concentration falls 15 % per hour."""
    s = slice(start, start + hours * 60)
    ramp = np.repeat(np.arange(hours, dtype=float), 60)
    b.o2[row, s] = b.o2[row, start] + ramp
    b.conc[row, s] = b.conc[row, start] * (1 - 0.15 * ramp)
    return s


def inject_flags(b: Block, row: int, start: int, minutes: int, flag: int) -> slice:
    s = slice(start, start + minutes)
    b.conc_flags[row, s] = flag
    return s


def inject_twin(b: Block, src: int, dst: int, day: int, offset: float = 0.0) -> slice:
    s = slice(day * 1440, (day + 1) * 1440)
    b.conc[dst, s] = b.conc[src, s] + offset
    b.conc_flags[dst, s] = b.conc_flags[src, s]
    return s


def inject_gap_before_exceedance(
    b: Block, row: int, start: int, limit: float, gap: int, lookback: int = 15
) -> slice:
    """Values ramp up to 95 % of *limit* over *lookback* minutes, then the data stop."""
    b.conc[row, start - lookback : start] = np.linspace(0.9, 0.99, lookback) * limit
    b.conc_flags[row, start - lookback : start] = fl.N
    s = slice(start, start + gap)
    b.conc[row, s] = np.nan
    b.conc_flags[row, s] = fl.MISSING
    return s
