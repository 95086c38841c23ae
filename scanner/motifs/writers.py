"""Writing motifs in MEME text format (what FIMO, TOMTOM and MEME tools read)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .motif import Motif


def write_meme(motifs: list[Motif], path: str | os.PathLike, *, background: np.ndarray | None = None) -> Path:
    """Write ``motifs`` as a MEME version 4 text file.

    Parameters
    ----------
    motifs : list of Motif
    path : path-like
    background : ndarray of float64, shape (4,), optional
        Written as the file's background line (uniform when omitted).

    Returns
    -------
    pathlib.Path
    """
    background = np.full(4, 0.25) if background is None else np.asarray(background)
    lines = [
        "MEME version 4",
        "",
        "ALPHABET= ACGT",
        "",
        "strands: + -",
        "",
        "Background letter frequencies",
        " ".join(f"{letter} {value:.6f}" for letter, value in zip("ACGT", background)),
        "",
    ]
    for motif in motifs:
        lines.append(f"MOTIF {motif.motif_id}" + (f" {motif.name}" if motif.name else ""))
        lines.append("")
        lines.append(f"letter-probability matrix: alength= 4 w= {motif.width} nsites= {motif.n_sites:g} E= 0")
        lines.extend(" ".join(f"{value:.6f}" for value in row) for row in motif.probabilities)
        lines.append("")
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path
