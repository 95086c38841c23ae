"""Compiled kernels for the recursive p-value seqlet caller.

Every value is binned as ``floor((x - low) / bin_width)`` clamped to the bins, with
``x - low`` taken in the track's own dtype and the division in float64, so float32
and float64 tracks bin exactly as the reference method does. The division is the
expensive step; a multiply by the reciprocal gives the same bin except when the
quotient lies within rounding of an integer, so a chunk with such a value is binned
again by division.
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import kernel

# |q' - q| for q' = d * (1 / w) against q = d / w is a few ulps of q, far below
# this for any quotient below ~1e5 bins; larger bin counts widen it (see callers).
_EDGE = 1e-9
_CHUNK = 2048
# Counting bin j of a chunk into sub-histogram j % _SPLIT keeps runs of equal
# bins from waiting on one another's store.
_SPLIT = 4


@kernel
def bin_values(values, low, bin_width, inverse, edge, n_bins, out):
    """Bin of each value into ``out[:len(values)]`` (int32), exact as by division."""
    top = n_bins - 1.0
    near_edge = False
    for j in range(values.shape[0]):
        d = np.float64(values[j] - low)
        q = d * inverse
        b = np.floor(q)
        # d == 0 bins to 0 either way; other near-integer quotients are checked.
        near_edge |= ((q - b < edge) | (q - b > 1.0 - edge)) & (d != 0.0)
        out[j] = np.int32(min(max(b, 0.0), top))
    if near_edge:
        for j in range(values.shape[0]):
            b = np.floor((values[j] - low) / bin_width)
            out[j] = np.int32(min(max(b, 0.0), top))


@kernel
def count_bins(values, low, bin_width, inverse, edge, n_bins, counts):
    """Add the bin counts of ``values`` to ``counts`` (int64, length ``n_bins``)."""
    split = np.zeros(_SPLIT * n_bins, np.int64)
    bins = np.empty(_CHUNK, np.int32)
    for c in range(0, values.shape[0], _CHUNK):
        chunk = values[c : c + _CHUNK]
        bin_values(chunk, low, bin_width, inverse, edge, n_bins, bins)
        for j in range(chunk.shape[0]):
            split[(j & (_SPLIT - 1)) * n_bins + bins[j]] += 1
    for s in range(_SPLIT):
        for b in range(n_bins):
            counts[b] += split[s * n_bins + b]


@kernel
def span_sum_tails(frequency, max_length):
    """``tails[L, s]``: probability that ``L`` independent bins sum to ``s`` or more.

    The distribution of an ``L``-sum is that of the ``(L-1)``-sum convolved with
    ``frequency``; every output accumulates its terms in ascending order of the
    ``(L-1)``-sum from +0.0, and the tail is summed from the top down, because
    ``1 - cdf`` would lose the small tail probabilities to rounding. Zero terms
    are skipped: adding +0.0 to a non-negative sum leaves it unchanged.
    """
    n_bins = frequency.shape[0]
    width = n_bins * max_length
    tails = np.zeros((max_length + 1, width + 1))
    first = 0
    while first < n_bins - 1 and frequency[first] == 0.0:
        first += 1
    last = n_bins
    while last > first + 1 and frequency[last - 1] == 0.0:
        last -= 1
    span = last - first
    # Four lower sums are folded into one pass over the outputs, each output
    # still taking them in ascending order: a quarter of the loads and stores.
    padded = np.zeros(span + 6)
    padded[3 : 3 + span] = frequency[first:last]
    f0 = padded[3 : span + 6]
    f1 = padded[2 : span + 5]
    f2 = padded[1 : span + 4]
    f3 = padded[0 : span + 3]
    previous = np.zeros(width + 4)
    current = np.zeros(width + 4)
    previous[:n_bins] = frequency
    low, high = first, last  # support of the (L-1)-sum: [low, high)
    for s in range(n_bins - 1, -1, -1):
        tails[1, s] = tails[1, s + 1] + previous[s]
    for length in range(2, max_length + 1):
        current[:] = 0.0
        for i in range(low, high, 4):
            a0, a1, a2, a3 = previous[i], previous[i + 1], previous[i + 2], previous[i + 3]
            if a0 == 0.0 and a1 == 0.0 and a2 == 0.0 and a3 == 0.0:
                continue
            out = current[i + first : i + first + span + 3]
            for j in range(span + 3):
                out[j] = out[j] + a0 * f0[j] + a1 * f1[j] + a2 * f2[j] + a3 * f3[j]
        low, high = low + first, high + last - 1
        for s in range(n_bins * length - 1, -1, -1):
            tails[length, s] = tails[length, s + 1] + current[s]
        previous, current = current, previous
    return tails


@kernel
def value_range(values):
    """Smallest and largest value, and how many values are not finite."""
    low = values[0]
    high = values[0]
    bad = 0
    for i in range(values.shape[0]):
        x = values[i]
        low = min(low, x)
        high = max(high, x)
        bad += not (abs(np.float64(x)) <= 1.7976931348623157e308)
    return low, high, bad


@kernel
def passing_starts(values, offsets, first, last, low, bin_width, inverse, edge, n_bins, min_length, min_sum):
    """Starts ``k`` in ``first..last-1`` whose ``min_length`` bins sum to at least ``min_sum``
    (int64, ascending).

    ``values`` holds the tracks end to end, track ``t`` at ``offsets[t]:offsets[t+1]``
    (each at least ``min_length`` long); spans never cross a track's end. Starts
    are indices into ``values``, so any split of ``0..len(values)`` into ranges
    finds every passing start once.
    """
    found = np.empty(max((last - first) // 64, 16) + _CHUNK, np.int64)
    n_found = 0
    bins = np.empty(_CHUNK + min_length, np.int32)
    sums = np.empty(_CHUNK, np.int32)
    for t in range(offsets.shape[0] - 1):
        origin = offsets[t]
        lo = max(first, origin) - origin
        hi = min(last, offsets[t + 1] - min_length + 1) - origin
        if hi <= lo:
            continue
        track = values[origin : offsets[t + 1]]
        for c in range(lo, hi, _CHUNK):
            m = min(_CHUNK, hi - c)
            bin_values(track[c : c + m + min_length - 1], low, bin_width, inverse, edge, n_bins, bins)
            sums[:m] = 0
            for o in range(min_length):
                shifted = bins[o : o + m]
                for k in range(m):
                    sums[k] += shifted[k]
            # Few starts pass: count them vectorized, and only scan a chunk that has some.
            hits = 0
            for k in range(m):
                hits += sums[k] >= min_sum
            if hits == 0:
                continue
            if n_found + hits > found.shape[0]:
                grown = np.empty(2 * found.shape[0] + hits, np.int64)
                grown[:n_found] = found[:n_found]
                found = grown
            for b in range(0, m, 32):
                any_pass = False
                for k in range(b, min(b + 32, m)):
                    any_pass |= sums[k] >= min_sum
                if any_pass:
                    for k in range(b, min(b + 32, m)):
                        if sums[k] >= min_sum:
                            found[n_found] = origin + c + k
                            n_found += 1
    return found[:n_found]


@kernel
def _stable_order(key, m, order):
    """Indices ``0..m-1`` in ``order``, sorted by ``key`` ascending, ties kept in index order."""
    if m > 48:
        order[:m] = np.argsort(key[:m], kind="mergesort")
        return
    for a in range(m):
        order[a] = a
    for a in range(1, m):
        index = order[a]
        b = a
        while b > 0 and key[index] < key[order[b - 1]]:
            order[b] = order[b - 1]
            b -= 1
        order[b] = index


@kernel
def _cluster_buffers(n_lengths, capacity):
    """Scratch arrays of :func:`decode_clusters` for clusters of up to ``capacity`` bases."""
    return (np.zeros((n_lengths, capacity)), np.zeros((n_lengths, capacity + 1)), np.zeros(capacity + 1, np.int64),
            np.zeros(capacity, np.bool_), np.empty(capacity), np.empty(capacity, np.int64),
            np.empty(capacity, np.int64))


@kernel
def decode_clusters(track, offsets, starts, low, bin_width, n_bins, tails, threshold, min_length, max_length,
                    out_start, out_length, out_pvalue):
    """Seqlets from the passing starts of tracks laid end to end; returns how many were written.

    A span's starts of ``min_length`` all pass, so a span lies in one run of
    consecutive passing starts and reaches no further than its last start plus
    ``min_length``; runs whose reaches cannot touch, or that lie in different
    tracks (``offsets``), are decoded apart, in clusters. In a cluster,
    spans are taken from the longest length down; in one length, in order of
    their prefix p-value (the largest p-value of the span's prefixes of at least
    ``min_length``), ties by start; a span is called when every span of at
    least ``min_length`` inside it is below ``threshold`` and none of its bases
    is in a seqlet already. Outputs are the span's start, length and own p-value.
    """
    n_starts = starts.shape[0]
    n_lengths = max_length + 1
    # Rows below min_length stay zero: the recursions start from them.
    capacity = 64
    prefix, triangle, cumulative, taken, key, spot, order = _cluster_buffers(n_lengths, capacity)
    found = 0
    a = 0
    top = n_bins - 1.0
    reach = max(min_length, 2)
    t = 0
    while a < n_starts:
        while offsets[t + 1] <= starts[a]:
            t += 1
        b = a + 1
        while b < n_starts and starts[b] < starts[b - 1] + reach and starts[b] < offsets[t + 1]:
            b += 1
        origin = starts[a]
        size = starts[b - 1] + min_length - origin
        if size > capacity:
            capacity = 2 * size
            prefix, triangle, cumulative, taken, key, spot, order = _cluster_buffers(n_lengths, capacity)
        for j in range(size):
            bin_ = np.int64(min(max(math.floor((track[origin + j] - low) / bin_width), 0.0), top))
            cumulative[j + 1] = cumulative[j] + bin_
            taken[j] = False
        longest = min(max_length, size)
        for length in range(min_length, longest + 1):
            alive = False
            for k in range(size - length + 1):
                p = max(tails[length, cumulative[k + length] - cumulative[k]], prefix[length - 1, k])
                prefix[length, k] = p
                q = max(p, triangle[length - 1, k + 1])
                triangle[length, k] = q
                alive |= q < threshold
            # A span's triangle holds those of the spans one shorter inside it:
            # once none is below the threshold, no longer span can be.
            if not alive:
                longest = length - 1
                break
        for length in range(longest, min_length - 1, -1):
            m = 0
            for k in range(size - length + 1):
                if triangle[length, k] < threshold:
                    key[m] = prefix[length, k]
                    spot[m] = k
                    m += 1
            _stable_order(key, m, order)
            for c in range(m):
                k = spot[order[c]]
                free = True
                for j in range(k, k + length):
                    if taken[j]:
                        free = False
                        break
                if not free:
                    continue
                taken[k : k + length] = True
                out_start[found] = origin + k
                out_length[found] = length
                out_pvalue[found] = tails[length, cumulative[k + length] - cumulative[k]]
                found += 1
        a = b
    return found


@kernel
def span_sums(track, start, end):
    """float64 sum of ``track[start[i]:end[i]]`` for every span ``i``."""
    out = np.empty(start.shape[0])
    for i in range(start.shape[0]):
        total = 0.0
        for j in range(start[i], end[i]):
            total += track[j]
        out[i] = total
    return out
