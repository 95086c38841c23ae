"""The map between window slots and genome coordinates.

Each window is a list of genome segments placed at offsets in the window (see
:mod:`scanner.tiling.genes` and :mod:`scanner.tiling.tiles`). These functions turn
that into a genome coordinate per slot, or find the slots of a genome position.
"""

from __future__ import annotations

import numpy as np
import xarray as xr


def _block_positions(contig, strand, seg_start, seg_end, seg_offset, *, contig_lengths, length):
    from .sequences_numba_fns import fill_positions

    out = np.full((contig.shape[0], length), -1, dtype=np.int64)
    fill_positions(seg_start, seg_end, seg_offset, strand == "-", contig_lengths[contig], out)
    return out


def window_positions(windows: xr.Dataset) -> xr.DataArray:
    """0-based genome position of every window slot, -1 where the slot holds no
    genome base (spacer, N padding off a contig end).

    Parameters
    ----------
    windows : xarray.Dataset
        From :func:`scanner.tile_windows` or :func:`scanner.gene_windows`.

    Returns
    -------
    xarray.DataArray of int64, dims (windows, positions)
        Lazy (dask), chunked like the windows. The contig is ``window_contig``.
    """
    import dask.array as da

    length = int(windows.attrs["window_length"])
    data = {n: da.asarray(windows[n].data) for n in ("window_contig", "window_strand")}
    chunks = data["window_contig"].chunks[0]
    seg = [
        da.asarray(windows[n].data).rechunk((chunks, -1))
        for n in ("window_segment_start", "window_segment_end", "window_segment_offset")
    ]
    positions = da.blockwise(
        _block_positions,
        "wp",
        data["window_contig"],
        "w",
        data["window_strand"].rechunk((chunks,)),
        "w",
        *[x for array in seg for x in (array, "ws")],
        new_axes={"p": length},
        concatenate=True,
        dtype=np.int64,
        meta=np.empty((0, 0), dtype=np.int64),
        contig_lengths=windows.contig_length.values,
        length=length,
    )
    return xr.DataArray(positions, dims=("windows", "positions"), name="window_position")


def locate_position(windows: xr.Dataset, contig: str, position: int) -> np.ndarray:
    """The window slots that hold a genome base.

    Parameters
    ----------
    windows : xarray.Dataset
    contig : str
        Contig name as in the genome store.
    position : int
        0-based genome position.

    Returns
    -------
    ndarray of int64, shape (hits, 2)
        ``(window index, slot)`` pairs, sorted. For gene windows a position lies in
        0, 1 or 2 slots of one gene (2 only where the halves overlap).
    """
    names = [str(n) for n in windows.contig_id.values]
    if contig not in names:
        raise KeyError(f"contig {contig!r} is not in the windows' genome")
    c = names.index(contig)
    if not 0 <= position < int(windows.contig_length.values[c]):
        return np.empty((0, 2), dtype=np.int64)
    on_contig = windows.window_contig.values == c
    seg_start = windows.window_segment_start.values
    seg_end = windows.window_segment_end.values
    offset = windows.window_segment_offset.values
    minus = (windows.window_strand.values == "-")[:, None]
    inside = on_contig[:, None] & (seg_start <= position) & (position < seg_end)
    slot = np.where(minus, offset + (seg_end - 1 - position), offset + (position - seg_start))
    w, s = np.nonzero(inside)
    return np.stack([w, slot[w, s]], axis=1).astype(np.int64)
