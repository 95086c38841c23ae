"""Scanning one stretch of base codes with a motif bank: the kernel calls, and
the buffers they fill, kept per thread and reused from chunk to chunk.

A genome scan runs thousands of chunk tasks on a few threads; allocating each
chunk's buffers afresh costs more in page faults than some of the kernels take,
so each thread keeps its own and grows them when a larger chunk comes. They are
about 30 MB per thread for 1 Mb chunks, and live as long as the thread.
"""

from __future__ import annotations

import threading

import numpy as np

from .bank import MotifBank

#: Anchor positions bucketed at once: enough per word that each index entry's
#: tables are reused across many positions.
TILE = 1 << 20


class _Scratch(threading.local):
    """This thread's reusable arrays, by name."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, size: int, dtype) -> np.ndarray:
        """An uninitialised array of ``size`` elements (a view of a kept one)."""
        array = self.arrays.get(name)
        if array is None or array.size < size or array.dtype != dtype:
            array = np.empty(size, dtype=dtype)
            self.arrays[name] = array
        return array[:size]


_SCRATCH = _Scratch()


class _Hits:
    """Growable kernel output buffers (start, motif-strand, integer score), ``n`` filled."""

    def __init__(self, capacity: int | None):
        self.fresh = capacity is not None
        self.n = 0
        self.start = self.motif = self.score = None
        self._resize(capacity or 1 << 18)

    def _resize(self, capacity: int) -> None:
        old = (self.start, self.motif, self.score)
        if self.fresh:
            new = [np.empty(capacity, dtype=np.int64) for _ in range(3)]
        else:
            new = [_SCRATCH.get(f"hits{i}", capacity, np.int64) for i in range(3)]
        for a, b in zip(new, old):
            if self.n and not np.shares_memory(a, b):
                a[: self.n] = b[: self.n]
        self.start, self.motif, self.score = new

    def room(self, free: int) -> None:
        """At least ``free`` unused slots."""
        if self.start.size - self.n < free:
            self._resize(max(2 * self.start.size, self.n + free))


def scan_codes(
    codes: np.ndarray, first_start: int, last_start: int, bank: MotifBank, *, capacity: int | None = None,
    dense: bool = False,
):
    """Hits among window starts ``[first_start, last_start)`` of ``codes``.

    Parameters
    ----------
    codes : ndarray of uint8, shape (positions,)
        Base codes; windows read past ``last_start`` as far as ``codes`` goes.
    bank : MotifBank
    capacity : int, optional
        Start from fresh hit buffers of this size (grown when full) instead of this
        thread's kept ones.
    dense : bool
        Score every window against every motif (the simple kernel) instead of
        going through the anchor index; both give the same hits.

    Returns
    -------
    start : ndarray of int64
        Window start (index into ``codes``), sorted, then by motif-strand.
    motif_strand : ndarray of int64
    scaled : ndarray of int64
        Integer window score.
    """
    from .scan_numba_fns import scan_block, sort_hits, window_codes

    hits = _Hits(capacity)
    if dense:
        position = first_start
        while position < last_start:
            hits.room(bank.base.size)
            hits.n, position = scan_block(
                codes, position, last_start, bank.cells, bank.order, bank.bound, bank.base, bank.width, bank.cutoff,
                hits.start, hits.motif, hits.score, hits.n,
            )
    else:
        key = _SCRATCH.get("key", codes.size, np.int32)
        # padded so that words before the start and past the end can be read
        # without a bounds check; no window there is N-free
        pad = int(bank.width.max())
        quad = _SCRATCH.get("quad", codes.size + 2 * pad, np.uint8)
        free = _SCRATCH.get("free", codes.size + 2 * pad, np.int32)
        free[:pad] = 0
        free[pad + codes.size :] = 0
        window_codes(codes, bank.anchor, key, quad, free, pad)
        stop = min(last_start + int(bank.anchor_offset.max()), codes.size)
        for tile in range(first_start, stop, TILE):
            _scan_tile(codes, key, quad, free, pad, tile, min(tile + TILE, stop), first_start, last_start, bank, hits)
    n = hits.n
    ordered = tuple(np.empty(n, dtype=np.int64) for _ in range(3))
    offsets = _SCRATCH.get("sort", max(last_start - first_start, 0) + 2, np.int64)  # hits start before last_start
    sort_hits(hits.start[:n], hits.motif[:n], hits.score[:n], first_start, offsets, *ordered)
    return ordered


def _scan_tile(codes, key, quad, free, pad, first, stop, first_start, last_start, bank, hits: _Hits) -> None:
    """Add the hits anchored at positions ``first .. stop`` (window starts kept in
    ``[first_start, last_start)``) to ``hits``."""
    from .scan_numba_fns import bucket_positions, scan_short, scan_words

    n_words = bank.index_offsets.size - 2
    counts = _SCRATCH.get("counts", n_words + 2, np.int64)
    positions = _SCRATCH.get("positions", max(stop - first, 1), np.int32)
    bucket_positions(key, first, stop, n_words, counts, positions)
    most = int(np.diff(counts[:-1]).max(initial=1))
    survivor_position = _SCRATCH.get("survivor_position", most, np.int64)
    survivor_slack = _SCRATCH.get("survivor_slack", most, np.int64)
    word, entry = 0, 0
    while word < n_words:
        hits.room(most)
        hits.n, word, entry = scan_words(
            quad, free, pad, first_start, last_start, counts, positions, word, entry, bank.index_offsets, bank.index_entries,
            bank.strand_info, bank.block_info, bank.block_loss, survivor_position, survivor_slack,
            hits.start, hits.motif, hits.score, hits.n,
        )
    if bank.short_lengths.size and counts[-1] > counts[-2]:
        position = first
        while position < stop:
            hits.room(bank.strand_info.shape[0])
            hits.n, position = scan_short(
                codes, key, quad, free, pad, position, first_start, last_start, stop, n_words, bank.short_lengths,
                bank.short_offsets, bank.short_base, bank.index_entries, bank.strand_info, bank.block_info,
                bank.block_loss, hits.start, hits.motif, hits.score, hits.n,
            )
