"""Motifs packed for the scanning kernel: integer PSSMs of both strands, cut-offs,
column orders and look-ahead bounds, and the tables that turn integer scores into
FIMO's scores and p-values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .motif import Motif
from .pssm import ScaledPssm, build_strands
from .scan_numba_fns import N_SCORE, QUAD


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
    pvalue_table: np.ndarray | None  # flat float64, each strand's whole table (only if asked for)
    pvalue_base: np.ndarray  # (motif-strands,) int64
    pvalue_size: np.ndarray  # (motif-strands,) int64
    # the anchor index (see scan_numba_fns.scan_indexed)
    anchor: int
    anchor_offset: np.ndarray  # (motif-strands,) int64
    index_offsets: np.ndarray  # (4**anchor + 2,) int64 CSR offsets by anchor word; the last word is "holds an N"
    index_entries: np.ndarray  # (entries, 4) int32: slack, motif-strand, first block's losses, its word offset from the anchor
    short_lengths: np.ndarray  # (lengths,) int64, anchor lengths below ``anchor`` in use
    short_offsets: np.ndarray  # flat CSR offsets, one table of 4**a + 1 per short length
    short_base: np.ndarray  # (lengths,) int64, into short_offsets
    # per motif-strand: anchor offset, first block, block count, cut-off, width
    strand_info: np.ndarray  # (motif-strands, 5) int64
    # the columns outside the anchor in blocks of up to QUAD columns, each scored by
    # one lookup of the QUAD-base word at the block's offset, largest expected loss first
    block_info: np.ndarray  # (blocks, 2) int64: word offset in the window, start in block_loss
    block_loss: np.ndarray  # flat int16, 4**QUAD losses (best minus score) per block
    # hit slots: one per (motif-strand, integer score from the cut-off to the best
    # reachable), a motif's two strands side by side; hits are counted per slot to
    # give q-values without holding the hits
    slot_base: np.ndarray  # (motif-strands,) int64, the slot of the strand's cut-off score
    slot_pvalue: np.ndarray  # (slots,) float64
    slot_motif: np.ndarray  # (slots,) int32

    @property
    def n_motifs(self) -> int:
        return int(self.motif_id.size)


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


def _anchor(pssm: ScaledPssm, anchor: int) -> tuple[int, int]:
    """(offset, length) of the run of columns that best tells windows apart."""
    length = min(anchor, pssm.width)
    spread = (pssm.cells.max(axis=1) - pssm.cells.min(axis=1)).astype(np.int64)
    sums = np.convolve(spread, np.ones(length, dtype=np.int64), mode="valid")
    return int(np.argmax(sums)), length


def _word_scores(cells: np.ndarray) -> np.ndarray:
    """Score of every word over ``cells`` (a, 4), indexed by the word's base-4 code."""
    from .pssm_numba_fns import word_scores

    out = np.empty(4 ** cells.shape[0], dtype=np.int64)
    word_scores(np.ascontiguousarray(cells, dtype=np.int64), out)
    return out


