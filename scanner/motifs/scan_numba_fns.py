"""Compiled kernels of the motif scan."""

from __future__ import annotations

import numpy as np

from .._numba import kernel

#: Score of an N in any column: far below any cut-off, so a window holding an N
#: is rejected as soon as that column is scored (FIMO skips such windows too).
N_SCORE = -(1 << 24)
#: Bases per lookup of the columns outside the anchor.
QUAD = 4


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
    """``out[d]``: window starts in the range whose ``widths[d]`` bases hold no N
    (one backward pass: a histogram of the N-free run from each start, capped at
    the widest width, summed from each width up)."""
    longest = 0
    for d in range(widths.shape[0]):
        longest = max(longest, widths[d])
    at_least = np.zeros(longest + 2, dtype=np.int64)
    n_codes = codes.shape[0]
    run = 0  # N-free bases from p on
    for p in range(n_codes - 1, first_start - 1, -1):
        run = 0 if (codes[p] & 7) == 4 else min(run + 1, longest)
        if p < last_start:
            at_least[run] += 1
    for r in range(longest - 1, -1, -1):
        at_least[r] += at_least[r + 1]
    for d in range(widths.shape[0]):
        out[d] = at_least[widths[d]]


@kernel
def window_codes(codes, anchor, key, quad, free, pad):
    """Per position p: ``key[p]``, the base-4 code of the ``anchor`` bases from p
    (first base most significant), or ``4**anchor`` when they hold an N or run
    past the end; ``quad[pad + p]``, the code of the ``QUAD`` bases from p, an N
    read as A; ``free[pad + p]``, the N-free bases from p. ``quad`` and ``free``
    are left as they are outside ``pad .. pad + len(codes)``."""
    n = codes.shape[0]
    key_mask = (1 << (2 * anchor)) - 1
    quad_mask = (1 << (2 * QUAD)) - 1
    value = 0
    clean = 0  # N-free bases ending at p
    for p in range(n + anchor - 1):
        if p < n:
            base = codes[p] & 7
            clean = 0 if base == 4 else clean + 1
        else:
            base = 4
            clean = 0
        value = ((value << 2) | (base & 3)) & key_mask
        start = p - anchor + 1
        if 0 <= start < n:
            key[start] = value if clean >= anchor else key_mask + 1
        start = p - QUAD + 1
        if 0 <= start < n:
            quad[pad + start] = value & quad_mask
    run = 0
    for p in range(n - 1, -1, -1):
        run = 0 if (codes[p] & 7) == 4 else run + 1
        free[pad + p] = run


@kernel
def bucket_positions(key, first, stop, n_words, counts, positions):
    """Positions ``first .. stop`` grouped by their anchor word (counting sort):
    word w's positions are ``positions[counts[w] : counts[w + 1]]``, ascending.
    ``counts`` has ``n_words + 2`` slots; the last word holds those with an N."""
    counts[:] = 0
    for p in range(first, stop):
        counts[key[p] + 1] += 1
    for w in range(n_words + 1):
        counts[w + 1] += counts[w]
    fill = counts[:-1].copy()
    for p in range(first, stop):
        w = key[p]
        positions[fill[w]] = p
        fill[w] += 1


@kernel
def scan_words(
    quad, free, pad, first_start, last_start, counts, positions, first_word, first_entry, offsets, entries,
    strand_info, block_info, loss, survivor_position, survivor_slack, hit_start, hit_motif, hit_score, n_hits,
):
    """Score the windows anchored at bucketed positions, word by word.

    For each anchor word, each index entry (a motif-strand whose anchor could hold
    the word with a score still able to reach the cut-off) is applied to all the
    positions holding that word at once, one block of columns at a time, keeping
    the windows whose slack is still >= 0 (branch-free; the entry's tables stay in
    cache across the positions). Words are read with N as A, which only loosens
    the pruning: a window that survives every block is kept if it holds no N.
    Each (window, motif-strand) pair has exactly one anchor position, so nothing
    is scored twice and the hits are exactly the dense scan's; they come out
    grouped by word, not by position.

    Parameters
    ----------
    quad, free : (pad + positions + pad,)
        From :func:`window_codes` (``free`` 0 in the padding).
    counts, positions : from :func:`bucket_positions`
    entries : int32 (entries, 4)
        Slack, motif-strand, start of the first block's losses in ``loss``, offset
        of the first block's word from the anchor.
    strand_info : int64 (motif-strands, 5)
        Anchor offset, first block, block count, cut-off, width.
    block_info : int64 (blocks, 2)
        Window offset of the block's word, start of its ``4**QUAD`` losses in ``loss``.
    survivor_position, survivor_slack : int64 (most positions of one word,)
        Scratch.

    Returns
    -------
    n_hits, next_word, next_entry : int
        ``next_word`` is below the number of words when the buffers filled up: call
        again from ``(next_word, next_entry)``.
    """
    capacity = hit_start.shape[0]
    n_words = offsets.shape[0] - 2
    for w in range(first_word, n_words):
        lo, hi = counts[w], counts[w + 1]
        if lo == hi:
            continue
        size = hi - lo
        start = first_entry if w == first_word else offsets[w]
        for e in range(start, offsets[w + 1]):
            if n_hits + size > capacity:
                return n_hits, w, e
            k = entries[e, 1]
            table = entries[e, 2]
            rel = pad + entries[e, 3]
            slack0 = np.int64(entries[e, 0])
            m = 0
            for j in range(lo, hi):
                p = positions[j]
                slack = slack0 - loss[table + quad[rel + p]]
                survivor_position[m] = p
                survivor_slack[m] = slack
                m += slack >= 0
            anchor_offset = strand_info[k, 0]
            first = strand_info[k, 1]
            for bb in range(first + 1, first + strand_info[k, 2]):
                if m == 0:
                    break
                table = block_info[bb, 1]
                rel = pad + block_info[bb, 0] - anchor_offset
                kept = 0
                for j in range(m):
                    p = survivor_position[j]
                    slack = survivor_slack[j] - loss[table + quad[rel + p]]
                    survivor_position[kept] = p
                    survivor_slack[kept] = slack
                    kept += slack >= 0
                m = kept
            cutoff = strand_info[k, 3]
            width = strand_info[k, 4]
            for j in range(m):
                i = survivor_position[j] - anchor_offset
                if first_start <= i < last_start and free[pad + i] >= width:
                    hit_start[n_hits] = i
                    hit_motif[n_hits] = k
                    hit_score[n_hits] = cutoff + survivor_slack[j]
                    n_hits += 1
    return n_hits, n_words, 0


