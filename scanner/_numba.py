"""One place for numba defaults.

Kernels are compiled with ``nopython`` and ``nogil`` so dask threads run them in
parallel. The on-disk cache is off unless ``CRE_SCANNER_NUMBA_CACHE=1``: caches race
when many workers share one cluster filesystem.
"""

from __future__ import annotations

import os

import numba

NUMBA_CACHE = os.environ.get("CRE_SCANNER_NUMBA_CACHE", "0") == "1"


def kernel(*args, **kwargs):
    """``numba.njit`` with the project's defaults (nogil, cache switch)."""
    kwargs.setdefault("nogil", True)
    kwargs.setdefault("cache", NUMBA_CACHE)
    return numba.njit(*args, **kwargs)
