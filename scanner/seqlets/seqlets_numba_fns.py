"""Compiled kernels for seqlet calling: windowed sums, weighted isotonic fit, greedy extraction."""

from __future__ import annotations

import math

import numpy as np

from .._numba import kernel


@kernel
def _finite(x):
    """``x`` as float64, NaN as 0 and infinities as the largest finite values (``np.nan_to_num``)."""
    x = np.float64(x)
    if x != x:
        return 0.0
    if x == np.inf:
        return 1.7976931348623157e308
    if x == -np.inf:
        return -1.7976931348623157e308
    return x


@kernel
def windowed_sums(track, window, out):
    """``out[i] = sum(track[i:i+window])`` for every full window, by a float64 running sum.

    Uses the same cumulative-sum differences as modisco-lite, so values agree bit
    for bit; the running sums live in a ring of ``window + 1``, not in an array as
    long as the track. ``track`` may be float32 (each value is widened exactly) and
    may hold NaN (read as 0, as ``np.nan_to_num`` does).
    """
    ring = np.empty(window + 1)
    ring[0] = 0.0
    total = 0.0
    # the running sum after i + 1 values goes to slot `head`; the one `window`
    # values older sits in the slot after it (an integer modulo per value is slow)
    head = 0
    for i in range(track.shape[0]):
        total += _finite(track[i])
        head = head + 1 if head < window else 0
        ring[head] = total
        if i + 1 >= window:
            out[i + 1 - window] = total - ring[head + 1 if head < window else 0]


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
def pooled_points(values, null, null_weight):
    """The points of an isotonic fit of "real (1) or null (0)" on windowed sums, equal sums pooled.

    ``values`` (real, weight 1) and ``null`` (weight ``null_weight``) are each
    ascending. They are merged with a null point before a real one of the same
    value, and each run of equal values pooled into its summed weight and its
    weighted mean label, adding in that order, so the points are bit for bit
    those of a lexsort by (value, label) followed by ``np.bincount``.

    Returns
    -------
    x, weight, label : ndarray of float64
    """
    n = values.shape[0]
    m = null.shape[0]
    x = np.empty(n + m)
    weight = np.empty(n + m)
    label = np.empty(n + m)
    g = -1
    i = 0
    j = 0
    while i < n or j < m:
        if j < m and (i >= n or null[j] <= values[i]):
            value, w, y = null[j], null_weight, 0.0
            j += 1
        else:
            value, w, y = values[i], 1.0, 1.0
            i += 1
        if g < 0 or value != x[g]:
            g += 1
            x[g] = value
            weight[g] = 0.0
            label[g] = 0.0
        weight[g] += w
        label[g] += w * y
    return x[: g + 1], weight[: g + 1], label[: g + 1] / weight[: g + 1]


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


@kernel
def _bin_scale(edges, bins):
    """``(factor, scale)`` with ``(x - first) * factor * scale`` the scaled offset of ``x``.

    ``scale = bins / (last - first)`` overflows when the edges are a few
    subnormals apart; the offsets are then first multiplied by 2**600 (exact).
    """
    scale = bins / (edges[bins] - edges[0])
    if scale <= 1.7976931348623157e308:
        return 1.0, scale
    return 2.0**600, bins / ((edges[bins] - edges[0]) * 2.0**600)


@kernel
def _edge_margin(first, last, bins):
    """How close, in bins, a scaled offset must come to an integer to be checked against the edges.

    The offset ``(x - first) * scale`` and numpy's edges ``b * step + first`` are
    each a few roundings away from exact: within ``bins * 2**-53 * (6 + 2 * (|first|
    + |last|) / (last - first))`` bins of the true position. Four times that is
    the margin; past a quarter of a bin every value is checked.
    """
    margin = 4.0 * bins * 2.0**-53 * (8.0 + 2.0 * (abs(first) + abs(last)) / (last - first))
    return margin if margin < 0.25 else 1.0


