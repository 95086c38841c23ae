"""One pass over a large array, split into contiguous parts run on threads.

The compiled kernels release the GIL, so a pass over a chromosome's worth of
values runs on every core when each thread takes one part and the parts'
results are merged. Merges here are exact (integer counts, minima, maxima,
concatenation in part order), so a result never depends on how many threads
ran it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

import numpy as np

T = TypeVar("T")

# Below this many values per part a thread costs more than it saves.
MIN_PART = 1 << 19


def part_count(n: int, threads: int | None = None, min_part: int | None = None) -> int:
    """How many parts ``n`` values are split into: one per core, none smaller than ``min_part``
    (default :data:`MIN_PART`)."""
    from .cluster import available_cores

    threads = available_cores() if threads is None else threads
    min_part = MIN_PART if min_part is None else min_part
    return int(max(1, min(threads, n // max(min_part, 1))))


def part_bounds(n: int, parts: int) -> np.ndarray:
    """Bounds of ``parts`` contiguous, nearly equal parts of ``range(n)``: int64, shape (parts + 1,)."""
    return np.linspace(0, n, parts + 1).astype(np.int64)


def map_threads(fn: Callable[..., T], items: Sequence, threads: int | None = None) -> list[T]:
    """``[fn(item) for item in items]``, the calls spread over up to ``threads`` threads (all cores)."""
    from .cluster import available_cores

    threads = min(available_cores() if threads is None else threads, len(items))
    if threads <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(fn, items))


def spans(n: int, threads: int | None = None, min_part: int | None = None) -> list[tuple[int, int]]:
    """``(start, stop)`` of the parts :func:`map_parts` splits ``range(n)`` into."""
    bounds = part_bounds(n, part_count(n, threads, min_part))
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def map_parts(fn: Callable[[int, int], T], n: int, threads: int | None = None, min_part: int | None = None) -> list[T]:
    """``fn(start, stop)`` for each contiguous part of ``range(n)``, on threads; results in part order."""
    return map_threads(lambda span: fn(*span), spans(n, threads, min_part), threads)
