"""Issue 13: the mutation fuzzer, a few thousand cases (the 10⁶-case run is
``bench/bench_hj212_fuzz.py``, figures in docs/benchmarks.md)."""

from __future__ import annotations

from hj212_fuzz import run


def test_mutated_inputs_never_escape_and_the_next_good_frame_is_found() -> None:
    res = run(20_000)
    assert res.good_found == res.cases == 20_000
    assert res.max_emitted_ratio <= 1.0
