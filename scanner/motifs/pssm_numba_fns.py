"""Compiled kernels of the PSSM tables."""

from __future__ import annotations

import numpy as np

from .._numba import kernel


@kernel
def score_tail(cells, background, size, out):
    """``out[S]`` = P(integer window score >= S), S < ``size``, by dynamic programming.

    The products and sums are done in the order of the array expression
    ``new[shift : shift + top + 1] += pdf[: top + 1] * background[letter]`` (letters
    in turn) and of a reversed cumulative sum, so the table is bit for bit the same.
    """
    pdf = np.zeros(size)
    new = np.zeros(size)
    pdf[0] = 1.0
    top = 0
    for j in range(cells.shape[0]):
        new[:] = 0.0
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
    running = 0.0
    for s in range(size - 1, -1, -1):
        running += pdf[s]
        out[s] = min(running, 1.0)


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
