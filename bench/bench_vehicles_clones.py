"""Clone-curve search (issue 19): LSH candidates + exact verification against the brute-force
Gram matrix, on a city-day and a city-year of one method's curves.

The volumes are the benchmark's assumptions, not Jingmen statistics: a day of 2 000 tests and a
year of 500 000, all of one method (the worst case: clones are searched within a method). 0.2 %
of the curves are clones of another vehicle's curve with 0.2 % multiplicative noise. The
brute force runs in full on the day; on the year it runs on a sample of rows against all rows
and its time is extrapolated linearly in the sample (it is O(n²) in total: each row against
every other).

    python bench/bench_vehicles_clones.py [--short]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from bishui.vehicles import clones


def make(n: int, seed: int, length: int = 180, nch: int = 3) -> tuple[np.ndarray, np.ndarray, int]:
    """Fingerprints of *n* synthetic curves (built in chunks), owners, number of clones."""
    rng = np.random.default_rng(seed)
    p = clones.CloneParams()
    fp = np.empty((n, nch * p.width), dtype=np.float32)
    k = max(1, n // 500)
    src = rng.integers(0, n - k, size=k)
    chunk = 20000
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        level = rng.uniform(0.05, 0.5, size=(m, nch, 1))
        steps = np.repeat([1.0, 1.6], length // 2)[None, None, :]
        c = level * steps * (1 + 0.08 * rng.standard_normal((m, nch, length)))
        curves = [[c[i, j] for j in range(nch)] for i in range(m)]
        fp[s : s + m] = clones.fingerprints(curves, p.width)
    # the clones: the last k rows copy rows src (fingerprint of a noisy copy)
    for t, i in enumerate(src.tolist()):
        noisy = fp[i] * (1 + 0.002 * rng.standard_normal(fp.shape[1])).astype(np.float32)
        fp[n - k + t] = noisy / np.linalg.norm(noisy)
    return fp, np.arange(n), k


def run(n: int, sample: int | None) -> None:
    t = time.perf_counter()
    fp, owner, k = make(n, seed=n)
    t_fp = time.perf_counter() - t
    p = clones.CloneParams()
    t = time.perf_counter()
    cand = clones.candidates(fp, p)
    li, lj, _ = clones.verify(fp, cand, owner, p.threshold)
    t_lsh = time.perf_counter() - t
    if sample is None:
        t = time.perf_counter()
        bi, bj, _ = clones.brute_force(fp, owner, p.threshold)
        t_bf = time.perf_counter() - t
        truth = set(zip(bi.tolist(), bj.tolist(), strict=True))
        note = "full"
    else:
        rows = np.random.default_rng(1).choice(n, size=sample, replace=False)
        t = time.perf_counter()
        for s in range(0, sample, 256):  # the Gram rows in blocks, as brute_force does
            g = fp[rows[s : s + 256]] @ fp.T
            np.count_nonzero(g >= p.threshold)
        t_bf = (time.perf_counter() - t) * n / sample / 2  # each pair once
        truth = {(n - k + i, 0) for i in range(k)}  # only the count is used below
        note = f"extrapolated from {sample} rows"
    found = set(zip(li.tolist(), lj.tolist(), strict=True))
    recall = len(found & truth) / len(truth) if sample is None and truth else len(found) / k
    print(
        f"n={n:>7}  fingerprints {t_fp:7.2f} s  candidates {cand.size:>9}  "
        f"LSH+verify {t_lsh:7.2f} s  ({n / t_lsh:>9.0f} curves/s)  "
        f"brute force {t_bf:8.2f} s ({note})  speed-up {t_bf / t_lsh:6.1f}x  "
        f"pairs found {len(found)} / injected {k}  recall {recall:.3f}"
    )


def main() -> None:
    short = "--short" in sys.argv
    print("clone search: LSH (SimHash 32 bands x 20 bits) + exact cosine vs brute-force Gram")
    run(500 if short else 2000, None)
    run(20000 if short else 500000, 2000 if short else 10000)


if __name__ == "__main__":
    main()
