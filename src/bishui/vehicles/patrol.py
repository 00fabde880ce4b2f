"""Patrol-vehicle comparison (巡查车比对), both readings found in the sources (notes §A3, [S]):

1. **Reference vehicle** (:func:`reference_outliers`): one vehicle tested at every station; each
   station's result for each pollutant against the distribution of all stations' results:
   robust z = (x − median) / (1.4826 · MAD). A station whose analyser scales results down by a
   fixed ratio (notes §A3b rule 11, [V]) shows as a ratio to the median well below 1.
2. **Mobile re-test** (:func:`retest_discordance`): the regulator's mobile unit re-tests vehicles
   a station passed; the station's discordance (vehicles the regulator fails) and the paired
   ratio of the station's to the regulator's reading, against the other stations'.

Thresholds are parameters [M].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

MAD_SCALE = 1.4826  # MAD → σ for a normal distribution


def robust_z(x: np.ndarray) -> np.ndarray:
    med = np.nanmedian(x)
    mad = MAD_SCALE * np.nanmedian(np.abs(x - med))
    if not np.isfinite(mad) or mad == 0:
        mad = max(abs(float(med)) * 1e-3, 1e-12)
    return (x - med) / mad


def reference_outliers(
    results: Mapping[str, Mapping[str, float]], z_max: float = 3.5
) -> dict[str, dict[str, object]]:
    """*results*: station → pollutant → the reference vehicle's result there. Returns per
    station and pollutant the value, median, ratio, z and whether it is an outlier."""
    stations = sorted(results)
    pollutants = sorted({p for r in results.values() for p in r})
    out: dict[str, dict[str, object]] = {s: {} for s in stations}
    for pol in pollutants:
        x = np.array([results[s].get(pol, np.nan) for s in stations], dtype=np.float64)
        z = robust_z(x)
        med = float(np.nanmedian(x))
        for s, xi, zi in zip(stations, x.tolist(), z.tolist(), strict=True):
            out[s][pol] = {
                "value": xi,
                "median": med,
                "ratio": xi / med if med else float("nan"),
                "z": zi,
                "outlier": bool(abs(zi) > z_max),
            }
    return out


def retest_discordance(
    pairs: Sequence[tuple[str, bool, float, float]], z_max: float = 3.0
) -> dict[str, dict[str, object]]:
    """*pairs*: (station, regulator_passed, station_value, regulator_value) for vehicles the
    station passed. Per station: n, discordant, rate, median ratio, z of the rate against the
    others (binomial), outlier."""
    st = np.array([p[0] for p in pairs])
    if st.size == 0:
        return {}
    fail = np.array([not p[1] for p in pairs], dtype=np.float64)
    ratio = np.array([p[2] / p[3] if p[3] else np.nan for p in pairs], dtype=np.float64)
    names, inv = np.unique(st, return_inverse=True)
    n = np.bincount(inv, minlength=names.size)
    k = np.bincount(inv, weights=fail, minlength=names.size)
    rn, rk = n.sum() - n, k.sum() - k
    p0 = np.divide(rk, rn, out=np.zeros(names.size), where=rn > 0)
    z = (k / n - p0) / np.sqrt(np.maximum(p0 * (1 - p0), 1e-6) / n)
    out: dict[str, dict[str, object]] = {}
    for i, s in enumerate(names.tolist()):
        r = ratio[inv == i]
        out[s] = {
            "n": int(n[i]),
            "discordant": int(k[i]),
            "rate": float(k[i] / n[i]),
            "median_ratio": float(np.nanmedian(r)) if np.isfinite(r).any() else float("nan"),
            "z": float(z[i]),
            "outlier": bool(z[i] > z_max),
        }
    return out
