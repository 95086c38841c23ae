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
    for i in range(track.shape[0]):
        total += _finite(track[i])
        ring[(i + 1) % (window + 1)] = total
        start = i + 1 - window
        if start >= 0:
            out[start] = total - ring[start % (window + 1)]


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


@kernel
def range_between(values, low, high):
    """Count, smallest and largest of the values ``v`` with ``low < v < high``."""
    count = 0
    smallest = np.inf
    largest = -np.inf
    for i in range(values.shape[0]):
        x = values[i]
        if low < x < high:
            count += 1
            smallest = min(smallest, x)
            largest = max(largest, x)
    return count, smallest, largest


@kernel
def uniform_histogram(values, edges, counts, low=-np.inf, high=np.inf):
    """Counts of ``values`` in the equal-width bins ``edges``, exactly as ``np.histogram``.

    Only values ``v`` with ``low < v < high`` are counted (all by default), so a
    histogram of a slice of the values needs no copy of them. The bin of each
    value is estimated from its scaled offset and then moved by one where that
    lands it on the wrong side of an edge, as numpy does, so every value falls in
    the bin whose edges hold it, where numpy puts it. The last bin includes its
    right edge; values outside the edges are not counted.
    """
    bins = counts.shape[0]
    first = edges[0]
    last = edges[bins]
    scale = bins / (last - first)
    for i in range(values.shape[0]):
        x = values[i]
        if x < first or x > last or not (low < x < high):
            continue
        b = min(int((x - first) * scale), bins)
        if b == bins:
            b -= 1
        if x < edges[b]:
            b -= 1
        if b != bins - 1 and x >= edges[b + 1]:
            b += 1
        counts[b] += 1


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
    """Smallest and largest value, and counts by the top 16 bits of the order key.

    ``values``: finite float64, non-empty; with ``absolute``, their absolute
    values are meant. The counts (int64, 65536) are what :func:`order_statistics`
    starts from.
    """
    bits = values.view(np.uint64)
    top = np.zeros(1 << 16, np.int64)
    low = np.inf
    high = -np.inf
    for i in range(values.shape[0]):
        x = abs(values[i]) if absolute else values[i]
        low = min(low, x)
        high = max(high, x)
        top[_key(bits[i], absolute) >> np.uint64(48)] += 1
    return low, high, top


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
def order_statistics(values, top, ranks, absolute=False):
    """The values at the given ranks of ``values`` sorted ascending, without sorting them.

    Parameters
    ----------
    values : ndarray of float64, shape (n,)
        Finite values.
    top : ndarray of int64, shape (65536,)
        Their counts by key bucket, from :func:`key_histogram`.
    ranks : ndarray of int64, shape (k,)
        0-based ranks, each below ``n``.
    absolute : bool
        Order statistics of the absolute values instead.

    Returns
    -------
    ndarray of float64, shape (k,)

    Notes
    -----
    The values in the buckets that hold a wanted rank are counted by the next 8
    bits of their key, then the values of the wanted sub-buckets are gathered and
    sorted: two passes over the data, and only a few thousand values are sorted.
    The counting pass is branch-free (values of no interest count in a spare row),
    which is several times faster on random data than testing each value.
    """
    bits = values.view(np.uint64)
    before = np.cumsum(top) - top
    n_ranks = ranks.shape[0]
    bucket = np.searchsorted(before + top, ranks, side="right")
    inner = ranks - before[bucket]
    n_slots = 0
    slot_of = np.full(1 << 16, -1, np.int64)
    for r in range(n_ranks):
        if slot_of[bucket[r]] < 0:
            slot_of[bucket[r]] = n_slots
            n_slots += 1
    for b in range(1 << 16):
        if slot_of[b] < 0:
            slot_of[b] = n_slots
    middle = np.zeros((n_slots + 1) << 8, np.int64)
    lowest = np.full((n_slots + 1) << 8, np.uint64(0xFFFFFFFFFFFFFFFF))
    highest = np.zeros((n_slots + 1) << 8, np.uint64)
    for i in range(values.shape[0]):
        key = _key(bits[i], absolute)
        cell = (slot_of[np.int64(key >> np.uint64(48))] << 8) + np.int64((key >> np.uint64(40)) & np.uint64(0xFF))
        middle[cell] += 1
        lowest[cell] = min(lowest[cell], key)
        highest[cell] = max(highest[cell], key)
    # the sub-buckets that hold a wanted rank, and each rank inside its sub-bucket
    spare = n_ranks
    wanted = np.full((n_slots + 1) << 8, spare, np.int64)
    sub_rank = np.empty(n_ranks, np.int64)
    sub_of = np.empty(n_ranks, np.int64)
    sizes = np.zeros(n_ranks + 1, np.int64)
    constant_key = np.zeros(n_ranks, np.uint64)
    n_subs = 0
    for r in range(n_ranks):
        row = slot_of[bucket[r]] << 8
        cumulative = 0
        sub = 0
        while cumulative + middle[row + sub] <= inner[r]:
            cumulative += middle[row + sub]
            sub += 1
        sub_rank[r] = inner[r] - cumulative
        if lowest[row + sub] == highest[row + sub]:
            # every value there is the same (ties, such as runs of zeros): nothing to gather
            sub_of[r] = -1
            constant_key[r] = lowest[row + sub]
            continue
        if wanted[row + sub] == spare:
            wanted[row + sub] = n_subs
            sizes[n_subs] = middle[row + sub]
            n_subs += 1
        sub_of[r] = wanted[row + sub]
    offsets = np.zeros(n_ranks + 2, np.int64)
    for s in range(n_ranks + 1):
        offsets[s + 1] = offsets[s] + sizes[s]
    gathered = np.empty(offsets[n_ranks + 1])
    filled = offsets[: n_ranks + 1].copy()
    for i in range(values.shape[0]):
        key = _key(bits[i], absolute)
        s = wanted[(slot_of[np.int64(key >> np.uint64(48))] << 8) + np.int64((key >> np.uint64(40)) & np.uint64(0xFF))]
        if s != spare:  # rare, so well predicted
            gathered[filled[s]] = abs(values[i]) if absolute else values[i]
            filled[s] += 1
    for s in range(n_subs):
        gathered[offsets[s] : offsets[s + 1]] = np.sort(gathered[offsets[s] : offsets[s + 1]])
    out = np.empty(n_ranks)
    for r in range(n_ranks):
        if sub_of[r] < 0:
            out[r] = _key_value(constant_key[r])
        else:
            out[r] = gathered[offsets[sub_of[r]] + sub_rank[r]]
    return out


