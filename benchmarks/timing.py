"""What the benchmark scripts share: wall-clock timing of one call."""

from __future__ import annotations

import time


def timed(func):
    """Call ``func()``; return (seconds, result)."""
    began = time.perf_counter()
    result = func()
    return time.perf_counter() - began, result


def best_of(func, repeats: int):
    """Call ``func()`` ``repeats`` times; return (the fastest call's seconds, its result).

    On a shared machine the fastest of a few calls is the one least slowed by
    other work, for every tool alike.
    """
    runs = [timed(func) for _ in range(max(1, repeats))]
    return min(runs, key=lambda run: run[0])
