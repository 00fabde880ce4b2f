"""Minute → hour → day averages with validity counts (有效均值).

Inputs are regular grids: arrays shaped ``(outlets, minutes)`` starting at a clock hour, NaN
for a minute with no value, and ``uint8`` flag codes (:mod:`bishui.sources.flags`) of the same
shape. Only minutes whose flag is in the rule's ``valid_flags`` (N by default) are averaged;
the other flags are **counted** per hour so a report can say why an hour is invalid.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from bishui import exact as ex
from bishui.errors import InputError
from bishui.sources import flags as fl


@dataclass(frozen=True)
class Hourly:
    """Hourly result for ``(outlets, hours)``.

    ``mean`` [channel unit] is NaN where the hour is not valid; ``n_valid`` counts the valid
    minutes; ``flag_counts[..., k]`` counts minutes with flag code ``k`` (``MISSING`` last).
    """

    mean: NDArray[np.float64]
    n_valid: NDArray[np.int16]
    flag_counts: NDArray[np.int16]

    @property
    def valid(self) -> NDArray[np.bool_]:
        return ~np.isnan(self.mean)


def _check_grid(values: NDArray[np.float64], flags: NDArray[np.uint8], per: int) -> None:
    if values.ndim != 2:
        raise InputError("values", "a 2-D array (outlets, minutes)", values.shape)
    if flags.shape != values.shape:
        raise InputError("flags", f"same shape as values {values.shape}", flags.shape)
    if values.shape[1] % per:
        raise InputError(
            "values", f"the time axis is a whole number of {per}-blocks", values.shape[1]
        )


def valid_minutes(
    values: NDArray[np.float64],
    flags: NDArray[np.uint8],
    valid_flags: tuple[str, ...] = ("N",),
) -> NDArray[np.bool_]:
    """Minutes that count: a value is present and its flag is one of *valid_flags*."""
    codes = fl.codes(valid_flags)
    ok = flags == codes[0] if len(codes) == 1 else np.isin(flags, codes)
    out: NDArray[np.bool_] = ok & ~np.isnan(values)
    return out


def hourly(
    values: NDArray[np.float64],
    flags: NDArray[np.uint8],
    min_valid_minutes: int = 45,
    valid_flags: tuple[str, ...] = ("N",),
    any_abnormal_invalidates: bool = False,
) -> Hourly:
    """Hourly means from minute data.

    Parameters
    ----------
    values : ndarray, shape (outlets, minutes)
        Minute means [channel unit], NaN where absent; ``minutes`` a multiple of 60, the first
        minute at a clock hour.
    flags : ndarray of uint8, same shape
        HJ 212 flag codes.
    min_valid_minutes : int
        Least valid minutes for a valid hour.
    valid_flags : tuple of str
        Flags whose minutes are averaged.
    any_abnormal_invalidates : bool
        Wastewater rule: an hour with any record flagged other than *valid_flags* is invalid
        (HJ 212-2017, notes to Tables C.16–C.18). Minutes with no record do not count.

    Returns
    -------
    Hourly
        Arrays shaped ``(outlets, minutes // 60)``.

    Notes
    -----
    HJ 212-2017 附录D D2.2 eq. 24: an hourly mean is the arithmetic mean of ``k >= 45`` valid
    minute means; 排污许可证申请与核发技术规范 §12.2:
    "整点1小时内不少于45分钟的有效数据的算术平均值".
    """
    values = np.asarray(values, dtype=np.float64)
    flags = np.asarray(flags, dtype=np.uint8)
    _check_grid(values, flags, 60)
    o, m = values.shape
    ok = valid_minutes(values, flags, valid_flags).reshape(o, m // 60, 60)
    v = np.where(ok, values.reshape(o, m // 60, 60), 0.0)
    n = ok.sum(axis=2, dtype=np.int16)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = v.sum(axis=2) / n
    mean = np.where(n >= min_valid_minutes, mean, np.nan)
    # A minute flagged N without a value counts as missing.
    f = flags.reshape(o, m // 60, 60)
    f = np.where(np.isnan(values.reshape(o, m // 60, 60)) & (f == fl.N), np.uint8(fl.MISSING), f)
    # Nine passes over uint8 beat one bincount over intp keys (8× the memory traffic).
    counts = np.stack([(f == k).sum(axis=2, dtype=np.int16) for k in range(fl.N_FLAGS)], axis=2)
    if any_abnormal_invalidates:
        good = fl.codes(valid_flags)
        abnormal = [k for k in range(fl.N_FLAGS - 1) if k not in good]
        mean = np.where(counts[..., abnormal].sum(axis=2) > 0, np.nan, mean)
    return Hourly(mean, n, counts)


def daily(
    hourly_mean: NDArray[np.float64],
    min_valid_hours: int,
    weights: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.int16]]:
    """Daily means from valid hourly means.

    Parameters
    ----------
    hourly_mean : ndarray, shape (outlets, hours)
        Hourly means, NaN where invalid; ``hours`` a multiple of 24, starting at 00:00.
    min_valid_hours : int
        Least valid hours for a valid day (flue gas 20, HJ 212-2017 eq. 25).
    weights : ndarray, same shape, optional
        Hourly flow [m³/h] for a flow-weighted mean (wastewater, HJ 212-2017 D.1.2 eq. 14:
        day concentration = day load / day volume). Hours with NaN or zero weight drop out.
        The mean is the float nearest its exact value (:mod:`bishui.exact`).

    Returns
    -------
    mean : ndarray, shape (outlets, days)
        Daily mean [channel unit], NaN where invalid.
    n_valid : ndarray of int16
        Valid hours per day.
    """
    h = np.asarray(hourly_mean, dtype=np.float64)
    if h.ndim != 2 or h.shape[1] % 24:
        raise InputError("hourly_mean", "(outlets, hours) with whole days", h.shape)
    o, nh = h.shape
    ok = ~np.isnan(h)
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        ok &= ~np.isnan(w) & (w > 0)
        w = np.where(ok, w, 0.0)
    else:
        w = ok.astype(np.float64)
    hv = np.where(ok, h, 0.0)
    n = ok.reshape(o, nh // 24, 24).sum(axis=2, dtype=np.int16)
    mean = _exact_mean(hv.reshape(o, nh // 24, 24), w.reshape(o, nh // 24, 24))
    return np.where(n >= min_valid_hours, mean, np.nan), n


def _exact_mean(v: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
    """Σ v·w / Σ w over the last axis: the float nearest the exact value (:mod:`bishui.exact`).

    COD 50.0 every hour with uneven flows is exactly 50, so it never exceeds a limit of 50.
    Decimal inputs go through scaled integers; the rest through floats, rechecked exactly
    (Fraction) where the mean lies near a decision point.
    """
    u = ex.common_units([v, w])
    if u is not None:
        (vu, wu), d = u
        k = v.shape[-1]
        mw = ex.max_abs(wu)
        if ex.max_abs(vu) * mw * k < 2.0**53 and mw * k * 10.0**d < 2.0**53:
            num = (vu * wu).sum(axis=-1)  # units of 10^-2d, exact
            den = wu.sum(axis=-1) * 10.0**d  # units of 10^-2d, exact
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.asarray(num / den, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        approx = (v * w).sum(axis=-1) / w.sum(axis=-1)
    rows = v.reshape(-1, v.shape[-1])
    weights = w.reshape(-1, w.shape[-1])

    def exact_of(idx: NDArray[np.intp]) -> list[Fraction | None]:
        out: list[Fraction | None] = []
        for i in idx:
            ws = [ex.written(x) for x in weights[i]]
            total = sum(ws, Fraction(0))
            out.append(
                None
                if total == 0
                else sum((ex.written(x) * y for x, y in zip(rows[i], ws, strict=True)),
                         Fraction(0)) / total
            )  # fmt: skip
        return out

    # A zero mean of non-negative values is exactly zero: not rechecked.
    known = (approx == 0) & (v >= 0).all(axis=-1)
    return ex.settle(approx, exact_of, known=known)
