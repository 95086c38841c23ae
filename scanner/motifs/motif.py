"""The motif record shared by every reader and by the scanner."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Motif:
    """A position frequency matrix.

    Attributes
    ----------
    motif_id : str
        Identifier (MEME ``MOTIF`` first word, JASPAR matrix ID such as MA0021.1).
    name : str
        Second name (FIMO's ``motif_alt_id``; JASPAR TF name); may be empty.
    probabilities : ndarray of float64, shape (width, 4)
        Letter probabilities in A, C, G, T order; rows sum to 1.
    n_sites : float
        Sites the matrix was built from (FIMO weighs the pseudocount by it; MEME's
        default when unknown is 20).
    source : str
        Where it came from (file and line, or database and release).
    """

    motif_id: str
    name: str
    probabilities: np.ndarray
    n_sites: float = 20.0
    source: str = ""

    @property
    def width(self) -> int:
        return int(self.probabilities.shape[0])

    def information_content(self) -> float:
        """Total information content in bits (uniform background)."""
        p = self.probabilities
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -np.nansum(np.where(p > 0, p * np.log2(p), 0.0), axis=1)
        return float(np.sum(2.0 - entropy))
