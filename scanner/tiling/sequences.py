"""The bases of each window, built lazily on Dask from the genome store."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..genome.alphabet import N
from ..genome.store import fetch_codes
from ..variables import annotate


def _window_block(contig, strand, seg_start, seg_end, seg_offset, *, store_path, contig_names, contig_lengths, length, masked):
    from .sequences_numba_fns import fill_windows

    out = np.full((contig.shape[0], length), N, dtype=np.uint8)
    minus = strand == "-"
    for c in np.unique(contig):
        rows = np.flatnonzero(contig == c)
        used = seg_end[rows] > seg_start[rows]
        lo = int(seg_start[rows][used].min())
        hi = int(seg_end[rows][used].max())
        # One read per contig and block: the windows of a block are sorted, so their
        # span is bounded by the block, not by the contig.
        span = fetch_codes(store_path, contig_names[c], lo, hi, int(contig_lengths[c]))
        block = np.full((rows.size, length), N, dtype=np.uint8)
        fill_windows(span, lo, seg_start[rows], seg_end[rows], seg_offset[rows], minus[rows], block)
        out[rows] = block
    if masked is not None:
        out[:, masked] = N
    return out


def window_sequences(genome, windows: xr.Dataset, *, apply_mask: bool = True) -> xr.DataArray:
    """Base codes of every window, in window orientation, as a lazy dask array.

    Parameters
    ----------
    genome : Genome
    windows : xarray.Dataset
        From :func:`scanner.tile_windows` or :func:`scanner.gene_windows`.
    apply_mask : bool
        Set the layout's masked positions (``position_masked``) to N, as the model
        sees them.

    Returns
    -------
    xarray.DataArray of uint8, dims (windows, positions), named ``window_sequence``
        Chunked like ``windows`` along ``windows``. Tasks carry the store path and
        contig table only; each worker opens the store itself.
    """
    import dask.array as da

    length = int(windows.attrs["window_length"])
    masked = None
    if apply_mask and "position_masked" in windows and bool(windows.position_masked.any()):
        masked = windows.position_masked.values

    def as_dask(name):
        data = windows[name].data
        return data if isinstance(data, da.Array) else da.from_array(data, chunks=(windows.chunks or {}).get("windows", -1))

    contig = as_dask("window_contig")
    chunks = contig.chunks[0]
    seg = [as_dask(n).rechunk((chunks, -1)) for n in ("window_segment_start", "window_segment_end", "window_segment_offset")]
    codes = da.blockwise(
        _window_block,
        "wp",
        contig,
        "w",
        as_dask("window_strand").rechunk((chunks,)),
        "w",
        *[x for array in seg for x in (array, "ws")],
        new_axes={"p": length},
        concatenate=True,
        dtype=np.uint8,
        meta=np.empty((0, 0), dtype=np.uint8),
        store_path=str(genome.path),
        contig_names=list(genome.contig_names),
        contig_lengths=genome.contigs.contig_length.values,
        length=length,
        masked=masked,
    )
    out = xr.DataArray(codes, dims=("windows", "positions"), name="window_sequence")
    return annotate(out.to_dataset())["window_sequence"]
