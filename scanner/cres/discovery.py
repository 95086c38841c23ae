"""Motif discovery from a run's contributions with modisco-lite (TF-MoDISco).

The run's one-hot sequences and hypothetical contributions go to modisco-lite in
memory, straight from the run's Zarr (nothing is written twice). Its patterns
become :class:`~scanner.motifs.motif.Motif` records (the pattern's PFM, trimmed
to the columns with at least ``min_information`` bits, with the contribution
weight matrix kept) and are compared with a motif database by TOMTOM's method.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..motifs.motif import Motif

if TYPE_CHECKING:
    import xarray as xr

log = logging.getLogger(__name__)


@dataclass
class Patterns:
    """modisco-lite's positive and negative patterns, and our motifs of them."""

    positive: list
    negative: list
    motifs: list[Motif]
    window: int


def _information(probabilities: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 2.0 + np.where(probabilities > 0, probabilities * np.log2(probabilities), 0.0).sum(axis=1)


def pattern_motif(pattern, name: str, min_information: float = 0.3) -> Motif | None:
    """The pattern's PFM trimmed at both ends to columns with ``min_information`` bits."""
    probabilities = np.asarray(pattern.sequence, dtype=np.float64)
    probabilities = probabilities / np.maximum(probabilities.sum(axis=1, keepdims=True), 1e-12)
    strong = np.flatnonzero(_information(probabilities) >= min_information)
    if len(strong) == 0:
        return None
    return Motif(name, name, probabilities[strong[0] : strong[-1] + 1], n_sites=float(len(pattern.seqlets)),
                 source="modisco-lite pattern")


def discover(run_path, *, window: int = 21, flank: int = 10, fdr: float = 0.2, max_seqlets: int = 2000,
             leiden_runs: int = 8, min_information: float = 0.3) -> Patterns:
    """TF-MoDISco patterns of an attribution run.

    Parameters
    ----------
    run_path : path-like
        An attribution run (gene windows or tiles).
    window, flank, fdr : as for seqlets
    max_seqlets : int
        Seqlets per sign kept for clustering (modisco-lite's
        ``max_seqlets_per_metacluster``).
    leiden_runs : int
        Leiden clustering restarts (modisco-lite's ``n_leiden_runs``).

    Returns
    -------
    Patterns
        Motifs named ``pos_pattern_<i>`` / ``neg_pattern_<i>``.
    """
    try:
        from modiscolite.tfmodisco import TFMoDISco
    except ImportError:
        raise ImportError("motif discovery needs modisco-lite: pip install 'cre-scanner[discover]'") from None

    from ..inference.run import open_run

    run = open_run(run_path)
    if "window_hypothetical" not in run:
        raise ValueError(f"{run_path} holds predictions only; discovery needs an attribution run (scanner attribute)")
    base = run.window_sequence.values & 7
    one_hot = (base[..., None] == np.arange(4)).astype(np.float32)
    hypothetical = np.nan_to_num(run.window_hypothetical.values.astype(np.float32))
    positive, negative = TFMoDISco(one_hot=one_hot, hypothetical_contribs=hypothetical, sliding_window_size=window,
                                   flank_size=flank, target_seqlet_fdr=fdr, max_seqlets_per_metacluster=max_seqlets,
                                   n_leiden_runs=leiden_runs, verbose=False)
    motifs = []
    for prefix, patterns in (("pos", positive or []), ("neg", negative or [])):
        for i, pattern in enumerate(patterns):
            motif = pattern_motif(pattern, f"{prefix}_pattern_{i}", min_information)
            if motif is not None:
                motifs.append(motif)
    log.info("modisco-lite: %d positive and %d negative patterns", len(positive or []), len(negative or []))
    return Patterns(positive or [], negative or [], motifs, window)


def save_patterns(patterns: Patterns, path) -> None:
    """modisco-lite's HDF5 layout (readable by its report and other tools)."""
    from modiscolite.io import save_hdf5

    save_hdf5(str(path), patterns.positive or None, patterns.negative or None, patterns.window)


def pattern_names(patterns: Patterns) -> list[tuple[str, object]]:
    """``(name, pattern)`` of every pattern, named as :func:`discover` names its motifs."""
    return [(f"{prefix}_pattern_{i}", pattern)
            for prefix, group in (("pos", patterns.positive), ("neg", patterns.negative))
            for i, pattern in enumerate(group)]


def pattern_seqlets(patterns: Patterns, run_path) -> xr.Dataset:
    """The seqlets each pattern was built from, placed on the genome.

    Parameters
    ----------
    patterns : Patterns
        From :func:`discover` on ``run_path``.
    run_path : path-like
        The run the patterns were discovered in (its windows map slots to the genome).

    Returns
    -------
    xarray.Dataset
        Dim ``pattern_seqlets``: ``pattern_seqlet_pattern`` (pattern name),
        ``pattern_seqlet_window``, ``pattern_seqlet_slot_start``,
        ``pattern_seqlet_slot_end`` (window positions, half-open),
        ``pattern_seqlet_revcomp``, ``pattern_seqlet_contig``,
        ``pattern_seqlet_start``, ``pattern_seqlet_end`` (genome, 0-based
        half-open; -1 where the seqlet covers no genome base); the contig table.
    """
    import xarray as xr

    from ..inference.run import open_run
    from ..tiling.coordinates import window_positions
    from ..variables import annotate

    run = open_run(run_path)
    positions = window_positions(run).values
    window_contig = run.window_contig.values
    rows = [(name, s.example_idx, s.start, s.end, bool(s.is_revcomp))
            for name, pattern in pattern_names(patterns) for s in pattern.seqlets]
    name = np.array([r[0] for r in rows], dtype=str)
    window = np.array([r[1] for r in rows], dtype=np.int64)
    slot_start = np.array([r[2] for r in rows], dtype=np.int64)
    slot_end = np.array([r[3] for r in rows], dtype=np.int64)
    contig = np.full(len(rows), -1, np.int64)
    start = np.full(len(rows), -1, np.int64)
    end = np.full(len(rows), -1, np.int64)
    length = positions.shape[1]
    for i in range(len(rows)):
        slots = positions[window[i], max(slot_start[i], 0) : min(slot_end[i], length)]
        genome = slots[slots >= 0]
        if genome.size:
            contig[i], start[i], end[i] = window_contig[window[i]], genome.min(), genome.max() + 1
    ds = xr.Dataset(
        {
            "pattern_seqlet_pattern": ("pattern_seqlets", name),
            "pattern_seqlet_window": ("pattern_seqlets", window),
            "pattern_seqlet_slot_start": ("pattern_seqlets", slot_start),
            "pattern_seqlet_slot_end": ("pattern_seqlets", slot_end),
            "pattern_seqlet_revcomp": ("pattern_seqlets", np.array([r[4] for r in rows], dtype=bool)),
            "pattern_seqlet_contig": ("pattern_seqlets", contig),
            "pattern_seqlet_start": ("pattern_seqlets", start),
            "pattern_seqlet_end": ("pattern_seqlets", end),
            "contig_id": ("contigs", run.contig_id.values.astype(str)),
            "contig_length": ("contigs", run.contig_length.values.astype(np.int64)),
        },
        attrs={"coordinates": "0-based, half-open"},
    )
    return annotate(ds)
