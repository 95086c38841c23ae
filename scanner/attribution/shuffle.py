"""Dinucleotide-shuffled reference sequences for DeepLIFT/SHAP.

Each window's references are shuffles of its own sequence that keep every
dinucleotide count exactly, and keep in place every position that is not
sequence: N bases (unknown or padding) and the layout's masked positions (DeepCRE's
spacer and masked bases). Shuffling those into the sequence would give the
references bases the model never sees at those positions, and the attributions
would no longer sum to the output change of the real input.

References depend only on the seed and on the window's identity (contig, start,
strand), never on batch size, chunking or the order windows are processed.
"""

from __future__ import annotations

import numpy as np

from .shuffle_numba_fns import shuffle_windows

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
        x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
        return x ^ (x >> np.uint64(31))


def window_seeds(seed: int, contig: np.ndarray, start: np.ndarray, strand: np.ndarray) -> np.ndarray:
    """One 31-bit seed per window from the run seed and the window's identity.

    Parameters
    ----------
    seed : int
    contig : ndarray of int, shape (n,)
    start : ndarray of int64, shape (n,)
    strand : ndarray of str ('+'/'-') or bool (minus), shape (n,)

    Returns
    -------
    ndarray of int64, shape (n,)
    """
    minus = np.asarray(strand) == "-" if np.asarray(strand).dtype.kind in "US" else np.asarray(strand, bool)
    with np.errstate(over="ignore"):
        x = _splitmix(np.full(len(contig), np.uint64(seed & 0xFFFFFFFF)))
        x = _splitmix(x ^ np.asarray(contig).astype(np.uint64))
        x = _splitmix(x ^ np.asarray(start).astype(np.int64).view(np.uint64))
        x = _splitmix(x ^ minus.astype(np.uint64))
    return (x >> np.uint64(33)).astype(np.int64)


def dinucleotide_shuffles(codes: np.ndarray, seeds: np.ndarray, shuffles: int, *,
                          fixed: np.ndarray | None = None) -> np.ndarray:
    """``shuffles`` dinucleotide-preserving shuffles of each window.

    Parameters
    ----------
    codes : ndarray of uint8, shape (n, L)
        Base codes; the soft-mask bit is dropped in the output.
    seeds : ndarray of int64, shape (n,)
        From :func:`window_seeds`.
    shuffles : int
    fixed : ndarray of bool, shape (L,), optional
        Layout positions that stay in place (``position_masked``); N bases always do.

    Returns
    -------
    ndarray of uint8, shape (n, shuffles, L)
        Within each maximal run of A/C/G/T between fixed positions, the
        dinucleotide counts and the first and last base are those of the window.
    """
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    if codes.ndim != 2:
        raise ValueError(f"codes must be (windows, positions), got shape {codes.shape}")
    if fixed is None:
        fixed = np.zeros(codes.shape[1], dtype=bool)
    if fixed.shape != (codes.shape[1],):
        raise ValueError(f"fixed must have shape ({codes.shape[1]},), got {fixed.shape}")
    out = np.empty((codes.shape[0], shuffles, codes.shape[1]), dtype=np.uint8)
    shuffle_windows(codes, np.ascontiguousarray(fixed, dtype=np.bool_), np.asarray(seeds, np.int64), int(shuffles), out)
    return out
