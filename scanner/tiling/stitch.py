"""Stitching per-window values from tiles back into per-base tracks along contigs.

Each base takes its value from exactly one tile: the one in which it is most
central (ties to the earlier tile; see :func:`scanner.tiling.tiles.owning_tile`).
The rule depends only on the base's position, so the stitched track is identical
for any chunking of the windows or of the output.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .tiles import owning_tile, tile_counts


def _gather(block: np.ndarray, *, start: int, stop: int, first_tile: int, length: int, step: int, flank: int, n_tiles: int):
    positions = np.arange(start, stop, dtype=np.int64)
    tile = owning_tile(positions, length=length, step=step, flank=flank, n_tiles=n_tiles)
    slot = positions - (tile * step - flank)
    return block[tile - first_tile, slot]


def stitch_tiles(values: xr.DataArray, tiles: xr.Dataset, *, chunk_size: int = 1_000_000) -> dict[str, xr.DataArray]:
    """Per-base tracks along each tiled contig from per-window values.

    Parameters
    ----------
    values : xarray.DataArray, dims (windows, positions, ...)
        One value (or vector) per window base, in window order of ``tiles``; any
        dtype. Trailing dims (for example ``targets``) are kept.
    tiles : xarray.Dataset
        From :func:`scanner.tile_windows`.
    chunk_size : int
        Bases per chunk of the output tracks.

    Returns
    -------
    dict of str to xarray.DataArray
        For each tiled contig, a dask-backed array with dims (positions, ...) of the
        contig's length.
    """
    import dask.array as da

    if tiles.attrs.get("layout") != "tiles":
        raise ValueError("stitch_tiles needs windows from tile_windows (layout 'tiles')")
    if values.dims[:2] != ("windows", "positions"):
        raise ValueError(f"values must have dims ('windows', 'positions', ...), got {values.dims}")
    length, step, flank = (int(tiles.attrs[k]) for k in ("window_length", "step", "flank"))
    if values.sizes["positions"] != length or values.sizes["windows"] != tiles.sizes["windows"]:
        raise ValueError(
            f"values have shape {dict(values.sizes)}, tiles need windows={tiles.sizes['windows']}, "
            f"positions={length}"
        )
    names = list(tiles.attrs["tiled_contigs"])
    index = {str(name): i for i, name in enumerate(tiles.contig_id.values)}
    lengths = np.array([int(tiles.contig_length.values[index[n]]) for n in names], dtype=np.int64)
    counts = tile_counts(lengths, length=length, step=step, flank=flank)
    first = np.concatenate([[0], np.cumsum(counts)])
    data = values.data if isinstance(values.data, da.Array) else da.from_array(values.data)
    rest_dims = values.dims[2:]

    tracks = {}
    for c, name in enumerate(names):
        pieces = []
        for start in range(0, int(lengths[c]), chunk_size):
            stop = min(start + chunk_size, int(lengths[c]))
            k0, k1 = owning_tile(np.array([start, stop - 1]), length=length, step=step, flank=flank, n_tiles=int(counts[c]))
            piece = data[first[c] + k0 : first[c] + k1 + 1]
            piece = piece.rechunk({i: -1 for i in range(piece.ndim)})
            pieces.append(
                piece.map_blocks(
                    _gather,
                    start=start,
                    stop=stop,
                    first_tile=int(k0),
                    length=length,
                    step=step,
                    flank=flank,
                    n_tiles=int(counts[c]),
                    drop_axis=1,
                    chunks=(stop - start,) + piece.shape[2:],
                    dtype=piece.dtype,
                    meta=np.empty((0,) * (piece.ndim - 1), dtype=piece.dtype),
                )
            )
        tracks[name] = xr.DataArray(da.concatenate(pieces), dims=("positions",) + rest_dims, name=values.name)
    return tracks
