"""Tiles: fixed-length windows at a fixed step along every contig.

Window ``k`` of a contig covers ``[k * step - flank, k * step - flank + length)``
(0-based, half-open). Windows continue until the last one covers the contig end
with at least ``flank`` bases of context; bases off the contig ends are N.

Stitching rule (see :mod:`scanner.tiling.stitch`): each base takes its value from
the window in which it is most central; on a tie, the window that starts first.
The owner of a base depends only on its position, so a per-base track stitched
from tiles is the same whatever the chunking. With ``step <= length - 2 * flank``
every base sits at least ``flank`` bases from both edges of its owning window.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..variables import annotate, validate

DEFAULT_WINDOW_CHUNK = 4096


def tile_counts(contig_lengths: np.ndarray, *, length: int, step: int, flank: int) -> np.ndarray:
    """Number of tiles on each contig.

    Parameters
    ----------
    contig_lengths : ndarray of int, shape (contigs,)
    length, step, flank : int

    Returns
    -------
    ndarray of int64, shape (contigs,)
    """
    core = length - 2 * flank
    lengths = np.asarray(contig_lengths, dtype=np.int64)
    # (n - 1) * step + core >= L  <=>  n >= (L - core) / step + 1
    return np.maximum(1, -(-(lengths - core) // step) + 1)


def check_tiling(length: int, step: int, flank: int) -> None:
    """Raise ValueError unless every base gets ``flank`` bases of context in its owner."""
    if length < 1:
        raise ValueError(f"window length must be positive, got {length}")
    if flank < 0 or 2 * flank >= length:
        raise ValueError(f"flank must be >= 0 and leave a core: 2 * flank < length ({length}), got {flank}")
    if step < 1 or step > length - 2 * flank:
        raise ValueError(
            f"step must be between 1 and length - 2 * flank = {length - 2 * flank} so that every base "
            f"has {flank} bases of context in its window; got step={step}"
        )


def tile_windows(
    genome,
    *,
    length: int,
    step: int,
    flank: int = 0,
    contigs: list[str] | None = None,
    chunk_size: int = DEFAULT_WINDOW_CHUNK,
) -> xr.Dataset:
    """Fixed-length windows along contigs, lazily evaluated and chunked.

    Parameters
    ----------
    genome : Genome
        From :func:`scanner.open_genome`.
    length : int
        Window (model input) length in bases.
    step : int
        Distance between window starts; at most ``length - 2 * flank``.
    flank : int
        Bases of context each base needs on either side in its owning window; the
        first window starts ``flank`` bases before the contig.
    contigs : list of str, optional
        Contigs to tile, in order (default: all).
    chunk_size : int
        Windows per dask chunk.

    Returns
    -------
    xarray.Dataset
        Dims ``windows`` (chunked), ``segments`` (1), ``contigs``: ``window_contig``,
        ``window_start``, ``window_end`` (0-based, half-open), ``window_strand``
        ('+'), ``window_segment_start/end/offset``, ``contig_id``, ``contig_length``.
        Attributes give the layout, length, step, flank and genome path.
    """
    import dask.array as da

    check_tiling(length, step, flank)
    names = list(genome.contig_names) if contigs is None else list(contigs)
    indices = np.array([genome.contig_index(name) for name in names], dtype=np.int32)
    lengths = genome.contigs.contig_length.values[indices]
    counts = tile_counts(lengths, length=length, step=step, flank=flank)
    first = np.concatenate([[0], np.cumsum(counts)])
    total = int(first[-1])

    window = da.arange(total, chunks=chunk_size, dtype=np.int64)
    contig_of = window.map_blocks(
        _tile_contig, first=first, indices=indices, dtype=np.int32, meta=np.array((), np.int32)
    )
    start = window.map_blocks(
        _tile_start, first=first, step=step, flank=flank, dtype=np.int64, meta=np.array((), np.int64)
    )
    ds = xr.Dataset(
        {
            "window_contig": ("windows", contig_of),
            "window_start": ("windows", start),
            "window_end": ("windows", start + length),
            "window_strand": ("windows", da.full(total, "+", chunks=chunk_size, dtype="<U1")),
            "window_segment_start": (("windows", "segments"), start[:, None]),
            "window_segment_end": (("windows", "segments"), (start + length)[:, None]),
            "window_segment_offset": (
                ("windows", "segments"),
                da.zeros((total, 1), chunks=(chunk_size, 1), dtype=np.int64),
            ),
            "contig_id": ("contigs", genome.contigs.contig_id.values),
            "contig_length": ("contigs", genome.contigs.contig_length.values),
        },
        attrs={
            "layout": "tiles",
            "window_length": length,
            "step": step,
            "flank": flank,
            "stitching": "most-central window; ties to the earlier window",
            "tiled_contigs": names,
            "genome_path": str(genome.path),
            "coordinates": "0-based, half-open",
        },
    )
    validate(ds)
    return annotate(ds)


def _tile_contig(global_index: np.ndarray, *, first: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Contig index (into ``contig_id``) of tiles numbered across all tiled contigs."""
    return indices[np.searchsorted(first, global_index, side="right") - 1]


def _tile_start(global_index: np.ndarray, *, first: np.ndarray, step: int, flank: int) -> np.ndarray:
    """0-based start of tiles numbered across all tiled contigs."""
    slot = np.searchsorted(first, global_index, side="right") - 1
    return (global_index - first[slot]) * step - flank


def owning_tile(position: np.ndarray, *, length: int, step: int, flank: int, n_tiles: int) -> np.ndarray:
    """Index (within its contig) of the tile a base takes its value from.

    The tile whose centre is nearest the base's centre; on a tie the earlier tile.

    Parameters
    ----------
    position : ndarray of int64
        0-based positions on one contig.
    length, step, flank : int
        The tiling.
    n_tiles : int
        Tiles on that contig (:func:`tile_counts`).

    Returns
    -------
    ndarray of int64, same shape as ``position``
    """
    # Centre of tile k: k*step - flank + length/2; of base p: p + 1/2. Doubling keeps
    # integers: the nearest k is the one nearest to x = (2p + 1 + 2 flank - length) / (2 step),
    # and with ties going down that is ceil(x - 1/2).
    position = np.asarray(position, dtype=np.int64)
    numerator = 2 * (position + flank) + 1 - length
    denominator = 2 * step
    k = -((-(2 * numerator - denominator)) // (2 * denominator))
    return np.clip(k, 0, n_tiles - 1)
