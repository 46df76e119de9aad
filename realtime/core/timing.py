"""Timing one call: the median of repeated runs after a warm-up, used by ``swapcam info``, the
export's ms/face and the benchmarks alike (so all of them measure the same way)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np


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


# Enough for an hour at 30 fps; older samples fall off so a day-long stream keeps bounded memory.
MAX_SAMPLES = 108_000


def percentiles(values, points=(50, 95, 99)) -> dict[str, float]:
    """{"p50": …, "p95": …} rounded to 0.01 ms; zeros when there are no values."""
    data = np.asarray(values, np.float64)
    if data.size == 0:
        return {f"p{p}": 0.0 for p in points}
    return {f"p{p}": round(float(np.percentile(data, p)), 2) for p in points}
