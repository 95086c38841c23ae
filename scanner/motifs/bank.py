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
    # the anchor index (see scan_numba_fns.scan_indexed)
    anchor: int
    anchor_lengths: np.ndarray  # (lengths,) int64, the distinct anchor lengths in use
    anchor_offset: np.ndarray  # (motif-strands,) int64
    index_offsets: np.ndarray  # flat CSR offsets, one table of 4**a + 1 per anchor length
    index_offsets_base: np.ndarray  # (lengths,) int64
    entry_motif: np.ndarray  # (entries,) int64
    entry_partial: np.ndarray  # (entries,) int64
    # the columns outside the anchor, in blocks of up to BLOCK columns each scored
    # by one lookup, most discriminating block first
    block_first: np.ndarray  # (motif-strands,) int64, first block of the motif-strand
    block_count: np.ndarray  # (motif-strands,) int64
    block_offset: np.ndarray  # (blocks,) int64, first column of the block
    block_length: np.ndarray  # (blocks,) int64
    block_table_base: np.ndarray  # (blocks,) int64, into block_table
    block_bound: np.ndarray  # (blocks,) int64, best the later blocks can add
    block_table: np.ndarray  # flat int32, 4**length scores per block

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


#: Anchor length of the k-mer index: motifs up to this width are looked up whole;
#: wider ones through their most discriminating run of this many columns.
ANCHOR = 8
#: Columns outside the anchor are scored in blocks of up to this many, each by one
#: lookup in a table of 4**BLOCK entries (small, so all tables stay in cache).
BLOCK = 4


def _anchor(pssm: ScaledPssm, anchor: int) -> tuple[int, int]:
    """(offset, length) of the run of columns that best tells windows apart."""
    length = min(anchor, pssm.width)
    spread = (pssm.cells.max(axis=1) - pssm.cells.min(axis=1)).astype(np.int64)
    sums = np.convolve(spread, np.ones(length, dtype=np.int64), mode="valid")
    return int(np.argmax(sums)), length


def _anchor_scores(cells: np.ndarray) -> np.ndarray:
    """Score of every a-mer over ``cells`` (a, 4), indexed by the a-mer's base-4 code."""
    total = np.zeros(1, dtype=np.int64)
    for row in cells.astype(np.int64):
        total = (total[:, None] + row[None, :]).reshape(-1)
    return total


def _rest_blocks(pssm: ScaledPssm, offset: int, length: int) -> list[tuple[int, int, np.ndarray]]:
    """The columns outside the anchor as (offset, length, score table) blocks of up to
    BLOCK contiguous columns, most discriminating first."""
    blocks = []
    for lo, hi in ((0, offset), (offset + length, pssm.width)):
        for start in range(lo, hi, BLOCK):
            stop = min(start + BLOCK, hi)
            blocks.append((start, stop - start, _anchor_scores(pssm.cells[start:stop]).astype(np.int32)))
    return sorted(blocks, key=lambda b: -(int(b[2].max()) - int(b[2].min())))


def _build_index(strands: list[ScaledPssm], cutoffs: np.ndarray, anchor: int):
    anchors = [_anchor(p, anchor) for p in strands]
    tables, bases, motifs_, partials, used = [], [], [], [], []
    position = 0
    for length in sorted({length for _, length in anchors}):
        keys, members, scores = [], [], []
        for k, (pssm, (offset, a)) in enumerate(zip(strands, anchors)):
            if a != length:
                continue
            partial = _anchor_scores(pssm.cells[offset : offset + a])
            best_rest = int(pssm.cells.max(axis=1).sum()) - int(pssm.cells[offset : offset + a].max(axis=1).sum())
            keep = np.flatnonzero(partial + best_rest >= cutoffs[k])
            keys.append(keep)
            members.append(np.full(keep.size, k, dtype=np.int64))
            scores.append(partial[keep])
        keys = np.concatenate(keys)
        if keys.size == 0:
            continue  # no motif of this anchor length can reach its cut-off: skip the lookups
        used.append(length)
        order = np.argsort(keys, kind="stable")
        counts = np.bincount(keys, minlength=4**length)
        tables.append(np.concatenate([[0], np.cumsum(counts)]) + sum(m.size for m in motifs_))
        motifs_.append(np.concatenate(members)[order])
        partials.append(np.concatenate(scores)[order])
        bases.append(position)
        position += 4**length + 1
    if not used:  # nothing can reach its cut-off: an index that matches nothing
        used, tables, bases = [1], [np.zeros(5, dtype=np.int64)], [0]
        motifs_, partials = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    return (
        np.array(used, dtype=np.int64),
        np.array([offset for offset, _ in anchors], dtype=np.int64),
        np.concatenate(tables).astype(np.int64),
        np.array(bases, dtype=np.int64),
        np.concatenate(motifs_).astype(np.int64),
        np.concatenate(partials).astype(np.int64),
        [(offset, a) for offset, a in anchors],
    )