@kernel
def _bin_estimate(x, first, factor, scale, bins):
    """The bin of ``x`` from its scaled offset, which :func:`_bin_fixed` corrects.

    (Array arguments would cost reference counting on every call: the
    correction against the edges is a separate step.)
    """
    b = min(int((x - first) * factor * scale), bins)
    return b - 1 if b == bins else b


@kernel
def _bin_fixed(x, b, left, right, bins):
    """``np.histogram``'s bin: the estimate ``b`` moved by one where ``x`` is left of its
    left edge ``left`` or at or right of its right edge ``right`` (the last bin keeps it)."""
    if x < left:
        return b - 1
    if b != bins - 1 and x >= right:
        return b + 1
    return b


@kernel
def uniform_histogram(values, edges, counts):
    """Counts of ``values`` added to ``counts`` in the equal-width bins ``edges``, exactly as
    ``np.histogram``.

    The bin of each value is estimated from its scaled offset and, near an edge,
    moved by one where that lands it on the wrong side of it, as numpy does, so
    every value falls in the bin whose edges hold it, where numpy puts it. The
    last bin includes its right edge; values outside the edges are not counted.
    """
    bins = counts.shape[0]
    first = edges[0]
    last = edges[bins]
    factor, scale = _bin_scale(edges, bins)
    near = _edge_margin(first, last, bins)
    for i in range(values.shape[0]):
        x = values[i]
        if x < first or x > last:
            continue
        q = (x - first) * factor * scale
        b = int(q)
        # far from every edge the estimate is the bin; only the few values near one, and the
        # last bin, are checked against the edges (loading them for every value is slow)
        if q - b < near or q - b > 1.0 - near or b >= bins - 1:
            b = _bin_estimate(x, first, factor, scale, bins)
            b = _bin_fixed(x, b, edges[b], edges[b + 1], bins)
        counts[b] += 1


@kernel
def gather_range(values, low, high, out):
    """Copy the values ``low <= v <= high`` into ``out``, in order, as far as it has room;
    returns how many there are (more than ``len(out)``: call again with room for all),
    and how many values are below ``low``."""
    count = 0
    below = 0
    room = out.shape[0]
    for i in range(values.shape[0]):
        x = values[i]
        below += x < low
        if low <= x <= high:  # rare, so well predicted
            if count < room:
                out[count] = x
            count += 1
    return count, below


@kernel
def _order_key(bits):
    """An unsigned integer whose order is the order of the float64 with these ``bits`` (no NaN)."""
    if bits >> np.uint64(63):
        return ~bits
    return bits | np.uint64(0x8000000000000000)


_SIGN_BIT = np.uint64(0x8000000000000000)


@kernel
def _key_value(key):
    """The float64 whose order key is ``key`` (the inverse of :func:`_key`)."""
    bits = key ^ _SIGN_BIT if key >> np.uint64(63) else ~key
    value = np.empty(1, np.uint64)
    value[0] = bits
    return value.view(np.float64)[0]


@kernel
def _key(bits, absolute):
    """The order key of a float64's bits, or of its absolute value's."""
    if absolute:
        bits = bits & ~_SIGN_BIT
    return _order_key(bits)


@kernel
def key_histogram(values, absolute=False):
    """Smallest and largest value, counts by the top 16 bits of the order key, and
    how many values are not finite.

    ``values``: float64, non-empty; with ``absolute``, their absolute values are
    meant. The counts (int64, 65536) are what :func:`order_slots` starts from;
    they and the extremes mean something only when every value is finite.
    """
    bits = values.view(np.uint64)
    top = np.zeros(1 << 16, np.int64)
    low = np.inf
    high = -np.inf
    bad = 0
    for i in range(values.shape[0]):
        x = abs(values[i]) if absolute else values[i]
        low = min(low, x)
        high = max(high, x)
        bad += not (abs(x) <= 1.7976931348623157e308)
        top[_top(_key(bits[i], absolute))] += 1
    return low, high, top, bad


