"""Sequence logos (logomaker): motifs in bits, contributions as letter heights.

Matplotlib runs with the Agg backend here, so logos are written without a display.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd


def _figure(width_bases: int, height: float = 1.6):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(max(2.5, 0.25 * width_bases + 0.8), height))
    return plt, figure, axis


def information_matrix(probabilities: np.ndarray) -> pd.DataFrame:
    """Letter heights in bits: each probability times its column's information content."""
    with np.errstate(divide="ignore", invalid="ignore"):
        information = 2.0 + np.where(probabilities > 0, probabilities * np.log2(probabilities), 0.0).sum(axis=1)
    return pd.DataFrame(probabilities * information[:, None], columns=list("ACGT"))


def _save(plt, figure, axis, path, title: str) -> Path:
    axis.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return Path(path)


def motif_logo(probabilities: np.ndarray, path: str | os.PathLike, title: str = "") -> Path:
    """Write a motif logo (bits) of a ``(width, 4)`` PFM to PNG or SVG (by the file's suffix)."""
    import logomaker

    plt, figure, axis = _figure(len(probabilities))
    logomaker.Logo(information_matrix(np.asarray(probabilities, dtype=np.float64)), ax=axis)
    axis.set_ylim(0, 2)
    axis.set_ylabel("bits")
    return _save(plt, figure, axis, path, title)


def contribution_logo(values: np.ndarray, path: str | os.PathLike, *, start: int = 0, title: str = "") -> Path:
    """Write a contribution logo of ``(positions, 4)`` values (actual or hypothetical), x axis from ``start``."""
    import logomaker

    frame = pd.DataFrame(np.asarray(values, dtype=np.float64), columns=list("ACGT"), index=np.arange(start, start + len(values)))
    plt, figure, axis = _figure(min(len(values), 200), height=2.0)
    logomaker.Logo(frame, ax=axis)
    axis.axhline(0, color="grey", linewidth=0.5)
    axis.set_ylabel("contribution")
    return _save(plt, figure, axis, path, title)


def region_contributions(run, contig: str, start: int, end: int, *, hypothetical: bool = False) -> np.ndarray:
    """Contributions ``(end - start, 4)`` at genome bases ``start:end``, in genome orientation.

    Taken from the window in which the region is most central (gene windows and
    tiles alike); minus-strand windows are reverse-complemented back. Actual
    contributions by default (the base present), hypothetical ones on request.

    Raises
    ------
    ValueError
        When no single window covers the whole region.
    """
    from ..tiling.coordinates import _block_positions

    index = [str(c) for c in run.contig_id.values].index(contig) if contig in run.contig_id.values else None
    if index is None:
        raise ValueError(f"contig {contig!r} is not in the run ({', '.join(map(str, run.contig_id.values[:5]))} ...)")
    table = {n: run[n].values for n in ("window_contig", "window_start", "window_end", "window_strand",
                                        "window_segment_start", "window_segment_end", "window_segment_offset")}
    rows = np.flatnonzero((table["window_contig"] == index) & (table["window_start"] <= start) & (table["window_end"] >= end))
    length = run.sizes["positions"]
    best, best_margin = None, -1
    for row in rows:
        positions = _block_positions(table["window_contig"][[row]], table["window_strand"][[row]],
                                     table["window_segment_start"][[row]], table["window_segment_end"][[row]],
                                     table["window_segment_offset"][[row]], contig_lengths=run.contig_length.values,
                                     length=length)[0]
        slots = np.array([np.flatnonzero(positions == p)[0] if (positions == p).any() else -1 for p in range(start, end)])
        if (slots < 0).any():
            continue
        margin = min(slots.min(), length - 1 - slots.max())
        if margin > best_margin:
            best, best_margin, best_slots = row, margin, slots
    if best is None:
        raise ValueError(f"no window of the run holds all of {contig}:{start + 1}-{end}; choose a shorter region")
    values = run.window_hypothetical[best].values[best_slots].astype(np.float64)
    if not hypothetical:
        base = run.window_sequence[best].values[best_slots] & 7
        values = values * (base[:, None] == np.arange(4))
    if table["window_strand"][best] == "-":
        values = values[:, ::-1]  # complement: A<->T, C<->G is the reverse of ACGT
    return values
