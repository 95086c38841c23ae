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
    """Kernel output of one stretch of one contig -> hit columns, and ``hit_slot``
    (see :class:`MotifBank`), which the q-values are counted by and which is not kept.

    ``offset`` is the genome position of index 0 of the scanned codes.
    """
    from .hits_numba_fns import fill_hit_columns

    n = len(start)
    columns = {name: np.empty(n, dtype=np.uint32 if name == "hit_strand" else dtype) for name, dtype in HIT_FIELDS.items()}
    columns["hit_contig"][:] = contig
    columns["hit_slot"] = np.empty(n, dtype=np.int32)
    fill_hit_columns(
        np.asarray(start, dtype=np.int64), np.asarray(motif_strand, dtype=np.int64), np.asarray(scaled, dtype=np.int64),
        offset, bank.n_motifs, bank.width, bank.scale, bank.offset, bank.slot_base, bank.cutoff, bank.slot_pvalue,
        *(columns[name] for name in ("hit_start", "hit_end", "hit_strand", "hit_motif", "hit_score", "hit_pvalue", "hit_slot")),
    )
    columns["hit_strand"] = columns["hit_strand"].view("<U1")
    return columns


def count_slots(slots: np.ndarray, counts: np.ndarray) -> None:
    """Add hits to ``counts`` (int64, (slots,)) by their slot (int32, each in range)."""
    from .hits_numba_fns import add_counts

    slots = np.ascontiguousarray(slots, dtype=np.int32)
    if slots.size and (slots.min() < 0 or slots.max() >= counts.size):
        raise ValueError(f"hit slots must lie in 0 .. {counts.size - 1}; got {slots.min()} .. {slots.max()}")
    add_counts(slots, counts)


def slot_qvalues(bank: MotifBank, counts: np.ndarray, tested: np.ndarray) -> np.ndarray:
    """Per-motif Benjamini-Hochberg q-value of each hit slot (NaN where no hit):
    :func:`benjamini_hochberg` of every hit, worked out once per slot.

    Parameters
    ----------
    counts : ndarray of int64, shape (slots,)
        Hits per slot, genome-wide.
    tested : ndarray of int64, shape (motifs,)

    Returns
    -------
    ndarray of float64, shape (slots,)
    """
    used = np.flatnonzero(counts)
    qvalue = np.full(counts.size, np.nan)
    qvalue[used] = benjamini_hochberg(bank.slot_pvalue[used], bank.slot_motif[used], tested, counts=counts[used])
    return qvalue


def benjamini_hochberg(pvalue: np.ndarray, motif: np.ndarray, tested: np.ndarray, *, counts: np.ndarray | None = None) -> np.ndarray:
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
    counts : ndarray of int64, shape (hits,), optional
        How many hits each entry stands for (default 1 each).

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
    counts = np.ones(pvalue.size, dtype=np.int64) if counts is None else np.ascontiguousarray(counts, dtype=np.int64)
    qvalues_by_motif(pvalue, pvalue.view(np.uint64), motif, counts, np.asarray(tested, dtype=np.int64), qvalue)
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
