"""Run every benchmark under bench/ (``bench_*.py``), each in its own process.

``--short`` passes ``--short`` to each: a small, quick form that CI runs so the scripts keep
working; the figures in docs/benchmarks.md come from full runs (see that page).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    args = sys.argv[1:]
    here = Path(__file__).parent
    failed = []
    for script in sorted(here.glob("bench_*.py")):
        print(f"== {script.name} {' '.join(args)}", flush=True)
        rc = subprocess.call([sys.executable, str(script), *args])
        if rc != 0:
            failed.append(script.name)
    if failed:
        print("benchmarks failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
