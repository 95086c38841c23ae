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

from .seqlets_numba_fns import greedy_seqlets, pool_adjacent_violators, windowed_sums

log = logging.getLogger(__name__)

SUBSAMPLE = 1_000_000
NULL_SAMPLES = 10_000
NULL_SEED = 1234


@dataclass(frozen=True)
class Thresholds:
    """Windowed-sum cut-offs: windows at or above ``positive`` or at or below ``negative`` pass."""

    positive: float
    negative: float


def window_sums(track: np.ndarray, window: int) -> np.ndarray:
    """Sums of every full ``window`` of ``track`` (float64, length ``len(track) - window + 1``)."""
    track = np.ascontiguousarray(track, dtype=np.float64)
    out = np.empty(max(track.shape[0] - window + 1, 0))
    windowed_sums(track, int(window), out)
    return out


def _mode_bin(values: np.ndarray, bins: int = 1000):
    counts, edges = np.histogram(values, bins=bins)
    peak = int(np.argmax(counts))
    left, right = edges[peak], edges[peak + 1]
    return left, right, values[(left < values) & (values < right)]


def laplace_null(values: np.ndarray, *, samples: int = NULL_SAMPLES, seed: int = NULL_SEED):
    """Values sampled from a two-sided Laplace null fitted to ``values``: (non-negative, negative)."""
    percentiles = np.array([5.0 * (x + 1) for x in range(19)])
    _, _, top = _mode_bin(values)
    left, right, _ = _mode_bin(top)
    mu = (left + right) / 2
    positive = values[values >= mu]
    negative = values[values <= mu]
    rate_positive = np.max(-np.log(1 - percentiles / 100.0) / (np.percentile(positive, percentiles) - mu))
    rate_negative = np.max(-np.log(1 - percentiles / 100.0) / np.abs(np.percentile(negative, 100 - percentiles) - mu))
    rng = np.random.RandomState(seed)
    uniforms = rng.uniform(size=(samples, 2))
    take_positive = uniforms[:, 0] < len(positive) / (len(positive) + len(negative))
    sampled = np.where(take_positive, -np.log(1 - uniforms[:, 1]) / rate_positive + mu,
                       mu + np.log(1 - uniforms[:, 1]) / rate_negative)
    return sampled[sampled >= 0], sampled[sampled < 0]


def _isotonic(x: np.ndarray, y: np.ndarray, weight: np.ndarray, increasing: bool):
    """Weighted isotonic fit of y on x, as (x thresholds, fitted y), duplicates of x pooled."""
    order = np.lexsort((y, x))
    x, y, weight = x[order], y[order], weight[order]
    first = np.concatenate([[True], x[1:] != x[:-1]])
    group = np.cumsum(first) - 1
    unique_x = x[first]
    total = np.bincount(group, weights=weight)
    unique_y = np.bincount(group, weights=weight * y) / total
    if increasing:
        fitted = pool_adjacent_violators(unique_y.copy(), total.copy())
    else:
        fitted = pool_adjacent_violators(unique_y[::-1].copy(), total[::-1].copy())[::-1]
    keep = np.ones(len(fitted), bool)
    keep[1:-1] = (fitted[1:-1] != fitted[:-2]) | (fitted[1:-1] != fitted[2:])
    return unique_x[keep], fitted[keep], unique_x.min(), unique_x.max()


def _fdr_threshold(values: np.ndarray, null: np.ndarray, increasing: bool, target_fdr: float,
                   min_null_fraction: float = 0.95) -> float:
    x = np.concatenate([values, null])
    y = np.concatenate([np.ones(len(values)), np.zeros(len(null))])
    weight = np.concatenate([np.ones(len(values)), np.full(len(null), len(values) / len(null))])
    xs, ys, low, high = _isotonic(x, y, weight, increasing)

    def fitted(t):
        return np.interp(np.clip(t, low, high), xs, ys)

    weakest = float(fitted(np.array([low if increasing else high]))[0])
    null_fraction = -1 / (1 - 1 / max(weakest, 1e-7))
    if null_fraction > 1.0 or null_fraction < min_null_fraction:
        null_fraction = max(min(1.0, null_fraction), min_null_fraction)
    precision = np.clip(1 + null_fraction * (1 - 1 / np.maximum(fitted(values), 1e-7)), 0.0, 1.0)
    precision[-1] = 1
    return float(values[precision >= 1 - target_fdr][0])


def fdr_thresholds(sums: np.ndarray, *, target_fdr: float = 0.2, min_passing: float = 0.0001,
                   max_passing: float = 0.2, sample: np.ndarray | None = None) -> Thresholds:
    """Thresholds on windowed sums at ``target_fdr`` against the Laplace null.

    Parameters
    ----------
    sums : ndarray of float64
        Every windowed sum (all tracks together); the null is fitted to all of them.
    target_fdr, min_passing, max_passing : float
        As modisco-lite's ``target_seqlet_fdr``, ``min_passing_windows_frac``,
        ``max_passing_windows_frac``.
    sample : ndarray, optional
        The values the thresholds are chosen among (default: a seeded subsample of
        at most 1,000,000 of ``sums``, as modisco-lite takes).
    """
    positive_null, negative_null = laplace_null(sums)
    if sample is None:
        sample = sums
        if len(sums) > SUBSAMPLE:
            sample = sums[np.random.RandomState(NULL_SEED).permutation(len(sums))[:SUBSAMPLE]]
    positive = np.sort(sample[sample >= 0])
    negative = np.sort(sample[sample < 0])[::-1]
    upper = _fdr_threshold(positive, positive_null, True, target_fdr)
    lower = _fdr_threshold(negative, negative_null, False, target_fdr)
    values = np.concatenate([positive, negative])
    passing = (np.count_nonzero(values >= upper) + np.count_nonzero(values <= lower)) / len(values)
    if passing < min_passing:
        upper = np.percentile(np.abs(values), 100 * (1 - min_passing))
        lower = -upper
    if passing > max_passing:
        upper = np.percentile(np.abs(values), 100 * (1 - max_passing))
        lower = -upper
    return Thresholds(float(upper), float(lower))


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
