"""Compiled dinucleotide shuffle (Altschul and Erickson's Eulerian-path method)."""

from __future__ import annotations

import numpy as np

from .._numba import kernel
from ..genome.alphabet import BASE_BITS, N


@kernel
def _shuffle_run(letters, out):
    """Shuffle ``letters`` (codes 0-3) keeping every dinucleotide count, the first and the last letter.

    A random Eulerian path through the graph whose vertices are the 4 bases and
    whose edges are the run's dinucleotides: a random spanning arborescence
    towards the last letter fixes each vertex's final exit (Wilson's loop-erased
    random walks), the other exits are shuffled, and the walk from the first letter
    uses every edge once. Uses numba's generator, seeded by the caller.
    """
    n = letters.shape[0]
    if n < 3:
        out[:] = letters
        return
    counts = np.zeros(4, np.int64)
    for i in range(n - 1):
        counts[letters[i]] += 1
    starts = np.zeros(5, np.int64)
    for v in range(4):
        starts[v + 1] = starts[v] + counts[v]
    edges = np.empty(n - 1, np.int64)  # successors grouped by vertex
    filled = starts[:4].copy()
    for i in range(n - 1):
        v = letters[i]
        edges[filled[v]] = letters[i + 1]
        filled[v] += 1
    last = letters[n - 1]
    in_tree = np.zeros(4, np.bool_)
    in_tree[last] = True
    exit_slot = np.full(4, -1, np.int64)  # index into edges of each vertex's last exit
    for u in range(4):
        if in_tree[u] or counts[u] == 0:
            continue
        v = u
        while not in_tree[v]:
            exit_slot[v] = starts[v] + np.random.randint(0, counts[v])
            v = edges[exit_slot[v]]
        v = u
        while not in_tree[v]:
            in_tree[v] = True
            v = edges[exit_slot[v]]
    for v in range(4):
        lo, hi = starts[v], starts[v + 1]
        if hi - lo == 0:
            continue
        if exit_slot[v] >= 0:  # move the tree exit to the end of v's list
            tmp = edges[hi - 1]
            edges[hi - 1] = edges[exit_slot[v]]
            edges[exit_slot[v]] = tmp
            hi -= 1
        for i in range(hi - 1, lo, -1):  # Fisher-Yates on the other exits
            j = lo + np.random.randint(0, i - lo + 1)
            tmp = edges[i]
            edges[i] = edges[j]
            edges[j] = tmp
    used = starts[:4].copy()
    v = letters[0]
    out[0] = v
    for i in range(1, n):
        previous = v
        v = edges[used[previous]]
        used[previous] += 1
        out[i] = v


@kernel
def shuffle_windows(codes, fixed, seeds, shuffles, out):
    """Dinucleotide-shuffled copies of each window, non-sequence positions in place.

    Parameters
    ----------
    codes : uint8 (n, L)
        Base codes (soft mask ignored).
    fixed : bool (L,)
        Layout positions that are not sequence (masked bases, spacers); N bases
        are fixed too.
    seeds : int64 (n,)
        One seed per window: the shuffles of a window depend on its seed only.
    shuffles : int
        Copies per window.
    out : uint8 (n, shuffles, L)
    """
    n, length = codes.shape
    letters = np.empty(length, np.uint8)
    shuffled = np.empty(length, np.uint8)
    for w in range(n):
        np.random.seed(seeds[w])
        for k in range(shuffles):
            j = 0
            while j < length:
                base = codes[w, j] & BASE_BITS
                if fixed[j] or base >= N:
                    out[w, k, j] = codes[w, j] & BASE_BITS
                    j += 1
                    continue
                end = j
                while end < length and not fixed[end] and (codes[w, end] & BASE_BITS) < N:
                    letters[end - j] = codes[w, end] & BASE_BITS
                    end += 1
                _shuffle_run(letters[: end - j], shuffled[: end - j])
                out[w, k, j:end] = shuffled[: end - j]
                j = end
