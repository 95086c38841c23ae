"""Compiled kernels of the motif scan."""

from __future__ import annotations

import numpy as np

from .._numba import kernel

#: Score of an N in any column: far below any cut-off, so a window holding an N
#: is rejected as soon as that column is scored (FIMO skips such windows too).
N_SCORE = -(1 << 24)


@kernel
def scan_block(codes, first_start, last_start, cells, order, bound, base, width, cutoff, hit_start, hit_motif, hit_score, n_hits):
    """Score every window start in ``[first_start, last_start)`` against every motif.

    Parameters
    ----------
    codes : uint8 (positions,)
        Base codes (soft-mask bit ignored); windows must fit inside.
    cells : int32 (columns, 5)
        Integer PSSM columns of all motifs, one row per column; column 4 is N.
    order : int32 (columns,)
        For motif ``k``, ``order[base[k] + jj]`` is the ``jj``-th column to score
        (most informative first, so hopeless windows stop early).
    bound : int32 (columns,)
        ``bound[base[k] + jj]``: the most the columns after the ``jj``-th can add.
    base, width, cutoff : int32/int64 (motifs,)
    hit_start, hit_motif, hit_score : output buffers
    n_hits : int
        Hits already in the buffers.

    Returns
    -------
    n_hits, next_start : int
        ``next_start < last_start`` when the buffers filled up: call again from there.
    """
    n_motifs = base.shape[0]
    capacity = hit_start.shape[0]
    n_codes = codes.shape[0]
    for i in range(first_start, last_start):
        if n_hits + n_motifs > capacity:
            return n_hits, i
        for k in range(n_motifs):
            w = width[k]
            if i + w > n_codes:
                continue
            b = base[k]
            cut = cutoff[k]
            score = 0
            passed = True
            for jj in range(w):
                j = order[b + jj]
                score += cells[b + j, codes[i + j] & 7]
                if score + bound[b + jj] < cut:
                    passed = False
                    break
            if passed:
                hit_start[n_hits] = i
                hit_motif[n_hits] = k
                hit_score[n_hits] = score
                n_hits += 1
    return n_hits, last_start


@kernel
def count_clean_windows(codes, first_start, last_start, widths, out):
    """``out[d]``: window starts in the range whose ``widths[d]`` bases hold no N."""
    n_codes = codes.shape[0]
    run = np.zeros(n_codes + 1, dtype=np.int64)  # run[p]: N-free bases ending before p
    for p in range(n_codes):
        run[p + 1] = 0 if (codes[p] & 7) == 4 else run[p] + 1
    for d in range(widths.shape[0]):
        w = widths[d]
        total = 0
        for i in range(first_start, last_start):
            if i + w <= n_codes and run[i + w] >= w:
                total += 1
        out[d] = total


@kernel
def kmer_codes(codes, anchor, kmer, free):
    """``kmer[p]``: bases p .. p+anchor-1 as a base-4 number (first base most
    significant; positions past the end count as A). ``free[p]``: N-free bases
    from p on, capped at ``anchor``."""
    n = codes.shape[0]
    mask = (1 << (2 * anchor)) - 1
    value = 0
    for p in range(n + anchor - 1):
        base = codes[p] & 7 if p < n else 0
        value = ((value << 2) | (base & 3)) & mask
        start = p - anchor + 1
        if start >= 0:
            kmer[start] = value
    run = 0
    for p in range(n - 1, -1, -1):
        run = 0 if (codes[p] & 7) == 4 else min(run + 1, anchor)
        free[p] = run


@kernel
def scan_indexed(
    codes, first_position, first_start, last_start, anchor, kmer, free, lengths, offsets, offsets_base, entry_motif,
    entry_partial, anchor_offset, width, cutoff, block_first, block_count, block_offset, block_length,
    block_table_base, block_bound, block_table, max_anchor_offset, hit_start, hit_motif, hit_score, n_hits,
):
    """Score windows through a k-mer index of each motif's anchor columns.

    For every position p and every anchor length a in ``lengths``, the a-mer at p
    selects (from a CSR index) the motif-strands whose anchor could hold it with
    a total score still able to reach the cut-off, together with the anchor's
    partial score; only those windows are scored further, block by block (up to
    4 columns per table lookup, most discriminating first) with look-ahead bounds.
    Each (window, motif-strand) pair has exactly one anchor position, so nothing
    is scored twice, and the pruning only drops windows that cannot reach the
    cut-off: the hits are exactly the dense scan's.

    Anchor positions run from ``first_position`` (``first_start`` on the first
    call); window starts are kept in ``[first_start, last_start)``. Returns
    ``(n_hits, next_position)``; ``next_position`` is below the end of the range
    when the buffers filled up: call again with it as ``first_position``.
    """
    n_codes = codes.shape[0]
    n_motifs = width.shape[0]
    capacity = hit_start.shape[0]
    stop = min(last_start + max_anchor_offset, n_codes)
    for p in range(first_position, stop):
        if n_hits + n_motifs > capacity:
            return n_hits, p
        for li in range(lengths.shape[0]):
            a = lengths[li]
            if free[p] < a:
                continue
            key = kmer[p] >> (2 * (anchor - a))
            table = offsets_base[li]
            for e in range(offsets[table + key], offsets[table + key + 1]):
                k = entry_motif[e]
                i = p - anchor_offset[k]
                if i < first_start or i >= last_start or i + width[k] > n_codes:
                    continue
                cut = cutoff[k]
                score = entry_partial[e]
                passed = True
                for bb in range(block_first[k], block_first[k] + block_count[k]):
                    q = i + block_offset[bb]
                    length = block_length[bb]
                    if free[q] < length:
                        passed = False  # an N in the window: never scored
                        break
                    score += block_table[block_table_base[bb] + (kmer[q] >> (2 * (anchor - length)))]
                    if score + block_bound[bb] < cut:
                        passed = False
                        break
                if passed:
                    hit_start[n_hits] = i
                    hit_motif[n_hits] = k
                    hit_score[n_hits] = score
                    n_hits += 1
    return n_hits, stop
