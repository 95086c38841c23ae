"""Motifs packed for the scanning kernel: integer PSSMs of both strands, cut-offs,
column orders and look-ahead bounds, and the tables that turn integer scores into
FIMO's scores and p-values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .motif import Motif
from .pssm import ScaledPssm, build_pssms
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
    pvalue_table: np.ndarray  # flat float64
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


def _csr(keys: np.ndarray, values: np.ndarray, n_keys: int, start: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")
    counts = np.bincount(keys, minlength=n_keys)
    return np.concatenate([[0], np.cumsum(counts)]) + start, values[order]


def _build_index(strands: list[ScaledPssm], cutoffs: np.ndarray, anchor: int):
    """The main index by ``anchor``-base word, and per-length tables of the shorter anchors."""
    anchors = [_anchor(p, anchor) for p in strands]
    main_keys, main_values = [], []
    short = {}
    for k, (pssm, (offset, a)) in enumerate(zip(strands, anchors)):
        partial = _word_scores(pssm.cells[offset : offset + a])
        best_rest = int(pssm.cells.max(axis=1).sum()) - int(pssm.cells[offset : offset + a].max(axis=1).sum())
        slack = partial + best_rest - int(cutoffs[k])
        keep = np.flatnonzero(slack >= 0)
        if keep.size == 0:
            continue
        packed = (np.int64(k) << 32) | slack[keep]
        if a < anchor:
            short.setdefault(a, ([], []))
            short[a][0].append(keep)
            short[a][1].append(packed)
            spread = 4 ** (anchor - a)
            keep = (keep[:, None] * spread + np.arange(spread)[None, :]).reshape(-1)
            packed = np.repeat(packed, spread)
        main_keys.append(keep)
        main_values.append(packed)
    n_keys = 4**anchor + 1  # the last key: the word holds an N; no entries
    keys = np.concatenate(main_keys) if main_keys else np.zeros(0, dtype=np.int64)
    values = np.concatenate(main_values) if main_values else np.zeros(0, dtype=np.int64)
    offsets, entries = _csr(keys, values, n_keys, 0)
    all_entries = [entries]
    short_lengths, short_offsets, short_base = [], [], []
    position, total = 0, entries.size
    for a in sorted(short):
        table_offsets, table_entries = _csr(np.concatenate(short[a][0]), np.concatenate(short[a][1]), 4**a, total)
        short_lengths.append(a)
        short_offsets.append(table_offsets)
        short_base.append(position)
        all_entries.append(table_entries)
        position += table_offsets.size
        total += table_entries.size
    return (
        np.array([offset for offset, _ in anchors], dtype=np.int64),
        offsets.astype(np.int64),
        np.concatenate(all_entries).astype(np.int64),
        np.array(short_lengths, dtype=np.int64),
        np.concatenate(short_offsets).astype(np.int64) if short_offsets else np.zeros(1, dtype=np.int64),
        np.array(short_base, dtype=np.int64),
        anchors,
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
    if anchor < QUAD:
        raise ValueError(f"anchor must be at least {QUAD} columns, got {anchor}")
    anchor_offset, offsets, index_values, short_lengths, short_offsets, short_base, anchors = _build_index(strands, cutoffs, anchor)
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
    k = index_values >> 32
    entries = np.zeros((index_values.size, 4), dtype=np.int32)
    entries[:, 0] = index_values & 0xFFFFFFFF
    entries[:, 1] = k
    entries[:, 2] = block_info[first_block[k], 1]
    entries[:, 3] = np.where(block_count[k] > 0, block_info[first_block[k], 0] - anchor_offset[k], 0)
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
        anchor_offset=anchor_offset,
        index_offsets=offsets,
        index_entries=entries,
        short_lengths=short_lengths,
        short_offsets=short_offsets,
        short_base=short_base,
        strand_info=strand_info,
        block_info=block_info,
        block_loss=losses.reshape(-1),
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
    from .scan_numba_fns import scan_block, window_codes

    capacity = max(capacity, 4 * bank.base.size)
    if dense:
        parts = []
        position = first_start
        while position < last_start:
            hit_start, hit_motif, hit_score = (np.empty(capacity, dtype=np.int64) for _ in range(3))
            n, position = scan_block(
                codes, position, last_start, bank.cells, bank.order, bank.bound, bank.base, bank.width, bank.cutoff,
                hit_start, hit_motif, hit_score, 0,
            )
            parts.append((hit_start[:n], hit_motif[:n], hit_score[:n]))
    else:
        key = np.empty(codes.size, dtype=np.int32)
        # padded so that words before the start and past the end can be read
        # without a bounds check; no window there is N-free
        pad = int(bank.width.max())
        quad = np.zeros(codes.size + 2 * pad, dtype=np.uint8)
        free = np.zeros(codes.size + 2 * pad, dtype=np.int32)
        window_codes(codes, bank.anchor, key, quad, free, pad)
        stop = min(last_start + int(bank.anchor_offset.max()), codes.size)
        parts = []
        for tile in range(first_start, stop, TILE):
            parts.extend(_scan_tile(codes, key, quad, free, pad, tile, min(tile + TILE, stop), first_start, last_start, bank, capacity))
    if not parts:
        return tuple(np.zeros(0, dtype=np.int64) for _ in range(3))
    from .scan_numba_fns import sort_hits

    start, motif, score = (np.concatenate(column) for column in zip(*parts))
    ordered = tuple(np.empty_like(column) for column in (start, motif, score))
    sort_hits(start, motif, score, first_start, max(last_start, first_start), *ordered)
    return ordered


#: Anchor positions bucketed at once: enough per word that each index entry's
#: tables are reused across many positions.
TILE = 1 << 20


def _scan_tile(codes, key, quad, free, pad, first, stop, first_start, last_start, bank, capacity):
    """Hits anchored at positions ``first .. stop`` (window starts kept in
    ``[first_start, last_start)``), as a list of (start, motif-strand, score)."""
    from .scan_numba_fns import bucket_positions, scan_short, scan_words

    n_words = bank.index_offsets.size - 2
    counts = np.empty(n_words + 2, dtype=np.int64)
    positions = np.empty(max(stop - first, 1), dtype=np.int32)
    bucket_positions(key, first, stop, n_words, counts, positions)
    most = int(np.diff(counts[:-1]).max(initial=1))
    capacity = max(capacity, most)
    survivor_position = np.empty(most, dtype=np.int64)
    survivor_slack = np.empty(most, dtype=np.int64)
    parts = []
    word, entry = 0, 0
    while word < n_words:
        hit_start, hit_motif, hit_score = (np.empty(capacity, dtype=np.int64) for _ in range(3))
        n, word, entry = scan_words(
            quad, free, pad, first_start, last_start, counts, positions, word, entry, bank.index_offsets, bank.index_entries,
            bank.strand_info, bank.block_info, bank.block_loss, survivor_position, survivor_slack,
            hit_start, hit_motif, hit_score, 0,
        )
        parts.append((hit_start[:n], hit_motif[:n], hit_score[:n]))
    if bank.short_lengths.size and counts[-1] > counts[-2]:
        position = first
        while position < stop:
            hit_start, hit_motif, hit_score = (np.empty(capacity, dtype=np.int64) for _ in range(3))
            n, position = scan_short(
                codes, key, quad, free, pad, position, first_start, last_start, stop, n_words, bank.short_lengths,
                bank.short_offsets, bank.short_base, bank.index_entries, bank.strand_info, bank.block_info,
                bank.block_loss, hit_start, hit_motif, hit_score, 0,
            )
            parts.append((hit_start[:n], hit_motif[:n], hit_score[:n]))
    return parts
