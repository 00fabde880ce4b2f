"""HJ 212-2017 data flags (数据标记) as small integers, and run detection on boolean grids.

HJ 212-2017 §6.6.4 Table 8 (verified, notes C1): N normal; F instrument stopped (在线监控仪器
仪表停运 — *not* "source stopped", that was the 2005 meaning); M maintenance; S manually set
value; D instrument fault; C calibration; T above the measuring range; B communication failure.
Arrays of flags are ``uint8`` codes: the index in :data:`FLAG_CHARS`, and :data:`MISSING` for a
minute with no record.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: HJ 212-2017 Table 8 order, then "-" for no record.
FLAG_CHARS = "NFMSDCTB-"
N, F, M, S, D, C, T, B, MISSING = range(9)
N_FLAGS = len(FLAG_CHARS)


def encode(flags: ArrayLike) -> NDArray[np.uint8]:
    """Flag characters (any array shape) → ``uint8`` codes; unknown or empty → :data:`MISSING`."""
    arr = np.asarray(flags, dtype="U1")
    out = np.full(arr.shape, MISSING, dtype=np.uint8)
    for code, ch in enumerate(FLAG_CHARS[:-1]):
        out[arr == ch] = code
    return out


def codes(chars: Iterable[str]) -> NDArray[np.uint8]:
    """Codes of the given flag characters (e.g. a rule's ``valid_flags``)."""
    return np.array([FLAG_CHARS.index(c) for c in chars], dtype=np.uint8)


def runs(mask: NDArray[np.bool_]) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """Maximal runs of True along the last axis of a 2-D mask.

    Returns
    -------
    row, start, stop : ndarray of int
        One entry per run; positions ``start..stop-1`` of ``row`` are True.
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2:
        raise ValueError("mask must be 2-D (rows, positions)")
    padded = np.zeros((m.shape[0], m.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = m
    d = np.diff(padded, axis=1)
    # Row by row, changes alternate +1 (start) and −1 (stop), the padding closing every run;
    # so the row-major list of changes alternates start, stop across the whole array.
    row, col = np.divmod(np.flatnonzero(d), d.shape[1])
    return row[0::2], col[0::2], col[1::2]


def merge_runs(
    row: NDArray[np.intp], start: NDArray[np.intp], stop: NDArray[np.intp], gap: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """Merge runs on the same row separated by at most *gap* positions."""
    if gap <= 0 or len(row) == 0:
        return row, start, stop
    new = np.ones(len(row), dtype=bool)
    new[1:] = (row[1:] != row[:-1]) | (start[1:] - stop[:-1] > gap)
    first = np.nonzero(new)[0]
    last = np.r_[first[1:], len(row)] - 1
    return row[first], start[first], stop[last]


def filter_min_length(
    row: NDArray[np.intp], start: NDArray[np.intp], stop: NDArray[np.intp], min_len: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    keep = (stop - start) >= min_len
    return row[keep], start[keep], stop[keep]


def run_reduce(
    ufunc: np.ufunc,
    values: NDArray[np.float64],
    row: NDArray[np.intp],
    start: NDArray[np.intp],
    stop: NDArray[np.intp],
) -> NDArray[np.float64]:
    """``ufunc.reduce`` of ``values[row, start:stop]`` for every run, without a Python loop."""
    if len(row) == 0:
        return np.empty(0)
    width = values.shape[1]
    flat = np.concatenate([values.reshape(-1), [0.0]])
    idx = np.empty(2 * len(row), dtype=np.intp)
    idx[0::2] = row * width + start
    idx[1::2] = row * width + stop
    out: NDArray[np.float64] = ufunc.reduceat(flat, idx)[0::2]
    return out
