"""Exact statistics of millions of windowed sums in a few threaded passes.

modisco-lite finds the Laplace null's mode and percentiles with ``np.histogram``,
boolean masks and ``np.percentile``: copies and partitions of every value. Here
each statistic is a pass of a compiled kernel over parts of the values on all
cores, merged exactly (counts add, extremes take the min or max), so the
results are numpy's to the bit and do not depend on the number of threads:

- :func:`key_histogram`: the range, a finiteness check and counts by the top 16
  bits of an order-preserving key, in one pass;
- :func:`laplace_mode`: the two-level histogram mode and how many values lie
  below and at it, in two passes (the first level's counts, then the values of
  its fullest bin gathered: the second level and the counts around the mode
  come from those alone);
- :func:`order_statistics_of`: values at given ranks of the values and of their
  absolute values, in two passes (count by the next 8 key bits in the buckets
  that hold a rank, then gather those cells).
"""

from __future__ import annotations

import numpy as np

from ..parts import map_parts, map_threads, spans
from .seqlets_numba_fns import (absolute_cells, cell_range, count_around, gather_range, key_value, order_cells,
                                order_counts, order_gather, uniform_histogram)
from .seqlets_numba_fns import key_histogram as _key_histogram

MODE_BINS = 1000


def key_histogram(values: np.ndarray, absolute: bool = False):
    """Range, finiteness and key-bucket counts of ``values`` (or of their absolute values).

    Parameters
    ----------
    values : ndarray of float64, shape (n,), n > 0
    absolute : bool

    Returns
    -------
    low, high : float
        Smallest and largest value (meaningful when ``finite``).
    top : ndarray of int64, shape (65536,)
        Counts by the top 16 bits of the order key, for :func:`order_statistics`.
    finite : bool
        Every value is finite.
    """
    parts = map_parts(lambda a, b: _key_histogram(values[a:b], absolute), len(values))
    low = min(p[0] for p in parts)
    high = max(p[1] for p in parts)
    return low, high, sum(p[2] for p in parts), sum(p[3] for p in parts) == 0


def _gather_range(values: np.ndarray, parts, low: float, high: float, room: int):
    """The values ``low <= v <= high`` (in order) and how many are below ``low``."""

    def gather(span):
        part = values[span[0] : span[1]]
        out = np.empty(min(room, len(part)))
        found, below = gather_range(part, low, high, out)
        if found > len(out):  # the room was an estimate
            out = np.empty(found)
            gather_range(part, low, high, out)
        return out[:found], below

    gathered = map_threads(gather, parts)
    return np.concatenate([g[0] for g in gathered]), sum(g[1] for g in gathered)


def _fullest_bin_values(values: np.ndarray, edges: np.ndarray):
    """The fullest bin of ``edges``, the values in it or on its edges (in order), and how
    many values lie below it."""
    bins = len(edges) - 1
    parts = spans(len(values))

    def count(span):
        counts = np.zeros(bins, np.int64)
        uniform_histogram(values[span[0] : span[1]], edges, counts)
        return counts

    counts = sum(map_threads(count, parts))
    peak = int(np.argmax(counts))
    near, below = _gather_range(values, parts, edges[peak], edges[peak + 1], int(counts[peak]))
    return peak, near, below


def absolute_top(top: np.ndarray) -> np.ndarray:
    """The key-bucket counts of the absolute values, from those of the values (int64, 65536).

    A bucket fixes the sign, the exponent and the top mantissa bits, so each
    negative bucket folds onto one positive bucket: no pass over the values.
    """
    folded = np.zeros_like(top)
    folded[1 << 15 :] = top[1 << 15 :] + top[: 1 << 15][::-1]  # bucket b mirrors MIRROR - b
    return folded


def laplace_mode(values: np.ndarray, low: float, high: float, bins: int = MODE_BINS):
    """modisco-lite's mode of ``values``, and how many values are below it and equal to it.

    The mode is the middle of the fullest of ``bins`` equal bins over the values
    strictly inside the fullest of ``bins`` equal bins over all values, as
    ``np.histogram`` bins them.

    Parameters
    ----------
    values : ndarray of float64, shape (n,)
        Finite, n > 0.
    low, high : float
        Their smallest and largest (from :func:`key_histogram`).

    Returns
    -------
    mu : float
    below, equal : int
        How many values are ``< mu`` and ``== mu``.
    """
    edges = np.linspace(low, high, bins + 1) if low < high else np.linspace(low - 0.5, high + 0.5, bins + 1)
    if np.any(edges[:-1] >= edges[1:]):  # a range of a few subnormals: refused as np.histogram refuses it
        raise ValueError(f"the values span {low!r} to {high!r}: too narrow for {bins} finite-sized bins")
    peak, near, below_near = _fullest_bin_values(values, edges)
    left, right = edges[peak], edges[peak + 1]
    counts2, edges2 = np.histogram(near[(left < near) & (near < right)], bins=bins)
    peak2 = int(np.argmax(counts2))
    mu = (edges2[peak2] + edges2[peak2 + 1]) / 2
    if left < mu < right:  # then every value below mu but not below `near` is in `near`
        return mu, below_near + int(np.count_nonzero(near < mu)), int(np.count_nonzero(near == mu))
    # no value inside the fullest bin: numpy's empty histogram spans 0..1, wherever the values are
    parts_around = map_parts(lambda a, b: count_around(values[a:b], mu), len(values))
    return mu, int(sum(p[0] for p in parts_around)), int(sum(p[1] for p in parts_around))


