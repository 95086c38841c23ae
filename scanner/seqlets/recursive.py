"""Seqlets by the recursive p-value method (tangermeme's ``recursive_seqlets``).

1. Every per-base contribution of every track is put in one of ``n_bins`` equal
   bins spanning the smallest to the largest value, and the bins' frequencies
   are the null of one base.
2. The null of a span of ``L`` bases is the distribution of the sum of ``L``
   independent bins (repeated convolution); a span's p-value is the chance of a
   binned sum at least as large as its own.
3. A span is a candidate when every span of at least ``min_seqlet_len`` bases
   inside it (itself included) has a p-value below ``threshold``. Candidates are
   taken from the longest length down; within one length in order of their
   prefix p-value (the largest p-value of the span's prefixes of at least
   ``min_seqlet_len`` bases), ties by start. A candidate becomes a seqlet when
   none of its bases is in a seqlet already.
4. ``additional_flanks`` bases are added on each side afterwards (clipped to the
   track), so extended seqlets may overlap.

Only positive contributions are called; negate a track to call its negative
seqlets. Seqlets, p-values and the null agree exactly with tangermeme's
``recursive_seqlets`` on the same tracks (tested). Passing starts are found by an
integer test on binned sums over the whole track, and only the few runs of them
are decoded, each on its own: spans of different runs cannot share a base.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..parts import map_parts, map_threads, spans

log = logging.getLogger(__name__)

# passing starts decoded per thread at the least (fewer are decoded on one)
DECODE_GROUP = 4096


@dataclass(frozen=True)
class RecursiveNull:
    """The null of binned span sums, fitted to a set of tracks.

    Attributes
    ----------
    low : numpy scalar
        The smallest value of the tracks, in their dtype (bin 0 starts there).
    bin_width : float
        Width of one bin: ``(largest - smallest) / (n_bins - 1)``.
    n_bins : int
    tails : ndarray of float64, shape (max_seqlet_len + 1, n_bins * max_seqlet_len + 1)
        ``tails[L, s]``: probability that ``L`` independent bins sum to ``s`` or more.
    dtype : numpy dtype
        The tracks' dtype (float32 or float64); tracks are binned in it.
    """

    low: np.floating
    bin_width: float
    n_bins: int
    tails: np.ndarray
    dtype: np.dtype

    @property
    def max_seqlet_len(self) -> int:
        return self.tails.shape[0] - 1

    @property
    def edge(self) -> float:
        """How close to an integer a reciprocal-multiplied quotient is re-checked by division."""
        return max(1e-9, self.n_bins * 1e-14)


class RecursiveSeqlets(NamedTuple):
    """Seqlets of one or more tracks, ordered by track then start (all 0-based, half-open).

    ``track`` (int64) indexes the input tracks; ``start``/``end`` (int64) bound the
    seqlet with its ``additional_flanks``; ``core_start``/``core_end`` (int64) the
    span that was called; ``attribution`` (float64) is the sum of the track over
    ``[start, end)``; ``pvalue`` (float64) the called span's own p-value (not the
    largest over its inner spans): a ranking score, not an error rate.
    """

    track: np.ndarray
    start: np.ndarray
    end: np.ndarray
    core_start: np.ndarray
    core_end: np.ndarray
    attribution: np.ndarray
    pvalue: np.ndarray


def _value_range(track: np.ndarray):
    """(smallest, largest, all finite) of a non-empty track; the extremes in its dtype."""
    from .recursive_numba_fns import value_range

    parts = map_parts(lambda a, b: value_range(track[a:b]), len(track))
    kind = track.dtype.type
    return kind(min(p[0] for p in parts)), kind(max(p[1] for p in parts)), sum(p[2] for p in parts) == 0


def _empty() -> RecursiveSeqlets:
    ints = np.zeros(0, np.int64)
    return RecursiveSeqlets(ints, ints, ints, ints, ints, np.zeros(0), np.zeros(0))


def _as_tracks(tracks) -> list[np.ndarray]:
    if isinstance(tracks, np.ndarray) and tracks.ndim == 2:
        if tracks.size == 0:
            raise ValueError(f"tracks has shape {tracks.shape}: at least one non-empty track is needed")
        if not np.issubdtype(tracks.dtype, np.number) or np.issubdtype(tracks.dtype, np.complexfloating):
            raise ValueError(f"tracks have dtype {tracks.dtype}; contributions must be real numbers")
        dtype = np.float32 if tracks.dtype == np.float32 else np.float64
        return list(np.ascontiguousarray(tracks, dtype=dtype))
    if isinstance(tracks, np.ndarray):
        raise ValueError(f"tracks must be a 2-D array (tracks, positions) or a sequence of 1-D arrays; got shape {tracks.shape}")
    if len(tracks) == 0:
        raise ValueError("tracks is empty: at least one track is needed to fit the null")
    arrays = [np.asarray(track) for track in tracks]
    for i, track in enumerate(arrays):
        if track.ndim != 1:
            raise ValueError(f"track {i} has shape {track.shape}; each track must be 1-D (positions)")
        if not np.issubdtype(track.dtype, np.number) or np.issubdtype(track.dtype, np.complexfloating):
            raise ValueError(f"track {i} has dtype {track.dtype}; contributions must be real numbers")
    dtype = np.float32 if all(track.dtype == np.float32 for track in arrays) else np.float64
    return [np.ascontiguousarray(track, dtype=dtype) for track in arrays]


def _check_lengths(min_seqlet_len: int, max_seqlet_len: int) -> None:
    for name, value in (("min_seqlet_len", min_seqlet_len), ("max_seqlet_len", max_seqlet_len)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer; got {value!r}")
    if not 1 <= min_seqlet_len <= max_seqlet_len:
        raise ValueError(f"seqlet lengths need 1 <= min_seqlet_len <= max_seqlet_len; got {min_seqlet_len} and {max_seqlet_len}")


def recursive_null(tracks, *, max_seqlet_len: int = 25, n_bins: int = 1000) -> RecursiveNull | None:
    """Fit the null of binned span sums to every value of ``tracks``.

    Parameters
    ----------
    tracks : ndarray, shape (tracks, positions), or sequence of 1-D ndarrays
        Per-base contributions (float32 tracks stay float32; others become
        float64). Tracks may differ in length.
    max_seqlet_len : int
        Longest span the null covers.
    n_bins : int
        Number of bins (at least 2).

    Returns
    -------
    RecursiveNull or None
        None when every value is the same: no span is then significant.

    Raises
    ------
    ValueError
        No tracks, a value that is not finite, fewer than 2 bins.
    """
    from .recursive_numba_fns import count_bins, span_sum_tails

    matrix = isinstance(tracks, np.ndarray) and tracks.ndim == 2 and tracks.dtype in (np.float32, np.float64)
    if matrix:
        arrays = [np.ascontiguousarray(tracks).ravel()]  # one pass over all rows: they share the null
    else:
        arrays = _as_tracks(tracks)
    _check_lengths(1, max_seqlet_len)
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 2:
        raise ValueError(f"n_bins must be an integer of at least 2; got {n_bins!r}")
    low, high, total = None, None, 0
    for i, track in enumerate(arrays):
        if track.shape[0] == 0:
            continue
        track_low, track_high, finite = _value_range(track)
        if not finite:
            if matrix:
                i = int(np.flatnonzero(~np.isfinite(tracks).all(axis=1))[0])
                track = np.asarray(tracks[i])
            _check_finite(track, i)
        low = track_low if low is None else min(low, track_low)
        high = track_high if high is None else max(high, track_high)
        total += track.shape[0]
    if total == 0:
        raise ValueError("every track is empty: no values to fit the null to")
    if high == low:
        log.info("all %d values are %g: no span can be significant", total, float(low))
        return None
    bin_width = float(high - low) / (n_bins - 1)
    null = RecursiveNull(low=low, bin_width=bin_width, n_bins=int(n_bins), tails=np.zeros((1, 1)), dtype=arrays[0].dtype)
    counts = np.zeros(n_bins, np.int64)

    def count(track, a, b):
        part = np.zeros(n_bins, np.int64)
        count_bins(track[a:b], low, bin_width, 1.0 / bin_width, null.edge, int(n_bins), part)
        return part

    for track in arrays:
        if track.shape[0]:
            counts += sum(map_parts(lambda a, b: count(track, a, b), len(track)))
    tails = span_sum_tails(counts / total, int(max_seqlet_len))
    log.debug("null of %d values in %d bins of %g from %g, spans up to %d", total, n_bins, bin_width, float(low),
              max_seqlet_len)
    return RecursiveNull(low=low, bin_width=bin_width, n_bins=int(n_bins), tails=tails, dtype=arrays[0].dtype)


def _check_call(threshold: float, min_seqlet_len: int, max_seqlet_len: int, additional_flanks: int) -> None:
    _check_lengths(min_seqlet_len, max_seqlet_len)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)) \
            or not 0 < threshold <= 1:
        raise ValueError(f"threshold must be a p-value in (0, 1]; got {threshold!r}")
    if isinstance(additional_flanks, bool) or not isinstance(additional_flanks, (int, np.integer)) or additional_flanks < 0:
        raise ValueError(f"additional_flanks must be an integer >= 0; got {additional_flanks!r}")


def _call(values: np.ndarray, offsets: np.ndarray, null: RecursiveNull, threshold: float, min_seqlet_len: int,
          max_seqlet_len: int, additional_flanks: int, first_index: int) -> RecursiveSeqlets:
    """Seqlets of tracks laid end to end in ``values`` (``offsets``: their bounds), in one compiled pass."""
    from .recursive_numba_fns import decode_clusters, passing_starts, span_sums

    below = np.flatnonzero(null.tails[min_seqlet_len, : min_seqlet_len * (null.n_bins - 1) + 1] < threshold)
    if len(below) == 0:
        return _empty()
    starts = np.concatenate(map_parts(
        lambda a, b: passing_starts(values, offsets, a, b, null.low, null.bin_width, 1.0 / null.bin_width, null.edge,
                                    null.n_bins, int(min_seqlet_len), int(below[0])), len(values)))
    if len(starts) == 0:
        return _empty()

    def decode(span):
        group = starts[span[0] : span[1]]
        out_start, out_length, out_pvalue = (np.empty(len(group), np.int64), np.empty(len(group), np.int64),
                                             np.empty(len(group)))
        found = decode_clusters(values, offsets, group, null.low, null.bin_width, null.n_bins, null.tails,
                                float(threshold), int(min_seqlet_len), int(max_seqlet_len), out_start, out_length,
                                out_pvalue)
        return out_start[:found], out_length[:found], out_pvalue[:found]

    out_start, out_length, out_pvalue = (np.concatenate(c) for c in zip(*map_threads(
        decode, _independent_groups(starts, max(min_seqlet_len, 2)))))
    order = np.argsort(out_start, kind="stable")
    core_start = out_start[order]
    core_end = core_start + out_length[order]
    track = np.searchsorted(offsets, core_start, side="right") - 1
    start = np.maximum(core_start - additional_flanks, offsets[track])
    end = np.minimum(core_end + additional_flanks, offsets[track + 1])
    origin = offsets[track]
    log.debug("%d passing starts, %d seqlets", len(starts), len(order))
    return RecursiveSeqlets(track + first_index, start - origin, end - origin, core_start - origin, core_end - origin,
                            span_sums(values, start, end), out_pvalue[order])


def _independent_groups(starts: np.ndarray, reach: int) -> list[tuple[int, int]]:
    """Ranges of ``starts`` (ascending) to decode apart, one per core: cut only where two
    passing starts are ``reach`` or more apart, so no cluster is split."""
    gaps = np.flatnonzero(np.diff(starts) >= reach) + 1  # a cluster may begin at each of these
    wanted = [a for a, _ in spans(len(starts), min_part=DECODE_GROUP)][1:]
    cuts = []
    if len(gaps):
        # the first gap at or after each even cut (the last gap if none is)
        cuts = np.unique(gaps[np.minimum(np.searchsorted(gaps, wanted), len(gaps) - 1)]).tolist()
    bounds = [0, *cuts, len(starts)]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _check_finite(track: np.ndarray, index: int) -> None:
    if not _value_range(track)[2]:
        bad = int(np.flatnonzero(~np.isfinite(track))[0])
        raise ValueError(f"track {index} holds a non-finite value ({track[bad]}) at position {bad}; "
                         "contributions must be finite (replace NaN at masked bases by 0)")


def call_track_recursive(track: np.ndarray, null: RecursiveNull | None, *, threshold: float = 0.01,
                         min_seqlet_len: int = 4, max_seqlet_len: int = 25, additional_flanks: int = 0,
                         index: int = 0) -> RecursiveSeqlets:
    """Recursive seqlets of one track against a fitted null.

    Parameters
    ----------
    track : ndarray, shape (positions,)
        Per-base contributions, finite; cast to the null's dtype.
    null : RecursiveNull or None
        From :func:`recursive_null` (None: no seqlets).
    threshold : float
        p-value every inner span must be below, in (0, 1].
    min_seqlet_len, max_seqlet_len : int
        Shortest and longest span called (``max_seqlet_len`` at most the null's).
    additional_flanks : int
        Bases added each side of a called span, clipped to the track.
    index : int
        Written to ``track`` of the result.

    Returns
    -------
    RecursiveSeqlets
        Ordered by start; coordinates 0-based, half-open in the track.

    Raises
    ------
    ValueError
        A track shorter than ``min_seqlet_len`` or with a non-finite value, bad
        settings, or ``max_seqlet_len`` beyond the null's.
    """
    _check_call(threshold, min_seqlet_len, max_seqlet_len, additional_flanks)
    track = np.asarray(track)
    if track.ndim != 1:
        raise ValueError(f"track {index} has shape {track.shape}; expected 1-D (positions)")
    if track.shape[0] < min_seqlet_len:
        raise ValueError(f"track {index} has {track.shape[0]} positions, fewer than min_seqlet_len={min_seqlet_len}")
    if null is None:
        return _empty()
    if max_seqlet_len > null.max_seqlet_len:
        raise ValueError(f"max_seqlet_len={max_seqlet_len} is beyond the null's {null.max_seqlet_len}; "
                         "fit the null with a larger max_seqlet_len")
    track = np.ascontiguousarray(track, dtype=null.dtype)
    _check_finite(track, index)
    return _call(track, np.array([0, track.shape[0]], np.int64), null, threshold, min_seqlet_len, max_seqlet_len,
                 additional_flanks, index)


def recursive_seqlets(tracks, *, threshold: float = 0.01, min_seqlet_len: int = 4, max_seqlet_len: int = 25,
                      additional_flanks: int = 0, n_bins: int = 1000) -> RecursiveSeqlets:
    """Recursive seqlets of every track, against one null fitted to all of them.

    The same seqlets and p-values as ``tangermeme.seqlet.recursive_seqlets(tracks,
    threshold, min_seqlet_len, max_seqlet_len, additional_flanks, n_bins)``, which
    sorts them by p-value instead.

    Parameters
    ----------
    tracks : ndarray, shape (tracks, positions), or sequence of 1-D ndarrays
        Per-base (projected) contributions; float32 or float64, finite. Each at
        least ``min_seqlet_len`` long. A 2-D array is called in one compiled pass.
    threshold, min_seqlet_len, max_seqlet_len, additional_flanks, n_bins
        As tangermeme's, with its defaults; see :func:`call_track_recursive`.

    Returns
    -------
    RecursiveSeqlets
        Ordered by track then start; 0-based, half-open coordinates in each track.
    """
    _check_call(threshold, min_seqlet_len, max_seqlet_len, additional_flanks)
    arrays = _as_tracks(tracks)
    for i, track in enumerate(arrays):
        if track.shape[0] < min_seqlet_len:
            raise ValueError(f"track {i} has {track.shape[0]} positions, fewer than min_seqlet_len={min_seqlet_len}")
    matrix = isinstance(tracks, np.ndarray)
    null = recursive_null(tracks if matrix else arrays, max_seqlet_len=max_seqlet_len, n_bins=n_bins)
    if null is None:
        return _empty()
    if matrix:
        values = np.ascontiguousarray(tracks, dtype=null.dtype).ravel()
        offsets = np.arange(len(arrays) + 1, dtype=np.int64) * tracks.shape[1]
        return _call(values, offsets, null, threshold, min_seqlet_len, max_seqlet_len, additional_flanks, 0)
    parts = [_call(track, np.array([0, track.shape[0]], np.int64), null, threshold, min_seqlet_len, max_seqlet_len,
                   additional_flanks, i) for i, track in enumerate(arrays)]
    return RecursiveSeqlets(*(np.concatenate(column) for column in zip(*parts)))
