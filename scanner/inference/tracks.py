"""Per-base tracks from a run: stitched tiles, or gene windows mapped to the genome.

Tile runs: each base takes its value from the tile in which it is most central
(:func:`scanner.stitch_tiles`), so a tiled track does not depend on chunking.
Gene runs: a base inside several gene windows gets the mean of their values.
Values NaN where no window covers a base (bigWig leaves those out).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from ..bigwig import write_bigwig
from ..tiling.coordinates import _block_positions
from .run import actual_contributions


def tile_tracks(run: xr.Dataset, values: xr.DataArray) -> dict[str, xr.DataArray]:
    """Stitch per-window-base ``values`` (windows, positions, ...) of a tile run into contig tracks."""
    from ..tiling.stitch import stitch_tiles

    return stitch_tiles(values, run)


def _gene_track_chunk(table: dict, values, contig_index: int, start: int, end: int) -> np.ndarray:
    """Mean over gene windows of ``values`` at each base of ``contig[start:end]``."""
    total = np.zeros(end - start)
    count = np.zeros(end - start)
    contig = table["window_contig"]
    lo, hi = table["window_start"], table["window_end"]
    rows = np.flatnonzero((contig == contig_index) & (lo < end) & (hi > start))
    if len(rows):
        positions = _block_positions(
            contig[rows], table["window_strand"][rows], table["window_segment_start"][rows],
            table["window_segment_end"][rows], table["window_segment_offset"][rows],
            contig_lengths=table["contig_length"], length=values.shape[1],
        )
        block = np.asarray(values[rows])
        inside = (positions >= start) & (positions < end)
        np.add.at(total, positions[inside] - start, block[inside])
        np.add.at(count, positions[inside] - start, 1.0)
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def contribution_bigwig(run: xr.Dataset, path: str | os.PathLike) -> Path:
    """bigWig of the per-base actual contribution of a run (tiles stitched, genes averaged)."""
    actual = actual_contributions(run)
    lengths = {str(c): int(n) for c, n in zip(run.contig_id.values, run.contig_length.values)}
    if run.attrs.get("layout") == "tiles":
        tracks = tile_tracks(run, actual)
        covered = {c: lengths[c] for c in tracks}
        return write_bigwig(path, covered, lambda c, s, e: np.asarray(tracks[c][s:e], dtype=np.float64))
    values = actual.values  # windows x positions; gene runs hold one window per gene
    names = ("window_contig", "window_start", "window_end", "window_strand", "window_segment_start",
             "window_segment_end", "window_segment_offset", "contig_length")
    table = {name: run[name].values for name in names}  # loaded once: the run is lazy
    index = {c: i for i, c in enumerate(lengths)}
    covered = {c: lengths[c] for c in lengths if (table["window_contig"] == index[c]).any()}
    return write_bigwig(path, covered, lambda c, s, e: _gene_track_chunk(table, values, index[c], s, e))


def prediction_bigwig(run: xr.Dataset, path: str | os.PathLike, target: int = 0) -> Path:
    """bigWig of a tile run's predictions: each base carries the prediction of the tile that owns it."""
    if run.attrs.get("layout") != "tiles":
        raise ValueError("prediction tracks need a tile run; gene runs give a table (prediction_table)")
    per_base = run.window_prediction[:, target].expand_dims(positions=run.sizes["positions"], axis=1)
    tracks = tile_tracks(run, per_base)
    lengths = {str(c): int(n) for c, n in zip(run.contig_id.values, run.contig_length.values) if str(c) in tracks}
    return write_bigwig(path, lengths, lambda c, s, e: np.asarray(tracks[c][s:e], dtype=np.float64))


def prediction_table(run: xr.Dataset):
    """One row per window: contig, start, end, strand, gene or name, each target's output (and probability)."""
    import pandas as pd

    table = pd.DataFrame({
        "contig": run.contig_id.values[run.window_contig.values],
        "start": run.window_start.values,
        "end": run.window_end.values,
        "strand": run.window_strand.values,
    })
    for name in ("window_gene_id", "window_name"):
        if name in run:
            table[name.removeprefix("window_")] = run[name].values
    predictions = run.window_prediction.values
    import json

    task = json.loads(run.attrs.get("model_card", "{}")).get("task", "regression")
    for t, target in enumerate(run.target_id.values):
        table[str(target)] = predictions[:, t]
        if task == "classification":
            table[f"{target}_probability"] = 1.0 / (1.0 + np.exp(-predictions[:, t].astype(np.float64)))
    return table