@kernel
def _splitmix64(x):
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@kernel
def bernoulli_subsample(values, keep, seed, expected):
    """A seeded Bernoulli sample of ``values``: each kept with probability ``keep``.

    The gaps between kept indices are drawn as geometric variables from a
    splitmix64 stream, so the work is one draw per kept value, not one per value.
    ``expected`` sizes the output buffer (it grows if the sample is larger).
    """
    out = np.empty(max(expected, 16))
    count = 0
    state = np.uint64(seed) * np.uint64(0x100000001B3)
    scale = 1.0 / np.log1p(-keep) if keep < 1.0 else 0.0
    i = -1
    while True:
        state = state + np.uint64(1)
        u = (np.float64(_splitmix64(state) >> np.uint64(11)) + 0.5) / 9007199254740992.0  # (0, 1)
        i += 1 + (int(np.log(u) * scale) if keep < 1.0 else 0)
        if i >= values.shape[0]:
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
    total = 0
    for r in range(rows):
        for i in range(flank, n - flank):
            total += (sums[r, i] >= upper) | (sums[r, i] <= lower)
    out_row = np.empty(total, np.int64)
    out_start = np.empty(total, np.int64)
    out_value = np.empty(total)
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
        for j in range(made):
            out_row[found] = r
            out_start[found] = starts[j]
            out_value[found] = sums[r, position[picked[j]]]
            found += 1
    return out_row[:found], out_start[:found], out_value[:found]
