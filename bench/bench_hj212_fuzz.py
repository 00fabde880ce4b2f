"""The HJ 212 session under 10⁶ mutated inputs (issue 13): nothing escapes, memory is bounded,
every good frame placed after the garbage is found.

The mutator is the test suite's (``tests/hj212/hj212_fuzz.py``; the suite runs 20,000 cases):
truncations, nested and repeated headers, ``=``/NUL/separators inside fields with the CRC
recomputed, huge and wrong lengths, random bytes, runs of ``#``, flipped bytes, bad UTF-8 —
one to three of them, then a good frame, fed in random chunks (1, 7, 64, 4096 bytes or all).
Reports cases, bytes fed, good frames found, the largest buffer a session held, the largest
ratio of bytes emitted in events to bytes fed, and the process's peak RSS.

    /work/venv/bin/python bench/bench_hj212_fuzz.py [--short] [--cases N]
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "hj212"))

from hj212_fuzz import run  # noqa: E402


def main() -> int:
    cases = 20_000 if "--short" in sys.argv else 1_000_000
    if "--cases" in sys.argv:
        cases = int(sys.argv[sys.argv.index("--cases") + 1])
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.process_time()
    res = run(cases, seed=2026)
    cpu = time.process_time() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"cases: {res.cases:,}  bytes fed: {res.bytes_fed:,}  CPU: {cpu:.1f} s")
    print(f"good frames found after the garbage: {res.good_found:,} of {res.cases:,}")
    print(f"largest session buffer: {res.max_buffered} bytes (bound: max_data_length + 12)")
    print(f"largest bytes emitted / bytes fed in one case: {res.max_emitted_ratio:.3f}")
    print(f"peak RSS: {rss:.0f} MiB (at start {rss0:.0f} MiB)")
    return 0 if res.good_found == res.cases else 1


if __name__ == "__main__":
    sys.exit(main())