@kernel
def count_passing(values, upper, lower):
    """How many values are ``>= upper`` or ``<= lower``."""
    count = 0
    for i in range(values.shape[0]):
        count += (values[i] >= upper) | (values[i] <= lower)
    return count


@kernel
def count_around(values, pivot):
    """How many values are below ``pivot`` and how many equal it."""
    below = 0
    equal = 0
    for i in range(values.shape[0]):
        below += values[i] < pivot
        equal += values[i] == pivot
    return below, equal


@kernel
def _cell(slot, key):
    """The cell of an order key: its slot's row of 256 and its next 8 bits (``slot``, not
    the table, is passed: an array argument costs reference counting on every call)."""
    return (np.int64(slot) << 8) + np.int64((key >> np.uint64(40)) & np.uint64(0xFF))


@kernel
def _top(key):
    return np.int64(key >> np.uint64(48))


@kernel
def order_counts(values, slot_of, n_slots):
    """Counts of ``values`` by (slot, next 8 key bits): int64, ``(n_slots + 1) * 256``.

    Branch-free: values of no interest count in the spare row, which is several
    times faster on random data than testing each value.
    """
    bits = values.view(np.uint64)
    middle = np.zeros((n_slots + 1) << 8, np.int64)
    for i in range(values.shape[0]):
        key = _key(bits[i], False)
        middle[_cell(slot_of[_top(key)], key)] += 1
    return middle


@kernel
def cell_range(values, slot_of, cell):
    """Smallest and largest order key of the values in one cell (uint64; max and 0 when empty)."""
    bits = values.view(np.uint64)
    lowest = np.uint64(0xFFFFFFFFFFFFFFFF)
    highest = np.uint64(0)
    for i in range(values.shape[0]):
        key = _key(bits[i], False)
        if _cell(slot_of[_top(key)], key) == cell:
            lowest = min(lowest, key)
            highest = max(highest, key)
    return lowest, highest


@kernel
def order_cells(middle, bucket, inner, slot_of):
    """The cell (slot row + sub-bucket, int64) that holds each wanted rank, and the rank inside it."""
    n_ranks = bucket.shape[0]
    cell = np.empty(n_ranks, np.int64)
    sub_rank = np.empty(n_ranks, np.int64)
    for r in range(n_ranks):
        row = np.int64(slot_of[bucket[r]]) << 8
        cumulative = 0
        sub = 0
        while cumulative + middle[row + sub] <= inner[r]:
            cumulative += middle[row + sub]
            sub += 1
        cell[r] = row + sub
        sub_rank[r] = inner[r] - cumulative
    return cell, sub_rank


@kernel
def absolute_cells(middle, bucket, inner, slot_of):
    """The two cells (a positive value's, and the mirror cell of negative values) that hold
    each wanted rank of the absolute values, and the rank inside their union.

    ``bucket`` and ``inner`` place each rank among the absolute values' buckets
    (:func:`~scanner.seqlets.window_stats.absolute_top`); ``middle`` counts the
    signed values, with both images of each such bucket among its slots.
    """
    n_ranks = bucket.shape[0]
    positive = np.empty(n_ranks, np.int64)
    negative = np.empty(n_ranks, np.int64)
    sub_rank = np.empty(n_ranks, np.int64)
    for r in range(n_ranks):
        row = np.int64(slot_of[bucket[r]]) << 8
        mirror = (np.int64(slot_of[0xFFFF - bucket[r]]) << 8) + 255
        cumulative = 0
        sub = 0
        while cumulative + middle[row + sub] + middle[mirror - sub] <= inner[r]:
            cumulative += middle[row + sub] + middle[mirror - sub]
            sub += 1
        positive[r] = row + sub
        negative[r] = mirror - sub
        sub_rank[r] = inner[r] - cumulative
    return positive, negative, sub_rank


