"""Compiled kernels of building the motif bank: the anchor index and the hit slots."""

from __future__ import annotations

import numpy as np

from .._numba import kernel


@kernel
def gather_slots(table, table_base, cutoffs, sizes, slot_base, n_motifs, slot_pvalue, slot_motif):
    """Copy each motif-strand ``k``'s p-values of scores ``cutoffs[k] ..`` (``sizes[k]``
    of them) to ``slot_pvalue[slot_base[k] ..]``, and its motif to ``slot_motif``."""
    for k in range(sizes.shape[0]):
        for j in range(sizes[k]):
            slot_pvalue[slot_base[k] + j] = table[table_base[k] + cutoffs[k] + j]
            slot_motif[slot_base[k] + j] = k % n_motifs


@kernel
def anchor_words(cells, column_base, anchor_offset, anchor_length, need, first, out_strand, out_word, out_slack, n):
    """For motif-strands ``first ..``: every word over the strand's anchor columns
    whose score reaches ``need[k]`` (the cut-off less the best the other columns can
    add), as (strand, word code, score - need) appended from ``n``, words ascending.

    Words are enumerated depth first, a base at a time, and a prefix is dropped as
    soon as its score plus the best of the remaining anchor columns falls short,
    so the work follows the words kept, not all ``4**length``.

    Returns
    -------
    n, next_strand : int
        ``next_strand`` is below the number of strands when the outputs could not
        hold another strand's ``4**length`` words: call again from there.
    """
    capacity = out_word.shape[0]
    n_strands = column_base.shape[0]
    longest = 0
    for k in range(n_strands):
        longest = max(longest, anchor_length[k])
    suffix = np.zeros(longest + 1, dtype=np.int64)
    prefix = np.zeros(longest + 1, dtype=np.int64)
    digit = np.zeros(longest + 1, dtype=np.int64)
    for k in range(first, n_strands):
        a = anchor_length[k]
        if n + 4**a > capacity:
            return n, k
        base = column_base[k] + anchor_offset[k]
        suffix[a] = 0
        for level in range(a - 1, -1, -1):
            best = cells[base + level, 0]
            for b in range(1, 4):
                best = max(best, cells[base + level, b])
            suffix[level] = suffix[level + 1] + best
        level = 0
        digit[0] = -1
        prefix[0] = 0
        while level >= 0:
            digit[level] += 1
            if digit[level] == 4:
                level -= 1
                continue
            score = prefix[level] + cells[base + level, digit[level]]
            if score + suffix[level + 1] < need[k]:
                continue
            if level == a - 1:
                word = 0
                for j in range(a):
                    word = word * 4 + digit[j]
                out_strand[n] = k
                out_word[n] = word
                out_slack[n] = score - need[k]
                n += 1
            else:
                prefix[level + 1] = score
                level += 1
                digit[level] = -1
    return n, n_strands


@kernel
def count_index_keys(strand, word, length, anchor, counts):
    """``counts[w + 1]``: index entries under each ``anchor``-base word ``w``; an
    anchor word of ``length[strand] < anchor`` bases is counted under every word
    that starts with it."""
    counts[:] = 0
    for e in range(strand.shape[0]):
        spread = 4 ** (anchor - length[strand[e]])
        for j in range(spread):
            counts[word[e] * spread + j + 1] += 1


@kernel
def fill_index(strand, word, slack, length, anchor, offsets, fill, strand_table, strand_rel, entries):
    """Index entries (slack, motif-strand, ``strand_table``, ``strand_rel`` of it) in
    word order (CSR by ``offsets``), in the order they come within a word; ``fill``
    is scratch of ``offsets``' size."""
    fill[:] = offsets
    for e in range(strand.shape[0]):
        k = strand[e]
        spread = 4 ** (anchor - length[k])
        for j in range(spread):
            key = word[e] * spread + j
            row = fill[key]
            entries[row, 0] = slack[e]
            entries[row, 1] = k
            entries[row, 2] = strand_table[k]
            entries[row, 3] = strand_rel[k]
            fill[key] += 1
