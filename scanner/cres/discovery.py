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

import numpy as np

from ..motifs.motif import Motif

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
