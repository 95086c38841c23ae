"""Compiled kernels of the hits table."""

from __future__ import annotations

import numpy as np

from .._numba import kernel

_EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)  # the bits of a NaN, never a p-value
PLUS, MINUS = ord("+"), ord("-")


@kernel
def add_counts(slots, counts):
    """``counts[s] += 1`` for each ``s`` in ``slots``."""
    for h in range(slots.shape[0]):
        counts[slots[h]] += 1


@kernel
def fill_hit_columns(start, motif_strand, scaled, offset, n_motifs, width, scale, score_offset, slot_base, cutoff,
                     slot_pvalue, out_start, out_end, out_strand, out_motif, out_score, out_pvalue, out_slot):
    """One pass from kernel output to the hit columns (see :func:`scanner.motifs.hits.hit_columns`);
    ``out_strand`` holds the UCS-4 code of '+' or '-'."""
    for h in range(start.shape[0]):
        k = motif_strand[h]
        s = scaled[h]
        out_start[h] = start[h] + offset
        out_end[h] = start[h] + offset + width[k]
        out_strand[h] = PLUS if k < n_motifs else MINUS
        out_motif[h] = k % n_motifs
        out_score[h] = s / scale[k] + width[k] * score_offset[k]
        slot = slot_base[k] + s - cutoff[k]
        out_pvalue[h] = slot_pvalue[slot]
        out_slot[h] = slot


@kernel
def qvalues_by_motif(pvalue, bits, motif, weight, tested, qvalue):
    """Per-motif Benjamini-Hochberg q-values (see :func:`scanner.motifs.hits.benjamini_hochberg`).

    Hits sharing a p-value share a q-value (the running minimum reaches them all
    from the last of them), and a motif's hits take few distinct p-values; so the
    hits are counted per distinct p-value in a hash table (``bits``: the p-values'
    bits), only the distinct values are sorted, and each q-value is worked out with
    the same floating-point operations as the per-hit formula ``p * m / rank``.
    Entry ``h`` stands for ``weight[h]`` hits of its p-value.
    """
    n_motifs = tested.shape[0]
    offsets = np.zeros(n_motifs + 1, dtype=np.int64)
    for h in range(motif.shape[0]):
        offsets[motif[h] + 1] += 1
    for m in range(n_motifs):
        offsets[m + 1] += offsets[m]
    members = np.empty(motif.shape[0], dtype=np.int32)
    fill = offsets[:-1].copy()
    for h in range(motif.shape[0]):
        members[fill[motif[h]]] = h
        fill[motif[h]] += 1
    slot_of = np.empty(motif.shape[0], dtype=np.int32)
    for m in range(n_motifs):
        lo, hi = offsets[m], offsets[m + 1]
        if lo == hi:
            continue
        size, shift = 1, 64
        while size < 2 * (hi - lo):
            size *= 2
            shift -= 1
        keys = np.full(size, _EMPTY, dtype=np.uint64)
        counts = np.zeros(size, dtype=np.int64)
        for j in range(lo, hi):
            b = bits[members[j]]
            # Fibonacci hashing takes the product's top bits: p-values under a uniform
            # background are short binary fractions whose low bits are all 0
            s = np.int64((b * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(shift)) if shift < 64 else 0
            while keys[s] != b and keys[s] != _EMPTY:
                s = (s + 1) & (size - 1)
            keys[s] = b
            counts[s] += weight[members[j]]
            slot_of[j] = s
        used = np.flatnonzero(counts)
        values = np.empty(used.size, dtype=np.float64)
        for d in range(used.size):
            values[d] = _float_of(keys[used[d]])
        order = np.argsort(values)
        q = np.empty(size, dtype=np.float64)
        total = np.float64(tested[m])
        rank = 0
        running = np.inf
        ranks = np.empty(used.size, dtype=np.int64)
        for d in range(used.size):
            rank += counts[used[order[d]]]
            ranks[d] = rank
        for d in range(used.size - 1, -1, -1):
            slot = used[order[d]]
            running = min(running, values[order[d]] * total / np.float64(ranks[d]))
            q[slot] = min(running, 1.0)
        for j in range(lo, hi):
            qvalue[members[j]] = q[slot_of[j]]


@kernel(inline="always")
def _float_of(b):
    return np.array([b], dtype=np.uint64).view(np.float64)[0]
