"""The bases of each window, built lazily on Dask from the genome store."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..genome.alphabet import N
from ..genome.store import fetch_codes
from ..variables import annotate


#: Most bases read at once for one group of windows; windows further apart are
#: read separately, so a block of sparse genes never reads the genome between them.
MAX_SPAN = 8_000_000


def _span_groups(lo: np.ndarray, hi: np.ndarray) -> list[np.ndarray]:
    """Split windows (sorted by ``lo``) into runs whose joint span stays within MAX_SPAN."""
    groups, begin, group_lo, group_hi = [], 0, lo[0], hi[0]
    for i in range(1, lo.size):
        if max(group_hi, hi[i]) - group_lo > MAX_SPAN:
            groups.append(np.arange(begin, i))
            begin, group_lo, group_hi = i, lo[i], hi[i]
        else:
            group_hi = max(group_hi, hi[i])
    groups.append(np.arange(begin, lo.size))
    return groups


def _window_block(contig, strand, seg_start, seg_end, seg_offset, *, store_path, contig_names, contig_lengths, length, masked):
    from .sequences_numba_fns import fill_windows

    out = np.full((contig.shape[0], length), N, dtype=np.uint8)
    minus = strand == "-"
    used = seg_end > seg_start
    lo = np.where(used, seg_start, np.iinfo(np.int64).max).min(axis=1)
    hi = np.where(used, seg_end, np.iinfo(np.int64).min).max(axis=1)
    for c in np.unique(contig):
        on_contig = np.flatnonzero(contig == c)
        on_contig = on_contig[np.argsort(lo[on_contig], kind="stable")]
        for group in _span_groups(lo[on_contig], hi[on_contig]):
            rows = on_contig[group]
            span_lo, span_hi = int(lo[rows].min()), int(hi[rows].max())
            span = fetch_codes(store_path, contig_names[c], span_lo, span_hi, int(contig_lengths[c]))
            block = np.full((rows.size, length), N, dtype=np.uint8)
            fill_windows(span, span_lo, seg_start[rows], seg_end[rows], seg_offset[rows], minus[rows], block)
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
