"""Compiled kernels of the PSSM tables."""

from __future__ import annotations

import numpy as np

from .._numba import kernel


@kernel
def score_tails(cells, column_base, widths, strands, background, threshold, whole, table_base, table, cutoffs):
    """For each motif-strand ``k`` in ``strands``: ``table[table_base[k] + S]`` =
    P(integer window score >= S), S = 0 .. ``widths[k]`` * 1000, by dynamic programming
    over its columns ``cells[column_base[k] : column_base[k] + widths[k]]`` (int64, (4,)),
    and ``cutoffs[k]``, the smallest S whose P is <= ``threshold`` (``widths[k]`` * 1000
    + 1 if none). Unless ``whole``, only S from the cut-off to the best reachable
    score are written: those are all a scan reports.

    The products and sums are done in the order of the array expression
    ``new[shift : shift + top + 1] += pdf[: top + 1] * background[letter]`` (letters
    in turn) and of a reversed cumulative sum, so each table is bit for bit the same
    whatever the batch.
    """
    longest = 0
    for k in strands:
        longest = max(longest, widths[k])
    pdf = np.zeros(longest * 1000 + 1)
    new = np.zeros(longest * 1000 + 1)
    for k in strands:
        size = widths[k] * 1000 + 1
        pdf[0] = 1.0
        top = 0
        for j in range(column_base[k], column_base[k] + widths[k]):
            # cells lie in 0 .. 1000, so the new distribution reaches top + 1000 at most;
            # only pdf[: top + 1] is read
            new[: top + 1001] = 0.0
            for letter in range(4):
                shift = cells[j, letter]
                weight = background[letter]
                for s in range(top + 1):
                    new[shift + s] += pdf[s] * weight
            best = cells[j, 0]
            for letter in range(1, 4):
                best = max(best, cells[j, letter])
            top += best
            pdf, new = new, pdf
        pdf[top + 1 : size] = 0.0  # left over from earlier strands
        running = 0.0
        out = table_base[k]
        cutoffs[k] = size
        for s in range(size - 1, -1, -1):
            running += pdf[s]
            tail = min(running, 1.0)
            if tail <= threshold and cutoffs[k] == s + 1:
                cutoffs[k] = s
            elif not whole:
                break
            if whole or s <= top:
                table[out + s] = tail


@kernel
def word_scores(cells, out):
    """``out[x]``: score of the word with base-4 code x (first base most
    significant) over ``cells`` (a, 4), built a column at a time from the
    scores of the words one base shorter."""
    out[0] = 0
    size = 1
    for j in range(cells.shape[0]):
        for x in range(size - 1, -1, -1):
            prefix = out[x]
            for b in range(4):
                out[4 * x + b] = prefix + cells[j, b]
        size *= 4
