"""Motif gains and losses: motifs whose best p-value at an allele crosses the threshold.

For each scorable ALT allele the REF and the ALT sequence around it (on the
genome's '+' strand, ``width - 1`` flanking bases each side for the widest motif)
are scored against every motif on both strands, over every motif window that
overlaps the allele's bases. A motif is *gained* when its best ALT p-value is
<= the threshold and its best REF p-value is above it, *lost* the other way
round. Scores and p-values are FIMO's (the motif scan's integer PSSMs and exact
score distributions), so a reported p-value is what the motif scan reports for
that window.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._numba import kernel
from .alleles import AlleleTable


@kernel
def best_scores(codes, lo, hi, cells, base, width, out):
    """Best integer score of each motif-strand over windows overlapping ``codes[lo:hi]``.

    Parameters
    ----------
    codes : uint8 (positions,)
    lo, hi : int
        The allele's bases (hi > lo; for a deletion the kept anchor base).
    cells : int32 (columns, 5)
        The motif bank's integer PSSM columns (column 4: N, far below any score).
    base, width : int64 (motif-strands,)
    out : int64 (motif-strands,)
        Filled with the best score; -2**62 where no window fits.
    """
    n = codes.shape[0]
    for k in range(base.shape[0]):
        w = width[k]
        best = -(1 << 62)
        first = max(0, lo - w + 1)
        last = min(hi - 1, n - w)
        for i in range(first, last + 1):
            score = 0
            for j in range(w):
                score += cells[base[k] + j, codes[i + j] & 7]
            if score > best:
                best = score
        out[k] = best


def _best_pvalues(bank, codes: np.ndarray, lo: int, hi: int) -> np.ndarray:
    scores = np.empty(bank.base.size, dtype=np.int64)
    best_scores(codes, lo, hi, bank.cells, bank.base, bank.width, scores)
    index = np.clip(scores, 0, bank.pvalue_size - 1)
    pvalues = np.where(scores > -(1 << 60), bank.pvalue_table[bank.pvalue_base + index], 1.0)
    return pvalues.reshape(-1, bank.n_motifs).min(axis=0)  # best of both strands


def motif_changes(genome, alleles: AlleleTable, motifs, *, pvalue: float = 1e-4, background="uniform",
                  pseudocount: float = 0.1) -> xr.Dataset:
    """Motif gains and losses of every scorable ALT allele.

    Parameters
    ----------
    genome : Genome
    alleles : AlleleTable
    motifs : list of Motif, motif file or database spec (as for the motif scan)
    pvalue : float
        The threshold crossed.
    background, pseudocount
        As for the motif scan (``background="genome"`` uses the genome's composition).

    Returns
    -------
    xarray.Dataset
        Record dim ``motif_changes``: ``motif_change_allele_row``,
        ``motif_change_variant``, ``motif_change_allele`` (allele index),
        ``motif_change_motif`` (index into ``motif_id``), ``motif_change_ref_pvalue``,
        ``motif_change_alt_pvalue``, ``motif_change_kind`` (``gain``/``loss``); and
        ``motif_id``, ``motif_name`` on dim ``motifs``.
    """
    from ..motifs.background import background_frequencies
    from ..motifs.bank import build_bank
    from ..motifs.scanning import _motif_list

    motif_list = _motif_list(motifs)
    frequencies = background_frequencies(background, genome=genome)
    bank = build_bank(motif_list, frequencies, pvalue=pvalue, pseudocount=pseudocount, pvalue_tables=True)
    flank = int(bank.width.max()) - 1
    rows = {k: [] for k in ("row", "motif", "ref", "alt")}
    cache = (-1, 0, None)
    for r in np.flatnonzero(alleles.ok):
        c, start, ref_length = int(alleles.contig[r]), int(alleles.start[r]), int(alleles.ref_length[r])
        if cache[0] != c:
            name = genome.contig_names[c]
            cache = (c, 0, genome.fetch(name, 0, genome.contig_length(name)))
        contig = cache[2]
        left = contig[max(0, start - flank) : start]
        right = contig[start + ref_length : start + ref_length + flank]
        ref_seq = np.concatenate([left, contig[start : start + ref_length], right])
        alt = alleles.alt_codes[r]
        alt_seq = np.concatenate([left, alt, right])
        ref_p = _best_pvalues(bank, ref_seq, left.size, left.size + ref_length)
        alt_p = _best_pvalues(bank, alt_seq, left.size, left.size + max(alt.size, 1))
        crossed = np.flatnonzero((ref_p <= pvalue) != (alt_p <= pvalue))
        rows["row"] += [r] * crossed.size
        rows["motif"] += crossed.tolist()
        rows["ref"] += ref_p[crossed].tolist()
        rows["alt"] += alt_p[crossed].tolist()
    row = np.array(rows["row"], dtype=np.int64)
    alt_p = np.array(rows["alt"], dtype=np.float64)
    return xr.Dataset(
        {
            "motif_change_variant": ("motif_changes", alleles.variant[row]),
            "motif_change_allele": ("motif_changes", alleles.alt[row]),
            "motif_change_motif": ("motif_changes", np.array(rows["motif"], dtype=np.int64)),
            "motif_change_ref_pvalue": ("motif_changes", np.array(rows["ref"], dtype=np.float64)),
            "motif_change_alt_pvalue": ("motif_changes", alt_p),
            "motif_change_kind": ("motif_changes", np.where(alt_p <= pvalue, "gain", "loss").astype("<U4")),
            "motif_id": ("motifs", bank.motif_id.astype(str)),
            "motif_name": ("motifs", bank.motif_name.astype(str)),
        },
        attrs={"motif_pvalue": pvalue},
    )
