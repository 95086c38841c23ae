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
    rest_order: np.ndarray  # (columns,) int32, non-anchor columns first
    rest_bound: np.ndarray  # (columns,) int32
    rest_count: np.ndarray  # (motif-strands,) int64
    # wide motifs: a second block of `anchor` columns scored by one table lookup
    second_base: np.ndarray  # (motif-strands,) int64, -1 where there is none
    second_offset: np.ndarray  # (motif-strands,) int64
    second_bound: np.ndarray  # (motif-strands,) int64, best the remaining columns can add
    second_table: np.ndarray  # flat int32, 4**SECOND per wide motif-strand
    second_length: int

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
#: Columns of the second block of wide motifs, scored by one lookup in a table of
#: 4**SECOND entries (small, so the tables of all motifs stay in cache).
SECOND = 4


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


def _second_anchor(pssm: ScaledPssm, offset: int, anchor: int) -> int | None:
    """Start of the best block of SECOND columns clear of the first anchor, if the motif has room."""
    if pssm.width < anchor + SECOND:
        return None
    spread = (pssm.cells.max(axis=1) - pssm.cells.min(axis=1)).astype(np.int64)
    sums = np.convolve(spread, np.ones(SECOND, dtype=np.int64), mode="valid")
    clear = [o for o in range(sums.size) if o + SECOND <= offset or o >= offset + anchor]
    return max(clear, key=lambda o: sums[o]) if clear else None


def _rest(pssm: ScaledPssm, blocks: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, int]:
    """Columns outside the anchor blocks, most discriminating first, and their look-ahead bounds."""
    columns = np.array(
        [j for j in range(pssm.width) if not any(o <= j < o + n for o, n in blocks)], dtype=np.int32
    )
    if columns.size:
        spread = pssm.cells[columns].max(axis=1) - pssm.cells[columns].min(axis=1)
        columns = columns[np.argsort(-spread, kind="stable")]
    best = pssm.cells.max(axis=1)[columns].astype(np.int64)
    remaining = np.concatenate([np.cumsum(best[::-1])[::-1][1:], [0]]) if columns.size else np.zeros(0)
    order = np.zeros(pssm.width, dtype=np.int32)
    bound = np.zeros(pssm.width, dtype=np.int32)
    order[: columns.size] = columns
    bound[: columns.size] = remaining
    return order, bound, int(columns.size)


def _build_index(strands: list[ScaledPssm], cutoffs: np.ndarray, anchor: int):
    anchors = [_anchor(p, anchor) for p in strands]
    lengths = np.array(sorted({length for _, length in anchors}), dtype=np.int64)
    tables, bases, motifs_, partials = [], [], [], []
    position = 0
    for length in lengths:
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
        order = np.argsort(keys, kind="stable")
        counts = np.bincount(keys, minlength=4**length)
        tables.append(np.concatenate([[0], np.cumsum(counts)]) + sum(m.size for m in motifs_))
        motifs_.append(np.concatenate(members)[order])
        partials.append(np.concatenate(scores)[order])
        bases.append(position)
        position += 4**length + 1
    return (
        lengths,
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
    seconds = [_second_anchor(p, offset, anchor) for p, (offset, _) in zip(strands, anchors)]
    rests = [
        _rest(p, [(offset, a)] + ([(second, SECOND)] if second is not None else []))
        for p, (offset, a), second in zip(strands, anchors, seconds)
    ]
    second_tables, second_base, position = [], [], 0
    for p, second in zip(strands, seconds):
        if second is None:
            second_base.append(-1)
            continue
        second_tables.append(_anchor_scores(p.cells[second : second + SECOND]).astype(np.int32))
        second_base.append(position)
        position += 4**SECOND
    rest_best = [int(np.sum(p.cells.max(axis=1)[o[: c]])) for p, (o, _, c) in zip(strands, rests)]
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
        rest_order=np.concatenate([o for o, _, _ in rests]),
        rest_bound=np.concatenate([b for _, b, _ in rests]),
        rest_count=np.array([c for _, _, c in rests], dtype=np.int64),
        second_base=np.array(second_base, dtype=np.int64),
        second_offset=np.array([-1 if o is None else o for o in seconds], dtype=np.int64),
        second_bound=np.array(rest_best, dtype=np.int64),
        second_table=np.concatenate(second_tables) if second_tables else np.zeros(1, dtype=np.int32),
        second_length=SECOND,
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
                bank.base, bank.cutoff, bank.cells, bank.rest_order, bank.rest_bound, bank.rest_count,
                bank.second_base, bank.second_offset, bank.second_bound, bank.second_table, bank.second_length,
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