@kernel
def scan_short(
    codes, key, quad, free, pad, first_position, first_start, last_start, stop, invalid, short_lengths, short_offsets,
    short_base, entries, strand_info, block_info, loss, hit_start, hit_motif, hit_score, n_hits,
):
    """The windows of anchors shorter than the index words, at the positions whose
    full word holds an N or runs past the end (their other anchors are indexed
    under every word that starts with them). Returns ``(n_hits, next_position)``
    as :func:`scan_words` does."""
    n_codes = codes.shape[0]
    capacity = hit_start.shape[0]
    room = strand_info.shape[0]
    for p in range(first_position, stop):
        if key[p] != invalid:
            continue
        if n_hits + room > capacity:
            return n_hits, p
        for li in range(short_lengths.shape[0]):
            a = short_lengths[li]
            if p + a > n_codes:
                continue
            word = 0
            for j in range(a):
                base = codes[p + j] & 7
                if base == 4:
                    word = -1
                    break
                word = (word << 2) | base
            if word < 0:
                continue
            table = short_base[li]
            n_hits = _score_entries(
                p, short_offsets[table + word], short_offsets[table + word + 1], entries, quad, free, pad, first_start,
                last_start, strand_info, block_info, loss, hit_start, hit_motif, hit_score, n_hits,
            )
    return n_hits, stop


@kernel(inline="always")
def _score_entries(
    p, lo, hi, entries, quad, free, pad, first_start, last_start, strand_info, block_info, loss, hit_start,
    hit_motif, hit_score, n_hits,
):
    """Complete the windows of the index entries ``lo .. hi`` anchored at ``p``."""
    for e in range(lo, hi):
        k = entries[e, 1]
        i = p - strand_info[k, 0]
        if i < first_start or i >= last_start or free[pad + i] < strand_info[k, 4]:
            continue
        slack = np.int64(entries[e, 0])
        first = strand_info[k, 1]
        r = pad + i
        for bb in range(first, first + strand_info[k, 2]):
            slack -= loss[block_info[bb, 1] + quad[r + block_info[bb, 0]]]
            if slack < 0:
                break
        if slack >= 0:
            hit_start[n_hits] = i
            hit_motif[n_hits] = k
            hit_score[n_hits] = strand_info[k, 3] + slack
            n_hits += 1
    return n_hits


@kernel
def sort_hits(start, motif, score, first_start, offsets, out_start, out_motif, out_score):
    """Hits ordered by window start, then motif-strand: a counting sort on the
    start (``offsets``: scratch of at least ``max(start) - first_start + 2``
    int64), then the few hits sharing a start put in order by insertion."""
    size = 0
    for h in range(start.shape[0]):
        size = max(size, start[h] - first_start + 1)
    offsets[: size + 1] = 0
    for h in range(start.shape[0]):
        offsets[start[h] - first_start + 1] += 1
    for s in range(size):
        offsets[s + 1] += offsets[s]
    for h in range(start.shape[0]):
        s = start[h] - first_start
        j = offsets[s]
        offsets[s] += 1
        out_start[j] = start[h]
        out_motif[j] = motif[h]
        out_score[j] = score[h]
    for j in range(1, out_start.shape[0]):
        i = j
        while i > 0 and out_start[i - 1] == out_start[i] and out_motif[i - 1] > out_motif[i]:
            out_motif[i - 1], out_motif[i] = out_motif[i], out_motif[i - 1]
            out_score[i - 1], out_score[i] = out_score[i], out_score[i - 1]
            i -= 1