def _rest_blocks(pssm: ScaledPssm, offset: int, length: int, background: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """The columns outside the anchor as blocks of up to QUAD contiguous columns:
    (offset of the QUAD-base word that covers the block inside the window, losses
    by word), largest expected loss first so hopeless windows stop soonest."""
    blocks = []
    cells = pssm.cells.astype(np.int64)
    for lo, hi in ((0, offset), (offset + length, pssm.width)):
        for start in range(lo, hi, QUAD):
            stop = min(start + QUAD, hi)
            word = min(start, pssm.width - QUAD)  # the word may reach into scored columns; they add nothing
            padded = np.zeros((QUAD, 4), dtype=np.int64)
            padded[start - word : stop - word] = cells[start:stop]
            scores = _word_scores(padded)
            expected = int(scores.max()) - float((cells[start:stop] @ background).sum())
            blocks.append((expected, word, (scores.max() - scores).astype(np.int32)))
    blocks.sort(key=lambda b: -b[0])
    return [(word, losses) for _, word, losses in blocks]


def _csr_index(strand, word, slack, lengths, anchor: int, n_keys: int, strand_table, strand_rel, entries):
    """Fill ``entries`` (int32 (n, 4): slack, motif-strand, its first block's losses,
    that block's word offset from the anchor) with the anchor words by
    ``anchor``-base word, and return the CSR offsets (``n_keys + 1``)."""
    from .bank_numba_fns import count_index_keys, fill_index

    offsets = np.zeros(n_keys + 1, dtype=np.int64)
    count_index_keys(strand, word, lengths, anchor, offsets)
    np.cumsum(offsets, out=offsets)
    fill_index(strand, word, slack, lengths, anchor, offsets, np.empty_like(offsets), strand_table, strand_rel, entries)
    return offsets


def _index_size(strand, lengths, anchor: int) -> int:
    """Main index entries of the anchor words: each shorter anchor counts once per word it starts."""
    per_strand = np.bincount(strand, minlength=lengths.size)
    return int((per_strand * 4 ** (anchor - lengths)).sum())


def _kept_anchor_words(strands: list[ScaledPssm], anchors: list[tuple[int, int]], cutoffs: np.ndarray):
    """(strand, word, slack) of every anchor word that can still reach its strand's
    cut-off, strand by strand, words ascending."""
    from .bank_numba_fns import anchor_words

    cells = np.ascontiguousarray(np.concatenate([p.cells for p in strands]), dtype=np.int64)
    widths = np.array([p.width for p in strands], dtype=np.int64)
    column_base = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
    offset = np.array([o for o, _ in anchors], dtype=np.int64)
    length = np.array([a for _, a in anchors], dtype=np.int64)
    best = cells.max(axis=1)
    total = np.add.reduceat(best, column_base)
    in_anchor = np.array([int(best[b + o : b + o + a].sum()) for b, o, a in zip(column_base, offset, length)], dtype=np.int64)
    need = cutoffs - (total - in_anchor)  # the cut-off less the best of the columns outside the anchor
    capacity = 1 << 20
    columns = [np.empty(capacity, dtype=np.int64) for _ in range(3)]
    n, k = 0, 0
    while k < len(strands):
        n, k = anchor_words(cells, column_base, offset, length, need, k, *columns, n)
        if k < len(strands):
            capacity *= 2
            columns = [np.concatenate([c[:n], np.empty(capacity - n, dtype=np.int64)]) for c in columns]
    return tuple(c[:n] for c in columns)


def _build_index(strands: list[ScaledPssm], anchors, cutoffs: np.ndarray, anchor: int, strand_table, strand_rel):
    """The main index by ``anchor``-base word, and per-length tables of the shorter
    anchors, their entries end to end in one (entries, 4) int32 array."""
    strand, word, slack = _kept_anchor_words(strands, anchors, cutoffs)
    lengths = np.array([a for _, a in anchors], dtype=np.int64)
    bounds = np.searchsorted(strand, np.arange(len(strands) + 1))  # strand k's words: bounds[k] .. bounds[k + 1]
    short = {a: np.flatnonzero(lengths == a) for a in np.unique(lengths[lengths < anchor]).tolist()}
    short_rows = {a: np.concatenate([np.arange(bounds[k], bounds[k + 1]) for k in ks]) for a, ks in short.items()}
    short_rows = {a: rows for a, rows in short_rows.items() if rows.size}  # lengths no strand can use: no table
    main_size = _index_size(strand, lengths, anchor)
    entries = np.empty((main_size + sum(rows.size for rows in short_rows.values()), 4), dtype=np.int32)
    n_keys = 4**anchor + 1  # the last key: the word holds an N; no entries
    offsets = _csr_index(strand, word, slack, lengths, anchor, n_keys, strand_table, strand_rel, entries[:main_size])
    short_lengths, short_offsets, short_base = [], [], []
    position, total = 0, main_size
    for a, rows in short_rows.items():
        table_offsets = _csr_index(strand[rows], word[rows], slack[rows], lengths, a, 4**a, strand_table, strand_rel,
                                   entries[total : total + rows.size])
        short_lengths.append(a)
        short_offsets.append(table_offsets + total)
        short_base.append(position)
        position += table_offsets.size
        total += rows.size
    return (
        offsets,
        entries,
        np.array(short_lengths, dtype=np.int64),
        np.concatenate(short_offsets).astype(np.int64) if short_offsets else np.zeros(1, dtype=np.int64),
        np.array(short_base, dtype=np.int64),
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
    pvalue_tables: bool = False,
) -> MotifBank:
    """Pack ``motifs`` for scanning at p-value threshold ``pvalue`` (hits have p <= it).

    With ``pvalue_tables``, the bank keeps every strand's whole p-value table
    (``pvalue_table``: the p-value of any integer score, about 120 kB per strand of
    a 15-column motif); otherwise only the p-values of the scores a scan reports
    (``slot_pvalue``), and ``pvalue_table`` is None."""
    if not motifs:
        raise ValueError("no motifs to scan")
    if not 0 < pvalue <= 1:
        raise ValueError(f"p-value threshold must be in (0, 1], got {pvalue}")
    from ..cluster import available_cores

    strands, pvalue_table, cutoffs = build_strands(
        motifs, background, pseudocount=pseudocount, pseudocount_background=pseudocount_background,
        both_strands=both_strands, threshold=pvalue, whole=pvalue_tables, threads=available_cores(),
    )
    packed = [_pack(p) for p in strands]
    widths = np.array([p.width for p in strands], dtype=np.int64)
    base = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
    sizes = np.array([p.pvalues.size for p in strands], dtype=np.int64)
    if anchor < QUAD:
        raise ValueError(f"anchor must be at least {QUAD} columns, got {anchor}")
    anchors = [_anchor(p, anchor) for p in strands]
    anchor_offset = np.array([offset for offset, _ in anchors], dtype=np.int64)
    per_strand = [_rest_blocks(p, offset, a, background) for p, (offset, a) in zip(strands, anchors)]
    block_count = np.array([len(blocks) for blocks in per_strand], dtype=np.int64)
    block_first = np.concatenate([[0], np.cumsum(block_count)[:-1]]).astype(np.int64)
    words = [word for blocks in per_strand for word, _ in blocks]
    n_blocks = len(words)
    # one more block of no loss: the first block of motif-strands that have none
    losses = np.zeros((n_blocks + 1, 4**QUAD), dtype=np.int16)  # at most QUAD * 1000
    for b, table in enumerate(table for blocks in per_strand for _, table in blocks):
        losses[b] = table
    block_info = np.zeros((n_blocks + 1, 2), dtype=np.int64)
    block_info[:n_blocks, 0] = words
    block_info[:, 1] = np.arange(n_blocks + 1) * 4**QUAD
    strand_info = np.stack([anchor_offset, block_first, block_count, cutoffs, widths], axis=1).astype(np.int64)
    first_block = np.where(block_count > 0, block_first, n_blocks)
    strand_table = block_info[first_block, 1]
    strand_rel = np.where(block_count > 0, block_info[first_block, 0] - anchor_offset, 0)
    offsets, entries, short_lengths, short_offsets, short_base = _build_index(
        strands, anchors, cutoffs, anchor, strand_table, strand_rel
    )
    slot_base, slot_pvalue, slot_motif = _slots(strands, cutoffs, len(motifs), pvalue_table)
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
        pvalue_table=pvalue_table if pvalue_tables else None,
        pvalue_base=np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
        pvalue_size=sizes,
        anchor=anchor,
        anchor_offset=anchor_offset,
        index_offsets=offsets,
        index_entries=entries,
        short_lengths=short_lengths,
        short_offsets=short_offsets,
        short_base=short_base,
        strand_info=strand_info,
        block_info=block_info,
        block_loss=losses.reshape(-1),
        slot_base=slot_base,
        slot_pvalue=slot_pvalue,
        slot_motif=slot_motif,
    )


def _slots(strands: list[ScaledPssm], cutoffs: np.ndarray, n_motifs: int, pvalue_table: np.ndarray):
    """Slot bases, p-values and motifs of the scores from each cut-off to the best
    reachable (none where the cut-off is beyond it), motif by motif."""
    from .bank_numba_fns import gather_slots

    best = np.array([int(p.cells.max(axis=1).sum()) for p in strands], dtype=np.int64)
    sizes = np.maximum(best - cutoffs + 1, 0)
    layout = np.arange(len(strands)).reshape(-1, n_motifs).T.ravel()  # (m, +), (m, -), (m + 1, +), ...
    slot_base = np.zeros(len(strands), dtype=np.int64)
    slot_base[layout] = np.concatenate([[0], np.cumsum(sizes[layout])[:-1]])
    table_base = np.concatenate([[0], np.cumsum([p.pvalues.size for p in strands])[:-1]]).astype(np.int64)
    slot_pvalue = np.empty(int(sizes.sum()))
    slot_motif = np.empty(slot_pvalue.size, dtype=np.int32)
    gather_slots(pvalue_table, table_base, cutoffs, sizes, slot_base, n_motifs, slot_pvalue, slot_motif)
    return slot_base, slot_pvalue, slot_motif
