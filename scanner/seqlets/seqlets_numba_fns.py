"""Compiled kernels for seqlet calling: windowed sums, weighted isotonic fit, greedy extraction."""

from __future__ import annotations

import math

import numpy as np

from .._numba import kernel


@kernel
def windowed_sums(track, window, out):
    """``out[i] = sum(track[i:i+window])`` for every full window, by a float64 running sum.

    Uses the same cumulative-sum differences as modisco-lite, so values agree bit for bit.
    """
    total = 0.0
    cumulative = np.empty(track.shape[0] + 1)
    cumulative[0] = 0.0
    for i in range(track.shape[0]):
        total += track[i]
        cumulative[i + 1] = total
    for i in range(out.shape[0]):
        out[i] = cumulative[i + window] - cumulative[i]


@kernel
def pool_adjacent_violators(y, weight):
    """Weighted least-squares non-decreasing fit of ``y`` (in place, returns it)."""
    n = y.shape[0]
    level = np.empty(n)
    mass = np.empty(n)
    start = np.empty(n, np.int64)
    blocks = 0
    for i in range(n):
        level[blocks] = y[i]
        mass[blocks] = weight[i]
        start[blocks] = i
        blocks += 1
        while blocks > 1 and level[blocks - 2] > level[blocks - 1]:
            total = mass[blocks - 2] + mass[blocks - 1]
            level[blocks - 2] = (level[blocks - 2] * mass[blocks - 2] + level[blocks - 1] * mass[blocks - 1]) / total
            mass[blocks - 2] = total
            blocks -= 1
    for b in range(blocks):
        end = start[b + 1] if b + 1 < blocks else n
        for i in range(start[b], end):
            y[i] = level[b]
    return y


@kernel
def greedy_seqlets(position, score, length, window, flank, suppress, out_start, out_score):
    """TF-MoDISco's greedy extraction on the passing windows of one track.

    ``position`` (sorted) and ``score`` (|windowed sum|) list the passing windows.
    Repeatedly the strongest remaining window (the first of equal ones) becomes a
    seqlet ``[p - flank, p + window + flank)`` if that fits in the track, and every
    window within ``suppress`` of it is removed. Suppression reaches no further
    than ``suppress``, so runs of passing windows separated by larger gaps are
    independent: each is done on its own, which makes the result independent of
    how the track was chunked. Returns the number of seqlets written.
    """
    n = position.shape[0]
    alive = np.ones(n, np.bool_)
    found = 0
    begin = 0
    while begin < n:
        end = begin + 1
        while end < n and position[end] - position[end - 1] <= 2 * suppress + 1:
            end += 1
        while True:
            best = -1
            best_score = -np.inf
            for i in range(begin, end):
                if alive[i] and score[i] > best_score:
                    best = i
                    best_score = score[i]
            if best < 0:
                break
            p = position[best]
            if p >= flank and p < length - flank:
                out_start[found] = p - flank
                out_score[found] = best
                found += 1
            lo = max(math.floor(p + 0.5 - suppress), 0)
            hi = min(math.ceil(p + 0.5 + suppress), length)
            for i in range(begin, end):
                if position[i] >= lo and position[i] < hi:
                    alive[i] = False
        begin = end
    return found
