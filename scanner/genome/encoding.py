"""One-hot encoding and reverse complement of base codes."""

from __future__ import annotations

import numpy as np


def _as_rows(codes: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    if codes.ndim == 0:
        raise ValueError("codes must have at least one dimension (positions)")
    rows = int(np.prod(codes.shape[:-1], dtype=np.int64))
    return codes.reshape(rows, codes.shape[-1]), codes.shape


def one_hot(codes: np.ndarray, dtype: str | np.dtype = "float32") -> np.ndarray:
    """One-hot encode base codes.

    Parameters
    ----------
    codes : ndarray of uint8, shape (..., positions)
        Base codes (A=0, C=1, G=2, T=3, N=4; the soft-mask bit is ignored).
    dtype : {"float32", "float16"} or numpy dtype
        Output dtype.

    Returns
    -------
    ndarray, shape (..., positions, 4)
        Bases in the order A, C, G, T; N is an all-zero row.
    """
    from .encoding_numba_fns import one_hot_into

    rows, shape = _as_rows(codes)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"one_hot dtype must be a float type, got {dtype}")
    out = np.zeros(rows.shape + (4,), dtype=dtype)
    if dtype == np.float16:
        one_hot_into(rows, out.view(np.uint16), np.uint16(np.float16(1).view(np.uint16)))
    else:
        one_hot_into(rows, out, dtype.type(1))
    return out.reshape(shape + (4,))


def reverse_complement(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of base codes along the last axis; N and the soft mask kept.

    Parameters
    ----------
    codes : ndarray of uint8, shape (..., positions)

    Returns
    -------
    ndarray of uint8, same shape
    """
    from .encoding_numba_fns import reverse_complement_into

    rows, shape = _as_rows(codes)
    out = np.empty_like(rows)
    reverse_complement_into(rows, out)
    return out.reshape(shape)