@kernel
def order_gather(values, slot_of, group_of, spare, filled, gathered):
    """Copy the values of the wanted cells into ``gathered``, each at ``filled[group]`` (advanced)."""
    bits = values.view(np.uint64)
    for i in range(values.shape[0]):
        key = _key(bits[i], False)
        s = group_of[_cell(slot_of[_top(key)], key)]
        if s != spare:  # rare, so well predicted
            gathered[filled[s]] = values[i]
            filled[s] += 1


@kernel
def key_value(key):
    """The float64 whose order key is ``key``."""
    return _key_value(key)


@kernel
def _splitmix64(x):
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@kernel
def bernoulli_blocks(values, keep, seed, block, first, last, expected):
    """A seeded Bernoulli sample of blocks ``first..last-1`` of ``block`` values each: every
    value kept with probability ``keep``, in order.

    Each block draws from its own splitmix64 stream (seeded by ``seed`` and the
    block's index), so the sample of a block is the same whichever thread, or
    group of blocks, draws it. The gaps between kept indices are geometric
    variables: one draw per kept value, not one per value. ``expected`` sizes the
    output buffer (it grows if the sample is larger).
    """
    out = np.empty(max(expected, 16))
    count = 0
    scale = 1.0 / np.log1p(-keep) if keep < 1.0 else 0.0
    n = values.shape[0]
    for j in range(first, last):
        state = _splitmix64(np.uint64(seed) * np.uint64(0x100000001B3) + np.uint64(j))
        i = j * block - 1
        end = min((j + 1) * block, n)
        while True:
            state = state + np.uint64(1)
            u = (np.float64(_splitmix64(state) >> np.uint64(11)) + 0.5) / 9007199254740992.0  # (0, 1)
            i += 1 + (int(np.log(u) * scale) if keep < 1.0 else 0)
            if i >= end:
                break
            if count == out.shape[0]:
                grown = np.empty(2 * out.shape[0])
                grown[:count] = out
                out = grown
            out[count] = values[i]
            count += 1
    return out[:count]


@kernel
def windowed_sums_rows(tracks, window, out):
    """:func:`windowed_sums` of every row of ``tracks`` (rows, L) into ``out`` (rows, L - window + 1)."""
    for r in range(tracks.shape[0]):
        windowed_sums(tracks[r], window, out[r])


@kernel
def call_rows(sums, length, upper, lower, window, flank, suppress):
    """TF-MoDISco seqlets of every row of ``sums`` (rows, n): row, start and core sum of each.

    A window passes at ``>= upper`` or ``<= lower`` and not within ``flank`` of
    either end of its row; each row is then extracted by :func:`greedy_seqlets`.
    """
    rows, n = sums.shape
    # one pass: the outputs grow as seqlets are found, never sized by a count of passing windows
    out_row = np.empty(1024, np.int64)
    out_start = np.empty(1024, np.int64)
    out_value = np.empty(1024)
    position = np.empty(n, np.int64)
    score = np.empty(n)
    starts = np.empty(n, np.int64)
    picked = np.empty(n, np.int64)
    found = 0
    for r in range(rows):
        k = 0
        for i in range(flank, n - flank):
            x = sums[r, i]
            if x >= upper or x <= lower:
                position[k] = i
                score[k] = abs(x)
                k += 1
        made = greedy_seqlets(position[:k], score[:k], length, window, flank, suppress, starts, picked)
        if found + made > out_row.shape[0]:
            size = 2 * (found + made)
            grown_row, grown_start, grown_value = np.empty(size, np.int64), np.empty(size, np.int64), np.empty(size)
            grown_row[:found] = out_row[:found]
            grown_start[:found] = out_start[:found]
            grown_value[:found] = out_value[:found]
            out_row, out_start, out_value = grown_row, grown_start, grown_value
        for j in range(made):
            out_row[found] = r
            out_start[found] = starts[j]
            out_value[found] = sums[r, position[picked[j]]]
            found += 1
    return out_row[:found], out_start[:found], out_value[:found]
