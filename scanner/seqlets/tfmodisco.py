"""Seqlets by the TF-MoDISco method, on attribution tracks of any length.

1. Windowed sums of the per-base contribution over ``window`` bases.
2. A Laplace null fitted to the windowed sums: the mode by a two-level histogram,
   each side's rate as the largest implied by its 5th..95th percentiles, and
   10,000 values sampled from it (seeded).
3. A threshold per sign at the target false discovery rate: a weighted isotonic
   fit of "real or null" on the values, turned into precision under the implied
   fraction of null windows; then kept so that between ``min_passing`` and
   ``max_passing`` of the windows pass.
4. Greedy extraction per track: the strongest passing window (by absolute sum)
   becomes a seqlet with ``flank`` bases each side, windows within ``suppress``
   are dropped, and so on. Positive and negative seqlets are kept apart by sign.

Steps 1-3 follow modisco-lite's ``extract_seqlets`` (values, null samples and
thresholds agree with it exactly on the same tracks, tested); step 4 is done per
run of nearby passing windows, so calls do not depend on how a genome is chunked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..parts import map_parts
from .seqlets_numba_fns import (bernoulli_blocks, call_rows, count_passing, greedy_seqlets, pool_adjacent_violators,
                                pooled_points, windowed_sums, windowed_sums_rows)
from .window_stats import key_histogram, laplace_mode, order_statistics_of

log = logging.getLogger(__name__)

SUBSAMPLE = 1_000_000
SUBSAMPLE_BLOCK = 1 << 20
NULL_SAMPLES = 10_000
NULL_SEED = 1234


@dataclass(frozen=True)
class Thresholds:
    """Windowed-sum cut-offs: windows at or above ``positive`` or at or below ``negative`` pass."""

    positive: float
    negative: float


def window_sums(track: np.ndarray, window: int, out: np.ndarray | None = None) -> np.ndarray:
    """Sums of every full ``window`` of a track, or of each row of a stack of tracks.

    Parameters
    ----------
    track : ndarray, shape (L,) or (rows, L)
        float32 or float64; NaN counts as 0.
    window : int
    out : ndarray of float64, optional
        Where to write the sums (a view into a larger array, say).

    Returns
    -------
    ndarray of float64, shape (L - window + 1,) or (rows, L - window + 1)
        Bit for bit modisco-lite's sums (differences of a float64 running sum).
    """
    track = np.ascontiguousarray(track)
    if track.dtype not in (np.float32, np.float64):
        track = track.astype(np.float64)
    shape = track.shape[:-1] + (max(track.shape[-1] - window + 1, 0),)
    out = np.empty(shape) if out is None else out
    if out.shape != shape or out.dtype != np.float64:
        raise ValueError(f"out must be float64 of shape {shape}, got {out.dtype} {out.shape}")
    if track.ndim == 1:
        windowed_sums(track, int(window), out)
    else:
        rows, sums = track.reshape(-1, track.shape[-1]), out.reshape(-1, out.shape[-1])
        map_parts(lambda a, b: windowed_sums_rows(rows[a:b], int(window), sums[a:b]), len(rows),
                  min_part=_rows_per_part(rows.shape[1]))
    return out


def _rows_per_part(length: int) -> int:
    """Rows of ``length`` in a part worth a thread."""
    from ..parts import MIN_PART

    return max(1, MIN_PART // max(length, 1))


def _mode_bin(values: np.ndarray, bins: int = 1000):
    counts, edges = np.histogram(values, bins=bins)
    peak = int(np.argmax(counts))
    left, right = edges[peak], edges[peak + 1]
    return left, right, values[(left < values) & (values < right)]


def _percentile_ranks(count: int, percentiles: np.ndarray):
    """The ranks ``np.percentile`` interpolates between, and its weights, for ``count`` values.

    numpy's own index and weight steps are used, so interpolating the order
    statistics at these ranks with :func:`_interpolate` gives numpy's bits.

    Returns
    -------
    previous, following : ndarray of int64
        0-based ranks into the ascending values.
    gamma : ndarray of float64
    """
    from numpy.lib import _function_base_impl as impl

    method = impl._QuantileMethods["linear"]
    virtual = np.asanyarray(method["get_virtual_index"](count, np.true_divide(percentiles, 100)))
    previous, following = impl._get_indexes(np.empty(0), virtual, count)
    return previous % count, following % count, impl._get_gamma(virtual, previous, method)


def _interpolate(previous: np.ndarray, following: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    from numpy.lib import _function_base_impl as impl

    return impl._lerp(previous, following, gamma)


def _percentiles_of_ranks(values: np.ndarray, top: np.ndarray, sides) -> list[np.ndarray]:
    """``np.percentile`` of several rank ranges of ``values`` from one order-statistics pass.

    ``sides``: ``(offset, count, percentiles, absolute)`` per range: the range is
    the ``count`` values from rank ``offset`` on of the ascending values, or of
    the ascending absolute values; ``top`` counts the (signed) values' key buckets.
    """
    plans = [(offset, absolute, _percentile_ranks(count, percentiles)) for offset, count, percentiles, absolute in sides]
    wanted = []  # the ranks to find among the values (False) and among their absolute values (True)
    for kind in (False, True):
        ranks = [np.concatenate([p + o, f + o]) for o, a, (p, f, _) in plans if a == kind]
        wanted.append(np.unique(np.concatenate(ranks)).astype(np.int64) if ranks else np.zeros(0, np.int64))
    at = order_statistics_of(values, top, wanted[0], wanted[1])
    return [_interpolate(at[a][np.searchsorted(wanted[a], p + o)], at[a][np.searchsorted(wanted[a], f + o)], gamma)
            for o, a, (p, f, gamma) in plans]


def _laplace_fit(values: np.ndarray, percentiles: np.ndarray, histogram=None, absolute=()):
    """The mode and the two sides' counts and percentiles, as modisco-lite finds them.

    Threaded one-pass histograms and order statistics (:mod:`.window_stats`) give
    exactly what ``np.histogram`` and ``np.percentile`` of the masked sides
    would, without copying or partitioning the values; non-finite values take
    numpy's path. ``histogram``: :func:`.window_stats.key_histogram` of the values, if known;
    ``absolute``: percentiles of the absolute values to find in the same passes
    (returned last, in an array; not with numpy's path, which returns None).
    """
    if values.size == 0:
        return _laplace_fit_numpy(values, percentiles) + (None,)
    low, high, top, finite = key_histogram(values) if histogram is None else histogram
    if not finite:
        return _laplace_fit_numpy(values, percentiles) + (None,)
    mu, below, equal = laplace_mode(values, low, high)
    positive, negative = len(values) - below, below + equal
    _one_sided(positive, negative, mu)
    sides = [(below, positive, percentiles, False), (0, negative, 100 - percentiles, False)]
    if len(absolute):
        sides.append((0, len(values), np.asarray(absolute, np.float64), True))
    upper, lower, *folded = _percentiles_of_ranks(values, top, sides)
    return mu, positive, negative, upper, lower, (folded[0] if folded else np.zeros(0))


def _one_sided(positive: int, negative: int, mu: float) -> None:
    if positive == 0 or negative == 0:
        raise ValueError(f"every windowed sum lies on one side of their mode ({mu:.6g}): no Laplace null can be "
                         "fitted; the contributions are empty or constant")


def _laplace_fit_numpy(values: np.ndarray, percentiles: np.ndarray):
    _, _, top = _mode_bin(values)
    left, right, _ = _mode_bin(top)
    mu = (left + right) / 2
    positive = values[values >= mu]
    negative = values[values <= mu]
    _one_sided(len(positive), len(negative), mu)
    return (mu, len(positive), len(negative), np.percentile(positive, percentiles),
            np.percentile(negative, 100 - percentiles))


def laplace_null(values: np.ndarray, *, samples: int = NULL_SAMPLES, seed: int = NULL_SEED, histogram=None):
    """Values sampled from a two-sided Laplace null fitted to ``values``: (non-negative, negative).

    Parameters
    ----------
    values : ndarray of float64, shape (n,)
        Every windowed sum; finite.
    samples, seed : int
        Null values drawn, and the seed of ``numpy.random.RandomState`` they come from.
    histogram : tuple, optional
        :func:`.window_stats.key_histogram` of ``values``, if the caller has it.

    Returns
    -------
    (ndarray, ndarray) of float64
        The sampled null values ``>= 0`` and ``< 0``, equal to modisco-lite's.
    """
    return _laplace_null(values, samples, seed, histogram)[:2]


def _laplace_null(values: np.ndarray, samples: int, seed: int, histogram, absolute=()):
    """:func:`laplace_null`, and the ``absolute`` percentiles of the absolute values (None
    where the values are not finite)."""
    percentiles = np.array([5.0 * (x + 1) for x in range(19)])
    values = np.ascontiguousarray(values, dtype=np.float64)
    mu, n_positive, n_negative, upper, lower, folded = _laplace_fit(values, percentiles, histogram, absolute)
    rate_positive = np.max(-np.log(1 - percentiles / 100.0) / (upper - mu))
    rate_negative = np.max(-np.log(1 - percentiles / 100.0) / np.abs(lower - mu))
    rng = np.random.RandomState(seed)
    uniforms = rng.uniform(size=(samples, 2))
    take_positive = uniforms[:, 0] < n_positive / (n_positive + n_negative)
    sampled = np.where(take_positive, -np.log(1 - uniforms[:, 1]) / rate_positive + mu,
                       mu + np.log(1 - uniforms[:, 1]) / rate_negative)
    return sampled[sampled >= 0], sampled[sampled < 0], folded


def _isotonic(values: np.ndarray, null: np.ndarray, increasing: bool):
    """Weighted isotonic fit of "real or null" on the values and null values, duplicates pooled.

    ``values`` are ascending (``increasing``) or descending; the null weighs
    ``len(values) / len(null)`` per value. Returns the fit's knots (x, fitted y)
    and the smallest and largest x.
    """
    ascending = values if increasing else values[::-1]
    unique_x, total, unique_y = pooled_points(np.ascontiguousarray(ascending), np.sort(null, kind="stable"),
                                              len(values) / len(null))
    if increasing:
        fitted = pool_adjacent_violators(unique_y.copy(), total.copy())
    else:
        fitted = pool_adjacent_violators(unique_y[::-1].copy(), total[::-1].copy())[::-1]
    keep = np.ones(len(fitted), bool)
    keep[1:-1] = (fitted[1:-1] != fitted[:-2]) | (fitted[1:-1] != fitted[2:])
    return unique_x[keep], fitted[keep], unique_x[0], unique_x[-1]


def _fdr_threshold(values: np.ndarray, null: np.ndarray, increasing: bool, target_fdr: float,
                   min_null_fraction: float = 0.95) -> float:
    xs, ys, low, high = _isotonic(values, null, increasing)

    def fitted(t):
        return np.interp(np.clip(t, low, high), xs, ys)

    weakest = float(fitted(np.array([low if increasing else high]))[0])
    null_fraction = -1 / (1 - 1 / max(weakest, 1e-7))
    if null_fraction > 1.0 or null_fraction < min_null_fraction:
        null_fraction = max(min(1.0, null_fraction), min_null_fraction)
    precision = np.clip(1 + null_fraction * (1 - 1 / np.maximum(fitted(values), 1e-7)), 0.0, 1.0)
    precision[-1] = 1
    return float(values[precision >= 1 - target_fdr][0])


def subsample_windows(sums: np.ndarray, *, cap: int = SUBSAMPLE, method: str = "bernoulli") -> np.ndarray:
    """The windowed sums the thresholds are chosen among: all of them, or about ``cap``.

    Parameters
    ----------
    sums : ndarray of float64, shape (n,)
    cap : int
        Subsample size when ``n > cap``.
    method : {"bernoulli", "modisco"}
        ``"bernoulli"``: each window kept with probability ``cap / n``, independently,
        by seeded geometric gaps between kept indices (about ``cap`` draws and
        values; each block of :data:`SUBSAMPLE_BLOCK` windows from its own stream,
        so blocks are drawn on all cores and the sample does not depend on how many). ``"modisco"``: the first
        ``cap`` of ``RandomState(1234).permutation(n)``, modisco-lite's subsample,
        which costs a shuffle of all ``n`` indices.

    Returns
    -------
    ndarray of float64
    """
    if len(sums) <= cap:
        return sums
    if method == "modisco":
        return sums[np.random.RandomState(NULL_SEED).permutation(len(sums))[:cap]]
    if method != "bernoulli":
        raise ValueError(f"subsample method must be 'bernoulli' or 'modisco', not {method!r}")
    values = np.ascontiguousarray(sums, dtype=np.float64)
    keep = cap / len(values)
    n_blocks = -(-len(values) // SUBSAMPLE_BLOCK)

    def draw(a, b):
        # room for the sample size's binomial spread (its standard deviation is below sqrt(size))
        size = keep * (b - a) * SUBSAMPLE_BLOCK
        return bernoulli_blocks(values, keep, NULL_SEED, SUBSAMPLE_BLOCK, a, b, int(size + 8 * np.sqrt(size)) + 64)

    return np.concatenate(map_parts(draw, n_blocks, min_part=1))


def fdr_thresholds(sums: np.ndarray, *, target_fdr: float = 0.2, min_passing: float = 0.0001,
                   max_passing: float = 0.2, sample: np.ndarray | None = None,
                   subsample: str = "bernoulli") -> Thresholds:
    """Thresholds on windowed sums at ``target_fdr`` against the Laplace null.

    Parameters
    ----------
    sums : ndarray of float64
        Every windowed sum (all tracks together); the null is fitted to all of them.
    target_fdr, min_passing, max_passing : float
        As modisco-lite's ``target_seqlet_fdr``, ``min_passing_windows_frac``,
        ``max_passing_windows_frac``.
    sample : ndarray, optional
        The values the thresholds are chosen among (default: all of ``sums``, or a
        subsample of about 1,000,000 of them by :func:`subsample_windows`).
    subsample : {"bernoulli", "modisco"}
        How that subsample is drawn. With 1,000,000 windows or fewer both give
        modisco-lite's thresholds exactly. Above that, ``"modisco"`` still does
        (at the cost of shuffling every window index); ``"bernoulli"`` fits the FDR
        threshold on an equally large, equally random subsample and applies the
        passing-fraction limits over every window, exactly.
    """
    sums = np.ascontiguousarray(sums, dtype=np.float64)
    histogram = key_histogram(sums) if len(sums) else None
    given = sample is not None
    # the passing-fraction limits, should they bind over every window, are percentiles of
    # the absolute sums known in advance: found in the null's own passes
    limits = np.array([100 * (1 - min_passing), 100 * (1 - max_passing)])
    every = subsample == "bernoulli" and not given and len(sums) > SUBSAMPLE
    positive_null, negative_null, folded = _laplace_null(sums, NULL_SAMPLES, NULL_SEED, histogram,
                                                         limits if every else ())
    if not given:
        sample = subsample_windows(sums, method=subsample)
    positive = np.sort(sample[sample >= 0])
    negative = np.sort(sample[sample < 0])[::-1]
    upper = _fdr_threshold(positive, positive_null, True, target_fdr)
    lower = _fdr_threshold(negative, negative_null, False, target_fdr)
    if every:
        # the passing-fraction limits hold over every window, not only over the subsample
        passing = sum(map_parts(lambda a, b: count_passing(sums[a:b], upper, lower), len(sums))) / len(sums)

        def limit(which):
            if folded is None:  # not finite: numpy's path, as for the null
                return _numpy_absolute_percentile(sums, limits[which])
            return float(folded[which])
    else:
        values = np.concatenate([positive, negative])
        passing = (np.count_nonzero(values >= upper) + np.count_nonzero(values <= lower)) / len(values)

        def limit(which):
            return _numpy_absolute_percentile(values, limits[which])
    if passing < min_passing:
        upper = limit(0)
        lower = -upper
    if passing > max_passing:
        upper = limit(1)
        lower = -upper
    return Thresholds(float(upper), float(lower))


def _numpy_absolute_percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(np.abs(values), q))


def _absolute_percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(np.abs(values), q)`` without the copy or the partition."""
    top = key_histogram(values)[2]
    return float(_percentiles_of_ranks(values, top, [(0, len(values), np.array([q]), True)])[0][0])


def call_track(sums: np.ndarray, length: int, thresholds: Thresholds, *, window: int, flank: int,
               suppress: float) -> tuple[np.ndarray, np.ndarray]:
    """Seqlets of one track from its windowed sums: starts and the windowed sum of each.

    Returns
    -------
    start : ndarray of int64
        0-based start of each seqlet (``window + 2 * flank`` bases), in calling order.
    value : ndarray of float64
        The windowed sum of the seqlet's core (its sign is the seqlet's sign).
    """
    passing = (sums >= thresholds.positive) | (sums <= thresholds.negative)
    passing[:flank] = False
    passing[len(sums) - flank :] = False
    position = np.flatnonzero(passing).astype(np.int64)
    score = np.abs(sums[position])
    out_start = np.empty(len(position), np.int64)
    out_index = np.empty(len(position), np.int64)
    found = greedy_seqlets(position, score, int(length), int(window), int(flank), float(suppress), out_start, out_index)
    return out_start[:found], sums[position[out_index[:found]]]


def call_tracks(sums: np.ndarray, length: int, thresholds: Thresholds, *, window: int, flank: int,
                suppress: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`call_track` on every row of ``sums`` (rows, n) in one compiled loop.

    Returns
    -------
    row, start : ndarray of int64
        The row of each seqlet and its 0-based start in that row; rows ascending,
        calling order within a row.
    value : ndarray of float64
        The windowed sum of each seqlet's core.
    """
    sums = np.ascontiguousarray(sums, dtype=np.float64)

    def call(a, b):
        row, start, value = call_rows(sums[a:b], int(length), float(thresholds.positive), float(thresholds.negative),
                                      int(window), int(flank), float(suppress))
        return row + a, start, value

    parts = map_parts(call, len(sums), min_part=_rows_per_part(sums.shape[1]))
    return tuple(np.concatenate(column) for column in zip(*parts))
