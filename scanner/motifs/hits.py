"""The hits table: building it from kernel output, q-values, storing it in Zarr."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..variables import annotate, validate
from .bank import MotifBank

HIT_FIELDS = {
    "hit_contig": np.int32,
    "hit_start": np.int64,
    "hit_end": np.int64,
    "hit_strand": "<U1",
    "hit_motif": np.int32,
    "hit_score": np.float64,
    "hit_pvalue": np.float64,
}


def hit_columns(bank: MotifBank, contig: int, offset: int, start, motif_strand, scaled) -> dict[str, np.ndarray]:
    """Kernel output of one stretch of one contig -> hit columns.

    ``offset`` is the genome position of index 0 of the scanned codes.
    """
    score, pvalue = bank.scores_and_pvalues(motif_strand, scaled)
    genome_start = np.asarray(start, dtype=np.int64) + offset
    return {
        "hit_contig": np.full(genome_start.size, contig, dtype=np.int32),
        "hit_start": genome_start,
        "hit_end": genome_start + bank.width[motif_strand],
        "hit_strand": np.where(motif_strand < bank.n_motifs, "+", "-").astype("<U1"),
        "hit_motif": (motif_strand % bank.n_motifs).astype(np.int32),
        "hit_score": score,
        "hit_pvalue": pvalue,
    }


def benjamini_hochberg(pvalue: np.ndarray, motif: np.ndarray, tested: np.ndarray) -> np.ndarray:
    """Per-motif Benjamini-Hochberg q-values over all tested windows.

    The hits are every window with p <= threshold, so they are the smallest
    p-values of their motif and their ranks among the hits are their ranks among
    all ``tested[motif]`` windows (both strands). As in FIMO, the running minimum
    that makes q-values monotone is taken over the stored hits only (FIMO also
    multiplies by an estimate of the null proportion; here it is 1).

    Parameters
    ----------
    pvalue : ndarray of float64, shape (hits,)
    motif : ndarray of int, shape (hits,)
    tested : ndarray of int64, shape (motifs,)

    Returns
    -------
    ndarray of float64, shape (hits,)
    """
    from .hits_numba_fns import qvalues_by_motif

    pvalue = np.ascontiguousarray(pvalue, dtype=np.float64)
    qvalue = np.empty_like(pvalue)
    motif = np.ascontiguousarray(motif)
    if motif.dtype.kind not in "iu":
        motif = motif.astype(np.int64)
    qvalues_by_motif(pvalue, pvalue.view(np.uint64), motif, np.asarray(tested, dtype=np.int64), qvalue)
    return qvalue


def hits_dataset(columns: dict[str, np.ndarray], bank: MotifBank, contig_id, contig_length, tested, attrs) -> xr.Dataset:
    """The hits dataset with its motif and contig tables."""
    ds = xr.Dataset(
        {name: ("hits", values) for name, values in columns.items()}
        | {
            "motif_id": ("motifs", bank.motif_id),
            "motif_name": ("motifs", bank.motif_name),
            "motif_width": ("motifs", bank.width[: bank.n_motifs]),
            "motif_tested_windows": ("motifs", np.asarray(tested, dtype=np.int64)),
            "contig_id": ("contigs", np.asarray(contig_id)),
            "contig_length": ("contigs", np.asarray(contig_length, dtype=np.int64)),
        },
        attrs=attrs,
    )
    validate(ds)
    return annotate(ds)


def empty_columns() -> dict[str, np.ndarray]:
    return {name: np.empty(0, dtype=dtype) for name, dtype in HIT_FIELDS.items()}
