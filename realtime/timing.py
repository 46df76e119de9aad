"""Timing one call: the median of repeated runs after a warm-up, used by ``swapcam info``, the
export's ms/face and the benchmarks alike (so all of them measure the same way)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(fn: Callable[[], object], repeat: int, warmup: int = 3) -> float:
    """Median wall time of ``fn()`` in milliseconds over ``repeat`` calls after ``warmup`` calls
    (the first calls allocate, compile or optimise and are not part of the timing)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)
