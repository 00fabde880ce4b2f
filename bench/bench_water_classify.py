"""Classification throughput: vectorised ``classify_batch`` vs a per-sample Python loop.

Both classify the same synthetic samples of the 21 assessment items of GB 3838-2002 表1
(rounding to the assessment decimals, item classes, sample class, 超标倍数, main pollutants).
The baseline is a straightforward per-sample implementation measured in the same run; the
figure that matters is the ratio.

    /work/venv/bin/python bench/bench_water_classify.py [--short]
"""

from __future__ import annotations

import sys
import time
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import numpy as np

try:
    import bishui  # noqa: F401
except ModuleNotFoundError:  # run from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bishui.water import classify_batch
from bishui.water import tables as t
from bishui.water.rounding import decimals_for

CODES = list(t.ASSESSMENT_CODES)


def synthetic(n: int, seed: int = 20260301) -> np.ndarray:
    """Samples spread over the classes: each item around its Class Ⅲ limit (log-normal)."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, len(CODES)))
    for j, c in enumerate(CODES):
        item = t.TABLE1_RIVER[c]
        if item.direction == "range":
            x[:, j] = rng.normal(7.5, 0.8, n).clip(0, 14)
        else:
            x[:, j] = item.limits[2] * rng.lognormal(-0.2, 0.6, n)
    return x


def per_sample(x: np.ndarray) -> list[int]:
    """The straightforward way: one sample, one item, one class at a time."""
    out = []
    for row in x:
        worst = 0
        items = []
        for c, v in zip(CODES, row, strict=True):
            d = int(decimals_for([c])[0])  # −1: not rounded (pH by default)
            if d >= 0:
                q = Decimal(repr(float(v))).quantize(Decimal(1).scaleb(-d), ROUND_HALF_EVEN)
                v = float(q) if q != 0 else float(v)
            item = t.TABLE1_RIVER[c]
            if item.direction == "range":
                k = 1 if item.lo <= v <= item.hi else 6
            else:
                k = 6
                for i, lim in enumerate(item.limits, start=1):
                    if (v >= lim) if item.direction == "ge" else (v <= lim):
                        k = i
                        break
            m = None
            if k > 3 and c not in t.NO_MULTIPLE_CODES:
                m = (v - item.limits[2]) / item.limits[2]
            items.append((c, k, m))
            worst = max(worst, k)
        if worst > 3:
            over = [i for i in items if i[1] > 3]
            over.sort(key=lambda i: (i[0] not in t.PRIORITY_POLLUTANTS, -i[1], -(i[2] or -1)))
            _ = over[:3]
        out.append(worst)
    return out


def timed(fn, *args, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    short = "--short" in sys.argv[1:]
    n_vec, n_loop = (5_000, 500) if short else (200_000, 20_000)
    x = synthetic(n_vec)
    # Same answers on the samples both paths see.
    assert classify_batch(x[:n_loop], CODES).sample_class.tolist() == per_sample(x[:n_loop])
    tv = timed(classify_batch, x, CODES)
    tl = timed(per_sample, x[:n_loop], repeat=1 if not short else 2)
    rate_v = n_vec / tv
    rate_l = n_loop / tl
    print(f"classify 21 items: vectorised {rate_v:,.0f} samples/s ({n_vec} samples)")
    print(f"classify 21 items: per-sample baseline {rate_l:,.0f} samples/s ({n_loop} samples)")
    print(f"ratio vectorised / per-sample: {rate_v / rate_l:,.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
