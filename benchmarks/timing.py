"""What the benchmark scripts share: wall-clock timing of one call."""

from __future__ import annotations

import time


def timed(func):
    """Call ``func()``; return (seconds, result)."""
    began = time.perf_counter()
    result = func()
    return time.perf_counter() - began, result
