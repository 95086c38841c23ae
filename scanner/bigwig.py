"""Writing per-base tracks as bigWig, contig by contig and chunk by chunk."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np


def value_runs(values: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal values, without runs of 0 or NaN (bigWig leaves them out).

    Parameters
    ----------
    values : ndarray of float, shape (positions,)
    offset : int
        Genome position (0-based) of ``values[0]``.

    Returns
    -------
    starts, ends, run_values : ndarrays
        0-based, half-open runs.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0)
    same = np.isclose(values[1:], values[:-1], rtol=0, atol=0) | (np.isnan(values[1:]) & np.isnan(values[:-1]))
    starts = np.concatenate([[0], np.flatnonzero(~same) + 1])
    ends = np.concatenate([starts[1:], [values.size]])
    run_values = values[starts]
    keep = (run_values != 0) & ~np.isnan(run_values)
    return starts[keep] + offset, ends[keep] + offset, run_values[keep]


def write_bigwig(
    path: str | os.PathLike,
    contig_lengths: dict[str, int],
    track: Callable[[str, int, int], np.ndarray],
    *,
    chunk_size: int = 1_000_000,
) -> Path:
    """Write a bigWig whose values come from ``track(contig, start, end)``.

    Parameters
    ----------
    path : path-like
    contig_lengths : dict of str to int
        The contigs, in order.
    track : callable
        Returns the values of ``contig[start:end]`` (0-based, half-open), float.
    chunk_size : int
        Bases asked for at a time: memory holds one chunk.

    Returns
    -------
    pathlib.Path
    """
    import pyBigWig

    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    handle = pyBigWig.open(str(partial), "w")
    try:
        handle.addHeader([(name, int(length)) for name, length in contig_lengths.items()])
        for name, length in contig_lengths.items():
            for start in range(0, int(length), chunk_size):
                end = min(start + chunk_size, int(length))
                run_starts, run_ends, run_values = value_runs(track(name, start, end), start)
                if run_starts.size:
                    handle.addEntries(
                        [name] * run_starts.size, run_starts.tolist(), ends=run_ends.tolist(), values=run_values.tolist()
                    )
    finally:
        handle.close()
    os.replace(partial, path)
    return path
