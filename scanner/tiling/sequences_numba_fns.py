"""Compiled kernels that build window sequences and coordinate maps."""

from __future__ import annotations

from .._numba import kernel
from ..genome.alphabet import BASE_BITS, N


@kernel
def fill_windows(span, span_start, seg_start, seg_end, seg_offset, minus, out):
    """Copy each window's segments out of one contig span into ``out``.

    ``span`` holds the contig's codes from ``span_start`` (N-padded off the contig);
    segment ``s`` of window ``w`` is ``span[seg_start - span_start : seg_end - span_start]``,
    reverse-complemented when ``minus[w]``, placed at ``seg_offset[w, s]``. ``out`` must
    be pre-filled with N.
    """
    for w in range(seg_start.shape[0]):
        for s in range(seg_start.shape[1]):
            n = seg_end[w, s] - seg_start[w, s]
            src = seg_start[w, s] - span_start
            dst = seg_offset[w, s]
            for j in range(n):
                if minus[w]:
                    code = span[src + n - 1 - j]
                    base = code & BASE_BITS
                    out[w, dst + j] = code - base + (3 - base) if base < N else code
                else:
                    out[w, dst + j] = span[src + j]


@kernel
def fill_positions(seg_start, seg_end, seg_offset, minus, contig_length, out):
    """Genome position of every window slot; ``out`` pre-filled with -1 stays -1 where
    a slot holds no genome base (spacer, off the contig)."""
    for w in range(seg_start.shape[0]):
        for s in range(seg_start.shape[1]):
            n = seg_end[w, s] - seg_start[w, s]
            for j in range(n):
                position = seg_end[w, s] - 1 - j if minus[w] else seg_start[w, s] + j
                if 0 <= position < contig_length[w]:
                    out[w, seg_offset[w, s] + j] = position
