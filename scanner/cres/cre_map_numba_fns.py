"""Compiled kernels of the CRE map: intervals overlapping each CRE, and genes near it.

Both look at a CRE's neighbours only. An interval overlapping ``[lo, hi)`` starts
in ``[lo - longest, hi)``, where ``longest`` is the longest interval, so each CRE
scans that range of the intervals ordered by start (binary search for its ends).

Genes have ``end >= start`` (``cre_map`` refuses others). A position is in a
gene's promoter, terminator or body only within ``reach``
(the larger of the promoter and terminator extents) of the gene, so each
position looks only at the genes whose start lies in
``[x - longest - reach, x + reach]``, found by binary search over the starts.
A position near no gene takes the gene with the nearest end point (its start or
its last base), found by binary search over all end points.
"""

from __future__ import annotations

import numpy as np

from .._numba import kernel

PROMOTER, TERMINATOR, GENIC, DISTAL = 0, 1, 2, 3


@kernel
def _distance(x, start, last):
    return min(abs(x - start), abs(x - last))


@kernel
def _longest(start, end):
    longest = np.int64(0)
    for k in range(start.shape[0]):
        longest = max(longest, end[k] - start[k])
    return longest


@kernel
def _nearest_end_point(x, points, point_gene):
    """The gene with an end point nearest ``x``; among equally near, the lowest index."""
    n = points.shape[0]
    right = np.searchsorted(points, x)
    best = np.int64(-1)
    if right < n:
        best_distance = points[right] - x
    else:
        best_distance = x - points[n - 1]
    if right > 0:
        best_distance = min(best_distance, x - points[right - 1])
    i = right - 1
    while i >= 0 and x - points[i] == best_distance:
        if best < 0 or point_gene[i] < best:
            best = point_gene[i]
        i -= 1
    i = right
    while i < n and points[i] - x == best_distance:
        if best < 0 or point_gene[i] < best:
            best = point_gene[i]
        i += 1
    return best


@kernel
def gene_context(centre, start, end, minus, upstream, downstream, by_start, points, point_gene,
                 region, gene, to_tss, to_tts):
    """Region, gene and signed distances to its TSS and TTS of each position.

    Parameters
    ----------
    centre : int64 (n,)
        Positions, on this contig.
    start, end : int64 (g,)
        The contig's genes (0-based, half-open), in table order: g >= 1.
    minus : bool (g,)
        Gene on the minus strand.
    upstream, downstream : int
        Promoter ``[-upstream, downstream)`` around the TSS and terminator
        ``(-downstream, upstream]`` around the TTS, in transcript orientation; >= 0.
    by_start : int64 (g,)
        Gene indices ordered by start.
    points, point_gene : int64 (2g,)
        Every gene's start and last base, ascending, and the gene of each.
    region, gene, to_tss, to_tts : int64 (n,)
        Written: region code (PROMOTER, TERMINATOR, GENIC, DISTAL), gene index,
        ``(x - tss) * sign`` and ``(x - tts) * sign``.

    The first of promoter, terminator, body that holds the position decides the
    region, and the nearest such gene (by distance to its TSS or TTS, whichever
    is closer; ties to the lowest index) is its gene; a position in none is
    distal, with the nearest of all genes.
    """
    sorted_start = start[by_start]
    longest = _longest(start, end)
    reach = max(upstream, downstream)
    for row in range(centre.shape[0]):
        x = centre[row]
        lo = np.searchsorted(sorted_start, x - longest - reach)
        hi = np.searchsorted(sorted_start, x + reach, side="right")
        best_region = DISTAL
        best = np.int64(-1)
        best_distance = np.int64(0)
        for j in range(lo, hi):
            k = by_start[j]
            sign = -1 if minus[k] else 1
            tss = end[k] - 1 if minus[k] else start[k]
            tts = start[k] if minus[k] else end[k] - 1
            d_tss = (x - tss) * sign
            d_tts = (x - tts) * sign
            if -upstream <= d_tss < downstream:
                kind = PROMOTER
            elif -downstream < d_tts <= upstream:
                kind = TERMINATOR
            elif start[k] <= x < end[k]:
                kind = GENIC
            else:
                continue
            # a lower region wins whatever the distance; within one, the nearer gene
            distance = _distance(x, start[k], end[k] - 1)
            if (kind < best_region or (kind == best_region and (distance < best_distance
                                                                or (distance == best_distance and k < best)))):
                best_region, best, best_distance = kind, k, distance
        if best < 0:
            best = _nearest_end_point(x, points, point_gene)
        k = best
        sign = -1 if minus[k] else 1
        region[row] = best_region
        gene[row] = k
        to_tss[row] = (x - (end[k] - 1 if minus[k] else start[k])) * sign
        to_tts[row] = (x - (start[k] if minus[k] else end[k] - 1)) * sign


@kernel
def best_overlapping(lo, hi, start, end, by_start, pvalue, count, best):
    """How many intervals overlap each query, and the one of lowest p-value.

    Parameters
    ----------
    lo, hi : int64 (n,)
        Queries (0-based, half-open), on one contig.
    start, end : int64 (m,)
        Intervals on that contig.
    by_start : int64 (m,)
        Interval indices ordered by start (stable).
    pvalue : float64 (m,)
    count, best : int64 (n,)
        Written: overlapping intervals, and the index of the lowest p-value among
        them (the first in ``by_start`` order on ties), -1 when none.
    """
    sorted_start = start[by_start]
    longest = _longest(start, end)
    for row in range(lo.shape[0]):
        first = np.searchsorted(sorted_start, lo[row] - longest)
        last = np.searchsorted(sorted_start, hi[row])
        n = 0
        chosen = np.int64(-1)
        for j in range(first, last):
            k = by_start[j]
            if end[k] > lo[row] and start[k] < hi[row]:
                n += 1
                if chosen < 0 or pvalue[k] < pvalue[chosen]:
                    chosen = k
        count[row] = n
        best[row] = chosen


@kernel
def most_overlapping(lo, hi, start, end, by_start, best):
    """The interval sharing the most bases with each query (the first in ``by_start``
    order on ties), -1 when none; arguments as :func:`best_overlapping`."""
    sorted_start = start[by_start]
    longest = _longest(start, end)
    for row in range(lo.shape[0]):
        first = np.searchsorted(sorted_start, lo[row] - longest)
        last = np.searchsorted(sorted_start, hi[row])
        chosen = np.int64(-1)
        most = np.int64(0)
        for j in range(first, last):
            k = by_start[j]
            if end[k] > lo[row] and start[k] < hi[row]:
                shared = min(end[k], hi[row]) - max(start[k], lo[row])
                if chosen < 0 or shared > most:
                    chosen, most = k, shared
        best[row] = chosen
