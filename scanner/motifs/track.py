"""Dense per-base tracks from motif hits, for genome browsers and the CRE map."""

from __future__ import annotations

import numpy as np
import xarray as xr

VALUES = ("score", "neglog10_pvalue")


def motif_track(hits: xr.Dataset, contig: str, *, value: str = "neglog10_pvalue", start: int = 0, end: int | None = None) -> xr.DataArray:
    """The best hit value covering each base of ``contig[start:end]``.

    Parameters
    ----------
    hits : xarray.Dataset
        From :func:`scanner.motifs.scan`.
    contig : str
    value : {"neglog10_pvalue", "score"}
        ``-log10(p)`` or the log-odds score (bits) of the best hit covering the
        base; bases covered by no hit (at the scan's p-value threshold) are 0 and
        NaN respectively.
    start, end : int
        0-based, half-open stretch of the contig (default: all of it).

    Returns
    -------
    xarray.DataArray of float32, dims (positions,)
    """
    if value not in VALUES:
        raise ValueError(f"value must be one of {', '.join(VALUES)}, got {value!r}")
    names = [str(n) for n in hits.contig_id.values]
    if contig not in names:
        raise KeyError(f"contig {contig!r} is not in the hits dataset")
    c = names.index(contig)
    end = int(hits.contig_length.values[c]) if end is None else end
    on_contig = hits.hit_contig.values == c
    hit_start, hit_end = hits.hit_start.values[on_contig], hits.hit_end.values[on_contig]
    keep = (hit_end > start) & (hit_start < end)
    hit_start, hit_end = hit_start[keep], hit_end[keep]
    if value == "score":
        values = hits.hit_score.values[on_contig][keep]
        track = np.full(end - start, -np.inf)
    else:
        values = -np.log10(hits.hit_pvalue.values[on_contig][keep])
        track = np.zeros(end - start)
    widths = hit_end - hit_start
    # One vectorised pass per offset into the motif: motifs are short.
    for offset in range(int(widths.max()) if widths.size else 0):
        covered = offset < widths
        position = hit_start[covered] + offset - start
        inside = (position >= 0) & (position < end - start)
        np.maximum.at(track, position[inside], values[covered][inside])
    if value == "score":
        track[np.isinf(track)] = np.nan
    return xr.DataArray(track.astype(np.float32), dims=("positions",), name=f"motif_{value}", attrs={"contig": contig, "start": start})
