"""Motifs packed for the scanning kernel: integer PSSMs of both strands, cut-offs,
column orders and look-ahead bounds, and the tables that turn integer scores into
FIMO's scores and p-values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .motif import Motif
from .pssm import ScaledPssm, build_pssms
from .scan_numba_fns import N_SCORE


@dataclass(frozen=True)
class MotifBank:
    """Everything the kernel and the hit tables need, as flat numpy arrays.

    Motif-strand ``k`` is motif ``k % n_motifs`` on strand '+' (``k < n_motifs``)
    or '-' (its reverse complement scanned along the forward sequence).
    """

    motif_id: np.ndarray  # (motifs,) str
    motif_name: np.ndarray  # (motifs,) str
    cells: np.ndarray  # (columns, 5) int32, N column = N_SCORE
    order: np.ndarray  # (columns,) int32
    bound: np.ndarray  # (columns,) int32
    base: np.ndarray  # (motif-strands,) int64
    width: np.ndarray  # (motif-strands,) int64
    cutoff: np.ndarray  # (motif-strands,) int64
    scale: np.ndarray  # (motif-strands,) float64
    offset: np.ndarray  # (motif-strands,) float64
    pvalue_table: np.ndarray  # flat float64
    pvalue_base: np.ndarray  # (motif-strands,) int64
    pvalue_size: np.ndarray  # (motif-strands,) int64

    @property
    def n_motifs(self) -> int:
        return int(self.motif_id.size)

    def scores_and_pvalues(self, motif_strand: np.ndarray, scaled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """FIMO's score (bits) and p-value of integer window scores."""
        k = np.asarray(motif_strand, dtype=np.int64)
        index = np.clip(np.asarray(scaled, dtype=np.int64), 0, self.pvalue_size[k] - 1)
        score = scaled / self.scale[k] + self.width[k] * self.offset[k]
        return score, self.pvalue_table[self.pvalue_base[k] + index]


def _pack(pssm: ScaledPssm) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cells = np.full((pssm.width, 5), N_SCORE, dtype=np.int32)
    cells[:, :4] = pssm.cells
    # Most discriminating columns first: a hopeless window is rejected sooner.
    order = np.argsort(-(pssm.cells.max(axis=1) - pssm.cells.min(axis=1)), kind="stable").astype(np.int32)
    best = pssm.cells.max(axis=1)[order].astype(np.int64)
    remaining = np.concatenate([np.cumsum(best[::-1])[::-1][1:], [0]]).astype(np.int32)
    return cells, order, remaining


def build_bank(
    motifs: list[Motif],
    background: np.ndarray,
    *,
    pvalue: float,
    pseudocount: float = 0.1,
    both_strands: bool = True,
    pseudocount_background: np.ndarray | None = None,
) -> MotifBank:
    """Pack ``motifs`` for scanning at p-value threshold ``pvalue`` (hits have p <= it)."""
    if not motifs:
        raise ValueError("no motifs to scan")
    if not 0 < pvalue <= 1:
        raise ValueError(f"p-value threshold must be in (0, 1], got {pvalue}")
    pairs = [build_pssms(m, background, pseudocount=pseudocount, pseudocount_background=pseudocount_background) for m in motifs]
    strands = [p[0] for p in pairs] + ([p[1] for p in pairs] if both_strands else [])
    packed = [_pack(p) for p in strands]
    widths = np.array([p.width for p in strands], dtype=np.int64)
    base = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
    sizes = np.array([p.pvalues.size for p in strands], dtype=np.int64)
    return MotifBank(
        motif_id=np.array([m.motif_id for m in motifs]),
        motif_name=np.array([m.name for m in motifs]),
        cells=np.concatenate([c for c, _, _ in packed]),
        order=np.concatenate([o for _, o, _ in packed]),
        bound=np.concatenate([b for _, _, b in packed]),
        base=base,
        width=widths,
        cutoff=np.array([p.cutoff(pvalue) for p in strands], dtype=np.int64),
        scale=np.array([p.scale for p in strands], dtype=np.float64),
        offset=np.array([p.offset for p in strands], dtype=np.float64),
        pvalue_table=np.concatenate([p.pvalues for p in strands]),
        pvalue_base=np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
        pvalue_size=sizes,
    )


def scan_codes(codes: np.ndarray, first_start: int, last_start: int, bank: MotifBank, *, capacity: int = 1 << 16):
    """Hits among window starts ``[first_start, last_start)`` of ``codes``.

    Returns
    -------
    start : ndarray of int64
        Window start (index into ``codes``).
    motif_strand : ndarray of int64
    scaled : ndarray of int64
        Integer window score.
    """
    from .scan_numba_fns import scan_block

    capacity = max(capacity, 4 * bank.base.size)
    starts, motifs, scores = [], [], []
    position = first_start
    while True:
        hit_start = np.empty(capacity, dtype=np.int64)
        hit_motif = np.empty(capacity, dtype=np.int64)
        hit_score = np.empty(capacity, dtype=np.int64)
        n, position = scan_block(
            codes, position, last_start, bank.cells, bank.order, bank.bound, bank.base, bank.width, bank.cutoff,
            hit_start, hit_motif, hit_score, 0,
        )
        starts.append(hit_start[:n])
        motifs.append(hit_motif[:n])
        scores.append(hit_score[:n])
        if position >= last_start:
            break
    return np.concatenate(starts), np.concatenate(motifs), np.concatenate(scores)