def build_bank(
    motifs: list[Motif],
    background: np.ndarray,
    *,
    pvalue: float,
    pseudocount: float = 0.1,
    both_strands: bool = True,
    pseudocount_background: np.ndarray | None = None,
    anchor: int = ANCHOR,
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
    cutoffs = np.array([p.cutoff(pvalue) for p in strands], dtype=np.int64)
    lengths, anchor_offset, offsets, offsets_base, entry_motif, entry_partial, anchors = _build_index(strands, cutoffs, anchor)
    per_strand = [_rest_blocks(p, offset, a) for p, (offset, a) in zip(strands, anchors)]
    block_offset, block_length, block_table_base, block_bound, tables = [], [], [], [], []
    position = 0
    for blocks in per_strand:
        best = [int(table.max()) for _, _, table in blocks]
        for b, (offset, length, table) in enumerate(blocks):
            block_offset.append(offset)
            block_length.append(length)
            block_table_base.append(position)
            block_bound.append(sum(best[b + 1 :]))
            tables.append(table)
            position += table.size
    block_count = np.array([len(blocks) for blocks in per_strand], dtype=np.int64)
    return MotifBank(
        motif_id=np.array([m.motif_id for m in motifs]),
        motif_name=np.array([m.name for m in motifs]),
        cells=np.concatenate([c for c, _, _ in packed]),
        order=np.concatenate([o for _, o, _ in packed]),
        bound=np.concatenate([b for _, _, b in packed]),
        base=base,
        width=widths,
        cutoff=cutoffs,
        scale=np.array([p.scale for p in strands], dtype=np.float64),
        offset=np.array([p.offset for p in strands], dtype=np.float64),
        pvalue_table=np.concatenate([p.pvalues for p in strands]),
        pvalue_base=np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
        pvalue_size=sizes,
        anchor=anchor,
        anchor_lengths=lengths,
        anchor_offset=anchor_offset,
        index_offsets=offsets,
        index_offsets_base=offsets_base,
        entry_motif=entry_motif,
        entry_partial=entry_partial,
        block_first=np.concatenate([[0], np.cumsum(block_count)[:-1]]).astype(np.int64),
        block_count=block_count,
        block_offset=np.array(block_offset, dtype=np.int64),
        block_length=np.array(block_length, dtype=np.int64),
        block_table_base=np.array(block_table_base, dtype=np.int64),
        block_bound=np.array(block_bound, dtype=np.int64),
        block_table=np.concatenate(tables) if tables else np.zeros(1, dtype=np.int32),
    )


def scan_codes(
    codes: np.ndarray, first_start: int, last_start: int, bank: MotifBank, *, capacity: int = 1 << 16, dense: bool = False
):
    """Hits among window starts ``[first_start, last_start)`` of ``codes``.

    Parameters
    ----------
    dense : bool
        Score every window against every motif (the simple kernel) instead of
        going through the anchor index; both give the same hits.

    Returns
    -------
    start : ndarray of int64
        Window start (index into ``codes``), sorted, then by motif-strand.
    motif_strand : ndarray of int64
    scaled : ndarray of int64
        Integer window score.
    """
    from .scan_numba_fns import kmer_codes, scan_block, scan_indexed

    capacity = max(capacity, 4 * bank.base.size)
    if not dense:
        kmer = np.zeros(codes.size, dtype=np.int64)
        free = np.zeros(codes.size, dtype=np.int64)
        kmer_codes(codes, bank.anchor, kmer, free)
    starts, motifs, scores = [], [], []
    position, stop = first_start, last_start
    while True:
        hit_start = np.empty(capacity, dtype=np.int64)
        hit_motif = np.empty(capacity, dtype=np.int64)
        hit_score = np.empty(capacity, dtype=np.int64)
        if dense:
            n, position = scan_block(
                codes, position, last_start, bank.cells, bank.order, bank.bound, bank.base, bank.width, bank.cutoff,
                hit_start, hit_motif, hit_score, 0,
            )
        else:
            stop = min(last_start + int(bank.anchor_offset.max()), codes.size)
            n, position = scan_indexed(
                codes, position, first_start, last_start, bank.anchor, kmer, free, bank.anchor_lengths, bank.index_offsets,
                bank.index_offsets_base, bank.entry_motif, bank.entry_partial, bank.anchor_offset, bank.width,
                bank.cutoff, bank.block_first, bank.block_count, bank.block_offset, bank.block_length,
                bank.block_table_base, bank.block_bound, bank.block_table,
                int(bank.anchor_offset.max()), hit_start, hit_motif, hit_score, 0,
            )
        starts.append(hit_start[:n])
        motifs.append(hit_motif[:n])
        scores.append(hit_score[:n])
        if position >= stop:
            break
    start, motif, score = np.concatenate(starts), np.concatenate(motifs), np.concatenate(scores)
    order = np.lexsort((motif, start))
    return start[order], motif[order], score[order]
