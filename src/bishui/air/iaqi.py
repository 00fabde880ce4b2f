"""Individual air quality index (IAQI, 空气质量分指数) of HJ 633-2012 and HJ 633-2026.

Formula (HJ 633-2012 §4.3 formula (1); HJ 633-2026 §4.2.4)::

    IAQI_P = (IAQI_Hi - IAQI_Lo) / (BP_Hi - BP_Lo) · (C_P - BP_Lo) + IAQI_Lo

with the breakpoints of HJ 633-2012 Table 1 / HJ 633-2026 Table 3 (``data/``), rounded **up**
to an integer (HJ 633-2012 §6.2 "全部进位取整数"; HJ 633-2026 §4.2.6 "全部向上进位取整数").

Exactness. The concentration is first fixed to a decimal count of units ``n`` (10^-d of the
unit): HJ 633-2026 §4.2.2 rounds it by GB/T 8170 to integers (CO to 0.1 mg/m³) *before* the
IAQI; without rounding (the 2012 default) it is read to 10^-6 of the unit (a µg/m³ reading
never carries more). Then, with the table's integer breakpoints scaled to the same units,

    IAQI = IAQI_Lo + ceil( (n - Lo)·ΔI / ΔB )

where every operand is an integer below 2^53, held exactly in float64. IEEE division is
correctly rounded, and a quotient num/den with ``num < 2^53`` lies either exactly on an integer
or at least ``1/den`` away from one, more than its rounding error ``num/den · 2^-53`` — so the
float ``ceil`` of the quotient is the exact integer ceiling. No float ceiling trap (PM2.5 4.9,
CO 2.2, CO 65.4 …) can occur, and the arithmetic stays vectorised.

Pollutant keys: ``SO2_24h, SO2_1h, NO2_24h, NO2_1h, PM10_24h, PM10_1h, CO_24h, CO_1h, O3_1h,
O3_8h, PM2.5_24h, PM2.5_1h`` (µg/m³; CO in mg/m³). ``PM10_1h``/``PM2.5_1h`` use the daily
columns (HJ 633-2026 §4.2.4; national practice since 2014-01-01 under the 2012 edition).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from bishui.air.editions import EDITIONS, DateLike, Edition, check_edition, edition_for
from bishui.air.editions import editions_for as _editions_for
from bishui.air.rounding import round_units
from bishui.air.tables import iaqi_table
from bishui.errors import InputError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

POLLUTANTS: tuple[str, ...] = (
    "SO2_24h", "SO2_1h", "NO2_24h", "NO2_1h", "PM10_24h", "PM10_1h",
    "CO_24h", "CO_1h", "O3_1h", "O3_8h", "PM2.5_24h", "PM2.5_1h",
)  # fmt: skip
#: Table column used by each key (the PM 1-hour keys use the daily breakpoints).
TABLE_COLUMN: dict[str, str] = {p: p for p in POLLUTANTS} | {
    "PM10_1h": "PM10_24h",
    "PM2.5_1h": "PM2.5_24h",
}
#: Decimals kept when concentrations are rounded before the IAQI (HJ 633-2026 §4.2.2).
ROUND_DIGITS: dict[str, int] = {p: (1 if p.startswith("CO") else 0) for p in POLLUTANTS}
#: Decimals an unrounded concentration is read to (10^-6 µg/m³, 10^-6 mg/m³).
READ_DIGITS = 6
#: Largest concentration accepted as physically possible (µg/m³; mg/m³ for CO). Not from a
#: standard: a sanity bound (the 2021 Beijing dust storm peaked near 10 000 µg/m³ PM10).
PLAUSIBLE_MAX: dict[str, float] = {
    p: (1_000.0 if p.startswith("CO") else 100_000.0) for p in POLLUTANTS
}
#: The footnote rules above 800 µg/m³ (HJ 633-2012 Table 1 notes (2)(3); 2026 Table 3 notes b, c).
FOOTNOTE_800: dict[str, tuple[str, int]] = {"SO2_1h": ("SO2_24h", 200), "O3_8h": ("O3_1h", 300)}

Above = Literal["cap", "nan", "raise", "extrapolate"]
_CHUNK = 1 << 15  # elements per pass: keeps the temporaries in the CPU cache


@dataclass(frozen=True)
class IAQIResult:
    """IAQI values with what produced them.

    Attributes
    ----------
    pollutant : str
    value : numpy.ndarray of float64
        Integer IAQI values held as floats; NaN where the input is missing (NaN) [1].
    edition : "2012", "2026" or numpy.ndarray of str
        The HJ 633 edition used (an array when editions were chosen per element by date).
    above_table : numpy.ndarray of bool
        Concentration above the table's top breakpoint (value set by the *above* option).
    footnote : numpy.ndarray of bool
        SO2_1h / O3_8h above 800 µg/m³, where the edition's footnote rule set the value.
    rounded : bool or numpy.ndarray of bool
        Whether concentrations were rounded by GB/T 8170 before the IAQI; per element (an
        array) when the editions were chosen per element by date and they round differently.
    """

    pollutant: str
    value: FloatArray
    edition: Edition | npt.NDArray[np.str_]
    above_table: BoolArray
    footnote: BoolArray
    rounded: bool | BoolArray

    def as_int(self) -> int | None:
        """The single IAQI of a scalar result as ``int`` (None when missing)."""
        if self.value.size != 1:
            raise InputError("value", "as_int needs a single value", self.value.shape)
        v = float(self.value.reshape(-1)[0])
        return None if np.isnan(v) else int(v)


@dataclass(frozen=True)
class _Kernel:
    lo: FloatArray  # segment low breakpoint, in units of 10^-digits
    d_bp: FloatArray
    i_lo: FloatArray
    d_i: FloatArray
    inner: FloatArray  # breakpoints between segments (for the search)
    top: float
    top_iaqi: float


_KERNELS: dict[tuple[Edition, str, int], _Kernel] = {}


def _kernel(edition: Edition, pollutant: str, digits: int) -> _Kernel:
    key = (edition, pollutant, digits)
    k = _KERNELS.get(key)
    if k is None:
        seg = iaqi_table(edition)[TABLE_COLUMN[pollutant]]
        scale = 10**digits
        bp = np.array([float(c * scale) for c in seg.conc])
        ia = np.array([float(i) for i in seg.iaqi])
        k = _Kernel(bp[:-1], np.diff(bp), ia[:-1], np.diff(ia), bp[1:-1], bp[-1], ia[-1])
        _KERNELS[key] = k
    return k


def check_concentration(pollutant: str, x: FloatArray) -> None:
    """Raise InputError for negative, infinite or implausible values (NaN is missing, allowed)."""
    ok = x >= 0
    if ok.all():
        if (x > PLAUSIBLE_MAX[pollutant]).any():
            bad = x[x > PLAUSIBLE_MAX[pollutant]][0]
            raise InputError(
                pollutant,
                f"concentration is not physically possible (> {PLAUSIBLE_MAX[pollutant]:g})",
                float(bad),
            )
        return
    bad_mask = ~ok & ~np.isnan(x)
    if bad_mask.any():
        raise InputError(pollutant, "concentration must be ≥ 0", float(x[bad_mask][0]))
    check_concentration(pollutant, np.where(np.isnan(x), 0.0, x))


def as_concentration(pollutant: str, concentration: npt.ArrayLike) -> FloatArray:
    """Concentrations as a float64 array, or InputError naming the pollutant."""
    if isinstance(concentration, np.ndarray) and concentration.dtype == np.float64:
        return concentration
    try:
        a = np.asarray(concentration, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(pollutant, "concentration must be numeric", concentration) from None
    return a


def _segment_iaqi(k: _Kernel, n: FloatArray) -> FloatArray:
    # Segment index = number of inner breakpoints strictly below n (a shared breakpoint gives
    # the same IAQI from either side). Comparisons beat searchsorted on 4-7 breakpoints.
    j = np.zeros(n.shape, dtype=np.intp)
    for b in k.inner:
        j += n > b
    # (n - Lo)·ΔI and ΔB are exact integers < 2^53; the float quotient's ceil is exact (module doc).
    q = np.ceil((n - k.lo[j]) * k.d_i[j] / k.d_bp[j])
    q += k.i_lo[j]
    return q


def _iaqi_one_edition(
    pollutant: str,
    x: FloatArray,
    edition: Edition,
    round_first: bool,
    above: Above,
    companion: FloatArray | None,
) -> tuple[FloatArray, BoolArray, BoolArray]:
    digits = ROUND_DIGITS[pollutant] if round_first else READ_DIGITS
    k = _kernel(edition, pollutant, digits)
    flat = x.reshape(-1)
    out = np.empty(flat.shape, dtype=np.float64)
    over_flat = np.empty(flat.shape, dtype=np.bool_)
    for s in range(0, flat.size, _CHUNK):
        n = round_units(flat[s : s + _CHUNK], digits)
        out[s : s + _CHUNK] = _segment_iaqi(k, n)
        # Above the table after the reading/rounding (2026: 500.4 rounds to 500, inside it).
        np.greater(n, k.top, out=over_flat[s : s + _CHUNK])
    out = out.reshape(x.shape)  # type: ignore[assignment]
    over = over_flat.reshape(x.shape)
    top = k.top / 10**digits
    foot = np.zeros(x.shape, dtype=np.bool_)
    if over.any():
        if pollutant in FOOTNOTE_800:
            foot = over
            other, fixed = FOOTNOTE_800[pollutant]
            if edition == "2026":
                # HJ 633-2026 Table 3 notes b, c: "IAQI按照200计" / "IAQI按照300计".
                out[foot] = fixed
            else:
                # HJ 633-2012 Table 1 notes (2), (3): report the other period's IAQI instead.
                if companion is None:
                    out[foot] = np.nan
                else:
                    alt = _iaqi_one_edition(other, companion, edition, round_first, above, None)
                    out[foot] = alt[0][foot]
            over = np.zeros(x.shape, dtype=np.bool_)
        elif above == "cap":
            out[over] = k.top_iaqi
        elif above == "nan":
            out[over] = np.nan
        elif above == "raise":
            raise InputError(
                pollutant,
                f"concentration above the top breakpoint {top:g} of HJ 633-{edition}",
                float(x[over].reshape(-1)[0]),
            )
        # "extrapolate": the last segment's line continued (already computed: the segment
        # count puts such values in the last segment).
    return out, over, foot


def iaqi(
    pollutant: str,
    concentration: npt.ArrayLike,
    edition: Edition | Literal[2012, 2026] | None = None,
    *,
    date: DateLike | npt.ArrayLike | None = None,
    round_first: bool | None = None,
    above: Above = "cap",
    companion: npt.ArrayLike | None = None,
) -> IAQIResult:
    """Individual air quality index (IAQI) per HJ 633, exact and vectorised.

    Parameters
    ----------
    pollutant : str
        One of :data:`POLLUTANTS`, e.g. ``"PM2.5_24h"``, ``"O3_8h"``, ``"CO_1h"``.
    concentration : array_like
        Concentrations [µg/m³; CO mg/m³]. NaN marks a missing value and gives NaN.
    edition : "2012", "2026" or None
        HJ 633 edition. None: chosen from *date* (before 2026-03-01 → 2012).
    date : date, datetime, datetime64 or array of them, optional
        Date of the data (datetimes are end-of-hour labels, see :mod:`bishui.air.editions`);
        an array (broadcast against *concentration*) chooses the edition per element.
    round_first : bool, optional
        Round the concentration by GB/T 8170 (integers; CO 0.1 mg/m³) before the IAQI.
        Default per edition: True for 2026 (HJ 633-2026 §4.2.2), False for 2012 (not stated).
    above : {"cap", "nan", "raise", "extrapolate"}
        Above the top breakpoint (no IAQI above 500 in either edition): ``"cap"`` reports 500
        (default), ``"nan"`` gives NaN, ``"raise"`` raises InputError, ``"extrapolate"``
        continues the last segment. ``above_table`` flags these elements whatever the choice.
        SO2_1h and O3_8h above 800 follow the edition's footnote instead.
    companion : array_like, optional
        2012 only: the SO2 24-hour mean (for SO2_1h) or the O3 1-hour value (for O3_8h) whose
        IAQI is reported when the concentration exceeds 800 (HJ 633-2012 Table 1 notes (2),
        (3)). Without it those elements are NaN (missing).

    Returns
    -------
    IAQIResult
        ``value`` [1] integer IAQI (as float64, NaN where missing), the edition, flags.

    Raises
    ------
    InputError
        Unknown pollutant or edition; negative, non-numeric, infinite or implausible values.

    Notes
    -----
    HJ 633-2012 §4.3 formula (1), §6.2, Table 1; HJ 633-2026 §4.2.2, §4.2.4, §4.2.6, Table 3.

    Examples
    --------
    >>> iaqi("PM2.5_24h", [40, 75], "2012").value
    array([ 57., 100.])
    >>> iaqi("PM2.5_24h", [40, 75], "2026").value
    array([ 60., 114.])
    """
    if pollutant not in TABLE_COLUMN:
        raise InputError("pollutant", "must be one of " + ", ".join(POLLUTANTS), pollutant)
    if above not in ("cap", "nan", "raise", "extrapolate"):
        raise InputError("above", 'must be "cap", "nan", "raise" or "extrapolate"', above)
    x = as_concentration(pollutant, concentration)
    check_concentration(pollutant, x)
    comp = None
    if companion is not None:
        other = FOOTNOTE_800.get(pollutant, ("", 0))[0] or pollutant
        comp = np.broadcast_to(as_concentration(other, companion), x.shape)
        check_concentration(other, comp)

    if edition is None:
        if date is None:
            raise InputError("edition", "give an edition or the date of the data", None)
        if isinstance(date, dt.date | str | np.datetime64):
            edition = edition_for(date)
        else:
            new = np.broadcast_to(_editions_for(date), x.shape)
            parts = {}
            for ed in EDITIONS:
                rf = (ed == "2026") if round_first is None else round_first
                parts[ed] = _iaqi_one_edition(pollutant, x, ed, rf, above, comp)
            a, b = parts["2012"], parts["2026"]
            return IAQIResult(
                pollutant,
                np.where(new, b[0], a[0]),
                np.where(new, "2026", "2012"),
                np.where(new, b[1], a[1]),
                np.where(new, b[2], a[2]),
                round_first if round_first is not None else np.array(new, dtype=np.bool_),
            )
    ed = check_edition(edition)
    rf = (ed == "2026") if round_first is None else round_first
    value, over, foot = _iaqi_one_edition(pollutant, x, ed, rf, above, comp)
    return IAQIResult(pollutant, value, ed, over, foot, rf)