NOT_CONSTANT = np.uint64(0xFFFFFFFFFFFFFFFF)  # the key of no finite value
MIRROR = (1 << 16) - 1  # bucket b of a positive value's key holds -value's key in MIRROR - b
# a cell this large is first checked for holding one value only (runs of ties, such as zeros)
LARGE_CELL = 1 << 20


def _constant_cells(values, parts, slot_of, middle, cell) -> np.ndarray:
    """Per rank, the one key all values of its cell share, or NOT_CONSTANT (uint64).

    Only large cells are checked (a pass each): gathering a large cell of ties
    would cost more, and small cells are gathered anyway.
    """
    constant = np.full(len(cell), NOT_CONSTANT)
    for c in np.unique(cell[middle[cell] >= LARGE_CELL]):
        ranges = map_threads(lambda span: cell_range(values[span[0] : span[1]], slot_of, c), parts)
        lowest, highest = min(r[0] for r in ranges), max(r[1] for r in ranges)
        if lowest == highest:
            constant[cell == c] = lowest
    return constant


def _rank_buckets(top: np.ndarray, ranks: np.ndarray):
    """The key bucket of each rank (int64) and the rank inside it."""
    before = np.cumsum(top) - top
    bucket = np.searchsorted(before + top, ranks, side="right")
    return bucket, ranks - before[bucket]


def order_statistics(values: np.ndarray, top: np.ndarray, ranks: np.ndarray, absolute: bool = False) -> np.ndarray:
    """The values at the given ranks of ``values`` (or of their absolute values) sorted ascending.

    See :func:`order_statistics_of`, which finds both kinds in the same passes.
    """
    ranks = np.asarray(ranks, np.int64)
    none = np.zeros(0, np.int64)
    signed, folded = order_statistics_of(values, top, none if absolute else ranks, ranks if absolute else none)
    return folded if absolute else signed


def order_statistics_of(values: np.ndarray, top: np.ndarray, ranks: np.ndarray, absolute_ranks: np.ndarray):
    """Values at given ranks of ``values`` and of their absolute values, without sorting them.

    Parameters
    ----------
    values : ndarray of float64, shape (n,)
        Finite values.
    top : ndarray of int64, shape (65536,)
        Their counts by key bucket, from :func:`key_histogram` (not absolute).
    ranks, absolute_ranks : ndarray of int64, shapes (k,) and (j,)
        0-based ranks among the ascending values and among the ascending
        absolute values, each below ``n``.

    Returns
    -------
    (ndarray, ndarray) of float64, shapes (k,) and (j,)

    Notes
    -----
    The values in the buckets that hold a wanted rank are counted by the next 8
    bits of their key, then the values of the wanted cells are gathered, each
    part of the values into its own stretch of one buffer, and sorted: two
    passes over the data, and only a few thousand values are sorted. A cell of
    over :data:`LARGE_CELL` values is first checked for holding a single value.
    An absolute value's bucket and cell are those of the value itself, or,
    for a negative value, their mirror images, so absolute ranks need only the
    two images of their buckets counted alongside.
    """
    ranks, absolute_ranks = np.asarray(ranks, np.int64), np.asarray(absolute_ranks, np.int64)
    bucket, inner = _rank_buckets(top, ranks)
    absolute_bucket, absolute_inner = _rank_buckets(absolute_top(top), absolute_ranks)
    wanted = np.unique(np.concatenate([bucket, absolute_bucket, MIRROR - absolute_bucket]))
    n_slots = len(wanted)
    slot_of = np.full(1 << 16, n_slots, np.int32)  # int32: small, so it stays in cache
    slot_of[wanted] = np.arange(n_slots, dtype=np.int32)
    parts = spans(len(values))
    counted = map_threads(lambda span: order_counts(values[span[0] : span[1]], slot_of, n_slots), parts)
    middle = sum(counted)
    cell, sub_rank = order_cells(middle, bucket, inner, slot_of)
    positive, negative, absolute_sub_rank = absolute_cells(middle, absolute_bucket, absolute_inner, slot_of)
    constant = _constant_cells(values, parts, slot_of, middle, cell)
    cells = np.unique(np.concatenate([cell[constant == NOT_CONSTANT], positive, negative]))
    spare = len(cells)
    group_of = np.full(len(middle), spare, np.int64)
    group_of[cells] = np.arange(len(cells))
    offsets = np.concatenate([[0], np.cumsum(middle[cells])]).astype(np.int64)
    # each part writes its cells' values after those of the parts before it
    per_part = np.array([c[cells] for c in counted], np.int64).reshape(len(parts), len(cells))
    starts = offsets[:-1] + np.cumsum(per_part, axis=0) - per_part
    gathered = np.empty(offsets[-1])

    def gather(i):
        a, b = parts[i]
        order_gather(values[a:b], slot_of, group_of, spare, starts[i].copy(), gathered)

    map_threads(gather, range(len(parts)))

    def cell_values(c):
        return gathered[offsets[group_of[c]] : offsets[group_of[c] + 1]]

    for g in range(len(cells)):
        gathered[offsets[g] : offsets[g + 1]].sort()
    out = np.empty(len(ranks))
    for r in range(len(ranks)):
        out[r] = key_value(constant[r]) if constant[r] != NOT_CONSTANT else cell_values(cell[r])[sub_rank[r]]
    folded = np.empty(len(absolute_ranks))
    for r in range(len(absolute_ranks)):
        both = np.abs(np.concatenate([cell_values(positive[r]), cell_values(negative[r])]))
        folded[r] = np.partition(both, absolute_sub_rank[r])[absolute_sub_rank[r]]
    return out, folded
