"""Calling seqlets from a run's contributions: gene windows or stitched tile tracks.

One null is fitted to every track of the run (each gene window, or each contig's
stitched track), then each track is called on its own: by TF-MoDISco's method
(thresholds on windowed sums, :func:`scanner.seqlets.tfmodisco.call_track`) or by
the recursive p-value method (:func:`scanner.seqlets.recursive.call_track_recursive`).
The result is a dataset with one record dimension ``seqlets``.
"""

from __future__ import annotations

import logging

import numpy as np
import xarray as xr

from ..parts import map_threads
from ..variables import annotate
from .tfmodisco import call_track, call_tracks, fdr_thresholds, window_sums

log = logging.getLogger(__name__)


def _span_peaks(values: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Largest absolute value of ``values[start:end]`` (a 1-D track) for every span."""
    offset = np.arange(int((end - start).max(initial=0)))
    inside = offset[None, :] < (end - start)[:, None]
    index = np.minimum(start[:, None] + offset[None, :], values.shape[0] - 1)
    return np.where(inside, np.nan_to_num(np.abs(values[index].astype(np.float64))), 0.0).max(axis=1, initial=0.0)


def _track_columns(track: np.ndarray, contig: int, start: np.ndarray, end: np.ndarray, value: np.ndarray) -> dict:
    """Columns of seqlets called on one stitched contig track (genome positions are track positions)."""
    n = len(start)
    return dict(contig=np.full(n, contig, np.int32), start=start.astype(np.int64), end=end.astype(np.int64),
                strand=np.full(n, ".", "<U1"), sign=np.sign(value).astype(np.int8), sum=value.astype(np.float64),
                peak=_span_peaks(track, start, end), window=np.full(n, -1, np.int64), slot=np.full(n, -1, np.int64))


def _window_columns(run, actual: np.ndarray, window: np.ndarray, slot_start: np.ndarray, slot_end: np.ndarray,
                    value: np.ndarray) -> tuple[dict, np.ndarray]:
    """Columns of seqlets called in gene windows, placed on the genome through the window map.

    Returns the columns and the mask of seqlets kept: one covering no genome base
    (all padding) is dropped.
    """
    from ..tiling.coordinates import window_positions

    positions = window_positions(run).values
    width = int((slot_end - slot_start).max(initial=0))
    offset = np.arange(width)
    inside = offset[None, :] < (slot_end - slot_start)[:, None]
    slots = positions[window[:, None], np.minimum(slot_start[:, None] + offset[None, :], positions.shape[1] - 1)]
    genome = np.where(inside, slots, -1)
    valid = genome >= 0
    keep = valid.any(axis=1)
    big = np.iinfo(np.int64).max
    first = np.where(valid, genome, big).min(axis=1, initial=big)
    last = np.where(valid, genome, -1).max(axis=1, initial=-1)
    peak = np.where(inside, np.abs(actual[window[:, None], np.minimum(slot_start[:, None] + offset[None, :],
                                                                       actual.shape[1] - 1)]), 0).max(axis=1, initial=0.0)
    columns = dict(contig=run.window_contig.values[window].astype(np.int32), start=first, end=last + 1,
                   strand=run.window_strand.values[window].astype("<U1"), sign=np.sign(value).astype(np.int8),
                   sum=value.astype(np.float64), peak=peak, window=window.astype(np.int64),
                   slot=slot_start.astype(np.int64))
    return {k: v[keep] for k, v in columns.items()}, keep


def _seqlet_table(parts: list[dict], attrs: dict, contig_ids, contig_lengths, pvalue: list | None = None) -> xr.Dataset:
    """The ``seqlets`` dataset from column dicts (one per track or one for all windows), genome-ordered."""
    names = ("contig", "start", "end", "strand", "sign", "sum", "peak", "window", "slot")
    dtypes = (np.int32, np.int64, np.int64, "<U1", np.int8, np.float64, np.float64, np.int64, np.int64)
    columns = {name: np.concatenate([p[name] for p in parts]).astype(dtype) if parts else np.zeros(0, dtype)
               for name, dtype in zip(names, dtypes)}
    ds = xr.Dataset(
        {
            "seqlet_contig": ("seqlets", columns["contig"]),
            "seqlet_start": ("seqlets", columns["start"]),
            "seqlet_end": ("seqlets", columns["end"]),
            "seqlet_strand": ("seqlets", columns["strand"]),
            "seqlet_sign": ("seqlets", columns["sign"]),
            "seqlet_sum": ("seqlets", columns["sum"]),
            "seqlet_peak": ("seqlets", columns["peak"]),
            "seqlet_window": ("seqlets", columns["window"]),
            "seqlet_slot_start": ("seqlets", columns["slot"]),
            "contig_id": ("contigs", np.asarray(contig_ids).astype(str)),
            "contig_length": ("contigs", np.asarray(contig_lengths, dtype=np.int64)),
        },
        attrs=attrs,
    )
    if pvalue is not None:
        ds["seqlet_pvalue"] = ("seqlets", np.concatenate(pvalue).astype(np.float64) if pvalue else np.zeros(0))
    order = np.lexsort((ds.seqlet_start.values, ds.seqlet_contig.values))
    return annotate(ds.isel(seqlets=order))


def call_seqlets(run_path, *, method: str = "tfmodisco", window: int = 21, flank: int = 10,
                 suppress: float | None = None, target_fdr: float = 0.2, min_passing: float = 0.0001,
                 max_passing: float = 0.2, threshold: float = 0.01, min_seqlet_len: int = 4, max_seqlet_len: int = 25,
                 additional_flanks: int = 0, n_bins: int = 1000) -> xr.Dataset:
    """Seqlets of a run's actual contributions.

    Parameters
    ----------
    run_path : path-like
        An attribution run's store (``scanner attribute``). Gene runs are called per
        window; tile runs on their stitched contig tracks.
    method : {"tfmodisco", "recursive"}
        TF-MoDISco's windowed sums, FDR thresholds and greedy extraction (options
        ``window`` to ``max_passing``), or tangermeme's recursive p-value method
        (options ``threshold`` to ``n_bins``, see :func:`recursive_calls`).
    window, flank : int
        Core length and flank of a seqlet (modisco-lite's ``sliding_window_size``
        and ``flank_size``).
    suppress : float, optional
        Suppression radius (default ``window // 2 + flank``, modisco-lite's).
    target_fdr, min_passing, max_passing : float

    Returns
    -------
    xarray.Dataset
        Dim ``seqlets``: ``seqlet_contig``, ``seqlet_start``, ``seqlet_end`` (genome,
        0-based half-open), ``seqlet_strand`` (the window's, '.' for tiles),
        ``seqlet_sign``, ``seqlet_sum`` (windowed sum of the core), ``seqlet_peak``
        (largest absolute per-base contribution in the seqlet), ``seqlet_window`` and
        ``seqlet_slot_start`` (gene runs: the window and slot; -1 for tiles).
        Attributes hold the thresholds and settings. The recursive method adds
        ``seqlet_pvalue``; see :func:`recursive_calls`.
    """
    from ..inference.run import open_run

    if method not in ("tfmodisco", "recursive"):
        raise ValueError(f"method must be 'tfmodisco' or 'recursive'; got {method!r}")
    run = open_run(run_path)
    if "window_hypothetical" not in run:
        raise ValueError(f"{run_path} holds predictions only; seqlets need an attribution run (scanner attribute)")
    if method == "recursive":
        return recursive_calls(run_path, run, threshold=threshold, min_seqlet_len=min_seqlet_len,
                               max_seqlet_len=max_seqlet_len, additional_flanks=additional_flanks, n_bins=n_bins)
    return _tfmodisco_calls(run_path, run, window=window, flank=flank, suppress=suppress, target_fdr=target_fdr,
                            min_passing=min_passing, max_passing=max_passing)


def _tile_tracks(run_path, contig_ids) -> dict[str, np.ndarray]:
    """The stitched contribution tracks (float64, NaN as 0), in the contig table's order."""
    from ..inference.run import open_tracks

    stored = open_tracks(run_path)
    return {str(c): np.nan_to_num(stored[str(c)].track_actual.values.astype(np.float64))
            for c in contig_ids if str(c) in stored}


def _window_tracks(run) -> np.ndarray:
    from ..inference.run import actual_contributions

    return np.nan_to_num(actual_contributions(run).values.astype(np.float64))


def _tfmodisco_calls(run_path, run, *, window, flank, suppress, target_fdr, min_passing, max_passing) -> xr.Dataset:
    suppress = window // 2 + flank if suppress is None else suppress
    settings = dict(method="tfmodisco", window=window, flank=flank, suppress=suppress, target_fdr=target_fdr,
                    min_passing=min_passing, max_passing=max_passing)
    contig_ids = run.contig_id.values
    span = window + 2 * flank
    options = dict(window=window, flank=flank, suppress=suppress)
    limits = dict(target_fdr=target_fdr, min_passing=min_passing, max_passing=max_passing)
    if run.attrs.get("layout") == "tiles":
        from ..inference.run import open_tracks

        # tracks as stored (float32, NaN where no tile reached), in the contig table's order, which the
        # subsample depends on; the sums of all contigs in one array
        stored = open_tracks(run_path)
        tracks = {str(c): stored[str(c)].track_actual.values for c in contig_ids if str(c) in stored}
        counts = [max(len(track) - window + 1, 0) for track in tracks.values()]
        every = np.empty(sum(counts))
        bounds = np.concatenate([[0], np.cumsum(counts)])
        names = list(tracks)
        # a contig's sums are one running sum, so contigs, not parts of them, go to the threads
        sums = dict(zip(names, map_threads(
            lambda i: window_sums(tracks[names[i]], window, out=every[bounds[i] : bounds[i + 1]]), range(len(names)))))
        thresholds = fdr_thresholds(every, **limits)
        index = {str(c): i for i, c in enumerate(contig_ids)}
        calls = map_threads(lambda name: call_track(sums[name], len(tracks[name]), thresholds, **options), names)
        parts = [_track_columns(tracks[name], index[name], start, start + span, value)
                 for name, (start, value) in zip(names, calls)]
    else:
        actual = _window_tracks(run)
        sums = window_sums(actual, window)
        thresholds = fdr_thresholds(sums.ravel(), **limits)
        row, start, value = call_tracks(sums, actual.shape[1], thresholds, **options)
        parts = [_window_columns(run, actual, row, start, start + span, value)[0]]
    attrs = {**settings, "threshold_positive": thresholds.positive, "threshold_negative": thresholds.negative,
             "coordinates": "0-based, half-open"}
    return _seqlet_table(parts, attrs, contig_ids, run.contig_length.values)


def recursive_calls(run_path, run, *, threshold: float = 0.01, min_seqlet_len: int = 4, max_seqlet_len: int = 25,
                    additional_flanks: int = 0, n_bins: int = 1000) -> xr.Dataset:
    """Seqlets of an opened attribution run by the recursive p-value method.

    One null is fitted to every value of the run (all gene windows, or all
    stitched contig tracks), as ``tangermeme.seqlet.recursive_seqlets`` fits it
    to its whole input; each window or track is then called on its own. Only
    positive contributions make seqlets (``seqlet_sign`` is +1). Contigs shorter
    than ``min_seqlet_len`` add to the null but hold no seqlet.

    Returns
    -------
    xarray.Dataset
        As :func:`call_seqlets`; ``seqlet_start``/``seqlet_end`` (0-based,
        half-open) include ``additional_flanks``, ``seqlet_sum`` is the sum over
        the called span (without the flanks), ``seqlet_peak`` the largest
        absolute contribution over the whole seqlet, and ``seqlet_pvalue`` the
        called span's p-value (a ranking score, not an error rate).
    """
    from .recursive import call_track_recursive, recursive_null, recursive_seqlets
    from .recursive_numba_fns import span_sums

    settings = dict(method="recursive", threshold=threshold, min_seqlet_len=min_seqlet_len,
                    max_seqlet_len=max_seqlet_len, additional_flanks=additional_flanks, n_bins=n_bins)
    contig_ids = run.contig_id.values
    options = dict(threshold=threshold, min_seqlet_len=min_seqlet_len, max_seqlet_len=max_seqlet_len,
                   additional_flanks=additional_flanks)
    parts, pvalues = [], []
    if run.attrs.get("layout") == "tiles":
        tracks = _tile_tracks(run_path, contig_ids)
        null = recursive_null(list(tracks.values()), max_seqlet_len=max_seqlet_len, n_bins=n_bins) if tracks else None
        index = {str(c): i for i, c in enumerate(contig_ids)}
        for name, track in tracks.items():
            if len(track) < min_seqlet_len:
                log.info("contig %s has %d bases, fewer than min_seqlet_len=%d: no seqlets", name, len(track),
                         min_seqlet_len)
                continue
            calls = call_track_recursive(track, null, **options)
            core_sum = span_sums(track, calls.core_start, calls.core_end)
            columns = _track_columns(track, index[name], calls.start, calls.end, core_sum)
            parts.append({**columns, "sign": np.ones(len(calls.start), np.int8)})
            pvalues.append(calls.pvalue)
    else:
        actual = _window_tracks(run)
        calls = recursive_seqlets(actual, n_bins=n_bins, **options)
        row = calls.track.astype(np.int64)
        flat = row * actual.shape[1]
        core_sum = span_sums(actual.ravel(), flat + calls.core_start, flat + calls.core_end)
        columns, keep = _window_columns(run, actual, row, calls.start, calls.end, core_sum)
        parts.append({**columns, "sign": np.ones(int(keep.sum()), np.int8)})
        pvalues.append(calls.pvalue[keep])
    attrs = {**settings, "coordinates": "0-based, half-open"}
    return _seqlet_table(parts, attrs, contig_ids, run.contig_length.values, pvalue=pvalues)


def to_bed(seqlets: xr.Dataset, path) -> None:
    """BED6 of the seqlets: name ``pos_<n>``/``neg_<n>``, score the core's windowed sum."""
    contig = seqlets.contig_id.values[seqlets.seqlet_contig.values]
    with open(path, "w") as handle:
        for i, (c, s, e, st, sign, value) in enumerate(zip(contig, seqlets.seqlet_start.values, seqlets.seqlet_end.values,
                                                           seqlets.seqlet_strand.values, seqlets.seqlet_sign.values,
                                                           seqlets.seqlet_sum.values)):
            handle.write(f"{c}\t{s}\t{e}\t{'pos' if sign > 0 else 'neg'}_{i}\t{value:.6g}\t{st}\n")
