"""Motif hits around seqlets only: the scan a CRE map needs, without scanning whole contigs.

Each seqlet is widened by the widest motif's width less one on both sides, so
every motif window that overlaps a seqlet lies inside its widened span; spans
that touch are merged, so no window is scanned twice. The spans are scanned by
:func:`scanner.motifs.scan_sequences` (the same FIMO-exact scores and p-values
as a genome scan) and the hits are placed back on the genome. Hits and p-values
are those of a genome-wide scan for every window that overlaps a seqlet;
q-values are Benjamini-Hochberg over the windows scanned here, not over the
genome.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..variables import annotate


def seqlet_spans(seqlets: xr.Dataset, pad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merged spans covering each seqlet widened by ``pad`` bases on each side.

    Returns
    -------
    contig, start, end : ndarray of int64
        0-based half-open spans, clipped to the contig, sorted, not touching.
    """
    contig = seqlets.seqlet_contig.values.astype(np.int64)
    lengths = seqlets.contig_length.values.astype(np.int64)
    start = np.maximum(seqlets.seqlet_start.values.astype(np.int64) - pad, 0)
    end = np.minimum(seqlets.seqlet_end.values.astype(np.int64) + pad, lengths[contig]) if contig.size else start
    order = np.lexsort((start, contig))
    contig, start, end = contig[order], start[order], end[order]
    spans: list[list[int]] = []
    for c, s, e in zip(contig.tolist(), start.tolist(), end.tolist()):
        if spans and spans[-1][0] == c and s <= spans[-1][2]:
            spans[-1][2] = max(spans[-1][2], e)
        else:
            spans.append([c, s, e])
    table = np.array(spans, dtype=np.int64).reshape(-1, 3)
    return table[:, 0], table[:, 1], table[:, 2]


def scan_seqlets(genome, seqlets: xr.Dataset, motifs, *, pvalue: float = 1e-4, background="uniform",
                 pseudocount: float = 0.1) -> xr.Dataset:
    """Motif hits in the neighbourhood of every seqlet, in genome coordinates.

    Parameters
    ----------
    genome : Genome
        The store the seqlets were called on.
    seqlets : xarray.Dataset
        From :func:`scanner.seqlets.calling.call_seqlets` (dim ``seqlets``).
    motifs : list of Motif, motif file or database spec
    pvalue, background, pseudocount
        As for :func:`scanner.motifs.scan`; ``background="genome"`` uses the
        store's composition.

    Returns
    -------
    xarray.Dataset
        The layout of :func:`scanner.motifs.scan` (dim ``hits``, 0-based half-open
        ``hit_start``/``hit_end`` on the genome's contigs, motif and contig tables),
        with the spans scanned in the attributes ``scanned_bases`` and ``scanned_spans``.
    """
    from ..genome.alphabet import decode
    from ..motifs.background import genome_composition
    from ..motifs.scanning import _motif_list, scan_sequences

    motifs = _motif_list(motifs)
    if isinstance(background, str) and background == "genome":
        background = genome_composition(genome)
    widest = max(m.width for m in motifs)
    contig, start, end = seqlet_spans(seqlets, widest - 1)
    names = [str(n) for n in seqlets.contig_id.values]
    sequences = [(f"span{i}", decode(genome.fetch(names[c], s, e)))
                 for i, (c, s, e) in enumerate(zip(contig.tolist(), start.tolist(), end.tolist()))]
    hits = scan_sequences(sequences, motifs, pvalue=pvalue, background=background, pseudocount=pseudocount)
    span = hits.hit_contig.values.astype(np.int64)
    placed = hits.drop_vars(["contig_id", "contig_length"]).assign(
        hit_contig=("hits", contig[span].astype(hits.hit_contig.dtype)),
        hit_start=("hits", hits.hit_start.values + start[span]),
        hit_end=("hits", hits.hit_end.values + start[span]),
        contig_id=("contigs", seqlets.contig_id.values),
        contig_length=("contigs", seqlets.contig_length.values),
    )
    order = np.lexsort((placed.hit_start.values, placed.hit_contig.values))
    placed = placed.isel(hits=order)
    placed.attrs = {**hits.attrs, "source": "seqlet neighbourhoods", "scanned_spans": int(contig.size),
                    "scanned_bases": int((end - start).sum()),
                    "qvalues": "Benjamini-Hochberg over the windows of the scanned spans"}
    return annotate(placed)
