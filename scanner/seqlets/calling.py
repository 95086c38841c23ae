"""Calling seqlets from a run's contributions: gene windows or stitched tile tracks.

One set of thresholds is fitted to the windowed sums of every track of the run
(each gene window, or each contig's stitched track), then each track is called
on its own (:func:`scanner.seqlets.tfmodisco.call_track`). The result is a
dataset with one record dimension ``seqlets``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..variables import annotate
from .tfmodisco import Thresholds, call_track, fdr_thresholds, window_sums


def _seqlet_table(rows: list[dict], attrs: dict, contig_ids, contig_lengths) -> xr.Dataset:
    def column(name, dtype):
        return np.array([r[name] for r in rows], dtype=dtype) if rows else np.zeros(0, dtype)

    ds = xr.Dataset(
        {
            "seqlet_contig": ("seqlets", column("contig", np.int32)),
            "seqlet_start": ("seqlets", column("start", np.int64)),
            "seqlet_end": ("seqlets", column("end", np.int64)),
            "seqlet_strand": ("seqlets", column("strand", "<U1")),
            "seqlet_sign": ("seqlets", column("sign", np.int8)),
            "seqlet_sum": ("seqlets", column("sum", np.float64)),
            "seqlet_peak": ("seqlets", column("peak", np.float64)),
            "seqlet_window": ("seqlets", column("window", np.int64)),
            "seqlet_slot_start": ("seqlets", column("slot", np.int64)),
            "contig_id": ("contigs", np.asarray(contig_ids).astype(str)),
            "contig_length": ("contigs", np.asarray(contig_lengths, dtype=np.int64)),
        },
        attrs=attrs,
    )
    order = np.lexsort((ds.seqlet_start.values, ds.seqlet_contig.values))
    return annotate(ds.isel(seqlets=order))


def call_seqlets(run_path, *, window: int = 21, flank: int = 10, suppress: float | None = None,
                 target_fdr: float = 0.2, min_passing: float = 0.0001, max_passing: float = 0.2) -> xr.Dataset:
    """TF-MoDISco seqlets of a run's actual contributions.

    Parameters
    ----------
    run_path : path-like
        An attribution run's store (``scanner attribute``). Gene runs are called per
        window; tile runs on their stitched contig tracks.
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
        Attributes hold the thresholds and settings.
    """
    from ..inference.run import actual_contributions, open_run, open_tracks
    from ..tiling.coordinates import window_positions

    run = open_run(run_path)
    if "window_hypothetical" not in run:
        raise ValueError(f"{run_path} holds predictions only; seqlets need an attribution run (scanner attribute)")
    suppress = window // 2 + flank if suppress is None else suppress
    settings = dict(method="tfmodisco", window=window, flank=flank, suppress=suppress, target_fdr=target_fdr,
                    min_passing=min_passing, max_passing=max_passing)
    contig_ids = run.contig_id.values
    contig_lengths = run.contig_length.values
    rows: list[dict] = []
    if run.attrs.get("layout") == "tiles":
        tracks = {name: np.nan_to_num(ds.track_actual.values.astype(np.float64))
                  for name, ds in open_tracks(run_path).items()}
        sums = {name: window_sums(track, window) for name, track in tracks.items()}
        thresholds = fdr_thresholds(np.concatenate(list(sums.values())), target_fdr=target_fdr,
                                    min_passing=min_passing, max_passing=max_passing)
        index = {str(c): i for i, c in enumerate(contig_ids)}
        for name, track in tracks.items():
            starts, values = call_track(sums[name], len(track), thresholds, window=window, flank=flank, suppress=suppress)
            for start, value in zip(starts, values):
                core = track[start : start + window + 2 * flank]
                rows.append(dict(contig=index[name], start=start, end=start + window + 2 * flank, strand=".",
                                 sign=np.sign(value), sum=value, peak=np.abs(core).max(), window=-1, slot=-1))
    else:
        actual = actual_contributions(run).values.astype(np.float64)
        length = actual.shape[1]
        sums = np.stack([window_sums(track, window) for track in actual])
        thresholds = fdr_thresholds(sums.ravel(), target_fdr=target_fdr, min_passing=min_passing, max_passing=max_passing)
        positions = window_positions(run).values
        window_contig = run.window_contig.values  # loaded once: the run is lazy
        window_strand = run.window_strand.values
        for w in range(actual.shape[0]):
            starts, values = call_track(sums[w], length, thresholds, window=window, flank=flank, suppress=suppress)
            for start, value in zip(starts, values):
                slots = positions[w, start : start + window + 2 * flank]
                genome = slots[slots >= 0]
                if len(genome) == 0:
                    continue
                rows.append(dict(contig=int(window_contig[w]), start=int(genome.min()), end=int(genome.max()) + 1,
                                 strand=str(window_strand[w]), sign=np.sign(value), sum=value,
                                 peak=np.abs(actual[w, start : start + window + 2 * flank]).max(), window=w, slot=start))
    attrs = {**settings, "threshold_positive": thresholds.positive, "threshold_negative": thresholds.negative,
             "coordinates": "0-based, half-open"}
    return _seqlet_table(rows, attrs, contig_ids, contig_lengths)


def to_bed(seqlets: xr.Dataset, path) -> None:
    """BED6 of the seqlets: name ``pos_<n>``/``neg_<n>``, score the core's windowed sum."""
    contig = seqlets.contig_id.values[seqlets.seqlet_contig.values]
    with open(path, "w") as handle:
        for i, (c, s, e, st, sign, value) in enumerate(zip(contig, seqlets.seqlet_start.values, seqlets.seqlet_end.values,
                                                           seqlets.seqlet_strand.values, seqlets.seqlet_sign.values,
                                                           seqlets.seqlet_sum.values)):
            handle.write(f"{c}\t{s}\t{e}\t{'pos' if sign > 0 else 'neg'}_{i}\t{value:.6g}\t{st}\n")
