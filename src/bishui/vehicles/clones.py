"""Cloned curves across different vehicles (雷同数据): a search that scales to a city's year.

Regulator dashboards count "identical process curves across different vehicles" per method and
station (notes §A3b rule 1, [V]); the similarity measure is not given there, so this one is the
platform's own (docs/vehicles.md, parameters [M]):

1. **Fingerprint.** A curve's identity is in its texture, not its shape: every test of a method
   follows the same phases or trace, so two honest vehicles' curves look alike in outline. The
   fingerprint is therefore the first difference of each emission channel (the second-to-second
   changes), robust-z-normalised per channel with the phase-change spikes removed, cut or
   zero-padded to ``width`` seconds, concatenated and scaled to unit length. A
   copied curve (even offset or rescaled) keeps it; honest fingerprints are nearly orthogonal.
2. **Candidates** by locality-sensitive hashing: random-hyperplane signs (SimHash) in ``bands``
   bands of ``rows`` bits; curves sharing a band's key are candidates (found by one sort of the
   band keys and a comparison of neighbours — no per-row Python).
3. **Exact verification**: the cosine of the two fingerprints against ``threshold``, the same
   criterion the brute-force baseline (:func:`brute_force`) applies to every pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bishui.vehicles.model import FloatArray

CHUNK = 65536


@dataclass(frozen=True)
class CloneParams:
    width: int = 64  # [M] seconds of the fingerprint per channel
    bands: int = 32  # [M] LSH bands …
    rows: int = 20  # [M] … of this many sign bits (at most 56)
    threshold: float = 0.9  # [M] fingerprint cosine from which two curves are clones
    max_bucket: int = 16  # [M] neighbours compared within one band key
    seed: int = 20181127


def _robust_z(d: FloatArray, cut: float = 5.0) -> FloatArray:
    """Rows of *d* as robust z-scores (median, 1.4826·MAD); beyond ±*cut* set to 0: the phase
    changes every test of a method shares are spikes, and a shared spike is not a clone."""
    med = np.median(d, axis=1, keepdims=True)
    mad = 1.4826 * np.median(np.abs(d - med), axis=1, keepdims=True)
    z = np.divide(d - med, mad, out=np.zeros_like(d), where=mad > 0)
    z[np.abs(z) > cut] = 0.0
    return z


def fingerprint(channels: Sequence[FloatArray], width: int) -> FloatArray:
    """One curve's fingerprint (see the module docstring)."""
    parts = []
    for ch in channels:
        d = np.diff(np.nan_to_num(np.asarray(ch, dtype=np.float64)))[None, :width]
        parts.append(np.pad(_robust_z(d)[0], (0, width - d.shape[1])))
    v = np.concatenate(parts)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def fingerprints(curves: Sequence[Sequence[FloatArray]], width: int) -> FloatArray:
    """Fingerprints of many curves of one method as rows. Curves of equal length are processed
    as one 2-D block."""
    if not curves:
        return np.zeros((0, 0))
    nch = len(curves[0])
    out = np.zeros((len(curves), nch * width))
    lengths = np.array([len(c[0]) for c in curves])
    for n in np.unique(lengths):
        idx = np.flatnonzero(lengths == n)
        for j in range(nch):
            block = np.nan_to_num(np.stack([curves[int(i)][j] for i in idx]))
            z = _robust_z(np.diff(block, axis=1)[:, :width])
            out[idx, j * width : j * width + z.shape[1]] = z
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norm, out=np.zeros_like(out), where=norm > 0)


def _pairs_from_keys(keys: npt.NDArray[np.int64], n: int, max_bucket: int) -> npt.NDArray[np.int64]:
    """Pairs (i < j) of rows sharing a key, as codes ``i * n + j``."""
    flat = keys.ravel()
    rows = np.repeat(np.arange(keys.shape[0]), keys.shape[1])
    order = np.argsort(flat, kind="stable")
    k, r = flat[order], rows[order]
    found = []
    for off in range(1, max_bucket + 1):
        same = k[off:] == k[:-off]
        if not same.any():
            break
        a, b = r[:-off][same], r[off:][same]
        found.append(np.minimum(a, b) * n + np.maximum(a, b))
    if not found:
        return np.zeros(0, dtype=np.int64)
    codes = np.unique(np.concatenate(found))
    return codes[codes // n != codes % n]


def candidates(fp: FloatArray, p: CloneParams) -> npt.NDArray[np.int64]:
    """Candidate pairs by SimHash banding, as codes ``i * n + j``."""
    n, dim = fp.shape
    rng = np.random.default_rng(p.seed)
    planes = rng.standard_normal((dim, p.bands * p.rows)).astype(fp.dtype)
    weights = 1 << np.arange(p.rows, dtype=np.int64)
    keys = np.empty((n, p.bands), dtype=np.int64)
    for s in range(0, n, CHUNK):  # in chunks: the projections of a city-year do not fit at once
        bits = (fp[s : s + CHUNK] @ planes > 0).reshape(-1, p.bands, p.rows)
        keys[s : s + CHUNK] = bits @ weights
    keys += np.arange(p.bands, dtype=np.int64) << 56
    return _pairs_from_keys(keys, n, p.max_bucket)


def verify(
    fp: FloatArray, codes: npt.NDArray[np.int64], owner: npt.ArrayLike, threshold: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], FloatArray]:
    """Pairs whose fingerprints' cosine reaches *threshold* and whose owners (VINs) differ."""
    n = fp.shape[0]
    i, j = codes // n, codes % n
    own = np.asarray(owner)
    cos = np.zeros(codes.size)
    for s in range(0, codes.size, CHUNK):  # in chunks: candidate rows are gathered
        a, b = i[s : s + CHUNK], j[s : s + CHUNK]
        cos[s : s + CHUNK] = np.einsum("ij,ij->i", fp[a], fp[b])
    keep = (cos >= threshold) & (own[i] != own[j])
    return i[keep], j[keep], cos[keep]


def search(fp: FloatArray, owner: npt.ArrayLike, p: CloneParams | None = None):
    """Clone pairs ``(i, j, cosine)`` among the rows of *fp* (one method)."""
    p = p or CloneParams()
    if fp.shape[0] < 2:
        e = np.zeros(0, dtype=np.int64)
        return e, e, np.zeros(0)
    return verify(fp, candidates(fp, p), owner, p.threshold)


def brute_force(fp: FloatArray, owner: npt.ArrayLike, threshold: float, block: int = 2048):
    """The baseline: every pair's cosine, in blocks of the Gram matrix."""
    n = fp.shape[0]
    own = np.asarray(owner)
    out_i, out_j, out_c = [], [], []
    for s in range(0, n, block):
        g = fp[s : s + block] @ fp.T
        ii, jj = np.nonzero(g >= threshold)
        ii = ii + s
        keep = (jj > ii) & (own[ii] != own[jj])
        out_i.append(ii[keep])
        out_j.append(jj[keep])
        out_c.append(g[ii[keep] - s, jj[keep]])
    if not out_i:
        e = np.zeros(0, dtype=np.int64)
        return e, e, np.zeros(0)
    return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_c)
