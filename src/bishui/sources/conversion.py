"""Reference-oxygen conversion (折算浓度) and emitted mass.

All functions are pure and vectorised; inputs broadcast.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bishui import exact as ex

#: O2 in dry air [%], the 21 of HJ 212-2017 eq. 27–28.
O2_AIR = 21.0


def reference_o2(
    concentration: ArrayLike,
    o2: ArrayLike,
    o2_reference: ArrayLike,
    o2_air: float = O2_AIR,
    *,
    exact: bool = True,
) -> NDArray[np.float64]:
    """Concentration converted to the standard's reference oxygen (基准氧含量折算浓度).

    Parameters
    ----------
    concentration : array_like
        Measured concentration, standard state, dry [mg/m³].
    o2 : array_like
        Measured oxygen, dry basis [%].
    o2_reference : array_like
        The emission standard's reference oxygen [%]; NaN means the standard sets none and the
        measured concentration is returned unchanged.
    o2_air : float
        Oxygen in air [%].
    exact : bool
        Return the float nearest the exact value (:mod:`bishui.exact`): dust 29.2 mg/m³ at
        6.4 % O2 converted to 6 % is exactly 30, not 30.000000000000004. False: plain float
        arithmetic (minute-level screening, where no verdict is taken against a limit).

    Returns
    -------
    ndarray
        Converted concentration [mg/m³]; NaN where the measured O2 is NaN or ``>= o2_air``
        (the formula has no meaning there).

    Notes
    -----
    HJ 212-2017 附录D D2.3 eq. 28 (verified, notes C1):
    ``C折 = C × (21 − O2s) / (21 − O2)``; where the standard sets no reference O2, no
    conversion is made. Equivalent to eq. 26–27 with α = 21/(21 − O2).
    """
    c = np.asarray(concentration, dtype=np.float64)
    o = np.asarray(o2, dtype=np.float64)
    ref = np.asarray(o2_reference, dtype=np.float64)
    if exact:
        u = ex.common_units([c, o, ref, np.float64(o2_air)])
        if u is not None:
            (cu, ou, ru, au), d = u
            num = cu * (au - ru)
            den = (au - ou) * 10.0**d
            if ex.fits(num, den):
                with np.errstate(divide="ignore", invalid="ignore"):
                    conv = np.where(o < o2_air, num / den, np.nan)
                    return np.asarray(np.where(np.isnan(ref), c, conv), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = (o2_air - ref) / (o2_air - o)
        factor = np.where(o < o2_air, factor, np.nan)
        out = np.where(np.isnan(ref), c, c * factor)
    if not exact:
        return np.asarray(out, dtype=np.float64)
    c, o, ref = np.broadcast_arrays(c, o, ref)
    cf, of, rf = c.reshape(-1), o.reshape(-1), ref.reshape(-1)
    air = ex.written(o2_air)

    def exact_of(idx: NDArray[np.intp]) -> list[Fraction | None]:
        res: list[Fraction | None] = []
        for i in idx:
            if np.isnan(rf[i]):
                res.append(ex.written(cf[i]))
            else:
                f = (air - ex.written(rf[i])) / (air - ex.written(of[i]))
                res.append(ex.written(cf[i]) * f)
        return res

    return ex.settle(out, exact_of)


def air_mass_kg(
    concentration: ArrayLike, flow: ArrayLike, hours: float = 1.0
) -> NDArray[np.float64]:
    """Mass emitted by flue gas in a period.

    Parameters
    ----------
    concentration : array_like
        Measured (not O2-converted) concentration, standard state, dry [mg/m³].
    flow : array_like
        Flue-gas flow, standard state, dry [m³/h].
    hours : float
        Length of the period [h].

    Returns
    -------
    ndarray
        Mass [kg].

    Notes
    -----
    HJ 212-2017 附录D D2.4 eq. 33: ``G = C × Q × 10⁻⁶`` kg with Q the period's volume [m³]
    (mg/m³ × m³ = mg; 10⁻⁶ kg/mg). The concentration is the measured one (notes C1).
    """
    c = np.asarray(concentration, dtype=np.float64)
    q = np.asarray(flow, dtype=np.float64)
    return np.asarray(c * q * hours * 1e-6, dtype=np.float64)


def water_mass_kg(
    concentration: ArrayLike, flow: ArrayLike, hours: float = 1.0
) -> NDArray[np.float64]:
    """Mass discharged in wastewater in a period.

    Parameters
    ----------
    concentration : array_like
        Concentration [mg/L].
    flow : array_like
        Wastewater flow [m³/h].
    hours : float
        Length of the period [h].

    Returns
    -------
    ndarray
        Mass [kg].

    Notes
    -----
    HJ 212-2017 附录D D.1.1 eq. 8: ``G = D × C × 10⁻³`` kg with D the volume [m³]
    (mg/L × m³ = g; 10⁻³ kg/g). Notes B7 write the same as t = C × Q × 10⁻⁶.
    """
    c = np.asarray(concentration, dtype=np.float64)
    q = np.asarray(flow, dtype=np.float64)
    return np.asarray(c * q * hours * 1e-3, dtype=np.float64)
