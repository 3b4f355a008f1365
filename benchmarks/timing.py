"""How the benchmarks time a call: the median of repeated runs after untimed warm-up runs.

The median, not the mean: one run slowed by another process on a shared machine should not move the
result. Imported by the scripts beside it (``python benchmarks/bench_*.py`` puts this folder on the path).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(fn: Callable[[], object], repeats: int, *, warmups: int = 1) -> float:
    """Median seconds of ``repeats`` calls of ``fn`` after ``warmups`` untimed calls.

    The warm-up calls pay what only a first call costs (allocations, OpenVINO's shape caches).
    """
    for _ in range(warmups):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)
