"""Annual assessment of 100 sections × one year of hourly automatic-station data (pure core).

The vectorised path: ``period_means`` (grouped means, pH by hydrogen-ion mean) → ``assess_sections``
(classes, target attainment) → ``grade_rivers`` → ``cwqi_groups``. The baseline, measured in the
same run, groups rows per section in Python and classifies each section with ``classify``. Reading
the data from the store is the service's part and is not timed here.

    /work/venv/bin/python bench/bench_water_assess.py [--short]
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

try:
    import bishui  # noqa: F401
except ModuleNotFoundError:  # run from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bishui.water import classify
from bishui.water.assessment import assess_sections, grade_rivers, period_means
from bishui.water.cwqi import cwqi_groups

# Items of a typical automatic station (五参数 + CODMn, NH3-N, TP, TN).
CODES = ["w01010", "w01001", "w01009", "w01019", "w21003", "w21011", "w21001"]


def synthetic(sections: int, hours: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = sections * hours
    level = rng.lognormal(0, 0.4, sections)[np.repeat(np.arange(sections), hours)]
    x = np.column_stack(
        [
            rng.normal(18, 6, n),
            rng.normal(7.6, 0.4, n).clip(0, 14),
            rng.normal(7.5, 1.2, n).clip(0.5, None),
            4.5 * level * rng.lognormal(0, 0.3, n),
            0.6 * level * rng.lognormal(0, 0.4, n),
            0.12 * level * rng.lognormal(0, 0.4, n),
            1.5 * level * rng.lognormal(0, 0.3, n),
        ]
    )
    x[rng.random(x.shape) < 0.05] = np.nan  # 5 % invalid or missing hours
    return x, np.repeat(np.arange(sections), hours)


def vectorised(x: np.ndarray, g: np.ndarray, sections: int) -> np.ndarray:
    pm = period_means(x, CODES, g, sections, min_samples=8)
    sa = assess_sections(pm.means, CODES, "river", np.full(sections, 3), pm.sufficient)
    grade_rivers(sa.section_class, np.arange(sections) // 10, section_means=pm.means, codes=CODES)
    cwqi_groups(pm.means, CODES, np.arange(sections) // 10)
    return sa.section_class


def per_section(x: np.ndarray, g: np.ndarray, sections: int) -> list[int]:
    rows: dict[int, list[np.ndarray]] = {}
    for gi, row in zip(g.tolist(), x, strict=True):
        rows.setdefault(gi, []).append(row)
    out = []
    for s in range(sections):
        sample = {}
        for j, c in enumerate(CODES):
            vals = [float(r[j]) for r in rows[s] if not math.isnan(r[j])]
            if c == "w01001":
                sample[c] = -math.log10(sum(10.0**-v for v in vals) / len(vals))
            else:
                sample[c] = sum(vals) / len(vals)
        out.append(classify(sample).sample_class)
    return out


def main() -> int:
    short = "--short" in sys.argv[1:]
    sections, hours = (20, 24 * 30) if short else (100, 8760)
    x, g = synthetic(sections, hours)
    t0 = time.perf_counter()
    got = vectorised(x, g, sections)
    tv = time.perf_counter() - t0
    t0 = time.perf_counter()
    base = per_section(x, g, sections)
    tl = time.perf_counter() - t0
    assert got.tolist() == base
    rows = x.shape[0]
    print(
        f"annual assessment {sections} sections × {hours} h: vectorised {tv:.3f} s "
        f"({rows / tv:,.0f} rows/s)"
    )
    print(f"annual assessment: per-section Python baseline {tl:.3f} s ({rows / tl:,.0f} rows/s)")
    print(f"ratio vectorised / per-section: {tl / tv:,.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
