"""Exports of a hits dataset: FIMO's TSV layout and BED."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

FIMO_COLUMNS = ["motif_id", "motif_alt_id", "sequence_name", "start", "stop", "strand", "score", "p-value", "q-value", "matched_sequence"]
ROWS_PER_BLOCK = 1 << 20


def _matched_sequences(genome, contig_names, contig, start, end, strand) -> list[str]:
    """Window sequences (reverse-complemented on '-'), uppercase, one read per contig run."""
    from ..genome.alphabet import decode
    from ..genome.encoding import reverse_complement

    out = [""] * start.size
    for c in np.unique(contig):
        rows = np.flatnonzero(contig == c)
        lo, hi = int(start[rows].min()), int(end[rows].max())
        codes = genome.fetch(contig_names[c], lo, hi) & 7
        text = decode(codes)
        complement = decode(reverse_complement(codes))  # text of the reverse complement of [lo, hi)
        for r in rows:
            s, e = int(start[r]) - lo, int(end[r]) - lo
            out[r] = text[s:e] if strand[r] == "+" else complement[len(text) - e : len(text) - s]
    return out


def to_fimo_tsv(hits: xr.Dataset, path: str | os.PathLike, *, genome=None, sequences=None) -> Path:
    """Write hits in FIMO's TSV layout.

    Columns as FIMO writes them (``motif_id motif_alt_id sequence_name start stop
    strand score p-value q-value matched_sequence``), coordinates 1-based and
    inclusive, score as ``%g``, p- and q-values as ``%.3g``. Rows are in genome
    order (FIMO's own file is sorted by p-value); ``matched_sequence`` needs the
    genome store (or the scanned ``sequences``) and is left empty without either.

    Parameters
    ----------
    hits : xarray.Dataset
        From :func:`scanner.motifs.scan`.
    path : path-like
    genome : Genome, optional
    sequences : list of str, optional
        The in-memory sequences that were scanned, in order.
    """
    from ..genome.alphabet import encode

    path = Path(path)
    motif_id = hits.motif_id.values.astype(str)
    motif_name = hits.motif_name.values.astype(str)
    contig_names = hits.contig_id.values.astype(str)
    if genome is None and sequences is not None:
        genome = _InMemoryGenome(contig_names, [encode(s) for s in sequences])
    n = hits.sizes["hits"]
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w") as out:
        out.write("\t".join(FIMO_COLUMNS) + "\n")
        for lo in range(0, n, ROWS_PER_BLOCK):
            block = hits.isel(hits=slice(lo, lo + ROWS_PER_BLOCK)).load()
            contig = block.hit_contig.values
            start, end = block.hit_start.values, block.hit_end.values
            strand = block.hit_strand.values.astype(str)
            motif = block.hit_motif.values
            score, pvalue, qvalue = block.hit_score.values, block.hit_pvalue.values, block.hit_qvalue.values
            matched = (
                _matched_sequences(genome, contig_names, contig, start, end, strand)
                if genome is not None
                else [""] * start.size
            )
            for i in range(start.size):
                out.write(
                    f"{motif_id[motif[i]]}\t{motif_name[motif[i]]}\t{contig_names[contig[i]]}\t{start[i] + 1}\t"
                    f"{end[i]}\t{strand[i]}\t{score[i]:g}\t{pvalue[i]:.3g}\t{qvalue[i]:.3g}\t{matched[i]}\n"
                )
    os.replace(partial, path)
    return path


class _InMemoryGenome:
    def __init__(self, names, codes):
        self._codes = dict(zip(names, codes))

    def fetch(self, contig, start, end):
        return self._codes[contig][start:end]


def bed_score(pvalue: np.ndarray) -> np.ndarray:
    """BED score 0-1000: 100 x -log10(p), capped (p = 1e-10 and below give 1000)."""
    with np.errstate(divide="ignore"):
        return np.clip(np.round(-100 * np.log10(pvalue)), 0, 1000).astype(np.int64)


def to_bed(hits: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write hits as BED6: contig, start (0-based), end, motif ID, score (see
    :func:`bed_score`), strand."""
    path = Path(path)
    motif_id = hits.motif_id.values.astype(str)
    contig_names = hits.contig_id.values.astype(str)
    partial = path.with_name(f".{path.name}.partial")
    n = hits.sizes["hits"]
    with open(partial, "w") as out:
        for lo in range(0, n, ROWS_PER_BLOCK):
            block = hits.isel(hits=slice(lo, lo + ROWS_PER_BLOCK)).load()
            score = bed_score(block.hit_pvalue.values)
            for c, s, e, m, sc, st in zip(
                block.hit_contig.values, block.hit_start.values, block.hit_end.values, block.hit_motif.values, score,
                block.hit_strand.values.astype(str),
            ):
                out.write(f"{contig_names[c]}\t{s}\t{e}\t{motif_id[m]}\t{sc}\t{st}\n")
    os.replace(partial, path)
    return path


def to_bigwig(hits: xr.Dataset, path: str | os.PathLike, *, value: str = "neglog10_pvalue") -> Path:
    """Write the per-base motif track (:func:`scanner.motifs.motif_track`) as bigWig.

    Bases covered by no hit are left out of the file (genome browsers show them as 0).
    """
    from ..bigwig import write_bigwig
    from .track import motif_track

    hits = hits[["hit_contig", "hit_start", "hit_end", "hit_score", "hit_pvalue", "contig_id", "contig_length"]].load()
    lengths = {str(name): int(length) for name, length in zip(hits.contig_id.values, hits.contig_length.values)}
    return write_bigwig(path, lengths, lambda contig, start, end: motif_track(hits, contig, value=value, start=start, end=end).values)
